package optim

import (
	"math"

	"github.com/gotrain/gotrain/kernels"
)

// Adam is torch.optim.Adam (L2 weight decay added to the gradient) and AdamW is
// torch.optim.AdamW (decoupled weight decay, default 0.01); both take AMSGrad.
func init() {
	adam := func(name, summary string, decoupled bool, wd float64) *Description {
		return &Description{
			Name:    name,
			Summary: summary,
			Uses:    []string{"beta1", "beta2", "eps", "amsgrad", "weight-decay"},
			Defaults: func(o *Options) {
				o.Beta1, o.Beta2, o.Eps, o.WeightDecay = 0.9, 0.999, 1e-8, wd
			},
			Validate: func(o Options) error {
				if err := o.checkBetas(); err != nil {
					return err
				}
				return o.checkEps()
			},
			Variants: []Variant{
				{"with weight decay", func(o *Options) { o.WeightDecay = 0.1 }},
				{"with amsgrad", func(o *Options) { o.AMSGrad = true }},
				{"with amsgrad and weight decay", func(o *Options) { o.AMSGrad, o.WeightDecay = true, 0.05 }},
			},
			States: func(o Options) []string {
				if o.AMSGrad {
					return []string{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
				}
				return []string{"exp_avg", "exp_avg_sq"}
			},
			Step: func(o Options, lr float64, t int, _ *float64) kernels.Step {
				bc1, bc2 := 1-math.Pow(o.Beta1, float64(t)), 1-math.Pow(o.Beta2, float64(t))
				l2, dec := o.decays(decoupled)
				s := kernels.Step{Rule: kernels.Adam, States: 2, S: [kernels.NumScalars]float64{
					o.Beta1, o.Beta2, lr / bc1, 1 / math.Sqrt(bc2), o.Eps, l2, 1 - lr*dec, 1 - o.Beta1, 1 - o.Beta2}}
				if o.AMSGrad {
					s.Flags, s.States = kernels.FlagAMSGrad, 3
				}
				return s
			},
		}
	}
	Register(adam("adam", "Adam (L2 weight decay, amsgrad)", false, 0))
	Register(adam("adamw", "AdamW: Adam with decoupled weight decay (default 0.01)", true, 0.01))
}
