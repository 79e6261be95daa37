package backendtest

import (
	"fmt"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest/ref"
)

// gemmTol is relative to |alpha|·Σ|a·b| + |beta·c| of each element, so cancellation in a dot
// product does not fail a correct float32 kernel; any summation order stays inside it.
var gemmTol = tols{f32: tol{0, 1e-5}, f64: tol{0, 1e-12}}

// gemmShape is op(A) m×k times op(B) k×n.
type gemmShape struct{ m, n, k int }

var gemmShapes = []gemmShape{
	{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {128, 10, 65}, {65, 257, 17}, {129, 67, 300},
	{0, 5, 3}, {3, 0, 4}, {3, 5, 0}, // empty: nothing to write, nothing to write, C = beta·C
}

var transposes = []struct{ a, b bool }{{false, false}, {false, true}, {true, false}, {true, true}}

func transName(a, b bool) string {
	n := func(t bool) string {
		if t {
			return "T"
		}
		return "N"
	}
	return n(a) + n(b)
}

// TestGemm checks every transpose combination on every gemmShapes shape with several alpha and
// beta, beta = 0 on a NaN-filled C included, and that the transposed products are the adjoints
// of the forward product (the weight and input gradients of a dense layer).
func TestGemm(t *testing.T, dev backend.Device) {
	scalars := []struct{ alpha, beta float64 }{{1, 0}, {-0.7, 0}, {0, 0}, {1, 1}, {0.5, -1.3}, {0, 2}}
	forDTypes(t, dev, func(e *env) {
		for _, s := range gemmShapes {
			for _, tr := range transposes {
				for _, sc := range scalars {
					name := fmt.Sprintf("%s m=%d n=%d k=%d alpha=%v beta=%v", transName(tr.a, tr.b), s.m, s.n, s.k, sc.alpha, sc.beta)
					e.run(name, func(e *env) {
						a := e.input("A", e.uniform(s.m*s.k, -1, 1))
						b := e.input("B", e.uniform(s.k*s.n, -1, 1))
						var c *buf
						if sc.beta == 0 {
							c = e.output("C", s.m*s.n) // NaN: must be ignored
						} else {
							c = e.state("C", e.uniform(s.m*s.n, -1, 1))
						}
						want, scale := refGemm(tr.a, tr.b, s.m, s.n, s.k, sc.alpha, a.host, b.host, sc.beta, c.host)
						e.do("Gemm", func() error {
							return e.dev.Gemm(tr.a, tr.b, s.m, s.n, s.k, sc.alpha, a.b, b.b, sc.beta, c.b)
						})
						e.check(c, want, gemmTol.of(e.dt).plus(scale))
						e.checkInputs()
					})
				}
			}
		}
	})
	for _, tr := range transposes {
		gradCheck(t, dev, "adjoints of "+transName(tr.a, tr.b)+" match central differences", func(e *env) {
			m, n, k, alpha := 4, 3, 5, -1.3
			av, bv, r := e.uniform(m*k, -1, 1), e.uniform(k*n, -1, 1), e.uniform(m*n, -1, 1)
			a, b, c := e.alloc("A", len(av)), e.alloc("B", len(bv)), e.output("C", m*n)
			fwd := func() error { return e.dev.Gemm(tr.a, tr.b, m, n, k, alpha, a.b, b.b, 0, c.b) }
			rb := e.input("R", r)

			e.write(b, bv)
			fdA := ref.CentralDiff(av, fdStep, e.objective(a, c, r, fwd))
			e.write(a, av)
			fdB := ref.CentralDiff(bv, fdStep, e.objective(b, c, r, fwd))
			e.write(b, bv)

			// ∂/∂op(A) = alpha·R·op(B)ᵀ and ∂/∂op(B) = alpha·op(A)ᵀ·R, stored like A and B.
			dA, dB := e.output("dA", len(av)), e.output("dB", len(bv))
			e.do("Gemm dA", func() error {
				if tr.a {
					return e.dev.Gemm(tr.b, true, k, m, n, alpha, b.b, rb.b, 0, dA.b)
				}
				return e.dev.Gemm(false, !tr.b, m, k, n, alpha, rb.b, b.b, 0, dA.b)
			})
			e.do("Gemm dB", func() error {
				if tr.b {
					return e.dev.Gemm(true, tr.a, n, k, m, alpha, rb.b, a.b, 0, dB.b)
				}
				return e.dev.Gemm(!tr.a, false, k, n, m, alpha, a.b, rb.b, 0, dB.b)
			})
			e.check(dA, fdA, fdTol)
			e.check(dB, fdB, fdTol)
		})
	}
}
