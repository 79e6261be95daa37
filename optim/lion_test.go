package optim_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gotrain/gotrain/optim"
)

// Lion, from Algorithm 2 of Chen et al. 2023: c = β1m + (1-β1)g; θ -= η(sign(c) + λθ);
// m = β2m + (1-β2)g.
func init() {
	torchDefaults["lion"] = optim.Options{Name: "lion", LR: 0.5, Beta1: 0.9, Beta2: 0.99}
	sign := func(x float64) float64 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return x
	}
	references["lion"] = reference{
		states: func(optim.Options) []string { return []string{"exp_avg"} },
		step: func(o optim.Options, _ int, lr, _ float64, p, grad []float64, st func(string) []float64) {
			m := st("exp_avg")
			for j := range p {
				c := o.Beta1*m[j] + (1-o.Beta1)*grad[j]
				p[j] -= lr * (sign(c) + o.WeightDecay*p[j])
				m[j] = o.Beta2*m[j] + (1-o.Beta2)*grad[j]
			}
		},
	}
	trajectoryCases = append(trajectoryCases,
		trajCase{"lion with other betas", opts("lion", 0.01, func(o *optim.Options) { o.Beta1, o.Beta2, o.WeightDecay = 0.5, 0.9, 0.1 })},
	)
}

// TestLionMovesEveryElementByTheRate: whatever the gradient's size, each step moves p by ±lr
// (without weight decay), and a zero interpolation does not move it at all.
func TestLionMovesEveryElementByTheRate(t *testing.T) {
	got := stepScalar(t, options(t, "lion", 0.1, nil), 1, []float64{1e-6, 300, -1e3, 0})
	// From m = 0: c = 1e-7 > 0 (m = 1e-8); c = 30 > 0 (m ≈ 3); c = 2.7 - 100 < 0 (m ≈ -7.03);
	// g = 0: c = 0.9·m < 0. So p = 0.9, 0.8, 0.9, 1.0.
	want := []float64{0.9, 0.8, 0.9, 1.0}
	for i, w := range want {
		assert.InDelta(t, w, got[i], 1e-12, "step %d", i+1)
	}
	zero := stepScalar(t, options(t, "lion", 0.1, nil), 1, []float64{0})
	assert.Equal(t, 1.0, zero[0], "sign(0) = 0: no move")
	assert.False(t, math.IsNaN(zero[0]))
}
