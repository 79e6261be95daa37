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
	idx := make([]int, batch)
	for i := range idx {
		idx[i] = i
	}

	b.Run("ours", func(b *testing.B) {
		tr, err := train.New(train.Config{Model: spec, Device: newDevice(b), Optimizer: optim.MustNamed("adam", 1e-3), BatchSize: batch, Seed: 1})
		require.NoError(b, err)
		defer tr.Close()
		_, _, err = tr.TrainStep(data, idx)
		require.NoError(b, err)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, _, err := tr.TrainStep(data, idx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
	})

	b.Run("gorgonia", func(b *testing.B) {
		ng, err := backendtest.BuildNativeMLP(spec, batch, G.Rectify, tensor.Float32)
		require.NoError(b, err)
		rng := rand.New(rand.NewPCG(1, 2))
		for i, p := range spec.InitParams(models.InitAuto, rng) {
			require.NoError(b, G.Let(ng.Params[i], tensor.New(tensor.WithShape(ng.Params[i].Shape()...), tensor.WithBacking(f32(p)))))
		}
		require.NoError(b, G.Let(ng.X, tensor.New(tensor.WithShape(batch, 784), tensor.WithBacking(append([]float32(nil), data.X[:batch*784]...)))))
		require.NoError(b, G.Let(ng.Y, tensor.New(tensor.WithShape(batch, 10), tensor.WithBacking(append([]float32(nil), data.Y[:batch*10]...)))))
		vm := G.NewTapeMachine(ng.G, G.BindDualValues(ng.Params...))
		defer vm.Close()
		solver := G.NewAdamSolver(G.WithLearnRate(1e-3))
		step := func() {
			if err := vm.RunAll(); err != nil {
				b.Fatal(err)
			}
			if err := solver.Step(G.NodesToValueGrads(ng.Params)); err != nil {
				b.Fatal(err)
			}
			vm.Reset()
		}
		step()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			step()
		}
		b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
	})
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
