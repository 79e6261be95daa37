package plot

import (
	"image/color"
	"math"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Placing a legend and labels where they cover no data: an occupancy grid over the data area in
// normalised coordinates, filled from the drawn lines, scores each candidate box.

// occGrid is the occupancy grid's resolution: cells of about 1% of the data area's side.
const occW, occH = 100, 100

// occupancy marks which cells of the data area hold data.
type occupancy struct{ cell [occW * occH]bool }

// mark marks the cell at normalised (u, v), if inside the data area.
func (o *occupancy) mark(u, v float64) {
	if !(u >= 0 && u <= 1 && v >= 0 && v <= 1) {
		return
	}
	i, j := min(int(u*occW), occW-1), min(int(v*occH), occH-1)
	o.cell[j*occW+i] = true
}

// line marks the cells along the polyline pts (normalised coordinates).
func (o *occupancy) line(pts [][2]float64) {
	for k, p := range pts {
		o.mark(p[0], p[1])
		if k == 0 {
			continue
		}
		q := pts[k-1]
		du, dv := p[0]-q[0], p[1]-q[1]
		n := int(math.Min(2*math.Max(math.Abs(du)*occW, math.Abs(dv)*occH), 4*(occW+occH)))
		for s := 1; s < n; s++ {
			f := float64(s) / float64(n)
			o.mark(q[0]+f*du, q[1]+f*dv)
		}
	}
}

// box is a rectangle in normalised data coordinates.
type box struct{ u0, v0, u1, v1 float64 }

// count is the number of occupied cells that box b overlaps; a box reaching outside the data
// area counts as fully occupied there, so it is never preferred.
func (o *occupancy) count(b box) int {
	if b.u0 < 0 || b.v0 < 0 || b.u1 > 1 || b.v1 > 1 {
		return occW * occH
	}
	n := 0
	for j := int(b.v0 * occH); j < min(int(math.Ceil(b.v1*occH)), occH); j++ {
		for i := int(b.u0 * occW); i < min(int(math.Ceil(b.u1*occW)), occW); i++ {
			if o.cell[j*occW+i] {
				n++
			}
		}
	}
	return n
}

// fill marks box b as occupied.
func (o *occupancy) fill(b box) {
	for j := max(int(b.v0*occH), 0); j < min(int(math.Ceil(b.v1*occH)), occH); j++ {
		for i := max(int(b.u0*occW), 0); i < min(int(math.Ceil(b.u1*occW)), occW); i++ {
			o.cell[j*occW+i] = true
		}
	}
}

// entry is one legend row: a sample of the series' style and its name.
type entry struct {
	name  string
	line  *draw.LineStyle  // nil: no line sample
	glyph *draw.GlyphStyle // nil: no glyph sample
}

// legend is a list of entries with its text style, sized for drawing.
type legend struct {
	entries []entry
	sty     text.Style
	rowH    vg.Length
	sampleW vg.Length
	pad     vg.Length
}

// newLegend sizes a legend, shortening names to maxText wide and keeping at most the rows that
// fit in maxH (the rest summarised as "+N more").
func newLegend(entries []entry, size, maxText, maxH vg.Length) *legend {
	if len(entries) == 0 {
		return nil
	}
	l := &legend{sty: textStyle(size, colText), sampleW: px(28), pad: px(7)}
	l.rowH = l.sty.FontExtents().Height * 1.25
	l.sty.YAlign = draw.YCenter
	maxRows := max(1, int((maxH-2*l.pad)/l.rowH))
	if len(entries) > maxRows {
		more := len(entries) - (maxRows - 1)
		entries = append(entries[:maxRows-1:maxRows-1], entry{name: "+" + strconv.Itoa(more) + " more"})
	}
	for _, e := range entries {
		e.name = fitText(e.name, l.sty, maxText)
		l.entries = append(l.entries, e)
	}
	return l
}

// size is the legend box's width and height.
func (l *legend) size() (vg.Length, vg.Length) {
	var tw vg.Length
	for _, e := range l.entries {
		tw = max(tw, l.sty.Width(e.name))
	}
	return l.pad + l.sampleW + l.pad + tw + l.pad, 2*l.pad + vg.Length(len(l.entries))*l.rowH
}

// draw draws the legend with its top-left corner at (x, top), on a white box with a grey border.
func (l *legend) draw(c draw.Canvas, x, top vg.Length) {
	w, h := l.size()
	r := []vg.Point{{X: x, Y: top - h}, {X: x + w, Y: top - h}, {X: x + w, Y: top}, {X: x, Y: top}}
	c.FillPolygon(color.White, r)
	c.StrokeLines(draw.LineStyle{Color: colLegendEdge, Width: px(1)}, append(r, r[0]))
	y := top - l.pad - l.rowH/2
	for _, e := range l.entries {
		x0 := x + l.pad
		if e.line != nil {
			c.StrokeLine2(*e.line, x0, y, x0+l.sampleW, y)
		}
		if e.glyph != nil {
			c.DrawGlyphNoClip(*e.glyph, vg.Point{X: x0 + l.sampleW/2, Y: y})
		}
		c.FillText(l.sty, vg.Point{X: x0 + l.sampleW + l.pad, Y: y}, e.name)
		y -= l.rowH
	}
}

// legendAt is where a legend went.
type legendAt int

const (
	topRight legendAt = iota
	topLeft
	bottomRight
	bottomLeft
	beside   // right of the plot, which is narrowed for it
	noLegend // no named series
)

// inset is the gap between a legend and the data area's edge.
const inset = 10

// placeLegend decides where l goes for plot p drawn in canvas inner: in the first inside corner
// (top right, top left, bottom right, bottom left) whose box covers no data, or else in a strip
// to the right of the plot. It returns the canvas to draw the plot in and a function that draws
// the legend once the plot is drawn.
func placeLegend(p *gplot.Plot, inner draw.Canvas, l *legend, occ *occupancy) (plotC draw.Canvas, at legendAt, drawLegend func()) {
	if l == nil {
		return inner, noLegend, func() {}
	}
	w, h := l.size()
	dc := p.DataCanvas(inner)
	dw, dh := dc.Max.X-dc.Min.X, dc.Max.Y-dc.Min.Y
	if dw > 0 && dh > 0 {
		bu, bv := float64(w/dw), float64(h/dh)
		iu, iv := float64(px(inset)/dw), float64(px(inset)/dh)
		for k, corner := range [][2]bool{{true, true}, {true, false}, {false, true}, {false, false}} { // {top, right}
			b := box{u0: iu, v0: iv}
			if corner[1] {
				b.u0 = 1 - iu - bu
			}
			if corner[0] {
				b.v0 = 1 - iv - bv
			}
			b.u1, b.v1 = b.u0+bu, b.v0+bv
			if occ.count(b) == 0 {
				x := dc.Min.X + vg.Length(b.u0)*dw
				top := dc.Min.Y + vg.Length(b.v1)*dh
				return inner, legendAt(k), func() { l.draw(dc, x, top) }
			}
		}
	}
	// Beside the plot: the plot gives up the legend's width.
	plotC = draw.Crop(inner, 0, -(w + px(inset)), 0, 0)
	dc = p.DataCanvas(plotC)
	x := inner.Max.X - w
	return plotC, beside, func() { l.draw(inner, x, dc.Max.Y) }
}
