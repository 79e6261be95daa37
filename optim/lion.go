package optim

import (
	"github.com/gotrain/gotrain/kernels"
)

// Lion is the optimizer of Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"
// (arXiv:2302.06675): the update is the sign of an interpolation between the momentum and the
// gradient, so every element moves by exactly the rate; the momentum is then updated with β2.
// The weight decay is decoupled. Its authors suggest a rate 3-10x smaller than AdamW's and a
// weight decay 3-10x larger; the defaults are theirs (lr 1e-4, betas 0.9 and 0.99).
//
// Scalars of its loop: β1, 1-β1, β2, 1-β2, lr, 1-lr·weight decay. State: m.
//
//	c = β1·m + (1-β1)·g;  p = p·(1-lr·wd) - lr·sign(c);  m = β2·m + (1-β2)·g
var lionRule = &kernels.Rule{Name: "lion", F32: lion[float32], F64: lion[float64]}

func init() {
	Register(&Description{
		Name:    "lion",
		Summary: "Lion: the sign of interpolated momentum (decoupled weight decay; lr 1e-4)",
		Uses:    []string{"beta1", "beta2", "weight-decay"},
		Defaults: func(o *Options) {
			o.Beta1, o.Beta2 = 0.9, 0.99
		},
		Validate: func(o Options) error { return o.checkBetas() },
		Variants: []Variant{
			{"with weight decay", func(o *Options) { o.WeightDecay = 0.5 }},
		},
		States: func(Options) []string { return []string{"exp_avg"} },
		Step: func(o Options, lr float64, _ int, _ *float64) kernels.Step {
			return kernels.Step{Rule: lionRule, States: 1, S: [kernels.NumScalars]float64{
				o.Beta1, 1 - o.Beta1, o.Beta2, 1 - o.Beta2, lr, 1 - lr*o.WeightDecay}}
		},
	})
}

// lion runs kernels.LionLoop: for float32 its AVX2/AVX-512 loops under FTZ/DAZ and their twin.
// As a Go loop of its own it ran 12.6-12.8x slower on half-subnormal gradients on the Intel Xeon
// (family 6 model 167, BenchmarkValues).
func lion[T kernels.Float](s *kernels.Step, p, g []T, st [kernels.MaxStates][]T) {
	b1, c1, b2, c2, lr, decay := T(s.S[0]), T(s.S[1]), T(s.S[2]), T(s.S[3]), T(s.S[4]), T(s.S[5])
	kernels.LionLoop(p, g, st[0], b1, c1, b2, c2, lr, decay)
}
