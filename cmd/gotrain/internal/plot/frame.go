package plot

import (
	"image"
	"image/color"
	"math"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// What every chart type shares: fonts, the gonum plot with titles, axes, gridlines and a frame,
// and text that fits.

// margin is the blank border around every chart, in pixels.
const margin = 12

// sans is the typeface of all text: Liberation Sans, which gonum/plot bundles (so nothing
// depends on the fonts installed) and which has Arial's metrics.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// fontSizes are text sizes in points.
type fontSizes struct{ title, label, tick, legend vg.Length }

// fontsFor picks text sizes for a w×h chart: a small chart gets smaller text so that its data
// keeps most of the area.
func fontsFor(w, h int) fontSizes {
	if w >= 560 && h >= 340 {
		return fontSizes{title: 13, label: 11, tick: 10, legend: 10}
	}
	return fontSizes{title: 10, label: 9, tick: 8, legend: 8}
}

// textStyle is plain text of the given size in colour col.
func textStyle(size vg.Length, col color.Color) text.Style {
	return text.Style{Color: col, Font: font.From(sans, size), Handler: gplot.DefaultTextHandler}
}

// fitText shortens s with an ellipsis until it is at most w wide in style sty.
func fitText(s string, sty text.Style, w vg.Length) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if sty.Width(s) <= w {
		return s
	}
	r := []rune(s)
	lo, hi := 0, len(r) // the longest prefix that fits, by bisection
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if sty.Width(string(r[:mid])+"…") <= w {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return string(r[:lo]) + "…"
}

// frameSpec is what newPlot needs to know about a chart.
type frameSpec struct {
	title, xlabel, ylabel string
	w, h                  int // pixels
}

// newPlot returns a gonum plot with the house style: titles in Liberation Sans, grey axes with
// outward ticks and no gap between the axes and the data. It returns the canvas inside the
// chart's margin too, with the title fitted to it.
func newPlot(s frameSpec, cell draw.Canvas) (*gplot.Plot, draw.Canvas, fontSizes) {
	fs := fontsFor(s.w, s.h)
	inner := draw.Crop(cell, px(margin), -px(margin), px(margin), -px(margin))
	width := inner.Max.X - inner.Min.X
	p := gplot.New()
	p.BackgroundColor = nil // the grid painted the cell white already
	if s.title != "" {
		p.Title.TextStyle = textStyle(fs.title, colText)
		p.Title.TextStyle.XAlign = draw.XCenter
		p.Title.TextStyle.YAlign = draw.YTop
		p.Title.Text = fitText(s.title, p.Title.TextStyle, width)
		p.Title.Padding = px(10)
	}
	for _, a := range []struct {
		ax    *gplot.Axis
		label string
	}{{&p.X, s.xlabel}, {&p.Y, s.ylabel}} {
		a.ax.Label.TextStyle = textStyle(fs.label, colText)
		a.ax.Label.TextStyle.XAlign = draw.XCenter
		a.ax.Label.TextStyle.YAlign = draw.YBottom
		a.ax.Label.Padding = px(4)
		a.ax.Label.Text = fitText(a.label, a.ax.Label.TextStyle, width)
		a.ax.Tick.Label = textStyle(fs.tick, colText)
		a.ax.LineStyle = draw.LineStyle{Color: colAxis, Width: px(1)}
		a.ax.Tick.LineStyle = draw.LineStyle{Color: colAxis, Width: px(1)}
		a.ax.Tick.Length = px(5)
		a.ax.Padding = 0
	}
	// gonum centres x tick labels under the tick and right-aligns y labels; keep its choices.
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XCenter, draw.YTop
	p.Y.Tick.Label.XAlign, p.Y.Tick.Label.YAlign = draw.XRight, draw.YCenter
	return p, inner, fs
}

// gridLines draws the axes' gridlines, minor ones fainter, under the data.
type gridLines struct{}

// Plot implements gonum's plot.Plotter.
func (gridLines) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	for _, minor := range []bool{true, false} {
		sty := draw.LineStyle{Color: colGrid, Width: px(1)}
		if minor {
			sty.Color = colGridMinor
		}
		for _, t := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
			if t.IsMinor() == minor && inRange(t.Value, p.X.Min, p.X.Max) {
				x := tx(t.Value)
				c.StrokeLine2(sty, x, c.Min.Y, x, c.Max.Y)
			}
		}
		for _, t := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
			if t.IsMinor() == minor && inRange(t.Value, p.Y.Min, p.Y.Max) {
				y := ty(t.Value)
				c.StrokeLine2(sty, c.Min.X, y, c.Max.X, y)
			}
		}
	}
}

func inRange(v, lo, hi float64) bool {
	eps := 1e-9 * math.Abs(hi-lo)
	return v >= lo-eps && v <= hi+eps
}

// frame strokes the data area's border, over the data, so lines end cleanly at its edge.
type frame struct{}

// Plot implements gonum's plot.Plotter.
func (frame) Plot(c draw.Canvas, _ *gplot.Plot) {
	r := c.Rectangle
	c.StrokeLines(draw.LineStyle{Color: colAxis, Width: px(1)}, []vg.Point{
		r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min,
	})
}

// setAxis gives a gonum axis our range (a in axis space), scale and ticks, with at most max
// labelled ticks.
func setAxis(ax *gplot.Axis, a axis, integer bool, max int) {
	ax.Min, ax.Max = fromAxis(a.lo, a.log), fromAxis(a.hi, a.log)
	if a.log {
		ax.Scale = gplot.LogScale{}
	}
	ax.Tick.Marker = ticker{log: a.log, integer: integer && !a.log, max: max}
}

// fitXTicks lowers the x axis's tick count until its labels fit side by side in width w with
// room to spare.
func fitXTicks(ax *gplot.Axis, w vg.Length) {
	tk, ok := ax.Tick.Marker.(ticker)
	if !ok {
		return
	}
	for n := max(2, int(w/px(70))); ; n-- {
		tk.max = n
		var sum vg.Length
		for _, t := range tk.Ticks(ax.Min, ax.Max) {
			if t.Label != "" {
				sum += ax.Tick.Label.Width(t.Label) + px(24)
			}
		}
		if sum <= w || n <= 2 {
			break
		}
	}
	ax.Tick.Marker = tk
}

// fromAxis converts an axis-space value back to data units.
func fromAxis(t float64, log bool) float64 {
	if log {
		return math.Pow(10, t)
	}
	return t
}

// raster draws an image computed at the data area's size in pixels, so that cells and contour
// lines stay sharp: gonum scales an image smoothly, which blurs a small image's cells together.
// render gets the size and the data coordinates of each pixel column and row (row 0 at the top).
type raster struct {
	render func(w, h int, x, y func(int) float64) *image.RGBA
}

// Plot implements gonum's plot.Plotter.
func (r raster) Plot(c draw.Canvas, p *gplot.Plot) {
	w := int(math.Round(float64(c.Max.X-c.Min.X) * pxPerInch / 72))
	h := int(math.Round(float64(c.Max.Y-c.Min.Y) * pxPerInch / 72))
	if w < 1 || h < 1 || w > MaxSide || h > MaxSide {
		return
	}
	x := func(i int) float64 { return p.X.Min + (float64(i)+0.5)/float64(w)*(p.X.Max-p.X.Min) }
	y := func(j int) float64 { return p.Y.Max - (float64(j)+0.5)/float64(h)*(p.Y.Max-p.Y.Min) }
	c.DrawImage(c.Rectangle, r.render(w, h, x, y))
}
