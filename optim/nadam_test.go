package optim_test

import (
	"math"

	"github.com/gotrain/gotrain/optim"
)

// torch.optim.NAdam: μ_t = β1(1 - ½·0.96^(tψ)); g += λp (decoupled: p -= γλp); m and v as Adam;
// m̂ = μ_{t+1}m/(1 - Π_{i≤t+1}μ_i) + (1-μ_t)g/(1 - Π_{i≤t}μ_i), v̂ = v/(1-β2^t);
// p -= γm̂/(√v̂ + ε).
func init() {
	torchDefaults["nadam"] = optim.Options{Name: "nadam", LR: 0.5, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, MomentumDecay: 4e-3}
	mu := func(o optim.Options, t int) float64 {
		return o.Beta1 * (1 - 0.5*math.Pow(0.96, float64(t)*o.MomentumDecay))
	}
	references["nadam"] = reference{
		states:  func(optim.Options) []string { return []string{"exp_avg", "exp_avg_sq"} },
		advance: func(o optim.Options, t int, prod *float64) { *prod *= mu(o, t) },
		step: func(o optim.Options, t int, lr, prod float64, p, grad []float64, st func(string) []float64) {
			m, v := st("exp_avg"), st("exp_avg_sq")
			mu, muNext := mu(o, t), mu(o, t+1)
			for j := range p {
				g := grad[j]
				if o.Decoupled {
					p[j] -= lr * o.WeightDecay * p[j]
				} else {
					g += o.WeightDecay * p[j]
				}
				m[j] = o.Beta1*m[j] + (1-o.Beta1)*g
				v[j] = o.Beta2*v[j] + (1-o.Beta2)*g*g
				mHat := muNext*m[j]/(1-prod*muNext) + (1-mu)*g/(1-prod)
				vHat := v[j] / (1 - math.Pow(o.Beta2, float64(t)))
				p[j] -= lr * mHat / (math.Sqrt(vHat) + o.Eps)
			}
		},
	}
}
