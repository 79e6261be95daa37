package plot

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var samplesDir = flag.String("samples", "", "write every sample chart in every format to this directory, to look at")

// lossChart is a three-series training chart: train and validation loss, and a dashed smoothed
// train loss.
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
		Title: "MNIST MLP: loss", XLabel: "step", YLabel: "cross-entropy loss", LogY: true, IntegerX: true,
		Series: []Series{
			{Name: "train", X: steps, Y: train},
			{Name: "train (EMA 0.9)", X: steps, Y: smooth, Dashed: true},
			{Name: "validation", X: vsteps, Y: val},
		},
	}
}

// lrFindChart is a learning-rate range test with two marked rates.
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
		Markers: []Marker{{X: 3e-3, Label: "valley 3e-3"}, {X: 2e-4, Label: "steepest 2e-4"}},
	}
}

// runCharts is a run dashboard: loss with a NaN gap, accuracy and the lr schedule.
func runCharts() []*Chart {
	var ep, acc, vacc, steps, lr, loss []float64
	for e := 1; e <= 5; e++ {
		ep = append(ep, float64(e))
		acc = append(acc, 100-10/float64(e))
		vacc = append(vacc, 99-12/float64(e))
	}
	for s := 0; s <= 500; s++ {
		steps = append(steps, float64(s))
		lr = append(lr, 0.05*(1+math.Cos(math.Pi*float64(s)/500))/2)
		l := 2.3 * math.Exp(-float64(s)/120)
		if s >= 200 && s < 230 {
			l = math.NaN() // skipped steps
		}
		loss = append(loss, l+0.02)
	}
	return []*Chart{
		{Title: "loss per step", XLabel: "step", YLabel: "loss", LogY: true, IntegerX: true, Series: []Series{{Name: "train (batch)", X: steps, Y: loss}}},
		{Title: "accuracy per epoch", XLabel: "epoch", YLabel: "accuracy %", IntegerX: true, Series: []Series{
			{Name: "train", X: ep, Y: acc}, {Name: "test", X: ep, Y: vacc, Dashed: true}}},
		{Title: "learning rate", XLabel: "step", YLabel: "lr", IntegerX: true, Series: []Series{{Name: "lr", X: steps, Y: lr}}},
		{Title: "constant", XLabel: "step", YLabel: "lr", IntegerX: true, Series: []Series{{Name: "lr", X: steps[:3], Y: []float64{1e-3, 1e-3, 1e-3}}}},
	}
}

// sweepChart overlays nine runs, as gotrain sweep does: the legend cannot fit inside.
func sweepChart() *Chart {
	c := &Chart{Title: "test accuracy per epoch, one line per run", XLabel: "epoch", YLabel: "accuracy %", IntegerX: true}
	for i, name := range []string{"sgd lr=0.001", "sgd lr=0.01", "sgd lr=0.1", "momentum lr=0.001", "momentum lr=0.01", "momentum lr=0.1", "adam lr=0.001", "adam lr=0.01", "adam lr=0.1"} {
		var x, y []float64
		for e := 1; e <= 3; e++ {
			x = append(x, float64(e))
			y = append(y, 60+float64(i*4)-20/float64(e)+float64(i%3)*3)
		}
		c.Series = append(c.Series, Series{Name: name, X: x, Y: y})
	}
	return c
}

// layerLines is the per-layer diagnostic as lines: a gradient norm per layer over steps, log y.
func layerLines() *Chart {
	c := &Chart{Title: "gradient norm per layer (sigmoid MLP)", XLabel: "step", YLabel: "||grad||", LogY: true, IntegerX: true}
	for l := range 6 {
		var x, y []float64
		for s := 0; s <= 200; s += 10 {
			x = append(x, float64(s))
			y = append(y, math.Pow(0.25, float64(5-l))*(1+0.3*math.Sin(float64(s)/20+float64(l))))
		}
		c.Series = append(c.Series, Series{Name: fmt.Sprintf("layer %d", l+1), X: x, Y: y})
	}
	return c
}

// layerHeat is the same diagnostic as a heat map, layers by steps, with a missing cell.
func layerHeat() *HeatMap {
	m := &HeatMap{Title: "gradient norm per layer (sigmoid MLP)", XLabel: "step", YLabel: "layer", ZLabel: "||grad||", LogZ: true, IntegerX: true}
	for s := 0; s <= 200; s += 10 {
		m.X = append(m.X, float64(s))
	}
	for l := range 6 {
		m.Rows = append(m.Rows, fmt.Sprintf("layer %d", l+1))
		row := make([]float64, len(m.X))
		for i, s := range m.X {
			row[i] = math.Pow(0.25, float64(5-l)) * (1 + 0.3*math.Sin(s/20+float64(l)))
		}
		m.Z = append(m.Z, row)
	}
	m.Z[2][4] = math.NaN()
	return m
}

// rosenbrock is a contour chart of Rosenbrock's function with two made-up paths.
func rosenbrock() *Contour {
	f := func(x, y float64) float64 { return (1-x)*(1-x) + 100*(y-x*x)*(y-x*x) }
	c := &Contour{
		Title: "Rosenbrock", XLabel: "x", YLabel: "y", F: f,
		XMin: -2, XMax: 2, YMin: -1, YMax: 3, Levels: LogLevels(0.1, 2000, 14),
		Points: []Point{{X: 1, Y: 1, Label: "minimum (1, 1)"}},
	}
	for i, k := range []float64{0.3, 0.8} {
		var x, y []float64
		for s := 0; s <= 60; s++ {
			t := float64(s) / 60
			x = append(x, -1.5+2.5*t)
			y = append(y, 2-1*t+k*math.Sin(8*t)*(1-t))
		}
		c.Paths = append(c.Paths, Series{Name: fmt.Sprintf("path %d, lr 0.0%d, 60 steps", i+1, i+1), X: x, Y: y})
	}
	return c
}

// samples are one chart of every kind, each with what it shows.
func samples() map[string][]Panel {
	return map[string][]Panel{
		"loss":        {lossChart()},
		"lr-find":     {lrFindChart()},
		"grid":        asPanels(runCharts()),
		"sweep":       {sweepChart()},
		"layer-lines": {layerLines()},
		"layer-heat":  {layerHeat()},
		"contour":     {rosenbrock()},
		"mixed":       {layerLines(), layerHeat()},
	}
}

// TestWriteSamples writes the samples for a person to look at: go test -run WriteSamples -samples DIR.
func TestWriteSamples(t *testing.T) {
	if *samplesDir == "" {
		t.Skip("no -samples directory")
	}
	require.NoError(t, os.MkdirAll(*samplesDir, 0o755))
	for name, ps := range samples() {
		for _, f := range Formats() {
			require.NoError(t, SaveGrid(filepath.Join(*samplesDir, name+f.Ext()), ps, 2), name)
		}
	}
}
