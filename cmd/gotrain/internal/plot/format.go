package plot

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Format is an output file format.
type Format string

// The formats charts are written in.
const (
	PNG Format = "png"
	SVG Format = "svg"
	PDF Format = "pdf"
)

// Formats lists every Format, PNG first.
func Formats() []Format { return []Format{PNG, SVG, PDF} }

// ParseFormat returns the format named s ("png", "svg" or "pdf", any case).
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	switch f {
	case PNG, SVG, PDF:
		return f, nil
	}
	return "", fmt.Errorf("plot: format %q: want png, svg or pdf: %w", s, ErrInvalid)
}

// FormatOf returns the format that path's extension names.
func FormatOf(path string) (Format, error) {
	ext := filepath.Ext(path)
	f, err := ParseFormat(strings.TrimPrefix(ext, "."))
	if err != nil {
		return "", fmt.Errorf("plot: %s: extension %q is not .png, .svg or .pdf: %w", path, ext, ErrInvalid)
	}
	return f, nil
}

// Ext is the format's file extension, with its dot.
func (f Format) Ext() string { return "." + string(f) }

// String returns the format's name.
func (f Format) String() string { return string(f) }

// MarshalText and UnmarshalText make a Format usable with flag.TextVar and in JSON.
func (f Format) MarshalText() ([]byte, error) { return []byte(f), nil }

// UnmarshalText parses a format name as ParseFormat does.
func (f *Format) UnmarshalText(b []byte) error {
	g, err := ParseFormat(string(b))
	if err != nil {
		return err
	}
	*f = g
	return nil
}

// Save writes one panel to path in the format its extension names (.png, .svg or .pdf). The file
// appears whole or not at all: it is written to a temporary file in the same directory, synced,
// and renamed over path, so a crash or a chart that cannot be drawn never leaves a truncated
// file behind.
func Save(path string, p Panel) error {
	f, err := FormatOf(path)
	if err != nil {
		return err
	}
	return saveGrid(path, f, []Panel{p}, 1)
}

// SaveGrid lays panels out in one file, cols to a row, filling rows left to right, in the format
// path's extension names, atomically like Save. Every cell is as large as the largest panel; a
// smaller panel sits in its cell's top-left corner. Any panel's error fails the grid.
func SaveGrid[P Panel](path string, panels []P, cols int) error {
	f, err := FormatOf(path)
	if err != nil {
		return err
	}
	return saveGrid(path, f, asPanels(panels), cols)
}

// Write writes one panel to w in format f.
func Write(w io.Writer, f Format, p Panel) error { return writeGrid(w, f, []Panel{p}, 1) }

// WriteGrid writes SaveGrid's grid to w in format f.
func WriteGrid[P Panel](w io.Writer, f Format, panels []P, cols int) error {
	return writeGrid(w, f, asPanels(panels), cols)
}

// asPanels converts a slice of one panel type to []Panel, so that callers can pass []*Chart.
func asPanels[P Panel](ps []P) []Panel {
	out := make([]Panel, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

func panels(cs []*Chart) []Panel { return asPanels(cs) }

// layout checks a grid and prepares its panels: the cell size, the grid's size in cells and the
// drawers, before anything is drawn.
type layout struct {
	cw, ch     int // cell size in pixels
	cols, rows int
	sizes      [][2]int
	drawers    []drawer
}

func prepareGrid(ps []Panel, cols int) (*layout, error) {
	if len(ps) == 0 {
		return nil, fmt.Errorf("plot: grid: no charts: %w", ErrInvalid)
	}
	if cols < 1 {
		return nil, fmt.Errorf("plot: grid: %d columns: %w", cols, ErrInvalid)
	}
	l := &layout{cols: min(cols, len(ps))}
	l.rows = (len(ps) + l.cols - 1) / l.cols
	for i, p := range ps {
		if isNil(p) {
			return nil, fmt.Errorf("plot: grid: chart %d is nil: %w", i, ErrInvalid)
		}
		w, h, err := p.size()
		if err != nil {
			return nil, gridErr(len(ps), i, err)
		}
		l.cw, l.ch = max(l.cw, w), max(l.ch, h)
		l.sizes = append(l.sizes, [2]int{w, h})
	}
	// In float64 so that a huge chart count cannot overflow int.
	gw, gh := float64(l.cw)*float64(l.cols), float64(l.ch)*float64(l.rows)
	if gw > 2*MaxSide || gh > 2*MaxSide || gw*gh > maxPixels {
		return nil, fmt.Errorf("plot: grid: %dx%d cells of %dx%d is too large: %w", l.cols, l.rows, l.cw, l.ch, ErrInvalid)
	}
	for i, p := range ps {
		d, err := p.prepare()
		if err != nil {
			return nil, gridErr(len(ps), i, err)
		}
		l.drawers = append(l.drawers, d)
	}
	return l, nil
}

// isNil reports a nil pointer inside the interface (a nil *Chart in a []*Chart).
func isNil(p Panel) bool {
	switch v := p.(type) {
	case nil:
		return true
	case *Chart:
		return v == nil
	case *HeatMap:
		return v == nil
	case *Contour:
		return v == nil
	}
	return false
}

func gridErr(n, i int, err error) error {
	if n == 1 {
		return err
	}
	return fmt.Errorf("plot: grid: chart %d: %w", i, err)
}

// canvas makes the vector or raster canvas of format f, w×h pixels.
func canvas(f Format, w, h int) (vg.CanvasWriterTo, error) {
	W, H := px(float64(w)), px(float64(h))
	switch f {
	case PNG:
		c := vgimg.NewWith(vgimg.UseWH(W, H), vgimg.UseDPI(pxPerInch), vgimg.UseBackgroundColor(color.White))
		return vgimg.PngCanvas{Canvas: c}, nil
	case SVG:
		// Fonts are named, not embedded (an embedded font adds about 400 KB per face); a
		// viewer without Liberation Sans substitutes a metric-compatible Arial or Helvetica.
		return vgsvg.New(W, H), nil
	case PDF:
		return vgpdf.New(W, H), nil // embeds the fonts, so the PDF reads the same everywhere
	}
	return nil, fmt.Errorf("plot: format %q: want png, svg or pdf: %w", f, ErrInvalid)
}

// drawGrid draws the prepared grid onto c.
func (l *layout) drawGrid(c vg.Canvas) {
	W, H := px(float64(l.cw*l.cols)), px(float64(l.ch*l.rows))
	whole := draw.NewCanvas(c, W, H)
	whole.SetColor(color.White)
	whole.Fill(whole.Rectangle.Path())
	for i, d := range l.drawers {
		x0 := px(float64((i % l.cols) * l.cw))
		top := H - px(float64((i/l.cols)*l.ch))
		w, h := px(float64(l.sizes[i][0])), px(float64(l.sizes[i][1]))
		cell := draw.Canvas{Canvas: c, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x0, Y: top - h},
			Max: vg.Point{X: x0 + w, Y: top},
		}}
		d.draw(cell)
	}
}

func writeGrid(w io.Writer, f Format, ps []Panel, cols int) error {
	l, err := prepareGrid(ps, cols)
	if err != nil {
		return err
	}
	c, err := canvas(f, l.cw*l.cols, l.ch*l.rows)
	if err != nil {
		return err
	}
	l.drawGrid(c)
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("plot: encode %s: %w", f, err)
	}
	return nil
}

// renderImage draws a grid as an image (PNG's raster), for Chart.Render.
func renderImage(ps []Panel, cols int) (*image.RGBA, error) {
	l, err := prepareGrid(ps, cols)
	if err != nil {
		return nil, err
	}
	c := vgimg.NewWith(vgimg.UseWH(px(float64(l.cw*l.cols)), px(float64(l.ch*l.rows))), vgimg.UseDPI(pxPerInch))
	l.drawGrid(c)
	if img, ok := c.Image().(*image.RGBA); ok {
		return img, nil
	}
	img := image.NewRGBA(c.Image().Bounds())
	stddraw.Draw(img, img.Rect, c.Image(), image.Point{}, stddraw.Src)
	return img, nil
}

// saveGrid writes the grid via a synced temporary file and a rename.
func saveGrid(path string, f Format, ps []Panel, cols int) (err error) {
	var buf bytes.Buffer
	if err := writeGrid(&buf, f, ps, cols); err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tf, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("plot: save %s: %w", path, err)
	}
	tmp := tf.Name()
	defer func() {
		if err != nil {
			tf.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = tf.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("plot: save %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; a chart is meant to be shared.
	if err = tf.Chmod(0o644); err != nil {
		return fmt.Errorf("plot: save %s: %w", path, err)
	}
	if err = tf.Sync(); err != nil {
		return fmt.Errorf("plot: save %s: sync: %w", path, err)
	}
	if err = tf.Close(); err != nil {
		return fmt.Errorf("plot: save %s: close: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("plot: save %s: %w", path, err)
	}
	// Sync the directory too so the rename itself survives a crash. Not every platform can
	// open a directory for syncing, so this is best effort.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
