package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/cmd/gotrain/internal/plot"
	"github.com/gotrain/gotrain/models"
)

// diagCharts are the charts drawn from a run's diagnostics.
var diagCharts = []string{"diagnostics-grads.png", "diagnostics-updates.png", "diagnostics-units.png"}

const diagnoseIntro = `Usage: gotrain diagnose [flags] RUN_DIR

Reads the per-layer diagnostics of a run (its diagnostics.jsonl, written by
gotrain train -diagnostics-every N), says what they show with the numbers behind it (vanishing
or exploding gradients, dead or saturated units, update ratios far from 1e-3) and the change
usually tried for each, and draws per-layer gradient norms, update ratios and the dead or
saturated fraction per layer and step. The thresholds are in the README (Diagnostics).

Flags:
`

// diagnoseCmd is gotrain diagnose.
func diagnoseCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diagnose", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	format := fs.String("chart-format", "png", "file format of the charts: png, svg or pdf")
	charts := fs.Bool("chart", true, "write the charts ("+strings.Join(diagCharts, ", ")+")")
	out := fs.String("out", "", "directory for the charts (default: RUN_DIR)")
	usage := func() {
		fs.SetOutput(stderr)
		fmt.Fprint(stderr, diagnoseIntro)
		fs.PrintDefaults()
	}
	// Flags may come before or after the run directory.
	var dirs []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage()
				return err
			}
			return usagef("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		dirs, rest = append(dirs, fs.Arg(0)), fs.Args()[1:]
	}
	switch len(dirs) {
	case 0:
		return usagef("no run directory: want gotrain diagnose RUN_DIR")
	case 1:
	default:
		return usagef("%d run directories (%s): want one", len(dirs), strings.Join(dirs, ", "))
	}
	cf := chartFormat{name: *format}
	if err := cf.check(); err != nil {
		return usagef("%v", err)
	}
	dir := dirs[0]
	if err := isDir("diagnose", dir, "a run directory"); err != nil {
		return err
	}
	if *out == "" {
		*out = dir
	} else if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	return diagnoseRun(stdout, dir, *out, cf, *charts, false)
}

// diagnoseRun reads dir's diagnostics, prints the report (unless quiet) and writes the charts
// into out (with charts).
func diagnoseRun(w io.Writer, dir, out string, cf chartFormat, charts, quiet bool) error {
	recs, bad, err := readDiagnostics(dir)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("%s: no diagnostics recorded; train with -diagnostics-every N to record them", filepath.Join(dir, diagFile))
	}
	if !quiet {
		fmt.Fprintln(w)
		fmt.Fprint(w, train.Diagnose(recs))
		if bad > 0 {
			fmt.Fprintf(w, "  (%d malformed lines of %s skipped)\n", bad, diagFile)
		}
	}
	if !charts {
		return nil
	}
	var written []string
	for i, p := range diagPanels(recs) {
		if p == nil {
			continue
		}
		name := cf.file(diagCharts[i])
		if err := plot.Save(filepath.Join(out, name), p); err != nil {
			if errors.Is(err, plot.ErrNoData) {
				continue // nothing finite to draw (every update ratio undefined, say)
			}
			return fmt.Errorf("writing %s: %w", name, err)
		}
		written = append(written, filepath.Join(out, name))
	}
	if !quiet && len(written) > 0 {
		fmt.Fprintf(w, "  charts: %s\n", strings.Join(written, ", "))
	}
	return nil
}

// readDiagnostics reads dir's diagnostics.jsonl; malformed lines (a torn last line, say) are
// counted and skipped.
func readDiagnostics(dir string) (recs []train.Diagnostics, bad int, err error) {
	path := filepath.Join(dir, diagFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%s: no such file; train with -diagnostics-every N to record diagnostics", path)
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	last := 0
	for sc.Scan() {
		var d train.Diagnostics
		if json.Unmarshal(sc.Bytes(), &d) != nil || d.Step <= last {
			bad++
			continue
		}
		recs, last = append(recs, d), d.Step
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return recs, bad, nil
}

// diagPanels draws recs as the charts of diagCharts, in order: each weight tensor's gradient
// norm and update ratio over the steps (every parameter's, for a model without weights), and a
// heat map of the dead or saturated fraction of each hidden layer with a rule; nil where there
// is nothing to draw. Records of another shape than the first are left out.
func diagPanels(recs []train.Diagnostics) []plot.Panel {
	ref := recs[0]
	var use []train.Diagnostics
	for _, d := range recs {
		if len(d.Params) == len(ref.Params) && len(d.Layers) == len(ref.Layers) {
			use = append(use, d)
		}
	}
	steps := make([]float64, len(use))
	for i, d := range use {
		steps[i] = float64(d.Step)
	}
	var params []int
	for i, p := range ref.Params {
		if p.Kind == models.Weight {
			params = append(params, i)
		}
	}
	if len(params) == 0 {
		for i := range ref.Params {
			params = append(params, i)
		}
	}
	lines := func(title, ylabel string, f func(train.ParamStats) float64) *plot.Chart {
		c := &plot.Chart{Title: title, XLabel: "step", YLabel: ylabel, LogY: true, IntegerX: true}
		for _, i := range params {
			s := plot.Series{Name: fmt.Sprintf("%s %s", ref.Params[i].Name, shapeName(ref.Params[i].Shape)), X: steps, Y: make([]float64, len(use))}
			for k, d := range use {
				s.Y[k] = f(d.Params[i])
			}
			c.Series = append(c.Series, s)
		}
		return c
	}
	grads := lines("gradient norm per layer", "||grad||", func(p train.ParamStats) float64 { return p.GradNorm })
	updates := lines("update ratio per layer", "||Δw|| / ||w||", func(p train.ParamStats) float64 { return p.UpdateRatio })
	typical := plot.Series{Name: "1e-3 (typical)", X: []float64{steps[0], steps[len(steps)-1]}, Y: []float64{1e-3, 1e-3}, Dashed: true}
	updates.Series = append(updates.Series, typical)
	panels := []plot.Panel{grads, updates, nil}

	m := &plot.HeatMap{Title: "dead (ReLU family) or saturated (sigmoid, tanh) fraction per layer", XLabel: "step",
		ZLabel: "fraction", X: steps, ZMin: 0, ZMax: 1, IntegerX: true}
	for li, l := range ref.Layers {
		what, pick := "", func(train.LayerStats) float64 { return 0 }
		switch {
		case train.SaturationRule(l.Act) != "":
			what, pick = "saturated", func(l train.LayerStats) float64 { return l.Saturated }
		case train.DeadRule(l.Act) != "":
			what, pick = "dead", func(l train.LayerStats) float64 { return l.Dead }
		default:
			continue
		}
		row := make([]float64, len(use))
		for k, d := range use {
			row[k] = pick(d.Layers[li])
		}
		m.Rows = append(m.Rows, fmt.Sprintf("%s %v %s", l.Name, l.Act, what))
		m.Z = append(m.Z, row)
	}
	if len(m.Z) > 0 {
		panels[2] = m
	}
	return panels
}

// shapeName renders [784 64] as 784x64.
func shapeName(s []int) string {
	p := make([]string, len(s))
	for i, d := range s {
		p[i] = fmt.Sprint(d)
	}
	return strings.Join(p, "x")
}
