package train

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gotrain/gotrain/models"
)

// The thresholds of Diagnose's rules. A rule looks at the later half of a run's diagnostic records
// (the run "sustains" a condition when it holds for their median; GrowthFactor alone compares the
// largest record with the first) and names, beside its measurement, the value at the first and
// last records and the first step where the condition held.
const (
	// VanishingRatio: the first weight tensor's gradient norm below this fraction of the last
	// one's. Through n sigmoid layers the backward pass multiplies by σ' <= 1/4 per layer, so
	// six layers can shrink it by 4⁻⁶ ≈ 2.4e-4; ReLU networks with He init stay near 1.
	VanishingRatio = 1e-2
	// ExplodingRatio: the first weight tensor's gradient norm above this multiple of the last's.
	ExplodingRatio = 1e2
	// GrowthFactor: the global gradient norm rising this many times above its first record.
	GrowthFactor = 1e3
	// DeadFraction: the fraction of a ReLU-family layer's units dead on the whole batch.
	DeadFraction = 0.25
	// SaturatedFraction: the fraction of a sigmoid or tanh layer's values in the flat tails.
	SaturatedFraction = 0.25
	// UpdateRatioHigh and UpdateRatioLow bound ||Δw||/||w|| per step of a weight tensor around
	// the usual 1e-3 (Karpathy's rule of thumb): four decades below, two above.
	UpdateRatioHigh = 1e-1
	UpdateRatioLow  = 1e-5
)

// Finding is one condition a run's diagnostics show, with the measurement it rests on.
type Finding struct {
	// Kind is one of "vanishing-gradients", "exploding-gradients", "growing-gradients",
	// "dead-units", "saturation", "large-updates", "small-updates".
	Kind string
	// Subject names the layers or parameters concerned.
	Subject string
	// Value is the measurement (the median over the later half of the records) and Threshold
	// the limit it crossed.
	Value, Threshold float64
	// Since is the first diagnostic step where the condition held.
	Since int
	// Text says what was measured, with numbers; Advice the change usually tried.
	Text, Advice string
}

// Report is what Diagnose finds in a run's diagnostics.
type Report struct {
	Records             int
	FirstStep, LastStep int
	Findings            []Finding
	// Checked has one line per rule with what was measured, findings or not: what a clean
	// report rests on.
	Checked []string
}

// String renders the report as the CLI prints it.
func (r Report) String() string {
	var b strings.Builder
	if r.Records == 0 {
		return "diagnostics: no records\n"
	}
	fmt.Fprintf(&b, "diagnostics: %d records, steps %d to %d\n", r.Records, r.FirstStep, r.LastStep)
	if len(r.Findings) == 0 {
		b.WriteString("  findings: none\n")
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "  %s: %s\n    try: %s\n", strings.ReplaceAll(f.Kind, "-", " "), f.Text, f.Advice)
	}
	b.WriteString("  measured:\n")
	for _, c := range r.Checked {
		fmt.Fprintf(&b, "    %s\n", c)
	}
	return b.String()
}

// series is one quantity over the records, NaN where a record lacks it.
type series struct {
	steps []int
	v     []float64
}

// later is the median over the later half of the records (NaN when none is finite).
func (s series) later() float64 {
	return median(s.v[len(s.v)/2:])
}

// firstWhere is the first step where ok holds, or 0.
func (s series) firstWhere(ok func(float64) bool) int {
	for i, v := range s.v {
		if ok(v) {
			return s.steps[i]
		}
	}
	return 0
}

// first and last are the first and last finite values with their steps.
func (s series) first() (int, float64) {
	for i, v := range s.v {
		if finite(v) {
			return s.steps[i], v
		}
	}
	return 0, math.NaN()
}

func (s series) last() (int, float64) {
	for i := len(s.v) - 1; i >= 0; i-- {
		if finite(s.v[i]) {
			return s.steps[i], s.v[i]
		}
	}
	return 0, math.NaN()
}

func (s series) span() string {
	a, va := s.first()
	b, vb := s.last()
	return fmt.Sprintf("%.3g at step %d, %.3g at step %d", va, a, vb, b)
}

func median(v []float64) float64 {
	f := make([]float64, 0, len(v))
	for _, x := range v {
		if finite(x) {
			f = append(f, x)
		}
	}
	if len(f) == 0 {
		return math.NaN()
	}
	slices.Sort(f)
	if n := len(f); n%2 == 0 {
		return (f[n/2-1] + f[n/2]) / 2
	}
	return f[len(f)/2]
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// Diagnose applies the rules whose thresholds are the constants above to a run's diagnostics
// (in step order; records of other shapes than the first, say from another model, are skipped).
func Diagnose(recs []Diagnostics) Report {
	var r Report
	if len(recs) == 0 {
		return r
	}
	ref := recs[0]
	var use []Diagnostics
	for _, d := range recs {
		if len(d.Params) == len(ref.Params) && len(d.Layers) == len(ref.Layers) {
			use = append(use, d)
		}
	}
	r.Records, r.FirstStep, r.LastStep = len(use), use[0].Step, use[len(use)-1].Step
	half := fmt.Sprintf("median of the last %d of %d records", len(use)-len(use)/2, len(use))
	steps := make([]int, len(use))
	for i, d := range use {
		steps[i] = d.Step
	}
	get := func(f func(d Diagnostics) float64) series {
		s := series{steps: steps, v: make([]float64, len(use))}
		for i, d := range use {
			s.v[i] = f(d)
		}
		return s
	}
	add := func(f Finding) { r.Findings = append(r.Findings, f) }

	// Gradient flow: the first weight tensor against the last.
	var weights []int
	for i, p := range ref.Params {
		if p.Kind == models.Weight {
			weights = append(weights, i)
		}
	}
	if len(weights) >= 2 {
		a, b := weights[0], weights[len(weights)-1]
		na, nb := ref.Params[a].Name, ref.Params[b].Name
		ratio := get(func(d Diagnostics) float64 {
			if g := d.Params[b].GradNorm; g > 0 {
				return d.Params[a].GradNorm / g
			}
			return math.NaN()
		})
		m := ratio.later()
		r.Checked = append(r.Checked, fmt.Sprintf("gradient norm of %s / %s: %.3g (%s; %s; limits %g and %g)",
			na, nb, m, half, ratio.span(), VanishingRatio, ExplodingRatio))
		switch {
		case m < VanishingRatio:
			add(Finding{Kind: "vanishing-gradients", Subject: na, Value: m, Threshold: VanishingRatio,
				Since: ratio.firstWhere(func(v float64) bool { return v < VanishingRatio }),
				Text: fmt.Sprintf("the gradient norm of the first layer's weights %s is %.3g of the last layer's %s (%s; %s), below %g",
					na, m, nb, half, ratio.span(), VanishingRatio),
				Advice: "a ReLU-family activation with He init instead of sigmoid or tanh (-activation relu -init auto); batch normalisation (bn); fewer layers"})
		case m > ExplodingRatio:
			add(Finding{Kind: "exploding-gradients", Subject: na, Value: m, Threshold: ExplodingRatio,
				Since: ratio.firstWhere(func(v float64) bool { return v > ExplodingRatio }),
				Text: fmt.Sprintf("the gradient norm of the first layer's weights %s is %.3g times the last layer's %s (%s; %s), above %g",
					na, m, nb, half, ratio.span(), ExplodingRatio),
				Advice: "a lower -lr; gradient clipping (-clip-norm 1); a smaller init (-init glorot); batch normalisation (bn)"})
		}
	}
	global := get(func(d Diagnostics) float64 {
		s := 0.0
		for _, p := range d.Params {
			s += p.GradNorm * p.GradNorm
		}
		return math.Sqrt(s)
	})
	if s0, g0 := global.first(); g0 > 0 {
		peak, at := 0.0, 0
		for i, v := range global.v {
			if v > peak {
				peak, at = v, global.steps[i]
			}
		}
		growth := peak / g0
		r.Checked = append(r.Checked, fmt.Sprintf("global gradient norm: %.3g at step %d, at most %.3g (step %d), %.3g times the first (limit %g)",
			g0, s0, peak, at, growth, GrowthFactor))
		if growth > GrowthFactor {
			add(Finding{Kind: "growing-gradients", Subject: "all parameters", Value: growth, Threshold: GrowthFactor,
				Since:  global.firstWhere(func(v float64) bool { return v > GrowthFactor*g0 }),
				Text:   fmt.Sprintf("the global gradient norm grew from %.3g at step %d to %.3g at step %d, %.3g times, above %g", g0, s0, peak, at, growth, GrowthFactor),
				Advice: "a lower -lr; gradient clipping (-clip-norm 1); a warm-up (-schedule warmup:...)"})
		}
	}

	// Units: dead ReLU-family units and saturated sigmoid or tanh values, per layer.
	for _, rule := range []struct {
		kind, what string
		limit      float64
		pick       func(LayerStats) float64
		advice     string
	}{
		{"dead-units", "of its units dead", DeadFraction, func(l LayerStats) float64 { return l.Dead },
			"a lower -lr (dead units follow large updates that push a unit's input negative for every example); leaky ReLU or ELU (-activation leakyrelu); He init (-init he); Adam or a warm-up rather than a high plain-SGD rate"},
		{"saturation", "of its values saturated", SaturatedFraction, func(l LayerStats) float64 { return l.Saturated },
			"a ReLU-family activation with He init (-activation relu); batch normalisation before the activation (bn); a smaller init (-init glorot) or a lower -lr"},
	} {
		worst, worstAt, worstLayer, seen := 0.0, 0, "", false
		for li, l := range ref.Layers {
			s := get(func(d Diagnostics) float64 { return rule.pick(d.Layers[li]) })
			if _, v := s.first(); !finite(v) {
				continue
			}
			seen = true
			for i, v := range s.v {
				if finite(v) && (v > worst || worstLayer == "") {
					worst, worstAt, worstLayer = v, s.steps[i], l.Name
				}
			}
			m := s.later()
			if m < rule.limit {
				continue
			}
			rules := DeadRule(l.Act)
			if rule.kind == "saturation" {
				rules = SaturationRule(l.Act)
			}
			if use[0].Batch > 0 && rule.kind == "dead-units" {
				rules = strings.Replace(rules, "the batch", fmt.Sprintf("the batch of %d", use[0].Batch), 1)
			}
			add(Finding{Kind: rule.kind, Subject: l.Name, Value: m, Threshold: rule.limit,
				Since: s.firstWhere(func(v float64) bool { return v >= rule.limit }),
				Text: fmt.Sprintf("layer %s (%v, %d units) has %s %s (%s; %s), at or above %s since step %d (%s)",
					l.Name, l.Act, l.Units(), pct(m), rule.what, half, pctSpan(s), pct(rule.limit),
					s.firstWhere(func(v float64) bool { return v >= rule.limit }), rules),
				Advice: rule.advice})
		}
		if seen {
			r.Checked = append(r.Checked, fmt.Sprintf("%s: at most %s (layer %s, step %d; limit %s for the %s)",
				strings.ReplaceAll(rule.kind, "-", " "), pct(worst), worstLayer, worstAt, pct(rule.limit), half))
		}
	}

	// Update ratios of the weight tensors.
	type ratioOf struct {
		name string
		m    float64
		s    series
	}
	var ratios []ratioOf
	for _, i := range weights {
		s := get(func(d Diagnostics) float64 { return d.Params[i].UpdateRatio })
		if m := s.later(); finite(m) {
			ratios = append(ratios, ratioOf{ref.Params[i].Name, m, s})
		}
	}
	if len(ratios) > 0 {
		lo, hi := ratios[0], ratios[0]
		for _, x := range ratios {
			if x.m < lo.m {
				lo = x
			}
			if x.m > hi.m {
				hi = x
			}
		}
		r.Checked = append(r.Checked, fmt.Sprintf("update ratio ||Δw||/||w|| of the weights: from %.3g (%s) to %.3g (%s) (%s; limits %g and %g)",
			lo.m, lo.name, hi.m, hi.name, half, UpdateRatioLow, UpdateRatioHigh))
		for _, side := range []struct {
			kind    string
			limit   float64
			outside func(float64) bool
			word    string
			advice  string
		}{
			{"large-updates", UpdateRatioHigh, func(v float64) bool { return v > UpdateRatioHigh }, "above",
				"a lower -lr (the ratio scales with it: divide by about ratio/1e-3); gradient clipping (-clip-norm)"},
			{"small-updates", UpdateRatioLow, func(v float64) bool { return v < UpdateRatioLow }, "below",
				"a higher -lr, or Adam, whose steps do not shrink with the gradient; if the gradient vanishes there, the fixes for that"},
		} {
			var names, vals []string
			since, worst := 0, math.NaN()
			for _, x := range ratios {
				if !side.outside(x.m) {
					continue
				}
				names, vals = append(names, x.name), append(vals, fmt.Sprintf("%s %.3g (%s)", x.name, x.m, x.s.span()))
				if s := x.s.firstWhere(side.outside); s > 0 && (since == 0 || s < since) {
					since = s
				}
				if math.IsNaN(worst) || (side.kind == "large-updates") == (x.m > worst) {
					worst = x.m
				}
			}
			if len(names) == 0 {
				continue
			}
			add(Finding{Kind: side.kind, Subject: strings.Join(names, ", "), Value: worst, Threshold: side.limit, Since: since,
				Text:   fmt.Sprintf("update ratios ||Δw||/||w|| %s %g, the %s: %s; first at step %d", side.word, side.limit, half, strings.Join(vals, "; "), since),
				Advice: side.advice})
		}
	}
	return r
}

// pctSpan is span with percentages.
func pctSpan(s series) string {
	a, va := s.first()
	b, vb := s.last()
	return fmt.Sprintf("%s at step %d, %s at step %d", pct(va), a, pct(vb), b)
}
