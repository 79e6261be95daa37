package backendtest

import (
	"fmt"
	"testing"

	"github.com/gotrain/gotrain/backend"
)

// elementwiseTol: a correctly rounded float32 result is within 6e-8; 2e-6 leaves room for a
// float32 libm (a few ulp) and for ops computed in two roundings (cube, pow).
var elementwiseTol = tols{f32: tol{1e-30, 2e-6}, f64: tol{1e-300, 1e-12}}

// unaryDomain draws inputs inside each op's domain and away from its singularities.
func (e *env) unaryDomain(op backend.UnaryOp, n int) []float64 {
	switch op {
	case backend.Exp:
		return e.uniform(n, -5, 5)
	case backend.Expm1:
		return e.uniform(n, -2, 2) // includes values near 0, where exp(x)-1 loses digits
	case backend.Log, backend.Sqrt:
		return e.uniform(n, 1e-3, 10)
	case backend.Log1p:
		return e.uniform(n, -0.9, 3)
	case backend.Inverse:
		return e.awayFromZero(n, 0.1, 10)
	}
	return e.uniform(n, -3, 3)
}

// TestUnary checks every backend.UnaryOps at every size.
func TestUnary(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, op := range backend.UnaryOps() {
			for _, n := range sizes {
				e.run(fmt.Sprintf("%v of %d elements", op, n), func(e *env) {
					x := e.input("x", e.unaryDomain(op, n))
					dst := e.output("dst", n)
					e.do("Unary", func() error { return e.dev.Unary(op, dst.b, x.b) })
					want := make([]float64, n)
					for i, v := range x.host {
						want[i] = refUnary(op, v)
					}
					e.check(dst, want, elementwiseTol.of(e.dt))
					e.checkInputs()
				})
			}
		}
	})
}

// binaryOperands draws a and b inside the op's domain. For comparisons and min/max, every third
// element of b (or b's single element) equals a's, so ties are exercised.
func (e *env) binaryOperands(op backend.BinaryOp, na, nb int) (a, b []float64) {
	switch op {
	case backend.Div:
		a, b = e.uniform(na, -3, 3), e.awayFromZero(nb, 0.5, 3)
	case backend.Pow:
		a, b = e.uniform(na, 0.5, 2), e.uniform(nb, -3, 3)
	default:
		a, b = e.uniform(na, -3, 3), e.uniform(nb, -3, 3)
		if na == nb {
			for i := 0; i < nb; i += 3 {
				b[i] = a[i]
			}
		} else if na > 0 && nb == 1 {
			b[0] = a[na/2]
		} else if nb > 0 && na == 1 {
			a[0] = b[nb/2]
		}
	}
	return a, b
}

// TestBinary checks every backend.BinaryOps with equal lengths and with either side of length 1
// broadcast.
func TestBinary(t *testing.T, dev backend.Device) {
	type shape struct {
		name   string
		na, nb int
		n      int
	}
	var shapes []shape
	for _, n := range sizes {
		shapes = append(shapes, shape{fmt.Sprintf("%d elements", n), n, n, n})
	}
	for _, n := range []int{7, 1000, 4097} {
		shapes = append(shapes,
			shape{fmt.Sprintf("%d elements with b broadcast", n), n, 1, n},
			shape{fmt.Sprintf("%d elements with a broadcast", n), 1, n, n})
	}
	forDTypes(t, dev, func(e *env) {
		for _, op := range backend.BinaryOps() {
			for _, s := range shapes {
				e.run(fmt.Sprintf("%v of %s", op, s.name), func(e *env) {
					av, bv := e.binaryOperands(op, s.na, s.nb)
					a, b := e.input("a", av), e.input("b", bv)
					dst := e.output("dst", s.n)
					e.do("Binary", func() error { return e.dev.Binary(op, dst.b, a.b, b.b) })
					want := make([]float64, s.n)
					for i := range want {
						ai, bi := i, i
						if s.na == 1 {
							ai = 0
						}
						if s.nb == 1 {
							bi = 0
						}
						want[i] = refBinary(op, a.host[ai], b.host[bi])
					}
					e.check(dst, want, elementwiseTol.of(e.dt))
					e.checkInputs()
				})
			}
		}
	})
}
