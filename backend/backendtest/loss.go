package backendtest

import (
	"fmt"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/kernels"
)

// lossTol: the mean of up to 301·257 float32 terms; 2e-5 leaves room for float32 accumulation in
// any order (a float64 accumulator stays at a few ulp).
var lossTol = tols{f32: tol{1e-6, 2e-5}, f64: tol{1e-15, 1e-12}}

// lossGradTol has an absolute floor relative to the largest element of the gradient (the
// dloss/rows scale of softmax(x)-y), where p-y cancels.
func lossGradTol(dt backend.DType, scale float64) tol {
	if dt == backend.Float32 {
		return tol{1e-6 * scale, 1e-5}
	}
	return tol{1e-14 * scale, 1e-12}
}

// lossShapes are matrices without the empty one: the mean of nothing is undefined.
var lossShapes = []matrix{{1, 1}, {3, 5}, {17, 33}, {128, 10}, {65, 257}, {301, 257}}

// lossTargets is a kind of target a loss is tested with.
type lossTargets struct {
	name string
	draw func(e *env, rows, cols int) []float64
}

// targetsFor lists the targets each loss is used with: class labels and soft distributions for
// cross-entropy, hard and soft labels for BCE, real values for MSE.
func targetsFor(kind kernels.Loss) []lossTargets {
	switch kind {
	case kernels.SoftmaxCrossEntropy:
		return []lossTargets{
			{"one-hot targets", func(e *env, r, c int) []float64 { return e.distributionRows(r, c, true) }},
			{"soft targets", func(e *env, r, c int) []float64 { return e.distributionRows(r, c, false) }},
		}
	case kernels.BCEWithLogits:
		return []lossTargets{
			{"hard targets", func(e *env, r, c int) []float64 {
				y := e.uniform(r*c, 0, 1)
				for i := range y {
					y[i] = b2f(y[i] > 0.5)
				}
				return y
			}},
			{"soft targets", func(e *env, r, c int) []float64 { return e.uniform(r*c, 0, 1) }},
		}
	}
	return []lossTargets{{"real targets", func(e *env, r, c int) []float64 { return e.uniform(r*c, -3, 3) }}}
}

// extremeTargets returns targets for extremeRows that make the loss as large as it gets: the
// smallest logit of each row is the class, and BCE/MSE targets oppose the sign of x.
func extremeTargets(kind kernels.Loss, x []float64, rows, cols int) []float64 {
	y := make([]float64, len(x))
	for r := range rows {
		row := x[r*cols : (r+1)*cols]
		if kind == kernels.SoftmaxCrossEntropy {
			lo := 0
			for c, v := range row {
				if v < row[lo] {
					lo = c
				}
			}
			y[r*cols+lo] = 1
			continue
		}
		for c, v := range row {
			y[r*cols+c] = b2f(v < 0)
		}
	}
	return y
}

// TestLoss checks every loss on every lossShapes shape and target kind, and at extreme logits.
func TestLoss(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, kind := range kernels.Losses() {
			forward := func(e *env, xv, yv []float64, rows, cols int) {
				x, y := e.input("x", xv), e.input("y", yv)
				loss := e.output("loss", 1)
				e.do("Loss", func() error { return e.dev.Loss(kind, loss.b, x.b, y.b, rows, cols) })
				got := e.read(loss)
				checkClose(e.t, "loss", got, []float64{ref.Loss(kind, x.host, y.host, rows, cols)}, lossTol.of(e.dt))
				checkFinite(e.t, "loss", got)
				e.checkInputs()
			}
			for _, tg := range targetsFor(kind) {
				for _, s := range lossShapes {
					e.run(fmt.Sprintf("%v of %v with %s", kind, s, tg.name), func(e *env) {
						forward(e, e.uniform(s.rows*s.cols, -5, 5), tg.draw(e, s.rows, s.cols), s.rows, s.cols)
					})
				}
			}
			e.run(fmt.Sprintf("%v stays finite at extreme logits", kind), func(e *env) {
				x, rows, cols := extremeRows()
				forward(e, x, extremeTargets(kind, x, rows, cols), rows, cols)
			})
		}
	})
}

// TestLossGrad checks every loss's gradient against the reference, at extreme logits, and
// against central differences of the device's Loss.
func TestLossGrad(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, kind := range kernels.Losses() {
			backward := func(e *env, xv, yv []float64, rows, cols int) {
				x, y := e.input("x", xv), e.input("y", yv)
				dloss := e.input("dloss", e.uniform(1, 0.5, 2))
				dx := e.output("dx", rows*cols)
				e.do("LossGrad", func() error { return e.dev.LossGrad(kind, dx.b, x.b, y.b, dloss.b, rows, cols) })
				got := e.read(dx)
				want := ref.LossGrad(kind, x.host, y.host, dloss.host[0], rows, cols)
				checkClose(e.t, "dx", got, want, lossGradTol(e.dt, ref.MaxAbs(want)))
				checkFinite(e.t, "dx", got)
				e.checkInputs()
			}
			for _, tg := range targetsFor(kind) {
				for _, s := range lossShapes {
					e.run(fmt.Sprintf("%v of %v with %s", kind, s, tg.name), func(e *env) {
						backward(e, e.uniform(s.rows*s.cols, -5, 5), tg.draw(e, s.rows, s.cols), s.rows, s.cols)
					})
				}
			}
			e.run(fmt.Sprintf("%v stays finite at extreme logits", kind), func(e *env) {
				x, rows, cols := extremeRows()
				backward(e, x, extremeTargets(kind, x, rows, cols), rows, cols)
			})
		}
	})
	for _, kind := range kernels.Losses() {
		for _, tg := range targetsFor(kind) {
			gradCheck(t, dev, fmt.Sprintf("%v with %s matches central differences", kind, tg.name), func(e *env) {
				rows, cols := 4, 5
				xv, dl := e.uniform(rows*cols, -3, 3), e.uniform(1, 0.5, 2)
				x, y, loss := e.alloc("x", len(xv)), e.input("y", tg.draw(e, rows, cols)), e.output("loss", 1)
				fwd := func() error { return e.dev.Loss(kind, loss.b, x.b, y.b, rows, cols) }
				fd := ref.CentralDiff(xv, fdStep, e.objective(x, loss, dl, fwd))
				e.write(x, xv)
				dloss, dx := e.input("dloss", dl), e.output("dx", len(xv))
				e.do("LossGrad", func() error { return e.dev.LossGrad(kind, dx.b, x.b, y.b, dloss.b, rows, cols) })
				e.check(dx, fd, fdTol)
			})
		}
	}
}

// TestCountCorrect checks argmax matching (cols > 1) and thresholding (cols == 1) on inputs
// where about half the rows are right.
func TestCountCorrect(t *testing.T, dev backend.Device) {
	shapes := []matrix{{1, 1}, {7, 1}, {33, 1}, {1, 4}, {17, 5}, {128, 10}, {1000, 3}, {0, 3}}
	forDTypes(t, dev, func(e *env) {
		for _, s := range shapes {
			e.run(s.String(), func(e *env) {
				var xv, yv []float64
				if s.cols == 1 {
					xv, yv = e.awayFromZero(s.rows, 0.01, 2), e.uniform(s.rows, 0, 1)
				} else {
					xv, yv = e.uniform(s.rows*s.cols, -2, 2), e.distributionRows(s.rows, s.cols, false)
					for r := range s.rows {
						if e.rng.IntN(2) == 0 { // make this row right
							xv[r*s.cols+argmax(yv[r*s.cols:(r+1)*s.cols])] = 3
						}
					}
				}
				x, y := e.input("x", xv), e.input("y", yv)
				dst := e.output("correct", 1)
				e.do("CountCorrect", func() error { return e.dev.CountCorrect(dst.b, x.b, y.b, s.rows, s.cols) })
				e.check(dst, []float64{refCountCorrect(x.host, y.host, s.rows, s.cols)}, exact.of(e.dt))
				e.checkInputs()
			})
		}
	})
}
