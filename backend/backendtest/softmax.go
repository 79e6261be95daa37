package backendtest

import (
	"fmt"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest/ref"
)

// softmaxTol: probabilities to a few ulp (the row sum adds at most cols·eps); log-softmax is
// x - max - log Σ, so its absolute error scales with |x| rather than with the result.
var (
	softmaxTol    = tols{f32: tol{1e-7, 1e-5}, f64: tol{1e-15, 1e-12}}
	logSoftmaxTol = tols{f32: tol{2e-6, 1e-5}, f64: tol{1e-14, 1e-12}}
	// softmaxGradTol: dy - Σ is a difference of O(1) terms, so an absolute floor of a few
	// float32 eps of them.
	softmaxGradTol = tols{f32: tol{2e-6, 1e-5}, f64: tol{1e-14, 1e-12}}
)

func softmaxName(log bool) string {
	if log {
		return "log-softmax"
	}
	return "softmax"
}

// extremeRows is a [5, 7] matrix of logits where a softmax without max subtraction overflows or
// loses everything: ±1000, equal logits, all -1000, a spread of 1e3, and a near tie at 1000.
func extremeRows() (x []float64, rows, cols int) {
	rows, cols = 5, 7
	x = []float64{
		1000, -1000, 0, 1, -1, 2, -2,
		3.7, 3.7, 3.7, 3.7, 3.7, 3.7, 3.7,
		-1000, -1000, -1000, -1000, -1000, -1000, -1000,
		0, 0, 0, 0, 0, 0, 0, // filled below with a spread of 1e3
		1000, 999.5, 1000, -1000, 998, 0, 1000,
	}
	for c := range cols {
		x[3*cols+c] = -500 + 1000*float64(c)/float64(cols-1)
	}
	return x, rows, cols
}

// TestSoftmax checks softmax and log-softmax of every matrices shape and of extremeRows.
func TestSoftmax(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, log := range []bool{false, true} {
			tl := softmaxTol
			if log {
				tl = logSoftmaxTol
			}
			forward := func(e *env, xv []float64, rows, cols int) {
				x := e.input("x", xv)
				dst := e.output("dst", rows*cols)
				e.do("Softmax", func() error { return e.dev.Softmax(log, dst.b, x.b, rows, cols) })
				got := e.read(dst)
				checkClose(e.t, "dst", got, ref.Softmax(log, x.host, rows, cols), tl.of(e.dt))
				checkFinite(e.t, "dst", got)
				e.checkInputs()
			}
			for _, s := range matrices {
				e.run(fmt.Sprintf("%s of %v", softmaxName(log), s), func(e *env) {
					forward(e, e.uniform(s.rows*s.cols, -5, 5), s.rows, s.cols)
				})
			}
			e.run(softmaxName(log)+" stays finite at extreme logits", func(e *env) {
				x, rows, cols := extremeRows()
				forward(e, x, rows, cols)
			})
		}
	})
}

// TestSoftmaxGrad checks the backward of softmax and log-softmax against the reference, at
// extreme logits, and against central differences of the device's forward.
func TestSoftmaxGrad(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, log := range []bool{false, true} {
			backward := func(e *env, xv []float64, rows, cols int) {
				y := e.input("y", ref.Softmax(log, e.round(xv), rows, cols))
				dy := e.input("dy", e.uniform(rows*cols, -1, 1))
				dx := e.output("dx", rows*cols)
				e.do("SoftmaxGrad", func() error { return e.dev.SoftmaxGrad(log, dx.b, y.b, dy.b, rows, cols) })
				got := e.read(dx)
				checkClose(e.t, "dx", got, ref.SoftmaxGrad(log, y.host, dy.host, rows, cols), softmaxGradTol.of(e.dt))
				checkFinite(e.t, "dx", got)
				e.checkInputs()
			}
			for _, s := range matrices {
				e.run(fmt.Sprintf("%s of %v", softmaxName(log), s), func(e *env) {
					backward(e, e.uniform(s.rows*s.cols, -5, 5), s.rows, s.cols)
				})
			}
			e.run(softmaxName(log)+" stays finite at extreme logits", func(e *env) {
				x, rows, cols := extremeRows()
				backward(e, x, rows, cols)
			})
		}
	})
	for _, log := range []bool{false, true} {
		gradCheck(t, dev, softmaxName(log)+" matches central differences", func(e *env) {
			rows, cols := 4, 6
			xv, r := e.uniform(rows*cols, -3, 3), e.uniform(rows*cols, -1, 1)
			x, y := e.alloc("x", len(xv)), e.output("y", len(xv))
			fwd := func() error { return e.dev.Softmax(log, y.b, x.b, rows, cols) }
			fd := ref.CentralDiff(xv, fdStep, e.objective(x, y, r, fwd))
			e.write(x, xv)
			e.do("Softmax", fwd)
			dy, dx := e.input("dy", r), e.output("dx", len(xv))
			e.do("SoftmaxGrad", func() error { return e.dev.SoftmaxGrad(log, dx.b, y.b, dy.b, rows, cols) })
			e.check(dx, fd, fdTol)
		})
	}
}

// distributionRows draws a [rows, cols] matrix whose rows are probability distributions; with
// oneHot, each row is a random class label.
func (e *env) distributionRows(rows, cols int, oneHot bool) []float64 {
	y := make([]float64, rows*cols)
	for r := range rows {
		row := y[r*cols : (r+1)*cols]
		if oneHot {
			row[e.rng.IntN(cols)] = 1
			continue
		}
		s := 0.0
		for c := range row {
			row[c] = 0.05 + e.rng.Float64()
			s += row[c]
		}
		for c := range row {
			row[c] /= s
		}
	}
	return y
}
