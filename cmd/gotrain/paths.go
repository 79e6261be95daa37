package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/cmd/gotrain/internal/plot"
	"github.com/gotrain/gotrain/optim"
	"github.com/gotrain/gotrain/optim/testfunc"
)

// pathsFlags are the options of gotrain paths.
type pathsFlags struct {
	function, optimizers, lr, start, out string
	steps                                int
	overwrite                            bool
	charts                               chartFormat
}

// pathsIntro is paths' help text, with the functions listed.
func pathsIntro() string {
	var b strings.Builder
	b.WriteString(`Usage: gotrain paths [flags]

Runs optimizers (their real update code, on the CPU device) on a 2-D test function from a start
point, the gradient computed analytically each step, and draws their paths over the function's
contours, with each one's rate and steps in the legend. Also writes every path as CSV.
Functions:
`)
	for _, n := range testfunc.Names() {
		f, _ := testfunc.Get(n)
		fmt.Fprintf(&b, "  %-11s %s\n", n, f.Summary)
	}
	return b.String()
}

func newPathsCommand() (*command, *pathsFlags) {
	c := newCommand("paths", pathsIntro())
	var p pathsFlags
	c.str(&p.function, "function", "rosenbrock", "test function: "+strings.Join(testfunc.Names(), ", "))
	c.str(&p.optimizers, "optimizers", strings.Join(testfunc.Representative(), ","), "optimizers to compare (comma-separated), or all")
	c.strOrEmpty(&p.lr, "lr", "", "learning rates: one for all, or per optimizer as sgd=0.001,adam=0.05 (default: the function's own per optimizer)")
	c.int(&p.steps, "steps", 0, "steps per optimizer (default: the function's own)")
	c.strOrEmpty(&p.start, "start", "", "start point x,y (default: the function's own)")
	c.strOrEmpty(&p.out, "out", "", "directory for FUNCTION.png (or .svg, .pdf) and FUNCTION.csv (default: a new paths/YYYYMMDD-HHMMSS[-N])")
	c.bool(&p.overwrite, "overwrite", false, "replace the paths already in -out")
	p.charts.register(c)
	return c, &p
}

// pathsCmd runs optimizers on a 2-D test function and draws their paths over its contours.
func pathsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, pf := newPathsCommand()
	if err := c.parse(args, stderr); err != nil {
		return err
	}
	if err := pf.charts.check(); err != nil {
		return err
	}
	fn, opts, lrs, steps, start, out := &pf.function, &pf.optimizers, &pf.lr, &pf.steps, &pf.start, &pf.out
	f, err := testfunc.Get(*fn)
	if err != nil {
		return fmt.Errorf("-function: %w", err)
	}
	names, err := parseOptimizers(*opts)
	if err != nil {
		return fmt.Errorf("-optimizers: %w", err)
	}
	rates, err := parseRates(*lrs, names)
	if err != nil {
		return fmt.Errorf("-lr: %w", err)
	}
	n := f.Steps
	if *steps != 0 {
		n = *steps
	}
	if n < 1 || n > 1_000_000 {
		return fmt.Errorf("-steps %d: want 1 to 1000000", n)
	}
	from := f.Start
	if *start != "" {
		if from, err = parsePoint(*start); err != nil {
			return fmt.Errorf("-start: %w", err)
		}
	}
	var ours []string // every function's files: one directory may hold several
	for _, n := range testfunc.Names() {
		ours = append(append(ours, chartFiles(n+".png")...), n+".csv")
	}
	dir := &outDir{flag: "-out", path: *out, parent: "paths", what: "paths output", ours: ours, overwrite: pf.overwrite}
	if err := dir.check(); err != nil {
		return err
	}
	dev, err := cpu.New(1)
	if err != nil {
		return err
	}
	defer dev.Close()

	fmt.Fprintf(stdout, "%s: %s\nfrom (%g, %g), %d steps\n", f.Name, f.Summary, from.X, from.Y, n)
	chart := &plot.Contour{
		Title:  fmt.Sprintf("%s: optimizer paths from (%g, %g)", f.Name, from.X, from.Y),
		XLabel: "x", YLabel: "y", F: f.F, Levels: f.Levels,
		XMin: f.XMin, XMax: f.XMax, YMin: f.YMin, YMax: f.YMax,
	}
	if n > 120 { // a dot per step would merge into a line: dots at a round interval show the speed
		chart.DotEvery = roundStep(n / 30)
		chart.Title += fmt.Sprintf(", a dot every %d steps", chart.DotEvery)
	}
	for _, m := range f.Minima {
		chart.Points = append(chart.Points, plot.Point{X: m.X, Y: m.Y, Label: fmt.Sprintf("minimum (%g, %g)", m.X, m.Y)})
	}
	lock, err := dir.take()
	if err != nil {
		return err
	}
	defer lock.release()
	csvPath := filepath.Join(dir.path, f.Name+".csv")
	cf, err := os.Create(csvPath)
	if err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	defer cf.Close()
	cw := csv.NewWriter(cf)
	_ = cw.Write([]string{"optimizer", "lr", "step", "x", "y", "f"})
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		lr, ok := rates[name]
		if !ok {
			lr = f.Rate(name)
		}
		o, err := optim.Defaults(name, lr)
		if err != nil {
			return err
		}
		p, err := testfunc.Run(dev, o, f, from, n)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		s := plot.Series{Name: fmt.Sprintf("%s, lr %g, %d steps", name, lr, len(p.Points)-1)}
		for i, q := range p.Points {
			s.X, s.Y = append(s.X, q.X), append(s.Y, q.Y)
			_ = cw.Write([]string{name, g(lr), strconv.Itoa(i), g(q.X), g(q.Y), g(f.F(q.X, q.Y))})
		}
		last := p.Last()
		line := fmt.Sprintf("  %-9s lr %-7g end (%.4g, %.4g)  f %.3g", name, lr, last.X, last.Y, f.F(last.X, last.Y))
		if d := f.Distance(last); !math.IsNaN(d) {
			line += fmt.Sprintf("  distance to the minimum %.3g", d)
		}
		if p.Diverged > 0 {
			line += fmt.Sprintf("  (diverged after step %d)", p.Diverged)
			s.Name += fmt.Sprintf(", diverged at step %d", p.Diverged)
		}
		fmt.Fprintln(stdout, line)
		chart.Paths = append(chart.Paths, s)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing %s: %w", csvPath, err)
	}
	if err := cf.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", csvPath, err)
	}
	chartPath := filepath.Join(dir.path, pf.charts.file(f.Name+".png"))
	if err := plot.Save(chartPath, chart); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "chart: %s  paths: %s\n", chartPath, csvPath)
	return nil
}

// roundStep is the largest 1, 2 or 5 times a power of ten at most n (1 for n < 1).
func roundStep(n int) int {
	best := 1
	for p := 1; p <= n; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p <= n {
				best = m * p
			}
		}
	}
	return best
}

// parseOptimizers splits a comma-separated list of optimizer names; "all" is every registered one.
func parseOptimizers(s string) ([]string, error) {
	if strings.TrimSpace(s) == "all" {
		return optim.Names(), nil
	}
	var out []string
	for _, n := range strings.Split(s, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		if _, err := optim.Describe(n); err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q names no optimizer", s)
	}
	return out, nil
}

// parseRates reads "0.01" (every optimizer) or "sgd=0.001,adam=0.05" (those named, which must be
// among names).
func parseRates(s string, names []string) (map[string]float64, error) {
	out := map[string]float64{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}
	num := func(v string) (float64, error) {
		lr, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(lr > 0) || math.IsInf(lr, 0) {
			return 0, fmt.Errorf("rate %q: want a number > 0", v)
		}
		return lr, nil
	}
	if !strings.Contains(s, "=") {
		lr, err := num(s)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			out[n] = lr
		}
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok {
			return nil, fmt.Errorf("%q: want optimizer=rate", kv)
		}
		if !slices.Contains(names, k) {
			return nil, fmt.Errorf("%q: %s is not among the optimizers %s", kv, k, strings.Join(names, ","))
		}
		lr, err := num(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = lr
	}
	return out, nil
}

// parsePoint reads "x,y".
func parsePoint(s string) (testfunc.Point, error) {
	xs, ys, ok := strings.Cut(s, ",")
	x, errx := strconv.ParseFloat(strings.TrimSpace(xs), 64)
	y, erry := strconv.ParseFloat(strings.TrimSpace(ys), 64)
	if !ok || errx != nil || erry != nil || math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return testfunc.Point{}, fmt.Errorf("%q: want two finite numbers x,y", s)
	}
	return testfunc.Point{X: x, Y: y}, nil
}
