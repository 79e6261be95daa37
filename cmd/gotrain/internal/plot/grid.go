package plot

import (
	"fmt"
	"image"
	"image/draw"
)

// Grid lays charts out in one image, cols to a row, filling rows left to
// right. Every cell is as large as the largest chart; a smaller chart sits in
// its cell's top-left corner on white. Any chart's error fails the grid.
func Grid(charts []*Chart, cols int) (*image.RGBA, error) {
	if len(charts) == 0 {
		return nil, fmt.Errorf("plot: grid: no charts: %w", ErrInvalid)
	}
	if cols < 1 {
		return nil, fmt.Errorf("plot: grid: %d columns: %w", cols, ErrInvalid)
	}
	cols = min(cols, len(charts))
	rows := (len(charts) + cols - 1) / cols

	cw, ch := 0, 0
	for i, c := range charts {
		if c == nil {
			return nil, fmt.Errorf("plot: grid: chart %d is nil: %w", i, ErrInvalid)
		}
		w, h, err := c.size()
		if err != nil {
			return nil, fmt.Errorf("plot: grid: chart %d: %w", i, err)
		}
		cw, ch = max(cw, w), max(ch, h)
	}
	// In float64 so that a huge chart count cannot overflow int.
	gw, gh := float64(cw)*float64(cols), float64(ch)*float64(rows)
	if gw > 2*MaxSide || gh > 2*MaxSide || gw*gh > maxPixels {
		return nil, fmt.Errorf("plot: grid: %dx%d cells of %dx%d is too large: %w", cols, rows, cw, ch, ErrInvalid)
	}

	out := image.NewRGBA(image.Rect(0, 0, cw*cols, ch*rows))
	fillRect(out, out.Rect, colBackground)
	for i, c := range charts {
		img, err := c.Render()
		if err != nil {
			return nil, fmt.Errorf("plot: grid: chart %d: %w", i, err)
		}
		at := image.Pt((i%cols)*cw, (i/cols)*ch)
		draw.Draw(out, img.Rect.Add(at), img, image.Point{}, draw.Src)
	}
	return out, nil
}

// SaveGridPNG renders Grid(charts, cols) to a PNG file, atomically like
// Chart.SavePNG.
func SaveGridPNG(path string, charts []*Chart, cols int) error {
	img, err := Grid(charts, cols)
	if err != nil {
		return err
	}
	return saveAtomic(path, img)
}
