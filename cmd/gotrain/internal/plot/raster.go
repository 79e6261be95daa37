package plot

import (
	"image"
	"image/color"
	"math"
)

// fillRect paints r (clipped to img) with the opaque colour c.
func fillRect(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := img.PixOffset(r.Min.X, y)
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
			i += 4
		}
	}
}

// blendRect paints r (clipped to img) with c at opacity a in [0, 1].
func blendRect(img *image.RGBA, r image.Rectangle, c color.RGBA, a float64) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			blend(img, x, y, c, a)
		}
	}
}

// blend mixes c into the pixel at (x, y) with coverage a. Everything drawn is
// opaque, so straight sRGB interpolation is enough and keeps output exact.
func blend(img *image.RGBA, x, y int, c color.RGBA, a float64) {
	if !(image.Point{x, y}.In(img.Rect)) || !(a > 0) {
		return
	}
	if a >= 1 {
		i := img.PixOffset(x, y)
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
		return
	}
	i := img.PixOffset(x, y)
	mix := func(d, s uint8) uint8 {
		return uint8(math.Round(float64(d) + float64((float64(s)-float64(d))*a)))
	}
	img.Pix[i] = mix(img.Pix[i], c.R)
	img.Pix[i+1] = mix(img.Pix[i+1], c.G)
	img.Pix[i+2] = mix(img.Pix[i+2], c.B)
	img.Pix[i+3] = 255
}

// hline and vline draw crisp one-pixel lines, inclusive of both ends.
func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	fillRect(img, image.Rect(min(x0, x1), y, max(x0, x1)+1, y+1), c)
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	fillRect(img, image.Rect(x, min(y0, y1), x+1, max(y0, y1)+1), c)
}

// strokeRect outlines r with a one-pixel border just inside it.
func strokeRect(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	hline(img, r.Min.X, r.Max.X-1, r.Min.Y, c)
	hline(img, r.Min.X, r.Max.X-1, r.Max.Y-1, c)
	vline(img, r.Min.X, r.Min.Y, r.Max.Y-1, c)
	vline(img, r.Max.X-1, r.Min.Y, r.Max.Y-1, c)
}

// pt is a point in pixel space (pixel (i, j) covers [i, i+1)×[j, j+1)).
type pt struct{ x, y float64 }

// coordLimit bounds pixel coordinates so that a wild value can never turn into
// a huge loop or an overflowing int conversion.
const coordLimit = 1 << 20

func finitePt(p pt) bool {
	return !math.IsNaN(p.x) && !math.IsNaN(p.y) && math.Abs(p.x) < coordLimit && math.Abs(p.y) < coordLimit
}

// mask accumulates the coverage of one stroke (a whole polyline, a dashed
// line) over a clip rectangle. Segments take the maximum, not the sum, of
// their coverage, so joints between segments do not darken; the finished mask
// is composited once.
type mask struct {
	r image.Rectangle
	a []float32
}

func newMask(r image.Rectangle) *mask {
	if r.Empty() {
		return &mask{}
	}
	return &mask{r: r, a: make([]float32, r.Dx()*r.Dy())}
}

// capsule adds a segment from p to q of half-width hw with round caps, anti-
// aliased by a one-pixel coverage ramp on the distance to the segment. A
// zero-length segment is a dot of radius hw.
func (m *mask) capsule(p, q pt, hw float64) {
	if !finitePt(p) || !finitePt(q) || !(hw > 0) || m.r.Empty() {
		return
	}
	reach := hw + 1
	bx0 := int(math.Floor(math.Min(p.x, q.x) - reach))
	bx1 := int(math.Ceil(math.Max(p.x, q.x) + reach))
	by0 := int(math.Floor(math.Min(p.y, q.y) - reach))
	by1 := int(math.Ceil(math.Max(p.y, q.y) + reach))
	b := image.Rect(bx0, by0, bx1, by1).Intersect(m.r)
	if b.Empty() {
		return
	}
	dx, dy := q.x-p.x, q.y-p.y
	ll := dx*dx + dy*dy
	w := m.r.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		cy := float64(y) + 0.5
		row := (y - m.r.Min.Y) * w
		for x := b.Min.X; x < b.Max.X; x++ {
			cx := float64(x) + 0.5
			// Explicit float64 conversions stop the compiler fusing
			// multiply-adds, so goldens match across architectures.
			t := 0.0
			if ll > 0 {
				t = (float64((cx-p.x)*dx) + float64((cy-p.y)*dy)) / ll
				t = math.Max(0, math.Min(1, t))
			}
			ex := cx - float64(p.x+float64(t*dx))
			ey := cy - float64(p.y+float64(t*dy))
			d := math.Sqrt(float64(ex*ex) + float64(ey*ey))
			cov := float32(math.Max(0, math.Min(1, hw+0.5-d)))
			if i := row + x - m.r.Min.X; cov > m.a[i] {
				m.a[i] = cov
			}
		}
	}
}

// polyline adds a connected run of points. With dash = {on, off} (pixels) the
// pattern runs continuously along the whole run, across its segments.
func (m *mask) polyline(ps []pt, hw float64, dash [2]float64) {
	if len(ps) == 1 {
		m.capsule(ps[0], ps[0], hw)
		return
	}
	dashed := dash[0] > 0 && dash[1] > 0
	pos := 0.0 // distance into the current dash period
	period := dash[0] + dash[1]
	for i := 1; i < len(ps); i++ {
		p, q := ps[i-1], ps[i]
		if !dashed {
			m.capsule(p, q, hw)
			continue
		}
		if !finitePt(p) || !finitePt(q) {
			continue
		}
		segLen := math.Hypot(q.x-p.x, q.y-p.y)
		// Walk the segment one dash boundary at a time. The step count is
		// bounded because coordinates are bounded by coordLimit.
		for s := 0.0; s < segLen; {
			var step float64
			on := pos < dash[0]
			if on {
				step = math.Min(dash[0]-pos, segLen-s)
			} else {
				step = math.Min(period-pos, segLen-s)
			}
			if on {
				a := lerp(p, q, s/segLen)
				b := lerp(p, q, (s+step)/segLen)
				m.capsule(a, b, hw)
			}
			// A floor on the step guarantees progress even when rounding
			// leaves pos a hair short of a boundary.
			step = math.Max(step, 1e-6)
			s += step
			pos += step
			if pos >= period-1e-6 {
				pos = 0
			}
		}
	}
}

func lerp(p, q pt, t float64) pt {
	return pt{p.x + float64((q.x-p.x)*t), p.y + float64((q.y-p.y)*t)}
}

// paint composites the mask onto img in colour c.
func (m *mask) paint(img *image.RGBA, c color.RGBA) {
	w := m.r.Dx()
	for i, a := range m.a {
		if a > 0 {
			blend(img, m.r.Min.X+i%w, m.r.Min.Y+i/w, c, float64(a))
		}
	}
}
