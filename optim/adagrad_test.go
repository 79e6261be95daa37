package optim_test

import (
	"math"

	"github.com/gotrain/gotrain/optim"
)

// torch.optim.Adagrad: γ̃ = γ/(1+(t-1)η); g += λp; s += g² (s starts at
// initial_accumulator_value); p -= γ̃g/(√s + ε).
func init() {
	torchDefaults["adagrad"] = optim.Options{Name: "adagrad", LR: 0.5, Eps: 1e-10}
	references["adagrad"] = reference{
		states: func(optim.Options) []string { return []string{"sum"} },
		init:   func(_ string, o optim.Options) float64 { return o.InitialAccumulator },
		step: func(o optim.Options, t int, lr, _ float64, p, grad []float64, st func(string) []float64) {
			clr := lr / (1 + float64(t-1)*o.LRDecay)
			s := st("sum")
			for j := range p {
				g := grad[j] + o.WeightDecay*p[j]
				s[j] += g * g
				p[j] -= clr * g / (math.Sqrt(s[j]) + o.Eps)
			}
		},
	}
	trajectoryCases = append(trajectoryCases,
		trajCase{"adagrad with a large lr decay", opts("adagrad", 0.1, func(o *optim.Options) { o.LRDecay, o.InitialAccumulator = 0.5, 0.3 })},
	)
}
