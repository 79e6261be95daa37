package backendtest

import (
	"fmt"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/kernels"
)

// call runs one registered op on the device, failing the subtest on an error or a panic.
func (e *env) call(op *backend.Op, attrs any, bufs ...*buf) {
	e.t.Helper()
	bs := make([]backend.Buffer, len(bufs))
	for i, b := range bufs {
		bs[i] = b.b
	}
	e.do(op.Name(), func() error { return e.dev.Run(&backend.Call{Op: op, Bufs: bs, Attrs: attrs}) })
}

func conv(n, c, h, w, oc, kh, kw, sh, sw, ph, pw, dh, dw int) kernels.Conv2D {
	return kernels.Conv2D{N: n, C: c, H: h, W: w, OutC: oc, KH: kh, KW: kw, StrideH: sh, StrideW: sw, PadH: ph, PadW: pw, DilH: dh, DilW: dw}
}

// convCases: odd sizes; padding beyond half the kernel; strides and dilations above 1; 1×1
// images (plain and padded); batch 1; a pointwise (1×1) convolution; a batch of more images than
// a CPU has chunks, so they are shared out over the cores; and one large image with batch 1,
// which the CPU runs image by image on its parallel GEMM.
var convCases = []kernels.Conv2D{
	conv(1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0, 1, 1),
	conv(2, 3, 7, 6, 4, 3, 2, 2, 1, 1, 1, 1, 2),
	conv(3, 2, 5, 7, 3, 2, 3, 1, 3, 3, 2, 2, 1),
	conv(2, 2, 1, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1),
	conv(1, 3, 1, 1, 2, 3, 3, 2, 2, 1, 1, 1, 1),
	conv(2, 4, 9, 8, 5, 5, 5, 3, 2, 2, 4, 1, 1),
	conv(1, 1, 6, 4, 2, 3, 3, 1, 1, 4, 0, 3, 1),
	conv(3, 5, 6, 7, 4, 1, 1, 1, 1, 0, 0, 1, 1),
	conv(37, 3, 9, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1),
	conv(1, 2, 31, 29, 8, 3, 3, 1, 1, 1, 1, 1, 1),
}

// convTol is relative to the largest Σ|w·x| of an output's terms: float32 products summed in
// another order (a blocked GEMM) stay well inside 1e-5 of it.
var convTol = tols{f32: tol{0, 1e-5}, f64: tol{0, 1e-12}}

// TestConv2D checks the forward convolution and both gradients on every convCases geometry
// against the reference, and both gradients against central differences of the device's own
// forward in float64.
func TestConv2D(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, g := range convCases {
			e.run(g.String(), func(e *env) {
				x, w := e.input("x", e.uniform(g.XLen(), -1, 1)), e.input("w", e.uniform(g.WLen(), -1, 1))
				dy := e.input("dy", e.uniform(g.YLen(), -1, 1))
				y, dx, dw := e.output("y", g.YLen()), e.output("dx", g.XLen()), e.output("dw", g.WLen())
				e.call(backend.OpConv2D, &g, y, x, w)
				e.call(backend.OpConv2DGradInput, &g, dx, dy, w)
				e.call(backend.OpConv2DGradFilter, &g, dw, x, dy)
				wantY, sy := ref.Conv(g, x.host, w.host)
				wantDx, wantDw, sg := ref.ConvGrads(g, x.host, w.host, dy.host)
				e.check(y, wantY, convTol.of(e.dt).plus(sy))
				e.check(dx, wantDx, convTol.of(e.dt).plus(sg))
				e.check(dw, wantDw, convTol.of(e.dt).plus(sg))
				e.checkInputs()
			})
		}
	})
	for _, g := range []kernels.Conv2D{conv(2, 2, 5, 4, 3, 3, 2, 2, 1, 2, 1, 1, 2), conv(1, 1, 1, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1)} {
		gradCheck(t, dev, fmt.Sprintf("the gradients of %v match central differences", g), func(e *env) {
			xv, wv, r := e.uniform(g.XLen(), -1, 1), e.uniform(g.WLen(), -1, 1), e.uniform(g.YLen(), -1, 1)
			x, w, y := e.alloc("x", len(xv)), e.alloc("w", len(wv)), e.output("y", g.YLen())
			fwd := func() error {
				return e.dev.Run(&backend.Call{Op: backend.OpConv2D, Bufs: []backend.Buffer{y.b, x.b, w.b}, Attrs: &g})
			}
			e.write(w, wv)
			fdX := ref.CentralDiff(xv, fdStep, e.objective(x, y, r, fwd))
			e.write(x, xv)
			fdW := ref.CentralDiff(wv, fdStep, e.objective(w, y, r, fwd))
			e.write(w, wv)
			dy, dx, dw := e.input("dy", r), e.output("dx", len(xv)), e.output("dw", len(wv))
			e.call(backend.OpConv2DGradInput, &g, dx, dy, w)
			e.call(backend.OpConv2DGradFilter, &g, dw, x, dy)
			e.check(dx, fdX, fdTol)
			e.check(dw, fdW, fdTol)
		})
	}
}

// TestChannelOps checks the per-channel bias add and sum (a convolution's bias and its
// gradient), on NCHW views, matrices and empty axes.
func TestChannelOps(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, v := range [][3]int{{3, 4, 5}, {7, 70, 1}, {1, 1, 1}, {129, 16, 100}, {2, 3, 0}, {0, 3, 2}} {
			a := backend.ChannelAttrs{Outer: v[0], Channels: v[1], Inner: v[2]}
			e.run(fmt.Sprintf("[%d,%d,%d]", a.Outer, a.Channels, a.Inner), func(e *env) {
				n := a.Outer * a.Channels * a.Inner
				x, b := e.input("x", e.uniform(n, -5, 5)), e.input("b", e.uniform(a.Channels, -1, 1))
				y, s := e.output("y", n), e.output("sum", a.Channels)
				e.call(backend.OpChannelBias, &a, y, x, b)
				e.call(backend.OpChannelSum, &a, s, x)
				wantY, wantS, scale := make([]float64, n), make([]float64, a.Channels), 0.0
				for i, v := range x.host {
					c := i / a.Inner % a.Channels
					wantY[i] = v + b.host[c]
					wantS[c] += v
					scale += abs(v)
				}
				e.check(y, e.round(wantY), exact.of(e.dt))
				e.check(s, wantS, sumTol.of(e.dt).plus(scale))
				e.checkInputs()
			})
		}
	})
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
