package plot

import (
	"fmt"
	"image"
	"math"
	"slices"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HeatMap shows a quantity per row and column as colour: a per-layer diagnostic (a gradient norm,
// a fraction of dead units) with one row per layer and one column per logged step. Colours are
// viridis, with a colour bar; cells that cannot be shown (NaN, ±Inf, and on a log scale values
// <= 0) are light grey. The zero Width and Height mean 900×560 pixels.
type HeatMap struct {
	Title, XLabel, YLabel string
	// ZLabel names the quantity, beside the colour bar.
	ZLabel string
	// X is each column's x value (a step number), strictly increasing; empty means 0, 1, 2, ...
	X []float64
	// Rows names the rows; Rows[0] is drawn at the top, like the first row of a table.
	Rows []string
	// Z[r][c] is row r's value in column c. Every row has len(X) values (or, with X empty, as
	// many as the first row).
	Z [][]float64
	// LogZ colours by log10 of the value, for quantities spanning decades (gradient norms).
	LogZ bool
	// ZMin < ZMax fixes the colour scale (values beyond take the end colours), so that maps of
	// several runs compare: 0 and 1 for a fraction. Otherwise it spans the data.
	ZMin, ZMax float64
	// IntegerX keeps x ticks on whole numbers.
	IntegerX      bool
	Width, Height int
}

func (m *HeatMap) size() (int, int, error) {
	if m == nil {
		return 0, 0, fmt.Errorf("plot: nil heat map: %w", ErrInvalid)
	}
	return checkSize(m.Title, m.Width, m.Height, DefaultWidth, DefaultHeight)
}

// heatMap is a checked HeatMap: its values in colour space (log10 on a log scale) and range.
type heatMap struct {
	m        *HeatMap
	w, h     int
	xs       []float64
	z        [][]float64 // NaN where a cell cannot be shown
	zlo, zhi float64     // colour range in colour space
	xlo, xhi float64     // x range of the cell edges
}

func (m *HeatMap) prepare() (drawer, error) {
	w, h, err := m.size()
	if err != nil {
		return nil, err
	}
	if len(m.Z) == 0 {
		return nil, fmt.Errorf("plot: heat map %q: no rows: %w", m.Title, ErrNoData)
	}
	if len(m.Rows) != 0 && len(m.Rows) != len(m.Z) {
		return nil, fmt.Errorf("plot: heat map %q: %d row names for %d rows: %w", m.Title, len(m.Rows), len(m.Z), ErrInvalid)
	}
	cols := len(m.X)
	if cols == 0 {
		cols = len(m.Z[0])
	}
	if cols == 0 {
		return nil, fmt.Errorf("plot: heat map %q: no columns: %w", m.Title, ErrNoData)
	}
	xs := make([]float64, cols)
	for c := range xs {
		xs[c] = float64(c)
		if len(m.X) > 0 {
			xs[c] = m.X[c]
			if math.IsNaN(xs[c]) || math.Abs(xs[c]) > maxMagnitude || (c > 0 && !(xs[c] > xs[c-1])) {
				return nil, fmt.Errorf("plot: heat map %q: X[%d] = %v: want finite and increasing: %w", m.Title, c, xs[c], ErrInvalid)
			}
		}
	}
	d := &heatMap{m: m, w: w, h: h, xs: xs, zlo: math.Inf(1), zhi: math.Inf(-1)}
	for r, row := range m.Z {
		if len(row) != cols {
			return nil, fmt.Errorf("plot: heat map %q: row %d has %d values, want %d: %w", m.Title, r, len(row), cols, ErrInvalid)
		}
		zr := make([]float64, cols)
		for c, v := range row {
			t, ok := toAxis(v, m.LogZ)
			if !ok {
				t = math.NaN()
			} else {
				d.zlo, d.zhi = math.Min(d.zlo, t), math.Max(d.zhi, t)
			}
			zr[c] = t
		}
		d.z = append(d.z, zr)
	}
	if d.zlo > d.zhi {
		return nil, fmt.Errorf("plot: heat map %q: no value can be shown: %w", m.Title, ErrNoData)
	}
	lo, okLo := toAxis(m.ZMin, m.LogZ)
	hi, okHi := toAxis(m.ZMax, m.LogZ)
	if fixed := m.ZMin < m.ZMax; fixed && okLo && okHi && !math.IsInf(lo, 0) && !math.IsInf(hi, 0) {
		d.zlo, d.zhi = lo, hi
	} else if fixed {
		return nil, fmt.Errorf("plot: heat map %q: colour range [%v, %v] cannot be shown (finite, and positive on a log scale): %w", m.Title, m.ZMin, m.ZMax, ErrInvalid)
	} else if za := newAxis(d.zlo, d.zhi, m.LogZ); d.zhi-d.zlo <= 1e-9*math.Max(math.Abs(d.zlo), math.Abs(d.zhi)) { // constant: centre it
		d.zlo, d.zhi = za.lo, za.hi
	}
	// Cell edges lie halfway between columns, and half a step beyond the first and last.
	half := func(a, b float64) float64 { return (b - a) / 2 }
	if cols == 1 {
		d.xlo, d.xhi = xs[0]-0.5, xs[0]+0.5
	} else {
		d.xlo, d.xhi = xs[0]-half(xs[0], xs[1]), xs[cols-1]+half(xs[cols-2], xs[cols-1])
	}
	return d, nil
}

// rowName is the name of row r counted from the bottom.
func (d *heatMap) rowName(r int) string {
	if len(d.m.Rows) == 0 {
		return fmt.Sprint(len(d.z) - 1 - r)
	}
	return d.m.Rows[len(d.z)-1-r]
}

// cells renders the map as a w×h image whose pixel (i, j) lies at (x(i), y(j)) in data units:
// columns between the midpoints of neighbouring X values, row r at y = r counted from the bottom.
func (d *heatMap) cells(w, h int, x, y func(int) float64) *image.RGBA {
	edges := make([]float64, len(d.xs)-1) // edges[c] is the boundary between columns c and c+1
	for c := range edges {
		edges[c] = (d.xs[c] + d.xs[c+1]) / 2
	}
	colOf := make([]int, w)
	for i := range w {
		colOf[i], _ = slices.BinarySearch(edges, x(i))
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	n := len(d.z)
	for j := range h {
		r := n - 1 - int(math.Floor(y(j)+0.5)) // y = 0 is the bottom row, Z's last
		for i := range w {
			col := colNaN
			if r >= 0 && r < n {
				if v := d.z[r][colOf[i]]; !math.IsNaN(v) {
					col = viridis((v - d.zlo) / (d.zhi - d.zlo))
				}
			}
			img.SetRGBA(i, j, col)
		}
	}
	return img
}

// barW is the colour bar's width; barGap the space between the map and the bar, in pixels.
const barW, barGap = 16, 14

func (d *heatMap) draw(cell draw.Canvas) {
	m := d.m
	p, inner, fs := newPlot(frameSpec{m.Title, m.XLabel, m.YLabel, d.w, d.h}, cell)
	p.Add(raster{d.cells}, frame{})
	p.X.Min, p.X.Max = d.xlo, d.xhi
	p.X.Tick.Marker = ticker{integer: m.IntegerX, max: 10}
	p.Y.Min, p.Y.Max = -0.5, float64(len(d.z))-0.5
	var rows []gplot.Tick
	// Name every row while the names fit; otherwise every k-th.
	rowH := float64(d.h-2*margin-80) / float64(len(d.z))
	step := max(1, int(math.Ceil(float64(fs.tick)*1.6/float64(px(rowH)))))
	for r := 0; r < len(d.z); r += step {
		rows = append(rows, gplot.Tick{Value: float64(r), Label: d.rowName(r)})
	}
	p.Y.Tick.Marker = gplot.ConstantTicks(rows)

	// The colour bar's strip: bar, ticks, labels and the quantity's name.
	za := axis{log: m.LogZ, lo: d.zlo, hi: d.zhi}
	zt := za.ticks(max(2, (d.h-2*margin-80)/45))
	tsty := textStyle(fs.tick, colText)
	var labelW vg.Length
	for _, t := range zt {
		labelW = max(labelW, tsty.Width(t.Label))
	}
	lsty := textStyle(fs.label, colText)
	strip := px(barGap+barW+5+4) + labelW + px(8)
	if m.ZLabel != "" {
		strip += lsty.FontExtents().Height
	}
	mapC := draw.Crop(inner, 0, -strip, 0, 0)
	fitXTicks(&p.X, p.DataCanvas(mapC).Max.X-p.DataCanvas(mapC).Min.X)
	p.Draw(mapC)
	dc := p.DataCanvas(mapC)

	x0 := mapC.Max.X + px(barGap)
	bar := draw.Canvas{Canvas: cell.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: x0, Y: dc.Min.Y}, Max: vg.Point{X: x0 + px(barW), Y: dc.Max.Y}}}
	const slices = 128
	hgt := bar.Max.Y - bar.Min.Y
	for i := range slices {
		y0 := bar.Min.Y + hgt*vg.Length(i)/slices
		y1 := bar.Min.Y + hgt*vg.Length(i+1)/slices + px(0.5) // overlap: no hairline seams
		y1 = min(y1, bar.Max.Y)
		bar.FillPolygon(viridis((float64(i)+0.5)/slices), []vg.Point{{X: bar.Min.X, Y: y0}, {X: bar.Max.X, Y: y0}, {X: bar.Max.X, Y: y1}, {X: bar.Min.X, Y: y1}})
	}
	r := bar.Rectangle
	bar.StrokeLines(draw.LineStyle{Color: colAxis, Width: px(1)}, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min})
	tsty.XAlign, tsty.YAlign = draw.XLeft, draw.YCenter
	axisSty := draw.LineStyle{Color: colAxis, Width: px(1)}
	for _, t := range zt {
		v, ok := toAxis(t.V, m.LogZ)
		if !ok {
			continue
		}
		f := za.frac(v)
		if !(f >= -1e-9 && f <= 1+1e-9) {
			continue
		}
		if t.Minor || t.Label == "" {
			continue // minor ticks would stripe the narrow bar
		}
		y := r.Min.Y + vg.Length(f)*hgt
		bar.StrokeLine2(axisSty, r.Max.X, y, r.Max.X+px(5), y)
		{
			cell.FillText(tsty, vg.Point{X: r.Max.X + px(5+4), Y: y}, t.Label)
		}
	}
	if m.ZLabel != "" {
		lsty.Rotation = -math.Pi / 2
		lsty.XAlign, lsty.YAlign = draw.XCenter, draw.YTop
		s := fitText(m.ZLabel, lsty, hgt)
		cell.FillText(lsty, vg.Point{X: r.Max.X + px(5+4+8) + labelW + lsty.FontExtents().Height, Y: (r.Min.Y + r.Max.Y) / 2}, s)
	}
}
