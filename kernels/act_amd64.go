//go:build amd64 && !purego

package kernels

import "github.com/gotrain/gotrain/backend/cpu/cpufeat"

// level is the instruction level the float32 loops run at: cpufeat's, read on every call so
// that tests can compare levels in one process.
func level() cpufeat.Level { return cpufeat.Current() }

// The float32 activation loops with their assembly: AVX2 (act_amd64.s) does whole blocks of 8
// and leaves the tail to Go, AVX-512 (act512_amd64.s) does every element, the tail with a mask.
var (
	sigmoidFwd = unary32{sigmoid32Go, sigmoidAVX2, sigmoid512}
	tanhFwd    = unary32{tanh32Go, tanhAVX2, tanh512}
	reluFwd    = unary32{relu32Go, reluAVX2, relu512}
	sigmoidBwd = binary32{sigmoidGrad32Go, sigmoidGradAVX2, sigmoidGrad512}
	tanhBwd    = binary32{tanhGrad32Go, tanhGradAVX2, tanhGrad512}
	reluBwd    = binary32{reluGrad32Go, reluGradAVX2, reluGrad512}
)

// The loops: dst = f(x), or dx = dy·f'(x), over n elements (a multiple of 8 for AVX2).

//go:noescape
func sigmoidAVX2(dst, x *float32, n int)

//go:noescape
func tanhAVX2(dst, x *float32, n int)

//go:noescape
func reluAVX2(dst, x *float32, n int)

//go:noescape
func sigmoidGradAVX2(dx, x, dy *float32, n int)

//go:noescape
func tanhGradAVX2(dx, x, dy *float32, n int)

//go:noescape
func reluGradAVX2(dx, x, dy *float32, n int)

//go:noescape
func sigmoid512(dst, x *float32, n int)

//go:noescape
func tanh512(dst, x *float32, n int)

//go:noescape
func relu512(dst, x *float32, n int)

//go:noescape
func sigmoidGrad512(dx, x, dy *float32, n int)

//go:noescape
func tanhGrad512(dx, x, dy *float32, n int)

//go:noescape
func reluGrad512(dx, x, dy *float32, n int)

// softmax32AVX2 computes softmax32Row for the rows of the [rows, cols] matrix x (cols > 0), and
// returns how many it did: rows, or the index of the first row with a subnormal probability (a
// difference from the row max in (-104, exp32Min]), which it leaves, unwritten, to the caller.
//
//go:noescape
func softmax32AVX2(dst, x *float32, rows, cols int) int

// softmax512 computes softmax32Row for every row of the [rows, cols] matrix x (cols > 0).
//
//go:noescape
func softmax512(dst, x *float32, rows, cols int)

// siluMulAVX2 and siluMul512 are silu32's product under FTZ/DAZ (act_amd64.s, act512_amd64.s):
// dst = x·s, +0 where x < lo.
//
//go:noescape
func siluMulAVX2(dst, x, s *float32, n int, lo float32)

//go:noescape
func siluMul512(dst, x, s *float32, n int, lo float32)

// siluMul computes silu32's product for the first k elements in assembly and returns k (0 below
// AVX2); silu32's Go loop, their twin, does the rest.
func siluMul(dst, x, s []float32) int {
	n := len(x)
	switch l := level(); {
	case n == 0 || l < cpufeat.AVX2:
		return 0
	case l >= cpufeat.AVX512:
		siluMul512(&dst[0], &x[0], &s[0], n, exp32Min)
		return n
	}
	if n &^= 7; n > 0 {
		siluMulAVX2(&dst[0], &x[0], &s[0], n, exp32Min)
	}
	return n
}

// sigmoidDirect is sigmoidFwd.run with the assembly called directly rather than through a func
// value, so that dst and x do not escape (callers pass arrays on their stack).
func sigmoidDirect(dst, x []float32) {
	dst = dst[:len(x)]
	switch l := level(); {
	case len(x) == 0:
		return
	case l >= cpufeat.AVX512:
		sigmoid512(&dst[0], &x[0], len(x))
		return
	case l >= cpufeat.AVX2:
		if n := len(x) &^ 7; n > 0 {
			sigmoidAVX2(&dst[0], &x[0], n)
			dst, x = dst[n:], x[n:]
		}
	}
	sigmoid32Go(dst, x)
}
