package plot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden PNGs in testdata/")

// edgeChart exercises the awkward data paths in one picture: a line broken by
// NaN and Inf, an isolated point, a single-point series, a flat series, a
// dashed series, a series with more Xs than Ys, and a nameless series.
func edgeChart() *Chart {
	nan, inf := math.NaN(), math.Inf(1)
	return &Chart{
		Title: "edge cases", XLabel: "x", YLabel: "y", Width: 640, Height: 400,
		Series: []Series{
			{Name: "NaN/Inf gaps", X: []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, Y: []float64{1, 2, nan, 3, 4, inf, 5, nan, 6, 5, 4}},
			{Name: "one point", X: []float64{5}, Y: []float64{8}},
			{Name: "flat", X: []float64{0, 10}, Y: []float64{0.5, 0.5}},
			{Name: "dashed", X: []float64{0, 2, 4, 6, 8, 10}, Y: []float64{7, 6, 7, 6, 7, 6}, Dashed: true},
			{Name: "more X than Y", X: []float64{0, 5, 10, 15}, Y: []float64{3, 1, 2}},
			{X: []float64{1, 9}, Y: []float64{9, 9}},
		},
		Markers: []Marker{{X: 2.5, Label: "marker"}, {X: nan, Label: "skipped"}},
	}
}

func TestGolden(t *testing.T) {
	grid := func() (*image.RGBA, error) {
		cs := runCharts()
		for _, c := range cs {
			c.Width, c.Height = 600, 380
		}
		return Grid(cs, 2)
	}
	tests := []struct {
		name   string
		render func() (*image.RGBA, error)
	}{
		{"loss", lossChart().Render},
		{"lr-find", lrFindChart().Render},
		{"edge", edgeChart().Render},
		{"grid", grid},
	}
	for _, tt := range tests {
		t.Run(tt.name+" matches its golden image", func(t *testing.T) {
			got, err := tt.render()
			require.NoError(t, err)
			path := filepath.Join("testdata", tt.name+".png")
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, saveAtomic(path, got))
				return
			}
			want := readPNG(t, path)
			require.Equal(t, want.Rect, got.Rect, "size")
			if diff, at := pixelDiff(want, got); diff > 0 {
				out := filepath.Join(t.TempDir(), tt.name+".png")
				require.NoError(t, saveAtomic(out, got))
				t.Fatalf("%d pixels differ, first at %v; got image saved to %s (rerun with -update if the change is intended)", diff, at, out)
			}
		})
	}
}

func readPNG(t *testing.T, path string) *image.RGBA {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err, "missing golden: run go test -update")
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	rgba := image.NewRGBA(img.Bounds())
	draw.Draw(rgba, rgba.Rect, img, img.Bounds().Min, draw.Src)
	return rgba
}

// pixelDiff counts pixels that differ and returns the first one.
func pixelDiff(a, b *image.RGBA) (int, image.Point) {
	n, first := 0, image.Point{-1, -1}
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			if a.RGBAAt(x, y) != b.RGBAAt(x, y) {
				if n == 0 {
					first = image.Pt(x, y)
				}
				n++
			}
		}
	}
	return n, first
}

// countColor counts the pixels of exactly colour c inside r.
func countColor(img *image.RGBA, r image.Rectangle, c color.RGBA) int {
	n := 0
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.RGBAAt(x, y) == c {
				n++
			}
		}
	}
	return n
}

func line(ys ...float64) Series {
	xs := make([]float64, len(ys))
	for i := range xs {
		xs[i] = float64(i)
	}
	return Series{X: xs, Y: ys}
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
			c := &Chart{Series: []Series{line(1, 2)}, Width: wh[0], Height: wh[1]}
			_, err := c.Render()
			assert.ErrorIs(t, err, ErrInvalid)
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
		assert.Greater(t, countColor(img, img.Rect, seriesColor(i)), 50, "series %d colour %v", i, seriesColor(i))
	}
}

func TestLegendShowsEachNamedSeries(t *testing.T) {
	// The named lines stay low; a nameless dot pins the top-left corner, so
	// the legend goes top right and is the only thing drawn there.
	c := &Chart{Series: []Series{
		{Name: "a", Y: []float64{1, 1.1, 1.2}},
		{Name: "b", Y: []float64{1.2, 1.1, 1}, Dashed: true},
		{X: []float64{0}, Y: []float64{10}},
	}}
	d, err := c.prepare()
	require.NoError(t, err)
	img, err := c.Render()
	require.NoError(t, err)
	pr := d.layout(img.Rect.Dx(), img.Rect.Dy()).plot
	topRight := image.Rect(pr.Min.X+pr.Dx()/2, pr.Min.Y, pr.Max.X, pr.Min.Y+pr.Dy()/3)
	for i := range 2 {
		assert.Greater(t, countColor(img, topRight, seriesColor(i)), 20, "series %d has a legend sample", i)
	}
	assert.Zero(t, countColor(img, topRight, seriesColor(2)), "a nameless series has no legend entry")
}

func TestLegendWithTooManySeriesSummarisesTheRest(t *testing.T) {
	var series []Series
	for i := range 40 {
		series = append(series, Series{Name: fmt.Sprintf("run %d", i), Y: []float64{float64(i), float64(i) + 1}})
	}
	img, err := (&Chart{Width: 320, Height: 200, Series: series}).Render()
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 320, 200), img.Rect)
}

func TestLineBreaksAtNaN(t *testing.T) {
	// A flat line at y=1 with a NaN at x=5: the pixels around x=5 on that row
	// must be free of the series colour, while x=2 and x=8 are on the line.
	ys := []float64{1, 1, 1, 1, 1, math.NaN(), 1, 1, 1, 1, 1}
	c := &Chart{Series: []Series{line(ys...), line(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2)}}
	d, err := c.prepare()
	require.NoError(t, err)
	img, err := c.Render()
	require.NoError(t, err)
	lay := d.layout(img.Rect.Dx(), img.Rect.Dy())
	pr := lay.plot
	px := func(x float64) int { return int(float64(pr.Min.X) + d.xa.frac(x)*float64(pr.Dx())) }
	py := int(float64(pr.Max.Y) - d.ya.frac(1)*float64(pr.Dy()))
	col := seriesColor(0)
	assert.Equal(t, col, img.RGBAAt(px(2), py), "on the line before the gap")
	assert.Equal(t, col, img.RGBAAt(px(8), py), "on the line after the gap")
	gap := image.Rect(px(4)+4, py-3, px(6)-3, py+4)
	assert.Zero(t, countColor(img, gap, col), "the line has a gap at the NaN")
}

func TestSinglePointDrawsADot(t *testing.T) {
	img, err := (&Chart{Series: []Series{{X: []float64{3}, Y: []float64{4}}}}).Render()
	require.NoError(t, err)
	n := countColor(img, img.Rect, seriesColor(0))
	assert.Greater(t, n, 12, "a dot of radius %v", dotR)
	assert.Less(t, n, 60, "a dot, not a line")
}

func TestFlatSeriesIsPaddedAndDrawn(t *testing.T) {
	c := &Chart{Series: []Series{line(0.5, 0.5, 0.5, 0.5)}}
	d, err := c.prepare()
	require.NoError(t, err)
	assert.Less(t, d.ya.lo, 0.5)
	assert.Greater(t, d.ya.hi, 0.5)
	img, err := c.Render()
	require.NoError(t, err)
	assert.Greater(t, countColor(img, img.Rect, seriesColor(0)), 100)
}

func TestLogAxesDropNonPositiveValues(t *testing.T) {
	c := &Chart{LogX: true, LogY: true, Series: []Series{
		{X: []float64{-1, 0, 1, 10, 100}, Y: []float64{1, 1, 1, 0, 10}},
	}}
	d, err := c.prepare()
	require.NoError(t, err)
	require.Len(t, d.runs[0], 2, "the zero Y at x=10 breaks the line")
	assert.Equal(t, []apt{{0, 0}}, d.runs[0][0])
	assert.Equal(t, []apt{{2, 1}}, d.runs[0][1])
	_, err = c.Render()
	assert.NoError(t, err)
}

func TestNothingToDrawIsAnError(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name  string
		chart *Chart
	}{
		{"a chart without series", &Chart{Title: "empty"}},
		{"series without points", &Chart{Series: []Series{{Name: "a"}, {X: []float64{1, 2}}}}},
		{"all points NaN or Inf", &Chart{Series: []Series{{X: []float64{1, nan}, Y: []float64{nan, math.Inf(-1)}}}}},
		{"values beyond 1e300", &Chart{Series: []Series{line(1e301, -math.MaxFloat64)}}},
		{"only non-positive values on a log axis", &Chart{LogY: true, Series: []Series{line(0, -1, -2)}}},
		{"only markers", &Chart{Markers: []Marker{{X: 1, Label: "m"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.chart.Render()
			assert.ErrorIs(t, err, ErrNoData)
			assert.ErrorIs(t, tt.chart.WritePNG(&bytes.Buffer{}), ErrNoData)
		})
	}
	t.Run("a nil chart", func(t *testing.T) {
		var c *Chart
		_, err := c.Render()
		assert.ErrorIs(t, err, ErrInvalid)
	})
}

func TestEmptyXPlotsAgainstTheIndex(t *testing.T) {
	d, err := (&Chart{Series: []Series{{Y: []float64{5, 6, 7}}}}).prepare()
	require.NoError(t, err)
	assert.Equal(t, [][]apt{{{0, 5}, {1, 6}, {2, 7}}}, d.runs[0])
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
	for i := 0; i < 400; i++ {
		c := &Chart{Width: 320, Height: 200, LogX: r.IntN(2) == 0, LogY: r.IntN(2) == 0, Title: "random", YLabel: "y"}
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
		var img *image.RGBA
		var err error
		require.NotPanics(t, func() { img, err = c.Render() }, "chart %d: %+v", i, c)
		if err != nil {
			require.ErrorIs(t, err, ErrNoData, "chart %d", i)
			continue
		}
		require.Equal(t, image.Rect(0, 0, 320, 200), img.Rect)
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
			Width: 300, Height: 200, LogX: flags&1 != 0, LogY: flags&2 != 0,
			Series: []Series{{Name: "f", X: xs, Y: ys, Dashed: flags&4 != 0}},
		}
		if len(xs) > 0 {
			c.Markers = []Marker{{X: xs[0], Label: "m"}}
		}
		_, err := c.Render()
		if err != nil && !errors.Is(err, ErrNoData) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func TestGrid(t *testing.T) {
	chart := func(w, h int) *Chart { return &Chart{Width: w, Height: h, Series: []Series{line(1, 2)}} }
	t.Run("cells take the largest chart's size, cols to a row", func(t *testing.T) {
		img, err := Grid([]*Chart{chart(300, 200), chart(400, 180), chart(300, 250)}, 2)
		require.NoError(t, err)
		assert.Equal(t, image.Rect(0, 0, 800, 500), img.Rect)
	})
	t.Run("more columns than charts makes one row", func(t *testing.T) {
		img, err := Grid([]*Chart{chart(300, 200), chart(300, 200)}, 5)
		require.NoError(t, err)
		assert.Equal(t, image.Rect(0, 0, 600, 200), img.Rect)
	})
	t.Run("each cell holds its chart's pixels", func(t *testing.T) {
		a, b := chart(300, 200), &Chart{Width: 300, Height: 200, Title: "b", Series: []Series{line(3, 1, 2)}}
		img, err := Grid([]*Chart{a, b}, 1)
		require.NoError(t, err)
		want, err := b.Render()
		require.NoError(t, err)
		cell := img.SubImage(image.Rect(0, 200, 300, 400)).(*image.RGBA)
		got := image.NewRGBA(want.Rect)
		draw.Draw(got, got.Rect, cell, cell.Rect.Min, draw.Src)
		n, at := pixelDiff(want, got)
		assert.Zero(t, n, "first difference at %v", at)
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
			_, err := Grid(tt.charts, tt.cols)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

func TestSavePNG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "chart.png")
	c := lrFindChart()
	require.NoError(t, os.WriteFile(path, []byte("stale"), 0o644))

	require.NoError(t, c.SavePNG(path))

	want, err := c.Render()
	require.NoError(t, err)
	got := readPNG(t, path)
	n, at := pixelDiff(want, got)
	assert.Zero(t, n, "first difference at %v", at)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), info.Mode().Perm())

	t.Run("a missing directory is an error", func(t *testing.T) {
		assert.Error(t, c.SavePNG(filepath.Join(dir, "missing", "chart.png")))
	})
	t.Run("a chart that cannot render leaves the old file alone", func(t *testing.T) {
		assert.ErrorIs(t, (&Chart{}).SavePNG(path), ErrNoData)
		assert.Zero(t, countDiff(t, path, want))
	})
	t.Run("a grid saves the same way", func(t *testing.T) {
		gpath := filepath.Join(dir, "grid.png")
		require.NoError(t, SaveGridPNG(gpath, runCharts(), 2))
		img := readPNG(t, gpath)
		assert.Equal(t, image.Rect(0, 0, 2*DefaultWidth, 2*DefaultHeight), img.Rect)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, entries, 2)
	})
}

func countDiff(t *testing.T, path string, want *image.RGBA) int {
	n, _ := pixelDiff(want, readPNG(t, path))
	return n
}

func TestPaletteIsDistinctFromChromeAndItself(t *testing.T) {
	require.GreaterOrEqual(t, len(palette), 10)
	chrome := []color.RGBA{colBackground, colGrid, colGridMinor, colAxis, colText, colMarker, colLegendEdge}
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

func TestFontCoversPrintableASCII(t *testing.T) {
	seen := map[[glyphW]byte]rune{}
	for r := rune(33); r <= 126; r++ {
		g := *glyph(r)
		assert.NotEqual(t, [glyphW]byte{}, g, "%q has no pixels", r)
		if prev, ok := seen[g]; ok {
			t.Errorf("%q and %q share a glyph", prev, r)
		}
		seen[g] = r
	}
	assert.Equal(t, *glyph('?'), *glyph('é'), "runes outside ASCII draw as '?'")
	assert.Equal(t, 0, textWidth("", 2))
	assert.Equal(t, 5*2, textWidth("a", 2))
	assert.Equal(t, (3*6-1)*3, textWidth("abc", 3))
}

func TestFitText(t *testing.T) {
	assert.Equal(t, "short", fitText("short", 1, 100))
	long := "a rather long chart title"
	got := fitText(long, 1, 60)
	assert.LessOrEqual(t, textWidth(got, 1), 60)
	assert.Equal(t, "a rathe...", got)
	assert.Equal(t, "a...", fitText(long, 1, 30), "no space before the ellipsis")
	assert.Equal(t, "", fitText(long, 1, 5))
}
