package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/cmd/gotrain/internal/plot"
	"github.com/gotrain/gotrain/optim"
)

// lrFindFlags are lr-find's own options.
type lrFindFlags struct {
	start, end float64
	steps      int
	out        string
	overwrite  bool
	charts     chartFormat
}

const lrFindIntro = `Usage: gotrain lr-find [flags]

The learning-rate range test (Smith 2015; fastai's lr_find): trains for -steps batches while the
rate rises from -start to -end, stops when the smoothed loss passes 4x its best, restores the
weights, and suggests a rate. The model, optimizer and data flags are those of train.
Ctrl-C (SIGINT) or SIGTERM stops it and writes the curve so far.
`

// lrFindFiles are the files a range test writes (and -overwrite replaces).
var lrFindFiles = append(chartFiles("lrfind.png"), "lrfind.csv")

func newLRFindCommand() (*command, *options, *lrFindFlags) {
	c := newCommand("lr-find", lrFindIntro)
	var o options
	var f lrFindFlags
	o.register(c, "lr-find")
	c.float(&f.start, "start", 1e-7, "first learning rate, > 0")
	c.float(&f.end, "end", 10, "last learning rate, > -start")
	c.int(&f.steps, "steps", 100, "batches to train, the rate rising exponentially from -start to -end (at least 3)")
	c.strOrEmpty(&f.out, "out", "", "directory for lrfind.png and lrfind.csv (default: a new lrfind/YYYYMMDD-HHMMSS[-N])")
	c.bool(&f.overwrite, "overwrite", false, "replace the range test already in -out")
	f.charts.register(c)
	return c, &o, &f
}

func lrFindCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, o, f := newLRFindCommand()
	if err := c.parse(args, stderr); err != nil {
		return err
	}
	// The flags carry the defaults; a value given is used as given (a -start of 0 is an error,
	// not a cue to use the default).
	if err := f.charts.check(); err != nil {
		return err
	}
	rt := optim.RangeTest{}.WithDefaults()
	rt.Start, rt.End, rt.Steps = f.start, f.end, f.steps
	if err := rt.Validate(); err != nil {
		return fmt.Errorf("-start %g, -end %g, -steps %d: %w", f.start, f.end, f.steps, err)
	}
	dir := &outDir{flag: "-out", path: f.out, parent: "lrfind", what: "range test", ours: lrFindFiles, overwrite: f.overwrite}
	if err := dir.check(); err != nil {
		return err
	}
	p, err := prepare(ctx, []*plannedRun{{o: *o}})
	if err != nil {
		return err
	}
	r, ds := p.runs[0], p.data
	dev, tr, err := r.trainer(o.workers, train.Config{ShouldStop: stopper(ctx)})
	if err != nil {
		return err
	}
	defer dev.Close()
	defer tr.Close()
	lock, err := dir.take()
	if err != nil {
		return err
	}
	defer lock.release()
	fmt.Fprintf(stdout, "range test: %v with %s, lr %g to %g over %d batches of %s on %s\n",
		r.s.model, tr.Config().Optimizer.Name(), rt.Start, rt.End, rt.Steps, batchText(o.batch, ds.train.N), ds.source)
	res, err := tr.FindLR(ds.train, rt)
	if errors.Is(err, train.ErrInterrupted) {
		if len(res.Points) == 0 {
			return interruptedf("interrupted before the first batch; nothing was written to %s", dir.path)
		}
		csvPath, werr := writeLRCurve(dir.path, res.Points)
		if werr != nil {
			return fmt.Errorf("interrupted; writing the curve failed: %w", werr)
		}
		return interruptedf("interrupted after %d of %d batches (last lr %.3g); the curve so far is in %s", len(res.Points), rt.Steps, res.Points[len(res.Points)-1].LR, csvPath)
	}
	if err != nil {
		return err
	}
	// Like fastai, leave out the last few points (where the loss explodes) so the useful part of
	// the curve keeps its scale, and keep the noisy batch losses within the smoothed curve's range.
	shown := res.Points
	if len(shown) > 10 {
		shown = shown[:len(shown)-5]
	}
	top := 0.0
	for _, p := range shown {
		top = max(top, p.Smoothed)
	}
	var lrs, loss, smooth []float64
	for _, p := range shown {
		lrs, loss, smooth = append(lrs, p.LR), append(loss, min(p.Loss, 1.5*top)), append(smooth, p.Smoothed)
	}
	ch := &plot.Chart{Title: fmt.Sprintf("lr range test: %s, %s", o.model, tr.Config().Optimizer.Name()),
		XLabel: "learning rate", YLabel: "loss", LogX: true,
		Series:  []plot.Series{{Name: "batch loss", X: lrs, Y: loss, Dashed: true}, {Name: "smoothed", X: lrs, Y: smooth}},
		Markers: []plot.Marker{{X: res.Valley, Label: fmt.Sprintf("valley %.2g", res.Valley)}, {X: res.Steepest, Label: fmt.Sprintf("steepest %.2g", res.Steepest)}}}
	png := filepath.Join(dir.path, f.charts.file("lrfind.png"))
	if err := plot.Save(png, ch); err != nil {
		return err
	}
	csvPath, err := writeLRCurve(dir.path, res.Points)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "stopped: %s after %d batches (last lr %.3g)\n", res.Stopped, len(res.Points), res.Points[len(res.Points)-1].LR)
	fmt.Fprintf(stdout, "suggested lr: %.3g (valley)   steepest descent at %.3g\n", res.Valley, res.Steepest)
	fmt.Fprintf(stdout, "chart: %s  curve: %s\n", png, csvPath)
	return nil
}

// writeLRCurve writes the range test's points to dir/lrfind.csv.
func writeLRCurve(dir string, pts []optim.RangePoint) (string, error) {
	rows := [][]string{{"lr", "loss", "smoothed"}}
	for _, p := range pts {
		rows = append(rows, []string{strconv.FormatFloat(p.LR, 'g', -1, 64), strconv.FormatFloat(p.Loss, 'g', -1, 64), strconv.FormatFloat(p.Smoothed, 'g', -1, 64)})
	}
	path := filepath.Join(dir, "lrfind.csv")
	return path, writeCSV(path, rows)
}
