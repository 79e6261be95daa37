package main

import (
	"errors"
	"math"
	"path/filepath"
	"slices"

	"github.com/gotrain/gotrain/cmd/gotrain/internal/plot"
	"github.com/gotrain/gotrain/optim/tune"
)

// The study's charts: each function turns trials into a chart description and nothing more,
// so moving to another plotting library touches only these few calls.

// scale shows accuracies in percent.
func scale(cfg *tune.Config) float64 {
	if cfg.Maximize {
		return 100
	}
	return 1
}

// dots makes isolated points of a line series: NaN between points breaks the line, and a
// single point draws a dot.
func dots(xs, ys []float64) (x, y []float64) {
	for i := range xs {
		x, y = append(x, xs[i], xs[i]), append(y, ys[i], math.NaN())
	}
	return x, y
}

// historyChart is each trial's value by trial number, with the best so far.
func historyChart(cfg *tune.Config, trials []*tune.TrialRecord) *plot.Chart {
	k := scale(cfg)
	var cx, cy, px, py, bx, by []float64
	best := math.NaN()
	for _, t := range trials {
		v := t.Value * k
		switch t.State {
		case tune.Complete:
			cx, cy = append(cx, float64(t.Index)), append(cy, v)
			if !math.IsNaN(v) && (math.IsNaN(best) || cfg.Maximize && v > best || !cfg.Maximize && v < best) {
				best = v
			}
		case tune.Pruned:
			px, py = append(px, float64(t.Index)), append(py, v)
		}
		if !math.IsNaN(best) {
			bx, by = append(bx, float64(t.Index)), append(by, best)
		}
	}
	c := &plot.Chart{Title: "optimisation history", XLabel: "trial", YLabel: cfg.Metric, IntegerX: true}
	x, y := dots(cx, cy)
	c.Series = append(c.Series, plot.Series{Name: "complete", X: x, Y: y})
	x, y = dots(px, py)
	c.Series = append(c.Series, plot.Series{Name: "pruned (last value)", X: x, Y: y})
	c.Series = append(c.Series, plot.Series{Name: "best so far", X: bx, Y: by})
	return c
}

// intermediateChart is every trial's value after each epoch; pruned trials are dashed and end
// in a dot where they were stopped.
func intermediateChart(cfg *tune.Config, trials []*tune.TrialRecord) *plot.Chart {
	k := scale(cfg)
	var cx, cy, px, py, ex, ey []float64
	for _, t := range trials {
		if len(t.Steps) == 0 {
			continue
		}
		for e, v := range t.Steps {
			if t.State == tune.Pruned {
				px, py = append(px, float64(e+1)), append(py, v*k)
			} else {
				cx, cy = append(cx, float64(e+1)), append(cy, v*k)
			}
		}
		if t.State == tune.Pruned {
			px, py = append(px, math.NaN()), append(py, math.NaN())
			ex, ey = append(ex, float64(len(t.Steps))), append(ey, t.Steps[len(t.Steps)-1]*k)
		} else {
			cx, cy = append(cx, math.NaN()), append(cy, math.NaN())
		}
	}
	x, y := dots(ex, ey)
	return &plot.Chart{Title: "value after each epoch", XLabel: "epoch", YLabel: cfg.Metric, IntegerX: true,
		Series: []plot.Series{{Name: "complete", X: cx, Y: cy}, {Name: "pruned", X: px, Y: py, Dashed: true}, {Name: "pruned here", X: x, Y: y}}}
}

// parallelChart draws each trial across the parameters, coloured by its value.
func parallelChart(cfg *tune.Config, trials []*tune.TrialRecord) *plot.ParallelChart {
	c := &plot.ParallelChart{Title: "trials by parameter (darker: better)", ScoreLabel: cfg.Metric}
	for i := range cfg.Space.Params {
		p := &cfg.Space.Params[i]
		c.Axes = append(c.Axes, plot.ParallelAxis{Name: p.Name, Lo: p.Low, Hi: p.High, Log: p.Log, Choices: p.Choices})
	}
	for _, t := range trials {
		if math.IsNaN(t.Value) {
			continue
		}
		l := plot.ParallelLine{Score: t.Value * scale(cfg)}
		if !cfg.Maximize {
			l.Score = -t.Value // dark is better
		}
		for i := range cfg.Space.Params {
			p := &cfg.Space.Params[i]
			v, ok := t.Params[p.Name]
			switch {
			case !ok:
				l.Values = append(l.Values, math.NaN())
			case p.Kind == tune.Choice:
				l.Values = append(l.Values, float64(slices.Index(p.Choices, v.Choice)))
			default:
				l.Values = append(l.Values, v.Num)
			}
		}
		c.Lines = append(c.Lines, l)
	}
	return c
}

// writeTuneCharts writes the charts it can (importance needs two complete trials; parallel
// coordinates two parameters) and returns their names.
func writeTuneCharts(dir string, cfg *tune.Config, trials []*tune.TrialRecord) ([]string, error) {
	var out []string
	save := func(name string, err error) error {
		if err == nil {
			out = append(out, name)
		}
		return err
	}
	if err := save("history.png", historyChart(cfg, trials).SavePNG(filepath.Join(dir, "history.png"))); err != nil && !isNoData(err) {
		return out, err
	}
	if err := save("intermediate.png", intermediateChart(cfg, trials).SavePNG(filepath.Join(dir, "intermediate.png"))); err != nil && !isNoData(err) {
		return out, err
	}
	if len(cfg.Space.Params) >= 2 {
		if err := save("parallel.png", parallelChart(cfg, trials).SavePNG(filepath.Join(dir, "parallel.png"))); err != nil && !isNoData(err) {
			return out, err
		}
	}
	if imp, err := tune.Importance(cfg.Space, trials, cfg.Seed); err == nil {
		b := &plot.BarChart{Title: "parameter importance (fANOVA, complete trials)", XLabel: "share of the explained variance"}
		for _, p := range imp {
			b.Labels, b.Values = append(b.Labels, p.Name), append(b.Values, p.Importance)
		}
		if err := save("importance.png", b.SavePNG(filepath.Join(dir, "importance.png"))); err != nil {
			return out, err
		}
	}
	return out, nil
}

func isNoData(err error) bool { return err != nil && errors.Is(err, plot.ErrNoData) }
