package optim

import (
	"math"

	"github.com/gotrain/gotrain/kernels"
)

// NAdam is torch.optim.NAdam: Adam with Nesterov momentum and PyTorch's momentum schedule
// μ_t = β1·(1 - ½·0.96^(t·momentum_decay)); with Decoupled it is NAdamW.
//
// Scalars of its loop: β1, β2, eps, 1/bc2, the gradient's coefficient lr·(1-μ_t)/(1-Πμ), the
// momentum's lr·μ_{t+1}/(1-Πμ·μ_{t+1}), weight decay (L2), 1-lr·decoupled, 1-β1, 1-β2, where
// bc2 = 1-β2^t and Πμ is the product of μ_1..μ_t (the group's carry). States: m, v.
//
//	p *= 1-lr·decoupled;  g += wd·p;  m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²
//	d = √(v/bc2) + eps;  p -= cg·g/d + cm·m/d
var nadamRule = &kernels.Rule{Name: "nadam", F32: nadam[float32], F64: nadam[float64]}

func init() {
	Register(&Description{
		Name:    "nadam",
		Summary: "NAdam (momentum decay; decoupled weight decay makes it NAdamW)",
		Uses:    []string{"beta1", "beta2", "eps", "momentum-decay", "decoupled", "weight-decay"},
		Defaults: func(o *Options) {
			o.Beta1, o.Beta2, o.Eps, o.MomentumDecay = 0.9, 0.999, 1e-8, 4e-3
		},
		Validate: func(o Options) error {
			if err := o.checkBetas(); err != nil {
				return err
			}
			if !nonNeg(o.MomentumDecay) {
				return o.bad("momentum_decay", o.MomentumDecay, ">= 0")
			}
			return o.checkEps()
		},
		Variants: []Variant{
			{"with weight decay", func(o *Options) { o.WeightDecay = 0.02 }},
			{"with decoupled weight decay", func(o *Options) { o.Decoupled, o.WeightDecay = true, 0.1 }},
		},
		States: func(Options) []string { return []string{"exp_avg", "exp_avg_sq"} },
		Step: func(o Options, lr float64, t int, muProduct *float64) kernels.Step {
			mu := o.Beta1 * (1 - 0.5*math.Pow(0.96, float64(t)*o.MomentumDecay))
			muNext := o.Beta1 * (1 - 0.5*math.Pow(0.96, float64(t+1)*o.MomentumDecay))
			*muProduct *= mu
			cg, cm := lr*(1-mu)/(1-*muProduct), lr*muNext/(1-*muProduct*muNext)
			bc2 := 1 - math.Pow(o.Beta2, float64(t))
			l2, dec := o.decays(o.Decoupled)
			return kernels.Step{Rule: nadamRule, States: 2, S: [kernels.NumScalars]float64{
				o.Beta1, o.Beta2, o.Eps, 1 / bc2, cg, cm, l2, 1 - lr*dec, 1 - o.Beta1, 1 - o.Beta2}}
		},
	})
}

// nadam runs kernels.NAdamLoop: for float32 its AVX2/AVX-512 loops under FTZ/DAZ and their twin.
// As a Go loop of its own it ran 47-49x slower on half-subnormal gradients and 8.5-9x on tiny
// ones on the Intel Xeon (family 6 model 167, BenchmarkValues).
func nadam[T kernels.Float](s *kernels.Step, p, g []T, st [kernels.MaxStates][]T) {
	b1, b2, eps, invBC2 := T(s.S[0]), T(s.S[1]), T(s.S[2]), T(s.S[3])
	cg, cm, wd, decay := T(s.S[4]), T(s.S[5]), T(s.S[6]), T(s.S[7])
	c1, c2 := T(s.S[8]), T(s.S[9])
	kernels.NAdamLoop(p, g, st[0], st[1], decay, wd, b1, c1, b2, c2, cg, invBC2, eps, cm)
}
