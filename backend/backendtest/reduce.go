package backendtest

import (
	"fmt"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest/ref"
)

// axes is an [outer, mid, inner] view for Broadcast and Sum.
type axes struct{ outer, mid, inner int }

func (a axes) String() string { return fmt.Sprintf("[%d,%d,%d]", a.outer, a.mid, a.inner) }

// axesCases cover a scalar, each axis alone, odd mixes, long axes (split over goroutines or
// blocks), and empty axes.
var axesCases = []axes{
	{1, 1, 1}, {3, 5, 7}, {1, 33, 1}, {17, 1, 9}, {7, 3, 1}, {2, 100, 33}, {1, 4097, 1},
	{3, 20001, 2}, {1, 7, 40009}, {50001, 3, 1},
	{4, 0, 3}, {0, 3, 4}, {3, 5, 0},
}

// sumTol is relative to Σ|x| of the summed terms: float32 accumulation over 20001 terms in any
// order stays well inside 1e-5 of that.
var sumTol = tols{f32: tol{0, 1e-5}, f64: tol{0, 1e-12}}

// TestBroadcast checks Broadcast on every axesCases shape, and that its gradient is Sum.
func TestBroadcast(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, s := range axesCases {
			e.run(fmt.Sprintf("src %v", s), func(e *env) {
				src := e.input("src", e.uniform(s.outer*s.inner, -5, 5))
				dst := e.output("dst", s.outer*s.mid*s.inner)
				e.do("Broadcast", func() error { return e.dev.Broadcast(dst.b, src.b, s.outer, s.mid, s.inner) })
				e.check(dst, refBroadcast(src.host, s.outer, s.mid, s.inner), exact.of(e.dt))
				e.checkInputs()
			})
		}
	})
	gradCheck(t, dev, "gradient is Sum and matches central differences", func(e *env) {
		s := axes{3, 5, 4}
		x := e.uniform(s.outer*s.inner, -2, 2)
		r := e.uniform(s.outer*s.mid*s.inner, -1, 1)
		src, dst := e.alloc("src", len(x)), e.output("dst", len(r))
		f := e.objective(src, dst, r, func() error { return e.dev.Broadcast(dst.b, src.b, s.outer, s.mid, s.inner) })
		rb, g := e.input("r", r), e.output("grad", len(x))
		e.do("Sum", func() error { return e.dev.Sum(g.b, rb.b, s.outer, s.mid, s.inner) })
		e.check(g, ref.CentralDiff(x, fdStep, f), fdTol)
	})
}

// TestSum checks Sum on every axesCases shape (an empty middle axis sums to zero), and that its
// gradient is Broadcast.
func TestSum(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, s := range axesCases {
			e.run(fmt.Sprintf("src %v", s), func(e *env) {
				src := e.input("src", e.uniform(s.outer*s.mid*s.inner, -5, 5))
				dst := e.output("dst", s.outer*s.inner)
				e.do("Sum", func() error { return e.dev.Sum(dst.b, src.b, s.outer, s.mid, s.inner) })
				want, scale := refSum(src.host, s.outer, s.mid, s.inner)
				e.check(dst, want, sumTol.of(e.dt).plus(scale))
				e.checkInputs()
			})
		}
	})
	gradCheck(t, dev, "gradient is Broadcast and matches central differences", func(e *env) {
		s := axes{3, 5, 4}
		x := e.uniform(s.outer*s.mid*s.inner, -2, 2)
		r := e.uniform(s.outer*s.inner, -1, 1)
		src, dst := e.alloc("src", len(x)), e.output("dst", len(r))
		f := e.objective(src, dst, r, func() error { return e.dev.Sum(dst.b, src.b, s.outer, s.mid, s.inner) })
		rb, g := e.input("r", r), e.output("grad", len(x))
		e.do("Broadcast", func() error { return e.dev.Broadcast(g.b, rb.b, s.outer, s.mid, s.inner) })
		e.check(g, ref.CentralDiff(x, fdStep, f), fdTol)
	})
}

// biasTol: one addition, correctly rounded.
var biasTol = tols{f32: tol{0, 2e-7}, f64: tol{0, 1e-15}}

// TestBiasAdd checks BiasAdd on every matrices shape (and zero columns), and that its gradient
// with respect to the bias is a Sum over rows.
func TestBiasAdd(t *testing.T, dev backend.Device) {
	shapes := append(append([]matrix(nil), matrices...), matrix{4, 0})
	forDTypes(t, dev, func(e *env) {
		for _, s := range shapes {
			e.run(s.String(), func(e *env) {
				x := e.input("x", e.uniform(s.rows*s.cols, -5, 5))
				bias := e.input("bias", e.uniform(s.cols, -5, 5))
				dst := e.output("dst", s.rows*s.cols)
				e.do("BiasAdd", func() error { return e.dev.BiasAdd(dst.b, x.b, bias.b, s.rows, s.cols) })
				e.check(dst, refBiasAdd(x.host, bias.host, s.rows, s.cols), biasTol.of(e.dt))
				e.checkInputs()
			})
		}
	})
	gradCheck(t, dev, "gradients are dy and Sum over rows and match central differences", func(e *env) {
		rows, cols := 5, 3
		xv, bv := e.uniform(rows*cols, -2, 2), e.uniform(cols, -2, 2)
		r := e.uniform(rows*cols, -1, 1)
		x, bias, dst := e.alloc("x", len(xv)), e.alloc("bias", cols), e.output("dst", len(r))
		op := func() error { return e.dev.BiasAdd(dst.b, x.b, bias.b, rows, cols) }
		e.write(bias, bv)
		checkClose(e.t, "gradient wrt x", ref.CentralDiff(xv, fdStep, e.objective(x, dst, r, op)), r, fdTol)
		e.write(x, xv)
		rb, g := e.input("r", r), e.output("grad bias", cols)
		e.do("Sum", func() error { return e.dev.Sum(g.b, rb.b, 1, rows, cols) })
		e.check(g, ref.CentralDiff(bv, fdStep, e.objective(bias, dst, r, op)), fdTol)
	})
}
