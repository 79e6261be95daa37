package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/cmd/gotrain/internal/plot"
)

// sweepRun is one combination of the grid and what it gave.
type sweepRun struct {
	name                            string
	lr                              float64
	optimizer, activation, schedule string
	hist                            []train.EpochMetrics
	err                             error
	wall                            time.Duration
}

func (r *sweepRun) bestEval() (float64, int) {
	best, at := math.NaN(), 0
	for _, m := range r.hist {
		if !math.IsNaN(m.TestAcc) && (math.IsNaN(best) || m.TestAcc > best) {
			best, at = m.TestAcc, m.Epoch
		}
	}
	return best, at
}

func (r *sweepRun) epochsTo(target float64) int {
	for _, m := range r.hist {
		if m.TestAcc >= target {
			return m.Epoch
		}
	}
	return 0
}

func (r *sweepRun) final() train.EpochMetrics {
	if len(r.hist) == 0 {
		return train.EpochMetrics{TrainLoss: math.NaN(), TestLoss: math.NaN(), TestAcc: math.NaN()}
	}
	return r.hist[len(r.hist)-1]
}

func splitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func sweepCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.registerFor(fs, true)
	out := fs.String("out", "", "directory for sweep.csv, curves.csv and the charts (default sweeps/YYYYMMDD-HHMMSS)")
	chartFmt := chartFormatFlag(fs)
	parallel := fs.Int("parallel", 0, "runs trained at once (0: one per core on the CPU, 1 on a GPU)")
	target := fs.Float64("target", 0.97, "accuracy whose first epoch is reported as 'epochs to target'")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gotrain sweep [flags]\n\nTrains every combination of -lr, -optimizer, -activation and -schedule (lists), prints them\nranked by best %s accuracy, and writes sweep.csv, curves.csv and charts overlaying every run.\nExample: gotrain sweep -lr 1e-3,1e-2,1e-1 -optimizer sgd,adam -epochs 3\n\nFlags:\n", "validation/test")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, &o.config); err != nil {
		return err
	}
	var runs []*sweepRun
	lrs := splitList(o.lrList, ",")
	if len(lrs) == 0 {
		return errors.New("-lr: give at least one learning rate")
	}
	opts, acts, scheds := splitList(o.optList, ","), splitList(o.actList, ","), splitList(o.schedule, "|")
	if len(opts) == 0 || len(acts) == 0 || len(scheds) == 0 {
		return errors.New("-optimizer, -activation and -schedule each need at least one value")
	}
	for _, lrS := range lrs {
		lr, err := strconv.ParseFloat(lrS, 64)
		if err != nil {
			return fmt.Errorf("-lr: %q is not a number", lrS)
		}
		for _, op := range opts {
			for _, act := range acts {
				for _, sc := range scheds {
					// Name a run by what varies across the sweep, so chart legends stay short.
					var parts []string
					if len(opts) > 1 || len(lrs)*len(acts)*len(scheds) == 1 {
						parts = append(parts, op)
					}
					if len(lrs) > 1 {
						parts = append(parts, "lr="+lrS)
					}
					if len(acts) > 1 {
						parts = append(parts, act)
					}
					if len(scheds) > 1 {
						parts = append(parts, sc)
					}
					runs = append(runs, &sweepRun{lr: lr, optimizer: op, activation: act, schedule: sc, name: strings.Join(parts, " ")})
				}
			}
		}
	}
	if *parallel < 0 {
		return fmt.Errorf("-parallel %d: want >= 0", *parallel)
	}
	if !(*target > 0 && *target <= 1) {
		return fmt.Errorf("-target %v: want an accuracy in (0, 1]", *target)
	}
	// Validate every combination before training any.
	setups := make([]*setup, len(runs))
	runOpts := make([]options, len(runs))
	for i, r := range runs {
		ro := o
		ro.lr, ro.optimizer, ro.activation, ro.schedule = r.lr, r.optimizer, r.activation, r.schedule
		if _, err := ro.validate(0); err != nil {
			return fmt.Errorf("run %q: %w", r.name, err)
		}
		runOpts[i] = ro
	}
	ds, err := loadData(&o)
	if err != nil {
		return err
	}
	steps := (ds.train.N + o.batch - 1) / o.batch
	for i := range runs {
		if setups[i], err = runOpts[i].validate(steps); err != nil {
			return fmt.Errorf("run %q: %w", runs[i].name, err)
		}
		if err := checkFits(setups[i], ds); err != nil {
			return err
		}
	}
	par := *parallel
	if par == 0 {
		par = 1
		if o.device == "cpu" {
			par = min(len(runs), runtime.NumCPU())
		}
	}
	workers := o.workers
	if workers == 0 && o.device == "cpu" {
		workers = max(1, runtime.NumCPU()/par)
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("sweeps", time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	fmt.Fprintf(stdout, "sweep: %d runs (%d at once, %d goroutines each) of %s on %s, %d epochs each\n",
		len(runs), par, workers, o.model, ds.source, o.epochs)

	start := time.Now()
	var mu sync.Mutex
	done := 0
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r := runs[i]
				t0 := time.Now()
				r.hist, r.err = trainOne(ctx, &runOpts[i], setups[i], ds, workers)
				r.wall = time.Since(t0)
				mu.Lock()
				done++
				status := "ok"
				if r.err != nil {
					status = "failed: " + r.err.Error()
				} else if best, at := r.bestEval(); !math.IsNaN(best) {
					status = fmt.Sprintf("best %s acc %.2f%% (epoch %d)", ds.evalName, 100*best, at)
				}
				fmt.Fprintf(stdout, "[%d/%d] %-40s %5.1fs  %s\n", done, len(runs), r.name, r.wall.Seconds(), status)
				mu.Unlock()
			}
		}()
	}
	for i := range runs {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()

	ranked := append([]*sweepRun(nil), runs...)
	sort.SliceStable(ranked, func(a, b int) bool {
		ba, _ := ranked[a].bestEval()
		bb, _ := ranked[b].bestEval()
		if math.IsNaN(ba) != math.IsNaN(bb) {
			return !math.IsNaN(ba)
		}
		if ba != bb {
			return ba > bb
		}
		return ranked[a].final().TrainLoss < ranked[b].final().TrainLoss
	})
	printSweepTable(stdout, ranked, ds.evalName, *target)
	if err := writeSweepFiles(dir, runs, ranked, ds.evalName, *target, *chartFmt); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d runs in %.1fs; outputs: %s (sweep.csv, curves.csv, loss%s, accuracy%[4]s)\n", len(runs), time.Since(start).Seconds(), dir, chartFmt.Ext())
	if ctx.Err() != nil {
		return fmt.Errorf("sweep stopped before every run finished: %w", train.ErrInterrupted)
	}
	return nil
}

// trainOne trains one combination on its own device.
func trainOne(ctx context.Context, o *options, s *setup, ds *dataset, workers int) ([]train.EpochMetrics, error) {
	dev, err := openDevice(o.device, workers)
	if err != nil {
		return nil, err
	}
	defer dev.Close()
	tr, err := newTrainer(o, s, dev, train.Config{ShouldStop: stopper(ctx)})
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	return tr.Fit(ds.train, ds.eval)
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100*v)
}

func printSweepTable(w io.Writer, ranked []*sweepRun, evalName string, target float64) {
	if evalName == "" {
		evalName = "eval"
	}
	fmt.Fprintf(w, "\n%-4s %-10s %-8s %-10s %-22s %14s %11s %11s %9s %8s\n", "rank", "optimizer", "lr", "activation", "schedule",
		"best "+evalName[:min(4, len(evalName))]+" acc", "final loss", fmt.Sprintf("to %.0f%%", 100*target), "epoch", "wall")
	for i, r := range ranked {
		best, at := r.bestEval()
		to := "-"
		if e := r.epochsTo(target); e > 0 {
			to = strconv.Itoa(e)
		}
		note := ""
		if r.err != nil {
			note = "  (" + r.err.Error() + ")"
		}
		fmt.Fprintf(w, "%-4d %-10s %-8g %-10s %-22s %14s %11.4f %11s %9d %7.1fs%s\n", i+1, r.optimizer, r.lr, r.activation,
			clip(r.schedule, 22), pct(best), r.final().TrainLoss, to, at, r.wall.Seconds(), note)
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func writeSweepFiles(dir string, runs, ranked []*sweepRun, evalName string, target float64, chartFmt plot.Format) error {
	f, err := os.Create(filepath.Join(dir, "sweep.csv"))
	if err != nil {
		return err
	}
	fmt.Fprintln(f, "rank,optimizer,lr,activation,schedule,best_eval_acc,best_epoch,final_train_loss,final_eval_loss,final_eval_acc,epochs_to_target,wall_seconds,error")
	for i, r := range ranked {
		best, at := r.bestEval()
		fin := r.final()
		errS := ""
		if r.err != nil {
			errS = strings.ReplaceAll(r.err.Error(), "\"", "'")
		}
		fmt.Fprintf(f, "%d,%s,%g,%s,\"%s\",%s,%d,%s,%s,%s,%d,%.2f,\"%s\"\n", i+1, r.optimizer, r.lr, r.activation, r.schedule,
			csvF(best), at, csvF(fin.TrainLoss), csvF(fin.TestLoss), csvF(fin.TestAcc), r.epochsTo(target), r.wall.Seconds(), errS)
	}
	if err := f.Close(); err != nil {
		return err
	}
	c, err := os.Create(filepath.Join(dir, "curves.csv"))
	if err != nil {
		return err
	}
	fmt.Fprintln(c, "run,epoch,train_loss,train_acc,eval_loss,eval_acc,lr")
	for _, r := range runs {
		for _, m := range r.hist {
			fmt.Fprintf(c, "\"%s\",%d,%s,%s,%s,%s,%g\n", r.name, m.Epoch, csvF(m.TrainLoss), csvF(m.TrainAcc), csvF(m.TestLoss), csvF(m.TestAcc), m.LastLR)
		}
	}
	if err := c.Close(); err != nil {
		return err
	}
	loss := &plot.Chart{Title: "training loss per epoch, one line per run", XLabel: "epoch", YLabel: "train loss", LogY: true, IntegerX: true}
	acc := &plot.Chart{Title: evalName + " accuracy per epoch, one line per run", XLabel: "epoch", YLabel: "accuracy %", IntegerX: true}
	for _, r := range runs {
		var ep, l, a []float64
		for _, m := range r.hist {
			ep, l, a = append(ep, float64(m.Epoch)), append(l, m.TrainLoss), append(a, 100*m.TestAcc)
		}
		if len(ep) == 0 {
			continue
		}
		loss.Series = append(loss.Series, plot.Series{Name: r.name, X: ep, Y: l})
		acc.Series = append(acc.Series, plot.Series{Name: r.name, X: ep, Y: a})
	}
	if len(loss.Series) == 0 {
		return nil
	}
	if err := plot.Save(filepath.Join(dir, "loss"+chartFmt.Ext()), loss); err != nil {
		return err
	}
	if evalName == "" {
		return nil
	}
	return plot.Save(filepath.Join(dir, "accuracy"+chartFmt.Ext()), acc)
}

func csvF(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
