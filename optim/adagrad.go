package optim

import "github.com/gotrain/gotrain/kernels"

// Adagrad is torch.optim.Adagrad: a running sum of squared gradients, with lr_decay (the rate of
// step t is lr/(1+(t-1)·lr_decay)) and initial_accumulator_value.
//
// Scalars of its loop: the decayed rate, eps, weight decay (L2). State: the sum of squares.
//
//	g += wd·p;  s += g²;  p -= lr_t·g/(√s + eps)
var adagradRule = &kernels.Rule{Name: "adagrad", F32: adagrad[float32], F64: adagrad[float64]}

func init() {
	Register(&Description{
		Name:     "adagrad",
		Summary:  "Adagrad (lr decay, initial accumulator, eps, weight decay)",
		Uses:     []string{"lr-decay", "initial-accumulator", "eps", "weight-decay"},
		Defaults: func(o *Options) { o.Eps = 1e-10 },
		Validate: func(o Options) error {
			if !nonNeg(o.LRDecay) {
				return o.bad("lr_decay", o.LRDecay, ">= 0")
			}
			if !nonNeg(o.InitialAccumulator) {
				return o.bad("initial_accumulator_value", o.InitialAccumulator, ">= 0")
			}
			return o.checkEps()
		},
		Variants: []Variant{
			{"with lr decay, initial accumulator and weight decay", func(o *Options) { o.LRDecay, o.InitialAccumulator, o.WeightDecay = 0.1, 0.1, 0.02 }},
		},
		States: func(Options) []string { return []string{"sum"} },
		Init:   func(o Options) float64 { return o.InitialAccumulator },
		Step: func(o Options, lr float64, t int, _ *float64) kernels.Step {
			return kernels.Step{Rule: adagradRule, States: 1,
				S: [kernels.NumScalars]float64{lr / (1 + float64(t-1)*o.LRDecay), o.Eps, o.WeightDecay}}
		},
	})
}

// adagrad is plain RMSProp's loop with a = 1-a = 1 (v = 1·v + 1·g² is s + g², every product by 1
// exact): its AVX2/AVX-512 loops under FTZ/DAZ and their float32 twin (kernels.RMSPropPlain).
// As a Go loop of its own it ran 23x slower on half-subnormal gradients and 7x on tiny ones on
// the Intel Xeon (family 6 model 167, BenchmarkValues).
func adagrad[T kernels.Float](s *kernels.Step, p, g []T, st [kernels.MaxStates][]T) {
	lr, eps, wd := T(s.S[0]), T(s.S[1]), T(s.S[2])
	kernels.RMSPropPlain(p, g, st[0], 1, 1, eps, lr, wd)
}
