package backendtest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/kernels"
)

func pool(kind kernels.PoolKind, n, c, h, w, kh, kw, sh, sw, ph, pw int) kernels.Pool2D {
	return kernels.Pool2D{Kind: kind, N: n, C: c, H: h, W: w, KH: kh, KW: kw, StrideH: sh, StrideW: sw, PadH: ph, PadW: pw}
}

// poolCases for both kinds: non-overlapping and overlapping windows, padding up to half the
// kernel, odd and rectangular shapes, strides above 1, 1×1 images, batch 1, and a batch large
// enough to be split over cores.
func poolCases(kind kernels.PoolKind) []kernels.Pool2D {
	cs := []kernels.Pool2D{
		pool(kind, 2, 3, 6, 6, 2, 2, 2, 2, 0, 0),
		pool(kind, 2, 2, 7, 5, 2, 2, 2, 2, 0, 0), // odd sizes: a last row and column in no window
		pool(kind, 1, 2, 7, 5, 3, 3, 1, 2, 1, 1),
		pool(kind, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0),
		pool(kind, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1),
		pool(kind, 3, 2, 9, 8, 3, 2, 2, 3, 1, 1),
		pool(kind, 1, 1, 5, 5, 5, 5, 1, 1, 2, 2),
		pool(kind, 64, 8, 28, 28, 2, 2, 2, 2, 0, 0),
	}
	if kind == kernels.AvgPool {
		ex := pool(kind, 2, 2, 7, 7, 3, 3, 2, 2, 1, 1)
		ex.ExcludePad = true
		cs = append(cs, ex)
	}
	return cs
}

// poolTol: max pooling moves values (exact); an average or a gradient sums a few terms in
// another order than the reference's float64.
var poolTol = tols{f32: tol{1e-6, 1e-6}, f64: tol{1e-15, 1e-14}}

// TestPool2D checks max and average pooling and their gradients on every poolCases geometry
// against the reference, ties and NaN in max pooling, and the gradients against central
// differences of the device's forward in float64.
func TestPool2D(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, kind := range []kernels.PoolKind{kernels.MaxPool, kernels.AvgPool} {
			for _, g := range poolCases(kind) {
				e.run(g.String(), func(e *env) {
					x, dy := e.input("x", e.uniform(g.XLen(), -5, 5)), e.input("dy", e.uniform(g.YLen(), -1, 1))
					y, dx := e.output("y", g.YLen()), e.output("dx", g.XLen())
					e.call(backend.OpPool2D, &g, y, x)
					e.call(backend.OpPool2DGrad, &g, dx, x, dy)
					wantY, wantDx := ref.Pool(g, x.host, dy.host)
					tl := poolTol.of(e.dt)
					if kind == kernels.MaxPool {
						tl = tol{}
					}
					e.check(y, wantY, tl)
					e.check(dx, wantDx, poolTol.of(e.dt).plus(4))
					e.checkInputs()
				})
			}
		}
		e.run("max pooling takes the first of equal maxima and the first NaN", func(e *env) {
			g := pool(kernels.MaxPool, 1, 2, 2, 2, 2, 2, 2, 2, 0, 0)
			x := e.input("x", []float64{1, 3, 3, 0, 1, math.NaN(), 5, math.NaN()})
			dy := e.input("dy", []float64{1, 2})
			y, dx := e.output("y", 2), e.output("dx", 8)
			e.call(backend.OpPool2D, &g, y, x)
			e.call(backend.OpPool2DGrad, &g, dx, x, dy)
			e.check(y, []float64{3, math.NaN()}, tol{})
			e.check(dx, []float64{0, 1, 0, 0, 0, 2, 0, 0}, tol{})
		})
	})
	for _, g := range []kernels.Pool2D{pool(kernels.MaxPool, 2, 2, 5, 6, 3, 2, 2, 1, 1, 1), pool(kernels.AvgPool, 2, 2, 5, 6, 3, 3, 2, 2, 1, 1)} {
		gradCheck(t, dev, fmt.Sprintf("the gradient of %v matches central differences", g), func(e *env) {
			xv, r := e.uniform(g.XLen(), -1, 1), e.uniform(g.YLen(), -1, 1)
			x, y := e.alloc("x", len(xv)), e.output("y", g.YLen())
			fd := ref.CentralDiff(xv, fdStep, e.objective(x, y, r, func() error {
				return e.dev.Run(&backend.Call{Op: backend.OpPool2D, Bufs: []backend.Buffer{y.b, x.b}, Attrs: &g})
			}))
			e.write(x, xv)
			dy, dx := e.input("dy", r), e.output("dx", len(xv))
			e.call(backend.OpPool2DGrad, &g, dx, x, dy)
			e.check(dx, fd, fdTol)
		})
	}
}

// TestDropout checks that the mask is the specified Philox mask for the call's seed and step
// (so every device draws the same), that kept elements are scaled by 1/(1−p), that the backward
// pass applies the same mask, that the kept fraction is 1−p, and the edge cases p = 0 and p = 1.
func TestDropout(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, c := range []struct {
			p          float64
			stream     uint32
			seed, step uint64
			n          int
		}{{0.5, 0, 1, 0, 1}, {0.3, 2, 42, 7, 1001}, {0.1, 1, 1<<40 + 3, 1<<33 + 5, 100003}, {0, 0, 5, 5, 33}, {1, 0, 5, 5, 33}} {
			e.run(fmt.Sprintf("p %v stream %d seed %d step %d over %d elements", c.p, c.stream, c.seed, c.step, c.n), func(e *env) {
				d := kernels.Dropout{P: c.p, Stream: c.stream}
				x, dy := e.input("x", e.uniform(c.n, -5, 5)), e.input("dy", e.uniform(c.n, -1, 1))
				y, dx := e.output("y", c.n), e.output("dx", c.n)
				state := &backend.RunState{Seed: c.seed, Step: c.step}
				run := func(op *backend.Op, out, in *buf) {
					e.do(op.Name(), func() error {
						return e.dev.Run(&backend.Call{Op: op, Bufs: []backend.Buffer{out.b, in.b}, Attrs: &d, State: state})
					})
				}
				run(backend.OpDropout, y, x)
				run(backend.OpDropoutGrad, dx, dy)
				scale := 0.0
				if c.p < 1 {
					scale = 1 / (1 - c.p)
				}
				wantY, wantDx, kept := make([]float64, c.n), make([]float64, c.n), 0
				for i := range wantY {
					m := 0.0
					if refDropoutKeep(c.p, c.stream, c.seed, c.step, i) {
						m, kept = scale, kept+1
					}
					wantY[i], wantDx[i] = e.mul(x.host[i], m), e.mul(dy.host[i], m)
				}
				e.check(y, wantY, tol{})
				e.check(dx, wantDx, tol{})
				e.checkInputs()
				if c.n > 1000 {
					sd := math.Sqrt(c.p * (1 - c.p) / float64(c.n))
					if got := float64(kept) / float64(c.n); math.Abs(got-(1-c.p)) > 6*sd {
						e.t.Errorf("kept fraction %v, want %v ± %v", got, 1-c.p, 6*sd)
					}
				}
			})
		}
	})
}

// mul is x·m in the env's dtype (m rounded to it first), as the devices compute it.
func (e *env) mul(x, m float64) float64 {
	if e.dt == backend.Float32 {
		return float64(float32(x) * float32(m))
	}
	return x * m
}

var bnCases = []kernels.BatchNorm{
	{N: 4, C: 3, Inner: 5, Eps: 1e-5, Momentum: 0.1, Train: true},
	{N: 2, C: 1, Inner: 1, Eps: 1e-5, Momentum: 0.1, Train: true},
	{N: 1, C: 2, Inner: 9, Eps: 1e-3, Momentum: 0.3, Train: true},
	{N: 128, C: 16, Inner: 49, Eps: 1e-5, Momentum: 0.1, Train: true},
	{N: 129, C: 37, Inner: 1, Eps: 1e-5, Momentum: 0.1, Train: true},
	{N: 3, C: 4, Inner: 2, Eps: 1e-5, Momentum: 0.1, Train: false},
	{N: 1, C: 3, Inner: 1, Eps: 1e-5, Momentum: 0.1, Train: false},
}

// bnTol: the devices compute in float64 and round once; the sums run in another order.
var bnTol = tols{f32: tol{1e-5, 1e-5}, f64: tol{1e-12, 1e-11}}

// TestBatchNorm checks batch normalisation in training (batch statistics, running statistics
// updated) and evaluation (running statistics), and its input and γ gradients, against the
// reference, and the gradients against central differences in float64. dβ is TestChannelOps'
// channel sum.
func TestBatchNorm(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, b := range bnCases {
			e.run(b.String(), func(e *env) {
				x := e.input("x", e.uniform(b.Len(), -3, 4))
				gamma, beta := e.input("gamma", e.uniform(b.C, 0.5, 2)), e.input("beta", e.uniform(b.C, -1, 1))
				dy := e.input("dy", e.uniform(b.Len(), -1, 1))
				rmv, rvv := e.uniform(b.C, -1, 1), e.uniform(b.C, 0.5, 2)
				rm, rv := e.state("rmean", rmv), e.state("rvar", rvv)
				rmIn, rvIn := e.input("rmean for the gradients", rmv), e.input("rvar for the gradients", rvv)
				y, dx, dg := e.output("y", b.Len()), e.output("dx", b.Len()), e.output("dgamma", b.C)
				e.call(backend.OpBatchNorm, &b, y, x, gamma, beta, rm, rv)
				e.call(backend.OpBatchNormGradInput, &b, dx, x, gamma, rmIn, rvIn, dy)
				e.call(backend.OpBatchNormGradGamma, &b, dg, x, rmIn, rvIn, dy)
				wy, wrm, wrv, wdx, wdg := ref.BatchNorm(b, x.host, gamma.host, beta.host, rm.host, rv.host, dy.host)
				tl := bnTol.of(e.dt)
				e.check(y, wy, tl)
				e.check(rm, wrm, tl)
				e.check(rv, wrv, tl)
				e.check(dx, wdx, tl.plus(ref.MaxAbs(wdx)))
				e.check(dg, wdg, tl.plus(float64(b.M())))
				// The fused call (exec merges the two gradient calls into it) gives their bits.
				dx2, dg2 := e.output("dx of the fused call", b.Len()), e.output("dgamma of the fused call", b.C)
				e.call(backend.OpBatchNormGradInputGamma, &b, dx2, dg2, x, gamma, rmIn, rvIn, dy)
				e.sameBits(dx2, dx)
				e.sameBits(dg2, dg)
				e.checkInputs()
			})
		}
	})
	for _, train := range []bool{true, false} {
		b := kernels.BatchNorm{N: 3, C: 2, Inner: 4, Eps: 1e-5, Momentum: 0.1, Train: train}
		gradCheck(t, dev, fmt.Sprintf("the gradients of %v match central differences", b), func(e *env) {
			xv, gv, r := e.uniform(b.Len(), -2, 2), e.uniform(b.C, 0.5, 2), e.uniform(b.Len(), -1, 1)
			x, gamma, y := e.alloc("x", len(xv)), e.alloc("gamma", b.C), e.output("y", b.Len())
			beta, rm, rv := e.input("beta", e.uniform(b.C, -1, 1)), e.state("rmean", e.uniform(b.C, -1, 1)), e.state("rvar", e.uniform(b.C, 0.5, 2))
			stats := append(append([]float64(nil), rm.host...), rv.host...)
			fwd := func() error {
				// Restore the running statistics first: in training each forward updates them.
				e.write(rm, stats[:b.C])
				e.write(rv, stats[b.C:])
				return e.dev.Run(&backend.Call{Op: backend.OpBatchNorm, Bufs: []backend.Buffer{y.b, x.b, gamma.b, beta.b, rm.b, rv.b}, Attrs: &b})
			}
			e.write(gamma, gv)
			fdX := ref.CentralDiff(xv, fdStep, e.objective(x, y, r, fwd))
			e.write(x, xv)
			fdG := ref.CentralDiff(gv, fdStep, e.objective(gamma, y, r, fwd))
			e.write(gamma, gv)
			e.write(rm, stats[:b.C])
			e.write(rv, stats[b.C:])
			dy, dx, dg := e.input("dy", r), e.output("dx", b.Len()), e.output("dgamma", b.C)
			e.call(backend.OpBatchNormGradInput, &b, dx, x, gamma, rm, rv, dy)
			e.call(backend.OpBatchNormGradGamma, &b, dg, x, rm, rv, dy)
			e.check(dx, fdX, fdTol)
			e.check(dg, fdG, fdTol)
		})
	}
}

// sameBits fails the subtest where got's elements are not want's, bit for bit.
func (e *env) sameBits(got, want *buf) {
	e.t.Helper()
	g, w := e.read(got), e.read(want)
	for i := range w {
		if math.Float64bits(g[i]) != math.Float64bits(w[i]) {
			e.t.Fatalf("%s[%d] = %v, %s[%d] = %v: want the same bits", got.name, i, g[i], want.name, i, w[i])
		}
	}
}
