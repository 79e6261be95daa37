// Package plot draws gotrain's charts (loss curves, lr-find sweeps, metric dashboards, heat maps
// of a quantity per layer and step, optimizer paths over a contour plot) with gonum.org/v1/plot,
// as PNG, SVG or PDF.
//
// gonum/plot does the drawing, the fonts (its bundled Liberation fonts: nothing is read from the
// system or downloaded) and the output formats. This package adds what training charts need on
// top: ticks that read well on log axes (powers of ten, 1-2-5 multiples when the range is short)
// and whole numbers on epoch and step axes; lines that break at NaN, ±Inf and (on log axes)
// non-positive values instead of failing; a colour-blind-safe palette; and a legend placed in
// whichever inside corner covers no data, or beside the plot when every corner does. Bad data
// never panics; a chart with nothing to draw is an error wrapping ErrNoData.
//
// Every chart type is a Panel. Save and SaveGrid write one panel or a grid of them, the format
// following the file's extension; Write and WriteGrid take the format explicitly.
package plot

import (
	"errors"
	"fmt"
	"image"
	"io"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Default and allowed chart sizes in pixels (of a PNG; an SVG or PDF has the same size at 96
// pixels to the inch).
const (
	DefaultWidth  = 900
	DefaultHeight = 560
	MinWidth      = 240
	MinHeight     = 160
	MaxSide       = 8192
	maxPixels     = 1 << 26 // about 256 MiB of RGBA
)

// pxPerInch is the pixel density of PNG output: the CSS pixel, so a 900-pixel chart is 900 CSS
// pixels wide in a browser whatever the format.
const pxPerInch = 96

// px converts pixels to gonum's length unit (points, 1/72 inch).
func px(n float64) vg.Length { return vg.Length(n * 72 / pxPerInch) }

var (
	// ErrNoData is returned for a chart with no point that can be drawn.
	ErrNoData = errors.New("no plottable data")
	// ErrInvalid is returned for bad arguments: sizes, column counts, nil charts, formats.
	ErrInvalid = errors.New("invalid argument")
)

// Panel is one chart: a *Chart (lines), a *HeatMap or a *Contour. The methods are unexported so
// that every panel is one of this package's, drawn with its conventions.
type Panel interface {
	// size is the panel's size in pixels, defaults applied, or an error wrapping ErrInvalid.
	size() (w, h int, err error)
	// prepare checks the data and returns what draws the panel into a canvas of its size, or an
	// error (ErrNoData when nothing can be drawn). Nothing is drawn before every panel of a grid
	// has been prepared, so a failing panel leaves no half-written file.
	prepare() (drawer, error)
}

// drawer draws a prepared panel into c, which has the panel's size.
type drawer interface {
	draw(c draw.Canvas)
}

// checkSize applies the default size and checks it.
func checkSize(title string, w, h, defW, defH int) (int, int, error) {
	if w == 0 {
		w = defW
	}
	if h == 0 {
		h = defH
	}
	if w < MinWidth || h < MinHeight || w > MaxSide || h > MaxSide {
		return 0, 0, fmt.Errorf("plot: chart %q: size %dx%d outside %dx%d..%dx%d: %w",
			title, w, h, MinWidth, MinHeight, MaxSide, MaxSide, ErrInvalid)
	}
	return w, h, nil
}

// Series is one line. Points pair X[i] with Y[i]; the longer slice's extra values are ignored.
// An empty X plots Y[i] at x = i.
type Series struct {
	Name   string
	X, Y   []float64
	Dashed bool
}

// Marker is a labelled vertical dashed line at X, e.g. a suggested learning rate or the epoch
// where a schedule changes.
type Marker struct {
	X     float64
	Label string
}

// Chart is a line chart. The zero Width and Height mean 900×560 pixels.
type Chart struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	// IntegerX keeps x ticks on whole numbers (epochs, steps) on a linear axis.
	IntegerX      bool
	Series        []Series
	Markers       []Marker
	Width, Height int
}

func (c *Chart) size() (int, int, error) {
	if c == nil {
		return 0, 0, fmt.Errorf("plot: nil chart: %w", ErrInvalid)
	}
	return checkSize(c.Title, c.Width, c.Height, DefaultWidth, DefaultHeight)
}

// Render draws the chart as an image. It returns an error wrapping ErrInvalid for a bad size and
// ErrNoData when no series has a point that can be drawn.
func (c *Chart) Render() (*image.RGBA, error) {
	return renderImage([]Panel{c}, 1)
}

// WritePNG renders the chart and encodes it to w as PNG.
func (c *Chart) WritePNG(w io.Writer) error { return Write(w, PNG, c) }

// SavePNG writes the chart to path as PNG, whatever the extension, atomically like Save.
func (c *Chart) SavePNG(path string) error { return saveGrid(path, PNG, []Panel{c}, 1) }

// SaveGridPNG writes SaveGrid's grid as PNG, whatever the extension.
func SaveGridPNG(path string, charts []*Chart, cols int) error {
	return saveGrid(path, PNG, panels(charts), cols)
}
