package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"time"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/models"
)

// trainFlags are train's own options.
type trainFlags struct {
	runDir, resume string
	overwrite      bool
	chart          bool
	progress       string
	every          int
	diagEvery      int
	charts         chartFormat
}

const trainIntro = `Usage: gotrain train [flags]

Trains a model and writes its metrics, chart and checkpoint to a run directory.
Ctrl-C (SIGINT) or SIGTERM saves a checkpoint and exits; -resume continues exactly.
An existing run is never overwritten: continue it with -resume, or replace it with -overwrite.
`

func newTrainCommand() (*command, *options, *trainFlags) {
	c := newCommand("train", trainIntro)
	var o options
	var t trainFlags
	o.register(c, "train")
	c.strOrEmpty(&t.runDir, "run-dir", "", "directory for metrics, chart, options and checkpoints (default: a new runs/YYYYMMDD-HHMMSS[-N])")
	c.strOrEmpty(&t.resume, "resume", "", "continue the run in this directory from its checkpoint, with its recorded options (only -epochs may grow)")
	c.bool(&t.overwrite, "overwrite", false, "replace the run already in -run-dir (its checkpoint, metrics, options and chart)")
	c.bool(&t.chart, "chart", true, "write chart.png (loss, accuracy and lr over the whole run) into the run directory")
	c.str(&t.progress, "progress", "auto", "progress display: auto (a live bar on a terminal, a line per epoch otherwise), bar, lines or none")
	c.int(&t.every, "checkpoint-every", 1, "save a checkpoint every N epochs (0: only at the end and on interrupt)")
	c.int(&t.diagEvery, "diagnostics-every", 0, "per-layer diagnostics (gradient, weight and update norms; activation mean and spread, saturated and dead units) on step 1 and every N steps into "+diagFile+", with findings and charts at the end (0: none)")
	t.charts.register(c)
	return c, &o, &t
}

func trainCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, o, t := newTrainCommand()
	if err := c.parse(args, stderr); err != nil {
		return err
	}
	if err := t.charts.check(); err != nil {
		return err
	}
	var rec *recordedRun
	if t.resume != "" {
		if t.overwrite {
			return usagef("-resume %s and -overwrite: a resumed run continues its files; give one of them", t.resume)
		}
		if t.runDir != "" && filepath.Clean(t.runDir) != filepath.Clean(t.resume) {
			return usagef("-run-dir %s and -resume %s: a resumed run stays in its own directory; give only -resume", t.runDir, t.resume)
		}
		t.runDir = t.resume
		if err := isDir("-resume", t.resume, "a run (its options.json and checkpoint.ckpt)"); err != nil {
			return err
		}
		var err error
		if rec, err = applyRecorded(c, t.resume); err != nil {
			return err
		}
	}
	if t.every < 0 {
		return fmt.Errorf("-checkpoint-every %d: want >= 0 (0: only at the end and on interrupt)", t.every)
	}
	if t.diagEvery < 0 {
		return fmt.Errorf("-diagnostics-every %d: want >= 0 (0: no diagnostics)", t.diagEvery)
	}
	switch t.progress {
	case "auto", "bar", "lines", "none":
	default:
		return fmt.Errorf("-progress %q: want auto, bar, lines or none", t.progress)
	}
	dir := &outDir{flag: "-run-dir", path: t.runDir, parent: "runs", what: "run", ours: runFiles, overwrite: t.overwrite, resume: rec != nil}
	if rec != nil {
		dir.flag = "-resume"
	}
	if err := dir.check(); err != nil {
		return err
	}
	ckptPath := filepath.Join(t.runDir, checkpointFile)
	if rec != nil {
		if _, err := statRegular("-resume", ckptPath, limCheckpoint); err != nil {
			return fmt.Errorf("-resume %s: no checkpoint to continue from (%v); a run saves one after its first epoch, or when interrupted", t.resume, err)
		}
	}
	p, err := prepare(ctx, []*plannedRun{{o: *o}})
	if err != nil {
		return err
	}
	r, ds := p.runs[0], p.data
	var state *train.State
	if rec != nil {
		if state, err = loadCheckpointFile("-resume", ckptPath); err != nil {
			return err
		}
		if err := sameData(state.Data, ds.info); err != nil {
			return fmt.Errorf("-resume %s: %w", t.resume, err)
		}
		if err := checkResumeEpochs(&r.o, rec, state, p.steps); err != nil {
			return err
		}
	}

	var rl *runLog // opened once every check has passed
	pr := &progress{w: stdout, epochs: r.o.epochs, steps: p.steps, batch: r.o.batch}
	switch t.progress {
	case "auto":
		pr.live = isTerminal(stdout)
	case "bar":
		pr.live = true
	case "none":
		pr.quiet = true
	}
	var tr *train.Trainer
	save := func() error {
		st, err := tr.Snapshot()
		if err != nil {
			return err
		}
		st.Data = ds.info
		return train.SaveCheckpoint(filepath.Join(dir.path, checkpointFile), st)
	}
	steps, applied := 0, 0
	var onDiag func(train.Diagnostics) error
	if t.diagEvery > 0 {
		onDiag = func(d train.Diagnostics) error { return rl.diagnostics(d) }
	}
	dev, tr, err := r.trainer(r.o.workers, train.Config{
		Diagnostics: t.diagEvery, OnDiagnostics: onDiag,
		ShouldStop: stopper(ctx),
		OnStep: func(m train.StepMetrics) error {
			steps++
			if !m.Skipped {
				applied++
			}
			rl.step(m)
			pr.step(m)
			if stepHook != nil {
				stepHook()
			}
			return nil
		},
		OnEpoch: func(m train.EpochMetrics) error {
			pr.epoch(m, ds.evalName)
			if err := rl.epoch(m); err != nil {
				return err
			}
			if t.every > 0 && m.Epoch%t.every == 0 {
				return save()
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	defer dev.Close()
	defer tr.Close()
	if state != nil {
		if err := tr.Restore(state); err != nil {
			return fmt.Errorf("-resume %s: %w", t.resume, err)
		}
	}

	// Every check has passed: only now is the run directory created, locked and written.
	lock, err := dir.take()
	if err != nil {
		return err
	}
	defer lock.release()
	var dropped []string
	if state != nil {
		if dropped, err = cutRunLog(dir.path, state.Step, len(state.History)); err != nil {
			return err
		}
	}
	if err := writeOptions(dir.path, c); err != nil {
		return fmt.Errorf("writing %s: %w", optionsFile, err)
	}
	if rl, err = openRunLog(dir.path, state != nil, t.diagEvery > 0); err != nil {
		return err
	}
	defer rl.close()

	if !pr.quiet {
		fmt.Fprintf(stdout, "data: %s (%d train, %d %s)\n", ds.source, ds.train.N, evalN(ds), orNone(ds.evalName))
		fmt.Fprintf(stdout, "model: %v, loss %v, %d parameters; optimizer %s lr %g; schedule %s; batch %s, seed %d\n",
			r.s.model, r.s.model.LossKind(), int64(models.Count(r.s.model)), tr.Config().Optimizer.Name(), r.o.lr, scheduleOf(r.s), batchText(r.o.batch, ds.train.N), r.o.seed)
		fmt.Fprintf(stdout, "device: %s; run directory: %s\n", dev.Describe(), dir.path)
		if state != nil {
			fmt.Fprintf(stdout, "resuming at epoch %d, step %d\n", state.Epoch, state.Step)
			for _, d := range dropped {
				fmt.Fprintf(stdout, "  dropped %s written after the checkpoint\n", d)
			}
		}
	}
	start := time.Now()
	hist, err := tr.Fit(ds.train, ds.eval)
	if errors.Is(err, train.ErrInterrupted) {
		if ferr := rl.flush(); ferr != nil {
			return fmt.Errorf("interrupted; writing the metrics failed: %w", ferr)
		}
		if serr := save(); serr != nil {
			return fmt.Errorf("interrupted at epoch %d step %d; saving the checkpoint failed: %w", tr.Epoch(), tr.Step(), serr)
		}
		return interruptedf("interrupted at epoch %d step %d; checkpoint saved to %s; continue with: gotrain train -resume %s",
			tr.Epoch(), tr.Step(), filepath.Join(dir.path, checkpointFile), dir.path)
	}
	if err != nil {
		// Keep what was learned up to the failure: the last good checkpoint stays on disk.
		return fmt.Errorf("%w (metrics so far are in %s)", err, dir.path)
	}
	if err := save(); err != nil {
		return err
	}
	if err := rl.flush(); err != nil {
		return err
	}
	if t.chart {
		if err := writeChart(dir.path, t.charts.file(chartFile), hist, ds.evalName); err != nil {
			return fmt.Errorf("writing the chart: %w", err)
		}
	}
	if !pr.quiet {
		summary(stdout, hist, ds.evalName, time.Since(start), dev.Describe(), tr.Skipped(), dir.path)
	}
	if t.diagEvery > 0 {
		// From the file, so a resumed run's findings and charts cover its whole history.
		if err := diagnoseRun(stdout, dir.path, dir.path, t.charts, t.chart, pr.quiet); err != nil {
			return err
		}
	}
	if steps > 0 && applied == 0 {
		return fmt.Errorf("no update was applied: all %d steps of this run had a non-finite loss or gradient and were skipped (-on-nonfinite skip); the weights in %s are those it started from",
			steps, filepath.Join(dir.path, checkpointFile))
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

// batchText says the batch size, and that it is the whole training set when the data is smaller.
func batchText(batch, n int) string {
	if batch > n {
		return fmt.Sprintf("%d (the whole training set of %d)", batch, n)
	}
	return fmt.Sprint(batch)
}

func scheduleOf(s *setup) string {
	switch {
	case s.plateau != nil && s.schedule != nil:
		return s.schedule.String() + ", then " + s.plateau.String()
	case s.plateau != nil:
		return s.plateau.String()
	}
	return s.schedule.String()
}

// summary prints the end-of-run report.
func summary(w io.Writer, hist []train.EpochMetrics, evalName string, wall time.Duration, device string, skipped int, dir string) {
	if len(hist) == 0 {
		return
	}
	best := -1
	for i, m := range hist {
		score, bestScore := -m.TrainLoss, 0.0
		if evalName != "" {
			score = m.TestAcc
		}
		if best >= 0 {
			bestScore = -hist[best].TrainLoss
			if evalName != "" {
				bestScore = hist[best].TestAcc
			}
		}
		if !math.IsNaN(score) && (best < 0 || score > bestScore) {
			best = i
		}
	}
	last := hist[len(hist)-1]
	fmt.Fprintf(w, "\nsummary: %d epochs in %.1fs on %s\n", len(hist), wall.Seconds(), device)
	switch {
	case best < 0:
		fmt.Fprintf(w, "  best epoch: none (every epoch's steps were skipped)\n")
	case evalName != "":
		fmt.Fprintf(w, "  best epoch: %d (%s accuracy %.2f%%)\n", hist[best].Epoch, evalName, 100*hist[best].TestAcc)
		fmt.Fprintf(w, "  final %s accuracy: %.2f%%, loss %.4f\n", evalName, 100*last.TestAcc, last.TestLoss)
	default:
		fmt.Fprintf(w, "  best epoch: %d (train loss %.4f)\n", hist[best].Epoch, hist[best].TrainLoss)
	}
	if math.IsNaN(last.TrainLoss) {
		fmt.Fprintf(w, "  final train accuracy: - (every step of the last epoch was skipped)\n")
	} else {
		fmt.Fprintf(w, "  final train accuracy: %.2f%%, loss %.4f\n", 100*last.TrainAcc, last.TrainLoss)
	}
	if skipped > 0 {
		fmt.Fprintf(w, "  skipped steps (non-finite): %d\n", skipped)
	}
	fmt.Fprintf(w, "  outputs: %s\n", dir)
}
