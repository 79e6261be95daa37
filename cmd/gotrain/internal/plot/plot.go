// Package plot draws line charts (loss curves, lr-find sweeps, metric
// dashboards) to PNG using only the standard library, so gotrain can chart a
// run on a headless machine with no fonts and no extra modules.
//
// Text uses an embedded 5×7 bitmap font. Axes get 1-2-5 ticks (powers of ten
// on log axes), gridlines and titles; series are anti-aliased lines in a
// colour-blind-friendly palette, with a legend placed in the emptiest corner.
// Bad data never panics: NaN, ±Inf and (on log axes) non-positive points are
// skipped and break the line there; a chart with nothing to draw is an error.
package plot

import (
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
)

// Default and allowed chart sizes in pixels.
const (
	DefaultWidth  = 900
	DefaultHeight = 560
	MinWidth      = 240
	MinHeight     = 160
	MaxSide       = 8192
	maxPixels     = 1 << 26 // about 256 MiB of RGBA
)

var (
	// ErrNoData is returned for a chart with no point that can be drawn.
	ErrNoData = errors.New("no plottable data")
	// ErrInvalid is returned for bad arguments: sizes, column counts, nil charts.
	ErrInvalid = errors.New("invalid argument")
)

// Series is one line. Points pair X[i] with Y[i]; the longer slice's extra
// values are ignored. An empty X plots Y[i] at x = i.
type Series struct {
	Name   string
	X, Y   []float64
	Dashed bool
}

// Marker is a labelled vertical dashed line at X, e.g. a suggested learning
// rate or the epoch where a schedule changes.
type Marker struct {
	X     float64
	Label string
}

// Chart describes one line chart. The zero Width and Height mean 900×560.
type Chart struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	// IntegerX keeps x ticks on whole numbers (epochs, steps) on a linear axis.
	IntegerX      bool
	Series        []Series
	Markers       []Marker
	Width, Height int
}

// fontSizes are text sizes as multiples of the 5×7 font.
type fontSizes struct{ title, label, tick, legend int }

// fontsFor picks text sizes for a w×h chart: 2× text with 3× titles reads
// well at the default size but would crowd out a small chart's data, which
// gets 1× text with 2× titles.
func fontsFor(w, h int) fontSizes {
	if w >= 560 && h >= 340 {
		return fontSizes{title: 3, label: 2, tick: 2, legend: 2}
	}
	return fontSizes{title: 2, label: 1, tick: 1, legend: 1}
}

// Render draws the chart. It returns an error wrapping ErrInvalid for a bad
// size and ErrNoData when no series has a point that can be drawn.
func (c *Chart) Render() (*image.RGBA, error) {
	if c == nil {
		return nil, fmt.Errorf("plot: render: nil chart: %w", ErrInvalid)
	}
	w, h, err := c.size()
	if err != nil {
		return nil, err
	}
	d, err := c.prepare()
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(img, img.Rect, colBackground)
	d.draw(img)
	return img, nil
}

// size applies defaults and checks the chart's pixel size.
func (c *Chart) size() (int, int, error) {
	w, h := c.Width, c.Height
	if w == 0 {
		w = DefaultWidth
	}
	if h == 0 {
		h = DefaultHeight
	}
	if w < MinWidth || h < MinHeight || w > MaxSide || h > MaxSide {
		return 0, 0, fmt.Errorf("plot: chart %q: size %dx%d outside %dx%d..%dx%d: %w",
			c.Title, w, h, MinWidth, MinHeight, MaxSide, MaxSide, ErrInvalid)
	}
	return w, h, nil
}

// WritePNG renders the chart and encodes it to w as PNG.
func (c *Chart) WritePNG(w io.Writer) error {
	img, err := c.Render()
	if err != nil {
		return err
	}
	return encode(w, img)
}

// SavePNG renders the chart to a PNG file. The file appears whole or not at
// all: it is written to a temporary file in the same directory, synced, and
// renamed over path, so a crash never leaves a truncated chart behind.
func (c *Chart) SavePNG(path string) error {
	img, err := c.Render()
	if err != nil {
		return err
	}
	return saveAtomic(path, img)
}

func encode(w io.Writer, img image.Image) error {
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("plot: encode png: %w", err)
	}
	return nil
}

// saveAtomic writes img to path via a synced temporary file and a rename.
func saveAtomic(path string, img image.Image) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("plot: save %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = encode(f, img); err != nil {
		return fmt.Errorf("plot: save %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; a chart is meant to be shared.
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("plot: save %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("plot: save %s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("plot: save %s: close: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("plot: save %s: %w", path, err)
	}
	// Sync the directory too so the rename itself survives a crash. Not every
	// platform can open a directory for syncing, so this is best effort.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// prepared is a chart reduced to drawable runs in axis space, with its axes.
type prepared struct {
	c      *Chart
	runs   [][][]apt // per series, maximal runs of drawable points
	marks  []amark
	xa, ya axis
	fs     fontSizes // set by layout
}

// apt is a point in axis space.
type apt struct{ x, y float64 }

// amark is a marker in axis space.
type amark struct {
	x     float64
	label string
}

// prepare filters the data and fixes the axis ranges.
func (c *Chart) prepare() (*prepared, error) {
	d := &prepared{c: c, runs: make([][][]apt, len(c.Series))}
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

// runs splits the series into maximal runs of drawable points in axis space.
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
