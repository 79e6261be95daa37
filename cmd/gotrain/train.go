package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gotrain/gotrain/backend/train"
)

func trainCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.register(fs)
	runDirFlag := fs.String("run-dir", "", "directory for metrics, chart, options and checkpoints (default runs/YYYYMMDD-HHMMSS)")
	resume := fs.String("resume", "", "continue the run in this directory from its checkpoint (its options are used; -epochs may raise the total)")
	chart := fs.Bool("chart", true, "write chart.png (loss, accuracy and lr over the run) into the run directory")
	chartFmt := chartFormatFlag(fs)
	progressMode := fs.String("progress", "auto", "progress display: auto (a live bar on a terminal, a line per epoch otherwise), bar, lines or none")
	every := fs.Int("checkpoint-every", 1, "save a checkpoint every N epochs (0: only at the end and on interrupt)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gotrain train [flags]\n\nTrains a model and writes its metrics, chart and checkpoint to a run directory.\nCtrl-C (SIGINT) or SIGTERM saves a checkpoint and exits; -resume continues exactly.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, &o.config); err != nil {
		return err
	}
	if *resume != "" {
		if err := applyResumeOptions(fs, *resume); err != nil {
			return err
		}
		*runDirFlag = *resume
	}
	if *every < 0 {
		return fmt.Errorf("-checkpoint-every %d: want >= 0", *every)
	}
	switch *progressMode {
	case "auto", "bar", "lines", "none":
	default:
		return fmt.Errorf("-progress %q: want auto, bar, lines or none", *progressMode)
	}
	if _, err := o.validate(0); err != nil {
		return err
	}
	ds, err := loadData(&o)
	if err != nil {
		return err
	}
	steps := (ds.train.N + o.batch - 1) / o.batch
	s, err := o.validate(steps)
	if err != nil {
		return err
	}
	if err := checkFits(s, ds); err != nil {
		return err
	}
	var state *train.State
	if *resume != "" {
		if state, err = train.LoadCheckpoint(filepath.Join(*resume, checkpointFile)); err != nil {
			return fmt.Errorf("-resume: %w", err)
		}
	}
	dev, err := openDevice(o.device, o.workers)
	if err != nil {
		return err
	}
	defer dev.Close()

	dir := *runDirFlag
	if dir == "" {
		dir = filepath.Join("runs", time.Now().Format("20060102-150405"))
	}
	var rd *runDir // opened once the trainer (and a resumed state) is known to be good
	pr := &progress{w: stdout, epochs: o.epochs, steps: steps, batch: o.batch}
	switch *progressMode {
	case "auto":
		pr.live = isTerminal(stdout)
	case "bar":
		pr.live = true
	case "none":
		pr.quiet = true
	}
	ckpt := filepath.Join(dir, checkpointFile)
	var tr *train.Trainer
	save := func() error {
		st, err := tr.Snapshot()
		if err != nil {
			return err
		}
		return train.SaveCheckpoint(ckpt, st)
	}
	tr, err = newTrainer(&o, s, dev, train.Config{
		ShouldStop: stopper(ctx),
		OnStep: func(m train.StepMetrics) error {
			rd.step(m)
			pr.step(m)
			if stepHook != nil {
				stepHook()
			}
			return nil
		},
		OnEpoch: func(m train.EpochMetrics) error {
			pr.epoch(m, ds.evalName)
			if err := rd.epoch(m); err != nil {
				return err
			}
			if *every > 0 && m.Epoch%*every == 0 {
				return save()
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	defer tr.Close()
	if state != nil {
		if err := tr.Restore(state); err != nil {
			return fmt.Errorf("-resume %s: %w", *resume, err)
		}
		if tr.Epoch() >= o.epochs && !state.MidEpoch {
			return fmt.Errorf("-resume %s: the run already finished its %d epochs; raise -epochs to continue it", *resume, tr.Epoch())
		}
	}
	// Only now touch the run directory, so a refused resume leaves its files as they were.
	if rd, err = openRunDir(dir, *resume != ""); err != nil {
		return err
	}
	defer rd.close()
	if err := saveOptions(dir, fs); err != nil {
		return err
	}

	if !pr.quiet {
		fmt.Fprintf(stdout, "data: %s (%d train, %d %s)\n", ds.source, ds.train.N, evalN(ds), orNone(ds.evalName))
		fmt.Fprintf(stdout, "model: %v, loss %v, %d parameters; optimizer %s lr %g; schedule %s; batch %d, seed %d\n",
			s.spec, s.spec.Loss, s.spec.ParamCount(), tr.Config().Optimizer.Name(), o.lr, scheduleName(s), o.batch, o.seed)
		fmt.Fprintf(stdout, "device: %s; run directory: %s\n", dev.Describe(), dir)
		if state != nil {
			fmt.Fprintf(stdout, "resuming at epoch %d, step %d\n", state.Epoch, state.Step)
		}
	}
	start := time.Now()
	hist, err := tr.Fit(ds.train, ds.eval)
	if errors.Is(err, train.ErrInterrupted) {
		if serr := save(); serr != nil {
			return fmt.Errorf("%w; saving the checkpoint also failed: %w", err, serr)
		}
		fmt.Fprintf(stdout, "\ninterrupted at epoch %d step %d; checkpoint saved to %s\ncontinue with: gotrain train -resume %s\n", tr.Epoch(), tr.Step(), ckpt, dir)
		return err
	}
	if err != nil {
		// Keep what was learned up to the failure: the last good checkpoint stays on disk.
		return fmt.Errorf("%w (metrics so far are in %s)", err, dir)
	}
	if err := save(); err != nil {
		return err
	}
	if *chart {
		if err := rd.chart(hist, ds.evalName, *chartFmt); err != nil {
			return fmt.Errorf("writing the chart: %w", err)
		}
	}
	if !pr.quiet {
		summary(stdout, hist, ds.evalName, time.Since(start), dev.Describe(), tr.Skipped(), dir)
	}
	return nil
}

func evalN(ds *dataset) int {
	if ds.eval == nil {
		return 0
	}
	return ds.eval.N
}

func orNone(s string) string {
	if s == "" {
		return "held out"
	}
	return s
}

func scheduleName(s *setup) string {
	if s.plateau != nil {
		return s.plateau.String()
	}
	return s.schedule.String()
}

// summary prints the end-of-run report.
func summary(w io.Writer, hist []train.EpochMetrics, evalName string, wall time.Duration, device string, skipped int, dir string) {
	if len(hist) == 0 {
		return
	}
	best := 0
	for i, m := range hist {
		if evalName != "" && m.TestAcc > hist[best].TestAcc || evalName == "" && m.TrainLoss < hist[best].TrainLoss {
			best = i
		}
	}
	last := hist[len(hist)-1]
	fmt.Fprintf(w, "\nsummary: %d epochs in %.1fs on %s\n", len(hist), wall.Seconds(), device)
	if evalName != "" {
		fmt.Fprintf(w, "  best epoch: %d (%s accuracy %.2f%%)\n", hist[best].Epoch, evalName, 100*hist[best].TestAcc)
		fmt.Fprintf(w, "  final %s accuracy: %.2f%%, loss %.4f\n", evalName, 100*last.TestAcc, last.TestLoss)
	} else {
		fmt.Fprintf(w, "  best epoch: %d (train loss %.4f)\n", hist[best].Epoch, hist[best].TrainLoss)
	}
	fmt.Fprintf(w, "  final train accuracy: %.2f%%, loss %.4f\n", 100*last.TrainAcc, last.TrainLoss)
	if skipped > 0 {
		fmt.Fprintf(w, "  skipped steps (non-finite): %d\n", skipped)
	}
	fmt.Fprintf(w, "  outputs: %s\n", dir)
}

// applyResumeOptions loads a run directory's options.json into the flags not given on the
// command line.
func applyResumeOptions(fs *flag.FlagSet, dir string) error {
	raw, err := os.ReadFile(filepath.Join(dir, optionsFile))
	if err != nil {
		return fmt.Errorf("-resume: %w", err)
	}
	if err := applyConfig(fs, raw, filepath.Join(dir, optionsFile)); err != nil {
		return fmt.Errorf("-resume: %w", err)
	}
	return nil
}
