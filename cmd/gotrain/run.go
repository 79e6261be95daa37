package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/cmd/gotrain/internal/plot"
	"github.com/gotrain/gotrain/optim"
)

// The files of a run directory.
const (
	optionsFile    = "options.json"
	checkpointFile = "checkpoint.ckpt"
	stepsFile      = "steps.jsonl"
	epochsJSONL    = "epochs.jsonl"
	epochsCSV      = "epochs.csv"
	chartFile      = "chart.png"
)

// openDevice opens the named device; a CPU device gets workers goroutines.
func openDevice(name string, workers int) (backend.Device, error) {
	if name == "cpu" {
		return cpu.New(workers)
	}
	d, err := backend.Open(name)
	if err != nil {
		return nil, fmt.Errorf("-device %s: %w", name, err)
	}
	return d, nil
}

// newTrainer builds the optimizer and trainer a setup describes.
func newTrainer(o *options, s *setup, dev backend.Device, hooks train.Config) (*train.Trainer, error) {
	var groups []optim.Group
	if o.noDecayBias {
		groups = optim.NoDecayGroups(s.optOpts, s.spec.ParamShapes())
	}
	opt, err := optim.New(s.optOpts, groups...)
	if err != nil {
		return nil, err
	}
	cfg := hooks
	cfg.Spec, cfg.Device, cfg.Optimizer = s.spec, dev, opt
	cfg.Epochs, cfg.BatchSize, cfg.EvalBatch, cfg.Seed, cfg.Init = o.epochs, o.batch, o.evalBatch, o.seed, s.init
	if cfg.Scheduler, err = optim.NewScheduler(opt.BaseRates(), s.schedule, s.interval, s.plateau); err != nil {
		return nil, err
	}
	cfg.ClipNorm, cfg.ClipValue, cfg.NonFinite = o.clipNorm, o.clipValue, s.policy
	return train.New(cfg)
}

// runDir manages a run's output files.
type runDir struct {
	dir    string
	steps  *bufio.Writer
	epochs *bufio.Writer
	csv    *bufio.Writer
	files  []*os.File
	// kept for the chart
	stepLoss, stepLR, stepX []float64
	hist                    []train.EpochMetrics
}

// openRunDir creates (or, resuming, appends to) the run directory's metric files.
func openRunDir(dir string, appendTo bool) (*runDir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("-run-dir: %w", err)
	}
	r := &runDir{dir: dir}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if appendTo {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	open := func(name string) (*bufio.Writer, bool, error) {
		path := filepath.Join(dir, name)
		_, statErr := os.Stat(path)
		f, err := os.OpenFile(path, flags, 0o644)
		if err != nil {
			return nil, false, err
		}
		r.files = append(r.files, f)
		return bufio.NewWriter(f), appendTo && statErr == nil, nil
	}
	var err error
	if r.steps, _, err = open(stepsFile); err != nil {
		return nil, err
	}
	if r.epochs, _, err = open(epochsJSONL); err != nil {
		return nil, err
	}
	var existed bool
	if r.csv, existed, err = open(epochsCSV); err != nil {
		return nil, err
	}
	if !existed {
		fmt.Fprintln(r.csv, "epoch,train_loss,train_acc,eval_loss,eval_acc,lr,seconds,samples_per_sec")
	}
	return r, nil
}

// num renders a float for JSON: non-finite values become null.
func num(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func (r *runDir) step(m train.StepMetrics) {
	line, _ := json.Marshal(map[string]any{"epoch": m.Epoch, "step": m.Step, "batch": m.Batch, "loss": num(m.Loss),
		"acc": float64(m.Correct) / float64(max(m.Batch, 1)), "lr": m.LR, "grad_norm": num(m.GradNorm), "skipped": m.Skipped})
	r.steps.Write(append(line, '\n'))
	if !m.Skipped {
		r.stepX = append(r.stepX, float64(m.Step))
		r.stepLoss = append(r.stepLoss, m.Loss)
		r.stepLR = append(r.stepLR, m.LR)
	}
}

func (r *runDir) epoch(m train.EpochMetrics) error {
	line, _ := json.Marshal(map[string]any{"epoch": m.Epoch, "train_loss": num(m.TrainLoss), "train_acc": num(m.TrainAcc),
		"eval_loss": num(m.TestLoss), "eval_acc": num(m.TestAcc), "lr": m.LastLR, "seconds": m.Duration.Seconds(),
		"samples_per_sec": m.SamplesPerSec})
	r.epochs.Write(append(line, '\n'))
	csvNum := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return fmt.Sprintf("%.6g", v)
	}
	fmt.Fprintf(r.csv, "%d,%s,%s,%s,%s,%g,%.3f,%.1f\n", m.Epoch, csvNum(m.TrainLoss), csvNum(m.TrainAcc), csvNum(m.TestLoss),
		csvNum(m.TestAcc), m.LastLR, m.Duration.Seconds(), m.SamplesPerSec)
	return r.flush()
}

func (r *runDir) flush() error {
	for _, w := range []*bufio.Writer{r.steps, r.epochs, r.csv} {
		if err := w.Flush(); err != nil {
			return fmt.Errorf("writing metrics to %s: %w", r.dir, err)
		}
	}
	return nil
}

func (r *runDir) close() error {
	err := r.flush()
	for _, f := range r.files {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// chart writes loss, accuracy and learning rate over the run as one PNG.
func (r *runDir) chart(hist []train.EpochMetrics, evalName string) error {
	var ep, trl, tra, evl, eva []float64
	for _, m := range hist {
		ep = append(ep, float64(m.Epoch))
		trl, tra = append(trl, m.TrainLoss), append(tra, 100*m.TrainAcc)
		evl, eva = append(evl, m.TestLoss), append(eva, 100*m.TestAcc)
	}
	loss := &plot.Chart{Title: "loss per step", XLabel: "step", YLabel: "loss", LogY: true, IntegerX: true,
		Series: []plot.Series{{Name: "train (batch)", X: r.stepX, Y: r.stepLoss}}}
	epochLoss := &plot.Chart{Title: "loss per epoch", XLabel: "epoch", YLabel: "loss", IntegerX: true,
		Series: []plot.Series{{Name: "train", X: ep, Y: trl}}}
	acc := &plot.Chart{Title: "accuracy per epoch", XLabel: "epoch", YLabel: "accuracy %", IntegerX: true,
		Series: []plot.Series{{Name: "train", X: ep, Y: tra}}}
	if evalName != "" {
		epochLoss.Series = append(epochLoss.Series, plot.Series{Name: evalName, X: ep, Y: evl, Dashed: true})
		acc.Series = append(acc.Series, plot.Series{Name: evalName, X: ep, Y: eva, Dashed: true})
	}
	lr := &plot.Chart{Title: "learning rate", XLabel: "step", YLabel: "lr", IntegerX: true, Series: []plot.Series{{Name: "lr", X: r.stepX, Y: r.stepLR}}}
	return plot.SaveGridPNG(filepath.Join(r.dir, chartFile), []*plot.Chart{loss, epochLoss, acc, lr}, 2)
}

// saveOptions records the options of a run that differ from the defaults, for -resume.
func saveOptions(dir string, fs *flag.FlagSet) error {
	vals := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Name {
		case "config", "resume", "run-dir":
			return
		}
		if v := f.Value.String(); v != f.DefValue {
			vals[f.Name] = v
		}
	})
	b, err := json.MarshalIndent(vals, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, optionsFile), append(b, '\n'), 0o644)
}

// progress shows training progress: a live bar on a terminal, one line per epoch otherwise.
type progress struct {
	w          io.Writer
	live       bool
	epochs     int
	steps      int // per epoch
	batch      int
	start      time.Time
	last       time.Time
	seen       int
	inEpoch    int
	loss, acc  float64
	lr         float64
	quiet      bool
	curEpoch   int
	mu         sync.Mutex
	lineLength int
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) step(m train.StepMetrics) {
	if p.quiet || !p.live {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inEpoch == 0 || m.Epoch != p.epochOf() {
		p.start, p.seen, p.inEpoch = time.Now(), 0, 0
	}
	p.inEpoch++
	p.seen += m.Batch
	const smooth = 0.9
	acc := float64(m.Correct) / float64(max(m.Batch, 1))
	if p.inEpoch == 1 {
		p.loss, p.acc = m.Loss, acc
	} else {
		p.loss, p.acc = smooth*p.loss+(1-smooth)*m.Loss, smooth*p.acc+(1-smooth)*acc
	}
	p.lr = m.LR
	p.curEpoch = m.Epoch
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && p.inEpoch < p.steps {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	rate := float64(p.seen) / math.Max(el, 1e-9)
	eta := time.Duration(float64(p.steps-p.inEpoch) * el / float64(p.inEpoch) * float64(time.Second)).Round(time.Second)
	const width = 24
	fill := min(width, width*p.inEpoch/max(p.steps, 1))
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	line := fmt.Sprintf("epoch %d/%d [%s] %d/%d  %.0f samples/s  loss %.4f  acc %.1f%%  lr %.3g  ETA %v",
		m.Epoch, p.epochs, bar, p.inEpoch, p.steps, rate, p.loss, 100*p.acc, p.lr, eta)
	pad := max(0, p.lineLength-len(line))
	p.lineLength = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
}

func (p *progress) epochOf() int { return p.curEpoch }

func (p *progress) epoch(m train.EpochMetrics, evalName string) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.lineLength)+"\r")
		p.lineLength = 0
	}
	p.inEpoch = 0
	eval := ""
	if evalName != "" {
		eval = fmt.Sprintf("  %s loss %.4f acc %.2f%%", evalName, m.TestLoss, 100*m.TestAcc)
	}
	fmt.Fprintf(p.w, "epoch %d/%d  train loss %.4f acc %.2f%%%s  lr %.3g  %.1fs  %.0f samples/s\n",
		m.Epoch, p.epochs, m.TrainLoss, 100*m.TrainAcc, eval, m.LastLR, m.Duration.Seconds(), m.SamplesPerSec)
}

// stepHook, when set (by tests), runs after every training step of train.
var stepHook func()

// stopper turns a context into train.Config.ShouldStop.
func stopper(ctx context.Context) func() bool {
	return func() bool { return ctx.Err() != nil }
}
