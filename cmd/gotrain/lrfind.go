package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/cmd/gotrain/internal/plot"
	"github.com/gotrain/gotrain/optim"
)

func lrFindCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("lr-find", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.register(fs)
	start := fs.Float64("start", 1e-7, "first learning rate")
	end := fs.Float64("end", 10, "last learning rate")
	steps := fs.Int("steps", 100, "batches to train, the rate rising exponentially from -start to -end")
	out := fs.String("out", "lrfind", "directory for lrfind.png and lrfind.csv")
	chartFmt := chartFormatFlag(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gotrain lr-find [flags]\n\nThe learning-rate range test (Smith 2015; fastai's lr_find): trains for -steps batches while the\nrate rises from -start to -end, stops when the smoothed loss passes 4x its best, restores the\nweights, and suggests a rate. The training flags (model, optimizer, ...) are those of train.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, &o.config); err != nil {
		return err
	}
	rt := optim.RangeTest{Start: *start, End: *end, Steps: *steps}.WithDefaults()
	if err := rt.Validate(); err != nil {
		return fmt.Errorf("-start/-end/-steps: %w", err)
	}
	s, err := o.validate(0)
	if err != nil {
		return err
	}
	ds, err := loadData(&o)
	if err != nil {
		return err
	}
	if err := checkFits(s, ds); err != nil {
		return err
	}
	dev, err := openDevice(o.device, o.workers)
	if err != nil {
		return err
	}
	defer dev.Close()
	tr, err := newTrainer(&o, s, dev, train.Config{})
	if err != nil {
		return err
	}
	defer tr.Close()
	fmt.Fprintf(stdout, "range test: %v with %s, lr %g to %g over %d batches of %d on %s\n",
		s.spec, tr.Config().Optimizer.Name(), rt.Start, rt.End, rt.Steps, o.batch, ds.source)
	res, err := tr.FindLR(ds.train, rt)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
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
	c := &plot.Chart{Title: fmt.Sprintf("lr range test: %s, %s", o.model, tr.Config().Optimizer.Name()),
		XLabel: "learning rate", YLabel: "loss", LogX: true,
		Series:  []plot.Series{{Name: "batch loss", X: lrs, Y: loss, Dashed: true}, {Name: "smoothed", X: lrs, Y: smooth}},
		Markers: []plot.Marker{{X: res.Valley, Label: fmt.Sprintf("valley %.2g", res.Valley)}, {X: res.Steepest, Label: fmt.Sprintf("steepest %.2g", res.Steepest)}}}
	png := filepath.Join(*out, "lrfind"+chartFmt.Ext())
	if err := plot.Save(png, c); err != nil {
		return err
	}
	csvPath := filepath.Join(*out, "lrfind.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		return err
	}
	fmt.Fprintln(f, "lr,loss,smoothed")
	for _, p := range res.Points {
		fmt.Fprintf(f, "%g,%g,%g\n", p.LR, p.Loss, p.Smoothed)
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "stopped: %s after %d batches (last lr %.3g)\n", res.Stopped, len(res.Points), res.Points[len(res.Points)-1].LR)
	fmt.Fprintf(stdout, "suggested lr: %.3g (valley)   steepest descent at %.3g\n", res.Valley, res.Steepest)
	fmt.Fprintf(stdout, "chart: %s  curve: %s\n", png, csvPath)
	return nil
}
