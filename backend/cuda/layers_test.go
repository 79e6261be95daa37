//go:build gpu

package cuda

import (
	"fmt"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// The layer kernels against the CPU device (the twins), on the same inputs. Dropout's mask and
// pooling (whose backward is a gather in the scatter's order) must be bit-identical; the
// convolution's products run on cuBLAS in another order (reduceTol of the terms' scale); batch
// norm's and the channel sum's reductions are a block tree instead of a loop (rowTol).

// familySmoke holds TestSmoke's launch of the kernel families that register one here rather than
// in smoke_test.go's table: one small case of each op, against the twin.
var familySmoke = map[string]func(t *testing.T, p *pair){
	"conv": func(t *testing.T, p *pair) {
		g := kernels.Conv2D{N: 3, C: 2, H: 7, W: 6, OutC: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 1, PadH: 2, PadW: 1, DilH: 1, DilW: 2}
		x, w, dy := p.buf(p.uniform(g.XLen(), -1, 1)), p.buf(p.uniform(g.WLen(), -1, 1)), p.buf(p.uniform(g.YLen(), -1, 1))
		y, dx, dw := p.out(g.YLen()), p.out(g.XLen()), p.out(g.WLen())
		p.run(backend.OpConv2D, &g, nil, y, x, w)
		p.run(backend.OpConv2DGradInput, &g, nil, dx, dy, w)
		p.run(backend.OpConv2DGradFilter, &g, nil, dw, x, dy)
		p.compare("conv2d", y, reduceTol[p.dt], float64(g.K()))
		p.compare("conv2d input gradient", dx, reduceTol[p.dt], float64(g.K()))
		p.compare("conv2d weight gradient", dw, reduceTol[p.dt], float64(g.N*g.P()))
	},
	"pool": func(t *testing.T, p *pair) {
		for _, kind := range []kernels.PoolKind{kernels.MaxPool, kernels.AvgPool} {
			g := kernels.Pool2D{Kind: kind, N: 2, C: 3, H: 9, W: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}
			x, dy := p.buf(p.uniform(g.XLen(), -3, 3)), p.buf(p.uniform(g.YLen(), -1, 1))
			y, dx := p.out(g.YLen()), p.out(g.XLen())
			p.run(backend.OpPool2D, &g, nil, y, x)
			p.run(backend.OpPool2DGrad, &g, nil, dx, x, dy)
			p.compare(g.String(), y, reduceTol[p.dt], 0)
			p.compare(g.String()+" gradient", dx, tolerance{}, 0)
		}
	},
	"dropout": func(t *testing.T, p *pair) {
		d := kernels.Dropout{P: 0.5, Stream: 1}
		x, y := p.buf(p.uniform(4099, -3, 3)), p.out(4099)
		p.run(backend.OpDropout, &d, &backend.RunState{Seed: 3, Step: 9}, y, x)
		p.compare("dropout", y, tolerance{}, 0)
	},
	"batchnorm": func(t *testing.T, p *pair) {
		b := kernels.BatchNorm{N: 4, C: 3, Inner: 25, Eps: 1e-5, Momentum: 0.1, Train: true}
		x, gamma, beta := p.buf(p.uniform(b.Len(), -3, 4)), p.buf(p.uniform(b.C, 0.5, 2)), p.buf(p.uniform(b.C, -1, 1))
		rm, rv, dy := p.buf(p.uniform(b.C, -1, 1)), p.buf(p.uniform(b.C, 0.5, 2)), p.buf(p.uniform(b.Len(), -1, 1))
		y, dx, dg := p.out(b.Len()), p.out(b.Len()), p.out(b.C)
		p.run(backend.OpBatchNormGradInput, &b, nil, dx, x, gamma, rm, rv, dy)
		p.run(backend.OpBatchNormGradGamma, &b, nil, dg, x, rm, rv, dy)
		p.run(backend.OpBatchNorm, &b, nil, y, x, gamma, beta, rm, rv)
		p.compare("batchnorm", y, rowTol[p.dt], 0)
		p.compare("batchnorm running var", rv, rowTol[p.dt], 0)
		p.compare("batchnorm input gradient", dx, rowTol[p.dt], 1)
		p.compare("batchnorm gamma gradient", dg, reduceTol[p.dt], float64(b.M()))
	},
	"channel": func(t *testing.T, p *pair) {
		a := backend.ChannelAttrs{Outer: 5, Channels: 7, Inner: 33}
		n := a.Outer * a.Channels * a.Inner
		x, b := p.buf(p.uniform(n, -2, 2)), p.buf(p.uniform(a.Channels, -1, 1))
		y, s := p.out(n), p.out(a.Channels)
		p.run(backend.OpChannelBias, &a, nil, y, x, b)
		p.run(backend.OpChannelSum, &a, nil, s, x)
		p.compare("channel bias", y, tolerance{}, 0)
		p.compare("channel sum", s, reduceTol[p.dt], 2*float64(a.Outer*a.Inner))
	},
}

func (p *pair) run(op *backend.Op, attrs any, state *backend.RunState, bufs ...twin) {
	p.t.Helper()
	p.do(func(d backend.Device, pick func(twin) backend.Buffer) error {
		bs := make([]backend.Buffer, len(bufs))
		for i, b := range bufs {
			bs[i] = pick(b)
		}
		return d.Run(&backend.Call{Op: op, Bufs: bs, Attrs: attrs, State: state})
	})
}

func TestLayerKernelsMatchTheirTwins(t *testing.T) {
	gpu := openGPU(t)
	for _, dt := range dtypes {
		for _, g := range []kernels.Conv2D{
			{N: 2, C: 3, H: 7, W: 6, OutC: 4, KH: 3, KW: 2, StrideH: 2, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 2},
			{N: 3, C: 2, H: 5, W: 7, OutC: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 2, PadH: 2, PadW: 2, DilH: 1, DilW: 1},
			{N: 128, C: 32, H: 26, W: 26, OutC: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1},
			{N: 2, C: 3, H: 1, W: 1, OutC: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1},
		} {
			t.Run(fmt.Sprintf("%v %v", dt, g), func(t *testing.T) {
				p := newPair(t, gpu, dt)
				x, w, dy := p.buf(p.uniform(g.XLen(), -1, 1)), p.buf(p.uniform(g.WLen(), -1, 1)), p.buf(p.uniform(g.YLen(), -1, 1))
				y, dx, dw := p.out(g.YLen()), p.out(g.XLen()), p.out(g.WLen())
				p.run(backend.OpConv2D, &g, nil, y, x, w)
				p.run(backend.OpConv2DGradInput, &g, nil, dx, dy, w)
				p.run(backend.OpConv2DGradFilter, &g, nil, dw, x, dy)
				p.compare("y", y, reduceTol[dt], float64(g.K()))
				p.compare("dx", dx, reduceTol[dt], float64(g.K()))
				p.compare("dw", dw, reduceTol[dt], float64(g.N*g.P()))
			})
		}
		for _, g := range []kernels.Pool2D{
			{Kind: kernels.MaxPool, N: 64, C: 8, H: 28, W: 28, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
			{Kind: kernels.MaxPool, N: 3, C: 2, H: 9, W: 8, KH: 3, KW: 2, StrideH: 1, StrideW: 3, PadH: 1, PadW: 1},
			{Kind: kernels.AvgPool, N: 3, C: 2, H: 9, W: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 1, PadH: 1, PadW: 1},
			{Kind: kernels.AvgPool, N: 3, C: 2, H: 7, W: 7, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, ExcludePad: true},
		} {
			t.Run(fmt.Sprintf("%v %v", dt, g), func(t *testing.T) {
				p := newPair(t, gpu, dt)
				x, dy := p.buf(p.uniform(g.XLen(), -3, 3)), p.buf(p.uniform(g.YLen(), -1, 1))
				y, dx := p.out(g.YLen()), p.out(g.XLen())
				p.run(backend.OpPool2D, &g, nil, y, x)
				p.run(backend.OpPool2DGrad, &g, nil, dx, x, dy)
				exact := tolerance{}
				if g.Kind == kernels.AvgPool {
					exact = reduceTol[dt] // the forward's double sum is the same, the rounding too; allow it anyway
				}
				if n := p.compare("y", y, exact, 0); n != 0 {
					t.Logf("%d forward elements not bit-identical", n)
				}
				if n := p.compare("dx", dx, tolerance{}, 0); n != 0 {
					t.Errorf("%d backward elements not bit-identical", n)
				}
			})
		}
		for _, n := range sizes {
			t.Run(fmt.Sprintf("%v dropout of %d elements draws the twin's mask", dt, n), func(t *testing.T) {
				p := newPair(t, gpu, dt)
				d := kernels.Dropout{P: 0.3, Stream: 3}
				state := &backend.RunState{Seed: 1<<40 + 7, Step: 1<<33 + 11}
				x, y := p.buf(p.uniform(n, -3, 3)), p.out(n)
				p.run(backend.OpDropout, &d, state, y, x)
				if differ := p.compare("y", y, tolerance{}, 0); differ != 0 {
					t.Errorf("%d elements differ", differ)
				}
			})
		}
		for _, b := range []kernels.BatchNorm{
			{N: 128, C: 16, Inner: 100, Eps: 1e-5, Momentum: 0.1, Train: true},
			{N: 129, C: 37, Inner: 1, Eps: 1e-5, Momentum: 0.1, Train: true},
			{N: 3, C: 4, Inner: 2, Eps: 1e-5, Momentum: 0.1, Train: false},
		} {
			t.Run(fmt.Sprintf("%v %v", dt, b), func(t *testing.T) {
				p := newPair(t, gpu, dt)
				x, dy := p.buf(p.uniform(b.Len(), -3, 4)), p.buf(p.uniform(b.Len(), -1, 1))
				gamma, beta := p.buf(p.uniform(b.C, 0.5, 2)), p.buf(p.uniform(b.C, -1, 1))
				rm, rv := p.buf(p.uniform(b.C, -1, 1)), p.buf(p.uniform(b.C, 0.5, 2))
				y, dx, dg, db := p.out(b.Len()), p.out(b.Len()), p.out(b.C), p.out(b.C)
				ch := backend.ChannelAttrs{Outer: b.N, Channels: b.C, Inner: b.Inner}
				p.run(backend.OpBatchNormGradInput, &b, nil, dx, x, gamma, rm, rv, dy)
				p.run(backend.OpBatchNormGradGamma, &b, nil, dg, x, rm, rv, dy)
				p.run(backend.OpChannelSum, &ch, nil, db, dy)
				p.run(backend.OpBatchNorm, &b, nil, y, x, gamma, beta, rm, rv)
				p.compare("y", y, rowTol[dt], 0)
				p.compare("running mean", rm, rowTol[dt], 0)
				p.compare("running var", rv, rowTol[dt], 0)
				p.compare("dx", dx, rowTol[dt], 1)
				p.compare("dgamma", dg, reduceTol[dt], float64(b.M()))
				p.compare("dbeta", db, reduceTol[dt], float64(b.M()))
				bias := p.out(b.Len())
				p.run(backend.OpChannelBias, &ch, nil, bias, x, beta)
				p.compare("channel bias", bias, tolerance{}, 0)
			})
		}
	}
}
