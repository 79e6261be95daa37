package kernels

import (
	"fmt"
	"math"
	"slices"
)

// SGDParams are the per-step scalars of an SGD update (PyTorch's torch.optim.SGD):
//
//	g = grad + WeightDecay·p
//	buf = g                                   on the first step (FirstStep)
//	buf = Momentum·buf + (1-Dampening)·g      afterwards
//	g = Nesterov ? g + Momentum·buf : buf     when Momentum != 0
//	p -= LR·g
type SGDParams struct {
	LR, Momentum, Dampening, WeightDecay float64
	Nesterov, FirstStep                  bool
}

// AdamParams are the per-step scalars of an Adam/AdamW update (torch.optim.Adam and AdamW):
//
//	p *= 1 - LR·DecoupledDecay                 (AdamW)
//	g = grad + WeightDecay·p                   (Adam's L2 form)
//	m = Beta1·m + (1-Beta1)·g
//	v = Beta2·v + (1-Beta2)·g²
//	vmax = max(vmax, v) and v̂ = vmax          (AMSGrad), else v̂ = v
//	p -= LR/BiasCorrection1 · m / (sqrt(v̂)/sqrt(BiasCorrection2) + Eps)
//
// BiasCorrection1 = 1-Beta1^t and BiasCorrection2 = 1-Beta2^t for step t (from 1).
type AdamParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay, DecoupledDecay float64
	BiasCorrection1, BiasCorrection2                   float64
	AMSGrad                                            bool
}

// AdamBiasCorrections returns 1-beta1^t and 1-beta2^t for step t >= 1.
func AdamBiasCorrections(beta1, beta2 float64, t int) (float64, float64) {
	return 1 - math.Pow(beta1, float64(t)), 1 - math.Pow(beta2, float64(t))
}

func sameLen(fn string, n int, names string, s ...int) error {
	for _, l := range s {
		if l != n {
			return fmt.Errorf("kernels: %s: lengths of %s are %v, want all %d: %w", fn, names, slices.Clone(s), n, ErrInvalid) // clone: s must not escape
		}
	}
	return nil
}

// SGDUpdate applies one SGD step to p in place. buf is the momentum buffer and is ignored (may be
// nil) when Momentum is 0.
func SGDUpdate[T Float](h SGDParams, p, g, buf []T) error {
	if h.Momentum == 0 {
		if err := sameLen("SGDUpdate", len(p), "p, g", len(g)); err != nil {
			return err
		}
		lr, wd := h.LR, h.WeightDecay
		for i := range p {
			pi := float64(p[i])
			p[i] = T(pi - lr*(float64(g[i])+wd*pi))
		}
		return nil
	}
	if err := sameLen("SGDUpdate", len(p), "p, g, buf", len(g), len(buf)); err != nil {
		return err
	}
	lr, wd, mu, damp := h.LR, h.WeightDecay, h.Momentum, 1-h.Dampening
	buf = buf[:len(p)]
	g = g[:len(p)]
	for i := range p {
		pi := float64(p[i])
		gi := float64(g[i]) + wd*pi
		var b float64
		if h.FirstStep {
			b = gi
		} else {
			b = mu*float64(buf[i]) + damp*gi
		}
		buf[i] = T(b)
		if h.Nesterov {
			gi += mu * float64(T(b))
		} else {
			gi = float64(T(b))
		}
		p[i] = T(pi - lr*gi)
	}
	return nil
}

// AdamUpdate applies one Adam/AdamW step to p in place. vmax is only used (and only needs the
// right length) when AMSGrad is set.
func AdamUpdate[T Float](h AdamParams, p, g, m, v, vmax []T) error {
	if err := sameLen("AdamUpdate", len(p), "p, g, m, v", len(g), len(m), len(v)); err != nil {
		return err
	}
	if h.AMSGrad {
		if err := sameLen("AdamUpdate", len(p), "vmax", len(vmax)); err != nil {
			return err
		}
		vmax = vmax[:len(p)]
	}
	if h.BiasCorrection1 <= 0 || h.BiasCorrection2 <= 0 {
		return fmt.Errorf("kernels: AdamUpdate: bias corrections %v, %v must be > 0 (step counts from 1): %w",
			h.BiasCorrection1, h.BiasCorrection2, ErrInvalid)
	}
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	b1, b2, eps, wd := h.Beta1, h.Beta2, h.Eps, h.WeightDecay
	decay := 1 - h.LR*h.DecoupledDecay
	step := h.LR / h.BiasCorrection1
	bc2 := math.Sqrt(h.BiasCorrection2)
	for i := range p {
		pi := float64(p[i]) * decay
		gi := float64(g[i]) + wd*pi
		mi := b1*float64(m[i]) + (1-b1)*gi
		vi := b2*float64(v[i]) + (1-b2)*gi*gi
		m[i], v[i] = T(mi), T(vi)
		vh := float64(T(vi))
		if h.AMSGrad {
			vh = math.Max(float64(vmax[i]), vh)
			vmax[i] = T(vh)
		}
		p[i] = T(pi - step*float64(T(mi))/(math.Sqrt(vh)/bc2+eps))
	}
	return nil
}
