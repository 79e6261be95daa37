package kernels

import (
	"fmt"
	"math"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// SoftmaxForward computes, for every row of the row-major [rows, cols] matrix x, the softmax
// exp(x-m)/Σexp(x-m) or (log set) the log-softmax (x-m) - log Σexp(x-m), where m is the row
// maximum: no exponent is positive, so rows of huge or widely spread logits give exact results
// (row [0, 1000, -1000] gives [0, 1, 0] and [-1000, 0, -2000]). A NaN anywhere in a row makes the
// whole row NaN. dst may be x itself.
//
// For float32 the softmax is rounded twice (exp(x-m) is stored in dst, then scaled), so it is
// within 2^-23 rather than 2^-24 relative: this saves a second exp per element. The float32
// softmax (not the log-softmax) also uses a float32 exp (softmax32, below), within 2 ulp, which
// brings it to about 4 ulp (5e-7) relative.
func SoftmaxForward[T Float](log bool, dst, x []T, rows, cols int) error {
	n, err := matrixLen("SoftmaxForward", rows, cols)
	if err != nil {
		return err
	}
	if len(dst) != n || len(x) != n {
		return fmt.Errorf("kernels: SoftmaxForward: len(dst)=%d, len(x)=%d, want rows*cols=%d*%d: %w",
			len(dst), len(x), rows, cols, ErrInvalid)
	}
	if d32, ok := any(dst).([]float32); ok && !log {
		softmax32(d32, any(x).([]float32), rows, cols) // the float32 fast path, below
		return nil
	}
	far := false
	for r := 0; r < rows; r++ {
		xr := x[r*cols : (r+1)*cols]
		dr := dst[r*cols : (r+1)*cols]
		dr = dr[:len(xr)]
		m := rowMax(xr)
		if log {
			var s float64
			s, far = rowExp[T](nil, xr, m, far)
			lse := math.Log(s)
			for j, v := range xr {
				dr[j] = T((float64(v) - m) - lse)
			}
			continue
		}
		var s float64
		s, far = rowExp(dr, xr, m, far)
		inv := 1 / s
		for j, v := range dr {
			dr[j] = T(float64(v) * inv)
		}
	}
	return nil
}

// rowExp returns Σ expFast(v - m) over the row xr, in order, storing each exp into dr unless dr
// is nil. far says that a row before had a logit at or below expFastMin under its max: then the
// row takes expArg's loop, which has no branch on such logits (a diverged row's, mispredicted
// as often as they come at random: 1.8x slower); else the plain loop, 10-20% faster on normal
// rows (BenchmarkSoftmax/log-softmax, BenchmarkValues/softmax-ce-loss). Both give expFast's bits,
// so the choice changes no sum. It returns far for the next row.
func rowExp[T Float](dr, xr []T, m float64, far bool) (float64, bool) {
	s := 0.0
	if !far {
		for j, v := range xr {
			d := float64(v) - m
			e := expRecon(expReduce(d)) // expFast written out, to save a call per element
			if d <= expFastMin {
				e = math.Exp(d)
				far = true
			}
			if dr != nil {
				dr[j] = T(e)
			}
			s += e
		}
		return s, far
	}
	low := uint64(0)
	for j, v := range xr {
		d := float64(v) - m
		rd, k, keep, sub := expArg(d)
		e := expReconKeep(rd, k, keep)
		if sub {
			e = math.Exp(d)
			low = 1
		}
		low |= ^keep
		if dr != nil {
			dr[j] = T(e)
		}
		s += e
	}
	return s, low != 0
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

// Float32 softmax (not log-softmax) fast path: exp32 instead of the float64 exp. The float32
// difference d = v - m is rounded, and its rounding error times |d| (up to 87) would be too large
// a relative error for the small probabilities; so the error lo is computed exactly (Knuth's
// TwoSum) and passed to exp32, which adds it to the reduced argument. A difference at or below
// exp32Min gives a subnormal or zero probability: between -104 and exp32Min it is computed from
// the exact float64 difference with a float64 exp (expBand, no table, so that the vector loops
// do the same), below -104 it is 0 (exp(-104) rounds to 0 in float32), so the extremes keep
// their accuracy (a subnormal within a unit of its last place). A row holding a NaN or +Inf, or
// only -Inf, is all NaN (the canonical quiet NaN). The row sum is accumulated in float64 in 8
// partial sums (element j into s[j%8]) added in a fixed tree: the order of the vector loops
// (act_amd64.s, act512_amd64.s), which give the same bits, a row at a time, with none of this
// done by branching on the values except for a block that holds a subnormal probability (the
// float64 exp is then computed for its 8 or 16 lanes). The log-softmax keeps the float64 path:
// its result x - m - log(s) is near 0 for the likely classes, where the relative error of a
// float32 exp would show.

// softmax32 is SoftmaxForward(false, ...) for float32 rows: runs of rows in assembly where there
// is one (which may stop at a row and leave it to Go), the rest in Go.
func softmax32(dst, x []float32, rows, cols int) {
	if cols == 0 {
		return
	}
	l := level()
	for r := 0; r < rows; r++ {
		switch {
		case l >= cpufeat.AVX512:
			softmax512(&dst[r*cols], &x[r*cols], rows-r, cols)
			return
		case l >= cpufeat.AVX2:
			r += softmax32AVX2(&dst[r*cols], &x[r*cols], rows-r, cols)
			if r == rows {
				return
			}
		}
		softmax32Row(dst[r*cols:(r+1)*cols], x[r*cols:(r+1)*cols])
	}
}

// softmax32Row is the Go loop of softmax32, for one row.
func softmax32Row(dr, xr []float32) {
	dr = dr[:len(xr)]
	m := float32(rowMax(xr))
	if !(m >= -math.MaxFloat32 && m <= math.MaxFloat32) { // NaN, +Inf or an all -Inf row
		nan := float32(math.NaN())
		for j := range dr {
			dr[j] = nan
		}
		return
	}
	var s [8]float64
	for j, v := range xr {
		d := v - m
		bb := d - v
		lo := (v - (d - bb)) - (m + bb) // d + lo = v - m exactly
		var e float32
		switch {
		case d > -0x1p-25: // exp32(d, lo) rounds to 1 here, after products of d that are subnormal for |d| < 2^-63
			e = 1
		case d > exp32Min:
			e = exp32(d, lo)
		case d > -104:
			e = expBand(float64(v) - float64(m))
		}
		dr[j] = e
		s[j&7] += float64(e)
	}
	t0, t1, t2, t3 := s[0]+s[4], s[1]+s[5], s[2]+s[6], s[3]+s[7]
	inv := 1 / ((t0 + t2) + (t1 + t3))
	for j, v := range dr {
		dr[j] = float32(float64(v) * inv)
	}
}

// Constants of expBand: ln 2 split so that k·ln2Hi64 is exact for |k| < 2^20 (fdlibm's), and
// the rounding shift 1.5·2^52.
const (
	invLn2_64 = 1.44269504088896338700e+00
	ln2Hi64   = 6.93147180369123816490e-01
	ln2Lo64   = 1.90821492927058770002e-10
	shift64   = 0x1.8p52
)

// expBand returns float32(exp(d)) for -104 < d <= exp32Min (a float32 subnormal or the smallest
// normals): d = k·ln2 + r with |r| <= ln2/2, exp(r) by its Taylor polynomial to degree 11
// (6.5e-15 relative, far below the float32 subnormal's spacing), times 2^k, which is a normal
// float64 here. Each product is converted to float64 before an addition, so the compiler cannot
// fuse them and the vector loops give the same bits.
func expBand(d float64) float32 {
	t := float64(d*invLn2_64) + shift64
	kf := t - shift64
	r := (d - float64(kf*ln2Hi64)) - float64(kf*ln2Lo64)
	p := 1.0 / 39916800
	p = float64(p*r) + 1.0/3628800
	p = float64(p*r) + 1.0/362880
	p = float64(p*r) + 1.0/40320
	p = float64(p*r) + 1.0/5040
	p = float64(p*r) + 1.0/720
	p = float64(p*r) + 1.0/120
	p = float64(p*r) + 1.0/24
	p = float64(p*r) + 1.0/6
	p = float64(p*r) + 0.5
	p = float64(p*r) + 1
	p = float64(p*r) + 1
	k := math.Float64bits(t) - math.Float64bits(shift64) // k as two's complement
	return float32(p * math.Float64frombits((k+1023)<<52))
}
