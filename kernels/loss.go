package kernels

import (
	"fmt"
	"math"
)

// LossForward returns the mean loss of logits (or predictions) x against targets y, both
// row-major [rows, cols], accumulated in float64 (see the Loss constants for each formula). An
// empty input has loss 0.
func LossForward[T Float](kind Loss, x, y []T, rows, cols int) (float64, error) {
	sum, err := lossSum("LossForward", kind, x, y, rows, cols)
	if err != nil || rows*cols == 0 {
		return 0, err
	}
	return sum / LossDivisor(kind, rows, cols), nil
}

// LossSum returns the un-normalised loss summed over the given rows, so that the CPU backend can
// split the rows over cores, add the partial sums, and divide once by LossDivisor of the whole
// batch. Softmax cross-entropy computes log_softmax in the max-subtracted form and skips targets
// that are exactly 0, so a class with log-probability -Inf and target 0 adds exactly 0 (PyTorch
// gives NaN for 0·-Inf); BCE uses max(x,0) - x·y + log1p(exp(-|x|)), finite for any finite x.
func LossSum[T Float](kind Loss, x, y []T, rows, cols int) (float64, error) {
	return lossSum("LossSum", kind, x, y, rows, cols)
}

// LossDivisor returns what the summed loss is divided by for the mean: rows for softmax
// cross-entropy (a mean over samples), rows*cols for BCE and MSE (a mean over elements), as in
// PyTorch's default reduction. It returns NaN for an invalid kind so that misuse cannot pass
// silently.
func LossDivisor(kind Loss, rows, cols int) float64 {
	switch kind {
	case SoftmaxCrossEntropy:
		return float64(rows)
	case BCEWithLogits, MSE:
		return float64(rows) * float64(cols)
	}
	return math.NaN()
}

// LossBackward sets dx = dloss·∂(mean loss)/∂x, dloss being the gradient arriving at the loss
// (1 when the loss is the graph's output).
func LossBackward[T Float](kind Loss, dx, x, y []T, rows, cols int, dloss float64) error {
	if err := checkLoss("LossBackward", kind, x, y, rows, cols); err != nil {
		return err
	}
	if len(dx) != len(x) {
		return fmt.Errorf("kernels: LossBackward: len(dx)=%d != len(x)=%d: %w", len(dx), len(x), ErrInvalid)
	}
	if len(x) == 0 {
		return nil // LossDivisor would be 0
	}
	return LossBackwardScaled(kind, dx, x, y, rows, cols, dloss/LossDivisor(kind, rows, cols))
}

// LossBackwardScaled sets dx = scale·∂(summed loss)/∂x over the given rows. It is the row-splittable
// form of LossBackward: a caller working on a sub-range of rows passes dloss/LossDivisor of the
// whole batch as scale. For softmax cross-entropy with a general target distribution the gradient
// is softmax(x)·Σy - y per row; BCE gives σ(x) - y and MSE 2(x-y). dx may be x or y itself.
func LossBackwardScaled[T Float](kind Loss, dx, x, y []T, rows, cols int, scale float64) error {
	if err := checkLoss("LossBackwardScaled", kind, x, y, rows, cols); err != nil {
		return err
	}
	if len(dx) != len(x) {
		return fmt.Errorf("kernels: LossBackwardScaled: len(dx)=%d != len(x)=%d: %w", len(dx), len(x), ErrInvalid)
	}
	n := len(x)
	dx, y = dx[:n], y[:n]
	switch kind {
	case SoftmaxCrossEntropy:
		for r := 0; r < rows; r++ {
			xr := x[r*cols : (r+1)*cols]
			yr := y[r*cols : (r+1)*cols]
			dr := dx[r*cols : (r+1)*cols]
			yr, dr = yr[:len(xr)], dr[:len(xr)]
			m := rowMax(xr)
			s, sy := 0.0, 0.0
			for j, v := range xr {
				d := float64(v) - m
				rd, k, keep, sub := expArg(d) // expFast written out (expArg says why)
				e := expReconKeep(rd, k, keep)
				if sub {
					e = math.Exp(d)
				}
				s += e
				sy += float64(yr[j])
			}
			// exp is evaluated again rather than stored in dr: for float32 the stored value would
			// be rounded before p - y cancels for the target class.
			c := sy / s
			for j, v := range xr {
				d := float64(v) - m
				rd, k, keep, sub := expArg(d)
				e := expReconKeep(rd, k, keep)
				if sub {
					e = math.Exp(d)
				}
				dr[j] = T(scale * (e*c - float64(yr[j])))
			}
		}
	case BCEWithLogits:
		for i, v := range x {
			dx[i] = T(scale * (sigmoid(float64(v)) - float64(y[i])))
		}
	case MSE:
		s2 := 2 * scale
		for i, v := range x {
			dx[i] = T(s2 * (float64(v) - float64(y[i])))
		}
	}
	return nil
}

func lossSum[T Float](fn string, kind Loss, x, y []T, rows, cols int) (float64, error) {
	if err := checkLoss(fn, kind, x, y, rows, cols); err != nil {
		return 0, err
	}
	y = y[:len(x)]
	sum := 0.0
	switch kind {
	case SoftmaxCrossEntropy:
		far := false // rowExp says why
		for r := 0; r < rows; r++ {
			xr := x[r*cols : (r+1)*cols]
			yr := y[r*cols : (r+1)*cols]
			yr = yr[:len(xr)]
			m := rowMax(xr)
			var s float64
			s, far = rowExp[T](nil, xr, m, far)
			lse := math.Log(s)
			row := 0.0
			for j, t := range yr {
				if t != 0 {
					row -= float64(t) * ((float64(xr[j]) - m) - lse)
				}
			}
			sum += row
		}
	case BCEWithLogits:
		for i, v := range x {
			f := float64(v)
			sum += max(f, 0) - f*float64(y[i]) + math.Log1p(expFast(-math.Abs(f)))
		}
	case MSE:
		for i, v := range x {
			d := float64(v) - float64(y[i])
			sum += d * d
		}
	}
	return sum, nil
}

func checkLoss[T Float](fn string, kind Loss, x, y []T, rows, cols int) error {
	if !kind.Valid() {
		return fmt.Errorf("kernels: %s: invalid loss %v: %w", fn, kind, ErrInvalid)
	}
	n, err := matrixLen(fn, rows, cols)
	if err != nil {
		return err
	}
	if len(x) != n || len(y) != n {
		return fmt.Errorf("kernels: %s: len(x)=%d, len(y)=%d, want rows*cols=%d*%d: %w",
			fn, len(x), len(y), rows, cols, ErrInvalid)
	}
	return nil
}
