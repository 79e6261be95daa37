package plot

import (
	"fmt"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Line styles, in pixels.
const (
	lineW      = 2.0  // a series line
	lineWDense = 1.25 // a series of more than denseAt points: thick lines would merge into a band
	denseAt    = 400
	dotR       = 3.0 // an isolated point
	markerW    = 1.5
)

var (
	seriesDash = []vg.Length{px(9), px(5)}
	markerDash = []vg.Length{px(6), px(4)}
)

// lineChart is a Chart reduced to drawable runs in axis space, with its axes.
type lineChart struct {
	c      *Chart
	w, h   int
	runs   [][][]apt // per series, maximal runs of drawable points
	marks  []amark
	xa, ya axis
	// legendAt is where the last draw put the legend, for tests.
	legendAt legendAt
}

// apt is a point in axis space (the value, or its log10 on a log axis).
type apt struct{ x, y float64 }

// amark is a marker in axis space.
type amark struct {
	x     float64
	label string
}

// prepare filters the data and fixes the axis ranges.
func (c *Chart) prepare() (drawer, error) {
	w, h, err := c.size()
	if err != nil {
		return nil, err
	}
	d := &lineChart{c: c, w: w, h: h, runs: make([][][]apt, len(c.Series))}
	xlo, xhi := math.Inf(1), math.Inf(-1)
	ylo, yhi := math.Inf(1), math.Inf(-1)
	n := 0
	for i, s := range c.Series {
		d.runs[i] = s.runs(c.LogX, c.LogY)
		for _, r := range d.runs[i] {
			for _, p := range r {
				xlo, xhi = math.Min(xlo, p.x), math.Max(xhi, p.x)
				ylo, yhi = math.Min(ylo, p.y), math.Max(yhi, p.y)
				n++
			}
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("plot: chart %q: %d series: %w", c.Title, len(c.Series), ErrNoData)
	}
	for _, m := range c.Markers {
		if t, ok := toAxis(m.X, c.LogX); ok {
			d.marks = append(d.marks, amark{t, m.Label})
			xlo, xhi = math.Min(xlo, t), math.Max(xhi, t)
		}
	}
	d.xa = newAxis(xlo, xhi, c.LogX)
	d.ya = newAxis(ylo, yhi, c.LogY)
	return d, nil
}

// runs splits the series into maximal runs of drawable points in axis space: a point that the
// axes cannot show (NaN, ±Inf, non-positive on a log axis) ends a run, so the line breaks there.
func (s *Series) runs(logX, logY bool) [][]apt {
	n := len(s.Y)
	index := len(s.X) == 0
	if !index {
		n = min(n, len(s.X))
	}
	var out [][]apt
	var cur []apt
	for i := 0; i < n; i++ {
		x := float64(i)
		if !index {
			x = s.X[i]
		}
		tx, okx := toAxis(x, logX)
		ty, oky := toAxis(s.Y[i], logY)
		if !okx || !oky {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, apt{tx, ty})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// style is series i's line style.
func (d *lineChart) style(i int) draw.LineStyle {
	s := d.c.Series[i]
	n := 0
	for _, r := range d.runs[i] {
		n += len(r)
	}
	sty := draw.LineStyle{Color: seriesColor(i), Width: px(lineW)}
	if n > denseAt {
		sty.Width = px(lineWDense)
	}
	if s.Dashed {
		sty.Dashes = seriesDash
	}
	return sty
}

// xy converts a run to gonum's points in data units.
func (d *lineChart) xy(r []apt) plotter.XYs {
	out := make(plotter.XYs, len(r))
	for i, p := range r {
		out[i] = plotter.XY{X: fromAxis(p.x, d.xa.log), Y: fromAxis(p.y, d.ya.log)}
	}
	return out
}

func (d *lineChart) draw(cell draw.Canvas) {
	c := d.c
	p, inner, fs := newPlot(frameSpec{c.Title, c.XLabel, c.YLabel, d.w, d.h}, cell)
	ph := d.h - 2*margin - 80 // about the data area's height in pixels
	setAxis(&p.X, d.xa, c.IntegerX, 10)
	setAxis(&p.Y, d.ya, false, max(2, ph/45))
	p.Add(gridLines{})
	p.Add(markerLines(d.marks, d.xa.log))

	var entries []entry
	occ := &occupancy{}
	for i, runs := range d.runs {
		sty := d.style(i)
		for _, r := range runs {
			xy := d.xy(r)
			if len(xy) == 1 {
				s := &plotter.Scatter{XYs: xy, GlyphStyle: draw.GlyphStyle{Color: sty.Color, Radius: px(dotR), Shape: draw.CircleGlyph{}}}
				p.Add(s)
			} else {
				p.Add(&plotter.Line{XYs: xy, LineStyle: sty})
			}
			pts := make([][2]float64, len(r))
			for k, q := range r {
				pts[k] = [2]float64{d.xa.frac(q.x), d.ya.frac(q.y)}
			}
			occ.line(pts)
		}
		if c.Series[i].Name != "" && len(runs) > 0 {
			entries = append(entries, entry{name: c.Series[i].Name, line: &sty})
		}
	}
	p.Add(frame{})

	dc := p.DataCanvas(inner)
	fitXTicks(&p.X, dc.Max.X-dc.Min.X)
	dc = p.DataCanvas(inner)
	labels := placeMarkerLabels(d.marks, d.xa, dc, fs.tick, occ)
	l := newLegend(entries, fs.legend, (dc.Max.X-dc.Min.X)/2, dc.Max.Y-dc.Min.Y)
	plotC, at, drawLegend := placeLegend(p, inner, l, occ)
	d.legendAt = at
	p.Draw(plotC)
	if at == beside { // the plot moved left for the legend: so did the marker lines
		labels = placeMarkerLabels(d.marks, d.xa, p.DataCanvas(plotC), fs.tick, occ)
	}
	for _, lb := range labels {
		lb.draw()
	}
	drawLegend()
}

// markerLines draws the markers' dashed vertical lines, under the data.
func markerLines(marks []amark, logX bool) gplot.Plotter {
	return plotterFunc(func(c draw.Canvas, p *gplot.Plot) {
		tx, _ := p.Transforms(&c)
		sty := draw.LineStyle{Color: colMarker, Width: px(markerW), Dashes: markerDash}
		for _, m := range marks {
			x := tx(fromAxis(m.x, logX))
			c.StrokeLine2(sty, x, c.Min.Y, x, c.Max.Y)
		}
	})
}

// plotterFunc makes a function a gonum Plotter.
type plotterFunc func(c draw.Canvas, p *gplot.Plot)

// Plot implements gonum's plot.Plotter.
func (f plotterFunc) Plot(c draw.Canvas, p *gplot.Plot) { f(c, p) }

// markerLabel is a placed marker label.
type markerLabel struct {
	draw func()
}

// placeMarkerLabels puts each marker's label beside its line, at the top or the bottom of the
// data area and right or left of the line, whichever covers the least data (top right on a
// tie); neighbours are staggered. Each placed label is marked in occ so that later labels and the
// legend avoid it.
func placeMarkerLabels(marks []amark, xa axis, dc draw.Canvas, size vg.Length, occ *occupancy) []markerLabel {
	dw, dh := dc.Max.X-dc.Min.X, dc.Max.Y-dc.Min.Y
	if !(dw > 0 && dh > 0) {
		return nil
	}
	sty := textStyle(size, colMarker)
	th := sty.FontExtents().Height
	gap := px(6)
	var out []markerLabel
	for j, m := range marks {
		if m.label == "" {
			continue
		}
		s := fitText(m.label, sty, dw/2)
		tw := sty.Width(s)
		bw, bh := float64((tw+2*px(3))/dw), float64((th+2*px(3))/dh)
		u := xa.frac(m.x)
		off := float64(j%3) * (bh + float64(px(4)/dh))
		top, bottom := 1-float64(px(8)/dh)-off-bh, float64(px(8)/dh)+off
		best, bestN := box{}, math.MaxInt
		for _, v0 := range []float64{top, bottom} {
			for _, u0 := range []float64{u + float64(gap/dw), u - float64(gap/dw) - bw} {
				b := box{u0, v0, u0 + bw, v0 + bh}
				if n := occ.count(b); n < bestN {
					best, bestN = b, n
				}
			}
		}
		occ.fill(best)
		b := best
		out = append(out, markerLabel{draw: func() {
			x0, y0 := dc.Min.X+vg.Length(b.u0)*dw, dc.Min.Y+vg.Length(b.v0)*dh
			x1, y1 := dc.Min.X+vg.Length(b.u1)*dw, dc.Min.Y+vg.Length(b.v1)*dh
			dc.FillPolygon(colLabelBack, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
			st := sty
			st.XAlign, st.YAlign = draw.XCenter, draw.YCenter
			dc.FillText(st, vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}, s)
		}})
	}
	return out
}
