package optim_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The optimizer benchmarks update 10 tensors totalling 10M float32 parameters: ours (one
// multi-tensor device call, split over the cores) against Gorgonia's solver on the same tensors,
// beside a copy of the same bytes as the bandwidth floor. GB/s counts 28 bytes per parameter for
// Adam (read p, g, m, v; write p, m, v) and 20 for SGD with momentum (read p, g, buf; write p,
// buf); the copy moves the same bytes (half read, half written). Compare within one run.

const benchParams = 10_000_000

// benchSizes are 10 tensor sizes summing to benchParams, of several shapes (MLP-like).
func benchSizes() []int {
	sizes := []int{3_000_000, 2_000_000, 1_500_000, 1_000_000, 1_000_000, 700_000, 400_000, 250_000, 100_000}
	rest := benchParams
	for _, s := range sizes {
		rest -= s
	}
	return append(sizes, rest)
}

func benchBuffers(b *testing.B, dev backend.Device, seed uint64) []backend.Buffer {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []backend.Buffer
	for _, n := range benchSizes() {
		buf, err := dev.Alloc(backend.Float32, n)
		require.NoError(b, err)
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		require.NoError(b, dev.Write(buf, v))
		out = append(out, buf)
	}
	return out
}

func report(b *testing.B, bytesPerParam int) {
	bytes := float64(bytesPerParam) * benchParams
	b.SetBytes(int64(bytes))
	b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// gorgoniaValueGrads wraps tensors as the ValueGrad list Gorgonia's solvers take.
type valueGrad struct{ v, g *tensor.Dense }

func (vg valueGrad) Value() G.Value         { return vg.v }
func (vg valueGrad) Grad() (G.Value, error) { return vg.g, nil }

func gorgoniaModel(seed uint64) []G.ValueGrad {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []G.ValueGrad
	for _, n := range benchSizes() {
		v, g := make([]float32, n), make([]float32, n)
		for i := range v {
			v[i], g[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		out = append(out, valueGrad{tensor.New(tensor.WithShape(n), tensor.WithBacking(v)), tensor.New(tensor.WithShape(n), tensor.WithBacking(g))})
	}
	return out
}

func benchOptimizer(b *testing.B, name string, bytesPerParam int, solver func() G.Solver) {
	b.Run("copy", func(b *testing.B) {
		dev, err := cpu.New(0)
		require.NoError(b, err)
		defer dev.Close()
		// The same bytes as the update: bytesPerParam/8 float32 copies of the whole model.
		src, err := dev.Alloc(backend.Float32, benchParams*bytesPerParam/8)
		require.NoError(b, err)
		dst, err := dev.Alloc(backend.Float32, benchParams*bytesPerParam/8)
		require.NoError(b, err)
		require.NoError(b, dev.Fill(src, 1))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := dev.Copy(dst, src); err != nil {
				b.Fatal(err)
			}
		}
		report(b, bytesPerParam)
	})
	b.Run("ours", func(b *testing.B) {
		dev, err := cpu.New(0)
		require.NoError(b, err)
		defer dev.Close()
		params, grads := benchBuffers(b, dev, 1), benchBuffers(b, dev, 2)
		opt := optim.MustNamed(name, 1e-3)
		require.NoError(b, opt.Attach(dev, params))
		defer opt.Close()
		require.NoError(b, opt.Step(grads))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := opt.Step(grads); err != nil {
				b.Fatal(err)
			}
		}
		report(b, bytesPerParam)
	})
	b.Run("gorgonia", func(b *testing.B) {
		model := gorgoniaModel(1)
		s := solver()
		require.NoError(b, s.Step(model))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := s.Step(model); err != nil {
				b.Fatal(err)
			}
		}
		report(b, bytesPerParam)
	})
}

// BenchmarkAdamStep: ours vs gorgonia.AdamSolver.
func BenchmarkAdamStep(b *testing.B) {
	benchOptimizer(b, "adam", 28, func() G.Solver { return G.NewAdamSolver(G.WithLearnRate(1e-3)) })
}

// BenchmarkMomentumStep: SGD with momentum 0.9, ours vs gorgonia.Momentum.
func BenchmarkMomentumStep(b *testing.B) {
	benchOptimizer(b, "momentum", 20, func() G.Solver { return G.NewMomentum(G.WithLearnRate(1e-3)) })
}
