package serve

import (
	"math"
	"strconv"
)

// minMax picks the rows a chart needs to draw y against x at a width of about buckets pixels:
// the finite points are cut into buckets of consecutive rows and each bucket keeps its smallest
// and its largest point, in row order, plus the curve's first and last points. A spike in a
// 10,000-step curve survives, which averaging or every-n-th sampling would lose, and the answer
// stays at most 2×buckets+2 points however long the run.
func minMax(x, y []float32, buckets int) []int {
	var idx []int
	for i := range y {
		if finite(x[i]) && finite(y[i]) {
			idx = append(idx, i)
		}
	}
	if buckets < 1 || len(idx) <= 2*buckets+2 {
		return idx
	}
	out := make([]int, 0, 2*buckets+2)
	n := len(idx)
	out = append(out, idx[0])
	for b := 0; b < buckets; b++ {
		lo, hi := b*n/buckets, (b+1)*n/buckets
		if lo >= hi {
			continue
		}
		mn, mx := idx[lo], idx[lo]
		for _, i := range idx[lo:hi] {
			if y[i] < y[mn] {
				mn = i
			}
			if y[i] > y[mx] {
				mx = i
			}
		}
		a, c := min(mn, mx), max(mn, mx)
		if a != out[len(out)-1] {
			out = append(out, a)
		}
		if c != a {
			out = append(out, c)
		}
	}
	if last := idx[n-1]; last != out[len(out)-1] {
		out = append(out, last)
	}
	return out
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// smooth is TensorBoard's debiased exponential moving average: each point is
// w·previous + (1−w)·value, divided by 1−wⁿ so the first points are not pulled towards zero.
// Missing values are carried over, not averaged in.
func smooth(y []float32, w float64) []float32 {
	out := make([]float32, len(y))
	last, wn := 0.0, 1.0 // wn is wⁿ
	for i, v := range y {
		if !finite(v) {
			out[i] = v
			continue
		}
		last = last*w + (1-w)*float64(v)
		wn *= w
		debias := 1 - wn
		if debias == 0 {
			debias = 1
		}
		out[i] = float32(last / debias)
	}
	return out
}

// floats is a list of numbers that writes NaN and infinities as JSON null, and each value with
// at most 6 significant digits: a chart cannot show more, and it keeps long overlays light.
type floats []float32

// MarshalJSON writes the list by hand: encoding/json refuses NaN.
func (f floats) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(f)*8)
	b = append(b, '[')
	for i, v := range f {
		if i > 0 {
			b = append(b, ',')
		}
		if !finite(v) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, float64(v), 'g', 6, 32)
	}
	return append(b, ']'), nil
}

// series is one curve as the page draws it: x, y and, with smoothing asked for, the smoothed y.
type series struct {
	X floats `json:"x"`
	Y floats `json:"y"`
	S floats `json:"s,omitempty"`
}

// pick downsamples column y against column x of a table for a chart of buckets pixels; w > 0
// smooths over every row first, so a downsampled curve shows the same trend as the whole.
func pick(x, y []float32, buckets int, w float64) series {
	idx := minMax(x, y, buckets)
	s := series{X: make(floats, len(idx)), Y: make(floats, len(idx))}
	var sm []float32
	if w > 0 {
		sm = smooth(y, w)
		s.S = make(floats, len(idx))
	}
	for j, i := range idx {
		s.X[j], s.Y[j] = x[i], y[i]
		if sm != nil {
			s.S[j] = sm[i]
		}
	}
	return s
}
