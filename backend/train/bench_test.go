package train_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/backend/backendtest"
	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BenchmarkTrainStep times one Adam training step of the MLP 784-256-256-10 (ReLU, softmax
// cross-entropy, batch 128, float32): ours on the CPU device against Gorgonia's TapeMachine and
// AdamSolver on the equivalent graph, in the same process. Compare the two ns/op figures.
func BenchmarkTrainStep(b *testing.B) {
	const batch = 128
	spec, err := models.ParseSpec("784-256-256-10", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(b, err)
	data := blobs(b, 1024, 784, 10, 1)
	idx := backendtest.FirstN(batch)

	b.Run("ours", func(b *testing.B) {
		tr, err := train.New(train.Config{Model: spec, Device: newDevice(b), Optimizer: optim.MustNamed("adam", 1e-3), BatchSize: batch, Seed: 1})
		require.NoError(b, err)
		defer tr.Close()
		b.ReportAllocs()
		backendtest.TimeSteps(b, batch, 1, backendtest.TrainerStep(b, tr, data, idx))
	})

	b.Run("gorgonia", func(b *testing.B) {
		ng, err := backendtest.BuildNativeMLP(spec, batch, G.Rectify, tensor.Float32)
		require.NoError(b, err)
		var init [][]float32
		for _, p := range spec.InitParams(models.InitAuto, rand.New(rand.NewPCG(1, 2))) {
			init = append(init, f32(p))
		}
		backendtest.TimeGorgoniaAdamSteps(b, ng.G, ng.Params, init, ng.X, ng.Y, data.X[:batch*784], data.Y[:batch*10])
	})
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
