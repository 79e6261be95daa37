package kernels

import (
	"fmt"
	"math"
)

// Tail thresholds beyond which an activation (and its derivative) equals its asymptote exactly in
// float64: the formula would give the same value for finite x, but at ±Inf it would compute
// Inf·0 = NaN, so the tails are taken explicitly where that happens. NaN fails the comparisons and
// reaches the formula.
const (
	// GELU: erfc(40/√2) and 40·φ(40) underflow to 0, and erfc(-40/√2) rounds to 2.
	// GELUTanh: at |x| = 30 the sigmoid argument is about ±1974, far past exp's underflow.
	// SiLU upwards: 40·exp(-40) is below half an ulp of 1.
	geluTail = 40
	// SiLU downwards: x·σ(x) is only 0 in float64 once exp(x) underflows (x < -745.2).
	siluLowTail = -750
)

const (
	sqrtHalf    = 0.70710678118654752440084436210484903928483593768847 // 1/√2
	invSqrt2Pi  = 0.39894228040143267793994605993438186847585863116493 // 1/√(2π)
	sqrt2OverPi = 0.79788456080286535587989211986876373695171726232986 // √(2/π)
	geluTanhC   = 0.044715
)

// ActivationForward sets dst[i] = f(x[i]) for the activation act (alpha as documented on the
// Activation constants). dst may be x itself (but not a shifted overlap of it). The arithmetic is
// done in float64 in forms that cannot overflow, so every finite input gives the correctly rounded
// or nearly correctly rounded T, ±Inf give the limits, and NaN stays NaN; float32 sigmoid and tanh
// use float32 loops within a few ulp instead, which flush results below 2^-126 to 0
// (activation32.go).
func ActivationForward[T Float](act Activation, alpha float64, dst, x []T) error {
	if !act.Valid() {
		return fmt.Errorf("kernels: ActivationForward: invalid activation %v: %w", act, ErrInvalid)
	}
	if len(dst) != len(x) {
		return fmt.Errorf("kernels: ActivationForward: len(dst)=%d != len(x)=%d: %w", len(dst), len(x), ErrInvalid)
	}
	dst = dst[:len(x)]
	// One loop per activation: the switch stays outside the element loop so that each loop body
	// is a straight-line call of the scalar function.
	switch act {
	case Identity:
		copy(dst, x)
	case Sigmoid:
		if d32, ok := any(dst).([]float32); ok {
			sigmoidFwd.run(d32, any(x).([]float32))
			break
		}
		for i, v := range x {
			dst[i] = T(sigmoid(float64(v)))
		}
	case Tanh:
		if d32, ok := any(dst).([]float32); ok {
			tanhFwd.run(d32, any(x).([]float32))
			break
		}
		for i, v := range x {
			// tanhFast written out: as a function of its own it ran at a third of this speed.
			f := float64(v)
			e, r, _ := logistic(2 * f)
			t := math.Copysign((1-e)*r, f)
			if math.Abs(f) < tanhSmall {
				t = math.Tanh(f)
			}
			dst[i] = T(t)
		}
	case ReLU:
		if d32, ok := any(dst).([]float32); ok {
			reluFwd.run(d32, any(x).([]float32))
			break
		}
		for i, v := range x {
			dst[i] = max(v, 0) // the builtin max returns NaN for a NaN argument
		}
	case LeakyReLU:
		for i, v := range x {
			f := float64(v) // max and min instead of a branch on the sign; both keep NaN
			dst[i] = T(max(f, 0) + alpha*min(f, 0))
		}
	case ELU:
		for i, v := range x {
			if f := float64(v); f > 0 {
				dst[i] = v
			} else {
				dst[i] = T(alpha * math.Expm1(f)) // Expm1 keeps the relative accuracy near 0
			}
		}
	case GELU:
		for i, v := range x {
			dst[i] = T(gelu(float64(v)))
		}
	case GELUTanh:
		for i, v := range x {
			dst[i] = T(geluTanh(float64(v)))
		}
	case SiLU:
		if d32, ok := any(dst).([]float32); ok {
			silu32(d32, any(x).([]float32))
			break
		}
		for i, v := range x {
			dst[i] = T(silu(float64(v)))
		}
	case Softplus:
		for i, v := range x {
			dst[i] = T(softplus(float64(v)))
		}
	}
	return nil
}

// ActivationBackward sets dx[i] = dy[i]·f'(x[i]). y = f(x) must be given (it is checked for
// length) but the derivative is recomputed from x, in float64 or, for float32 sigmoid and tanh,
// in float32 from exp(-|x|) (activation32.go): from a float32 y, σ' = y(1-y) and tanh' = 1-y²
// lose most of their digits as y saturates (a relative error of 1e-3 at x = 10), and become
// exactly 0 long before the true value does. dx may be dy itself. The result is the product
// dy·f'(x), so a NaN in dy gives NaN, and so does a NaN in x except for Identity; f'(0) is 0 for ReLU and alpha for LeakyReLU and ELU,
// as in PyTorch.
func ActivationBackward[T Float](act Activation, alpha float64, dx, x, y, dy []T) error {
	if !act.Valid() {
		return fmt.Errorf("kernels: ActivationBackward: invalid activation %v: %w", act, ErrInvalid)
	}
	if len(dx) != len(x) || len(y) != len(x) || len(dy) != len(x) {
		return fmt.Errorf("kernels: ActivationBackward: len(dx)=%d, len(x)=%d, len(y)=%d, len(dy)=%d are not all equal: %w",
			len(dx), len(x), len(y), len(dy), ErrInvalid)
	}
	dx, dy = dx[:len(x)], dy[:len(x)]
	switch act {
	case Identity:
		copy(dx, dy)
	case Sigmoid:
		if d32, ok := any(dx).([]float32); ok {
			sigmoidBwd.run(d32, any(x).([]float32), any(dy).([]float32))
			break
		}
		for i, v := range x {
			dx[i] = T(float64(dy[i]) * sigmoidGrad(float64(v)))
		}
	case Tanh:
		if d32, ok := any(dx).([]float32); ok {
			tanhBwd.run(d32, any(x).([]float32), any(dy).([]float32))
			break
		}
		for i, v := range x {
			dx[i] = T(float64(dy[i]) * tanhGrad(float64(v)))
		}
	case ReLU:
		if d32, ok := any(dx).([]float32); ok {
			reluBwd.run(d32, any(x).([]float32), any(dy).([]float32))
			break
		}
		for i, v := range x {
			dx[i] = T(float64(dy[i]) * step(float64(v), 0))
		}
	case LeakyReLU:
		for i, v := range x {
			dx[i] = T(float64(dy[i]) * step(float64(v), alpha))
		}
	case ELU:
		// d = 1 for x > 0, else alpha·expFast(x) (NaN stays NaN), selected with masks and the
		// exp written out as expArg's pattern: a branch on the sign, or to math.Exp for x far
		// below 0, is mispredicted as often as such inputs come at random (1.3x slower).
		one := math.Float64bits(1)
		for i, v := range x {
			f := float64(v)
			var pos uint64
			if f > 0 {
				pos = ^uint64(0)
			}
			f = math.Float64frombits(math.Float64bits(f) &^ pos) // +0 where x > 0
			rd, k, keep, sub := expArg(f)
			e := expReconKeep(rd, k, keep)
			if sub {
				e = math.Exp(f)
			}
			d := math.Float64frombits(one&pos | math.Float64bits(alpha*e)&^pos)
			dx[i] = T(float64(dy[i]) * d)
		}
	case GELU:
		for i, v := range x {
			dx[i] = T(float64(dy[i]) * geluGrad(float64(v)))
		}
	case GELUTanh:
		for i, v := range x {
			dx[i] = T(float64(dy[i]) * geluTanhGrad(float64(v)))
		}
	case SiLU:
		for i, v := range x {
			dx[i] = T(float64(dy[i]) * siluGrad(float64(v)))
		}
	case Softplus:
		if d32, ok := any(dx).([]float32); ok {
			softplusGrad32(d32, any(x).([]float32), any(dy).([]float32))
			break
		}
		for i, v := range x {
			dx[i] = T(float64(dy[i]) * sigmoid(float64(v)))
		}
	}
	return nil
}

// logistic returns e = exp(-|x|), r = 1/(1+e) and σ(x) = 1/(1+exp(-x)), which is e·r for x < 0
// and r otherwise: every logistic quantity below is built from these, and none can overflow. The
// whole computation is in this one (not inlined) function so that a sigmoid costs one call.
func logistic(x float64) (e, r, s float64) {
	a := -math.Abs(x)
	if a > expFastMin {
		e = expRecon(expReduce(a))
	} else {
		e = math.Exp(a) // subnormal, 0, or NaN
	}
	r = 1 / (1 + e)
	return e, r, pickNeg(x, e*r, r)
}

// sigmoid returns σ(x) without evaluating exp of a positive number.
func sigmoid(x float64) float64 {
	_, _, s := logistic(x)
	return s
}

// pickNeg returns neg if the sign bit of x is set, else pos. It selects with integer masks rather
// than a branch, which on inputs of random sign mispredicts half the time.
func pickNeg(x, neg, pos float64) float64 {
	m := uint64(int64(math.Float64bits(x)) >> 63) // all ones when the sign bit is set
	return math.Float64frombits(math.Float64bits(pos)&^m | math.Float64bits(neg)&m)
}

// sigmoidGrad returns σ(x)·σ(-x) = e/(1+e)², which is symmetric in x and keeps its relative
// accuracy where 1-σ(x) would cancel.
func sigmoidGrad(x float64) float64 {
	e, r, _ := logistic(x)
	return e * r * r
}

// tanhSmall is where the Tanh loop switches from (1-e)/(1+e), e = exp(-2|x|), with the sign of x
// (reusing the logistic's fast exp, 3x faster than math.Tanh) to math.Tanh, because 1-e cancels
// for small |x|. math.Tanh switches to a rational approximation at the same point.
const tanhSmall = 0.625

// tanhGrad returns sech²(x) = 4e/(1+e)² with e = exp(-2|x|); 1-tanh² cancels for |x| > 1.
func tanhGrad(x float64) float64 {
	e, r, _ := logistic(2 * x)
	return 4 * e * r * r
}

// step returns the ReLU-family derivative: 1 for x > 0, neg otherwise, x itself for NaN. It is
// built from bit masks rather than branches: on inputs of random sign a branch mispredicts half
// the time (that made ReLU's backward 4x slower than its forward).
func step(x, neg float64) float64 {
	const sign = 1 << 63
	b := math.Float64bits(x)
	abs := b &^ sign
	nan := uint64(int64(0x7ff0000000000000-abs) >> 63)   // all ones for a NaN
	nonzero := uint64(-int64(uint64(-int64(abs)) >> 63)) // all ones for abs != 0
	pos := ^uint64(int64(b)>>63) & nonzero &^ nan        // x > 0
	return math.Float64frombits(0x3ff0000000000000&pos | b&nan | math.Float64bits(neg)&^(pos|nan))
}

// gelu returns x·Φ(x) with Φ(x) = erfc(-x/√2)/2, which unlike 1+erf(x/√2) does not cancel for
// negative x.
func gelu(x float64) float64 {
	if x < -geluTail {
		return 0
	}
	return 0.5 * x * math.Erfc(-x*sqrtHalf)
}

// geluGrad returns Φ(x) + x·φ(x).
func geluGrad(x float64) float64 {
	switch {
	case x > geluTail:
		return 1
	case x < -geluTail:
		return 0
	}
	return 0.5*math.Erfc(-x*sqrtHalf) + x*invSqrt2Pi*expFast(-0.5*x*x)
}

// geluTanh returns 0.5x(1+tanh(u)) as x·σ(2u), since 1+tanh(u) = 2σ(2u) does not cancel for
// negative x.
func geluTanh(x float64) float64 {
	if x < -geluTail {
		return 0
	}
	u := sqrt2OverPi * (x + geluTanhC*x*x*x)
	return x * sigmoid(2*u)
}

// geluTanhGrad returns σ(2u) + x·2σ'(2u)·u' with u' = √(2/π)(1+3·0.044715x²).
func geluTanhGrad(x float64) float64 {
	switch {
	case x > geluTail:
		return 1
	case x < -geluTail:
		return 0
	}
	x2 := x * x
	z := 2 * sqrt2OverPi * (x + geluTanhC*x2*x)
	e, r, s := logistic(z)
	return s + x*2*e*r*r*sqrt2OverPi*(1+3*geluTanhC*x2)
}

// silu returns x·σ(x).
func silu(x float64) float64 {
	if x < siluLowTail {
		return 0
	}
	return x * sigmoid(x)
}

// siluGrad returns σ(x)·(1 + x·σ(-x)).
func siluGrad(x float64) float64 {
	switch {
	case x > geluTail:
		return 1
	case x < siluLowTail:
		return 0
	}
	e, r, s := logistic(x)
	return s * (1 + x*pickNeg(x, r, e*r)) // σ(x)·(1 + x·σ(-x))
}

// softplus returns log(1+exp(x)) as max(x,0) + log1p(exp(-|x|)), exact at both tails (PyTorch
// switches to x above 20 instead, which is off by up to 2e-9 absolute).
func softplus(x float64) float64 {
	m := x
	if x < 0 {
		m = 0
	}
	return m + math.Log1p(expFast(-math.Abs(x)))
}

// expFast is exp(x) for the kernels' hot loops. It is the usual table method (x = (64m+j)·ln2/64 + r,
// exp(x) = 2^m · 2^(j/64) · exp(r), |r| <= ln2/128, exp(r)-1 by a degree-5 Taylor polynomial) and
// is within 2 ulp of math.Exp (0.2 ulp on average) while costing a sigmoid loop a third less time
// than math.Exp, an assembly call with a long dependency chain on amd64. Arguments outside (-708, 709), where the
// result would be subnormal or overflow, and NaN go to math.Exp.
func expFast(x float64) float64 {
	if x > expFastMin && x < expFastMax {
		return expRecon(expReduce(x))
	}
	return math.Exp(x)
}

const (
	expFastMin = -708 // above this exp(x) is a normal float64
	expFastMax = 709  // below this it does not overflow
	expZero    = -746 // below this math.Exp gives 0 (exp(x) is under half the smallest subnormal)
)

// expArg and expReconKeep make the exp of a logit minus its row's max (d <= 0, or NaN) free of any
// branch that depends on how far below expFastMin d is. A loop writes
//
//	rd, k, keep, sub := expArg(d)
//	e := expReconKeep(rd, k, keep)
//	if sub {
//		e = math.Exp(d) // a subnormal result
//	}
//
// which is expFast(d): below expZero, where math.Exp gives 0, the argument is replaced by 0 and
// the result masked to 0, so the logits of a diverged row, far below the max, take no branch to
// math.Exp that would be mispredicted as often as they come at random (the softmax cross-entropy
// was 1.8x slower on such rows); sub is true only in [expZero, expFastMin], one comparison of
// d's bits. Both inline, and the pattern is written out in each loop, as the softmax's loops
// write expRecon(expReduce(d)) out: a function holding it would not inline.
func expArg(d float64) (r float64, k, keep uint64, sub bool) {
	b := math.Float64bits(d)
	if !(d < expZero) { // NaN too
		keep = ^uint64(0)
	}
	r, k = expReduce(math.Float64frombits(b & keep))
	// On the bits of negative floats a larger magnitude is a larger number.
	const lo, hi = uint64(0xc086200000000000), uint64(0xc087500000000000) // expFastMin, expZero
	return r, k, keep, b-lo <= hi-lo
}

// expReconKeep is expRecon(r, k) where keep is all ones and +0 where it is 0 (expArg): the mask
// clears 2^(k/64), which is built in an integer register anyway, and r is then 0.
func expReconKeep(r float64, k, keep uint64) float64 {
	q := r * (1 + r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120)))))
	s := math.Float64frombits((exp2Table[k&63] + (k>>6)<<52) & keep)
	return s + s*q
}

// expReduce splits x into k = round(64x/ln2) (as two's complement bits) and r = x - k·ln2/64.
// It and expRecon are separate so that each is small enough to be inlined: expFast as a whole is
// not, and the softmax's loops over short rows write expRecon(expReduce(d)) out, with math.Exp
// for d <= expFastMin, to save a call per element (10%). Both pass NaN through as NaN.
func expReduce(x float64) (r float64, k uint64) {
	const (
		shift    = 0x1.8p52              // adding it rounds to an integer held in the low mantissa bits
		invLn2   = 92.332482616893656877 // 64/ln2
		ln2o64Hi = 0x1.62e42fep-7        // ln2/64 with the low 24 bits clear, so kf·ln2o64Hi is exact
		ln2o64Lo = 0x1.f473de6af278fp-36
	)
	t := x*invLn2 + shift
	kf := t - shift
	return (x - kf*ln2o64Hi) - kf*ln2o64Lo, math.Float64bits(t) - math.Float64bits(shift)
}

// expRecon returns 2^(k/64)·exp(r).
func expRecon(r float64, k uint64) float64 {
	q := r * (1 + r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120)))))
	s := math.Float64frombits(exp2Table[k&63] + (k>>6)<<52) // 2^(j/64) with m added to the exponent
	return s + s*q
}

// exp2Table holds the bits of 2^(j/64), j = 0..63, correctly rounded (computed with 60-digit
// decimal arithmetic).
var exp2Table = [64]uint64{
	0x3ff0000000000000, 0x3ff02c9a3e778061, 0x3ff059b0d3158574, 0x3ff0874518759bc8,
	0x3ff0b5586cf9890f, 0x3ff0e3ec32d3d1a2, 0x3ff11301d0125b51, 0x3ff1429aaea92de0,
	0x3ff172b83c7d517b, 0x3ff1a35beb6fcb75, 0x3ff1d4873168b9aa, 0x3ff2063b88628cd6,
	0x3ff2387a6e756238, 0x3ff26b4565e27cdd, 0x3ff29e9df51fdee1, 0x3ff2d285a6e4030b,
	0x3ff306fe0a31b715, 0x3ff33c08b26416ff, 0x3ff371a7373aa9cb, 0x3ff3a7db34e59ff7,
	0x3ff3dea64c123422, 0x3ff4160a21f72e2a, 0x3ff44e086061892d, 0x3ff486a2b5c13cd0,
	0x3ff4bfdad5362a27, 0x3ff4f9b2769d2ca7, 0x3ff5342b569d4f82, 0x3ff56f4736b527da,
	0x3ff5ab07dd485429, 0x3ff5e76f15ad2148, 0x3ff6247eb03a5585, 0x3ff6623882552225,
	0x3ff6a09e667f3bcd, 0x3ff6dfb23c651a2f, 0x3ff71f75e8ec5f74, 0x3ff75feb564267c9,
	0x3ff7a11473eb0187, 0x3ff7e2f336cf4e62, 0x3ff82589994cce13, 0x3ff868d99b4492ed,
	0x3ff8ace5422aa0db, 0x3ff8f1ae99157736, 0x3ff93737b0cdc5e5, 0x3ff97d829fde4e50,
	0x3ff9c49182a3f090, 0x3ffa0c667b5de565, 0x3ffa5503b23e255d, 0x3ffa9e6b5579fdbf,
	0x3ffae89f995ad3ad, 0x3ffb33a2b84f15fb, 0x3ffb7f76f2fb5e47, 0x3ffbcc1e904bc1d2,
	0x3ffc199bdd85529c, 0x3ffc67f12e57d14b, 0x3ffcb720dcef9069, 0x3ffd072d4a07897c,
	0x3ffd5818dcfba487, 0x3ffda9e603db3285, 0x3ffdfc97337b9b5f, 0x3ffe502ee78b3ff6,
	0x3ffea4afa2a490da, 0x3ffefa1bee615a27, 0x3fff50765b6e4540, 0x3fffa7c1819e90d8,
}
