package backendtest

import (
	"fmt"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/kernels"
)

// actTol: rtol allows a float32 libm a few ulp; atol covers results near zero that a correct
// float32 formula only gets to absolute accuracy (GELU's 1+erf(x) or softplus' log(1+e^x) at
// x = -5, 1-y² from a rounded tanh).
var actTol = tols{f32: tol{1e-6, 1e-5}, f64: tol{1e-14, 1e-12}}

// actCase is an activation with the alpha it is tested at.
type actCase struct {
	act   kernels.Activation
	alpha float64
}

func (c actCase) String() string {
	if c.alpha != c.act.DefaultAlpha() {
		return fmt.Sprintf("%v alpha=%v", c.act, c.alpha)
	}
	return c.act.String()
}

// actCases are every activation at its default alpha, and the parameterised ones at another.
func actCases() []actCase {
	var out []actCase
	for _, a := range kernels.Activations() {
		out = append(out, actCase{a, a.DefaultAlpha()})
	}
	return append(out, actCase{kernels.LeakyReLU, 0.2}, actCase{kernels.ELU, 0.5})
}

// extremes are inputs where naive formulas overflow (exp(1000)) or cancel; every activation is
// finite there.
var extremes = []float64{-1000, 1000, -100, 100, -30, 30, -1.5, 1.5}

func refActs(c actCase, x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = ref.Act(c.act, c.alpha, v)
	}
	return out
}

func refActGrads(c actCase, x, dy []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = dy[i] * ref.ActDeriv(c.act, c.alpha, v)
	}
	return out
}

// TestActivation checks every activation at every size, at extreme inputs, and at zero.
func TestActivation(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, c := range actCases() {
			forward := func(e *env, xv []float64) {
				x := e.input("x", xv)
				dst := e.output("dst", len(xv))
				e.do("Activation", func() error { return e.dev.Activation(c.act, c.alpha, dst.b, x.b) })
				got := e.read(dst)
				checkClose(e.t, "dst", got, refActs(c, x.host), actTol.of(e.dt))
				checkFinite(e.t, "dst", got)
				e.checkInputs()
			}
			for _, n := range sizes {
				e.run(fmt.Sprintf("%v of %d elements", c, n), func(e *env) { forward(e, e.uniform(n, -5, 5)) })
			}
			e.run(fmt.Sprintf("%v stays finite at extreme inputs and zero", c), func(e *env) {
				forward(e, append(append([]float64(nil), extremes...), 0))
			})
		}
	})
}

// TestActivationGrad checks every activation's backward at every size and at extreme inputs
// (away from the kinks at zero), against the reference derivative and against central
// differences of the device's own forward.
func TestActivationGrad(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, c := range actCases() {
			backward := func(e *env, xv []float64) {
				x := e.input("x", xv)
				y := e.input("y", refActs(c, x.host))
				dy := e.input("dy", e.uniform(len(xv), -1, 1))
				dx := e.output("dx", len(xv))
				e.do("ActivationGrad", func() error { return e.dev.ActivationGrad(c.act, c.alpha, dx.b, x.b, y.b, dy.b) })
				got := e.read(dx)
				checkClose(e.t, "dx", got, refActGrads(c, x.host, dy.host), actTol.of(e.dt))
				checkFinite(e.t, "dx", got)
				e.checkInputs()
			}
			for _, n := range sizes {
				e.run(fmt.Sprintf("%v of %d elements", c, n), func(e *env) { backward(e, e.awayFromZero(n, 0.01, 5)) })
			}
			e.run(fmt.Sprintf("%v stays finite at extreme inputs", c), func(e *env) { backward(e, extremes) })
		}
	})
	for _, c := range actCases() {
		gradCheck(t, dev, fmt.Sprintf("%v matches central differences", c), func(e *env) {
			xv, r := e.awayFromZero(9, 0.05, 3), e.uniform(9, -1, 1)
			x, y := e.alloc("x", len(xv)), e.output("y", len(xv))
			fwd := func() error { return e.dev.Activation(c.act, c.alpha, y.b, x.b) }
			fd := ref.CentralDiff(xv, fdStep, e.objective(x, y, r, fwd))
			e.write(x, xv)
			e.do("Activation", fwd)
			dy, dx := e.input("dy", r), e.output("dx", len(xv))
			e.do("ActivationGrad", func() error { return e.dev.ActivationGrad(c.act, c.alpha, dx.b, x.b, y.b, dy.b) })
			e.check(dx, fd, fdTol)
		})
	}
}
