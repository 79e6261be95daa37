package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The files of a run directory, as gotrain train writes them (cmd/gotrain/run.go), and the
// diagnostics file the per-layer diagnostics add.
const (
	optionsFile     = "options.json"
	stepsFile       = "steps.jsonl"
	epochsFile      = "epochs.jsonl"
	chartFile       = "chart.png"
	diagnosticsFile = "diagnostics.jsonl"
)

// maxOptions bounds options.json (a few hundred bytes in practice).
const maxOptions = 1 << 20

// runKind is a run directory: options.json or steps.jsonl or epochs.jsonl.
type runKind struct{}

func (runKind) Name() string    { return "run" }
func (runKind) Container() bool { return false }

func (runKind) Detect(e map[string]fs.DirEntry) bool {
	return e[stepsFile] != nil || e[epochsFile] != nil || (e[optionsFile] != nil && e["checkpoint.ckpt"] != nil)
}

// Summary reads options.json, the last line of steps.jsonl and epochs.jsonl (small: one line
// per epoch). It never reads steps.jsonl whole, so listing 200 long runs stays cheap.
func (runKind) Summary(s *Server, it *Item) Summary {
	var sum Summary
	var notes []string
	var err error
	if sum.Options, err = readOptions(it); err != nil {
		notes = append(notes, err.Error())
	}
	if last, err := lastLine(it.root, it.file(stepsFile)); err == nil && last != nil {
		parseFlat(last, func(k []byte, v float64) {
			if string(k) == "step" && finite(float32(v)) {
				sum.Steps = int(v)
			}
		})
	}
	err = s.store.table(it.root, it.file(epochsFile), false, func(t *table) error {
		sum.Epochs = t.rows
		if t.rows == 0 {
			return nil
		}
		sum.Metrics = map[string]float64{}
		for _, k := range t.order {
			c := t.col(k)
			if v := c[len(c)-1]; finite(v) && k != "epoch" {
				sum.Metrics["final_"+k] = float64(v)
			}
		}
		if c := t.col("eval_acc"); c != nil {
			best := math.Inf(-1)
			for _, v := range c {
				if finite(v) && float64(v) > best {
					best = float64(v)
				}
			}
			if !math.IsInf(best, -1) {
				sum.Metrics["best_eval_acc"] = best
			}
		}
		if t.bad > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d malformed lines skipped", epochsFile, t.bad))
		}
		return nil
	})
	if err != nil {
		notes = append(notes, err.Error())
	}
	sum.Note = strings.Join(notes, "; ")
	chart, steps := it.stats[chartFile], it.stats[stepsFile]
	planned := defaultEpochs
	if n, err := strconv.Atoi(sum.Options["epochs"]); err == nil {
		planned = n
	}
	switch {
	case steps == nil && sum.Epochs == 0:
		sum.base = "empty"
	case sum.Epochs >= planned:
		sum.base = "done"
	case chart != nil && (steps == nil || !chart.ModTime().Before(steps.ModTime())):
		sum.base = "done" // train writes the chart after the last epoch
	default:
		sum.base = "stopped"
	}
	return sum
}

// defaultEpochs is train's -epochs default: options.json records only options that differ from
// their defaults, so a run without "epochs" there was planned for this many.
const defaultEpochs = 3

// readOptions reads options.json: flag names and values as strings (how train records them).
func readOptions(it *Item) (map[string]string, error) {
	if it.stats[optionsFile] == nil {
		return nil, nil
	}
	b, err := it.root.ReadFile(it.file(optionsFile), maxOptions)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", it.file(optionsFile), err)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			out[k] = v
		default:
			j, _ := json.Marshal(v)
			out[k] = string(j)
		}
	}
	return out, nil
}

// lastLine returns the last complete line of a file, reading only its tail.
func lastLine(root *readRoot, name string) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := info.Size()
	for tail := int64(4096); ; tail *= 4 {
		off := max(0, size-tail)
		buf := make([]byte, size-off)
		if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
			return nil, err
		}
		end := bytes.LastIndexByte(buf, '\n')
		if end < 0 {
			if off == 0 || tail > maxLine {
				return nil, nil
			}
			continue
		}
		start := bytes.LastIndexByte(buf[:end], '\n')
		if start >= 0 || off == 0 {
			return buf[start+1 : end], nil
		}
		if tail > maxLine {
			return nil, nil
		}
	}
}

// detailQuery is what /api/detail was asked for.
type detailQuery struct {
	points  int      // chart width: downsample to about this many buckets
	smooth  float64  // EMA weight in [0, 1)
	metrics []string // steps.jsonl columns to send; empty: loss, acc, lr, grad_norm
	diag    string   // diagnostics metric (the last part of a column name) to send per layer
}

// runDetail is a run as the page draws it.
type runDetail struct {
	ID       string            `json:"id"`
	Kind     string            `json:"kind"`
	Name     string            `json:"name"`
	Status   string            `json:"status"`
	Parent   string            `json:"parent,omitempty"`
	Options  map[string]string `json:"options"`
	Files    []string          `json:"files"`
	Steps    curveSet          `json:"steps"`
	Epochs   curveSet          `json:"epochs"`
	Diag     *curveSet         `json:"diagnostics,omitempty"`
	DiagKeys []string          `json:"diagnostics_metrics,omitempty"`
	Notes    []string          `json:"notes,omitempty"`
}

// curveSet is the curves of one file against its x column.
type curveSet struct {
	Rows    int               `json:"rows"`
	X       string            `json:"x"`
	Columns []string          `json:"columns"`
	Series  map[string]series `json:"series"`
	Resets  int               `json:"resets,omitempty"`
}

var defaultStepMetrics = []string{"loss", "acc", "lr", "grad_norm"}

// defaultDiag is the diagnostics metric shown first (app.js picks the same).
const defaultDiag = "grad_norm"

func (runKind) Detail(s *Server, it *Item, q detailQuery) (any, error) {
	d := &runDetail{ID: it.ID, Kind: it.Kind, Name: it.Name, Status: it.Status, Parent: it.Parent, Files: it.Files}
	var err error
	if d.Options, err = readOptions(it); err != nil {
		d.Notes = append(d.Notes, err.Error())
	}
	if d.Options == nil {
		d.Options = map[string]string{}
	}
	metrics := q.metrics
	if len(metrics) == 0 {
		metrics = defaultStepMetrics
	}
	curves := func(name, x string, want func(col string) bool, w float64) (curveSet, error) {
		cs := curveSet{X: x, Series: map[string]series{}, Columns: []string{}}
		err := s.store.table(it.root, it.file(name), false, func(t *table) error {
			cs.Rows, cs.Resets = t.rows, t.resets
			xs := xColumn(t, x)
			for _, k := range t.order {
				cs.Columns = append(cs.Columns, k)
				if k != x && want(k) {
					cs.Series[k] = pick(xs, t.col(k), q.points, w)
				}
			}
			if t.bad > 0 {
				d.Notes = append(d.Notes, fmt.Sprintf("%s: %d malformed lines skipped", name, t.bad))
			}
			return nil
		})
		return cs, err
	}
	in := func(list []string) func(string) bool {
		return func(c string) bool {
			for _, l := range list {
				if l == c {
					return true
				}
			}
			return false
		}
	}
	if d.Steps, err = curves(stepsFile, "step", in(metrics), q.smooth); err != nil {
		d.Notes = append(d.Notes, err.Error())
	}
	// Epoch curves are short: every column, unsmoothed.
	if d.Epochs, err = curves(epochsFile, "epoch", func(string) bool { return true }, 0); err != nil {
		d.Notes = append(d.Notes, err.Error())
	}
	if it.stats[diagnosticsFile] != nil {
		if d.Diag, d.DiagKeys, err = diagnostics(s, it, q); err != nil {
			d.Notes = append(d.Notes, err.Error())
		}
	}
	return d, nil
}

// xColumn is a table's x column, or the row numbers when it has none.
func xColumn(t *table, x string) []float32 {
	if xs := t.col(x); xs != nil {
		return xs
	}
	xs := make([]float32, t.rows)
	for i := range xs {
		xs[i] = float32(i + 1)
	}
	return xs
}

// diagnostics reads the per-layer curves of one metric (the last part of a column name:
// "layers.w1.grad_norm" is w1's grad_norm) and lists the metrics recorded, so the page can
// offer them. With no metric asked for, grad_norm is sent (the trainer's main per-layer
// curve), or the first one when there is none.
func diagnostics(s *Server, it *Item, q detailQuery) (*curveSet, []string, error) {
	dc := &curveSet{X: "step", Series: map[string]series{}, Columns: []string{}}
	var keys []string
	err := s.store.table(it.root, it.file(diagnosticsFile), true, func(t *table) error {
		dc.Rows, dc.Resets = t.rows, t.resets
		seen := map[string]bool{}
		for _, c := range t.order {
			m := c[strings.LastIndexByte(c, '.')+1:]
			if c != "step" && c != "epoch" && c != "batch" && !seen[m] { // batch: the rows a record was taken on
				seen[m] = true
				keys = append(keys, m)
			}
		}
		sort.Strings(keys)
		metric := q.diag
		if metric == "" && len(keys) > 0 {
			metric = keys[0]
			if slices.Contains(keys, defaultDiag) {
				metric = defaultDiag
			}
		}
		xs := xColumn(t, "step")
		for _, k := range t.order {
			dc.Columns = append(dc.Columns, k)
			if k != "step" && (k == metric || strings.HasSuffix(k, "."+metric)) {
				dc.Series[k] = pick(xs, t.col(k), q.points, q.smooth)
			}
		}
		return nil
	})
	return dc, keys, err
}

// parseQuery reads the chart parameters of /api/detail, with bounds.
func parseQuery(get func(string) string, list func(string) []string) (detailQuery, error) {
	q := detailQuery{points: 800}
	if v := get("points"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return q, fmt.Errorf("points=%q: want a whole number from 1 to 10000", v)
		}
		q.points = n
	}
	if v := get("smooth"); v != "" {
		w, err := strconv.ParseFloat(v, 64)
		if err != nil || !(w >= 0 && w < 1) {
			return q, fmt.Errorf("smooth=%q: want a number in [0, 1)", v)
		}
		q.smooth = w
	}
	for _, m := range list("m") {
		for _, p := range strings.Split(m, ",") {
			if p = strings.TrimSpace(p); p != "" {
				q.metrics = append(q.metrics, p)
			}
		}
	}
	q.diag = get("diag")
	return q, nil
}
