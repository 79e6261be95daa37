package kernels

import "unsafe"

// RMSPropPlain is the loop of plain RMSProp (no momentum, not centered), which package optim's
// rmsprop runs for that configuration: with weight decay wd (L2),
//
//	g += wd·p;  v = a·v + ca·g²;  p -= lr·g/(√v + eps)
//
// The AVX2/AVX-512 loops of optim_amd64.s (rmspropVec) do the first elements (float32 only), bit
// for bit as the Go loop here, which finishes the rest. A float32 gradient or square average
// below 2^-126 is taken as 0, and so is a new square average: a diverging run's state holds about
// 1% of such values, and arithmetic on them made the vector loop 1.8x slower on Zen 5 (issue 19).
// The update does not change where eps >= 1e-12 (the square root of such a square average is
// far below half an ulp of eps); the state does, by less than 1.2e-38. float64 is not flushed.
func RMSPropPlain[T Float](p, g, sq []T, a, ca, eps, lr, wd T) {
	n := len(p)
	g, sq = g[:n], sq[:n]
	k := rmspropVec(p, g, sq, 1, wd, a, ca, eps, lr)
	p, g, sq = p[k:], g[k:n], sq[k:n]
	for i := range p {
		pi := p[i]
		gi := flushTiny(g[i]) + wd*pi
		s := flushTiny(a*flushTiny(sq[i]) + ca*gi*gi)
		sq[i] = s
		p[i] = pi - lr*gi/(SqrtT(s)+eps)
	}
}

// flushTiny returns x, or +0 if x is a float32 below 2^-126 in magnitude (float64 is kept).
func flushTiny[T Float](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(flushSub(float32(x)))
	}
	return x
}
