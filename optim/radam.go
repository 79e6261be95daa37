package optim

import (
	"math"

	"github.com/gotrain/gotrain/kernels"
)

// RAdam is torch.optim.RAdam (Liu et al. 2019, "On the Variance of the Adaptive Learning Rate
// and Beyond"): Adam whose adaptive rate is switched on only once the variance of its estimate
// is tractable, ρ_t = ρ∞ - 2tβ2^t/(1-β2^t) > 5 with ρ∞ = 2/(1-β2) - 1, and then scaled by the
// rectification r_t = √((ρ_t-4)(ρ_t-2)ρ∞ / ((ρ∞-4)(ρ∞-2)ρ_t)); before that it is SGD with
// momentum on the bias-corrected average. Decoupled makes the weight decay AdamW's.
//
// Scalars of its loop: β1, β2, the step (lr·r_t/bc1 when rectified, lr/bc1 before), √bc2, eps,
// weight decay (L2), 1-lr·decoupled, 1-β1, 1-β2, where bc1 = 1-β1^t and bc2 = 1-β2^t. Flag:
// FlagRectified. States: m, v.
//
//	p *= 1-lr·decoupled;  g += wd·p;  m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²
//	rectified: p -= step·m·(√bc2/(√v + eps));  else p -= step·m
var radamRule = &kernels.Rule{Name: "radam", F32: radam[float32], F64: radam[float64]}

func init() {
	Register(&Description{
		Name:    "radam",
		Summary: "RAdam: Adam with the variance of its adaptive rate rectified (decoupled weight decay optional)",
		Uses:    []string{"beta1", "beta2", "eps", "decoupled", "weight-decay"},
		Defaults: func(o *Options) {
			o.Beta1, o.Beta2, o.Eps = 0.9, 0.999, 1e-8
		},
		Validate: func(o Options) error {
			if err := o.checkBetas(); err != nil {
				return err
			}
			return o.checkEps()
		},
		Variants: []Variant{
			{"with weight decay", func(o *Options) { o.WeightDecay = 0.05 }},
			{"with decoupled weight decay", func(o *Options) { o.Decoupled, o.WeightDecay = true, 0.1 }},
			// β2 0.9 makes ρ∞ 19, so the rectified phase starts at step 6 of the tests' 12.
			{"with a short unrectified phase", func(o *Options) { o.Beta2 = 0.9 }},
		},
		States: func(Options) []string { return []string{"exp_avg", "exp_avg_sq"} },
		Step: func(o Options, lr float64, t int, _ *float64) kernels.Step {
			bc1, b2t := 1-math.Pow(o.Beta1, float64(t)), math.Pow(o.Beta2, float64(t))
			bc2 := 1 - b2t
			rhoInf := 2/(1-o.Beta2) - 1
			rho := rhoInf - 2*float64(t)*b2t/bc2
			l2, dec := o.decays(o.Decoupled)
			s := kernels.Step{Rule: radamRule, States: 2, S: [kernels.NumScalars]float64{
				o.Beta1, o.Beta2, lr / bc1, math.Sqrt(bc2), o.Eps, l2, 1 - lr*dec, 1 - o.Beta1, 1 - o.Beta2}}
			if rho > 5 {
				s.Flags = kernels.FlagRectified
				s.S[2] = lr * math.Sqrt((rho-4)*(rho-2)*rhoInf/((rhoInf-4)*(rhoInf-2)*rho)) / bc1
			}
			return s
		},
	})
}

// radam runs kernels.RAdamLoop: for float32 its AVX2/AVX-512 loops under FTZ/DAZ and their twin.
// As a Go loop of its own it ran 41-43x slower on half-subnormal gradients and 8x on tiny ones
// on the Intel Xeon (family 6 model 167, BenchmarkValues).
func radam[T kernels.Float](s *kernels.Step, p, g []T, st [kernels.MaxStates][]T) {
	b1, b2, step, sbc2, eps := T(s.S[0]), T(s.S[1]), T(s.S[2]), T(s.S[3]), T(s.S[4])
	wd, decay, c1, c2 := T(s.S[5]), T(s.S[6]), T(s.S[7]), T(s.S[8])
	kernels.RAdamLoop(p, g, st[0], st[1], decay, wd, b1, c1, b2, c2, step, sbc2, eps, s.Flags&kernels.FlagRectified != 0)
}
