package plot

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The charts of a hyperparameter search that a line chart cannot draw: parallel coordinates
// and horizontal bars. They are two small data-in, panel-out types drawn with this package's
// fonts, colours and gonum canvas, so callers never touch the drawing.

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
// failures at the bottom do not make every good trial look alike. The zero Width means 170
// pixels per axis (at least 900); the zero Height 560.
type ParallelChart struct {
	Title, ScoreLabel string
	Axes              []ParallelAxis
	Lines             []ParallelLine
	Width, Height     int
}

// Render draws the chart as an image.
func (c *ParallelChart) Render() (*image.RGBA, error) { return renderImage([]Panel{c}, 1) }

// SavePNG writes the chart to path as PNG, atomically like Save.
func (c *ParallelChart) SavePNG(path string) error { return saveGrid(path, PNG, []Panel{c}, 1) }

func (c *ParallelChart) size() (int, int, error) {
	if c == nil {
		return 0, 0, fmt.Errorf("plot: nil parallel chart: %w", ErrInvalid)
	}
	return checkSize(c.Title, c.Width, c.Height, max(DefaultWidth, 170*len(c.Axes)), DefaultHeight)
}

// scoreColor runs from a pale blue to Okabe–Ito's vermillion.
func scoreColor(f float64) color.RGBA {
	f = math.Max(0, math.Min(1, f))
	lo, hi := color.RGBA{0xB8, 0xCF, 0xE6, 0xFF}, color.RGBA{0xD5, 0x5E, 0x00, 0xFF}
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + f*(float64(b)-float64(a)))) }
	return color.RGBA{mix(lo.R, hi.R), mix(lo.G, hi.G), mix(lo.B, hi.B), 0xFF}
}

type parallelChart struct {
	c      *ParallelChart
	w, h   int
	order  []int // lines, worst first
	lo, hi float64
}

func (c *ParallelChart) prepare() (drawer, error) {
	w, h, err := c.size()
	if err != nil {
		return nil, err
	}
	if len(c.Axes) < 2 {
		return nil, fmt.Errorf("plot: parallel chart %q: %d axes, want at least two: %w", c.Title, len(c.Axes), ErrInvalid)
	}
	for _, a := range c.Axes {
		if len(a.Choices) == 0 && (!(a.Hi > a.Lo) || math.IsInf(a.Lo, 0) || math.IsInf(a.Hi, 0) || a.Log && a.Lo <= 0) {
			return nil, fmt.Errorf("plot: parallel chart %q: axis %q range [%v, %v]: %w", c.Title, a.Name, a.Lo, a.Hi, ErrInvalid)
		}
	}
	d := &parallelChart{c: c, w: w, h: h, lo: math.Inf(1), hi: math.Inf(-1)}
	for i, l := range c.Lines {
		if len(l.Values) != len(c.Axes) {
			return nil, fmt.Errorf("plot: parallel chart %q: line %d has %d values for %d axes: %w", c.Title, i, len(l.Values), len(c.Axes), ErrInvalid)
		}
		if math.IsNaN(l.Score) || math.IsInf(l.Score, 0) {
			continue
		}
		d.lo, d.hi = math.Min(d.lo, l.Score), math.Max(d.hi, l.Score)
		d.order = append(d.order, i)
	}
	if len(d.order) == 0 {
		return nil, fmt.Errorf("plot: parallel chart %q: %w", c.Title, ErrNoData)
	}
	slices.SortStableFunc(d.order, func(a, b int) int {
		sa, sb := c.Lines[a].Score, c.Lines[b].Score
		switch {
		case sa < sb:
			return -1
		case sa > sb:
			return 1
		}
		return 0
	})
	return d, nil
}

// frac places v on axis a, 0 at the bottom and 1 at the top.
func (a *ParallelAxis) frac(v float64) float64 {
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
	return math.Max(0, math.Min(1, (x-l)/(u-l)))
}

func (a *ParallelAxis) labels() []struct {
	f float64
	s string
} {
	var out []struct {
		f float64
		s string
	}
	if len(a.Choices) > 0 {
		for j, ch := range a.Choices {
			out = append(out, struct {
				f float64
				s string
			}{a.frac(float64(j)), ch})
		}
		return out
	}
	for _, v := range []float64{a.Lo, a.Hi} {
		out = append(out, struct {
			f float64
			s string
		}{a.frac(v), strconv.FormatFloat(v, 'g', 3, 64)})
	}
	return out
}

func (d *parallelChart) draw(cell draw.Canvas) {
	c := d.c
	fs := fontsFor(d.w, d.h)
	inner := draw.Crop(cell, px(margin), -px(margin), px(margin), -px(margin))
	title, label, tick := textStyle(fs.title, colText), textStyle(fs.label, colText), textStyle(fs.tick, colText)
	width := inner.Max.X - inner.Min.X
	top := inner.Max.Y
	if c.Title != "" {
		title.XAlign, title.YAlign = draw.XCenter, draw.YTop
		cell.FillText(title, vg.Point{X: (inner.Min.X + inner.Max.X) / 2, Y: top}, fitText(c.Title, title, width))
		top -= title.FontExtents().Height + px(10)
	}
	// Axis names above, the colour key below; room at the sides for the end axes' labels.
	top -= label.FontExtents().Height + px(8)
	bottom := inner.Min.Y + tick.FontExtents().Height + px(14)
	left := inner.Min.X + px(8)
	for _, l := range c.Axes[0].labels() {
		left = max(left, inner.Min.X+tick.Width(l.s)+px(10))
	}
	left = max(left, inner.Min.X+label.Width(c.Axes[0].Name)/2)
	right := inner.Max.X - max(px(30), label.Width(c.Axes[len(c.Axes)-1].Name)/2)
	n := len(c.Axes)
	xOf := func(i int) vg.Length { return left + (right-left)*vg.Length(i)/vg.Length(n-1) }
	yOf := func(f float64) vg.Length { return bottom + (top-bottom)*vg.Length(f) }
	axisSty := draw.LineStyle{Color: colAxis, Width: px(1)}
	label.XAlign, label.YAlign = draw.XCenter, draw.YBottom
	tick.XAlign, tick.YAlign = draw.XRight, draw.YCenter
	gap := (right - left) / vg.Length(n-1)
	for i := range c.Axes {
		a := &c.Axes[i]
		x := xOf(i)
		cell.StrokeLine2(axisSty, x, bottom, x, top)
		cell.FillText(label, vg.Point{X: x, Y: top + px(6)}, fitText(a.Name, label, gap))
		for _, l := range a.labels() {
			y := yOf(l.f)
			cell.StrokeLine2(axisSty, x-px(5), y, x, y)
			cell.FillText(tick, vg.Point{X: x - px(7), Y: y}, fitText(l.s, tick, gap*0.6))
		}
	}
	lineSty := draw.LineStyle{Width: px(1.5)}
	for r, i := range d.order {
		l := c.Lines[i]
		f := 1.0
		if len(d.order) > 1 {
			f = float64(r) / float64(len(d.order)-1)
		}
		lineSty.Color = scoreColor(f)
		var run []vg.Point
		flush := func() {
			if len(run) > 1 {
				cell.StrokeLines(lineSty, run)
			}
			run = run[:0]
		}
		for j, v := range l.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				flush()
				continue
			}
			run = append(run, vg.Point{X: xOf(j), Y: yOf(c.Axes[j].frac(v))})
		}
		flush()
	}
	key := textStyle(fs.tick, colText)
	key.XAlign, key.YAlign = draw.XLeft, draw.YBottom
	cell.FillText(key, vg.Point{X: inner.Min.X, Y: inner.Min.Y},
		fitText(fmt.Sprintf("colour: rank by %s (lightest %.4g, darkest %.4g)", c.ScoreLabel, d.lo, d.hi), key, width))
}

// BarChart draws labelled horizontal bars in the given order (parameter importance). The zero
// Width means 900 pixels; the zero Height grows with the bars.
type BarChart struct {
	Title, XLabel string
	Labels        []string
	Values        []float64
	Width, Height int
}

// Render draws the chart as an image.
func (c *BarChart) Render() (*image.RGBA, error) { return renderImage([]Panel{c}, 1) }

// SavePNG writes the chart to path as PNG, atomically like Save.
func (c *BarChart) SavePNG(path string) error { return saveGrid(path, PNG, []Panel{c}, 1) }

func (c *BarChart) size() (int, int, error) {
	if c == nil {
		return 0, 0, fmt.Errorf("plot: nil bar chart: %w", ErrInvalid)
	}
	return checkSize(c.Title, c.Width, c.Height, DefaultWidth, max(340, 120+60*len(c.Labels)))
}

type barChart struct {
	c    *BarChart
	w, h int
	top  float64
}

func (c *BarChart) prepare() (drawer, error) {
	w, h, err := c.size()
	if err != nil {
		return nil, err
	}
	if len(c.Labels) == 0 || len(c.Labels) != len(c.Values) {
		return nil, fmt.Errorf("plot: bar chart %q: %d labels and %d values (want as many, at least one): %w", c.Title, len(c.Labels), len(c.Values), ErrInvalid)
	}
	d := &barChart{c: c, w: w, h: h}
	for i, v := range c.Values {
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("plot: bar chart %q: value %d is %v: want finite and >= 0: %w", c.Title, i, v, ErrInvalid)
		}
		d.top = math.Max(d.top, v)
	}
	return d, nil
}

func (d *barChart) draw(cell draw.Canvas) {
	c := d.c
	fs := fontsFor(d.w, d.h)
	inner := draw.Crop(cell, px(margin), -px(margin), px(margin), -px(margin))
	title, label, tick := textStyle(fs.title, colText), textStyle(fs.label, colText), textStyle(fs.tick, colText)
	width := inner.Max.X - inner.Min.X
	top, bottom := inner.Max.Y, inner.Min.Y
	if c.Title != "" {
		title.XAlign, title.YAlign = draw.XCenter, draw.YTop
		cell.FillText(title, vg.Point{X: (inner.Min.X + inner.Max.X) / 2, Y: top}, fitText(c.Title, title, width))
		top -= title.FontExtents().Height + px(14)
	}
	var labelW vg.Length
	for _, l := range c.Labels {
		labelW = max(labelW, label.Width(l))
	}
	labelW = min(labelW, width/3)
	x0 := inner.Min.X + labelW + px(10)
	x1 := inner.Max.X - tick.Width("0.000") - px(12)
	if c.XLabel != "" {
		xl := label
		xl.XAlign, xl.YAlign = draw.XCenter, draw.YBottom
		cell.FillText(xl, vg.Point{X: (x0 + x1) / 2, Y: bottom}, fitText(c.XLabel, xl, width))
		bottom += xl.FontExtents().Height + px(8)
	}
	rowH := (top - bottom) / vg.Length(len(c.Labels))
	label.XAlign, label.YAlign = draw.XRight, draw.YCenter
	tick.XAlign, tick.YAlign = draw.XLeft, draw.YCenter
	for i, l := range c.Labels {
		cy := top - rowH*(vg.Length(i)+0.5)
		cell.FillText(label, vg.Point{X: x0 - px(8), Y: cy}, fitText(l, label, labelW))
		bw := vg.Length(0)
		if d.top > 0 {
			bw = (x1 - x0) * vg.Length(c.Values[i]/d.top)
		}
		bh := rowH * 0.6
		if bw > 0 {
			cell.FillPolygon(seriesColor(0), []vg.Point{{X: x0, Y: cy - bh/2}, {X: x0 + bw, Y: cy - bh/2}, {X: x0 + bw, Y: cy + bh/2}, {X: x0, Y: cy + bh/2}})
		}
		cell.FillText(tick, vg.Point{X: x0 + bw + px(6), Y: cy}, strconv.FormatFloat(c.Values[i], 'f', 3, 64))
	}
	cell.StrokeLine2(draw.LineStyle{Color: colAxis, Width: px(1)}, x0, bottom, x0, top)
}
