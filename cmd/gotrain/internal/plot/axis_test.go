package plot

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func labels(ts []tick) []string {
	var out []string
	for _, t := range ts {
		if t.Label != "" {
			out = append(out, t.Label)
		}
	}
	return out
}

func TestNiceStep(t *testing.T) {
	tests := []struct {
		name      string
		span      float64
		intervals int
		want      float64
	}{
		{"a unit span in five parts steps by 0.2", 1, 5, 0.2},
		{"a unit span in four parts rounds 0.25 up to 0.5", 1, 4, 0.5},
		{"ten in ten parts steps by 1", 10, 10, 1},
		{"an exact power of ten is kept", 1000, 1, 1000},
		{"just over a nice step goes to the next", 2001, 10, 500},
		{"seven in two parts steps by 5", 7, 2, 5},
		{"tiny spans step by tiny powers", 3e-9, 3, 1e-9},
		{"huge spans step by huge powers", 4e12, 4, 1e12},
		{"a zero span has no step", 0, 5, 0},
		{"a negative span has no step", -1, 5, 0},
		{"an infinite span has no step", math.Inf(1), 5, 0},
		{"a NaN span has no step", math.NaN(), 5, 0},
		{"zero intervals has no step", 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := niceStep(tt.span, tt.intervals)
			assert.InDelta(t, tt.want, got, 1e-9*tt.want)
		})
	}
}

func TestLinearTicks(t *testing.T) {
	tests := []struct {
		name     string
		lo, hi   float64
		maxTicks int
		want     []string
	}{
		{"a unit range gets fifths, all with one decimal", 0, 1, 6, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{"ticks stay inside the range", 0.05, 0.97, 6, []string{"0.2", "0.4", "0.6", "0.8"}},
		{"a range across zero has no negative zero", -1, 1, 5, []string{"-1.0", "-0.5", "0.0", "0.5", "1.0"}},
		{"integers get no decimals", 0, 2000, 5, []string{"0", "500", "1000", "1500", "2000"}},
		{"small steps get the decimals they need", 0.001, 0.0042, 5, []string{"0.001", "0.002", "0.003", "0.004"}},
		{"large values use exponents", 0, 3e6, 4, []string{"0", "1e6", "2e6", "3e6"}},
		{"large values keep the digits that differ", 1e6, 2e6, 3, []string{"1e6", "1.5e6", "2e6"}},
		{"tiny steps use exponents", 0, 5e-5, 6, []string{"0", "1e-5", "2e-5", "3e-5", "4e-5", "5e-5"}},
		{"an offset tiny range keeps its digits", 1.2e-5, 1.6e-5, 5, []string{"1.2e-5", "1.3e-5", "1.4e-5", "1.5e-5", "1.6e-5"}},
		{"percentages", 58.6, 101.3, 6, []string{"60", "70", "80", "90", "100"}},
		{"negative ranges", -0.35, -0.05, 4, []string{"-0.3", "-0.2", "-0.1"}},
		{"a short axis still gets two ticks", 0.94, 3.06, 2, []string{"1", "2", "3"}},
		{"an empty range has no ticks", 1, 1, 5, nil},
		{"a reversed range has no ticks", 2, 1, 5, nil},
		{"NaN has no ticks", math.NaN(), 1, 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := linearTicks(tt.lo, tt.hi, tt.maxTicks)
			assert.Equal(t, tt.want, labels(ts))
			assert.LessOrEqual(t, len(ts), max(tt.maxTicks, 3))
			for _, tk := range ts {
				assert.False(t, tk.Minor)
				assert.GreaterOrEqual(t, tk.V, tt.lo-1e-9*math.Abs(tt.lo))
				assert.LessOrEqual(t, tk.V, tt.hi+1e-9*math.Abs(tt.hi))
			}
		})
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		name     string
		lo, hi   float64
		maxTicks int
		want     []string
	}{
		{"an lr sweep is labelled in 1e-3 style", 1e-7, 10, 10,
			[]string{"1e-7", "1e-6", "1e-5", "1e-4", "1e-3", "1e-2", "1e-1", "1e0", "1e1"}},
		{"powers within 0.01..1000 read plainly", 0.01, 1000, 10,
			[]string{"0.01", "0.1", "1", "10", "100", "1000"}},
		{"a range reaching 1e4 switches the whole axis to exponents", 0.5, 2e4, 10,
			[]string{"1e0", "1e1", "1e2", "1e3", "1e4"}},
		{"many decades are thinned to every fifth", 1e-12, 1e12, 8,
			[]string{"1e-10", "1e-5", "1e0", "1e5", "1e10"}},
		{"many decades are thinned to every second", 1e-9, 1e3, 8,
			[]string{"1e-8", "1e-6", "1e-4", "1e-2", "1e0", "1e2"}},
		{"under two powers of ten, 1-2-5 multiples are labelled", 0.12, 2.6, 8,
			[]string{"0.2", "0.5", "1", "2"}},
		{"1-2-5 multiples of tiny values use exponents", 1.5e-6, 6e-6, 8,
			[]string{"2e-6", "5e-6"}},
		{"under one 1-2-5 multiple falls back to linear ticks", 3, 9, 5,
			[]string{"4", "6", "8"}},
		{"non-positive ranges have no ticks", 0, 10, 5, nil},
		{"infinite ranges have no ticks", 1, math.Inf(1), 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, labels(logTicks(tt.lo, tt.hi, tt.maxTicks)))
		})
	}
}

func TestLogTicksHaveMinorTicksBetweenDecades(t *testing.T) {
	ts := logTicks(1, 100, 10)
	var minor []float64
	for _, tk := range ts {
		if tk.Minor {
			require.Empty(t, tk.Label, "minor ticks carry no label")
			minor = append(minor, tk.V)
		}
	}
	assert.InDeltaSlice(t, []float64{2, 3, 4, 5, 6, 7, 8, 9, 20, 30, 40, 50, 60, 70, 80, 90}, minor, 1e-9)
}

func TestSciLabel(t *testing.T) {
	for in, want := range map[string]string{
		"1.50e-05":  "1.5e-5",
		"2e+06":     "2e6",
		"1.000e+00": "1",
		"-3.20e+10": "-3.2e10",
		"5e-300":    "5e-300",
		"12":        "12",
	} {
		t.Run(in+" reads as "+want, func(t *testing.T) {
			assert.Equal(t, want, sciLabel(in))
		})
	}
}

func TestNewAxis(t *testing.T) {
	tests := []struct {
		name           string
		lo, hi         float64
		log            bool
		wantLo, wantHi float64
	}{
		{"a range is padded by 3% each side", 0, 100, false, -3, 103},
		{"a constant is widened by 10%", 5, 5, false, 4.5, 5.5},
		{"a constant zero is widened to [-1, 1]", 0, 0, false, -1, 1},
		{"a constant on a log axis is widened by half a decade", -2, -2, true, -2.5, -1.5},
		{"a sub-nano relative wobble counts as constant", 1, 1 + 1e-12, false, 0.9, 1.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAxis(tt.lo, tt.hi, tt.log)
			assert.InDelta(t, tt.wantLo, a.lo, 1e-9)
			assert.InDelta(t, tt.wantHi, a.hi, 1e-9)
			assert.Equal(t, tt.log, a.log)
		})
	}
}

func TestIntegerTicksKeepWholeNumbersOnly(t *testing.T) {
	a := newAxis(1, 3, false)
	got := integerTicks(a.ticks(9), a)
	var labels []string
	for _, tk := range got {
		labels = append(labels, tk.Label)
	}
	assert.Equal(t, []string{"1", "2", "3"}, labels)
	a = newAxis(1, 2, false)
	got = integerTicks([]tick{{V: 1.5, Label: "1.5"}}, a)
	require.Len(t, got, 2, "falls back to every whole number")
	assert.Equal(t, "1", got[0].Label)
}
