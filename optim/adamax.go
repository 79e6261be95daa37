package optim

import (
	"math"

	"github.com/gotrain/gotrain/kernels"
)

// Adamax is torch.optim.Adamax (Kingma and Ba 2015, §7): Adam with the infinity norm in place of
// the second moment, u = max(β2·u, |g| + eps), which needs no bias correction.
//
// Scalars of its loop: β1, 1-β1, β2, eps, lr/bc1, weight decay (L2), where bc1 = 1-β1^t.
// States: m, u.
//
//	g += wd·p;  m = β1·m + (1-β1)·g;  u = max(β2·u, |g| + eps);  p -= lr/bc1 · (m/u)
var adamaxRule = &kernels.Rule{Name: "adamax", F32: adamax[float32], F64: adamax[float64]}

func init() {
	Register(&Description{
		Name:    "adamax",
		Summary: "Adamax: Adam with the infinity norm (weight decay)",
		Uses:    []string{"beta1", "beta2", "eps", "weight-decay"},
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
		},
		States: func(Options) []string { return []string{"exp_avg", "exp_inf"} },
		Step: func(o Options, lr float64, t int, _ *float64) kernels.Step {
			return kernels.Step{Rule: adamaxRule, States: 2, S: [kernels.NumScalars]float64{
				o.Beta1, 1 - o.Beta1, o.Beta2, o.Eps, lr / (1 - math.Pow(o.Beta1, float64(t))), o.WeightDecay}}
		},
	})
}

// adamax runs kernels.AdamaxLoop: for float32 its AVX2/AVX-512 loops under FTZ/DAZ and their
// twin. As a Go loop of its own it ran 21-22x slower on half-subnormal gradients on the Intel Xeon
// (family 6 model 167, BenchmarkValues).
func adamax[T kernels.Float](s *kernels.Step, p, g []T, st [kernels.MaxStates][]T) {
	b1, c1, b2, eps, clr, wd := T(s.S[0]), T(s.S[1]), T(s.S[2]), T(s.S[3]), T(s.S[4]), T(s.S[5])
	kernels.AdamaxLoop(p, g, st[0], st[1], b1, c1, b2, eps, clr, wd)
}
