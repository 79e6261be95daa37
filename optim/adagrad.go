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

func adagrad[T kernels.Float](s *kernels.Step, p, g []T, st [kernels.MaxStates][]T) {
	n := len(p)
	g, sum := g[:n], st[0][:n]
	lr, eps, wd := T(s.S[0]), T(s.S[1]), T(s.S[2])
	for i := range p {
		pi := p[i]
		gi := g[i] + wd*pi
		v := sum[i] + gi*gi
		sum[i] = v
		p[i] = pi - lr*gi/(kernels.SqrtT(v)+eps)
	}
}
