package kernels

import "math"

// Float32 fast paths. The twins compute in float64, which is exact but costs a float64 exp per
// element; for float32 buffers, sigmoid (the activation of the 16M-element benchmark and of every
// logistic output) and the row softmax (softmax.go) get a float32 exp instead: Cody-Waite range
// reduction and Cephes' degree-6 polynomial, within 2 ulp of the correctly rounded float32
// result. Arguments whose exp would leave the normal float32 range (and NaN) go through the
// float64 path, so the extremes stay exact. Each element's result depends only on that element,
// so any split of a slice gives the same bits.
//
// The Go code here is the reference of the AVX2 loops in act_amd64.s, which repeat it operation
// for operation and must give the same bits (act_asm_test.go). Every product that is followed by
// an addition is converted to float32 explicitly: the conversion forbids the compiler to fuse the
// two into an FMA (which it does at GOAMD64=v3 and on arm64), so the rounding, and the bits, are
// the same on every platform and at every GOAMD64 level.

const (
	exp32Min = -87.33 // exp(x) stays a normal float32 above this
	log2e32  = float32(1.44269504088896341)
	ln2Hi32  = float32(0.693359375)
	ln2Lo32  = float32(-2.12194440e-4)
)

// exp32 returns exp(a+lo) for exp32Min < a <= 0 (callers check the range), where lo is a
// correction far below a's last bit (0 for a plain exp; the rounding error of a difference for
// the softmax). lo joins the reduced argument, where it is not lost.
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

// sigmoid32 fills dst with σ(x) for float32 slices of equal length: blocks of 8 in assembly where
// there is one (act_amd64.go), each block that holds an argument for the exact path and the
// tail in Go. Both give sigmoid32Go's bits.
func sigmoid32(dst, x []float32) {
	dst = dst[:len(x)]
	if useActAsm {
		for len(x) >= 8 {
			k := sigmoid32AVX2(&dst[0], &x[0], len(x)&^7)
			dst, x = dst[k:], x[k:]
			if len(x) < 8 {
				break
			}
			sigmoid32Go(dst[:8], x[:8]) // the block the assembly stopped at
			dst, x = dst[8:], x[8:]
		}
	}
	sigmoid32Go(dst, x)
}

// sigmoid32Go is the Go loop of sigmoid32.
func sigmoid32Go(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		a := -math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) // -|v|
		if !(a > exp32Min) {
			dst[i] = float32(sigmoid(float64(v))) // tiny exp or NaN: the exact path
			continue
		}
		e := exp32(a, 0)
		r := 1 / (1 + e)
		// σ(v) = e·r for v < 0, else r: selected with the sign bit, not a branch (random signs
		// would mispredict half the time).
		m := uint32(int32(math.Float32bits(v)) >> 31)
		dst[i] = math.Float32frombits(math.Float32bits(r)&^m | math.Float32bits(e*r)&m)
	}
}
