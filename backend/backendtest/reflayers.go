package backendtest

import (
	"math"

	"github.com/gotrain/gotrain/kernels"
)

// References for the layer ops, written from their definitions (PyTorch's semantics) as plain
// loops in float64, independent of the twins of package kernels. The geometry types of kernels
// only carry the sizes here.

// refConv returns y = conv(x, w) and the scale Σ|w|·|x| of each output's terms (its largest), for
// tolerances.
func refConv(g kernels.Conv2D, x, w []float64) (y []float64, scale float64) {
	oh, ow := g.OutH(), g.OutW()
	y = make([]float64, g.N*g.OutC*oh*ow)
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.OutC; o++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					s, a := 0.0, 0.0
					for c := 0; c < g.C; c++ {
						for p := 0; p < g.KH; p++ {
							for q := 0; q < g.KW; q++ {
								h, v := i*g.StrideH-g.PadH+p*g.DilH, j*g.StrideW-g.PadW+q*g.DilW
								if h < 0 || h >= g.H || v < 0 || v >= g.W {
									continue
								}
								t := w[((o*g.C+c)*g.KH+p)*g.KW+q] * x[((n*g.C+c)*g.H+h)*g.W+v]
								s += t
								a += math.Abs(t)
							}
						}
					}
					y[((n*g.OutC+o)*oh+i)*ow+j] = s
					scale = math.Max(scale, a)
				}
			}
		}
	}
	return y, scale
}

// refConvGrads returns the gradients of ⟨dy, conv(x, w)⟩ with respect to x and w, and the scale of
// their terms.
func refConvGrads(g kernels.Conv2D, x, w, dy []float64) (dx, dw []float64, scale float64) {
	oh, ow := g.OutH(), g.OutW()
	dx, dw = make([]float64, len(x)), make([]float64, len(w))
	adx, adw := make([]float64, len(x)), make([]float64, len(w))
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.OutC; o++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					d := dy[((n*g.OutC+o)*oh+i)*ow+j]
					for c := 0; c < g.C; c++ {
						for p := 0; p < g.KH; p++ {
							for q := 0; q < g.KW; q++ {
								h, v := i*g.StrideH-g.PadH+p*g.DilH, j*g.StrideW-g.PadW+q*g.DilW
								if h < 0 || h >= g.H || v < 0 || v >= g.W {
									continue
								}
								xi, wk := ((n*g.C+c)*g.H+h)*g.W+v, ((o*g.C+c)*g.KH+p)*g.KW+q
								dx[xi] += w[wk] * d
								dw[wk] += x[xi] * d
								adx[xi] += math.Abs(w[wk] * d)
								adw[wk] += math.Abs(x[xi] * d)
							}
						}
					}
				}
			}
		}
	}
	return dx, dw, math.Max(maxAbs(adx), maxAbs(adw))
}

// refPool returns pool(x) and the gradient of ⟨dy, pool(x)⟩: each window scans its elements
// inside the image in row-major order (max keeps the first largest, or the first NaN) or averages
// them over the kernel area (over the elements inside with ExcludePad).
func refPool(g kernels.Pool2D, x, dy []float64) (y, dx []float64) {
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

// refDropoutKeep is the dropout mask from its specification (kernels.Dropout's documentation):
// word i mod 4 of Philox4x32-10 at counter (⌊i/4⌋, step low, step high, stream) and key (seed
// low, seed high), top 24 bits compared with ⌊p·2²⁴⌋. Philox itself is checked against
// Random123's known answers in package kernels.
func refDropoutKeep(p float64, stream uint32, seed, step uint64, i int) bool {
	r := kernels.Philox4x32([4]uint32{uint32(i / 4), uint32(step), uint32(step >> 32), stream}, [2]uint32{uint32(seed), uint32(seed >> 32)})
	return float64(r[i%4]>>8) >= math.Floor(p*(1<<24))
}

// refBatchNorm returns batch normalisation's output, updated running statistics, and the
// gradients of ⟨dy, y⟩ with respect to x and γ (dβ is Σdy), from the definitions: in training
// y = (x−μ)/√(σ²+ε)·γ + β with the batch's μ and biased σ², running statistics updated with the
// unbiased variance; in evaluation μ and σ² are the running statistics. The training input
// gradient is the textbook dx = γ/(M·σ̂)·(M·dy − Σdy − x̂·Σ(dy·x̂)).
func refBatchNorm(b kernels.BatchNorm, x, gamma, beta, rm, rv, dy []float64) (y, nrm, nrv, dx, dg []float64) {
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
