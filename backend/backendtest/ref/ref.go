// Package ref holds the float64 references of the layer and loss ops, written once from their
// definitions (PyTorch's semantics) as plain loops, independently of the twins of package
// kernels, and the central-difference gradient every backward is checked against. The
// conformance suite (package backendtest), the twins' tests (package kernels) and the graph ops'
// tests (package models/nn) all read these, so that a definition is restated nowhere else. It
// imports nothing of this module but kernels, whose enums and geometry types only name the op and
// carry its sizes here; the external tests of kernels can therefore import it.
package ref

import (
	"math"

	"github.com/gotrain/gotrain/kernels"
)

// CentralDiff returns the gradient of f at x by central differences with step h: element i is
// (f(x+h·eᵢ) - f(x-h·eᵢ))/2h. f gets a scratch copy of x (restored exactly after each element),
// so x itself is never modified.
func CentralDiff(x []float64, h float64, f func(x []float64) float64) []float64 {
	g := make([]float64, len(x))
	xx := append([]float64(nil), x...)
	for i := range xx {
		xx[i] = x[i] + h
		fp := f(xx)
		xx[i] = x[i] - h
		fm := f(xx)
		xx[i] = x[i]
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

// CentralDiffElementwise returns f'(x) element by element for an elementwise f (dst[i] depends
// on x[i] only), by central differences with step h: f runs twice, on x+h and on x-h in every
// element at once, as one call over the whole slice (so the vectorised path is the one
// differenced), and element i is (f(x+h)ᵢ - f(x-h)ᵢ)/2h. It is CentralDiff of Σf without the
// rounding of that sum.
func CentralDiffElementwise(x []float64, h float64, f func(dst, x []float64)) []float64 {
	xp, xm := make([]float64, len(x)), make([]float64, len(x))
	for i, v := range x {
		xp[i], xm[i] = v+h, v-h
	}
	fp, fm := make([]float64, len(x)), make([]float64, len(x))
	f(fp, xp)
	f(fm, xm)
	g := make([]float64, len(x))
	for i := range g {
		g[i] = (fp[i] - fm[i]) / (2 * h)
	}
	return g
}

// Sigmoid is 1/(1+e^-x), written so that neither branch overflows.
func Sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// geluTanhC is sqrt(2/π), the constant of the tanh approximation of GELU.
var geluTanhC = math.Sqrt(2 / math.Pi)

const geluTanhK = 0.044715

// Act returns f(x) for the activation with parameter alpha (LeakyReLU's slope, ELU's scale),
// in forms that keep their relative accuracy in both tails: no exp that overflows, no 1+tanh or
// e^x-1 that cancels.
func Act(act kernels.Activation, alpha, x float64) float64 {
	switch act {
	case kernels.Identity:
		return x
	case kernels.Sigmoid:
		return Sigmoid(x)
	case kernels.Tanh:
		return math.Tanh(x)
	case kernels.ReLU:
		return math.Max(x, 0)
	case kernels.LeakyReLU:
		if x > 0 {
			return x
		}
		return alpha * x
	case kernels.ELU:
		if x > 0 {
			return x
		}
		return alpha * math.Expm1(x)
	case kernels.GELU:
		// x·Φ(x) with Φ(x) = (1+erf(x/√2))/2, written with erfc so that large negative x keeps
		// its relative accuracy.
		return 0.5 * x * math.Erfc(-x/math.Sqrt2)
	case kernels.GELUTanh:
		// 0.5·(1+tanh u) is σ(2u), which does not cancel for x < 0.
		return x * Sigmoid(2*geluTanhC*(x+geluTanhK*x*x*x))
	case kernels.SiLU:
		return x * Sigmoid(x)
	case kernels.Softplus:
		return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
	}
	panic("ref: no reference for " + act.String()) // a new activation needs a reference here
}

// ActDeriv returns f'(x) for the activation with parameter alpha, as accurate in the tails as
// Act: σ(x)·σ(-x) rather than σ(1-σ), 1/cosh² rather than 1-tanh².
func ActDeriv(act kernels.Activation, alpha, x float64) float64 {
	switch act {
	case kernels.Identity:
		return 1
	case kernels.Sigmoid:
		return Sigmoid(x) * Sigmoid(-x)
	case kernels.Tanh:
		c := math.Cosh(x)
		return 1 / (c * c)
	case kernels.ReLU:
		if x > 0 {
			return 1
		}
		return 0
	case kernels.LeakyReLU:
		if x > 0 {
			return 1
		}
		return alpha
	case kernels.ELU:
		if x > 0 {
			return 1
		}
		return alpha * math.Exp(x)
	case kernels.GELU:
		return 0.5*math.Erfc(-x/math.Sqrt2) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
	case kernels.GELUTanh:
		u := geluTanhC * (x + geluTanhK*x*x*x)
		du := geluTanhC * (1 + 3*geluTanhK*x*x)
		c := math.Cosh(u)
		return Sigmoid(2*u) + 0.5*x*du/(c*c)
	case kernels.SiLU:
		s := Sigmoid(x)
		return s + x*s*Sigmoid(-x)
	case kernels.Softplus:
		return Sigmoid(x)
	}
	panic("ref: no reference for " + act.String())
}

// Softmax returns the row softmax of x [rows, cols] (log-softmax when log), subtracting the row
// max first; the log is x - max - log Σe^(x-max), not the log of a rounded probability.
func Softmax(log bool, x []float64, rows, cols int) []float64 {
	out := make([]float64, rows*cols)
	for r := range rows {
		row := x[r*cols : (r+1)*cols]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, v)
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(v - m)
		}
		for c, v := range row {
			if log {
				out[r*cols+c] = v - m - math.Log(s)
			} else {
				out[r*cols+c] = math.Exp(v-m) / s
			}
		}
	}
	return out
}

// SoftmaxGrad returns dx given the forward output y: the vector-Jacobian product of
// ∂p_i/∂x_j = p_i(δ_ij - p_j), which is y·(dy - Σdy·y) for softmax, and of
// ∂log p_i/∂x_j = δ_ij - p_j, which is dy - exp(y)·Σdy for log-softmax.
func SoftmaxGrad(log bool, y, dy []float64, rows, cols int) []float64 {
	out := make([]float64, rows*cols)
	for r := range rows {
		ys, dys := y[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols]
		s := 0.0
		for c := range cols {
			if log {
				s += dys[c]
			} else {
				s += dys[c] * ys[c]
			}
		}
		for c := range cols {
			if log {
				out[r*cols+c] = dys[c] - math.Exp(ys[c])*s
			} else {
				out[r*cols+c] = ys[c] * (dys[c] - s)
			}
		}
	}
	return out
}

// Loss returns the mean loss of logits x against targets y [rows, cols] from the textbook
// definitions (PyTorch's CrossEntropyLoss with probability targets, BCEWithLogitsLoss, MSELoss;
// reduction "mean"), in stable forms: cross-entropy through the log-softmax, BCE as
// max(x,0) - x·y + log(1+e^-|x|).
func Loss(kind kernels.Loss, x, y []float64, rows, cols int) float64 {
	s := 0.0
	switch kind {
	case kernels.SoftmaxCrossEntropy:
		ls := Softmax(true, x, rows, cols)
		for i := range ls {
			if y[i] != 0 {
				s -= y[i] * ls[i]
			}
		}
		return s / float64(rows)
	case kernels.BCEWithLogits:
		for i, v := range x {
			s += math.Max(v, 0) - v*y[i] + math.Log1p(math.Exp(-math.Abs(v)))
		}
	case kernels.MSE:
		for i, v := range x {
			s += (v - y[i]) * (v - y[i])
		}
	default:
		panic("ref: no reference for " + kind.String())
	}
	return s / float64(rows*cols)
}

// LossGrad returns dloss·∂Loss/∂x. For cross-entropy that is (softmax(x)·Σy - y)/rows, which is
// softmax(x) - y per row when the targets are a distribution.
func LossGrad(kind kernels.Loss, x, y []float64, dloss float64, rows, cols int) []float64 {
	out := make([]float64, len(x))
	switch kind {
	case kernels.SoftmaxCrossEntropy:
		p := Softmax(false, x, rows, cols)
		for r := range rows {
			sy := 0.0
			for c := range cols {
				sy += y[r*cols+c]
			}
			for c := range cols {
				i := r*cols + c
				out[i] = dloss * (p[i]*sy - y[i]) / float64(rows)
			}
		}
	case kernels.BCEWithLogits:
		for i, v := range x {
			out[i] = dloss * (Sigmoid(v) - y[i]) / float64(rows*cols)
		}
	case kernels.MSE:
		for i, v := range x {
			out[i] = dloss * 2 * (v - y[i]) / float64(rows*cols)
		}
	default:
		panic("ref: no reference for " + kind.String())
	}
	return out
}

// MaxAbs returns the largest |x| (0 for an empty x): the scale of a reference result, for
// tolerances.
func MaxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}

// convTaps calls tap for every term of the definition of conv (y[yi] += w[wk] · x[xi]), output
// by output in NCHW order and, within an output, over (c, p, q): the one loop nest Conv and
// ConvGrads share.
func convTaps(g kernels.Conv2D, tap func(yi, xi, wk int)) {
	oh, ow := g.OutH(), g.OutW()
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.OutC; o++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					yi := ((n*g.OutC+o)*oh+i)*ow + j
					for c := 0; c < g.C; c++ {
						for p := 0; p < g.KH; p++ {
							for q := 0; q < g.KW; q++ {
								h, v := i*g.StrideH-g.PadH+p*g.DilH, j*g.StrideW-g.PadW+q*g.DilW
								if h < 0 || h >= g.H || v < 0 || v >= g.W {
									continue
								}
								tap(yi, ((n*g.C+c)*g.H+h)*g.W+v, ((o*g.C+c)*g.KH+p)*g.KW+q)
							}
						}
					}
				}
			}
		}
	}
}

// Conv returns y = conv(x, w) and the scale Σ|w|·|x| of each output's terms (its largest), for
// tolerances.
func Conv(g kernels.Conv2D, x, w []float64) (y []float64, scale float64) {
	y = make([]float64, g.YLen())
	a := make([]float64, len(y))
	convTaps(g, func(yi, xi, wk int) {
		t := w[wk] * x[xi]
		y[yi] += t
		a[yi] += math.Abs(t)
	})
	return y, MaxAbs(a)
}

// ConvGrads returns the gradients of ⟨dy, conv(x, w)⟩ with respect to x and w, and the scale of
// their terms.
func ConvGrads(g kernels.Conv2D, x, w, dy []float64) (dx, dw []float64, scale float64) {
	dx, dw = make([]float64, len(x)), make([]float64, len(w))
	adx, adw := make([]float64, len(x)), make([]float64, len(w))
	convTaps(g, func(yi, xi, wk int) {
		d := dy[yi]
		dx[xi] += w[wk] * d
		dw[wk] += x[xi] * d
		adx[xi] += math.Abs(w[wk] * d)
		adw[wk] += math.Abs(x[xi] * d)
	})
	return dx, dw, math.Max(MaxAbs(adx), MaxAbs(adw))
}

// Pool returns pool(x) and the gradient of ⟨dy, pool(x)⟩: each window scans its elements
// inside the image in row-major order (max keeps the first largest, or the first NaN) or averages
// them over the kernel area (over the elements inside with ExcludePad).
func Pool(g kernels.Pool2D, x, dy []float64) (y, dx []float64) {
	oh, ow := g.OutH(), g.OutW()
	y, dx = make([]float64, g.N*g.C*oh*ow), make([]float64, len(x))
	for pl := 0; pl < g.N*g.C; pl++ {
		base := pl * g.H * g.W
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				o := pl*oh*ow + i*ow + j
				var in []int
				for p := 0; p < g.KH; p++ {
					for q := 0; q < g.KW; q++ {
						h, v := i*g.StrideH-g.PadH+p, j*g.StrideW-g.PadW+q
						if h >= 0 && h < g.H && v >= 0 && v < g.W {
							in = append(in, base+h*g.W+v)
						}
					}
				}
				if g.Kind == kernels.MaxPool {
					best := in[0]
					for _, k := range in[1:] {
						if x[k] > x[best] || (math.IsNaN(x[k]) && !math.IsNaN(x[best])) {
							best = k
						}
					}
					y[o] = x[best]
					if dy != nil {
						dx[best] += dy[o]
					}
					continue
				}
				div := float64(g.KH * g.KW)
				if g.ExcludePad {
					div = float64(len(in))
				}
				s := 0.0
				for _, k := range in {
					s += x[k]
				}
				y[o] = s / div
				if dy != nil {
					for _, k := range in {
						dx[k] += dy[o] / div
					}
				}
			}
		}
	}
	return y, dx
}

// BatchNorm returns batch normalisation's output, updated running statistics, and the
// gradients of ⟨dy, y⟩ with respect to x and γ (dβ is Σdy), from the definitions: in training
// y = (x−μ)/√(σ²+ε)·γ + β with the batch's μ and biased σ², running statistics updated with the
// unbiased variance; in evaluation μ and σ² are the running statistics. The training input
// gradient is the textbook dx = γ/(M·σ̂)·(M·dy − Σdy − x̂·Σ(dy·x̂)).
func BatchNorm(b kernels.BatchNorm, x, gamma, beta, rm, rv, dy []float64) (y, nrm, nrv, dx, dg []float64) {
	y, dx = make([]float64, len(x)), make([]float64, len(x))
	nrm, nrv, dg = append([]float64(nil), rm...), append([]float64(nil), rv...), make([]float64, b.C)
	m := float64(b.N * b.Inner)
	idx := func(n, c, i int) int { return (n*b.C+c)*b.Inner + i }
	for c := 0; c < b.C; c++ {
		mean, ss := 0.0, 0.0
		for n := 0; n < b.N; n++ {
			for i := 0; i < b.Inner; i++ {
				mean += x[idx(n, c, i)]
			}
		}
		mean /= m
		for n := 0; n < b.N; n++ {
			for i := 0; i < b.Inner; i++ {
				d := x[idx(n, c, i)] - mean
				ss += d * d
			}
		}
		mu, va := mean, ss/m
		if !b.Train {
			mu, va = rm[c], rv[c]
		} else {
			nrm[c] = (1-b.Momentum)*rm[c] + b.Momentum*mean
			nrv[c] = (1-b.Momentum)*rv[c] + b.Momentum*ss/(m-1)
		}
		sd := math.Sqrt(va + b.Eps)
		sdy, sdyx := 0.0, 0.0
		for n := 0; n < b.N; n++ {
			for i := 0; i < b.Inner; i++ {
				k := idx(n, c, i)
				xh := (x[k] - mu) / sd
				y[k] = xh*gamma[c] + beta[c]
				if dy != nil {
					sdy += dy[k]
					sdyx += dy[k] * xh
				}
			}
		}
		if dy == nil {
			continue
		}
		dg[c] = sdyx
		for n := 0; n < b.N; n++ {
			for i := 0; i < b.Inner; i++ {
				k := idx(n, c, i)
				if b.Train {
					xh := (x[k] - mu) / sd
					dx[k] = gamma[c] / (m * sd) * (m*dy[k] - sdy - xh*sdyx)
				} else {
					dx[k] = gamma[c] / sd * dy[k]
				}
			}
		}
	}
	return y, nrm, nrv, dx, dg
}
