package kernels

import "math"

// Emulation in Go of the x86 MXCSR's flush-to-zero (FTZ) and denormals-are-zero (DAZ) modes, for
// the float32 twins of the assembly loops that run under them (plain RMSProp and so Adagrad, Adam,
// NAdam, SGD with and without momentum, Nesterov's included): on Zen 5 a
// vector operation with a subnormal operand or result is several times slower, and a diverging or
// saturated run's gradients are tiny enough (1e-20 squares to a subnormal) to hit that on most
// elements (issue 19). Under DAZ a subnormal operand is a zero of its sign; under FTZ a result
// that is tiny is a zero of its sign, tininess being decided after rounding to 24 bits with an
// unbounded exponent (checked on this hardware by TestRMSPropFTZEdges). Each helper is one
// instruction, with the assembly's operand order (which decides the NaN kept when two meet).

// adamFTZ is adamAVX2's and adam512's loop (AMSGrad when vmax != nil) under FTZ and DAZ:
//
//	pi = p·decay; gi = pi·wd + g; m = gi·c1 + m·b1; v = (gi·c2)·gi + v·b2; [vh = max(vmax, v)]
//	p = pi - (m·step) / (sqrt(vh)·invBC2 + eps)
func adamFTZ(p, g, m, v, vmax []float32, decay, wd, b1, c1, b2, c2, step, invBC2, eps float32) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	decay, wd, b1, c1, b2, c2 = daz(decay), daz(wd), daz(b1), daz(c1), daz(b2), daz(c2)
	step, invBC2, eps = daz(step), daz(invBC2), daz(eps)
	if vmax != nil {
		vmax = vmax[:n]
	}
	for i := range p {
		pi := mulFTZ(daz(p[i]), decay)
		gi := addFTZ(mulFTZ(pi, wd), daz(g[i]))
		mi := addFTZ(mulFTZ(gi, c1), mulFTZ(daz(m[i]), b1))
		vi := addFTZ(mulFTZ(mulFTZ(gi, c2), gi), mulFTZ(daz(v[i]), b2))
		m[i], v[i] = mi, vi
		vh := vi
		if vmax != nil {
			vh = max(daz(vmax[i]), vi)
			vmax[i] = vh
		}
		d := addFTZ(mulFTZ(float32(math.Sqrt(float64(vh))), invBC2), eps)
		p[i] = subFTZ(pi, divFTZ(mulFTZ(mi, step), d))
	}
}

// nadamFTZ is nadamAVX2's and nadam512's loop under FTZ and DAZ: Adam's moments as adamFTZ
// computes them, then
//
//	p = pi - (gi·cg + m·cm) / (sqrt(v·invBC2) + eps)
//
// which for operands and results that are not subnormal is the float64 loop of package optim's
// NAdam, the same values. On the Intel Xeon (family 6 model 167) that loop in float32 ran 47-49x
// slower on half-subnormal gradients and 8.5-9x on tiny ones (BenchmarkValues, step-nadam).
func nadamFTZ(p, g, m, v []float32, decay, wd, b1, c1, b2, c2, cg, invBC2, eps, cm float32) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	decay, wd, b1, c1, b2, c2 = daz(decay), daz(wd), daz(b1), daz(c1), daz(b2), daz(c2)
	cg, invBC2, eps, cm = daz(cg), daz(invBC2), daz(eps), daz(cm)
	for i := range p {
		pi := mulFTZ(daz(p[i]), decay)
		gi := addFTZ(mulFTZ(pi, wd), daz(g[i]))
		mi := addFTZ(mulFTZ(gi, c1), mulFTZ(daz(m[i]), b1))
		vi := addFTZ(mulFTZ(mulFTZ(gi, c2), gi), mulFTZ(daz(v[i]), b2))
		m[i], v[i] = mi, vi
		d := addFTZ(float32(math.Sqrt(float64(mulFTZ(vi, invBC2)))), eps)
		p[i] = subFTZ(pi, divFTZ(addFTZ(mulFTZ(gi, cg), mulFTZ(mi, cm)), d))
	}
}

// lionFTZ is lionAVX2's and lion512's loop under FTZ and DAZ:
//
//	c = sign(m·b1 + g·c1) (±1, a zero or a NaN kept);  p = p·decay - c·lr;  m = m·b2 + g·c2
//
// On the Intel Xeon (family 6 model 167) package optim's Go loop ran 12.6-12.8x slower on half-
// subnormal gradients (BenchmarkValues, step-lion).
func lionFTZ(p, g, m []float32, b1, c1, b2, c2, lr, decay float32) {
	n := len(p)
	g, m = g[:n], m[:n]
	b1, c1, b2, c2, lr, decay = daz(b1), daz(c1), daz(b2), daz(c2), daz(lr), daz(decay)
	for i := range p {
		mi, gi := daz(m[i]), daz(g[i])
		c := addFTZ(mulFTZ(mi, b1), mulFTZ(gi, c1))
		switch {
		case c > 0:
			c = 1
		case c < 0:
			c = -1
		}
		p[i] = subFTZ(mulFTZ(daz(p[i]), decay), mulFTZ(c, lr))
		m[i] = addFTZ(mulFTZ(mi, b2), mulFTZ(gi, c2))
	}
}

// adamaxFTZ is adamaxAVX2's and adamax512's loop under FTZ and DAZ:
//
//	gi = p·wd + g;  m = gi·c1 + m·b1;  u = max(u·b2, |gi| + eps);  p = p - (m/u)·clr
//
// On the Intel Xeon (family 6 model 167) package optim's Go loop ran 21-22x slower on half-
// subnormal gradients (BenchmarkValues, step-adamax).
func adamaxFTZ(p, g, m, u []float32, b1, c1, b2, eps, clr, wd float32) {
	n := len(p)
	g, m, u = g[:n], m[:n], u[:n]
	b1, c1, b2, eps, clr, wd = daz(b1), daz(c1), daz(b2), daz(eps), daz(clr), daz(wd)
	for i := range p {
		pi := daz(p[i])
		gi := addFTZ(mulFTZ(pi, wd), daz(g[i]))
		mi := addFTZ(mulFTZ(gi, c1), mulFTZ(daz(m[i]), b1))
		ui := max(mulFTZ(daz(u[i]), b2), addFTZ(abs32(gi), eps))
		m[i], u[i] = mi, ui
		p[i] = subFTZ(pi, mulFTZ(divFTZ(mi, ui), clr))
	}
}

// radamFTZ is radamAVX2's and radam512's loop under FTZ and DAZ: Adam's moments as adamFTZ
// computes them, then
//
//	rectified:  p = pi - (sbc2 / (sqrt(v) + eps))·(m·step);  else  p = pi - m·step
//
// On the Intel Xeon (family 6 model 167) package optim's Go loop ran 41-43x slower on half-
// subnormal gradients and 8x on tiny ones (BenchmarkValues, step-radam).
func radamFTZ(p, g, m, v []float32, decay, wd, b1, c1, b2, c2, step, sbc2, eps float32, rectified bool) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	decay, wd, b1, c1, b2, c2 = daz(decay), daz(wd), daz(b1), daz(c1), daz(b2), daz(c2)
	step, sbc2, eps = daz(step), daz(sbc2), daz(eps)
	for i := range p {
		pi := mulFTZ(daz(p[i]), decay)
		gi := addFTZ(mulFTZ(pi, wd), daz(g[i]))
		mi := addFTZ(mulFTZ(gi, c1), mulFTZ(daz(m[i]), b1))
		vi := addFTZ(mulFTZ(mulFTZ(gi, c2), gi), mulFTZ(daz(v[i]), b2))
		m[i], v[i] = mi, vi
		u := mulFTZ(mi, step)
		if rectified {
			u = mulFTZ(divFTZ(sbc2, addFTZ(float32(math.Sqrt(float64(vi))), eps)), u)
		}
		p[i] = subFTZ(pi, u)
	}
}

// nesterovFTZ is nesterovAVX2's and nesterov512's loop (SGD with Nesterov momentum, not the
// first step) under FTZ and DAZ:
//
//	pi = p·decay;  gi = pi·wd + g;  b = buf·mu + gi·damp;  buf = b;  p = pi - (b·mu + gi)·lr
//
// On the Intel Xeon (family 6 model 167) the Go loop without it ran 40-41x slower on a gradient
// half subnormal (BenchmarkValues, step-nesterov).
func nesterovFTZ(p, g, buf []float32, decay, wd, mu, damp, lr float32) {
	n := len(p)
	g, buf = g[:n], buf[:n]
	decay, wd, mu, damp, lr = daz(decay), daz(wd), daz(mu), daz(damp), daz(lr)
	for i := range p {
		pi := mulFTZ(daz(p[i]), decay)
		gi := addFTZ(mulFTZ(pi, wd), daz(g[i]))
		b := addFTZ(mulFTZ(daz(buf[i]), mu), mulFTZ(gi, damp))
		buf[i] = b
		p[i] = subFTZ(pi, mulFTZ(addFTZ(mulFTZ(b, mu), gi), lr))
	}
}

// sgdFTZ is sgdAVX2's and sgd512's loop (plain SGD) under FTZ and DAZ:
//
//	pi = p·decay;  p = pi - (pi·wd + g)·lr
//
// which for operands and results that are not subnormal is sgd's float64 loop, the same
// values. On the Intel Xeon (family 6 model 167) that loop ran 32x slower on a gradient half
// subnormal (BenchmarkValues, step-sgd).
func sgdFTZ(p, g []float32, decay, wd, lr float32) {
	n := len(p)
	g = g[:n]
	decay, wd, lr = daz(decay), daz(wd), daz(lr)
	for i := range p {
		pi := mulFTZ(daz(p[i]), decay)
		p[i] = subFTZ(pi, mulFTZ(addFTZ(mulFTZ(pi, wd), daz(g[i])), lr))
	}
}

// momentumFTZ is the loops of momentumAVX2, momentumDecayAVX2, momentum512 and momentumDecay512
// (SGD with momentum, neither Nesterov nor the first step) under FTZ and DAZ: plain (no weight
// decay, no decoupled decay)
//
//	b = buf·mu + g·damp;  buf = b;  p = p - b·lr
//
// else
//
//	pi = p·decay;  b = buf·mu + (pi·wd + g)·damp;  buf = b;  p = pi - b·lr
//
// On the Intel Xeon (family 6 model 167) the loops without FTZ and DAZ ran 33-52x slower on a
// gradient and momentum buffer half subnormal (BenchmarkValues, step-momentum) than on normal
// ones; Zen 5 had not shown it.
func momentumFTZ(p, g, buf []float32, decay, wd, mu, damp, lr float32, plain bool) {
	n := len(p)
	g, buf = g[:n], buf[:n]
	decay, wd, mu, damp, lr = daz(decay), daz(wd), daz(mu), daz(damp), daz(lr)
	if plain {
		for i := range p {
			b := addFTZ(mulFTZ(daz(buf[i]), mu), mulFTZ(daz(g[i]), damp))
			buf[i] = b
			p[i] = subFTZ(daz(p[i]), mulFTZ(b, lr))
		}
		return
	}
	for i := range p {
		pi := mulFTZ(daz(p[i]), decay)
		t := mulFTZ(addFTZ(mulFTZ(pi, wd), daz(g[i])), damp)
		b := addFTZ(mulFTZ(daz(buf[i]), mu), t)
		buf[i] = b
		p[i] = subFTZ(pi, mulFTZ(b, lr))
	}
}

const (
	minNorm32 = 0x1p-126
	// tinyEdge: an exact result below it in magnitude is tiny for the x86's FTZ, which decides
	// tininess after rounding to 24 bits with an unbounded exponent; one in [2^-126 - 2^-150,
	// tinyEdge) rounds to 2^-126 in float32 but is flushed.
	tinyEdge = 0x1p-126 - 0x1p-151
)

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// zeroOrSubnormal reports whether |x| < 2^-126: a zero, or an operand DAZ takes as a zero of its
// sign (the Go loops that flush test it on their loads; rare, so a branch costs nothing).
func zeroOrSubnormal(x float32) bool { return math.Float32bits(x)&0x7f800000 == 0 }

// zeroOf is a zero with the sign of x.
func zeroOf(x float32) float32 { return math.Float32frombits(math.Float32bits(x) & (1 << 31)) }

// daz is x as an operand under DAZ: a subnormal is a zero of its sign.
func daz(x float32) float32 {
	if abs32(x) < minNorm32 {
		return zeroOf(x)
	}
	return x
}

// addFTZ is x+y (operands not subnormal) under FTZ. A sum below 2^-126 is exact, so the float32
// sum is tiny exactly when FTZ finds it so.
func addFTZ(x, y float32) float32 { return ftzExact(x + y) }

// subFTZ is x-y as addFTZ (not addFTZ(x, -y): the negation would flip a NaN's sign).
func subFTZ(x, y float32) float32 { return ftzExact(x - y) }

// ftzExact flushes an exact result below 2^-126 to a zero of its sign.
func ftzExact(r float32) float32 {
	if abs32(r) < minNorm32 {
		return zeroOf(r)
	}
	return r
}

// mulFTZ is x·y (operands not subnormal) under FTZ; the product of two float32 is exact in
// float64, which decides the one case float32's rounding hides (a result rounded up to 2^-126).
func mulFTZ(x, y float32) float32 {
	r := x * y
	if a := abs32(r); a <= minNorm32 && (a < minNorm32 || math.Abs(float64(x)*float64(y)) < tinyEdge) {
		return zeroOf(r)
	}
	return r
}

// divFTZ is x/y (operands not subnormal) under FTZ. For a quotient rounded to ±2^-126 the exact
// one is compared with tinyEdge through the float64 quotient and, if that equals tinyEdge, the
// sign of the exact remainder |x| - q·|y| (one rounding in math.FMA keeps it).
func divFTZ(x, y float32) float32 {
	r := x / y
	if a := abs32(r); a <= minNorm32 && (a < minNorm32 || divTiny(x, y)) {
		return zeroOf(r)
	}
	return r
}

func divTiny(x, y float32) bool {
	ax, ay := math.Abs(float64(x)), math.Abs(float64(y))
	q := ax / ay
	if q != tinyEdge {
		return q < tinyEdge
	}
	return math.FMA(-q, ay, ax) < 0
}
