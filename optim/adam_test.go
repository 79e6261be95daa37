package optim_test

import (
	"math"

	"github.com/gotrain/gotrain/optim"
)

// torch.optim.Adam and AdamW: g += λp (Adam) or p -= γλp (AdamW); m = β1m + (1-β1)g,
// v = β2v + (1-β2)g², m̂ = m/(1-β1^t), v̂ = v/(1-β2^t) (AMSGrad: of the running maximum of v),
// p -= γm̂/(√v̂ + ε).
func init() {
	torchDefaults["adam"] = optim.Options{Name: "adam", LR: 0.5, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	torchDefaults["adamw"] = optim.Options{Name: "adamw", LR: 0.5, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
	adam := reference{
		states: func(o optim.Options) []string {
			if o.AMSGrad {
				return []string{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
			}
			return []string{"exp_avg", "exp_avg_sq"}
		},
		step: func(o optim.Options, t int, lr, _ float64, p, grad []float64, st func(string) []float64) {
			m, v := st("exp_avg"), st("exp_avg_sq")
			for j := range p {
				g := grad[j]
				if o.Name == "adamw" {
					p[j] -= lr * o.WeightDecay * p[j]
				} else {
					g += o.WeightDecay * p[j]
				}
				m[j] = o.Beta1*m[j] + (1-o.Beta1)*g
				v[j] = o.Beta2*v[j] + (1-o.Beta2)*g*g
				mHat := m[j] / (1 - math.Pow(o.Beta1, float64(t)))
				vt := v[j]
				if o.AMSGrad {
					vmax := st("max_exp_avg_sq")
					vmax[j] = math.Max(vmax[j], v[j])
					vt = vmax[j]
				}
				vHat := vt / (1 - math.Pow(o.Beta2, float64(t)))
				p[j] -= lr * mHat / (math.Sqrt(vHat) + o.Eps)
			}
		},
	}
	references["adam"], references["adamw"] = adam, adam
	trajectoryCases = append(trajectoryCases,
		trajCase{"adamw with amsgrad and strong decay", opts("adamw", 0.05, func(o *optim.Options) { o.AMSGrad, o.WeightDecay = true, 0.3 })},
	)
}
