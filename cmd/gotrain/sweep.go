package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
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
	started                         bool
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

// splitList splits a list option. Items are trimmed; an empty item ("0.1,,0.2") or one given
// twice is an error, not skipped: either would make the grid something other than what was typed.
func splitList(flagName, s, sep string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for i, p := range strings.Split(s, sep) {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, fmt.Errorf("%s %q: item %d is empty", flagName, s, i+1)
		}
		if seen[p] {
			return nil, fmt.Errorf("%s %q: %q is listed twice", flagName, s, p)
		}
		seen[p] = true
		out = append(out, p)
	}
	return out, nil
}

// sweepFlags are sweep's own options.
type sweepFlags struct {
	out       string
	overwrite bool
	parallel  int
	target    float64
	charts    chartFormat
}

const sweepIntro = `Usage: gotrain sweep [flags]

Trains every combination of -lr, -optimizer, -activation and -schedule (lists), prints them
ranked by best validation/test accuracy, and writes sweep.csv, curves.csv and charts overlaying
every run. Example: gotrain sweep -lr 1e-3,1e-2,1e-1 -optimizer sgd,adam -epochs 3
Ctrl-C (SIGINT) or SIGTERM stops the runs and writes the results so far.
`

// sweepFiles are the files a sweep writes (and -overwrite replaces).
var sweepFiles = append([]string{"sweep.csv", "curves.csv"}, chartFiles("loss.png", "accuracy.png", "lr.png")...)

func newSweepCommand() (*command, *options, *sweepFlags) {
	c := newCommand("sweep", sweepIntro)
	var o options
	var f sweepFlags
	o.register(c, "sweep")
	c.strOrEmpty(&f.out, "out", "", "directory for sweep.csv, curves.csv and the charts (default: a new sweeps/YYYYMMDD-HHMMSS[-N])")
	c.bool(&f.overwrite, "overwrite", false, "replace the sweep already in -out")
	c.int(&f.parallel, "parallel", 0, "runs trained at once (0: one per core on the CPU, 1 on a GPU)")
	c.float(&f.target, "target", 0.97, "accuracy whose first epoch is reported as 'epochs to target'")
	f.charts.register(c)
	return c, &o, &f
}

func sweepCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, o, f := newSweepCommand()
	if err := c.parse(args, stderr); err != nil {
		return err
	}
	if err := f.charts.check(); err != nil {
		return err
	}
	lrs, err := splitList("-lr", o.lrList, ",")
	if err != nil {
		return err
	}
	opts, err := splitList("-optimizer", o.optList, ",")
	if err != nil {
		return err
	}
	acts, err := splitList("-activation", o.actList, ",")
	if err != nil {
		return err
	}
	scheds, err := splitList("-schedule", o.schedule, "|")
	if err != nil {
		return err
	}
	if !c.given("lr") && len(lrs) > 1 {
		onecycle := true
		for _, sc := range scheds {
			onecycle = onecycle && scheduleName(sc) == "onecycle"
		}
		if onecycle {
			return usagef("-schedule %s sets the rate from its max_lr, so the default -lr list %s would train %d identical runs; give one -lr", o.schedule, o.lrList, len(lrs))
		}
	}
	if f.parallel < 0 {
		return fmt.Errorf("-parallel %d: want >= 0 (0: one per core on the CPU)", f.parallel)
	}
	if !(f.target > 0 && f.target <= 1) {
		return fmt.Errorf("-target %v: want an accuracy in (0, 1], as in 0.97", f.target)
	}
	var runs []*sweepRun
	var plans []*plannedRun
	for _, lrS := range lrs {
		lr, err := parseFloat(lrS)
		if err != nil {
			return fmt.Errorf("-lr: %q %v", lrS, err)
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
					r := &sweepRun{lr: lr, optimizer: op, activation: act, schedule: sc, name: strings.Join(parts, " ")}
					runs = append(runs, r)
					ro := *o
					ro.lr, ro.optimizer, ro.activation, ro.schedule = lr, op, act, sc
					plans = append(plans, &plannedRun{name: r.name, o: ro})
				}
			}
		}
	}
	dir := &outDir{flag: "-out", path: f.out, parent: "sweeps", what: "sweep", ours: sweepFiles, overwrite: f.overwrite}
	if err := dir.check(); err != nil {
		return err
	}
	p, err := prepare(ctx, plans)
	if err != nil {
		return err
	}
	ds := p.data
	par := f.parallel
	if par == 0 {
		par = 1
		if o.device == "cpu" {
			par = runtime.NumCPU()
		}
	}
	par = min(par, len(runs))
	workers := o.workers
	if workers == 0 && o.device == "cpu" {
		workers = max(1, runtime.NumCPU()/par)
	}
	lock, err := dir.take()
	if err != nil {
		return err
	}
	defer lock.release()
	for _, n := range p.notes {
		fmt.Fprintln(stdout, n)
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
				if ctx.Err() != nil {
					continue // stopped: the runs not started stay so
				}
				r := runs[i]
				t0 := time.Now()
				r.started = true
				r.hist, r.err = trainOne(ctx, plans[i], ds, workers)
				r.wall = time.Since(t0)
				mu.Lock()
				done++
				status := "ok"
				if r.err != nil {
					status = "failed: " + r.err.Error()
					if errors.Is(r.err, train.ErrInterrupted) {
						status = "interrupted"
					}
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
		la, lb := ranked[a].final().TrainLoss, ranked[b].final().TrainLoss
		if math.IsNaN(la) != math.IsNaN(lb) {
			return !math.IsNaN(la)
		}
		return la < lb
	})
	printSweepTable(stdout, ranked, ds.evalName, f.target)
	if err := writeSweepFiles(dir.path, runs, ranked, ds.evalName, f.target, &f.charts); err != nil {
		return fmt.Errorf("writing the sweep's files to %s: %w", dir.path, err)
	}
	failed, stopped, notStarted := 0, 0, 0
	for _, r := range runs {
		switch {
		case !r.started:
			notStarted++
		case errors.Is(r.err, train.ErrInterrupted):
			stopped++
		case r.err != nil:
			failed++
		}
	}
	if ctx.Err() != nil {
		return interruptedf("interrupted: %d of %d runs finished, %d stopped part way, %d not started; the results so far are in %s (sweep.csv, curves.csv, charts)",
			len(runs)-stopped-notStarted-failed, len(runs), stopped, notStarted, dir.path)
	}
	charts := f.charts.file("loss.png") + ", " + f.charts.file("accuracy.png")
	if len(lrs) > 1 && ds.evalName != "" {
		charts += ", " + f.charts.file("lr.png")
	}
	fmt.Fprintf(stdout, "\n%d runs in %.1fs; outputs: %s (sweep.csv, curves.csv, %s)\n", len(runs), time.Since(start).Seconds(), dir.path, charts)
	if failed == len(runs) {
		return fmt.Errorf("every run failed (the table and %s say why)", filepath.Join(dir.path, "sweep.csv"))
	}
	return nil
}

// trainOne trains one combination on its own device.
func trainOne(ctx context.Context, r *plannedRun, ds *dataset, workers int) ([]train.EpochMetrics, error) {
	applied, steps := 0, 0
	dev, tr, err := r.trainer(workers, train.Config{ShouldStop: stopper(ctx), OnStep: func(m train.StepMetrics) error {
		steps++
		if !m.Skipped {
			applied++
		}
		return nil
	}})
	if err != nil {
		return nil, err
	}
	defer dev.Close()
	defer tr.Close()
	hist, err := tr.Fit(ds.train, ds.eval)
	if err == nil && steps > 0 && applied == 0 {
		err = fmt.Errorf("no update was applied: all %d steps were skipped (non-finite)", steps)
	}
	return hist, err
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
		switch {
		case !r.started:
			note = "  (not started)"
		case r.err != nil:
			note = "  (" + oneLine(r.err.Error()) + ")"
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

func writeSweepFiles(dir string, runs, ranked []*sweepRun, evalName string, target float64, charts *chartFormat) error {
	rows := [][]string{{"rank", "optimizer", "lr", "activation", "schedule", "best_eval_acc", "best_epoch", "final_train_loss",
		"final_eval_loss", "final_eval_acc", "epochs_to_target", "wall_seconds", "error"}}
	for i, r := range ranked {
		best, at := r.bestEval()
		fin := r.final()
		errS := ""
		if r.err != nil {
			errS = r.err.Error()
		}
		rows = append(rows, []string{strconv.Itoa(i + 1), r.optimizer, strconv.FormatFloat(r.lr, 'g', -1, 64), r.activation, r.schedule,
			csvG(best, 6), strconv.Itoa(at), csvG(fin.TrainLoss, 6), csvG(fin.TestLoss, 6), csvG(fin.TestAcc, 6),
			strconv.Itoa(r.epochsTo(target)), csvFixed(r.wall.Seconds(), 2), errS})
	}
	if err := writeCSV(filepath.Join(dir, "sweep.csv"), rows); err != nil {
		return err
	}
	rows = [][]string{{"run", "epoch", "train_loss", "train_acc", "eval_loss", "eval_acc", "lr"}}
	for _, r := range runs {
		for _, m := range r.hist {
			rows = append(rows, []string{r.name, strconv.Itoa(m.Epoch), csvG(m.TrainLoss, 6), csvG(m.TrainAcc, 6), csvG(m.TestLoss, 6),
				csvG(m.TestAcc, 6), csvG(m.LastLR, -1)})
		}
	}
	if err := writeCSV(filepath.Join(dir, "curves.csv"), rows); err != nil {
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
	if err := plot.Save(filepath.Join(dir, charts.file("loss.png")), loss); err != nil {
		return err
	}
	if evalName == "" {
		return nil
	}
	if err := plot.Save(filepath.Join(dir, charts.file("accuracy.png")), acc); err != nil {
		return err
	}
	if lrc := lrSensitivity(runs, evalName); lrc != nil {
		return plot.Save(filepath.Join(dir, charts.file("lr.png")), lrc)
	}
	return nil
}

// lrSensitivity charts each configuration's best evaluation accuracy against the learning rate,
// one line per combination of the other options: how sensitive each optimizer is to the rate.
// It is nil when the sweep tries fewer than two rates.
func lrSensitivity(runs []*sweepRun, evalName string) *plot.Chart {
	type line struct{ x, y []float64 }
	lines := map[string]*line{}
	var order []string
	rates := map[float64]bool{}
	for _, r := range runs {
		best, _ := r.bestEval()
		if math.IsNaN(best) {
			continue
		}
		// The run's name without its rate is what the line stands for.
		var parts []string
		for _, p := range strings.Fields(r.name) {
			if !strings.HasPrefix(p, "lr=") {
				parts = append(parts, p)
			}
		}
		key := strings.Join(parts, " ")
		if key == "" {
			key = r.optimizer
		}
		l, ok := lines[key]
		if !ok {
			l = &line{}
			lines[key], order = l, append(order, key)
		}
		l.x, l.y = append(l.x, r.lr), append(l.y, 100*best)
		rates[r.lr] = true
	}
	if len(rates) < 2 {
		return nil
	}
	c := &plot.Chart{Title: "best " + evalName + " accuracy against the learning rate", XLabel: "learning rate", YLabel: "best accuracy %", LogX: true}
	for _, k := range order {
		l := lines[k]
		sort.Sort(byX{l.x, l.y})
		c.Series = append(c.Series, plot.Series{Name: k, X: l.x, Y: l.y})
	}
	return c
}

// byX sorts parallel x and y by x.
type byX struct{ x, y []float64 }

func (b byX) Len() int           { return len(b.x) }
func (b byX) Less(i, j int) bool { return b.x[i] < b.x[j] }
func (b byX) Swap(i, j int) {
	b.x[i], b.x[j] = b.x[j], b.x[i]
	b.y[i], b.y[j] = b.y[j], b.y[i]
}
