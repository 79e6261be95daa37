package cpu_test

import (
	"fmt"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/kernels"
	"github.com/stretchr/testify/require"
)

// BenchmarkBatchNorm times the CPU device's batch normalisation in training (forward, input
// gradient, γ gradient) and the channel sum that gives β's gradient and a convolution's bias
// gradient, float32, at the shapes of the cnn preset's two BatchNorm2d layers (batch 128), on all
// workers. Every sum is a float64 chain per channel, so these are bound by the adder's latency
// unless several channels' chains run side by side (kernels/batchnorm.go). GB/s counts the
// bytes of the tensors each op reads and writes once.
func BenchmarkBatchNorm(b *testing.B) {
	for _, s := range []kernels.BatchNorm{
		{N: 128, C: 32, Inner: 28 * 28, Eps: 1e-5, Momentum: 0.1, Train: true},
		{N: 128, C: 64, Inner: 14 * 14, Eps: 1e-5, Momentum: 0.1, Train: true},
	} {
		dev, err := cpu.New(0)
		require.NoError(b, err)
		alloc := func(n int, seed uint64) backend.Buffer {
			buf, err := dev.Alloc(backend.Float32, n)
			require.NoError(b, err)
			require.NoError(b, dev.Write(buf, randomF32(n, seed)))
			return buf
		}
		n := s.Len()
		x, dy, y, dx := alloc(n, 1), alloc(n, 2), alloc(n, 3), alloc(n, 4)
		gamma, beta, rmean, rvar, dg, db := alloc(s.C, 5), alloc(s.C, 6), alloc(s.C, 7), alloc(s.C, 8), alloc(s.C, 9), alloc(s.C, 10)
		require.NoError(b, dev.Write(rvar, make([]float32, s.C))) // a valid variance
		ch := &backend.ChannelAttrs{Outer: s.N, Channels: s.C, Inner: s.Inner}
		for _, op := range []struct {
			name    string
			call    *backend.Call
			tensors int // tensors of n elements read or written
		}{
			{"forward", &backend.Call{Op: backend.OpBatchNorm, Bufs: []backend.Buffer{y, x, gamma, beta, rmean, rvar}, Attrs: &s}, 2},
			{"grad-input", &backend.Call{Op: backend.OpBatchNormGradInput, Bufs: []backend.Buffer{dx, x, gamma, rmean, rvar, dy}, Attrs: &s}, 3},
			{"grad-gamma", &backend.Call{Op: backend.OpBatchNormGradGamma, Bufs: []backend.Buffer{dg, x, rmean, rvar, dy}, Attrs: &s}, 2},
			{"channel-sum", &backend.Call{Op: backend.OpChannelSum, Bufs: []backend.Buffer{db, dy}, Attrs: ch}, 1},
		} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.N, s.C, s.Inner, op.name), func(b *testing.B) {
				require.NoError(b, dev.Run(op.call))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := dev.Run(op.call); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(op.tensors*n*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
		dev.Close()
	}
}
