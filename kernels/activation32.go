package kernels

import (
	"math"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// Float32 fast paths. The twins compute in float64, which is exact but costs a float64 exp per
// element and a branch on the argument's range; for float32 buffers, the sigmoid and the tanh
// (forward and backward) get a float32 exp instead: Cody-Waite range reduction and Cephes'
// degree-6 polynomial, within 2 ulp of the correctly rounded float32 result, and the row softmax
// (softmax.go) too. ReLU's loops are the twins' own, written without branches. Each element's
// result depends only on that element, so any split of a slice gives the same bits.
//
// The time of these loops does not depend on the values (issue 19). exp32 is evaluated on an
// argument a <= 0 that is replaced by 0 where a < exp32Min or |a| < 2^-25, and its result is
// set to 0 where a < exp32Min: no lane ever computes with a subnormal (which on Zen 5 makes a
// vector addition with a subnormal result several times slower) and none takes another path
// (exp32 of |a| < 2^-25 rounds to 1, which exp32(0) gives without a's products, subnormal for a
// tiny a; the tanh's x² is guarded by the same bound).
// So exp(-|x|) below exp(-87.33) = 1.18e-38 is 0, where it was computed exactly in float64
// before: σ(x) for x < -87.33 is 0 instead of a subnormal or a number below 1.2e-38, and the
// same holds for σ'(x) and tanh'(x) (|x| > 43.67) and the saturated tanh (which is ±1 either
// way); a subnormal |x| gives exp32(0) = 1, which is what exp32 of it rounds to anyway. Every
// other result is what it was within the kernels' tolerance, NaN stays NaN and ±Inf give the
// limits. Selections are masks, not branches.
//
// The Go code here is the reference of the AVX2 loops of act_amd64.s and the AVX-512 loops of
// act512_amd64.s, which repeat it operation for operation and must give the same bits
// (act_asm_test.go). Every product that is followed by an addition is converted to float32
// explicitly: the conversion forbids the compiler to fuse the two into an FMA (which it does at
// GOAMD64=v3 and on arm64), so the rounding, and the bits, are the same on every platform, at
// every GOAMD64 level and at every instruction level.

const (
	exp32Min = -87.33 // exp(x) stays a normal float32 above this
	log2e32  = float32(1.44269504088896341)
	ln2Hi32  = float32(0.693359375)
	ln2Lo32  = float32(-2.12194440e-4)

	// tanhSmall32 is where the float32 tanh switches from Cephes' odd polynomial to the exp form
	// (Cephes' tanhf does the same): below it 1-e would cancel.
	tanhSmall32 = float32(0.625)

	minNormal32 = 0x00800000 // the bits of 2^-126
	signBit32   = 1 << 31
)

// exp32 returns exp(a+lo) for exp32Min < a <= 0 (callers keep to that range), where lo is a
// correction far below a's last bit (0 for a plain exp; the rounding error of a difference for
// the softmax). lo joins the reduced argument, where it is not lost. The result is a normal
// float32 (at least exp(-87.33)).
func exp32(a, lo float32) float32 {
	n := int32(float32(a*log2e32) - 0.5) // round to nearest for a <= 0 (truncation toward zero)
	fn := float32(n)
	r := a - float32(fn*ln2Hi32)
	r -= float32(fn * ln2Lo32)
	r += lo
	p := float32(1.9875691500e-4)
	p = float32(p*r) + 1.3981999507e-3
	p = float32(p*r) + 8.3334519073e-3
	p = float32(p*r) + 4.1665795894e-2
	p = float32(p*r) + 1.6666665459e-1
	p = float32(p*r) + 5.0000001201e-1
	e := float32(float32(p*r)*r) + r + 1
	return e * math.Float32frombits(uint32(n+127)<<23)
}

// flushSub returns e, or +0 if |e| is below 2^-126 (a subnormal); NaN is kept. It is the mask
// the assembly builds with a not-less-than comparison (true for NaN).
func flushSub(e float32) float32 {
	b := math.Float32bits(e)
	m := uint32(int32((b&^signBit32)-minNormal32) >> 31) // all ones when |e| < 2^-126
	return math.Float32frombits(b &^ m)
}

// signMask returns all ones when the sign bit of v is set (NaNs included), else 0.
func signMask(v float32) uint32 { return uint32(int32(math.Float32bits(v)) >> 31) }

// negAbs returns -|v| (a NaN gets its sign bit set).
func negAbs(v float32) float32 { return math.Float32frombits(math.Float32bits(v) | signBit32) }

// expNeg returns exp(a) for a <= 0 or NaN (which it keeps): 0 for a < exp32Min, exp32(0) = 1
// for |a| < 2^-25 (what exp32(a) rounds to there, without its products of a, which are
// subnormal for |a| below about 2^-63), else exp32(a). Both masks are bit tests on a, so there is no branch; the
// assembly builds them with two comparisons, a < exp32Min and a > -2^-126 (false for NaN).
func expNeg(a float32) float32 {
	b := math.Float32bits(a)
	// a's sign bit is set unless a is a NaN; on the bits of such floats a larger magnitude is a
	// larger number, and NaNs lie outside [bits(-0), bits(-Inf)].
	low := below(b, 0xff800001) &^ below(b, math.Float32bits(exp32Min)+1) // exp32Min > a >= -Inf
	tiny := below(b, 0xb3000000) &^ below(b, 0x80000000)                  // -2^-25 < a <= -0
	e := exp32(math.Float32frombits(b&^(low|tiny)), 0)
	return math.Float32frombits(math.Float32bits(e) &^ low)
}

// below returns all ones when b < c (unsigned), else 0.
func below(b, c uint32) uint32 { return uint32(int64(uint64(b)-uint64(c)) >> 63) }

// logistic32 returns e = exp(-|x|) (0 below exp(-87.33)) and r = 1/(1+e); σ(x) is e·r for x < 0
// and r otherwise.
func logistic32(v float32) (e, r float32) {
	e = expNeg(negAbs(v))
	return e, 1 / (1 + e)
}

// sigmoid32Go is the Go loop of sigmoid32.
func sigmoid32Go(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		e := expNeg(negAbs(v))
		// σ(v) = e/(1+e) for v < 0, else 1/(1+e): the numerator is selected with the sign bit,
		// not a branch (random signs would mispredict half the time), and one division rounds
		// once.
		m := signMask(v)
		num := math.Float32frombits(0x3f800000&^m | math.Float32bits(e)&m)
		dst[i] = num / (1 + e)
	}
}

// sigmoidGrad32Go sets dx = dy·σ'(x) with σ'(x) = e·r·r = σ(x)·σ(-x), symmetric in x and free of
// the cancellation of y(1-y).
func sigmoidGrad32Go(dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		e, r := logistic32(v)
		dx[i] = dy[i] * (e * r * r)
	}
}

// tanh32Go sets dst = tanh(x): for |x| < 0.625 Cephes' tanhf polynomial, x·(1 + z·P(z)) with
// z = x² (written as a product so that tanh(-0) = -0), within 1 ulp; above, (1-e)/(1+e) with
// e = exp(-2|x|) and the sign of x, which cannot overflow and is ±1 in the tails. A subnormal x
// gives ±0.
func tanh32Go(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = tanh32(v)
	}
}

func tanh32(v float32) float32 {
	// A subnormal x is replaced by ±0 before any arithmetic (tanh(x) = x there, so the result is
	// flushed to ±0): a multiplication with a subnormal operand is several times slower.
	b := math.Float32bits(v)
	b &^= below(b&^signBit32, minNormal32) &^ signBit32
	v = math.Float32frombits(b)
	ax := math.Float32frombits(b &^ signBit32)
	e := expNeg(-2 * ax)
	big := math.Float32frombits(math.Float32bits((1-e)/(1+e)) | b&signBit32)
	// z = x², from x taken as 0 where |x| < 2^-25: small is x there either way (z·P(z) + 1
	// rounds to 1), and x² would be subnormal below about 2^-63.
	vz := math.Float32frombits(b &^ below(b&^signBit32, 0x33000000))
	z := vz * vz
	p := float32(-5.70498872745e-3*z) + 2.06390887954e-2
	p = float32(p*z) - 5.37397155531e-2
	p = float32(p*z) + 1.33314422036e-1
	p = float32(p*z) - 3.33332819422e-1
	small := v * (float32(z*p) + 1)
	// ax < tanhSmall32 as a mask (false for NaN): a comparison of the non-negative bits.
	m := uint32(int32(math.Float32bits(ax)-math.Float32bits(tanhSmall32)) >> 31)
	return math.Float32frombits(math.Float32bits(small)&m | math.Float32bits(big)&^m)
}

// tanhGrad32Go sets dx = dy·sech²(x) with sech²(x) = 4e/(1+e)², e = exp(-2|x|): 1-tanh² would
// cancel for |x| > 1.
func tanhGrad32Go(dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		// |x| < 2^-126 is taken as 0 (tanh' is 1 there either way), for speed as in tanh32.
		ab := math.Float32bits(v) &^ signBit32
		ax := math.Float32frombits(ab &^ below(ab, minNormal32))
		e := expNeg(-2 * ax)
		r := 1 / (1 + e)
		dx[i] = dy[i] * (4 * e * r * r)
	}
}

// reluGrad32Go sets dx = dy·step(x): dy·1 for x > 0, dy·0 for x <= 0 (±0, or NaN for an
// infinite dy), dy·x for a NaN x, exactly the float64 twin's bits (the factor is exact), with
// the factor built from masks: random signs would mispredict a branch half the time.
func reluGrad32Go(dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		dx[i] = dy[i] * step32(v)
	}
}

// step32 returns 1 for v > 0, 0 for v <= 0 and v itself for a NaN, without a branch.
func step32(v float32) float32 {
	b := math.Float32bits(v)
	abs := b &^ signBit32
	nan := uint32(int32(0x7f800000-abs) >> 31)           // all ones for a NaN
	nonzero := uint32(-int32(uint32(-int32(abs)) >> 31)) // all ones for abs != 0
	pos := ^signMask(v) & nonzero &^ nan                 // v > 0
	return math.Float32frombits(0x3f800000&pos | b&nan)
}

// relu32Go sets dst = max(x, 0) as the twin does (-0 gives +0; a NaN keeps its payload with the
// sign cleared, which is what the compiler's -min(-x, -0) sequence gives and the assembly
// repeats).
func relu32Go(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = max(v, 0)
	}
}

// unary32 is a float32 loop dst = f(x) with its assembly variants (nil where there is none).
type unary32 struct {
	goLoop func(dst, x []float32)
	avx2   func(dst, x *float32, n int) // whole blocks of 8
	avx512 func(dst, x *float32, n int) // every element
}

// run picks the variant of the current level; all give goLoop's bits.
func (k *unary32) run(dst, x []float32) {
	dst = dst[:len(x)]
	switch l := level(); {
	case len(x) == 0:
		return
	case l >= cpufeat.AVX512 && k.avx512 != nil:
		k.avx512(&dst[0], &x[0], len(x))
		return
	case l >= cpufeat.AVX2 && k.avx2 != nil:
		if n := len(x) &^ 7; n > 0 {
			k.avx2(&dst[0], &x[0], n)
			dst, x = dst[n:], x[n:]
		}
	}
	k.goLoop(dst, x)
}

// binary32 is a float32 loop dx = dy·f'(x) with its assembly variants.
type binary32 struct {
	goLoop func(dx, x, dy []float32)
	avx2   func(dx, x, dy *float32, n int)
	avx512 func(dx, x, dy *float32, n int)
}

func (k *binary32) run(dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	switch l := level(); {
	case len(x) == 0:
		return
	case l >= cpufeat.AVX512 && k.avx512 != nil:
		k.avx512(&dx[0], &x[0], &dy[0], len(x))
		return
	case l >= cpufeat.AVX2 && k.avx2 != nil:
		if n := len(x) &^ 7; n > 0 {
			k.avx2(&dx[0], &x[0], &dy[0], n)
			dx, x, dy = dx[n:], x[n:], dy[n:]
		}
	}
	k.goLoop(dx, x, dy)
}

// sigmoid32 fills dst with σ(x) for float32 slices of equal length.
func sigmoid32(dst, x []float32) { sigmoidFwd.run(dst, x) }

// silu32 sets dst = x·σ(x) for float32 from the float32 sigmoid (sigmoidFwd, at the current
// level) in chunks of 256 on the stack, so dst may be x: within 4e-7 relative of float64 and with
// no value-dependent path. Below exp32Min the product is 0 (σ is flushed there; this also makes
// -Inf give 0 rather than -Inf·0 = NaN). An x below 2^-125 in magnitude, whose product with
// σ(x) = 1/2 is below 2^-126, is taken as a zero of its sign, the product then a zero of its
// sign, as under FTZ: a multiplication with a subnormal operand or result takes a microcode
// assist on the Intel Xeon (family 6 model 167), where half-subnormal inputs made this loop 11-12x
// slower (BenchmarkValues, silu-fwd). At AVX2 and AVX-512 the products are vector loops under
// FTZ/DAZ (siluMul), which give these bits; this loop does the rest.
func silu32(dst, x []float32) {
	var s [256]float32
	dst = dst[:len(x)]
	for len(x) > 0 {
		n := min(len(x), len(s))
		sigmoidDirect(s[:n], x[:n])
		k := siluMul(dst[:n], x[:n], s[:n]) // the same products in assembly, under FTZ/DAZ
		for i := k; i < n; i++ {
			v := x[i]
			b := math.Float32bits(v)
			low := below(b, 0xff800001) &^ below(b, math.Float32bits(exp32Min)+1) // exp32Min > v >= -Inf
			tiny := below(b&^signBit32, 0x01000000)                               // |v| < 2^-125
			v = math.Float32frombits(b &^ (tiny &^ signBit32))
			dst[i] = math.Float32frombits(math.Float32bits(v*s[i]) &^ low)
		}
		dst, x = dst[n:], x[n:]
	}
}

// softplusGrad32 sets dx = dy·σ(x) (softplus' derivative is the sigmoid) from the float32
// sigmoid, in chunks of 256 on the stack, so dx may be dy.
func softplusGrad32(dx, x, dy []float32) {
	var s [256]float32
	dx, dy = dx[:len(x)], dy[:len(x)]
	for len(x) > 0 {
		n := min(len(x), len(s))
		sigmoidDirect(s[:n], x[:n])
		for i, g := range dy[:n] {
			dx[i] = g * s[i]
		}
		dx, x, dy = dx[n:], x[n:], dy[n:]
	}
}
