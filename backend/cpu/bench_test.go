package cpu_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/kernels"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The benchmarks below put each CPU kernel beside its Gorgonia counterpart (run on the
// TapeMachine, which is how Gorgonia users run it) and beside a plain copy of the same bytes,
// all in one process. Compare ns/op within one run; GB/s counts bytes read plus written.

func randomF32(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64() * 3)
	}
	return out
}

func deviceBuffers(b *testing.B, n int, x []float32) (backend.Device, backend.Buffer, backend.Buffer) {
	dev, err := cpu.New(0)
	require.NoError(b, err)
	b.Cleanup(func() { dev.Close() })
	xb, err := dev.Alloc(backend.Float32, n)
	require.NoError(b, err)
	yb, err := dev.Alloc(backend.Float32, n)
	require.NoError(b, err)
	require.NoError(b, dev.Write(xb, x))
	return dev, xb, yb
}

func reportGBs(b *testing.B, bytes int) {
	b.SetBytes(int64(bytes))
	b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// tapeUnary times a one-op Gorgonia graph on the TapeMachine.
func tapeUnary(b *testing.B, x []float32, shape tensor.Shape, op func(*G.Node) (*G.Node, error)) {
	g := G.NewGraph()
	xn := G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(x))))
	_, err := op(xn)
	require.NoError(b, err)
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	require.NoError(b, vm.RunAll())
	vm.Reset()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		vm.Reset()
	}
}

// BenchmarkSigmoid: 16M float32, ours vs Gorgonia's Sigmoid vs a copy.
func BenchmarkSigmoid(b *testing.B) {
	const n = 1 << 24
	x := randomF32(n, 1)
	b.Run("copy", func(b *testing.B) {
		dev, xb, yb := deviceBuffers(b, n, x)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := dev.Copy(yb, xb); err != nil {
				b.Fatal(err)
			}
		}
		reportGBs(b, 8*n)
	})
	b.Run("ours", func(b *testing.B) {
		dev, xb, yb := deviceBuffers(b, n, x)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := dev.Activation(kernels.Sigmoid, 0, yb, xb); err != nil {
				b.Fatal(err)
			}
		}
		reportGBs(b, 8*n)
	})
	b.Run("gorgonia", func(b *testing.B) {
		tapeUnary(b, append([]float32(nil), x...), tensor.Shape{n}, G.Sigmoid)
		reportGBs(b, 8*n)
	})
}

// BenchmarkSoftmaxRows10: softmax over 1M rows of 10 (a classifier's output layer), ours vs
// Gorgonia's SoftMax vs a copy.
func BenchmarkSoftmaxRows10(b *testing.B) {
	const rows, cols = 1 << 20, 10
	x := randomF32(rows*cols, 2)
	b.Run("copy", func(b *testing.B) {
		dev, xb, yb := deviceBuffers(b, rows*cols, x)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := dev.Copy(yb, xb); err != nil {
				b.Fatal(err)
			}
		}
		reportGBs(b, 8*rows*cols)
	})
	b.Run("ours", func(b *testing.B) {
		dev, xb, yb := deviceBuffers(b, rows*cols, x)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := dev.Softmax(false, yb, xb, rows, cols); err != nil {
				b.Fatal(err)
			}
		}
		reportGBs(b, 8*rows*cols)
	})
	b.Run("gorgonia", func(b *testing.B) {
		tapeUnary(b, append([]float32(nil), x...), tensor.Shape{rows, cols}, func(n *G.Node) (*G.Node, error) { return G.SoftMax(n) })
		reportGBs(b, 8*rows*cols)
	})
}
