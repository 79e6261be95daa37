package optim_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gotrain/gotrain/optim"
)

// torch.optim.Adamax, from its documented algorithm: g += λθ; m = β1m + (1-β1)g;
// u = max(β2u, |g| + ε); θ -= γm/((1-β1^t)u).
func init() {
	torchDefaults["adamax"] = optim.Options{Name: "adamax", LR: 0.5, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	references["adamax"] = reference{
		states: func(optim.Options) []string { return []string{"exp_avg", "exp_inf"} },
		step: func(o optim.Options, t int, lr, _ float64, p, grad []float64, st func(string) []float64) {
			m, u := st("exp_avg"), st("exp_inf")
			for j := range p {
				g := grad[j] + o.WeightDecay*p[j]
				m[j] = o.Beta1*m[j] + (1-o.Beta1)*g
				u[j] = math.Max(o.Beta2*u[j], math.Abs(g)+o.Eps)
				p[j] -= lr * m[j] / ((1 - math.Pow(o.Beta1, float64(t))) * u[j])
			}
		},
	}
	trajectoryCases = append(trajectoryCases,
		trajCase{"adamax with a small beta2", opts("adamax", 0.05, func(o *optim.Options) { o.Beta2 = 0.5 })},
	)
}

// TestAdamaxMatchesHandComputedSteps: gradients 1, 0.5, -1 from p = 1 at lr 0.1 (eps ignored
// at this precision).
// t=1: m = 0.1, u = 1, p = 1 - 0.1·0.1/(0.1·1) = 0.9.
// t=2: m = 0.14, u = max(0.999, 0.5) = 0.999, p = 0.9 - 0.1·0.14/(0.19·0.999) = 0.8262420…
// t=3: m = 0.026, u = max(0.998001, 1) = 1, p = 0.82624… - 0.1·0.026/0.271 = 0.8166478…
func TestAdamaxMatchesHandComputedSteps(t *testing.T) {
	got := stepScalar(t, options(t, "adamax", 0.1, nil), 1, []float64{1, 0.5, -1})
	p2 := 0.9 - 0.1*0.14/(0.19*0.999)
	for i, want := range []float64{0.9, p2, p2 - 0.1*0.026/0.271} {
		assert.InDelta(t, want, got[i], 1e-7, "step %d", i+1)
	}
}
