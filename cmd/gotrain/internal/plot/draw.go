package plot

import (
	"image"
	"math"
	"sort"
	"strconv"
)

// Layout, in pixels.
const (
	pad         = 14   // outer margin
	tickLen     = 5    // major tick length; minor ticks are half that
	lineHW      = 1.25 // half-width of series lines (2.5 px wide)
	dotR        = 3.0  // radius of an isolated point
	markerHW    = 1.0  // half-width of marker lines
	legendPad   = 8
	legendLineW = 28
)

var (
	seriesDash = [2]float64{9, 5}
	markerDash = [2]float64{6, 4}
)

// layout is where everything goes on the canvas.
type layout struct {
	plot   image.Rectangle // the data area; the frame sits just outside it
	xt, yt []tick
}

func (d *prepared) layout(w, h int) layout {
	c := d.c
	d.fs = fontsFor(w, h)
	top := pad
	if c.Title != "" {
		top += textHeight(d.fs.title) + 12
	} else {
		top += 4
	}
	bottom := pad + tickLen + 6 + textHeight(d.fs.tick)
	if c.XLabel != "" {
		bottom += 10 + textHeight(d.fs.label)
	}
	ph := max(h-top-bottom, 1)
	yt := d.ya.ticks(max(2, ph/45))

	left := pad + tickLen + 6 + maxLabelWidth(yt, d.fs.tick)
	if c.YLabel != "" {
		left += textHeight(d.fs.label) + 12
	}
	left = min(left, w/2)
	right := pad + 10
	pw := max(w-left-right, 1)

	// Fewer x ticks until their labels fit side by side with room to spare.
	var xt []tick
	for target := max(2, pw/70); ; target-- {
		xt = d.xa.ticks(target)
		if c.IntegerX && !c.LogX {
			xt = integerTicks(xt, d.xa)
		}
		n := 0
		for _, t := range xt {
			if t.Label != "" {
				n++
			}
		}
		if n*(maxLabelWidth(xt, d.fs.tick)+24) <= pw || target <= 2 {
			break
		}
	}
	return layout{plot: image.Rect(left, top, left+pw, top+ph), xt: xt, yt: yt}
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

func maxLabelWidth(ts []tick, scale int) int {
	m := 0
	for _, t := range ts {
		m = max(m, textWidth(t.Label, scale))
	}
	return m
}

// draw renders the prepared chart onto img, which is already cleared.
func (d *prepared) draw(img *image.RGBA) {
	c := d.c
	w, h := img.Rect.Dx(), img.Rect.Dy()
	lay := d.layout(w, h)
	pr := lay.plot
	px := func(t float64) float64 { return snap(float64(pr.Min.X) + float64(d.xa.frac(t)*float64(pr.Dx()))) }
	py := func(t float64) float64 { return snap(float64(pr.Max.Y) - float64(d.ya.frac(t)*float64(pr.Dy()))) }

	xs := d.tickPixels(lay.xt, d.xa, px, pr.Min.X, pr.Max.X-1)
	ys := d.tickPixels(lay.yt, d.ya, py, pr.Min.Y, pr.Max.Y-1)

	// Gridlines, minor under major.
	for _, minor := range []bool{true, false} {
		col := colGrid
		if minor {
			col = colGridMinor
		}
		for _, t := range xs {
			if t.Minor == minor {
				vline(img, t.p, pr.Min.Y, pr.Max.Y-1, col)
			}
		}
		for _, t := range ys {
			if t.Minor == minor {
				hline(img, pr.Min.X, pr.Max.X-1, t.p, col)
			}
		}
	}

	// Markers go under the data so they never hide a curve.
	occ := newMask(pr) // what is drawn where, for placing labels and the legend
	for _, m := range d.marks {
		x := math.Floor(px(m.x)) + 1 // centred on a pixel edge: 2 px wide, crisp
		mk := newMask(pr)
		mk.polyline([]pt{{x, float64(pr.Min.Y)}, {x, float64(pr.Max.Y)}}, markerHW, markerDash)
		mk.paint(img, colMarker)
	}

	for i, runs := range d.runs {
		mk := newMask(pr)
		dash := [2]float64{}
		if c.Series[i].Dashed {
			dash = seriesDash
		}
		for _, r := range runs {
			ps := make([]pt, len(r))
			for j, p := range r {
				ps[j] = pt{px(p.x), py(p.y)}
			}
			if len(ps) == 1 {
				mk.capsule(ps[0], ps[0], dotR)
				continue
			}
			mk.polyline(ps, lineHW, dash)
		}
		mk.paint(img, seriesColor(i))
		occ.union(mk)
	}

	strokeRect(img, pr.Inset(-1), colAxis)
	d.drawTicks(img, lay, xs, ys)
	d.drawTitles(img, pr)

	labels := d.markerLabels(pr, px, occ)
	d.drawLegend(img, pr, occ)
	for _, l := range labels {
		blendRect(img, l.box, colBackground, 0.85)
		drawText(img, l.at.X, l.at.Y, l.text, d.fs.tick, colMarker)
	}
}

// snap rounds a pixel coordinate to 1/256 px. math.Log10 and friends may
// differ in the last bit between architectures (assembly on amd64, Go on
// arm64); snapping absorbs that, so golden images match everywhere.
func snap(v float64) float64 { return math.Round(float64(v*256)) / 256 }

// ptick is a tick placed at pixel row or column p.
type ptick struct {
	tick
	p int
}

// tickPixels keeps the ticks inside the axis range and places them on pixels.
func (d *prepared) tickPixels(ts []tick, a axis, at func(float64) float64, lo, hi int) []ptick {
	var out []ptick
	for _, t := range ts {
		v, ok := toAxis(t.V, a.log)
		if !ok {
			continue
		}
		if f := a.frac(v); !(f >= -1e-9 && f <= 1+1e-9) {
			continue
		}
		p := int(math.Floor(at(v)))
		out = append(out, ptick{t, max(lo, min(hi, p))})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].p < out[j].p })
	return out
}

func (d *prepared) drawTicks(img *image.RGBA, lay layout, xs, ys []ptick) {
	pr := lay.plot
	th := textHeight(d.fs.tick)
	w := img.Rect.Dx()
	lastEnd := math.MinInt
	for _, t := range xs {
		n := tickLen
		if t.Minor {
			n = (tickLen + 1) / 2
		}
		vline(img, t.p, pr.Max.Y+1, pr.Max.Y+n, colAxis)
		if t.Label == "" {
			continue
		}
		tw := textWidth(t.Label, d.fs.tick)
		x := max(0, min(w-tw, t.p-tw/2))
		if x < lastEnd+8 { // would collide with its neighbour: drop it
			continue
		}
		drawText(img, x, pr.Max.Y+1+tickLen+5, t.Label, d.fs.tick, colText)
		lastEnd = x + tw
	}
	lastTop := math.MaxInt
	for i := len(ys) - 1; i >= 0; i-- { // bottom to top
		t := ys[i]
		n := tickLen
		if t.Minor {
			n = (tickLen + 1) / 2
		}
		hline(img, pr.Min.X-1-n, pr.Min.X-2, t.p, colAxis)
		if t.Label == "" {
			continue
		}
		y := t.p - th/2
		if y+th > lastTop-4 {
			continue
		}
		tw := textWidth(t.Label, d.fs.tick)
		drawText(img, pr.Min.X-1-tickLen-5-tw, y, t.Label, d.fs.tick, colText)
		lastTop = y
	}
}

func (d *prepared) drawTitles(img *image.RGBA, pr image.Rectangle) {
	c := d.c
	w, h := img.Rect.Dx(), img.Rect.Dy()
	center := func(tw int) int { return max(0, min(w-tw, (pr.Min.X+pr.Max.X)/2-tw/2)) }
	if c.Title != "" {
		s := fitText(c.Title, d.fs.title, w-2*pad)
		drawText(img, center(textWidth(s, d.fs.title)), pad, s, d.fs.title, colText)
	}
	if c.XLabel != "" {
		s := fitText(c.XLabel, d.fs.label, w-2*pad)
		drawText(img, center(textWidth(s, d.fs.label)), h-pad-textHeight(d.fs.label), s, d.fs.label, colText)
	}
	if c.YLabel != "" {
		s := fitText(c.YLabel, d.fs.label, max(pr.Dy(), h-2*pad))
		tw := textWidth(s, d.fs.label)
		y := max(0, min(h-tw, (pr.Min.Y+pr.Max.Y)/2-tw/2))
		drawTextUp(img, pad, y, s, d.fs.label, colText)
	}
}

// markerLabel is a marker's text and the box behind it.
type markerLabel struct {
	text string
	at   image.Point
	box  image.Rectangle
}

// markerLabels places each marker's label beside its line, at the top or the
// bottom of the plot and right or left of the line, whichever covers the
// least drawn data (top right on a tie); neighbours are staggered. Each
// placed label is marked in occ so later labels and the legend avoid it.
func (d *prepared) markerLabels(pr image.Rectangle, px func(float64) float64, occ *mask) []markerLabel {
	th := textHeight(d.fs.tick)
	var out []markerLabel
	for j, m := range d.marks {
		if m.label == "" {
			continue
		}
		s := fitText(m.label, d.fs.tick, pr.Dx()/2)
		tw := textWidth(s, d.fs.tick)
		x := int(math.Floor(px(m.x)))
		off := (j % 3) * (th + 10)
		var best markerLabel
		bestScore := math.Inf(1)
		for _, ly := range []int{pr.Min.Y + 8 + off, pr.Max.Y - 8 - th - off} {
			for _, lx := range []int{x + 7, x - 6 - tw} {
				l := markerLabel{text: s, at: image.Pt(lx, ly), box: image.Rect(lx-3, ly-3, lx+tw+3, ly+th+3)}
				if score := occ.sum(l.box); score < bestScore {
					best, bestScore = l, score
				}
			}
		}
		best.box = best.box.Intersect(pr)
		occ.fill(best.box)
		out = append(out, best)
	}
	return out
}

// drawLegend lists the named series in a box in whichever inside corner of the
// plot covers the least drawn data (top-right when there is a tie).
func (d *prepared) drawLegend(img *image.RGBA, pr image.Rectangle, occ *mask) {
	var idx []int
	for i, s := range d.c.Series {
		if s.Name != "" {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return
	}
	th := textHeight(d.fs.legend)
	rowH := th + 8
	// Keep the box inside the plot: drop rows that do not fit and say so.
	maxRows := max(1, (pr.Dy()-2*legendPad-20)/rowH)
	more := 0
	if len(idx) > maxRows {
		more = len(idx) - (maxRows - 1)
		idx = idx[:maxRows-1]
	}
	maxTextW := pr.Dx()/2 - legendLineW - 3*legendPad
	names := make([]string, len(idx))
	tw := 0
	for k, i := range idx {
		names[k] = fitText(d.c.Series[i].Name, d.fs.legend, maxTextW)
		tw = max(tw, textWidth(names[k], d.fs.legend))
	}
	rows := len(idx)
	var moreText string
	if more > 0 {
		moreText = "+" + strconv.Itoa(more) + " more"
		tw = max(tw, textWidth(moreText, d.fs.legend))
		rows++
	}
	bw := legendPad + legendLineW + legendPad + tw + legendPad
	bh := 2*legendPad + rows*rowH - (rowH - th)
	const inset = 10
	corners := []image.Point{
		{pr.Max.X - inset - bw, pr.Min.Y + inset}, // top right
		{pr.Min.X + inset, pr.Min.Y + inset},      // top left
		{pr.Max.X - inset - bw, pr.Max.Y - inset - bh},
		{pr.Min.X + inset, pr.Max.Y - inset - bh},
	}
	best, bestScore := corners[0], math.Inf(1)
	for _, p := range corners {
		if s := occ.sum(image.Rect(p.X, p.Y, p.X+bw, p.Y+bh)); s < bestScore {
			best, bestScore = p, s
		}
	}
	box := image.Rect(best.X, best.Y, best.X+bw, best.Y+bh)
	blendRect(img, box, colBackground, 0.9)
	strokeRect(img, box, colLegendEdge)
	y := box.Min.Y + legendPad
	for k, i := range idx {
		mk := newMask(box)
		cy := float64(y) + float64(th)/2
		x0 := float64(box.Min.X + legendPad)
		dash := [2]float64{}
		if d.c.Series[i].Dashed {
			dash = seriesDash
		}
		mk.polyline([]pt{{x0, cy}, {x0 + legendLineW, cy}}, lineHW, dash)
		mk.paint(img, seriesColor(i))
		drawText(img, box.Min.X+2*legendPad+legendLineW, y, names[k], d.fs.legend, colText)
		y += rowH
	}
	if more > 0 {
		drawText(img, box.Min.X+2*legendPad+legendLineW, y, moreText, d.fs.legend, colText)
	}
}

// union raises m's coverage to at least o's where they overlap.
func (m *mask) union(o *mask) {
	if m.r != o.r {
		return
	}
	for i, a := range o.a {
		if a > m.a[i] {
			m.a[i] = a
		}
	}
}

// fill marks r as fully covered.
func (m *mask) fill(r image.Rectangle) {
	r = r.Intersect(m.r)
	w := m.r.Dx()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			m.a[(y-m.r.Min.Y)*w+x-m.r.Min.X] = 1
		}
	}
}

// sum is the total coverage inside r; area outside the mask counts as full,
// so a box hanging off the plot is never preferred.
func (m *mask) sum(r image.Rectangle) float64 {
	in := r.Intersect(m.r)
	s := float64(r.Dx()*r.Dy() - in.Dx()*in.Dy())
	w := m.r.Dx()
	for y := in.Min.Y; y < in.Max.Y; y++ {
		for x := in.Min.X; x < in.Max.X; x++ {
			s += float64(m.a[(y-m.r.Min.Y)*w+x-m.r.Min.X])
		}
	}
	return s
}
