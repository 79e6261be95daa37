package backendtest

import (
	"testing"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The harness of the training-step benchmarks (backend/train's BenchmarkTrainStep,
// BenchmarkLeNetStep, BenchmarkTrainStepLevels, BenchmarkTrainStepDiverged and the CUDA
// backend's BenchmarkTrainStep): each benchmark states its model, data and device, and these
// time the step the same way for ours and for the Gorgonia baseline run in the same process.

// FirstN returns the indices 0..n-1: a batch of the first n examples, the same every step.
func FirstN(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// TimeSteps runs step warmup times untimed (plans compiled, buffers allocated, caches warm),
// then b.N times timed, and reports samples/s for batch samples a step. It returns the loss of
// the first warm-up step (NaN when warmup is 0) and of the last timed one, for benchmarks that
// check the steps trained.
func TimeSteps(b *testing.B, batch, warmup int, step func() float64) (first, last float64) {
	b.Helper()
	for i := range warmup {
		if l := step(); i == 0 {
			first = l
		}
	}
	b.ResetTimer()
	for range b.N {
		last = step()
	}
	b.StopTimer()
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
	return first, last
}

// TrainerStep returns one tr.TrainStep on the batch idx of data as a step for TimeSteps, failing
// b on an error.
func TrainerStep(b *testing.B, tr *train.Trainer, data *train.Dataset, idx []int) func() float64 {
	return func() float64 {
		loss, _, err := tr.TrainStep(data, idx)
		if err != nil {
			b.Fatal(err)
		}
		return loss
	}
}

// TimeGorgoniaAdamSteps is the baseline of the training-step benchmarks: Gorgonia's own step on
// the float32 graph g (its TapeMachine running forward and backward, then its AdamSolver at rate
// 1e-3 over params), from the initial values init, on the batch xv, yv bound to x and y. It
// reports allocations, warms up once and times like TimeSteps.
func TimeGorgoniaAdamSteps(b *testing.B, g *G.ExprGraph, params []*G.Node, init [][]float32, x, y *G.Node, xv, yv []float32) {
	b.Helper()
	let := func(n *G.Node, v []float32) {
		require.NoError(b, G.Let(n, tensor.New(tensor.WithShape(n.Shape()...), tensor.WithBacking(append([]float32(nil), v...)))))
	}
	for i, p := range params {
		let(p, init[i])
	}
	let(x, xv)
	let(y, yv)
	vm := G.NewTapeMachine(g, G.BindDualValues(params...))
	defer vm.Close()
	solver := G.NewAdamSolver(G.WithLearnRate(1e-3))
	b.ReportAllocs()
	TimeSteps(b, x.Shape()[0], 1, func() float64 {
		if err := vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		if err := solver.Step(G.NodesToValueGrads(params)); err != nil {
			b.Fatal(err)
		}
		vm.Reset()
		return 0
	})
}
