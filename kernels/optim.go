package kernels

import (
	"fmt"
	"math"
	"unsafe"
)

// Rule names an optimizer update rule. Every rule follows PyTorch's torch.optim implementation
// (the single-tensor "for-loop" path, which is PyTorch's own reference).
type Rule uint8

// The rules.
const (
	RuleSGD Rule = iota
	RuleAdam
	RuleRMSProp
	RuleAdagrad
	RuleNAdam
	numRules
)

var ruleNames = [...]string{RuleSGD: "sgd", RuleAdam: "adam", RuleRMSProp: "rmsprop", RuleAdagrad: "adagrad", RuleNAdam: "nadam"}

// String names the rule.
func (r Rule) String() string {
	if r < numRules {
		return ruleNames[r]
	}
	return fmt.Sprintf("Rule(%d)", uint8(r))
}

// UpdateParams are the scalars of one optimizer step for one parameter group. Step-dependent
// values (bias corrections, NAdam's momentum schedule, Adagrad's decayed rate) are computed on
// the host by package optim, so a device kernel only reads numbers.
//
// Every rule first applies weight decay: with DecoupledDecay, p *= 1 - LR·DecoupledDecay (AdamW,
// NAdamW); with WeightDecay, g += WeightDecay·p (L2, PyTorch's weight_decay). Then:
//
//	SGD:      buf = FirstStep ? g : Momentum·buf + (1-Dampening)·g   (when Momentum != 0)
//	          g = Nesterov ? g + Momentum·buf : buf;  p -= LR·g
//	Adam:     m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;  v̂ = AMSGrad ? (vmax = max(vmax, v)) : v
//	          p -= LR/BiasCorrection1 · m / (sqrt(v̂)/sqrt(BiasCorrection2) + Eps)
//	RMSProp:  v = Alpha·v + (1-Alpha)·g²;  Centered: ga = Alpha·ga + (1-Alpha)·g, d = sqrt(v - ga²) + Eps
//	          else d = sqrt(v) + Eps;  Momentum: buf = Momentum·buf + g/d, p -= LR·buf;  else p -= LR·g/d
//	Adagrad:  s += g²;  p -= LR·g/(sqrt(s) + Eps)          (LR already divided by 1+(t-1)·lr_decay)
//	NAdam:    m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;  d = sqrt(v/BiasCorrection2) + Eps
//	          p -= NAdamGrad·g/d + NAdamMom·m/d
//
// Note that eps is added outside the square root for RMSProp, as PyTorch does (Gorgonia's
// RMSPropSolver puts it inside).
type UpdateParams struct {
	Rule                        Rule
	LR                          float64
	WeightDecay, DecoupledDecay float64

	Momentum, Dampening float64 // SGD, RMSProp (Momentum)
	Nesterov, FirstStep bool    // SGD

	Beta1, Beta2, Eps                float64 // Adam, NAdam (Eps also RMSProp, Adagrad)
	BiasCorrection1, BiasCorrection2 float64 // Adam (1-β^t), NAdam (BiasCorrection2)
	AMSGrad                          bool    // Adam

	Alpha    float64 // RMSProp smoothing constant
	Centered bool    // RMSProp

	NAdamGrad, NAdamMom float64 // NAdam: lr·(1-μ_t)/(1-Πμ), lr·μ_{t+1}/(1-Πμ·μ_{t+1})
}

// StateCount is the number of state tensors per parameter the rule keeps, in the order Update
// takes them:
//
//	SGD: momentum buffer (only when Momentum != 0)
//	Adam: m, v, and vmax when AMSGrad
//	RMSProp: square average, then the momentum buffer when Momentum != 0, then the gradient
//	average when Centered
//	Adagrad: the sum of squares
//	NAdam: m, v
func StateCount(h UpdateParams) int {
	switch h.Rule {
	case RuleSGD:
		if h.Momentum != 0 {
			return 1
		}
		return 0
	case RuleAdam:
		if h.AMSGrad {
			return 3
		}
		return 2
	case RuleRMSProp:
		n := 1
		if h.Momentum != 0 {
			n++
		}
		if h.Centered {
			n++
		}
		return n
	case RuleAdagrad:
		return 1
	case RuleNAdam:
		return 2
	}
	return 0
}

// AdamBiasCorrections returns 1-beta1^t and 1-beta2^t for step t >= 1.
func AdamBiasCorrections(beta1, beta2 float64, t int) (float64, float64) {
	return 1 - math.Pow(beta1, float64(t)), 1 - math.Pow(beta2, float64(t))
}

// CheckUpdate validates h and the lengths of one parameter's tensors (p, g and the state).
func CheckUpdate(h UpdateParams, n, glen int, state []int) error {
	if h.Rule >= numRules {
		return fmt.Errorf("kernels: Update: unknown rule %v: %w", h.Rule, ErrInvalid)
	}
	if want := StateCount(h); len(state) != want {
		return fmt.Errorf("kernels: Update %v: %d state tensors, want %d: %w", h.Rule, len(state), want, ErrInvalid)
	}
	if glen != n {
		return fmt.Errorf("kernels: Update %v: gradient has %d elements, parameter %d: %w", h.Rule, glen, n, ErrInvalid)
	}
	for k, l := range state {
		if l != n {
			return fmt.Errorf("kernels: Update %v: state tensor %d has %d elements, parameter %d: %w", h.Rule, k, l, n, ErrInvalid)
		}
	}
	if (h.Rule == RuleAdam || h.Rule == RuleNAdam) && !(h.BiasCorrection2 > 0) || h.Rule == RuleAdam && !(h.BiasCorrection1 > 0) {
		return fmt.Errorf("kernels: Update %v: bias corrections %v, %v must be > 0 (steps count from 1): %w",
			h.Rule, h.BiasCorrection1, h.BiasCorrection2, ErrInvalid)
	}
	return nil
}

// Update applies one step of h.Rule to p in place, with its state tensors (see StateCount).
// It allocates nothing, so the CPU backend calls it on sub-ranges of each parameter.
func Update[T Float](h UpdateParams, p, g []T, state ...[]T) error {
	var lens [3]int
	for k, s := range state {
		if k < len(lens) {
			lens[k] = len(s)
		}
	}
	if err := CheckUpdate(h, len(p), len(g), lens[:min(len(state), len(lens))]); err != nil {
		return err
	}
	g = g[:len(p)]
	switch h.Rule {
	case RuleSGD:
		var buf []T
		if h.Momentum != 0 {
			buf = state[0][:len(p)]
		}
		sgd(h, p, g, buf)
	case RuleAdam:
		var vmax []T
		if h.AMSGrad {
			vmax = state[2][:len(p)]
		}
		adam(h, p, g, state[0][:len(p)], state[1][:len(p)], vmax)
	case RuleRMSProp:
		var buf, gavg []T
		k := 1
		if h.Momentum != 0 {
			buf = state[k][:len(p)]
			k++
		}
		if h.Centered {
			gavg = state[k][:len(p)]
		}
		rmsprop(h, p, g, state[0][:len(p)], buf, gavg)
	case RuleAdagrad:
		adagrad(h, p, g, state[0][:len(p)])
	case RuleNAdam:
		nadam(h, p, g, state[0][:len(p)], state[1][:len(p)])
	}
	return nil
}

// The loops below compute in T (float32 arithmetic for float32 buffers, as PyTorch does) and
// hoist every option test out of the element loop: the common configurations get a loop with no
// branch at all, because these loops are bound by memory bandwidth only when the arithmetic per
// element stays small. Slices are cut to len(p) first so the compiler drops bounds checks.

// flushTiny returns x, or +0 if x is a float32 below 2^-126 in magnitude (float64 is kept).
func flushTiny[T Float](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(flushSub(float32(x)))
	}
	return x
}

// sqrtT is a square root in T; for float32 the compiler emits SQRTSS for this pattern.
func sqrtT[T Float](x T) T { return T(math.Sqrt(float64(x))) }

func sgd[T Float](h UpdateParams, p, g, buf []T) {
	n := len(p)
	g = g[:n]
	lr, mu, damp := T(h.LR), T(h.Momentum), T(1-h.Dampening)
	wd, decay := T(h.WeightDecay), T(1-h.LR*h.DecoupledDecay)
	if buf == nil {
		for i := range p {
			pi := p[i] * decay
			p[i] = pi - lr*(g[i]+wd*pi)
		}
		return
	}
	buf = buf[:n]
	switch {
	case h.FirstStep:
		for i := range p {
			pi := p[i] * decay
			gi := g[i] + wd*pi
			buf[i] = gi
			if h.Nesterov {
				gi += mu * gi
			}
			p[i] = pi - lr*gi
		}
	case h.Nesterov:
		for i := range p {
			pi := p[i] * decay
			gi := g[i] + wd*pi
			b := mu*buf[i] + damp*gi
			buf[i] = b
			p[i] = pi - lr*(gi+mu*b)
		}
	case wd == 0 && decay == 1:
		k := momentumVec(p, g, buf, decay, wd, mu, damp, lr) // the AVX2 loop, bit for bit this one
		p, g, buf = p[k:], g[k:n], buf[k:n]
		for i := range p {
			b := mu*buf[i] + damp*g[i]
			buf[i] = b
			p[i] -= lr * b
		}
	default:
		k := momentumVec(p, g, buf, decay, wd, mu, damp, lr)
		p, g, buf = p[k:], g[k:n], buf[k:n]
		for i := range p {
			pi := p[i] * decay
			b := mu*buf[i] + damp*(g[i]+wd*pi)
			buf[i] = b
			p[i] = pi - lr*b
		}
	}
}

func adam[T Float](h UpdateParams, p, g, m, v, vmax []T) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	b1, b2 := T(h.Beta1), T(h.Beta2)
	// 1-β in float64 first, as PyTorch does: 1-float32(0.999) is off by 1e-5 relative.
	c1, c2 := T(1-h.Beta1), T(1-h.Beta2)
	step := T(h.LR / h.BiasCorrection1)
	// sqrt(v)/sqrt(bc2) as a product: one division per element fewer, within an ulp.
	invBC2 := T(1 / math.Sqrt(h.BiasCorrection2))
	eps, wd, decay := T(h.Eps), T(h.WeightDecay), T(1-h.LR*h.DecoupledDecay)
	// The AVX2 loops of optim_amd64.s do the first k elements (float32 only), bit for bit as here.
	k := adamVec(p, g, m, v, vmax, decay, wd, b1, c1, b2, c2, step, invBC2, eps)
	p, g, m, v = p[k:], g[k:n], m[k:n], v[k:n]
	if vmax == nil {
		for i := range p {
			pi := p[i] * decay
			gi := g[i] + wd*pi
			mi := b1*m[i] + c1*gi
			vi := b2*v[i] + c2*gi*gi
			m[i], v[i] = mi, vi
			p[i] = pi - step*mi/(sqrtT(vi)*invBC2+eps)
		}
		return
	}
	vmax = vmax[k:n]
	for i := range p {
		pi := p[i] * decay
		gi := g[i] + wd*pi
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		vh := max(vmax[i], vi)
		vmax[i] = vh
		p[i] = pi - step*mi/(sqrtT(vh)*invBC2+eps)
	}
}

func rmsprop[T Float](h UpdateParams, p, g, sq, buf, gavg []T) {
	n := len(p)
	g, sq = g[:n], sq[:n]
	a, ca, eps, mu, lr := T(h.Alpha), T(1-h.Alpha), T(h.Eps), T(h.Momentum), T(h.LR)
	wd, decay := T(h.WeightDecay), T(1-h.LR*h.DecoupledDecay)
	if buf != nil {
		buf = buf[:n]
	}
	if gavg != nil {
		gavg = gavg[:n]
	}
	if buf == nil && gavg == nil {
		// Plain RMSProp: the AVX2/AVX-512 loops of optim_amd64.s do the first k elements
		// (float32 only), bit for bit as this loop. A float32 gradient or square average
		// below 2^-126 is taken as 0 (flushTiny), and so is a new square average: a diverging
		// run's state holds about 1% of such values, and arithmetic on them made the vector
		// loop 1.8x slower on Zen 5. The update does not change where eps >= 1e-12 (sqrt of
		// the square average is then far below half an ulp of eps); the state does, by less
		// than 1.2e-38.
		k := rmspropVec(p, g, sq, decay, wd, a, ca, eps, lr)
		p, g, sq = p[k:], g[k:n], sq[k:n]
		for i := range p {
			pi := p[i] * decay
			gi := flushTiny(g[i]) + wd*pi
			s := flushTiny(a*flushTiny(sq[i]) + ca*gi*gi)
			sq[i] = s
			p[i] = pi - lr*gi/(sqrtT(s)+eps)
		}
		return
	}
	for i := range p {
		pi := p[i] * decay
		gi := g[i] + wd*pi
		s := a*sq[i] + ca*gi*gi
		sq[i] = s
		if gavg != nil {
			ga := a*gavg[i] + ca*gi
			gavg[i] = ga
			s -= ga * ga
		}
		d := sqrtT(s) + eps
		if buf != nil {
			b := mu*buf[i] + gi/d
			buf[i] = b
			p[i] = pi - lr*b
		} else {
			p[i] = pi - lr*gi/d
		}
	}
}

func adagrad[T Float](h UpdateParams, p, g, sum []T) {
	n := len(p)
	g, sum = g[:n], sum[:n]
	lr, eps := T(h.LR), T(h.Eps)
	wd, decay := T(h.WeightDecay), T(1-h.LR*h.DecoupledDecay)
	for i := range p {
		pi := p[i] * decay
		gi := g[i] + wd*pi
		s := sum[i] + gi*gi
		sum[i] = s
		p[i] = pi - lr*gi/(sqrtT(s)+eps)
	}
}

func nadam[T Float](h UpdateParams, p, g, m, v []T) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	b1, b2, eps := T(h.Beta1), T(h.Beta2), T(h.Eps)
	c1, c2 := T(1-h.Beta1), T(1-h.Beta2)
	invBC2 := T(1 / h.BiasCorrection2)
	cg, cm := T(h.NAdamGrad), T(h.NAdamMom)
	wd, decay := T(h.WeightDecay), T(1-h.LR*h.DecoupledDecay)
	for i := range p {
		pi := p[i] * decay
		gi := g[i] + wd*pi
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		d := sqrtT(vi*invBC2) + eps
		p[i] = pi - (cg*gi+cm*mi)/d
	}
}
