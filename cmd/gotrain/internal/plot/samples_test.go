package plot

import (
	"flag"
	"image"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var samplesDir = flag.String("samples", "", "write sample PNGs (loss, lr-find, grid, font sheet) to this directory")

// lossChart is a three-series training chart: train and validation loss, and
// a dashed smoothed train loss.
func lossChart() *Chart {
	r := rand.New(rand.NewPCG(1, 2))
	var steps, train, smooth, vsteps, val []float64
	ema := 0.0
	for i := 0; i <= 2000; i += 10 {
		x := float64(i)
		l := 2.3*math.Exp(-x/400) + 0.15 + 0.08*r.NormFloat64()*math.Exp(-x/1500)
		if i == 0 {
			ema = l
		}
		ema = 0.9*ema + 0.1*l
		steps, train, smooth = append(steps, x), append(train, l), append(smooth, ema)
		if i%200 == 0 {
			vsteps, val = append(vsteps, x), append(val, 2.3*math.Exp(-x/450)+0.22)
		}
	}
	return &Chart{
		Title: "MNIST MLP: loss", XLabel: "step", YLabel: "cross-entropy loss",
		Series: []Series{
			{Name: "train", X: steps, Y: train},
			{Name: "train (EMA 0.9)", X: steps, Y: smooth, Dashed: true},
			{Name: "validation", X: vsteps, Y: val},
		},
	}
}

// lrFindChart is a learning-rate range test with the suggested lr marked.
func lrFindChart() *Chart {
	var lr, loss []float64
	for i := 0; i <= 100; i++ {
		x := 1e-7 * math.Pow(10, 8*float64(i)/100)
		l := 2.3 - 1.9/(1+math.Exp(-(math.Log10(x)+3.5)*2.2)) + math.Exp((math.Log10(x)-0.2)*3)
		lr, loss = append(lr, x), append(loss, l)
	}
	return &Chart{
		Title: "lr find", XLabel: "learning rate", YLabel: "loss", LogX: true,
		Series:  []Series{{Name: "loss", X: lr, Y: loss}},
		Markers: []Marker{{X: 3e-3, Label: "suggested lr = 3e-3"}},
	}
}

// runCharts is a run dashboard: loss, accuracy and the lr schedule.
func runCharts() []*Chart {
	var ep, acc, vacc, lr []float64
	for i := 1; i <= 30; i++ {
		x := float64(i)
		ep = append(ep, x)
		acc = append(acc, 100*(1-0.5*math.Exp(-x/4)))
		vacc = append(vacc, 100*(0.985-0.45*math.Exp(-x/4.5)))
		lr = append(lr, 0.05*0.5*(1+math.Cos(math.Pi*(x-1)/29)))
	}
	lossC := lossChart()
	lossC.LogY = true
	lossC.Title = "loss (log)"
	return []*Chart{
		lossC,
		{Title: "accuracy", XLabel: "epoch", YLabel: "accuracy (%)",
			Series: []Series{{Name: "train", X: ep, Y: acc}, {Name: "test", X: ep, Y: vacc}}},
		{Title: "learning rate", XLabel: "epoch", YLabel: "lr",
			Series:  []Series{{Name: "cosine", X: ep, Y: lr}},
			Markers: []Marker{{X: 5, Label: "warmup end"}}},
	}
}

// fontSheet draws every glyph at scales 1, 2 and 3.
func fontSheet() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 620, 200))
	fillRect(img, img.Rect, colBackground)
	var all []rune
	for r := rune(32); r <= 126; r++ {
		all = append(all, r)
	}
	s := string(all)
	drawText(img, 5, 5, s[:48], 1, colText)
	drawText(img, 5, 15, s[48:], 1, colText)
	drawText(img, 5, 30, s[:48], 2, colText)
	drawText(img, 5, 50, s[48:], 2, colText)
	drawText(img, 5, 75, "Loss 1e-3 0.25 (%) x=1,2/3 lr_find +5", 3, colText)
	drawTextUp(img, 5, 110, "Up text", 2, colText)
	return img
}

func TestWriteSamples(t *testing.T) {
	if *samplesDir == "" {
		t.Skip("-samples not set")
	}
	require.NoError(t, lossChart().SavePNG(filepath.Join(*samplesDir, "loss.png")))
	require.NoError(t, lrFindChart().SavePNG(filepath.Join(*samplesDir, "lr-find.png")))
	require.NoError(t, SaveGridPNG(filepath.Join(*samplesDir, "grid.png"), runCharts(), 3))
	require.NoError(t, saveAtomic(filepath.Join(*samplesDir, "font.png"), fontSheet()))
	require.NoError(t, saveAtomic(filepath.Join(*samplesDir, "font-zoom.png"), zoom(fontSheet(), image.Rect(0, 25, 310, 100), 3)))
	lr, err := lrFindChart().Render()
	require.NoError(t, err)
	require.NoError(t, saveAtomic(filepath.Join(*samplesDir, "lr-find-zoom.png"), zoom(lr, image.Rect(380, 0, 780, 180), 3)))
	require.NoError(t, SaveGridPNG(filepath.Join(*samplesDir, "stress.png"), stressCharts(), 2))
	loss, err := lossChart().Render()
	require.NoError(t, err)
	require.NoError(t, saveAtomic(filepath.Join(*samplesDir, "loss-zoom.png"), zoom(loss, image.Rect(0, 40, 330, 220), 3)))
}

// zoom enlarges part of an image by k without smoothing, for inspecting pixels.
func zoom(src *image.RGBA, r image.Rectangle, k int) *image.RGBA {
	r = r.Intersect(src.Rect)
	out := image.NewRGBA(image.Rect(0, 0, r.Dx()*k, r.Dy()*k))
	for y := 0; y < r.Dy()*k; y++ {
		for x := 0; x < r.Dx()*k; x++ {
			out.SetRGBA(x, y, src.RGBAAt(r.Min.X+x/k, r.Min.Y+y/k))
		}
	}
	return out
}

// stressCharts push the layout: many series, a tiny chart with long text,
// exponent-labelled axes, and a log axis over many decades.
func stressCharts() []*Chart {
	var many []Series
	for i := 0; i < 15; i++ {
		var ys []float64
		for j := 0; j < 20; j++ {
			ys = append(ys, math.Sin(float64(j)/3+float64(i)/2)+float64(i)/4)
		}
		many = append(many, Series{Name: "series number " + string(rune('A'+i)), Y: ys, Dashed: i%4 == 3})
	}
	var xs, tiny, huge []float64
	for j := 0; j < 50; j++ {
		x := float64(j) * 2e5
		xs = append(xs, x)
		tiny = append(tiny, 3e-6+1e-6*math.Sin(float64(j)/5))
		huge = append(huge, math.Pow(10, float64(j)/2-10))
	}
	return []*Chart{
		{Title: "fifteen series", Series: many},
		{Title: "a very long title that cannot possibly fit in such a small chart", XLabel: "an equally long x-axis label for the tiny chart",
			YLabel: "and a long y label too", Width: MinWidth, Height: MinHeight, Series: []Series{{Name: "a long legend entry name", Y: []float64{1, 3, 2}}}},
		{Title: "exponent axes", XLabel: "samples", YLabel: "grad norm", Series: []Series{{Name: "g", X: xs, Y: tiny}}},
		{Title: "log y over 25 decades", LogY: true, YLabel: "ratio", Series: []Series{{Name: "r", X: xs, Y: huge}}},
	}
}
