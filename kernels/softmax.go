package kernels

import (
	"fmt"
	"math"
)

// SoftmaxForward computes, for every row of the row-major [rows, cols] matrix x, the softmax
// exp(x-m)/Σexp(x-m) or (log set) the log-softmax (x-m) - log Σexp(x-m), where m is the row
// maximum: no exponent is positive, so rows of huge or widely spread logits give exact results
// (row [0, 1000, -1000] gives [0, 1, 0] and [-1000, 0, -2000]). A NaN anywhere in a row makes the
// whole row NaN. dst may be x itself.
//
// For float32 the softmax is rounded twice (exp(x-m) is stored in dst, then scaled), so it is
// within 2^-23 rather than 2^-24 relative: this saves a second exp per element.
func SoftmaxForward[T Float](log bool, dst, x []T, rows, cols int) error {
	n, err := matrixLen("SoftmaxForward", rows, cols)
	if err != nil {
		return err
	}
	if len(dst) != n || len(x) != n {
		return fmt.Errorf("kernels: SoftmaxForward: len(dst)=%d, len(x)=%d, want rows*cols=%d*%d: %w",
			len(dst), len(x), rows, cols, ErrInvalid)
	}
	for r := 0; r < rows; r++ {
		xr := x[r*cols : (r+1)*cols]
		dr := dst[r*cols : (r+1)*cols]
		dr = dr[:len(xr)]
		m := rowMax(xr)
		s := 0.0
		if log {
			for _, v := range xr {
				d := float64(v) - m
				e := expRecon(expReduce(d))
				if d <= expFastMin {
					e = math.Exp(d)
				}
				s += e
			}
			lse := math.Log(s)
			for j, v := range xr {
				dr[j] = T((float64(v) - m) - lse)
			}
			continue
		}
		for j, v := range xr {
			d := float64(v) - m
			e := expRecon(expReduce(d))
			if d <= expFastMin {
				e = math.Exp(d)
			}
			dr[j] = T(e)
			s += e
		}
		inv := 1 / s
		for j, v := range dr {
			dr[j] = T(float64(v) * inv)
		}
	}
	return nil
}

// SoftmaxBackward computes dx from the forward output y (not from x, which the softmax graph op
// need not keep) and the incoming gradient dy, per row: dx = y·(dy - Σdy·y) for the softmax and
// dx = dy - exp(y)·Σdy for the log-softmax. dx may be dy or y itself.
func SoftmaxBackward[T Float](log bool, dx, y, dy []T, rows, cols int) error {
	n, err := matrixLen("SoftmaxBackward", rows, cols)
	if err != nil {
		return err
	}
	if len(dx) != n || len(y) != n || len(dy) != n {
		return fmt.Errorf("kernels: SoftmaxBackward: len(dx)=%d, len(y)=%d, len(dy)=%d, want rows*cols=%d*%d: %w",
			len(dx), len(y), len(dy), rows, cols, ErrInvalid)
	}
	for r := 0; r < rows; r++ {
		yr := y[r*cols : (r+1)*cols]
		dyr := dy[r*cols : (r+1)*cols]
		dxr := dx[r*cols : (r+1)*cols]
		dyr, dxr = dyr[:len(yr)], dxr[:len(yr)]
		s := 0.0
		if log {
			for _, g := range dyr {
				s += float64(g)
			}
			for j, v := range yr {
				dxr[j] = T(float64(dyr[j]) - expFast(float64(v))*s)
			}
			continue
		}
		for j, v := range yr {
			s += float64(dyr[j]) * float64(v)
		}
		for j, v := range yr {
			dxr[j] = T(float64(v) * (float64(dyr[j]) - s))
		}
	}
	return nil
}

// rowMax returns the largest element of a row as float64, -Inf for an empty row, NaN if the row
// holds a NaN (which then makes every x - max NaN). The builtin max has no data-dependent branch,
// which on short rows of random logits saves a misprediction or two per row.
//
// Four running maxima keep the loop-carried dependency short on long rows.
func rowMax[T Float](row []T) float64 {
	m0, m1, m2, m3 := math.Inf(-1), math.Inf(-1), math.Inf(-1), math.Inf(-1)
	i := 0
	for ; i+4 <= len(row); i += 4 {
		q := row[i : i+4 : i+4]
		m0 = max(m0, float64(q[0]))
		m1 = max(m1, float64(q[1]))
		m2 = max(m2, float64(q[2]))
		m3 = max(m3, float64(q[3]))
	}
	for ; i < len(row); i++ {
		m0 = max(m0, float64(row[i]))
	}
	return max(m0, m1, m2, m3)
}

// matrixLen checks a [rows, cols] shape and returns rows*cols; the row-wise kernels index rows
// by r*cols, so a product that overflows int must be refused here.
func matrixLen(fn string, rows, cols int) (int, error) {
	if rows < 0 || cols < 0 || (cols > 0 && rows > math.MaxInt/cols) {
		return 0, fmt.Errorf("kernels: %s: shape [%d, %d] is negative or too large: %w", fn, rows, cols, ErrInvalid)
	}
	return rows * cols, nil
}
