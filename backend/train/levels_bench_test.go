package train_test

import (
	"fmt"
	"testing"

	"github.com/gotrain/gotrain/backend/backendtest"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/models/mnist"
	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/require"
)

// BenchmarkTrainStepLevels times one Adam step (ReLU, softmax cross-entropy, float32) of the two
// MLPs of issue 17 — 784-256-256-10 at batch 128 and 784-1024-1024-10 at batch 1024 — at every
// instruction level this CPU supports and on 1 and 2 workers. The PyTorch step it is compared
// with in the README is timed by a separate script (see the README's performance section).
func BenchmarkTrainStepLevels(b *testing.B) {
	for _, c := range []struct {
		model string
		batch int
	}{{"784-256-256-10", 128}, {"784-1024-1024-10", 1024}} {
		spec, err := models.ParseSpec(c.model, kernels.ReLU, kernels.SoftmaxCrossEntropy)
		require.NoError(b, err)
		data := blobs(b, 2*c.batch, 784, 10, 1)
		idx := backendtest.FirstN(c.batch)
		for _, l := range cpufeat.Supported() {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s-b%d/%v/w%d", c.model, c.batch, l, workers), func(b *testing.B) {
					restore, err := cpufeat.Use(l)
					require.NoError(b, err)
					defer restore()
					dev, err := cpu.New(workers)
					require.NoError(b, err)
					defer dev.Close()
					tr, err := train.New(train.Config{Model: spec, Device: dev, Optimizer: optim.MustNamed("adam", 1e-3), BatchSize: c.batch, Seed: 1})
					require.NoError(b, err)
					defer tr.Close()
					backendtest.TimeSteps(b, c.batch, 1, backendtest.TrainerStep(b, tr, data, idx))
				})
			}
		}
	}
}

// BenchmarkTrainStepDiverged times steps of the issue 19 workload — MLP 784-256-256-10 with
// sigmoid, RMSProp, on the built-in MNIST digits — after 300 steps at lr 1e-3 (healthy) and at
// lr 0.3 (diverged: loss 50-120, saturated sigmoids, huge logits), at batch 32 and 128, in the
// same process: the two times should be the same. Non-finite steps are skipped, as
// -on-nonfinite skip does, so a run that blows up keeps being timed.
func BenchmarkTrainStepDiverged(b *testing.B) {
	tr0, _, err := mnist.Embedded()
	require.NoError(b, err)
	data, err := train.Classification(tr0.X, tr0.Labels, 784, 10)
	require.NoError(b, err)
	spec, err := models.ParseSpec("784-256-256-10", kernels.Sigmoid, kernels.SoftmaxCrossEntropy)
	require.NoError(b, err)
	for _, batch := range []int{32, 128} {
		for _, run := range []struct {
			name string
			lr   float64
		}{{"healthy-lr1e-3", 1e-3}, {"diverged-lr0.3", 0.3}} {
			b.Run(fmt.Sprintf("b%d/%s", batch, run.name), func(b *testing.B) {
				tr, err := train.New(train.Config{Model: spec, Device: newDevice(b), Optimizer: optim.MustNamed("rmsprop", run.lr),
					BatchSize: batch, Seed: 1, NonFinite: train.Skip})
				require.NoError(b, err)
				defer tr.Close()
				idx := make([]int, batch)
				step := 0
				next := backendtest.TrainerStep(b, tr, data, idx)
				backendtest.TimeSteps(b, batch, 300, func() float64 {
					for i := range idx {
						idx[i] = (step*batch + i) % data.N
					}
					step++
					return next()
				})
			})
		}
	}
}
