package train_test

import (
	"math"
	"testing"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// healthy returns the records of a run at steps 1, 10, 20, ..., 10·(n-1) that every rule
// passes: gradient norms of one size through the layers, few dead or saturated units, update
// ratios near 1e-3. edit changes record i.
func healthy(n int, edit func(i int, d *train.Diagnostics)) []train.Diagnostics {
	out := make([]train.Diagnostics, n)
	for i := range out {
		step := max(1, 10*i)
		d := train.Diagnostics{Epoch: 1, Step: step, Batch: 128}
		for l := 1; l <= 4; l++ {
			d.Params = append(d.Params,
				train.ParamStats{Name: "w" + string(rune('0'+l)), Shape: []int{64, 64}, Kind: models.Weight, GradNorm: 0.1 * float64(l), WeightNorm: 8, UpdateNorm: 8e-3, UpdateRatio: 1e-3},
				train.ParamStats{Name: "b" + string(rune('0'+l)), Shape: []int{64}, Kind: models.Bias, GradNorm: 0.01, WeightNorm: 0.5, UpdateNorm: 5e-4, UpdateRatio: 1e-3})
		}
		d.Layers = []train.LayerStats{
			{Name: "h1", Act: kernels.Sigmoid, Shape: []int{64}, Mean: 0.5, Std: 0.2, Saturated: 0.01, Dead: math.NaN()},
			{Name: "h2", Act: kernels.Tanh, Shape: []int{64}, Mean: 0, Std: 0.4, Saturated: 0.02, Dead: math.NaN()},
			{Name: "h3", Act: kernels.ReLU, Shape: []int{64}, Mean: 0.3, Std: 0.5, Saturated: math.NaN(), Dead: 0.03},
		}
		if edit != nil {
			edit(i, &d)
		}
		out[i] = d
	}
	return out
}

func kinds(r train.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Kind)
	}
	return out
}

func TestAHealthyRunHasNoFindingsButSaysWhatItMeasured(t *testing.T) {
	r := train.Diagnose(healthy(40, nil))
	assert.Empty(t, r.Findings)
	assert.Equal(t, 40, r.Records)
	assert.Equal(t, 1, r.FirstStep)
	assert.Equal(t, 390, r.LastStep)
	require.Len(t, r.Checked, 5, "gradient ratio, global norm, dead units, saturation, update ratios")
	assert.Contains(t, r.Checked[0], "gradient norm of w1 / w4: 0.25")
	assert.Contains(t, r.Checked[2], "dead units: at most 3.0% (layer h3")
	assert.Contains(t, r.Checked[3], "saturation: at most 2.0% (layer h2")
	assert.Contains(t, r.Checked[4], "from 0.001 (w1) to 0.001 (w1)")
	assert.Contains(t, r.String(), "findings: none")
}

func TestEachRuleFindsItsCondition(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(i int, d *train.Diagnostics)
		kind    string
		subject string
		value   float64
		since   int
		text    string
	}{
		{"vanishing gradients: the first layer's norm a tiny fraction of the last's", func(i int, d *train.Diagnostics) {
			d.Params[0].GradNorm = 4e-5 // w4's is 0.4: a ratio of 1e-4
		}, "vanishing-gradients", "w1", 1e-4, 1, "is 0.0001 of the last layer's w4"},
		{"exploding gradients: the first layer's norm far above the last's", func(i int, d *train.Diagnostics) {
			d.Params[0].GradNorm = 80
		}, "exploding-gradients", "w1", 200, 1, "is 200 times the last layer's w4"},
		{"growing gradients: the global norm rising a thousandfold", func(i int, d *train.Diagnostics) {
			for k := range d.Params {
				d.Params[k].GradNorm *= math.Pow(10, float64(i)/10) // 10^3.9 by the end
			}
		}, "growing-gradients", "all parameters", math.Pow(10, 3.9), 310, "times, above 1000"},
		{"dead units, from the step they appeared", func(i int, d *train.Diagnostics) {
			if d.Step >= 150 {
				d.Layers[2].Dead = 0.6
			}
		}, "dead-units", "h3", 0.6, 150, "has 60.0% of its units dead"},
		{"saturated units", func(i int, d *train.Diagnostics) {
			d.Layers[0].Saturated = 0.3 + 0.01*float64(i)
		}, "saturation", "h1", 0.3 + 0.01*29.5, 1, "of its values saturated"},
		{"large updates", func(i int, d *train.Diagnostics) {
			d.Params[2].UpdateRatio = 0.5
		}, "large-updates", "w2", 0.5, 1, "above 0.1"},
		{"small updates", func(i int, d *train.Diagnostics) {
			d.Params[0].UpdateRatio, d.Params[6].UpdateRatio = 1e-7, 2e-6
		}, "small-updates", "w1, w4", 1e-7, 1, "w1 1e-07"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := train.Diagnose(healthy(40, c.edit))
			require.Equal(t, []string{c.kind}, kinds(r), "%s", r)
			f := r.Findings[0]
			assert.Equal(t, c.subject, f.Subject)
			assert.InEpsilon(t, c.value, f.Value, 1e-9)
			assert.Equal(t, c.since, f.Since)
			assert.Contains(t, f.Text, c.text)
			assert.NotEmpty(t, f.Advice)
			assert.Contains(t, r.String(), "try: "+f.Advice)
		})
	}
}

func TestAConditionThatPassedIsNoFinding(t *testing.T) {
	// Dead units in the first half that recovered: the later half's median is what counts.
	r := train.Diagnose(healthy(40, func(i int, d *train.Diagnostics) {
		if i < 15 {
			d.Layers[2].Dead = 0.9
		}
	}))
	assert.Empty(t, r.Findings, "%s", r)
	assert.Contains(t, r.Checked[2], "at most 90.0%", "the peak is still measured")
}

func TestDiagnoseOfNothing(t *testing.T) {
	r := train.Diagnose(nil)
	assert.Zero(t, r.Records)
	assert.Equal(t, "diagnostics: no records\n", r.String())
}
