package plot_test

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/gotrain/gotrain/cmd/gotrain/internal/plot"
)

func ExampleWrite() {
	c := &plot.Chart{
		Title: "loss", XLabel: "step", YLabel: "loss", LogY: true, IntegerX: true,
		Series: []plot.Series{
			{Name: "train", X: []float64{0, 100, 200, 300}, Y: []float64{2.3, 1.2, 0.8, 0.6}},
			{Name: "val", X: []float64{0, 150, 300}, Y: []float64{2.3, 1.0, 0.7}, Dashed: true},
		},
	}
	var buf bytes.Buffer
	if err := plot.Write(&buf, plot.PNG, c); err != nil {
		fmt.Println(err)
		return
	}
	img, err := png.Decode(&buf)
	fmt.Println(img.Bounds(), err)
	// Output: (0,0)-(900,560) <nil>
}

func ExampleSaveGrid() {
	dir, err := os.MkdirTemp("", "charts")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	line := func(title string, ys ...float64) *plot.Chart {
		return &plot.Chart{Title: title, Series: []plot.Series{{Y: ys}}}
	}
	charts := []*plot.Chart{line("loss", 2.3, 1.1, 0.7), line("accuracy", 0.1, 0.8, 0.9), line("lr", 0.1, 0.05, 0.01)}
	// The extension names the format: .png, .svg or .pdf.
	for _, name := range []string{"run.svg", "run.pdf", "run.gif"} {
		err := plot.SaveGrid(filepath.Join(dir, name), charts, 2)
		fmt.Println(name, errors.Is(err, plot.ErrInvalid))
	}
	// Output:
	// run.svg false
	// run.pdf false
	// run.gif true
}

func ExampleHeatMap() {
	// A quantity per layer and step, as the per-layer diagnostics record it: one row per layer.
	m := &plot.HeatMap{
		Title: "gradient norm per layer", XLabel: "step", ZLabel: "||grad||", LogZ: true, IntegerX: true,
		X:    []float64{0, 10, 20, 30},
		Rows: []string{"layer 1", "layer 2", "layer 3"},
		Z: [][]float64{
			{1e-4, 2e-4, 1e-4, math.NaN()}, // NaN: not logged at that step, drawn grey
			{1e-2, 2e-2, 3e-2, 2e-2},
			{0.5, 0.7, 0.6, 0.4},
		},
	}
	fmt.Println(plot.Write(io.Discard, plot.SVG, m))
	// Output: <nil>
}

func ExampleChart_Render_noData() {
	_, err := (&plot.Chart{Title: "accuracy"}).Render()
	fmt.Println(errors.Is(err, plot.ErrNoData))
	fmt.Println(err)
	// Output:
	// true
	// plot: chart "accuracy": 0 series: no plottable data
}
