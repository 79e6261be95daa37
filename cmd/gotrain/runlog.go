package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/cmd/gotrain/internal/plot"
)

// The files of a run directory.
const (
	optionsFile    = "options.json"
	checkpointFile = "checkpoint.ckpt"
	stepsFile      = "steps.jsonl"
	epochsJSONL    = "epochs.jsonl"
	epochsCSV      = "epochs.csv"
	chartFile      = "chart.png"
	diagFile       = "diagnostics.jsonl"
)

// runFiles are the files a training run writes (and -overwrite replaces).
var runFiles = append(append([]string{optionsFile, checkpointFile, stepsFile, epochsJSONL, epochsCSV, diagFile}, chartFiles(chartFile)...), chartFiles(diagCharts...)...)

var epochsHeader = []string{"epoch", "train_loss", "train_acc", "eval_loss", "eval_acc", "lr", "seconds", "samples_per_sec"}

// runLog writes a run's metric files: one JSON line per step, one JSON line and one CSV row per
// epoch.
type runLog struct {
	dir    string
	steps  *bufio.Writer
	epochs *bufio.Writer
	csvBuf *bufio.Writer
	csv    *csv.Writer
	diag   *bufio.Writer // nil unless the run takes diagnostics
	files  []*os.File
}

// openRunLog creates the metric files, or, resuming, appends to them (cutRunLog has cut them
// back to the checkpoint first). With diag, it also opens diagnostics.jsonl.
func openRunLog(dir string, resume, diag bool) (*runLog, error) {
	r := &runLog{dir: dir}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if resume {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	open := func(name string) (*bufio.Writer, bool, error) {
		f, err := os.OpenFile(filepath.Join(dir, name), flags, 0o644)
		if err != nil {
			return nil, false, err
		}
		r.files = append(r.files, f)
		st, err := f.Stat()
		return bufio.NewWriter(f), err == nil && st.Size() > 0, err
	}
	var err error
	if r.steps, _, err = open(stepsFile); err != nil {
		return nil, err
	}
	if r.epochs, _, err = open(epochsJSONL); err != nil {
		return nil, err
	}
	var hasHeader bool
	if r.csvBuf, hasHeader, err = open(epochsCSV); err != nil {
		return nil, err
	}
	r.csv = csv.NewWriter(r.csvBuf)
	if !hasHeader {
		_ = r.csv.Write(epochsHeader)
	}
	if diag {
		if r.diag, _, err = open(diagFile); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// diagnostics writes one step's per-layer diagnostics as a line of diagnostics.jsonl.
func (r *runLog) diagnostics(d train.Diagnostics) error {
	enc := json.NewEncoder(r.diag)
	enc.SetEscapeHTML(false) // the rules' < and > as they are
	return enc.Encode(d)
}

// num renders a float for JSON: non-finite values become null.
func num(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func (r *runLog) step(m train.StepMetrics) {
	acc := any(float64(m.Correct) / float64(max(m.Batch, 1)))
	if m.Skipped {
		acc = nil
	}
	line, _ := json.Marshal(map[string]any{"epoch": m.Epoch, "step": m.Step, "batch": m.Batch, "loss": num(m.Loss),
		"acc": acc, "lr": m.LR, "grad_norm": num(m.GradNorm), "skipped": m.Skipped})
	r.steps.Write(append(line, '\n'))
}

func (r *runLog) epoch(m train.EpochMetrics) error {
	line, _ := json.Marshal(map[string]any{"epoch": m.Epoch, "train_loss": num(m.TrainLoss), "train_acc": num(m.TrainAcc),
		"eval_loss": num(m.TestLoss), "eval_acc": num(m.TestAcc), "lr": m.LastLR, "seconds": m.Duration.Seconds(),
		"samples_per_sec": m.SamplesPerSec})
	r.epochs.Write(append(line, '\n'))
	_ = r.csv.Write([]string{strconv.Itoa(m.Epoch), csvG(m.TrainLoss, 6), csvG(m.TrainAcc, 6), csvG(m.TestLoss, 6),
		csvG(m.TestAcc, 6), csvG(m.LastLR, -1), csvFixed(m.Duration.Seconds(), 3), csvFixed(m.SamplesPerSec, 1)})
	return r.flush()
}

// csvG formats v with prec significant digits (-1: as many as needed); a non-finite value is an
// empty field.
func csvG(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', prec, 64)
}

func csvFixed(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func (r *runLog) flush() error {
	r.csv.Flush()
	if err := r.csv.Error(); err != nil {
		return fmt.Errorf("writing metrics to %s: %w", r.dir, err)
	}
	for _, w := range []*bufio.Writer{r.steps, r.epochs, r.csvBuf, r.diag} {
		if w == nil {
			continue
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("writing metrics to %s: %w", r.dir, err)
		}
	}
	return nil
}

func (r *runLog) close() error {
	err := r.flush()
	for _, f := range r.files {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// cutRunLog cuts a resumed run's metric files back to its checkpoint: steps (and their
// diagnostics) after step, epochs after epoch, and a torn last line (a process killed while writing it) are dropped, so every
// step and epoch appears once when the run continues. It returns what it dropped, for the
// message.
func cutRunLog(dir string, step, epoch int) (dropped []string, err error) {
	field := func(name string, limit int) func(line []byte, _ int) bool {
		return func(line []byte, _ int) bool {
			var m map[string]json.RawMessage
			if json.Unmarshal(line, &m) != nil {
				return false
			}
			n, err := strconv.Atoi(string(m[name]))
			return err == nil && n <= limit
		}
	}
	csvRow := func(line []byte, i int) bool {
		rec, err := csv.NewReader(bytes.NewReader(line)).Read()
		if err != nil || len(rec) != len(epochsHeader) {
			return false
		}
		if i == 0 {
			return rec[0] == epochsHeader[0]
		}
		n, err := strconv.Atoi(rec[0])
		return err == nil && n <= epoch
	}
	for _, f := range []struct {
		name string
		keep func([]byte, int) bool
	}{{stepsFile, field("step", step)}, {epochsJSONL, field("epoch", epoch)}, {epochsCSV, csvRow}, {diagFile, field("step", step)}} {
		n, err := cutLines(filepath.Join(dir, f.name), f.keep)
		if err != nil {
			return nil, fmt.Errorf("-resume: cutting %s back to the checkpoint: %w", f.name, err)
		}
		if n > 0 {
			dropped = append(dropped, fmt.Sprintf("%d line(s) of %s", n, f.name))
		}
	}
	return dropped, nil
}

// cutLines truncates path before its first line that keep refuses or that has no newline (a
// torn write), and returns how many lines it dropped. A missing file is left missing.
func cutLines(path string, keep func(line []byte, index int) bool) (int, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var off int64
	cut := int64(-1)
	dropped := 0
	for i := 0; ; i++ {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.EOF {
			return 0, err
		}
		complete := len(line) > 0 && line[len(line)-1] == '\n'
		if cut < 0 && (!complete || !keep(bytes.TrimRight(line, "\r\n"), i)) {
			cut = off
		}
		if cut >= 0 {
			dropped++
		}
		off += int64(len(line))
		if err == io.EOF {
			break
		}
	}
	if cut < 0 {
		return 0, nil
	}
	return dropped, f.Truncate(cut)
}

// stepSeries reads the applied steps' loss and rate back from steps.jsonl, so that the chart
// of a resumed run shows its whole history, not only the part since the resume.
func stepSeries(dir string) (x, loss, lr []float64, err error) {
	f, err := os.Open(filepath.Join(dir, stepsFile))
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m struct {
			Step    int      `json:"step"`
			Loss    *float64 `json:"loss"`
			LR      float64  `json:"lr"`
			Skipped bool     `json:"skipped"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil || m.Skipped || m.Loss == nil {
			continue
		}
		x, loss, lr = append(x, float64(m.Step)), append(loss, *m.Loss), append(lr, m.LR)
	}
	return x, loss, lr, sc.Err()
}

// chart writes loss, accuracy and learning rate over the whole run as one chart, named file.
func writeChart(dir, file string, hist []train.EpochMetrics, evalName string) error {
	stepX, stepLoss, stepLR, err := stepSeries(dir)
	if err != nil {
		return err
	}
	var ep, trl, tra, evl, eva []float64
	for _, m := range hist {
		ep = append(ep, float64(m.Epoch))
		trl, tra = append(trl, m.TrainLoss), append(tra, 100*m.TrainAcc)
		evl, eva = append(evl, m.TestLoss), append(eva, 100*m.TestAcc)
	}
	loss := &plot.Chart{Title: "loss per step", XLabel: "step", YLabel: "loss", LogY: true, IntegerX: true,
		Series: []plot.Series{{Name: "train (batch)", X: stepX, Y: stepLoss}}}
	epochLoss := &plot.Chart{Title: "loss per epoch", XLabel: "epoch", YLabel: "loss", IntegerX: true,
		Series: []plot.Series{{Name: "train", X: ep, Y: trl}}}
	acc := &plot.Chart{Title: "accuracy per epoch", XLabel: "epoch", YLabel: "accuracy %", IntegerX: true,
		Series: []plot.Series{{Name: "train", X: ep, Y: tra}}}
	if evalName != "" {
		epochLoss.Series = append(epochLoss.Series, plot.Series{Name: evalName, X: ep, Y: evl, Dashed: true})
		acc.Series = append(acc.Series, plot.Series{Name: evalName, X: ep, Y: eva, Dashed: true})
	}
	lr := &plot.Chart{Title: "learning rate", XLabel: "step", YLabel: "lr", IntegerX: true, Series: []plot.Series{{Name: "lr", X: stepX, Y: stepLR}}}
	return plot.SaveGrid(filepath.Join(dir, file), []*plot.Chart{loss, epochLoss, acc, lr}, 2)
}

// notRecorded are the options options.json leaves out: they say where the run is, not how it
// trains.
var notRecorded = map[string]bool{"config": true, "resume": true, "run-dir": true, "overwrite": true}

// writeOptions records, in dir/options.json, every option given on the command line or in a
// config file (typed, as a config file would give them), so that -resume trains with them.
func writeOptions(dir string, c *command) error {
	vals := map[string]any{}
	for name := range c.explicit {
		if !notRecorded[name] {
			vals[name] = c.vals[name].Get()
		}
	}
	b, err := json.MarshalIndent(vals, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, optionsFile), append(b, '\n'))
}

// writeFileAtomic writes a small file through a temporary file and a rename, so a crash leaves
// the old content or the new, never a torn file.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// writeCSV writes rows to path with encoding/csv.
func writeCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.WriteAll(rows)
	err = w.Error()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
