package plot

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
)

// The charts of a hyperparameter search that a line chart cannot draw: parallel coordinates
// and horizontal bars. They reuse this package's text, lines and colours; being two small
// data-in, image-out types, they port to another plotting library without touching callers'
// data.

// ParallelAxis is one vertical axis of a parallel-coordinates chart: a numeric parameter from
// Lo to Hi (Log: in log scale) or, with Choices, a categorical one whose values are the
// choices' indices.
type ParallelAxis struct {
	Name    string
	Lo, Hi  float64
	Log     bool
	Choices []string
}

// ParallelLine is one trial: a value per axis (NaN where the parameter was not set) and its
// score, which colours the line.
type ParallelLine struct {
	Values []float64
	Score  float64
}

// ParallelChart draws each trial as a line across the axes, coloured by its score's rank from
// light (worst) to dark (best), the best drawn last, on top. Ranks rather than values, so a few
// failures at the bottom do not make every good trial look alike.
type ParallelChart struct {
	Title, ScoreLabel string
	Axes              []ParallelAxis
	Lines             []ParallelLine
	Width, Height     int
}

// SavePNG renders the chart to path atomically.
func (c *ParallelChart) SavePNG(path string) error {
	img, err := c.Render()
	if err != nil {
		return err
	}
	return saveAtomic(path, img)
}

// scoreColor runs from a pale blue to Okabe–Ito's vermillion.
func scoreColor(f float64) color.RGBA {
	f = math.Max(0, math.Min(1, f))
	lo, hi := color.RGBA{0xB8, 0xCF, 0xE6, 0xFF}, color.RGBA{0xD5, 0x5E, 0x00, 0xFF}
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + f*(float64(b)-float64(a)))) }
	return color.RGBA{mix(lo.R, hi.R), mix(lo.G, hi.G), mix(lo.B, hi.B), 0xFF}
}

// Render draws the chart.
func (c *ParallelChart) Render() (*image.RGBA, error) {
	if c == nil || len(c.Axes) < 2 {
		return nil, fmt.Errorf("plot: parallel coordinates need at least two axes: %w", ErrInvalid)
	}
	w, h := c.Width, c.Height
	if w == 0 {
		w = max(DefaultWidth, 170*len(c.Axes))
	}
	if h == 0 {
		h = DefaultHeight
	}
	if w < MinWidth || h < MinHeight || w > MaxSide || h > MaxSide {
		return nil, fmt.Errorf("plot: parallel chart size %dx%d: %w", w, h, ErrInvalid)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, l := range c.Lines {
		if len(l.Values) != len(c.Axes) {
			return nil, fmt.Errorf("plot: a parallel line has %d values for %d axes: %w", len(l.Values), len(c.Axes), ErrInvalid)
		}
		if !math.IsNaN(l.Score) && !math.IsInf(l.Score, 0) {
			lo, hi = math.Min(lo, l.Score), math.Max(hi, l.Score)
		}
	}
	if math.IsInf(lo, 1) {
		return nil, fmt.Errorf("plot: parallel chart %q: %w", c.Title, ErrNoData)
	}
	fs := fontsFor(w, h)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(img, img.Rect, colBackground)
	top := pad + textHeight(fs.title) + 12 + textHeight(fs.label) + 10
	bottom := h - pad - 2*textHeight(fs.tick) - 20
	// Room on the left for the first axis's tick labels, on the right for the last name.
	left := pad + 20
	if a := c.Axes[0]; len(a.Choices) > 0 {
		for _, ch := range a.Choices {
			left = max(left, pad+tickLen+8+textWidth(fitText(ch, fs.tick, 150), fs.tick))
		}
	} else {
		left = max(left, pad+tickLen+8+textWidth(strconv.FormatFloat(a.Lo, 'g', 3, 64), fs.tick),
			pad+tickLen+8+textWidth(strconv.FormatFloat(a.Hi, 'g', 3, 64), fs.tick))
	}
	left = max(left, pad+textWidth(c.Axes[0].Name, fs.label)/2)
	right := w - pad - max(40, textWidth(c.Axes[len(c.Axes)-1].Name, fs.label)/2)
	if c.Title != "" {
		s := fitText(c.Title, fs.title, w-2*pad)
		drawText(img, (w-textWidth(s, fs.title))/2, pad, s, fs.title, colText)
	}
	xOf := func(i int) float64 { return float64(left) + float64(i)*float64(right-left)/float64(len(c.Axes)-1) }
	frac := func(a *ParallelAxis, v float64) float64 {
		if len(a.Choices) > 0 {
			if len(a.Choices) == 1 {
				return 0.5
			}
			return v / float64(len(a.Choices)-1)
		}
		l, u, x := a.Lo, a.Hi, v
		if a.Log {
			l, u, x = math.Log10(l), math.Log10(u), math.Log10(x)
		}
		if !(u > l) {
			return 0.5
		}
		return (x - l) / (u - l)
	}
	yOf := func(f float64) float64 { return float64(bottom) - f*float64(bottom-top) }
	plotR := image.Rect(0, top-4, w, bottom+4)
	for i := range c.Axes {
		a := &c.Axes[i]
		x := int(xOf(i))
		vline(img, x, top, bottom, colAxis)
		name := fitText(a.Name, fs.label, int(float64(right-left)/float64(len(c.Axes)))+100)
		drawText(img, x-textWidth(name, fs.label)/2, top-10-textHeight(fs.label), name, fs.label, colText)
		var labels []struct {
			f float64
			s string
		}
		if len(a.Choices) > 0 {
			for j, ch := range a.Choices {
				labels = append(labels, struct {
					f float64
					s string
				}{frac(a, float64(j)), ch})
			}
		} else {
			for _, v := range []float64{a.Lo, a.Hi} {
				labels = append(labels, struct {
					f float64
					s string
				}{frac(a, v), strconv.FormatFloat(v, 'g', 3, 64)})
			}
		}
		for _, l := range labels {
			y := int(yOf(l.f))
			hline(img, x-tickLen, x, y, colAxis)
			s := fitText(l.s, fs.tick, 150)
			drawText(img, x-tickLen-4-textWidth(s, fs.tick), y-textHeight(fs.tick)/2, s, fs.tick, colText)
		}
	}
	// Lines, worst first, so the best end up on top.
	order := make([]int, len(c.Lines))
	for i := range order {
		order[i] = i
	}
	score := func(i int) float64 {
		s := c.Lines[i].Score
		if math.IsNaN(s) {
			return math.Inf(-1)
		}
		return s
	}
	for i := 1; i < len(order); i++ { // insertion sort keeps ties stable and needs no import
		for j := i; j > 0 && score(order[j]) < score(order[j-1]); j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	for r, i := range order {
		l := c.Lines[i]
		f := 1.0
		if len(order) > 1 {
			f = float64(r) / float64(len(order)-1)
		}
		mk := newMask(plotR)
		var run []pt
		flush := func() {
			if len(run) > 0 {
				mk.polyline(run, 1.0, [2]float64{})
			}
			run = run[:0]
		}
		for j, v := range l.Values {
			if math.IsNaN(v) {
				flush()
				continue
			}
			run = append(run, pt{xOf(j), yOf(math.Max(0, math.Min(1, frac(&c.Axes[j], v))))})
		}
		flush()
		mk.paint(img, scoreColor(f))
	}
	// The colour key.
	key := fitText(fmt.Sprintf("colour: rank by %s (lightest %.4g, darkest %.4g)", c.ScoreLabel, lo, hi), fs.tick, w-2*pad)
	drawText(img, pad, h-pad-textHeight(fs.tick), key, fs.tick, colText)
	return img, nil
}

// BarChart draws labelled horizontal bars, longest first as given (parameter importance).
type BarChart struct {
	Title, XLabel string
	Labels        []string
	Values        []float64
	Width, Height int
}

// SavePNG renders the chart to path atomically.
func (c *BarChart) SavePNG(path string) error {
	img, err := c.Render()
	if err != nil {
		return err
	}
	return saveAtomic(path, img)
}

// Render draws the chart; values must be finite and non-negative.
func (c *BarChart) Render() (*image.RGBA, error) {
	if c == nil || len(c.Labels) == 0 || len(c.Labels) != len(c.Values) {
		return nil, fmt.Errorf("plot: a bar chart needs as many values as labels (at least one): %w", ErrInvalid)
	}
	w, h := c.Width, c.Height
	if w == 0 {
		w = DefaultWidth
	}
	if h == 0 {
		h = max(340, 120+60*len(c.Labels)) // 340 px keeps the text at its large size
	}
	if w < MinWidth || h < MinHeight || w > MaxSide || h > MaxSide {
		return nil, fmt.Errorf("plot: bar chart size %dx%d: %w", w, h, ErrInvalid)
	}
	top := 0.0
	for _, v := range c.Values {
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("plot: bar value %v: want finite and >= 0: %w", v, ErrInvalid)
		}
		top = math.Max(top, v)
	}
	fs := fontsFor(w, h)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(img, img.Rect, colBackground)
	y0 := pad
	if c.Title != "" {
		s := fitText(c.Title, fs.title, w-2*pad)
		drawText(img, (w-textWidth(s, fs.title))/2, pad, s, fs.title, colText)
		y0 += textHeight(fs.title) + 16
	}
	labelW := 0
	for _, l := range c.Labels {
		labelW = max(labelW, textWidth(l, fs.label))
	}
	labelW = min(labelW, w/3)
	x0 := pad + labelW + 10
	valueW := textWidth("0.000", fs.tick) + 10
	x1 := w - pad - valueW
	y1 := h - pad
	if c.XLabel != "" {
		y1 -= textHeight(fs.label) + 8
		s := fitText(c.XLabel, fs.label, w-2*pad)
		drawText(img, x0+(x1-x0-textWidth(s, fs.label))/2, h-pad-textHeight(fs.label), s, fs.label, colText)
	}
	rowH := float64(y1-y0) / float64(len(c.Labels))
	for i, l := range c.Labels {
		cy := y0 + int(rowH*(float64(i)+0.5))
		s := fitText(l, fs.label, labelW)
		drawText(img, x0-10-textWidth(s, fs.label), cy-textHeight(fs.label)/2, s, fs.label, colText)
		bw := 0
		if top > 0 {
			bw = int(math.Round(c.Values[i] / top * float64(x1-x0)))
		}
		bh := int(rowH * 0.6)
		fillRect(img, image.Rect(x0, cy-bh/2, x0+bw, cy-bh/2+bh), seriesColor(0))
		v := strconv.FormatFloat(c.Values[i], 'f', 3, 64)
		drawText(img, x0+bw+6, cy-textHeight(fs.tick)/2, v, fs.tick, colText)
	}
	vline(img, x0, y0, y1, colAxis)
	return img, nil
}
