package optim

import (
	"fmt"
	"math"
)

// RangeTest is the learning-rate range test (Leslie Smith, "Cyclical Learning Rates for
// Training Neural Networks", arXiv:1506.01186; fastai's lr_find): train for Steps batches while
// the rate rises exponentially from Start to End, and watch the loss. The rate where the loss
// falls fastest is a good choice; where it blows up is too high.
type RangeTest struct {
	Start, End float64 // defaults 1e-7 and 10
	Steps      int     // default 100
	// Smooth is the exponential-moving-average factor of the loss (default 0.98, fastai's).
	Smooth float64
	// Diverge stops the test once the smoothed loss exceeds Diverge times its best (default 4).
	Diverge float64
}

// RangePoint is one step of the test.
type RangePoint struct {
	LR, Loss, Smoothed float64
}

// RangeResult is the curve and the suggested rates.
type RangeResult struct {
	Points []RangePoint
	// Steepest is the rate where the smoothed loss falls fastest against log(lr).
	Steepest float64
	// Valley is fastai's "valley" suggestion: a rate two thirds of the way into the longest
	// stretch over which the smoothed loss keeps decreasing; it is usually the safer pick.
	Valley float64
	// Stopped says why the test ended: "end" (reached End), "diverged" or "non-finite loss".
	Stopped string
}

// WithDefaults fills unset fields with the defaults.
func (r RangeTest) WithDefaults() RangeTest {
	if r.Start == 0 {
		r.Start = 1e-7
	}
	if r.End == 0 {
		r.End = 10
	}
	if r.Steps == 0 {
		r.Steps = 100
	}
	if r.Smooth == 0 {
		r.Smooth = 0.98
	}
	if r.Diverge == 0 {
		r.Diverge = 4
	}
	return r
}

// Validate checks the options (after defaults).
func (r RangeTest) Validate() error {
	switch {
	case !(r.Start > 0) || !(r.End > r.Start) || math.IsInf(r.End, 0):
		return fmt.Errorf("optim: range test: start %v and end %v: want 0 < start < end: %w", r.Start, r.End, ErrInvalid)
	case r.Steps < 3:
		return fmt.Errorf("optim: range test: steps %d: want at least 3: %w", r.Steps, ErrInvalid)
	case !(r.Smooth >= 0 && r.Smooth < 1):
		return fmt.Errorf("optim: range test: smooth %v: want in [0, 1): %w", r.Smooth, ErrInvalid)
	case !(r.Diverge > 1):
		return fmt.Errorf("optim: range test: diverge %v: want > 1: %w", r.Diverge, ErrInvalid)
	}
	return nil
}

// LR is the rate of step i (from 0): Start·(End/Start)^(i/(Steps-1)).
func (r RangeTest) LR(i int) float64 {
	return r.Start * math.Pow(r.End/r.Start, float64(i)/float64(r.Steps-1))
}

// Curve records the test as it runs: the trainer asks it for each step's rate (LR), trains one
// batch at that rate and gives it the loss (Add), until Add says the test is over; Result then
// analyses the curve. The weights are the trainer's to restore (the test does not know them).
type Curve struct {
	rt        RangeTest
	avg, best float64
	res       RangeResult
	done      bool
}

// Begin validates the test (after defaults) and returns an empty curve.
func (r RangeTest) Begin() (*Curve, error) {
	r = r.WithDefaults()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &Curve{rt: r, best: math.Inf(1), res: RangeResult{Stopped: "end"}}, nil
}

// LR is the rate of the next step.
func (c *Curve) LR() float64 { return c.rt.LR(len(c.res.Points)) }

// Add records the loss of the step taken at LR and reports whether the test is over: the last
// step was taken, the loss is not finite, or the smoothed loss passed Diverge times its best.
func (c *Curve) Add(loss float64) (done bool) {
	if c.done {
		return true
	}
	i := len(c.res.Points)
	lr := c.rt.LR(i)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		c.res.Stopped, c.done = "non-finite loss", true
		return true
	}
	c.avg = c.rt.Smooth*c.avg + (1-c.rt.Smooth)*loss
	smoothed := c.avg / (1 - math.Pow(c.rt.Smooth, float64(i+1)))
	c.res.Points = append(c.res.Points, RangePoint{LR: lr, Loss: loss, Smoothed: smoothed})
	if smoothed < c.best {
		c.best = smoothed
	}
	switch {
	case i > 0 && smoothed > c.rt.Diverge*c.best:
		c.res.Stopped, c.done = "diverged", true
	case i+1 >= c.rt.Steps:
		c.done = true
	}
	return c.done
}

// Result analyses the curve recorded so far: the suggested rates, or an error when too few
// steps were taken to suggest one.
func (c *Curve) Result() (RangeResult, error) {
	res := c.res
	res.Points = append([]RangePoint(nil), c.res.Points...)
	if len(res.Points) < 3 {
		return res, fmt.Errorf("optim: range test stopped after %d steps (%s): start from a lower rate: %w", len(res.Points), res.Stopped, ErrInvalid)
	}
	res.Steepest, res.Valley = suggest(res.Points)
	return res, nil
}

// suggest computes the steepest-descent and valley rates of a curve.
func suggest(pts []RangePoint) (steepest, valley float64) {
	// Steepest: the most negative slope of the smoothed loss against log(lr).
	bestSlope := math.Inf(1)
	for i := 1; i < len(pts)-1; i++ {
		slope := (pts[i+1].Smoothed - pts[i-1].Smoothed) / (math.Log(pts[i+1].LR) - math.Log(pts[i-1].LR))
		if slope < bestSlope {
			bestSlope, steepest = slope, pts[i].LR
		}
	}
	// Valley: the longest decreasing subsequence of the smoothed loss (fastai's algorithm).
	n := len(pts)
	lds := make([]int, n)
	maxStart, maxEnd := 0, 0
	for i := range lds {
		lds[i] = 1
	}
	for i := 1; i < n; i++ {
		for j := 0; j < i; j++ {
			if pts[i].Smoothed < pts[j].Smoothed && lds[i] < lds[j]+1 {
				lds[i] = lds[j] + 1
			}
			if lds[maxEnd] < lds[i] {
				maxEnd = i
				maxStart = maxEnd - lds[maxEnd]
			}
		}
	}
	sections := float64(maxEnd-maxStart) / 3
	idx := maxStart + int(sections) + int(sections/2)
	idx = min(max(idx, 0), n-1)
	return steepest, pts[idx].LR
}
