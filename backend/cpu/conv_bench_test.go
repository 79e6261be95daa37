package cpu_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/kernels"
	"github.com/stretchr/testify/require"
)

// BenchmarkConv times the CPU device's convolution (forward, input gradient, weight gradient;
// float32, batch 128) at the shapes of the lenet5 and cnn presets (models.Presets), each beside
// the device's own GEMM on the same work done as one product (forward: [OutC, C·KH·KW] ×
// [C·KH·KW, N·OH·OW]; input gradient: its transpose on the left; weight gradient: [OutC, N·OH·OW]
// × [N·OH·OW, C·KH·KW]), in the same process. Compare the GFLOP/s of conv and gemm within one
// run: their ratio is what im2col, col2im, the blocks and the chunked weight-gradient sum cost.
// The first sub-benchmark is the GEMM on a square 512³ product, the device's GEMM rate on a
// well-shaped product, for the same comparison against the best case. The ratio sub-benchmarks
// run conv and gemm alternately in one loop and report conv/gemm, the figure to quote.
func BenchmarkConv(b *testing.B) {
	b.Run("gemm-512x512x512", func(b *testing.B) {
		dev, err := cpu.New(0)
		require.NoError(b, err)
		defer dev.Close()
		bufs := make([]backend.Buffer, 3)
		for i := range bufs {
			bufs[i], err = dev.Alloc(backend.Float32, 512*512)
			require.NoError(b, err)
			require.NoError(b, dev.Write(bufs[i], randomF32(512*512, uint64(i))))
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := dev.Gemm(false, false, 512, 512, 512, 1, bufs[0], bufs[1], 0, bufs[2]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(2*512*512*512*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	c := func(name string, n, cin, h, cout, k, pad int) struct {
		name string
		g    kernels.Conv2D
	} {
		return struct {
			name string
			g    kernels.Conv2D
		}{name, kernels.Conv2D{N: n, C: cin, H: h, W: h, OutC: cout, KH: k, KW: k, StrideH: 1, StrideW: 1, PadH: pad, PadW: pad, DilH: 1, DilW: 1}}
	}
	for _, s := range []struct {
		name string
		g    kernels.Conv2D
	}{
		c("lenet-conv1 1-6 5x5 pad2 28x28", 128, 1, 28, 6, 5, 2),
		c("lenet-conv2 6-16 5x5 14x14", 128, 6, 14, 16, 5, 0),
		c("cnn-conv1 1-32 3x3 pad1 28x28", 128, 1, 28, 32, 3, 1),
		c("cnn-conv2 32-64 3x3 pad1 14x14", 128, 32, 14, 64, 3, 1),
	} {
		g := s.g
		dev, err := cpu.New(0)
		require.NoError(b, err)
		alloc := func(n int) backend.Buffer {
			buf, err := dev.Alloc(backend.Float32, n)
			require.NoError(b, err)
			require.NoError(b, dev.Write(buf, randomF32(n, uint64(n))))
			return buf
		}
		x, w, y, dy, dx, dw := alloc(g.XLen()), alloc(g.WLen()), alloc(g.YLen()), alloc(g.YLen()), alloc(g.XLen()), alloc(g.WLen())
		k, np := g.K(), g.N*g.P()
		// The GEMM operands of the equivalent single products.
		colA, colB := alloc(k*np), alloc(k*np)
		outY, outW := alloc(g.OutC*np), alloc(g.OutC*k)
		flops := g.FLOPs()
		for _, d := range []struct {
			dir  string
			conv *backend.Call
			gemm func() error
		}{
			{"forward", &backend.Call{Op: backend.OpConv2D, Bufs: []backend.Buffer{y, x, w}, Attrs: &g},
				func() error { return dev.Gemm(false, false, g.OutC, np, k, 1, w, colA, 0, outY) }},
			{"input", &backend.Call{Op: backend.OpConv2DGradInput, Bufs: []backend.Buffer{dx, dy, w}, Attrs: &g},
				func() error { return dev.Gemm(true, false, k, np, g.OutC, 1, w, outY, 0, colB) }},
			{"weight", &backend.Call{Op: backend.OpConv2DGradFilter, Bufs: []backend.Buffer{dw, x, dy}, Attrs: &g},
				func() error { return dev.Gemm(false, true, g.OutC, k, np, 1, outY, colA, 0, outW) }},
		} {
			report := func(b *testing.B) {
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
			b.Run(fmt.Sprintf("%s/%s/conv", s.name, d.dir), func(b *testing.B) {
				require.NoError(b, dev.Run(d.conv))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := dev.Run(d.conv); err != nil {
						b.Fatal(err)
					}
				}
				report(b)
			})
			b.Run(fmt.Sprintf("%s/%s/gemm", s.name, d.dir), func(b *testing.B) {
				require.NoError(b, d.gemm())
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := d.gemm(); err != nil {
						b.Fatal(err)
					}
				}
				report(b)
			})
			// Both alternating in one loop: the ratio is what the 60% target is about,
			// and a shared machine's load, which moves the two runs above apart by tens of
			// percent, falls on both halves of every iteration alike.
			b.Run(fmt.Sprintf("%s/%s/ratio", s.name, d.dir), func(b *testing.B) {
				require.NoError(b, dev.Run(d.conv))
				require.NoError(b, d.gemm())
				var inConv, inGemm time.Duration
				for b.Loop() {
					t0 := time.Now()
					if err := dev.Run(d.conv); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					if err := d.gemm(); err != nil {
						b.Fatal(err)
					}
					inConv += t1.Sub(t0)
					inGemm += time.Since(t1)
				}
				b.ReportMetric(flops*float64(b.N)/inConv.Seconds()/1e9, "conv-GFLOP/s")
				b.ReportMetric(flops*float64(b.N)/inGemm.Seconds()/1e9, "gemm-GFLOP/s")
				b.ReportMetric(inGemm.Seconds()/inConv.Seconds(), "conv/gemm")
			})
		}
		dev.Close()
	}
}
