package kernels

import (
	"math"
	"unsafe"
)

// RMSPropPlain is the loop of plain RMSProp (no momentum, not centered), which package optim's
// rmsprop runs for that configuration: with weight decay wd (L2),
//
//	g += wd·p;  v = a·v + ca·g²;  p -= lr·g/(√v + eps)
//
// For float32 it computes as the x86 MXCSR's flush-to-zero and denormals-are-zero modes do:
// a subnormal operand is taken as a zero of its sign and a result below 2^-126 in magnitude
// becomes a zero of its sign. The AVX2/AVX-512 loops of optim_amd64.s (rmspropVec) run with
// those modes set and do the first elements; rmspropFTZ, their bit-for-bit twin, does the rest
// (and everything at the Generic level). Why: a diverging or saturated run's gradients are tiny
// (1e-20 squares to a subnormal), and a subnormal operand or result made the vector loops 2.7x
// (AVX-512) to 4.3x (AVX2) slower on Zen 5 (issue 19). What it changes: only values that pass
// below 1.2e-38 — the square average and the parameter move by less than that, and the step
// lr·g/d, flushed when it is below 1.2e-38, could not have moved a parameter larger than
// 2^-102 in magnitude. float64 is computed exactly.
func RMSPropPlain[T Float](p, g, sq []T, a, ca, eps, lr, wd T) {
	n := len(p)
	g, sq = g[:n], sq[:n]
	k := rmspropVec(p, g, sq, wd, a, ca, eps, lr)
	p, g, sq = p[k:], g[k:n], sq[k:n]
	if unsafe.Sizeof(a) == 4 {
		rmspropFTZ(as32(p), as32(g), as32(sq), float32(a), float32(ca), float32(eps), float32(lr), float32(wd))
		return
	}
	for i := range p {
		pi := p[i]
		gi := pi*wd + g[i]
		s := sq[i]*a + (gi*ca)*gi
		sq[i] = s
		p[i] = pi - (gi*lr)/(SqrtT(s)+eps)
	}
}

// as32 is s as a []float32 (T is float32).
func as32[T Float](s []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// rmspropFTZ is rmspropAVX2's loop in Go, each operation as under FTZ and DAZ, in its order and
// with its operand order (which decides the NaN kept when two meet).
func rmspropFTZ(p, g, sq []float32, a, ca, eps, lr, wd float32) {
	n := len(p)
	g, sq = g[:n], sq[:n]
	a, ca, eps, lr, wd = daz(a), daz(ca), daz(eps), daz(lr), daz(wd)
	for i := range p {
		pi := daz(p[i])
		gi := addFTZ(mulFTZ(pi, wd), daz(g[i]))
		s := addFTZ(mulFTZ(daz(sq[i]), a), mulFTZ(mulFTZ(gi, ca), gi))
		sq[i] = s
		d := addFTZ(float32(math.Sqrt(float64(s))), eps)
		p[i] = subFTZ(pi, divFTZ(mulFTZ(gi, lr), d))
	}
}
