package optim_test

import (
	"math"

	"github.com/gotrain/gotrain/optim"
)

// torch.optim.RMSprop: g += λp; v = αv + (1-α)g²; centered: ḡ = αḡ + (1-α)g, ṽ = v - ḡ²;
// momentum: b = μb + g/(√ṽ + ε), p -= γb; else p -= γg/(√ṽ + ε).
func init() {
	torchDefaults["rmsprop"] = optim.Options{Name: "rmsprop", LR: 0.5, Alpha: 0.99, Eps: 1e-8}
	references["rmsprop"] = reference{
		states: func(o optim.Options) []string {
			kinds := []string{"square_avg"}
			if o.Momentum > 0 {
				kinds = append(kinds, "momentum_buffer")
			}
			if o.Centered {
				kinds = append(kinds, "grad_avg")
			}
			return kinds
		},
		step: func(o optim.Options, _ int, lr, _ float64, p, grad []float64, st func(string) []float64) {
			v := st("square_avg")
			for j := range p {
				g := grad[j] + o.WeightDecay*p[j]
				v[j] = o.Alpha*v[j] + (1-o.Alpha)*g*g
				vt := v[j]
				if o.Centered {
					ga := st("grad_avg")
					ga[j] = o.Alpha*ga[j] + (1-o.Alpha)*g
					vt -= ga[j] * ga[j]
				}
				if o.Momentum > 0 {
					b := st("momentum_buffer")
					b[j] = o.Momentum*b[j] + g/(math.Sqrt(vt)+o.Eps)
					p[j] -= lr * b[j]
				} else {
					p[j] -= lr * g / (math.Sqrt(vt) + o.Eps)
				}
			}
		},
	}
}
