package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFloat32ActivationsSweep checks the float32 loops against float64 math over a dense sweep of
// float32 arguments (every 1021st bit pattern of both signs, from the smallest subnormal up to
// 1e6): within 1e-6 relative of the float64 value, or 1e-30 absolute where that is below a
// float32 subnormal's reach (the flushed tails), the tolerance of the twins' tests.
func TestFloat32ActivationsSweep(t *testing.T) {
	var xs []float32
	for b := uint32(1); b < math.Float32bits(1e6); b += 1021 {
		v := math.Float32frombits(b)
		xs = append(xs, v, -v)
	}
	ones := make([]float32, len(xs))
	for i := range ones {
		ones[i] = 1
	}
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	cases := []struct {
		name string
		run  func(dst []float32)
		want func(x float64) float64
	}{
		{"sigmoid", func(d []float32) { sigmoid32Go(d, xs) }, sig},
		{"sigmoid gradient", func(d []float32) { sigmoidGrad32Go(d, xs, ones) }, func(x float64) float64 { return sig(x) * sig(-x) }},
		{"tanh", func(d []float32) { tanh32Go(d, xs) }, math.Tanh},
		{"tanh gradient", func(d []float32) { tanhGrad32Go(d, xs, ones) }, func(x float64) float64 { c := math.Cosh(x); return 1 / (c * c) }},
		{"silu", func(d []float32) { silu32(d, xs) }, func(x float64) float64 { return x * sig(x) }},
		{"softplus gradient", func(d []float32) { softplusGrad32(d, xs, ones) }, sig},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s over %d arguments", c.name, len(xs)), func(t *testing.T) {
			got := make([]float32, len(xs))
			c.run(got)
			worst, at := 0.0, float32(0)
			for i, x := range xs {
				w := c.want(float64(x))
				d := math.Abs(float64(got[i]) - w)
				if d <= 1e-30 {
					continue
				}
				if r := d / math.Abs(w); r > worst {
					worst, at = r, x
				}
			}
			t.Logf("worst relative error %.3g at x = %v", worst, at)
			assert.LessOrEqual(t, worst, 1e-6)
		})
	}
}
