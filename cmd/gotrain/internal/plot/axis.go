package plot

import (
	"math"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
)

// maxMagnitude is the largest |value| plotted. Beyond it spans and paddings
// could overflow to Inf, so such values are treated like Inf and skipped.
const maxMagnitude = 1e300

// maxTickCount caps tick generation whatever the range, as a guard.
const maxTickCount = 200

// tick is one tick mark on an axis, at V in data units. Minor ticks carry no
// label and get a fainter gridline.
type tick struct {
	V     float64
	Label string
	Minor bool
}

// axis maps data values to pixels. lo and hi are in axis space: the data
// value itself, or its base-10 logarithm on a log axis.
type axis struct {
	log    bool
	lo, hi float64
}

// toAxis converts a data value to axis space, reporting false for values the
// axis cannot show (NaN, ±Inf, beyond maxMagnitude, non-positive on a log axis).
func toAxis(v float64, log bool) (float64, bool) {
	if math.IsNaN(v) || math.Abs(v) > maxMagnitude {
		return 0, false
	}
	if log {
		if v < 1/maxMagnitude { // also v <= 0; and 10^(a padded log10 of a subnormal) is 0
			return 0, false
		}
		return math.Log10(v), true
	}
	return v, true
}

// frac is the position of axis-space value t along the axis, 0 at lo, 1 at hi.
func (a axis) frac(t float64) float64 { return (t - a.lo) / (a.hi - a.lo) }

// newAxis picks the shown range for data spanning [lo, hi] in axis space:
// padded by a small margin so lines do not run along the frame, or, when
// the data are (nearly) constant, widened around the value so the line sits
// in the middle of a readable range.
func newAxis(lo, hi float64, log bool) axis {
	span := hi - lo
	flat := span <= 1e-9*math.Max(math.Abs(lo), math.Abs(hi))
	if log {
		flat = flat || span < 1e-6 // under a millionth of a decade
	}
	if flat || !(span > 0) {
		mid := lo/2 + hi/2
		switch {
		case log:
			return axis{log, mid - 0.5, mid + 0.5}
		case mid == 0:
			return axis{log, -1, 1}
		default:
			d := float64(0.1 * math.Abs(mid)) // float64(): no fused multiply-add
			return axis{log, mid - d, mid + d}
		}
	}
	pad := float64(0.03 * span)
	if log { // keep 10^lo and 10^hi finite and non-zero
		return axis{log, max(lo-pad, -307), min(hi+pad, 307)}
	}
	return axis{log, lo - pad, hi + pad}
}

// ticks returns the axis's ticks, aiming for at most maxTicks labelled ones.
func (a axis) ticks(maxTicks int) []tick {
	if a.log {
		return logTicks(math.Pow(10, a.lo), math.Pow(10, a.hi), maxTicks)
	}
	return linearTicks(a.lo, a.hi, maxTicks)
}

// niceStep returns the smallest step of the form {1, 2, 5}×10^k that splits
// span into at most maxIntervals intervals, or 0 if there is none.
func niceStep(span float64, maxIntervals int) float64 {
	if !(span > 0) || math.IsInf(span, 0) || maxIntervals < 1 {
		return 0
	}
	raw := span / float64(maxIntervals)
	base := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if s := m * base; s >= raw*(1-1e-9) {
			return s
		}
	}
	return 10 * base
}

// linearTicks returns ticks at the multiples of a 1-2-5 step inside
// [lo, hi], at most maxTicks of them, labelled with as many decimals as the
// step needs (or in 1.5e-5 style for very small or very large values).
func linearTicks(lo, hi float64, maxTicks int) []tick {
	step := niceStep(hi-lo, max(maxTicks-1, 1))
	if step == 0 || math.IsNaN(lo) || math.IsNaN(hi) {
		return nil
	}
	k0 := math.Ceil(lo/step - 1e-9)
	k1 := math.Floor(hi/step + 1e-9)
	// A step as long as the range may leave a single tick, or none: step
	// down the 1-2-5 ladder until there are two, overshooting maxTicks a
	// little rather than leaving the axis unlabelled.
	for i := 0; i < 3 && k1-k0 < 1; i++ {
		step = niceStep(step/2.5, 1) // 5 to 2, 2 to 1, 1 to 0.5
		k0 = math.Ceil(lo/step - 1e-9)
		k1 = math.Floor(hi/step + 1e-9)
	}
	if !(k1-k0 < maxTickCount) {
		return nil
	}
	stepExp := int(math.Floor(math.Log10(step) + 1e-9))
	big := math.Max(math.Abs(lo), math.Abs(hi))
	sci := stepExp < -4 || big >= 1e6
	var ts []tick
	for k := k0; k <= k1; k++ {
		v := k * step
		if math.Abs(v) < step*1e-6 {
			v = 0 // no "-0" or 1e-17 from rounding
		}
		ts = append(ts, tick{V: v, Label: formatTick(v, stepExp, sci)})
	}
	return ts
}

// formatTick writes v to the precision that a step of 10^stepExp needs.
// Every label on an axis gets the same decimals ("0.5", "1.0", "1.5").
func formatTick(v float64, stepExp int, sci bool) string {
	if !sci {
		return strconv.FormatFloat(v, 'f', max(0, -stepExp), 64)
	}
	if v == 0 {
		return "0"
	}
	digits := int(math.Floor(math.Log10(math.Abs(v)))) - stepExp
	return sciLabel(strconv.FormatFloat(v, 'e', min(max(digits, 0), 15), 64))
}

// sciLabel tidies Go's exponent form: "1.50e-05" becomes "1.5e-5", "2e+06" "2e6".
func sciLabel(s string) string {
	mant, exp, ok := strings.Cut(s, "e")
	if !ok {
		return s
	}
	if strings.Contains(mant, ".") {
		mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
	}
	sign := ""
	switch {
	case strings.HasPrefix(exp, "-"):
		sign, exp = "-", exp[1:]
	case strings.HasPrefix(exp, "+"):
		exp = exp[1:]
	}
	exp = strings.TrimLeft(exp, "0")
	if exp == "" {
		return mant
	}
	return mant + "e" + sign + exp
}

// logTicks returns ticks for a log axis over [lo, hi] (data units, lo > 0).
// Powers of ten are labelled, thinned to every 2nd, 5th, 10th... when there
// are more than maxTicks; the 2..9 multiples between them are minor ticks.
// A range with fewer than two powers of ten is labelled at 1-2-5 multiples
// instead, or failing that with linear ticks.
func logTicks(lo, hi float64, maxTicks int) []tick {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return nil
	}
	maxTicks = max(maxTicks, 2)
	elo, ehi := math.Log10(lo), math.Log10(hi)
	e0 := int(math.Ceil(elo - 1e-9))
	e1 := int(math.Floor(ehi + 1e-9))
	in := func(v float64) bool { return v >= lo*(1-1e-9) && v <= hi*(1+1e-9) }

	if n := e1 - e0 + 1; n >= 2 {
		stride := 1
		for _, s := range []int{1, 2, 5, 10, 20, 50, 100, 200, 500} {
			stride = s
			if (n+s-1)/s <= maxTicks {
				break
			}
		}
		plain := e0 >= -2 && e1 <= 3
		var ts []tick
		for e := e0; e <= e1; e++ {
			switch {
			case e%stride == 0:
				ts = append(ts, tick{V: pow10(e), Label: powLabel(e, plain)})
			case stride <= 10:
				ts = append(ts, tick{V: pow10(e), Minor: true})
			}
		}
		if stride == 1 && n <= 12 {
			for e := e0 - 1; e <= e1; e++ {
				for m := 2; m <= 9; m++ {
					if v := float64(m) * pow10(e); in(v) {
						ts = append(ts, tick{V: v, Minor: true})
					}
				}
			}
		}
		return ts
	}

	// Less than two decades' worth of powers: label 1, 2 and 5 multiples.
	var major, minor []tick
	for e := int(math.Floor(elo)); e <= int(math.Ceil(ehi)); e++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * pow10(e)
			if !in(v) {
				continue
			}
			if m == 1 || m == 2 || m == 5 {
				major = append(major, tick{V: v, Label: multLabel(m, e)})
			} else {
				minor = append(minor, tick{V: v, Minor: true})
			}
		}
	}
	if len(major) >= 2 && len(major) <= maxTicks {
		return append(major, minor...)
	}
	return linearTicks(lo, hi, maxTicks)
}

// pow10 is 10^e for the exponents a float64 range can hold.
func pow10(e int) float64 { return math.Pow(10, float64(e)) }

// powLabel labels 10^e: "1e-3" style, or plainly ("0.01", "1", "100") when
// every power on the axis lies in [0.01, 1000] so the axis reads one way.
func powLabel(e int, plain bool) string {
	if plain {
		return strconv.FormatFloat(pow10(e), 'f', max(0, -e), 64)
	}
	return "1e" + strconv.Itoa(e)
}

// multLabel labels m×10^e, plainly for moderate exponents.
func multLabel(m, e int) string {
	if e >= -4 && e <= 5 {
		return strconv.FormatFloat(float64(m)*pow10(e), 'f', max(0, -e), 64)
	}
	return strconv.Itoa(m) + "e" + strconv.Itoa(e)
}

// integerTicks drops ticks that are not whole numbers; when that leaves fewer than two, it puts
// a tick on every whole number of the axis (a short integer axis such as 1..3 epochs).
func integerTicks(ts []tick, a axis) []tick {
	var out []tick
	for _, t := range ts {
		if t.V == math.Trunc(t.V) {
			if math.Abs(t.V) < 1e6 {
				t.Label = strconv.FormatFloat(t.V, 'f', 0, 64) // "2", not "2.0"
			}
			out = append(out, t)
		}
	}
	if len(out) >= 2 {
		return out
	}
	out = out[:0]
	for v := math.Ceil(a.lo); v <= math.Floor(a.hi) && len(out) < maxTickCount; v++ {
		out = append(out, tick{V: v, Label: strconv.FormatFloat(v, 'f', 0, 64)})
	}
	return out
}

// ticker gives gonum/plot an axis's ticks: at most max labelled ones, whole numbers only when
// integer is set (on a linear axis). gonum's own tickers label too few values on a log axis
// spanning less than a decade and put fractions on epoch axes.
type ticker struct {
	log, integer bool
	max          int
}

// Ticks implements gonum's plot.Ticker for the range [lo, hi] in data units.
func (t ticker) Ticks(lo, hi float64) []gplot.Tick {
	var ts []tick
	if t.log {
		ts = logTicks(lo, hi, t.max)
	} else {
		ts = linearTicks(lo, hi, t.max)
		if t.integer {
			ts = integerTicks(ts, axis{lo: lo, hi: hi})
		}
	}
	out := make([]gplot.Tick, 0, len(ts))
	for _, k := range ts {
		label := k.Label
		if k.Minor {
			label = "" // gonum's mark of a minor tick
		}
		out = append(out, gplot.Tick{Value: k.V, Label: label})
	}
	return out
}
