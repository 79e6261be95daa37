package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/optim/tune"
)

// notSearchable are train options a study cannot search: where the data comes from and how it
// is split define the objective; -epochs is the trials' length and -seed every trial's training
// seed; -device and -workers only say where trials run.
var notSearchable = map[string]string{
	"config": "", "data": "the data", "csv": "the data", "label": "the data", "val-split": "the validation split",
	"epochs": "the trials' length (-epochs)", "seed": "every trial's training seed (-seed; the study's is -study-seed)",
	"device": "where trials run", "workers": "where trials run",
}

// newTrialCommand is a fresh set of train's run options (no output flags), for one trial.
func newTrialCommand() (*command, *options) {
	c := newCommand("train", "")
	o := &options{}
	o.register(c, "train")
	return c, o
}

// trainOptionNames are the options of a trial.
func trainOptionNames() map[string]bool {
	c, _ := newTrialCommand()
	names := map[string]bool{}
	for n := range c.vals {
		names[n] = true
	}
	return names
}

// checkSearchable says whether each searched parameter names a train option that takes its
// values: a whole-number option needs int or logint, and every choice must parse.
func checkSearchable(sp *tune.Space) error {
	names := trainOptionNames()
	for i := range sp.Params {
		p := &sp.Params[i]
		if why, ok := notSearchable[p.Name]; ok {
			if why == "" {
				why = "not an option of a trial"
			}
			return usagef("-param %s: %s cannot be searched (%s)", p.Name, p.Name, why)
		}
		if !names[p.Name] {
			return usagef("-param %s: train has no option -%s (see gotrain train -h)", p.Name, p.Name)
		}
		var vals []string
		switch p.Kind {
		case tune.Choice:
			vals = p.Choices
		case tune.Int:
			vals = []string{p.Format(tune.Value{Num: p.Low}), p.Format(tune.Value{Num: p.High})}
		default:
			vals = []string{p.Format(tune.Value{Num: p.Low}), p.Format(tune.Value{Num: p.High}),
				p.Format(tune.Value{Num: p.Low + 0.37*(p.High-p.Low)})}
		}
		for _, v := range vals {
			c, _ := newTrialCommand()
			if err := c.fs.Set(p.Name, v); err != nil {
				if p.Kind == tune.Float {
					return usagef("-param %s: -%s takes %q: %v (a whole-number option needs int: or logint:)", p.Name, p.Name, v, err)
				}
				return usagef("-param %s: -%s does not take %q: %v", p.Name, p.Name, v, err)
			}
		}
	}
	return nil
}

// tuneFlags are tune's own options.
type tuneFlags struct {
	params                       []string
	space, study, dir, storage   string
	sampler, pruner              string
	trials, generation, parallel int
	studySeed                    uint64
	async, report, charts        bool
	metric, objective, progress  string
	lease                        float64
	top                          int
}

const tuneIntro = `Usage: gotrain tune -param NAME=DIST... [flags]

Searches the options of train: each trial trains with the sampled values and reports its
validation accuracy after every epoch; poor trials are pruned early. Studies live in SQLite (or
PostgreSQL) and resume when rerun; several processes may work on one study. The other options
of train set what every trial shares.
Example: gotrain tune -param lr=loguniform:1e-4:1 -param optimizer=choice:sgd,momentum,adam,rmsprop -val-split 0.2 -trials 30
`

func newTuneCommand() (*command, *options, *tuneFlags) {
	c := newCommand("tune", tuneIntro)
	var o options
	var t tuneFlags
	o.register(c, "train")
	c.strList(&t.params, "param", "a searched option, repeatable: "+tune.Grammar)
	c.strOrEmpty(&t.space, "space", "", "JSON file of searched options ({\"params\": [...]}, each a -param string or an object); adds to -param")
	c.str(&t.study, "study", "default", "the study's name: rerunning the same command resumes it")
	c.strOrEmpty(&t.dir, "dir", "", "the study's folder: trial run directories, trials.csv, charts, and the SQLite file unless -storage says otherwise (default studies/STUDY, where gotrain serve looks)")
	c.strOrEmpty(&t.storage, "storage", "", "where the study lives: an SQLite file, or a PostgreSQL connection string (postgres://user@host/db) for workers on several machines (default DIR/study.db)")
	c.str(&t.sampler, "sampler", "tpe", "tpe[:startup=10,candidates=24,prior=1,univariate], random, or grid[:points=5,ordered]")
	c.str(&t.pruner, "pruner", "asha", "asha[:min=1,eta=3,rate=0], hyperband[:min=1,eta=3], median[:startup=5,warmup=0,interval=1] or none")
	c.int(&t.trials, "trials", 20, "trials in the study (with -sampler grid, default and 0: the whole grid); may be raised when resuming")
	c.uint(&t.studySeed, "study-seed", 0, "the study's seed, for the sampler and Hyperband's brackets (0: -seed); -seed stays every trial's training seed")
	c.int(&t.generation, "generation", 4, "TPE in synchronous mode: trials sampled from the same history (how many can run at once)")
	c.bool(&t.async, "async", false, "asynchronous mode: no waiting for earlier trials (faster with many workers; not reproducible)")
	c.int(&t.parallel, "parallel", 1, "trials run at once by this process (more processes, or machines with -storage postgres://..., may join)")
	c.str(&t.metric, "metric", "acc", "what trials are judged by, after each epoch on the validation (or test) set: acc (higher is better) or loss")
	c.str(&t.objective, "objective", "last", "a trial's value: its last epoch's metric, or its best epoch's")
	c.float(&t.lease, "lease", 30, "seconds a claimed trial's lease lasts: a trial whose worker stopped renewing it for this long is taken over")
	c.bool(&t.report, "report", false, "report on the existing study (table, trials.csv, charts) without running trials")
	c.int(&t.top, "top", 10, "rows of the ranked table (0: all)")
	c.bool(&t.charts, "charts", true, "write history.png, intermediate.png, parallel.png and importance.png into DIR")
	c.str(&t.progress, "progress", "auto", "progress: auto (a live status line on a terminal, lines otherwise), lines or none")
	return c, &o, &t
}

func tuneCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, o, t := newTuneCommand()
	if err := c.parse(args, stderr); err != nil {
		return err
	}
	dir := t.dir
	if dir == "" {
		dir = filepath.Join("studies", t.study)
	}
	dsn := t.storage
	if dsn == "" {
		dsn = filepath.Join(dir, "study.db")
	}
	switch {
	case t.top < 0:
		return usagef("-top %d: want >= 0", t.top)
	case t.progress != "auto" && t.progress != "lines" && t.progress != "none":
		return usagef("-progress %q: want auto, lines or none", t.progress)
	}
	if t.report {
		return tuneReport(ctx, stdout, dsn, t.study, dir, t.top, t.charts)
	}
	switch {
	case t.metric != "acc" && t.metric != "loss":
		return usagef("-metric %q: want acc or loss", t.metric)
	case t.objective != "last" && t.objective != "best":
		return usagef("-objective %q: want last or best", t.objective)
	case t.parallel < 1:
		return usagef("-parallel %d: want at least 1", t.parallel)
	case t.trials < 0:
		return usagef("-trials %d: want >= 0", t.trials)
	case t.generation < 1:
		return usagef("-generation %d: want at least 1", t.generation)
	case !(t.lease >= 0.3):
		return usagef("-lease %v: want at least 0.3 seconds", t.lease)
	}
	lease := time.Duration(t.lease * float64(time.Second))
	var ps []tune.Param
	if t.space != "" {
		fromFile, err := tune.LoadSpaceFile(t.space)
		if err != nil {
			return fmt.Errorf("-space: %w", err)
		}
		ps = append(ps, fromFile...)
	}
	for _, s := range t.params {
		p, err := tune.ParseParam(s)
		if err != nil {
			return usagef("-param: %v", err)
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return usagef("give the options to search with -param NAME=DIST (e.g. -param lr=loguniform:1e-4:1) or -space FILE")
	}
	sp, err := tune.NewSpace(ps...)
	if err != nil {
		return usagef("-param: %v", err)
	}
	if err := checkSearchable(sp); err != nil {
		return err
	}
	// The options every trial shares: those given, less the searched ones and the study's own.
	names := trainOptionNames()
	fixed := map[string]string{}
	for name := range c.explicit {
		if !names[name] || name == "config" || name == "workers" || name == "epochs" {
			continue
		}
		if sp.Param(name) != nil {
			return usagef("-%s is both searched (-param) and set: drop one", name)
		}
		fixed[name] = c.vals[name].String()
	}
	if _, err := o.validate(0); err != nil {
		return err
	}
	seed := t.studySeed
	if seed == 0 {
		seed = o.seed
	}
	sampler, err := tune.ParseSampler(t.sampler, seed, t.generation)
	if err != nil {
		return usagef("-sampler: %v", err)
	}
	pruner, err := tune.ParsePruner(t.pruner, o.epochs)
	if err != nil {
		return usagef("-pruner: %v", err)
	}
	ds, err := loadData(o)
	if err != nil {
		return err
	}
	if ds.eval == nil {
		return usagef("tune judges trials on a validation set: give -val-split (CSV data has no test set)")
	}
	if _, isGrid := sampler.(tune.Grid); isGrid && !c.given("trials") {
		t.trials = 0 // the whole grid
	}
	cfg := &tune.Config{Space: sp, Sampler: sampler, Pruner: pruner, Seed: seed, MaxEpochs: o.epochs,
		Metric: ds.evalName + " accuracy", Maximize: true, Best: t.objective == "best", Async: t.async, Fixed: fixed, Trials: t.trials}
	if t.metric == "loss" {
		cfg.Metric, cfg.Maximize = ds.evalName+" loss", false
	}
	if !tune.IsPostgres(dsn) {
		if err := os.MkdirAll(filepath.Dir(dsn), 0o755); err != nil {
			return fmt.Errorf("-storage: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "trials"), 0o755); err != nil {
		return fmt.Errorf("-dir: %w", err)
	}
	store, err := tune.OpenStore(ctx, dsn)
	if err != nil {
		return fmt.Errorf("-storage: %w", err)
	}
	defer store.Close()
	st, err := tune.OpenStudy(ctx, store, t.study, cfg)
	if err != nil {
		return err
	}
	workers := o.workers
	if workers == 0 && o.device == "cpu" {
		workers = max(1, runtime.NumCPU()/t.parallel)
	}
	pr := &tunePrinter{w: stdout, st: st, quiet: t.progress == "none", live: t.progress == "auto" && isTerminal(stdout)}
	if !pr.quiet {
		fmt.Fprintf(stdout, "study %q in %s: %d trials of %s, %d epochs each, on %s (%d %s)\n", st.Name, store, cfg.Trials,
			strings.Join(sp.Strings(), " "), cfg.MaxEpochs, ds.source, evalN(ds), ds.evalName)
		mode := "synchronous: reproducible whatever the workers"
		if cfg.Async {
			mode = "asynchronous"
		}
		fmt.Fprintf(stdout, "sampler %s, pruner %s, %s; %d worker(s) here, %d goroutines each; trial folders in %s\n",
			sampler, pruner, mode, t.parallel, workers, filepath.Join(dir, "trials"))
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, t.parallel)
	for i := 0; i < t.parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &tune.Worker{Study: st, ID: tune.NewWorkerID(i), Lease: lease, OnEvent: pr.event,
				Objective: &trialRunner{base: dir, fixed: fixed, opts: o, ds: ds, workers: workers, cfg: cfg}}
			errs[i] = w.Run(ctx)
		}()
	}
	wg.Wait()
	pr.done()
	if ctx.Err() != nil {
		return interruptedf("tune: interrupted; the trials in progress were parked at their checkpoints: rerun the same command to resume the study")
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if !pr.quiet {
		fmt.Fprintf(stdout, "\nstudy done in %.1fs here\n", time.Since(start).Seconds())
	}
	return writeTuneReport(ctx, stdout, st, dir, t.top, t.charts, pr.quiet)
}

// trialRunner trains one trial: train's options with the trial's values, a checkpoint after
// every epoch in the trial's run directory (which train -resume and eval accept), and the
// validation metric reported to the study.
type trialRunner struct {
	base    string
	fixed   map[string]string
	opts    *options
	ds      *dataset
	workers int
	cfg     *tune.Config
}

func trialDir(base string, k int) string {
	return filepath.Join(base, "trials", fmt.Sprintf("%04d", k))
}

func (r *trialRunner) metric(m train.EpochMetrics) float64 {
	if r.cfg.Maximize {
		return m.TestAcc
	}
	return m.TestLoss
}

func (r *trialRunner) Run(ctx context.Context, t *tune.Trial) error {
	c, o := newTrialCommand()
	set := func(name, value string) error {
		if err := c.fs.Set(name, value); err != nil {
			return fmt.Errorf("-%s %s: %w", name, value, err)
		}
		c.explicit[name] = "the study"
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(r.fixed)) {
		if err := set(k, r.fixed[k]); err != nil {
			return err
		}
	}
	if err := set("epochs", strconv.Itoa(r.opts.epochs)); err != nil {
		return err
	}
	for i := range r.cfg.Space.Params {
		p := &r.cfg.Space.Params[i]
		if v, ok := t.Params[p.Name]; ok {
			if err := set(p.Name, p.Format(v)); err != nil {
				return err
			}
		}
	}
	// The checks prepare makes, against the data loaded once for the whole study.
	pre, err := o.validate(0)
	if err != nil {
		return err
	}
	if _, err := checkApplies(o.explicit, []*runFacts{&pre.facts}); err != nil {
		return err
	}
	steps := (r.ds.train.N + o.batch - 1) / o.batch
	s, err := o.validate(steps)
	if err != nil {
		return err
	}
	if err := checkFits(s, r.ds); err != nil {
		return err
	}
	dir := trialDir(r.base, t.Index)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeOptions(dir, c); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "trial.json"), map[string]any{"trial": t.Index, "params": t.Params}); err != nil {
		return err
	}
	ckpt := filepath.Join(dir, checkpointFile)
	var tr *train.Trainer
	var hist []train.EpochMetrics
	save := func() error {
		snap, err := tr.Snapshot()
		if err != nil {
			return err
		}
		snap.Data = r.ds.info
		return train.SaveCheckpoint(ckpt, snap)
	}
	run := &plannedRun{o: *o, s: s}
	dev, tr, err := run.trainer(r.workers, train.Config{
		ShouldStop: stopper(ctx),
		OnEpoch: func(m train.EpochMetrics) error {
			// The checkpoint first: a report promises the epoch can be resumed.
			if err := save(); err != nil {
				return err
			}
			hist = append(hist, m)
			if err := writeTrialEpochs(dir, hist); err != nil {
				return err
			}
			return t.Report(ctx, m.Epoch, r.metric(m))
		},
	})
	if err != nil {
		return err
	}
	defer dev.Close()
	defer tr.Close()
	if state, err := loadCheckpointFile("-dir", ckpt); err == nil {
		if err := tr.Restore(state); err != nil {
			return fmt.Errorf("resuming trial %d from %s: %w", t.Index, ckpt, err)
		}
		hist = append(hist, state.History...)
		if n := len(state.History); n > 0 {
			if err := t.Report(ctx, state.History[n-1].Epoch, r.metric(state.History[n-1])); err != nil {
				return err
			}
		}
		if tr.Epoch() >= o.epochs && !state.MidEpoch {
			return nil
		}
	} else if _, serr := os.Stat(ckpt); serr == nil {
		// A torn or foreign checkpoint: train this trial again from the start (it is
		// deterministic, so the study does not change).
		os.Remove(ckpt)
	}
	_, err = tr.Fit(r.ds.train, r.ds.eval)
	// Interrupted: keep the position for the rerun, unless the lease went to another worker,
	// whose checkpoints this one must not overwrite.
	if errors.Is(err, train.ErrInterrupted) && !errors.Is(context.Cause(ctx), tune.ErrLeaseLost) {
		if serr := save(); serr != nil {
			return fmt.Errorf("%w; saving the checkpoint also failed: %w", err, serr)
		}
	}
	if errors.Is(err, train.ErrNonFinite) {
		// Diverged: a poor configuration, which the sampler should learn from.
		return t.Stop(ctx, "diverged: "+err.Error())
	}
	return err
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeTrialEpochs rewrites the trial's epochs.csv and epochs.jsonl from its history (rewriting, not appending,
// so a trial taken over after a kill never lists an epoch twice).
func writeTrialEpochs(dir string, hist []train.EpochMetrics) error {
	var b strings.Builder
	b.WriteString("epoch,train_loss,train_acc,eval_loss,eval_acc,lr,seconds\n")
	for _, m := range hist {
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%g,%.3f\n", m.Epoch, csvG(m.TrainLoss, 6), csvG(m.TrainAcc, 6), csvG(m.TestLoss, 6), csvG(m.TestAcc, 6), m.LastLR, m.Duration.Seconds())
	}
	var j strings.Builder
	for _, m := range hist {
		line, _ := json.Marshal(map[string]any{"epoch": m.Epoch, "train_loss": num(m.TrainLoss), "train_acc": num(m.TrainAcc),
			"eval_loss": num(m.TestLoss), "eval_acc": num(m.TestAcc), "lr": m.LastLR, "seconds": m.Duration.Seconds(),
			"samples_per_sec": m.SamplesPerSec})
		j.Write(append(line, '\n'))
	}
	for name, body := range map[string]string{epochsCSV: b.String(), epochsJSONL: j.String()} {
		tmp := filepath.Join(dir, "."+name+".tmp")
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// tunePrinter shows the study's progress: a line per finished, pruned, failed or taken-over
// trial, each with the study's tally (on a terminal, the tally also stays on a live status line).
type tunePrinter struct {
	mu          sync.Mutex
	w           io.Writer
	st          *tune.Study
	quiet, live bool
	lastStatus  time.Time
	lineLen     int
}

func (p *tunePrinter) status() string {
	trials, err := p.st.Trials(context.Background())
	if err != nil {
		return "[" + err.Error() + "]"
	}
	c := tune.Count(p.st.Cfg, trials)
	best := "-"
	if c.Best != nil {
		best = fmtMetric(p.st.Cfg, c.Best.Value) + " (trial " + strconv.Itoa(c.Best.Index) + ")"
	}
	return fmt.Sprintf("[%d/%d done: %d complete, %d pruned, %d failed; %d running; best %s; %d epochs]",
		c.Complete+c.Pruned+c.Failed, p.st.Cfg.Trials, c.Complete, c.Pruned, c.Failed, c.Running, best, c.Epochs)
}

func fmtMetric(cfg *tune.Config, v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	if cfg.Maximize && strings.HasSuffix(cfg.Metric, "accuracy") {
		return fmt.Sprintf("%.2f%%", 100*v)
	}
	return strconv.FormatFloat(v, 'g', 5, 64)
}

func (p *tunePrinter) event(e tune.Event) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var msg string
	switch e.Kind {
	case "complete":
		msg = fmt.Sprintf("trial %d complete: %s  %s", e.Trial, fmtMetric(p.st.Cfg, e.Value), p.st.Cfg.Space.Describe(e.Params))
	case "prune":
		msg = fmt.Sprintf("trial %d pruned after epoch %d: %s", e.Trial, e.Epoch, e.Reason)
	case "fail":
		msg = fmt.Sprintf("trial %d failed: %v", e.Trial, e.Err)
	case "resume":
		msg = fmt.Sprintf("trial %d resumed by %s from epoch %d", e.Trial, e.Worker, e.Epoch)
	case "lost":
		msg = fmt.Sprintf("trial %d: %v", e.Trial, e.Err)
	case "report", "claim", "park":
		if !p.live || time.Since(p.lastStatus) < 250*time.Millisecond {
			return
		}
	}
	st := p.status()
	p.lastStatus = time.Now()
	if p.live {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.lineLen)+"\r")
		if msg != "" {
			fmt.Fprintln(p.w, msg)
		}
		fmt.Fprint(p.w, st)
		p.lineLen = len(st)
		return
	}
	fmt.Fprintf(p.w, "%s %s\n", st, msg)
}

func (p *tunePrinter) done() {
	if p.live && p.lineLen > 0 {
		fmt.Fprintln(p.w)
	}
}

// tuneReport reports on an existing study without running anything.
func tuneReport(ctx context.Context, stdout io.Writer, dsn, name, dir string, top int, charts bool) error {
	if !tune.IsPostgres(dsn) {
		if _, err := os.Stat(strings.TrimPrefix(dsn, "sqlite:")); err != nil {
			return usagef("-report: no study file: %v", err)
		}
	}
	store, err := tune.OpenStore(ctx, dsn)
	if err != nil {
		return fmt.Errorf("-storage: %w", err)
	}
	defer store.Close()
	st, err := tune.LoadStudy(ctx, store, name)
	if err != nil {
		if names, lerr := store.Studies(ctx); lerr == nil && len(names) > 0 {
			return fmt.Errorf("-report: %w (studies there: %s)", err, strings.Join(names, ", "))
		}
		return fmt.Errorf("-report: %w", err)
	}
	fmt.Fprintf(stdout, "study %q in %s: %s; %d epochs per trial; sampler %s, pruner %s\n", st.Name, store,
		strings.Join(st.Cfg.Space.Strings(), " "), st.Cfg.MaxEpochs, st.Cfg.Sampler, st.Cfg.Pruner)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-dir: %w", err)
	}
	return writeTuneReport(ctx, stdout, st, dir, top, charts, false)
}

// writeTuneReport prints the ranked table and the best trial, and writes trials.csv and the charts.
func writeTuneReport(ctx context.Context, stdout io.Writer, st *tune.Study, dir string, top int, charts, quiet bool) error {
	trials, err := st.Trials(ctx)
	if err != nil {
		return err
	}
	c := tune.Count(st.Cfg, trials)
	if !quiet {
		fmt.Fprintf(stdout, "%d trials: %d complete, %d pruned, %d failed, %d running, %d parked; %d epochs in all (a full run of each would be %d); value: %s\n\n",
			c.Trials, c.Complete, c.Pruned, c.Failed, c.Running, c.Parked, c.Epochs, c.Trials*st.Cfg.MaxEpochs, st.Cfg.Metric)
		if err := tune.WriteTable(stdout, st.Cfg, trials, top); err != nil {
			return err
		}
	}
	f, err := os.Create(filepath.Join(dir, "trials.csv"))
	if err != nil {
		return err
	}
	rel := func(k int) string { return filepath.ToSlash(filepath.Join("trials", fmt.Sprintf("%04d", k))) }
	if err := tune.WriteCSV(f, st.Cfg, trials, rel); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// study.json and importance.csv tell gotrain serve the direction, the per-epoch metric in
	// the trials' epochs.jsonl, and the study's own importance estimate.
	meta := map[string]any{"direction": "minimize", "metric": "eval_loss", "value": st.Cfg.Metric, "epochs": st.Cfg.MaxEpochs}
	if st.Cfg.Maximize {
		meta["direction"], meta["metric"] = "maximize", "eval_acc"
	}
	var impRows strings.Builder
	if imp, err := tune.Importance(st.Cfg.Space, trials, st.Cfg.Seed); err == nil {
		m := map[string]float64{}
		impRows.WriteString("param,importance\n")
		for _, p := range imp {
			m[p.Name] = p.Importance
			fmt.Fprintf(&impRows, "%s,%g\n", p.Name, p.Importance)
		}
		meta["importance"] = m
		if err := os.WriteFile(filepath.Join(dir, "importance.csv"), []byte(impRows.String()), 0o644); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dir, "study.json"), meta); err != nil {
		return err
	}
	var written []string
	if charts && len(trials) > 0 {
		if written, err = writeTuneCharts(dir, st.Cfg, trials); err != nil {
			return fmt.Errorf("writing the charts: %w", err)
		}
	}
	if quiet {
		return nil
	}
	if b := c.Best; b != nil {
		td := trialDir(dir, b.Index)
		fmt.Fprintf(stdout, "\nbest: trial %d, %s %s: %s\n  run directory %s\n  gotrain eval -checkpoint %s\n  gotrain train -resume %s -epochs %d   (to train it further)\n",
			b.Index, st.Cfg.Metric, fmtMetric(st.Cfg, b.Value), st.Cfg.Space.Describe(b.Params), td, td, td, 2*st.Cfg.MaxEpochs)
	}
	files := append([]string{"trials.csv", "study.json"}, written...)
	fmt.Fprintf(stdout, "outputs: %s (%s)\n", dir, strings.Join(files, ", "))
	return nil
}
