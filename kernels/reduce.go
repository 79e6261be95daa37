package kernels

import (
	"fmt"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// The CPU twins of the bias add, the bias gradient and the squared gradient norm (bias.cu's
// BiasAdd and Sum, reduce.cu's sumsq), as loops over slices that the CPU backend calls on the
// ranges it splits the work into. For float32 they run in assembly where there is some
// (reduce_amd64.s: AVX2 and AVX-512), with the Go loops' bits: the bias add is one addition per
// element, the column sums add each column in row order in float64 (vectors run across columns),
// and the sum of squares keeps 16 partial sums in a fixed order, which is what two AVX-512 or four
// AVX2 registers of float64 hold. None of them depends on the values for its speed.

// AddBias sets dst[r*cols+c] = x[r*cols+c] + bias[c] for every row of x (len(x) a multiple of
// cols = len(bias)). dst may be x.
func AddBias[T Float](dst, x, bias []T) error {
	cols := len(bias)
	if len(dst) != len(x) || cols == 0 && len(x) != 0 || cols > 0 && len(x)%cols != 0 {
		return fmt.Errorf("kernels: AddBias: len(dst)=%d, len(x)=%d is not a whole number of rows of len(bias)=%d: %w",
			len(dst), len(x), cols, ErrInvalid)
	}
	if d32, ok := any(dst).([]float32); ok {
		x32, b32 := any(x).([]float32), any(bias).([]float32)
		for r := 0; r < len(x); r += cols {
			addRow32(d32[r:r+cols], x32[r:r+cols], b32)
		}
		return nil
	}
	for r := 0; r < len(x); r += cols {
		dr, xr := dst[r:r+cols], x[r:r+cols]
		for c, b := range bias {
			dr[c] = xr[c] + b
		}
	}
	return nil
}

// SumColumns sets dst[c] = Σ_r src[r*ld+c] over rows r < rows, for c < len(dst), accumulating
// each column in float64 in row order: the bias gradient (a sum over the batch) and the middle
// axis of a Sum. ld >= len(dst) is the row stride of src.
func SumColumns[T Float](dst, src []T, rows, ld int) error {
	cols := len(dst)
	if rows < 0 || ld < cols || rows > 0 && cols > 0 && len(src) < (rows-1)*ld+cols {
		return fmt.Errorf("kernels: SumColumns: %d rows of %d columns with stride %d need more than len(src)=%d: %w",
			rows, cols, ld, len(src), ErrInvalid)
	}
	if cols == 0 {
		return nil
	}
	if d32, ok := any(dst).([]float32); ok {
		sumColumns32(d32, any(src).([]float32), rows, ld)
		return nil
	}
	var acc [64]float64
	for c0 := 0; c0 < cols; c0 += len(acc) {
		c1 := min(cols, c0+len(acc))
		a := acc[:c1-c0]
		clear(a)
		for r := range rows {
			for k, v := range src[r*ld+c0 : r*ld+c1] {
				a[k] += float64(v)
			}
		}
		for k, v := range a {
			dst[c0+k] = T(v)
		}
	}
	return nil
}

// SumSquares returns Σx² accumulated in float64: element i goes into partial sum i%16 and the
// partials are added pairwise, s[k]+s[k+8], then +4, +2, +1 apart.
func SumSquares[T Float](x []T) float64 {
	if x32, ok := any(x).([]float32); ok {
		return sumSquares32(x32)
	}
	var s [16]float64
	for i, v := range x {
		f := float64(v)
		s[i&15] += f * f
	}
	return addTree16(&s)
}

// addTree16 adds 16 partial sums in the order of the vector reductions.
func addTree16(s *[16]float64) float64 {
	var t [8]float64
	for k := range t {
		t[k] = s[k] + s[k+8]
	}
	u0, u1, u2, u3 := t[0]+t[4], t[1]+t[5], t[2]+t[6], t[3]+t[7]
	return (u0 + u2) + (u1 + u3)
}

func addRow32(dst, x, b []float32) {
	n := len(b)
	dst, x = dst[:n], x[:n]
	i := 0
	switch l := level(); {
	case n == 0:
		return
	case l >= cpufeat.AVX512:
		addRow512(&dst[0], &x[0], &b[0], n)
		return
	case l >= cpufeat.AVX2:
		if i = n &^ 7; i > 0 {
			addRowAVX2(&dst[0], &x[0], &b[0], i)
		}
	}
	for ; i < n; i++ {
		dst[i] = x[i] + b[i]
	}
}

func sumColumns32(dst, src []float32, rows, ld int) {
	cols := len(dst)
	c0 := 0
	switch l := level(); {
	case rows == 0:
	case l >= cpufeat.AVX512:
		sumColumns512(&dst[0], &src[0], rows, cols, ld)
		return
	case l >= cpufeat.AVX2:
		if c0 = cols &^ 7; c0 > 0 {
			sumColumnsAVX2(&dst[0], &src[0], rows, c0, ld)
		}
	}
	for c := c0; c < cols; c++ {
		a := 0.0
		for r := range rows {
			a += float64(src[r*ld+c])
		}
		dst[c] = float32(a)
	}
}

func sumSquares32(x []float32) float64 {
	var s [16]float64
	i := 0
	switch l := level(); {
	case len(x) == 0:
		return 0
	case l >= cpufeat.AVX512:
		i = len(x) &^ 15
		if i > 0 {
			sumSquares512(&x[0], i, &s)
		}
	case l >= cpufeat.AVX2:
		i = len(x) &^ 15
		if i > 0 {
			sumSquaresAVX2(&x[0], i, &s)
		}
	}
	for ; i < len(x); i++ {
		f := float64(x[i])
		s[i&15] += f * f
	}
	return addTree16(&s)
}

// col2imRows32 adds, for t < len(d), s[t + q·stride] to d[t] in ascending q < kw (kw >= 1), and
// returns how many leading elements of d it did: all at AVX-512 and AVX2, none in Go. AVX-512
// machines run the AVX2 loop: the gain is in loading and storing d once, not in the vector width,
// and an AVX-512 loop could not be run on the AMD EPYC (AVX2) it was written on.
func col2imRows32(d, s []float32, kw, stride int) int {
	n := len(d)
	if level() < cpufeat.AVX2 || n == 0 {
		return 0
	}
	_ = s[(kw-1)*stride+n-1]
	col2imRowsAVX2(&d[0], &s[0], n, kw, stride)
	return n
}
