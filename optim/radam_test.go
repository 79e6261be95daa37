package optim_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gotrain/gotrain/optim"
)

// torch.optim.RAdam, from its documented algorithm: g += λθ (decoupled: θ -= γλθ); m, v as
// Adam; m̂ = m/(1-β1^t); ρ_t = ρ∞ - 2tβ2^t/(1-β2^t) with ρ∞ = 2/(1-β2) - 1; when ρ_t > 5,
// l = √(1-β2^t)/(√v + ε), r = √((ρ_t-4)(ρ_t-2)ρ∞/((ρ∞-4)(ρ∞-2)ρ_t)), θ -= γm̂·r·l; else θ -= γm̂.
func init() {
	torchDefaults["radam"] = optim.Options{Name: "radam", LR: 0.5, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	references["radam"] = reference{
		states: func(optim.Options) []string { return []string{"exp_avg", "exp_avg_sq"} },
		step: func(o optim.Options, t int, lr, _ float64, p, grad []float64, st func(string) []float64) {
			m, v := st("exp_avg"), st("exp_avg_sq")
			tt := float64(t)
			rhoInf := 2/(1-o.Beta2) - 1
			rho := rhoInf - 2*tt*math.Pow(o.Beta2, tt)/(1-math.Pow(o.Beta2, tt))
			for j := range p {
				g := grad[j]
				if o.Decoupled {
					p[j] -= lr * o.WeightDecay * p[j]
				} else {
					g += o.WeightDecay * p[j]
				}
				m[j] = o.Beta1*m[j] + (1-o.Beta1)*g
				v[j] = o.Beta2*v[j] + (1-o.Beta2)*g*g
				mHat := m[j] / (1 - math.Pow(o.Beta1, tt))
				if rho > 5 {
					l := math.Sqrt(1-math.Pow(o.Beta2, tt)) / (math.Sqrt(v[j]) + o.Eps)
					r := math.Sqrt((rho - 4) * (rho - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rho))
					p[j] -= lr * mHat * r * l
				} else {
					p[j] -= lr * mHat
				}
			}
		},
	}
	trajectoryCases = append(trajectoryCases,
		trajCase{"radam rectified from step 3", opts("radam", 0.05, func(o *optim.Options) { o.Beta2, o.WeightDecay = 0.6, 0.02 })},
	)
}

// TestRAdamIsMomentumSGDUntilTheVarianceIsTractable works RAdam's first steps by hand with the
// default β2 0.999: ρ_t stays below 5 for the first 5 steps (ρ_1 = 1, ρ_5 ≈ 4.99), so the
// update is the bias-corrected average m̂ alone, which for a constant gradient 1 is exactly 1.
func TestRAdamIsMomentumSGDUntilTheVarianceIsTractable(t *testing.T) {
	o := options(t, "radam", 0.1, nil)
	got := stepScalar(t, o, 1, []float64{1, 1, 1, 1, 1, 1})
	for i, want := range []float64{0.9, 0.8, 0.7, 0.6, 0.5} {
		assert.InDelta(t, want, got[i], 1e-12, "step %d", i+1)
	}
	// Step 6 is the first rectified one (ρ_6 ≈ 5.99): m̂ = 1, v̂ = 1, r_6 ≈ 0.0294, so the step is
	// about 0.003 instead of momentum SGD's 0.1; its exact value is the float64 reference's.
	p := [][]float64{{1}}
	ref := newTorchRef(t, o, p)
	for range 6 {
		ref.step(0.1, p, [][]float64{{1}})
	}
	assert.InDelta(t, p[0][0], got[5], 1e-12, "step 6")
	assert.InDelta(t, 0.497, got[5], 1e-3, "step 6 is rectified")
}
