package plot

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func line(ys ...float64) Series {
	xs := make([]float64, len(ys))
	for i := range xs {
		xs[i] = float64(i)
	}
	return Series{X: xs, Y: ys}
}

// checkPNG decodes b as a w×h PNG and returns it.
func checkPNG(t *testing.T, b []byte, w, h int) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, w, h), img.Bounds())
	return img
}

// colours counts the distinct colours of img.
func colours(img image.Image) int {
	seen := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			seen[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)] = true
		}
	}
	return len(seen)
}

// checkSVG parses b as XML with an <svg> root and returns the number of elements.
func checkSVG(t *testing.T, b []byte) int {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	n, root := 0, ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if se, ok := tok.(xml.StartElement); ok {
			if n == 0 {
				root = se.Name.Local
			}
			n++
		}
	}
	require.Equal(t, "svg", root)
	return n
}

// checkPDF checks b's header and trailer.
func checkPDF(t *testing.T, b []byte) {
	t.Helper()
	require.True(t, bytes.HasPrefix(b, []byte("%PDF-")), "starts with %%PDF-")
	require.True(t, bytes.HasSuffix(bytes.TrimRight(b, "\r\n"), []byte("%%EOF")), "ends with %%EOF")
}

func TestEveryChartTypeRendersInEveryFormat(t *testing.T) {
	for name, ps := range samples() {
		l, err := prepareGrid(ps, 2)
		require.NoError(t, err, name)
		w, h := l.cw*l.cols, l.ch*l.rows
		for _, f := range Formats() {
			t.Run(fmt.Sprintf("%s as %s", name, f), func(t *testing.T) {
				var buf bytes.Buffer
				require.NoError(t, WriteGrid(&buf, f, ps, 2))
				b := buf.Bytes()
				switch f {
				case PNG:
					img := checkPNG(t, b, w, h)
					assert.Greater(t, colours(img), 20, "more than a blank page")
				case SVG:
					assert.Greater(t, checkSVG(t, b), 30, "elements")
				case PDF:
					checkPDF(t, b)
					assert.Greater(t, len(b), 10_000)
				}
			})
		}
	}
}

func TestSaveFollowsTheExtension(t *testing.T) {
	dir := t.TempDir()
	c := lrFindChart()
	for _, f := range Formats() {
		path := filepath.Join(dir, "chart"+strings.ToUpper(f.Ext())) // the case of the extension does not matter
		require.NoError(t, Save(path, c))
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		switch f {
		case PNG:
			checkPNG(t, b, DefaultWidth, DefaultHeight)
		case SVG:
			checkSVG(t, b)
		case PDF:
			checkPDF(t, b)
		}
	}
	t.Run("an unknown extension is an error and writes nothing", func(t *testing.T) {
		path := filepath.Join(dir, "chart.jpg")
		assert.ErrorIs(t, Save(path, c), ErrInvalid)
		assert.ErrorIs(t, SaveGrid(filepath.Join(dir, "chart"), []*Chart{c}, 1), ErrInvalid)
		_, err := os.Stat(path)
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
	t.Run("SavePNG writes PNG whatever the name", func(t *testing.T) {
		path := filepath.Join(dir, "chart.svg")
		require.NoError(t, c.SavePNG(path))
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		checkPNG(t, b, DefaultWidth, DefaultHeight)
	})
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"png", "SVG", " pdf "} {
		f, err := ParseFormat(s)
		require.NoError(t, err)
		assert.Equal(t, strings.ToLower(strings.TrimSpace(s)), f.String())
	}
	_, err := ParseFormat("jpeg")
	assert.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, `"jpeg"`)
	var f Format
	require.NoError(t, f.UnmarshalText([]byte("pdf")))
	assert.Equal(t, PDF, f)
	assert.Error(t, f.UnmarshalText([]byte("gif")))
}

func TestSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "chart.png")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	t.Run("a chart that cannot be drawn leaves the old file alone", func(t *testing.T) {
		assert.ErrorIs(t, Save(path, &Chart{}), ErrNoData)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, "old", string(b))
	})
	t.Run("a saved chart replaces it, readable by all, with no temporary file left", func(t *testing.T) {
		require.NoError(t, SaveGrid(path, runCharts(), 2))
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		checkPNG(t, b, 2*DefaultWidth, 2*DefaultHeight)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, entries, 1)
		info, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), info.Mode().Perm())
	})
	t.Run("a missing directory is an error", func(t *testing.T) {
		assert.Error(t, Save(filepath.Join(dir, "missing", "chart.png"), lrFindChart()))
	})
}

func TestLineBreaksAtNaN(t *testing.T) {
	// In SVG every stroked line is one <path> with the series' colour: a line with a NaN in
	// the middle is two paths, plus the legend's sample.
	strokes := func(c *Chart) int {
		var buf bytes.Buffer
		require.NoError(t, Write(&buf, SVG, c))
		return strings.Count(buf.String(), "stroke:#0072B2") // seriesColor(0)
	}
	nan := math.NaN()
	whole := &Chart{Series: []Series{{Name: "a", Y: []float64{1, 2, 3, 4, 5}}}}
	broken := &Chart{Series: []Series{{Name: "a", Y: []float64{1, 2, nan, 4, 5}}}}
	inf := &Chart{Series: []Series{{Name: "a", Y: []float64{1, 2, math.Inf(1), 4, 5}}}}
	logZero := &Chart{LogY: true, Series: []Series{{Name: "a", Y: []float64{1, 2, 0, 4, 5}}}}
	require.Equal(t, 2, strokes(whole), "the line and its legend sample")
	assert.Equal(t, 3, strokes(broken), "NaN: two pieces and the sample")
	assert.Equal(t, 3, strokes(inf), "Inf: two pieces and the sample")
	assert.Equal(t, 3, strokes(logZero), "0 on a log axis: two pieces and the sample")
}

func TestRuns(t *testing.T) {
	t.Run("non-positive values break a line on log axes", func(t *testing.T) {
		s := Series{X: []float64{-1, 0, 1, 10, 100}, Y: []float64{1, 1, 1, 0, 10}}
		assert.Equal(t, [][]apt{{{0, 0}}, {{2, 1}}}, s.runs(true, true))
	})
	t.Run("an empty X plots against the index", func(t *testing.T) {
		s := Series{Y: []float64{5, 6, 7}}
		assert.Equal(t, [][]apt{{{0, 5}, {1, 6}, {2, 7}}}, s.runs(false, false))
	})
	t.Run("the longer slice's extra values are ignored", func(t *testing.T) {
		s := Series{X: []float64{0, 1, 2}, Y: []float64{5, 6}}
		assert.Equal(t, [][]apt{{{0, 5}, {1, 6}}}, s.runs(false, false))
	})
}

// legendOf draws c and returns where its legend went.
func legendOf(t *testing.T, c *Chart) legendAt {
	t.Helper()
	d, err := c.prepare()
	require.NoError(t, err)
	require.NoError(t, writeGridDrawers(io.Discard, PNG, c, d))
	return d.(*lineChart).legendAt
}

// writeGridDrawers draws an already prepared chart, so the test can read what it decided.
func writeGridDrawers(w io.Writer, f Format, c *Chart, d drawer) error {
	cw, ch, err := c.size()
	if err != nil {
		return err
	}
	l := &layout{cw: cw, ch: ch, cols: 1, rows: 1, sizes: [][2]int{{cw, ch}}, drawers: []drawer{d}}
	cv, err := canvas(f, cw, ch)
	if err != nil {
		return err
	}
	l.drawGrid(cv)
	_, err = cv.WriteTo(w)
	return err
}

func TestLegendCoversNoData(t *testing.T) {
	falling := func(name string) Series { return Series{Name: name, Y: []float64{10, 5, 2, 1, 0.5}} }
	rising := func(name string) Series { return Series{Name: name, Y: []float64{0.5, 1, 2, 5, 10}} }
	tests := []struct {
		name  string
		chart *Chart
		want  legendAt
	}{
		{"a falling loss leaves the top right free", &Chart{Series: []Series{falling("loss")}}, topRight},
		{"a rising curve pushes it to the top left", &Chart{Series: []Series{rising("acc")}}, topLeft},
		{"a line along the top and data at the bottom right leave the bottom left", &Chart{Series: []Series{
			{Name: "a", Y: []float64{10, 10, 10, 10, 10}}, {X: []float64{3, 4}, Y: []float64{0, 0}}}}, bottomLeft},
		{"data in every corner puts it beside the plot", &Chart{Series: []Series{falling("a"), rising("b")}}, beside},
		{"nameless series have no legend", &Chart{Series: []Series{line(1, 2, 3)}}, noLegend},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, legendOf(t, tt.chart))
		})
	}
}

func TestLegendSummarisesSeriesThatDoNotFit(t *testing.T) {
	var series []Series
	for i := range 40 {
		series = append(series, Series{Name: fmt.Sprintf("run %d", i), Y: []float64{float64(i), float64(i) + 1}})
	}
	l := newLegend(toEntries(series), 8, 100, 150)
	require.Less(t, len(l.entries), 40)
	last := l.entries[len(l.entries)-1].name
	assert.Equal(t, fmt.Sprintf("+%d more", 40-(len(l.entries)-1)), last)
	_, h := l.size()
	assert.LessOrEqual(t, float64(h), 150.0)
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, PNG, &Chart{Width: 320, Height: 200, Series: series}))
	checkPNG(t, buf.Bytes(), 320, 200)
}

func toEntries(ss []Series) []entry {
	var out []entry
	for _, s := range ss {
		out = append(out, entry{name: s.Name})
	}
	return out
}

func TestFitText(t *testing.T) {
	sty := textStyle(10, colText)
	assert.Equal(t, "short", fitText("short", sty, 100))
	long := strings.Repeat("word ", 40)
	got := fitText(long, sty, 100)
	assert.True(t, strings.HasSuffix(got, "…"))
	assert.LessOrEqual(t, float64(sty.Width(got)), 100.0)
	assert.Equal(t, "…", fitText(long, sty, 1), "nothing fits: only the ellipsis")
}

func TestRenderSize(t *testing.T) {
	tests := []struct {
		name                  string
		width, height         int
		wantWidth, wantHeight int
	}{
		{"zero size means the 900x560 default", 0, 0, 900, 560},
		{"a zero width alone takes the default width", 0, 300, 900, 300},
		{"a custom size is kept", 640, 400, 640, 400},
		{"the smallest size renders", MinWidth, MinHeight, MinWidth, MinHeight},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Chart{Series: []Series{line(1, 2, 3)}, Width: tt.width, Height: tt.height, Title: "t", XLabel: "x", YLabel: "y"}
			img, err := c.Render()
			require.NoError(t, err)
			assert.Equal(t, image.Rect(0, 0, tt.wantWidth, tt.wantHeight), img.Rect)
		})
	}
}

func TestRenderRejectsBadSizes(t *testing.T) {
	for _, wh := range [][2]int{{-1, 100}, {100, 100}, {MinWidth - 1, 400}, {400, MinHeight - 1}, {MaxSide + 1, 400}, {400, math.MaxInt32}} {
		t.Run(fmt.Sprintf("%dx%d is an error", wh[0], wh[1]), func(t *testing.T) {
			for _, p := range []Panel{
				&Chart{Series: []Series{line(1, 2)}, Width: wh[0], Height: wh[1]},
				&HeatMap{Z: [][]float64{{1}}, Width: wh[0], Height: wh[1]},
				&Contour{F: func(x, y float64) float64 { return x }, XMax: 1, YMax: 1, Width: wh[0], Height: wh[1]},
			} {
				assert.ErrorIs(t, Write(io.Discard, PNG, p), ErrInvalid)
			}
		})
	}
}

func TestEachSeriesColourAppearsInThePlot(t *testing.T) {
	// Nameless series draw no legend, so any pixel of a series colour is data.
	var series []Series
	for i := range palette {
		series = append(series, line(float64(i), float64(i)+1, float64(i)+0.5, float64(i)+2))
	}
	img, err := (&Chart{Series: series}).Render()
	require.NoError(t, err)
	for i := range palette {
		n := 0
		for y := 0; y < img.Rect.Dy(); y++ {
			for x := 0; x < img.Rect.Dx(); x++ {
				if img.RGBAAt(x, y) == seriesColor(i) {
					n++
				}
			}
		}
		assert.Greater(t, n, 50, "series %d colour %v", i, seriesColor(i))
	}
}

func TestNothingToDrawIsAnError(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name  string
		panel Panel
	}{
		{"a chart without series", &Chart{Title: "empty"}},
		{"series without points", &Chart{Series: []Series{{Name: "a"}, {X: []float64{1, 2}}}}},
		{"all points NaN or Inf", &Chart{Series: []Series{{X: []float64{1, nan}, Y: []float64{nan, math.Inf(-1)}}}}},
		{"values beyond 1e300", &Chart{Series: []Series{line(1e301, -math.MaxFloat64)}}},
		{"only non-positive values on a log axis", &Chart{LogY: true, Series: []Series{line(0, -1, -2)}}},
		{"only markers", &Chart{Markers: []Marker{{X: 1, Label: "m"}}}},
		{"a heat map without rows", &HeatMap{}},
		{"a heat map without columns", &HeatMap{Z: [][]float64{{}}}},
		{"a heat map of NaNs", &HeatMap{Z: [][]float64{{nan, nan}}}},
		{"a log heat map of zeros", &HeatMap{LogZ: true, Z: [][]float64{{0, -1}}}},
		{"a contour chart of a NaN function without paths", &Contour{F: func(x, y float64) float64 { return nan }, XMax: 1, YMax: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range Formats() {
				assert.ErrorIs(t, Write(io.Discard, f, tt.panel), ErrNoData)
			}
		})
	}
}

func TestBadPanelsAreInvalid(t *testing.T) {
	f := func(x, y float64) float64 { return x * y }
	tests := []struct {
		name  string
		panel Panel
		want  string
	}{
		{"a nil chart", (*Chart)(nil), "nil"},
		{"a nil heat map", (*HeatMap)(nil), "nil"},
		{"a nil contour chart", (*Contour)(nil), "nil"},
		{"a heat map row of the wrong length", &HeatMap{Z: [][]float64{{1, 2}, {3}}}, "row 1 has 1 values, want 2"},
		{"heat map columns not increasing", &HeatMap{X: []float64{0, 2, 1}, Z: [][]float64{{1, 2, 3}}}, "X[2] = 1"},
		{"heat map row names that do not match", &HeatMap{Rows: []string{"a"}, Z: [][]float64{{1}, {2}}}, "1 row names for 2 rows"},
		{"a contour chart without a function", &Contour{XMax: 1, YMax: 1}, "no function"},
		{"a contour chart with an empty range", &Contour{F: f, XMin: 1, XMax: 1, YMax: 1}, "range [1, 1]"},
		{"a contour chart with a NaN range", &Contour{F: f, XMax: 1, YMin: math.NaN(), YMax: 1}, "range [NaN, 1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is an error", func(t *testing.T) {
			err := Write(io.Discard, PNG, tt.panel)
			assert.ErrorIs(t, err, ErrInvalid)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestGrid(t *testing.T) {
	chart := func(w, h int) *Chart { return &Chart{Width: w, Height: h, Series: []Series{line(1, 2)}} }
	size := func(t *testing.T, ps []Panel, cols int) image.Rectangle {
		var buf bytes.Buffer
		require.NoError(t, WriteGrid(&buf, PNG, ps, cols))
		img, err := png.Decode(&buf)
		require.NoError(t, err)
		return img.Bounds()
	}
	t.Run("cells take the largest chart's size, cols to a row", func(t *testing.T) {
		assert.Equal(t, image.Rect(0, 0, 800, 500), size(t, []Panel{chart(300, 200), chart(400, 180), chart(300, 250)}, 2))
	})
	t.Run("more columns than charts makes one row", func(t *testing.T) {
		assert.Equal(t, image.Rect(0, 0, 600, 200), size(t, []Panel{chart(300, 200), chart(300, 200)}, 5))
	})
	t.Run("chart types mix", func(t *testing.T) {
		assert.Equal(t, image.Rect(0, 0, 2*DefaultContourWidth, DefaultContourHeight), size(t, []Panel{layerHeat(), rosenbrock()}, 2))
	})
	for _, tt := range []struct {
		name   string
		charts []*Chart
		cols   int
		want   error
	}{
		{"no charts is an error", nil, 2, ErrInvalid},
		{"zero columns is an error", []*Chart{chart(300, 200)}, 0, ErrInvalid},
		{"a nil chart is an error", []*Chart{chart(300, 200), nil}, 2, ErrInvalid},
		{"a chart with a bad size is an error", []*Chart{chart(10, 10)}, 1, ErrInvalid},
		{"a chart with no data fails the grid", []*Chart{chart(300, 200), {}}, 2, ErrNoData},
		{"an oversized grid is an error", []*Chart{chart(8000, 8000), chart(8000, 8000)}, 2, ErrInvalid},
		{"a grid too tall is an error", []*Chart{chart(300, 8000), chart(300, 8000), chart(300, 8000)}, 1, ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.ErrorIs(t, WriteGrid(io.Discard, PNG, tt.charts, tt.cols), tt.want)
			assert.ErrorIs(t, SaveGrid(filepath.Join(t.TempDir(), "g.svg"), tt.charts, tt.cols), tt.want)
		})
	}
}

func TestHeatMapColoursCellsByValue(t *testing.T) {
	m := &HeatMap{Rows: []string{"top", "bottom"}, Z: [][]float64{{1, 10, 100}, {math.NaN(), 1000, 1}}, LogZ: true}
	d, err := m.prepare()
	require.NoError(t, err)
	hm := d.(*heatMap)
	assert.Equal(t, 0.0, hm.zlo)
	assert.Equal(t, 3.0, hm.zhi)
	// Render the cells alone at 3×2 pixels, one per cell.
	img := hm.cells(3, 2, func(i int) float64 { return float64(i) }, func(j int) float64 { return float64(1 - j) })
	assert.Equal(t, viridis(0), img.RGBAAt(0, 0), "the smallest value is the darkest")
	assert.Equal(t, viridis(1.0/3), img.RGBAAt(1, 0), "log scale: 10 is a third of the way")
	assert.Equal(t, viridis(1), img.RGBAAt(1, 1), "the largest value is the lightest")
	assert.Equal(t, colNaN, img.RGBAAt(0, 1), "NaN is grey")
	assert.Equal(t, viridis(0), img.RGBAAt(2, 1))
}

func TestHeatMapWithAFixedColourRange(t *testing.T) {
	m := &HeatMap{Z: [][]float64{{0.2, 0.4, 1.5}}, ZMin: 0, ZMax: 1}
	d, err := m.prepare()
	require.NoError(t, err)
	hm := d.(*heatMap)
	assert.Equal(t, 0.0, hm.zlo, "the range asked for, not the data's")
	assert.Equal(t, 1.0, hm.zhi)
	img := hm.cells(3, 1, func(i int) float64 { return float64(i) }, func(int) float64 { return 0 })
	assert.Equal(t, viridis(0.2), img.RGBAAt(0, 0))
	assert.Equal(t, viridis(0.4), img.RGBAAt(1, 0))
	assert.Equal(t, viridis(1), img.RGBAAt(2, 0), "beyond the range: the end colour")
	_, err = (&HeatMap{Z: [][]float64{{1}}, LogZ: true, ZMin: 0, ZMax: 1}).prepare()
	assert.ErrorIs(t, err, ErrInvalid, "a log scale cannot start at 0")
}

func TestViridis(t *testing.T) {
	assert.Equal(t, viridisStops[0], viridis(math.NaN()))
	assert.Equal(t, viridisStops[0], viridis(-1))
	assert.Equal(t, viridisStops[10], viridis(2))
	assert.Equal(t, viridisStops[5], viridis(0.5))
	lum := func(c color.RGBA) float64 { return 0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B) }
	for i := 1; i <= 100; i++ {
		assert.Greater(t, lum(viridis(float64(i)/100)), lum(viridis(float64(i-1)/100)), "lightness rises at %d%%", i)
	}
}

func TestContourBandsAndLevels(t *testing.T) {
	got := LogLevels(0.01, 100, 5)
	require.Len(t, got, 5)
	for i, want := range []float64{0.01, 0.1, 1, 10, 100} {
		assert.InDelta(t, want, got[i], 1e-12*want)
	}
	assert.Nil(t, LogLevels(0, 1, 5), "log levels need positive bounds")
	assert.Nil(t, LogLevels(1, 1, 5))

	c := &Contour{F: func(x, y float64) float64 { return x }, XMax: 4, YMax: 1, Levels: []float64{2, 1, 3}} // unsorted
	d, err := c.prepare()
	require.NoError(t, err)
	cd := d.(*contour)
	assert.Equal(t, []float64{1, 2, 3}, cd.levels)
	img := cd.bands(8, 2, func(i int) float64 { return (float64(i) + 0.5) / 2 }, func(int) float64 { return 0.5 })
	fill, edge := bandColors(3)
	// x = 0.25 0.75 | 1.25 1.75 | 2.25 2.75 | 3.25 3.75: the last pixel of each band before a
	// level is the contour line.
	want := []color.RGBA{fill[0], edge, fill[1], edge, fill[2], edge, fill[3], fill[3]}
	for i, w := range want {
		assert.Equal(t, w, img.RGBAAt(i, 0), "pixel %d", i)
	}

	t.Run("default levels span the range", func(t *testing.T) {
		d, err := (&Contour{F: func(x, y float64) float64 { return x + y }, XMax: 1, YMax: 1}).prepare()
		require.NoError(t, err)
		lv := d.(*contour).levels
		require.Len(t, lv, 15)
		assert.Greater(t, lv[0], 0.0)
		assert.Less(t, lv[14], 2.0)
	})
	t.Run("a path's legend avoids the path", func(t *testing.T) {
		c := rosenbrock()
		d, err := c.prepare()
		require.NoError(t, err)
		cv, err := canvas(PNG, DefaultContourWidth, DefaultContourHeight)
		require.NoError(t, err)
		(&layout{cw: DefaultContourWidth, ch: DefaultContourHeight, cols: 1, rows: 1, sizes: [][2]int{{DefaultContourWidth, DefaultContourHeight}}, drawers: []drawer{d}}).drawGrid(cv)
		assert.Equal(t, topRight, d.(*contour).legendAt)
	})
}

func TestPaletteIsDistinctFromChromeAndItself(t *testing.T) {
	require.GreaterOrEqual(t, len(palette), 10)
	chrome := []color.RGBA{colBackground, colGrid, colGridMinor, colAxis, colText, colMarker, colLegendEdge, colNaN}
	dist := func(a, b color.RGBA) float64 {
		dr, dg, db := float64(a.R)-float64(b.R), float64(a.G)-float64(b.G), float64(a.B)-float64(b.B)
		return math.Sqrt(dr*dr + dg*dg + db*db)
	}
	for i, a := range palette {
		for _, c := range chrome {
			assert.NotEqual(t, c, a, "palette %d is a chrome colour", i)
		}
		assert.Greater(t, dist(a, colBackground), 80.0, "palette %d is too close to white", i)
		for j, b := range palette[:i] {
			assert.Greater(t, dist(a, b), 60.0, "palette %d and %d look alike", j, i)
		}
	}
}

// nasty returns a value from the awkward corners of float64.
func nasty(r *rand.Rand) float64 {
	switch r.IntN(12) {
	case 0:
		return math.NaN()
	case 1:
		return math.Inf(1 - 2*r.IntN(2))
	case 2:
		return 0
	case 3:
		return -r.Float64()
	case 4:
		return math.MaxFloat64 * (r.Float64()*2 - 1)
	case 5:
		return math.SmallestNonzeroFloat64 * float64(r.IntN(5))
	case 6:
		return 1e300 * (r.Float64()*2 - 1)
	case 7:
		return 1 + 1e-15*float64(r.IntN(3))
	case 8:
		return math.Float64frombits(r.Uint64())
	default:
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
	}
}

func TestAnyInputRendersOrErrorsWithoutPanicking(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 150; i++ {
		c := &Chart{Width: 320, Height: 200, LogX: r.IntN(2) == 0, LogY: r.IntN(2) == 0, Title: "random", YLabel: "y", IntegerX: r.IntN(2) == 0}
		for s := r.IntN(4); s > 0; s-- {
			var ser Series
			nx, ny := r.IntN(6), r.IntN(6)
			for j := 0; j < nx; j++ {
				ser.X = append(ser.X, nasty(r))
			}
			for j := 0; j < ny; j++ {
				ser.Y = append(ser.Y, nasty(r))
			}
			ser.Dashed = r.IntN(2) == 0
			ser.Name = "s"
			c.Series = append(c.Series, ser)
		}
		for m := r.IntN(3); m > 0; m-- {
			c.Markers = append(c.Markers, Marker{X: nasty(r), Label: "m"})
		}
		hm := &HeatMap{Width: 320, Height: 200, LogZ: r.IntN(2) == 0}
		for range 1 + r.IntN(3) {
			row := make([]float64, 3)
			for j := range row {
				row[j] = nasty(r)
			}
			hm.Z = append(hm.Z, row)
		}
		for _, p := range []Panel{c, hm} {
			var err error
			require.NotPanics(t, func() { err = Write(io.Discard, PNG, p) }, "panel %d: %+v", i, p)
			if err != nil {
				require.ErrorIs(t, err, ErrNoData, "panel %d", i)
			}
		}
	}
}

// FuzzRender checks that no data, however odd, panics the renderer.
func FuzzRender(f *testing.F) {
	enc := func(vs ...float64) []byte {
		b := make([]byte, 8*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
		}
		return b
	}
	f.Add(uint8(0), enc(0, 1, 1, 2, 2, 3))
	f.Add(uint8(3), enc(1e-7, 2.3, 1e-6, math.NaN(), 1e-5, 2.1, 10, math.Inf(1)))
	f.Add(uint8(1), enc(5, 5, 5, 5))
	f.Add(uint8(2), enc(-1, 0, 0, -1))
	f.Add(uint8(7), enc(math.MaxFloat64, -math.MaxFloat64, 5e-324, 1e-320))
	f.Add(uint8(0), enc(1, 1+1e-16, 2, 1+2e-16))
	f.Fuzz(func(t *testing.T, flags uint8, data []byte) {
		var xs, ys []float64
		for i := 0; i+16 <= len(data) && i < 16*64; i += 16 {
			xs = append(xs, math.Float64frombits(binary.LittleEndian.Uint64(data[i:])))
			ys = append(ys, math.Float64frombits(binary.LittleEndian.Uint64(data[i+8:])))
		}
		c := &Chart{
			Width: 300, Height: 200, LogX: flags&1 != 0, LogY: flags&2 != 0, IntegerX: flags&8 != 0,
			Series: []Series{{Name: "f", X: xs, Y: ys, Dashed: flags&4 != 0}},
		}
		if len(xs) > 0 {
			c.Markers = []Marker{{X: xs[0], Label: "m"}}
		}
		err := Write(io.Discard, PNG, c)
		if err != nil && !errors.Is(err, ErrNoData) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
