package optim

import (
	"fmt"

	"github.com/gotrain/gotrain/kernels"
)

// SGD is torch.optim.SGD: momentum, dampening, Nesterov's correction and L2 weight decay.
// "momentum" and "nesterov" are presets with momentum 0.9 (and Nesterov's correction).
func init() {
	Register(&Description{
		Name:     "sgd",
		Summary:  "stochastic gradient descent (momentum, dampening, nesterov, weight decay)",
		Uses:     []string{"momentum", "dampening", "nesterov", "weight-decay"},
		Defaults: func(*Options) {},
		Validate: func(o Options) error {
			if !(o.Momentum >= 0 && o.Momentum <= 1) {
				return o.bad("momentum", o.Momentum, "in [0, 1]")
			}
			if !(o.Dampening >= 0 && o.Dampening <= 1) {
				return o.bad("dampening", o.Dampening, "in [0, 1]")
			}
			if o.Nesterov && (o.Momentum <= 0 || o.Dampening != 0) {
				return o.bad("nesterov", fmt.Sprintf("with momentum %v and dampening %v", o.Momentum, o.Dampening), "momentum > 0 and dampening 0")
			}
			return nil
		},
		Variants: []Variant{
			{"with weight decay", func(o *Options) { o.WeightDecay = 0.05 }},
			{"with momentum", func(o *Options) { o.Momentum = 0.9 }},
			{"with momentum, dampening and weight decay", func(o *Options) { o.Momentum, o.Dampening, o.WeightDecay = 0.8, 0.3, 0.05 }},
			{"with nesterov and weight decay", func(o *Options) { o.Momentum, o.Nesterov, o.WeightDecay = 0.9, true, 0.02 }},
		},
		States: func(o Options) []string {
			if o.Momentum != 0 {
				return []string{"momentum_buffer"}
			}
			return nil
		},
		Step: func(o Options, lr float64, t int, _ *float64) kernels.Step {
			s := kernels.Step{Rule: kernels.SGD, S: [kernels.NumScalars]float64{lr, o.Momentum, 1 - o.Dampening, o.WeightDecay, 1}}
			if o.Momentum != 0 {
				s.Flags, s.States = kernels.FlagMomentum, 1
				if t == 1 {
					s.Flags |= kernels.FlagFirstStep
				}
			}
			if o.Nesterov {
				s.Flags |= kernels.FlagNesterov
			}
			return s
		},
	})
	Register(&Description{Name: "momentum", Alias: "sgd", Summary: "sgd with momentum 0.9",
		Defaults: func(o *Options) { o.Momentum = 0.9 }})
	Register(&Description{Name: "nesterov", Alias: "sgd", Summary: "sgd with Nesterov momentum 0.9",
		Defaults: func(o *Options) { o.Momentum, o.Nesterov = 0.9, true }})
}
