package plot

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Contour draws a function of two variables as filled contours over a rectangle (bands between
// levels, darker where the function is lower), with paths over it: the trajectories of optimizers
// on a test function. Each path is a line through its iterates (a dot at each when there are few
// enough to tell apart), a ring at its start and a filled dot at its end. The zero Width and
// Height mean 900×720 pixels.
//
// The bands and lines are one image computed here rather than gonum's plotter.Contour: its joining of contour segments into paths (exciseLoops) runs out of memory on
// some grids (Rosenbrock's function on a 201×201 grid over [-2,2]×[-1,3] with gonum/plot
// v0.17.0), and a picture must not depend on the grid happening to avoid that.
type Contour struct {
	Title, XLabel, YLabel string
	// F is the function; F must not panic. NaN and ±Inf values leave gaps in the contours.
	F                      func(x, y float64) float64
	XMin, XMax, YMin, YMax float64
	// Levels are the contour heights; nil means 15 evenly spaced across F's range over the
	// rectangle. LogLevels makes log-spaced ones for functions that span decades.
	Levels []float64
	// Paths are drawn in order, over the contours; a NaN point breaks its line.
	Paths []Series
	// Points are labelled points such as a minimum, drawn as crosses.
	Points []Point
	// DotEvery puts a dot on every DotEvery-th point of each path, so that the spacing of the
	// dots shows the speed; 0 means a dot at every point of paths with at most 120 points.
	DotEvery      int
	Width, Height int
}

// Point is a labelled point of a Contour.
type Point struct {
	X, Y  float64
	Label string
}

// Contour's default size: taller than a line chart, since its axes usually share a scale.
const (
	DefaultContourWidth  = 900
	DefaultContourHeight = 720
)

// contourRes is the number of grid points per side at which F is evaluated to find its range
// (for the default levels); the picture itself evaluates F at every pixel of the data area.
const contourRes = 201

// dotsUpTo is the most iterates a path may have to get a dot at each.
const dotsUpTo = 120

// LogLevels returns n levels from lo to hi (both > 0), evenly spaced in log10.
func LogLevels(lo, hi float64, n int) []float64 {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) || n < 2 {
		return nil
	}
	out := make([]float64, n)
	a, b := math.Log10(lo), math.Log10(hi)
	for i := range out {
		out[i] = math.Pow(10, a+(b-a)*float64(i)/float64(n-1))
	}
	return out
}

func (c *Contour) size() (int, int, error) {
	if c == nil {
		return 0, 0, fmt.Errorf("plot: nil contour chart: %w", ErrInvalid)
	}
	return checkSize(c.Title, c.Width, c.Height, DefaultContourWidth, DefaultContourHeight)
}

// contour is a checked Contour with F evaluated on the grid.
type contour struct {
	c      *Contour
	w, h   int
	z      [][]float64 // z[j][i] at (xs[i], ys[j])
	xs, ys []float64
	levels []float64
	paths  [][][]apt
	// legendAt is where the last draw put the legend, for tests.
	legendAt legendAt
}

func (c *Contour) prepare() (drawer, error) {
	w, h, err := c.size()
	if err != nil {
		return nil, err
	}
	if c.F == nil {
		return nil, fmt.Errorf("plot: contour chart %q: no function: %w", c.Title, ErrInvalid)
	}
	for _, r := range [][2]float64{{c.XMin, c.XMax}, {c.YMin, c.YMax}} {
		if !(r[1] > r[0]) || math.Abs(r[0]) > maxMagnitude || math.Abs(r[1]) > maxMagnitude {
			return nil, fmt.Errorf("plot: contour chart %q: range [%v, %v]: want finite and increasing: %w", c.Title, r[0], r[1], ErrInvalid)
		}
	}
	d := &contour{c: c, w: w, h: h, xs: make([]float64, contourRes), ys: make([]float64, contourRes)}
	for i := range contourRes {
		f := float64(i) / (contourRes - 1)
		d.xs[i] = c.XMin + f*(c.XMax-c.XMin)
		d.ys[i] = c.YMin + f*(c.YMax-c.YMin)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	d.z = make([][]float64, contourRes)
	for j, y := range d.ys {
		d.z[j] = make([]float64, contourRes)
		for i, x := range d.xs {
			v := c.F(x, y)
			if math.IsInf(v, 0) || math.Abs(v) > maxMagnitude {
				v = math.NaN()
			}
			d.z[j][i] = v
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	for _, l := range c.Levels {
		if !math.IsNaN(l) && !math.IsInf(l, 0) {
			d.levels = append(d.levels, l)
		}
	}
	slices.Sort(d.levels)
	if c.Levels == nil && hi > lo {
		for k := 1; k <= 15; k++ {
			d.levels = append(d.levels, lo+(hi-lo)*float64(k)/16)
		}
	}
	n := 0
	for _, s := range c.Paths {
		r := s.runs(false, false)
		d.paths = append(d.paths, r)
		for _, run := range r {
			n += len(run)
		}
	}
	if lo > hi && n == 0 {
		return nil, fmt.Errorf("plot: contour chart %q: F has no finite value and there are no paths: %w", c.Title, ErrNoData)
	}
	return d, nil
}

// bands renders the filled contours as a w×h image whose pixel (i, j) (row 0 at the top) lies at
// (x(i), y(j)): each pixel coloured by its band (the number of levels at or below F there), and
// a pixel whose band differs from its right or lower neighbour's drawn darker, which draws the
// contour lines one pixel wide.
func (d *contour) bands(w, h int, x, y func(int) float64) *image.RGBA {
	idx := make([]int, w*h) // band per pixel; -1 where F is not finite
	for j := range h {
		yj := y(j)
		for i := range w {
			v := d.c.F(x(i), yj)
			k := -1
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				k, _ = slices.BinarySearch(d.levels, math.Nextafter(v, math.Inf(1))) // levels <= v
			}
			idx[j*w+i] = k
		}
	}
	fill, line := bandColors(len(d.levels))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for j := range h {
		for i := range w {
			k := idx[j*w+i]
			col := colNaN
			if k >= 0 {
				col = fill[k]
				if (i+1 < w && idx[j*w+i+1] != k) || (j+1 < h && idx[(j+1)*w+i] != k) {
					col = line
				}
			}
			img.SetRGBA(i, j, col)
		}
	}
	return img
}

// bandColors are the fills of the n+1 bands of n levels, from a blue-grey at the lowest to near
// white at the highest, so the valley shows and the paths stay in front; and the contour lines'
// colour.
func bandColors(n int) ([]color.RGBA, color.RGBA) {
	out := make([]color.RGBA, n+1)
	for k := range out {
		f := math.Sqrt(float64(k) / float64(max(n, 1))) // most change among the low levels
		lerp := func(a, b float64) uint8 { return uint8(a + f*(b-a) + 0.5) }
		out[k] = color.RGBA{lerp(0xA8, 0xFA), lerp(0xBC, 0xFA), lerp(0xD6, 0xFB), 0xFF}
	}
	return out, color.RGBA{0x8A, 0x98, 0xAC, 0xFF}
}

func (d *contour) draw(cell draw.Canvas) {
	c := d.c
	p, inner, fs := newPlot(frameSpec{c.Title, c.XLabel, c.YLabel, d.w, d.h}, cell)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = c.XMin, c.XMax, c.YMin, c.YMax
	p.X.Tick.Marker = ticker{max: 10}
	p.Y.Tick.Marker = ticker{max: max(2, (d.h-2*margin-80)/45)}
	p.Add(raster{d.bands})
	xa := axis{lo: c.XMin, hi: c.XMax}
	ya := axis{lo: c.YMin, hi: c.YMax}
	occ := &occupancy{}
	var entries []entry
	var starts plotter.XYs
	var ends []gplot.Plotter
	for i, runs := range d.paths {
		sty := draw.LineStyle{Color: seriesColor(i), Width: px(2)}
		if c.DotEvery > 0 {
			sty.Width = px(1.5) // long paths often overlap: thinner lines hide less of each other
		}
		if c.Paths[i].Dashed {
			sty.Dashes = seriesDash
		}
		dot := draw.GlyphStyle{Color: seriesColor(i), Radius: px(1.8), Shape: draw.CircleGlyph{}}
		if c.DotEvery > 0 {
			dot.Radius = px(3) // sparse dots: big enough to see beside a line of another colour
		}
		n := 0
		for _, r := range runs {
			n += len(r)
		}
		for _, r := range runs {
			xy := make(plotter.XYs, len(r))
			pts := make([][2]float64, len(r))
			for k, q := range r {
				xy[k] = plotter.XY{X: q.x, Y: q.y}
				pts[k] = [2]float64{xa.frac(q.x), ya.frac(q.y)}
			}
			occ.line(pts)
			if len(xy) > 1 {
				p.Add(&plotter.Line{XYs: xy, LineStyle: sty})
			}
			switch {
			case c.DotEvery > 0:
				var dots plotter.XYs
				for k, q := range xy {
					if k%c.DotEvery == 0 {
						dots = append(dots, q)
					}
				}
				if len(dots) > 0 {
					p.Add(&plotter.Scatter{XYs: dots, GlyphStyle: dot})
				}
			case n <= dotsUpTo || len(xy) == 1:
				p.Add(&plotter.Scatter{XYs: xy, GlyphStyle: dot})
			}
		}
		if len(runs) == 0 {
			continue
		}
		first, last := runs[0][0], runs[len(runs)-1][len(runs[len(runs)-1])-1]
		starts = append(starts, plotter.XY{X: first.x, Y: first.y})
		// End points go on top of every path, ringed in white, so that paths that overlap
		// (all of them, along Rosenbrock's valley) still show where each one stopped.
		end := last
		col := seriesColor(i)
		ends = append(ends, &plotter.Scatter{XYs: plotter.XYs{{X: end.x, Y: end.y}}, GlyphStyle: draw.GlyphStyle{Color: color.White, Radius: px(6), Shape: draw.CircleGlyph{}}},
			&plotter.Scatter{XYs: plotter.XYs{{X: end.x, Y: end.y}}, GlyphStyle: draw.GlyphStyle{Color: col, Radius: px(4.5), Shape: draw.CircleGlyph{}}})
		if c.Paths[i].Name != "" {
			end := draw.GlyphStyle{Color: seriesColor(i), Radius: px(4), Shape: draw.CircleGlyph{}}
			entries = append(entries, entry{name: c.Paths[i].Name, line: &sty, glyph: &end})
		}
	}
	p.Add(ends...)
	if len(starts) > 0 {
		p.Add(&plotter.Scatter{XYs: starts, GlyphStyle: draw.GlyphStyle{Color: colText, Radius: px(5), Shape: draw.RingGlyph{}}})
	}
	var labels []func(draw.Canvas)
	for _, pt := range c.Points {
		if math.IsNaN(pt.X) || math.IsNaN(pt.Y) {
			continue
		}
		pt := pt
		p.Add(&plotter.Scatter{XYs: plotter.XYs{{X: pt.X, Y: pt.Y}}, GlyphStyle: draw.GlyphStyle{Color: colText, Radius: px(6), Shape: draw.CrossGlyph{}}})
		u, v := xa.frac(pt.X), ya.frac(pt.Y)
		occ.mark(u, v)
		if pt.Label != "" {
			sty := textStyle(fs.tick, colText)
			sty.YAlign = draw.YCenter
			labels = append(labels, func(dc draw.Canvas) {
				if !(u >= 0 && u <= 1 && v >= 0 && v <= 1) {
					return
				}
				at := vg.Point{X: dc.Min.X + vg.Length(u)*(dc.Max.X-dc.Min.X) + px(9), Y: dc.Min.Y + vg.Length(v)*(dc.Max.Y-dc.Min.Y)}
				w, h := sty.Width(pt.Label), sty.FontExtents().Height
				if at.X+w > dc.Max.X { // no room on the right: put it on the left
					at.X -= w + px(18)
				}
				at.Y += h * 0.6 // above the paths that end at the point
				m := px(2)
				dc.FillPolygon(colLabelBack, []vg.Point{{X: at.X - m, Y: at.Y - h/2}, {X: at.X + w + m, Y: at.Y - h/2}, {X: at.X + w + m, Y: at.Y + h/2}, {X: at.X - m, Y: at.Y + h/2}})
				dc.FillText(sty, at, pt.Label)
			})
			bw := 0.25 // about the label's width, for the legend to avoid
			occ.fill(box{u, v - 0.02, math.Min(u+bw, 1), v + 0.02})
		}
	}
	p.Add(frame{})
	dc := p.DataCanvas(inner)
	fitXTicks(&p.X, dc.Max.X-dc.Min.X)
	l := newLegend(entries, fs.legend, (dc.Max.X-dc.Min.X)*0.45, dc.Max.Y-dc.Min.Y)
	plotC, at, drawLegend := placeLegend(p, inner, l, occ)
	d.legendAt = at
	p.Draw(plotC)
	dc = p.DataCanvas(plotC)
	for _, f := range labels {
		f(dc)
	}
	drawLegend()
}
