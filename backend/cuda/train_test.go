//go:build gpu

package cuda_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
)

// blobs is backendtest.Blobs, the training tests' data.
var blobs = backendtest.Blobs

// trainCurve trains a 20-64-64-5 MLP for 100 steps (4 epochs of 25 batches of 32) on dev and
// returns the loss of every step and the final parameters.
func trainCurve(t *testing.T, dev backend.Device, act kernels.Activation, opt string, lr float64) ([]float64, [][]float32) {
	spec, err := models.ParseSpec("20-64-64-5", act, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	var losses []float64
	tr, err := train.New(train.Config{Model: spec, Device: dev, Optimizer: optim.MustNamed(opt, lr), BatchSize: 32, Epochs: 4, Seed: 7,
		OnStep: func(m train.StepMetrics) error { losses = append(losses, m.Loss); return nil }})
	require.NoError(t, err)
	defer tr.Close()
	_, err = tr.Fit(blobs(t, 800, 20, 5, 11), nil)
	require.NoError(t, err)
	p, err := tr.Params()
	require.NoError(t, err)
	return losses, p
}

// TestTrainingMatchesTheCPU runs the same 100-step training (same data, seed, initial weights
// and batches) on the GPU and on the CPU backend and compares the loss at every step.
//
// Tolerance: |gpu - cpu| <= 1e-3·|cpu| + 1e-4 at every step. Both run float32 with the same
// kernels (the element-wise ops agree to an ulp), but cuBLAS and the CPU's GEMM add the dot
// products in different orders (about 1e-7 relative per product), and training feeds those
// differences back through 100 updates; on a well-conditioned problem they stay orders of
// magnitude below 1e-3. A real divergence (a wrong gradient, a lost update) moves the loss by
// far more within a few steps.
func TestTrainingMatchesTheCPU(t *testing.T) {
	for _, c := range []struct {
		act kernels.Activation
		opt string
		lr  float64
	}{{kernels.Tanh, "momentum", 0.05}, {kernels.ReLU, "adam", 1e-3}, {kernels.GELU, "adamw", 1e-3}} {
		t.Run(fmt.Sprintf("%v with %s", c.act, c.opt), func(t *testing.T) {
			gpu := newDevice(t)
			c0, err := cpu.New(0)
			require.NoError(t, err)
			defer c0.Close()
			gl, gp := trainCurve(t, gpu, c.act, c.opt, c.lr)
			cl, cp := trainCurve(t, c0, c.act, c.opt, c.lr)
			require.Len(t, gl, 100)
			require.Len(t, cl, 100)
			worst := 0.0
			for i := range cl {
				d := math.Abs(gl[i] - cl[i])
				worst = max(worst, d/(math.Abs(cl[i])+0.1))
				if !assert.LessOrEqual(t, d, 1e-3*math.Abs(cl[i])+1e-4, "step %d: gpu loss %v, cpu loss %v", i+1, gl[i], cl[i]) {
					break
				}
			}
			t.Logf("loss %.5f -> %.5f on the GPU, %.5f -> %.5f on the CPU; largest relative difference %.2g",
				gl[0], gl[99], cl[0], cl[99], worst)
			assert.Less(t, gl[99], gl[0]/2, "the GPU's loss fell")
			for i := range cp {
				for j := range cp[i] {
					g, w := float64(gp[i][j]), float64(cp[i][j])
					if !assert.LessOrEqual(t, math.Abs(g-w), 1e-2*math.Abs(w)+1e-3, "parameter %d element %d", i, j) {
						return
					}
				}
			}
		})
	}
}
