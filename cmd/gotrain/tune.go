package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
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

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// notSearchable are train options a study cannot search: where the data comes from and how it
// is split define the objective; -epochs is the trials' length and -seed the study's seed;
// -device and -workers only say where trials run.
var notSearchable = map[string]string{
	"config": "", "data": "the data", "csv": "the data", "label": "the data", "val-split": "the validation split",
	"epochs": "the trials' length (-epochs)", "seed": "every trial's training seed (-seed; the study's is -study-seed)", "device": "where trials run", "workers": "where trials run",
}

// trainOptionNames are the flags train, sweep and tune share.
func trainOptionNames() map[string]bool {
	var o options
	fs := flag.NewFlagSet("names", flag.ContinueOnError)
	o.register(fs)
	names := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { names[f.Name] = true })
	return names
}

// newTrainFlags is a fresh set of train's options, for one trial.
func newTrainFlags() (*flag.FlagSet, *options) {
	o := &options{}
	fs := flag.NewFlagSet("trial", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.register(fs)
	return fs, o
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
			return fmt.Errorf("-param %s: %s cannot be searched (%s)", p.Name, p.Name, why)
		}
		if !names[p.Name] {
			return fmt.Errorf("-param %s: train has no option -%s (see gotrain train -h)", p.Name, p.Name)
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
			fs, _ := newTrainFlags()
			if err := fs.Set(p.Name, v); err != nil {
				if p.Kind == tune.Float {
					return fmt.Errorf("-param %s: -%s takes %q: %v (a whole-number option needs int: or logint:)", p.Name, p.Name, v, err)
				}
				return fmt.Errorf("-param %s: -%s does not take %q: %v", p.Name, p.Name, v, err)
			}
		}
	}
	return nil
}

func tuneCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("tune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.register(fs)
	var params stringList
	fs.Var(&params, "param", "a searched option, repeatable: "+strings.ReplaceAll(tune.Grammar, "\n", "\n    "))
	spaceFile := fs.String("space", "", "JSON file of searched options ({\"params\": [...]}, each a -param string or an object); adds to -param")
	studyName := fs.String("study", "default", "the study's name: rerunning the same command resumes it")
	dirFlag := fs.String("dir", "", "the study's folder: trial run directories, trials.csv, charts, and the SQLite file unless -storage says otherwise (default studies/STUDY, where gotrain serve looks)")
	storage := fs.String("storage", "", "where the study lives: an SQLite file, or a PostgreSQL connection string (postgres://user@host/db) for workers on several machines (default DIR/study.db)")
	samplerSpec := fs.String("sampler", "tpe", "tpe[:startup=10,candidates=24,prior=1,univariate], random, or grid[:points=5,ordered]")
	prunerSpec := fs.String("pruner", "asha", "asha[:min=1,eta=3,rate=0], hyperband[:min=1,eta=3], median[:startup=5,warmup=0,interval=1] or none")
	trials := fs.Int("trials", 20, "trials in the study (with -sampler grid, default and 0: the whole grid); may be raised when resuming")
	studySeed := fs.Uint64("study-seed", 0, "the study's seed, for the sampler and Hyperband's brackets (0: -seed); -seed stays every trial's training seed")
	generation := fs.Int("generation", 4, "TPE in synchronous mode: trials sampled from the same history (how many can run at once)")
	async := fs.Bool("async", false, "asynchronous mode: no waiting for earlier trials (faster with many workers; not reproducible)")
	parallel := fs.Int("parallel", 1, "trials run at once by this process (more processes, or machines with -storage postgres://..., may join)")
	metric := fs.String("metric", "acc", "what trials are judged by, after each epoch on the validation (or test) set: acc (higher is better) or loss")
	objective := fs.String("objective", "last", "a trial's value: its last epoch's metric, or its best epoch's")
	lease := fs.Duration("lease", 30*time.Second, "a claimed trial's lease: a trial whose worker stopped renewing it for this long is taken over")
	report := fs.Bool("report", false, "report on the existing study (table, trials.csv, charts) without running trials")
	top := fs.Int("top", 10, "rows of the ranked table (0: all)")
	charts := fs.Bool("charts", true, "write history.png, intermediate.png, parallel.png and importance.png into DIR")
	progressMode := fs.String("progress", "auto", "progress: auto (a live status line on a terminal, lines otherwise), lines or none")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: gotrain tune -param NAME=DIST... [flags]

Searches the options of train: each trial trains with the sampled values and reports its
%s after every epoch; poor trials are pruned early. Studies live in SQLite (or PostgreSQL)
and resume when rerun; several processes may work on one study. The other flags of train set
what every trial shares.
Example: gotrain tune -param lr=loguniform:1e-4:1 -param optimizer=choice:sgd,momentum,adam,rmsprop -val-split 0.2 -trials 30

Flags:
`, "validation accuracy")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, &o.config); err != nil {
		return err
	}
	dir := *dirFlag
	if dir == "" {
		dir = filepath.Join("studies", *studyName)
	}
	dsn := *storage
	if dsn == "" {
		dsn = filepath.Join(dir, "study.db")
	}
	switch {
	case *top < 0:
		return fmt.Errorf("-top %d: want >= 0", *top)
	case *progressMode != "auto" && *progressMode != "lines" && *progressMode != "none":
		return fmt.Errorf("-progress %q: want auto, lines or none", *progressMode)
	}
	if *report {
		return tuneReport(ctx, stdout, dsn, *studyName, dir, *top, *charts)
	}
	switch {
	case *metric != "acc" && *metric != "loss":
		return fmt.Errorf("-metric %q: want acc or loss", *metric)
	case *objective != "last" && *objective != "best":
		return fmt.Errorf("-objective %q: want last or best", *objective)
	case *parallel < 1:
		return fmt.Errorf("-parallel %d: want at least 1", *parallel)
	case *trials < 0:
		return fmt.Errorf("-trials %d: want >= 0", *trials)
	case *generation < 1:
		return fmt.Errorf("-generation %d: want at least 1", *generation)
	case *lease < 300*time.Millisecond:
		return fmt.Errorf("-lease %v: want at least 300ms", *lease)
	}
	var ps []tune.Param
	if *spaceFile != "" {
		fromFile, err := tune.LoadSpaceFile(*spaceFile)
		if err != nil {
			return fmt.Errorf("-space: %w", err)
		}
		ps = append(ps, fromFile...)
	}
	for _, s := range params {
		p, err := tune.ParseParam(s)
		if err != nil {
			return fmt.Errorf("-param: %w", err)
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return errors.New("give the options to search with -param NAME=DIST (e.g. -param lr=loguniform:1e-4:1) or -space FILE")
	}
	sp, err := tune.NewSpace(ps...)
	if err != nil {
		return fmt.Errorf("-param: %w", err)
	}
	if err := checkSearchable(sp); err != nil {
		return err
	}
	// The options every trial shares: those given, less the searched ones and the study's own.
	names := trainOptionNames()
	fixed := map[string]string{}
	var clash []string
	fs.Visit(func(f *flag.Flag) {
		if !names[f.Name] || f.Name == "config" || f.Name == "workers" || f.Name == "epochs" {
			return
		}
		if sp.Param(f.Name) != nil {
			clash = append(clash, f.Name)
		}
		fixed[f.Name] = f.Value.String()
	})
	if len(clash) > 0 {
		return fmt.Errorf("-%s is both searched (-param) and set: drop one", clash[0])
	}
	if _, err := o.validate(0); err != nil {
		return err
	}
	seed := *studySeed
	if seed == 0 {
		seed = o.seed
	}
	sampler, err := tune.ParseSampler(*samplerSpec, seed, *generation)
	if err != nil {
		return fmt.Errorf("-sampler: %w", err)
	}
	pruner, err := tune.ParsePruner(*prunerSpec, o.epochs)
	if err != nil {
		return fmt.Errorf("-pruner: %w", err)
	}
	ds, err := loadData(&o)
	if err != nil {
		return err
	}
	if ds.eval == nil {
		return errors.New("tune judges trials on a validation set: give -val-split (CSV data has no test set)")
	}
	trialsGiven := false
	fs.Visit(func(f *flag.Flag) { trialsGiven = trialsGiven || f.Name == "trials" })
	if _, isGrid := sampler.(tune.Grid); isGrid && !trialsGiven {
		*trials = 0 // the whole grid
	}
	cfg := &tune.Config{Space: sp, Sampler: sampler, Pruner: pruner, Seed: seed, MaxEpochs: o.epochs,
		Metric: ds.evalName + " accuracy", Maximize: true, Best: *objective == "best", Async: *async, Fixed: fixed, Trials: *trials}
	if *metric == "loss" {
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
	st, err := tune.OpenStudy(ctx, store, *studyName, cfg)
	if err != nil {
		return err
	}
	workers := o.workers
	if workers == 0 && o.device == "cpu" {
		workers = max(1, runtime.NumCPU() / *parallel)
	}
	pr := &tunePrinter{w: stdout, st: st, quiet: *progressMode == "none", live: *progressMode == "auto" && isTerminal(stdout)}
	if !pr.quiet {
		fmt.Fprintf(stdout, "study %q in %s: %d trials of %s, %d epochs each, on %s (%d %s)\n", st.Name, store, cfg.Trials,
			strings.Join(sp.Strings(), " "), cfg.MaxEpochs, ds.source, evalN(ds), ds.evalName)
		mode := "synchronous: reproducible whatever the workers"
		if cfg.Async {
			mode = "asynchronous"
		}
		fmt.Fprintf(stdout, "sampler %s, pruner %s, %s; %d worker(s) here, %d goroutines each; trial folders in %s\n",
			sampler, pruner, mode, *parallel, workers, filepath.Join(dir, "trials"))
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, *parallel)
	for i := 0; i < *parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &tune.Worker{Study: st, ID: tune.NewWorkerID(i), Lease: *lease, OnEvent: pr.event,
				Objective: &trialRunner{base: dir, fixed: fixed, opts: &o, ds: ds, workers: workers, cfg: cfg}}
			errs[i] = w.Run(ctx)
		}()
	}
	wg.Wait()
	pr.done()
	if ctx.Err() != nil {
		fmt.Fprintf(stdout, "\ninterrupted; the trials in progress were parked at their checkpoints: rerun the same command to resume the study\n")
		return fmt.Errorf("tune: %w", train.ErrInterrupted)
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if !pr.quiet {
		fmt.Fprintf(stdout, "\nstudy done in %.1fs here\n", time.Since(start).Seconds())
	}
	return writeTuneReport(ctx, stdout, st, dir, *top, *charts, pr.quiet)
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
	fs, o := newTrainFlags()
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range r.fixed {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		if err := fs.Set(k, r.fixed[k]); err != nil {
			return fmt.Errorf("-%s: %w", k, err)
		}
	}
	fs.Set("epochs", strconv.Itoa(r.opts.epochs))
	fs.Set("seed", strconv.FormatUint(r.opts.seed, 10))
	for i := range r.cfg.Space.Params {
		p := &r.cfg.Space.Params[i]
		if v, ok := t.Params[p.Name]; ok {
			if err := fs.Set(p.Name, p.Format(v)); err != nil {
				return fmt.Errorf("-%s %s: %w", p.Name, p.Format(v), err)
			}
		}
	}
	o.data, o.csv, o.label, o.valSplit = r.opts.data, r.opts.csv, r.opts.label, r.opts.valSplit
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
	if err := saveOptions(dir, fs); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "trial.json"), map[string]any{"trial": t.Index, "params": t.Params}); err != nil {
		return err
	}
	dev, err := openDevice(o.device, r.workers)
	if err != nil {
		return err
	}
	defer dev.Close()
	ckpt := filepath.Join(dir, checkpointFile)
	var tr *train.Trainer
	var hist []train.EpochMetrics
	save := func() error {
		snap, err := tr.Snapshot()
		if err != nil {
			return err
		}
		return train.SaveCheckpoint(ckpt, snap)
	}
	tr, err = newTrainer(o, s, dev, train.Config{
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
	defer tr.Close()
	if state, err := train.LoadCheckpoint(ckpt); err == nil {
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
	} else if !errors.Is(err, os.ErrNotExist) {
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
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%g,%.3f\n", m.Epoch, csvF(m.TrainLoss), csvF(m.TrainAcc), csvF(m.TestLoss), csvF(m.TestAcc), m.LastLR, m.Duration.Seconds())
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
			return fmt.Errorf("-report: no study file: %w", err)
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
