package plot_test

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"

	"github.com/gotrain/gotrain/cmd/gotrain/internal/plot"
)

func ExampleChart_WritePNG() {
	c := &plot.Chart{
		Title: "loss", XLabel: "step", YLabel: "loss",
		Series: []plot.Series{
			{Name: "train", X: []float64{0, 100, 200, 300}, Y: []float64{2.3, 1.2, 0.8, 0.6}},
			{Name: "val", X: []float64{0, 150, 300}, Y: []float64{2.3, 1.0, 0.7}, Dashed: true},
		},
	}
	var buf bytes.Buffer
	if err := c.WritePNG(&buf); err != nil {
		fmt.Println(err)
		return
	}
	img, err := png.Decode(&buf)
	fmt.Println(img.Bounds(), err)
	// Output: (0,0)-(900,560) <nil>
}

func ExampleChart_Render_logAxisWithMarker() {
	c := &plot.Chart{
		Title: "lr find", XLabel: "learning rate", YLabel: "loss", LogX: true,
		Width: 640, Height: 400,
		Series:  []plot.Series{{X: []float64{1e-6, 1e-4, 1e-2, 1}, Y: []float64{2.3, 2.0, 0.9, 4.0}}},
		Markers: []plot.Marker{{X: 3e-3, Label: "suggested lr"}},
	}
	img, err := c.Render()
	fmt.Println(img.Bounds(), err)
	// Output: (0,0)-(640,400) <nil>
}

func ExampleChart_Render_noData() {
	_, err := (&plot.Chart{Title: "accuracy"}).Render()
	fmt.Println(errors.Is(err, plot.ErrNoData))
	fmt.Println(err)
	// Output:
	// true
	// plot: chart "accuracy": 0 series: no plottable data
}

func ExampleGrid() {
	line := func(title string, ys ...float64) *plot.Chart {
		return &plot.Chart{Title: title, Series: []plot.Series{{Y: ys}}}
	}
	img, err := plot.Grid([]*plot.Chart{
		line("loss", 2.3, 1.1, 0.7),
		line("accuracy", 0.1, 0.8, 0.9),
		line("lr", 0.1, 0.05, 0.01),
	}, 2)
	fmt.Println(img.Bounds(), err)
	// Output: (0,0)-(1800,1120) <nil>
}
