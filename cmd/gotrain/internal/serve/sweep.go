package serve

import (
	"io/fs"
	"math"
	"path"
	"strconv"
	"strings"
)

// sweepKind is a folder written by gotrain sweep: sweep.csv (the ranked table) and curves.csv
// (every run's per-epoch metrics), and, where sweep keeps them, one run directory per combination.
type sweepKind struct{}

func (sweepKind) Name() string    { return "sweep" }
func (sweepKind) Container() bool { return true }
func (sweepKind) Detect(e map[string]fs.DirEntry) bool {
	return e["sweep.csv"] != nil || e["curves.csv"] != nil
}

// sweepResults are the columns of sweep.csv that are results, not parameters; any other column
// (optimizer, lr, activation, schedule, or what a later sweep adds) is a parameter.
var sweepResults = map[string]string{
	"rank": "id", "best_eval_acc": "objective", "best_epoch": "metric", "final_train_loss": "metric",
	"final_eval_loss": "metric", "final_eval_acc": "metric", "epochs_to_target": "metric",
	"wall_seconds": "metric", "error": "reason", "run": "info", "run_dir": "info", "name": "info",
}

func sweepRole(c string) string {
	if r, ok := sweepResults[c]; ok {
		return r
	}
	return "param"
}

func (sweepKind) Summary(s *Server, it *Item) Summary {
	var sum Summary
	recs, err := s.store.csv(it.root, it.file("sweep.csv"))
	if err != nil {
		sum.Note = err.Error()
	}
	sum.base = "stopped"
	if len(recs) > 1 {
		sum.Rows = len(recs) - 1
		sum.base = "done" // sweep writes sweep.csv once every run has finished
		cols, rows := buildGrid(recs, sweepRole)
		if j := colIndex(cols, "best_eval_acc"); j >= 0 {
			best := math.Inf(-1)
			for _, r := range rows {
				if v, ok := r[j].(float64); ok && v > best {
					best = v
				}
			}
			if !math.IsInf(best, -1) {
				sum.Metrics = map[string]float64{"best_eval_acc": best}
			}
		}
	} else if it.stats["sweep.csv"] == nil {
		sum.Note = "sweep.csv not written yet"
	}
	return sum
}

func (sweepKind) Detail(s *Server, it *Item, q detailQuery) (any, error) {
	d := &gridDetail{ID: it.ID, Kind: it.Kind, Name: it.Name, Status: it.Status, Files: it.Files, Members: it.Members,
		Objective: "best_eval_acc", Direction: "max", CurveMetric: "eval_acc",
		ImportanceSource: "computed here from the table: the share of the objective's variance each parameter explains alone (η²), and with its interactions (total effect); see the README"}
	recs, err := s.store.csv(it.root, it.file("sweep.csv"))
	if err != nil {
		d.Notes = append(d.Notes, err.Error())
	}
	d.Columns, d.Rows = buildGrid(recs, sweepRole)
	d.RowItems = make([]string, len(d.Rows))
	d.Importance, d.NotEstimated = varianceImportance(d.Columns, d.Rows, colIndex(d.Columns, d.Objective))

	// Per-epoch values: curves.csv names each run by the parameters that vary ("adam lr=1e-3").
	curves, err := s.store.csv(it.root, it.file("curves.csv"))
	if err != nil {
		d.Notes = append(d.Notes, err.Error())
	}
	d.Curves = []gridCurve{}
	if len(curves) > 1 {
		h := curves[0]
		run, ep, val := indexOf(h, "run"), indexOf(h, "epoch"), indexOf(h, d.CurveMetric)
		if val < 0 {
			d.CurveMetric = "train_loss"
			val = indexOf(h, "train_loss")
		}
		byName := map[string]*gridCurve{}
		var order []string
		for _, r := range curves[1:] {
			if run < 0 || ep < 0 || val < 0 || max(run, ep, val) >= len(r) {
				continue
			}
			x, e1 := strconv.ParseFloat(r[ep], 64)
			y, e2 := strconv.ParseFloat(r[val], 64)
			if e1 != nil || e2 != nil {
				continue
			}
			c := byName[r[run]]
			if c == nil {
				c = &gridCurve{Name: r[run], Row: -1}
				byName[r[run]] = c
				order = append(order, r[run])
			}
			c.X, c.Y = append(c.X, x), append(c.Y, y)
		}
		for _, n := range order {
			c := byName[n]
			c.Row = matchRow(n, d.Columns, d.Rows)
			d.Curves = append(d.Curves, *c)
		}
	}
	// Member run directories (a sweep that keeps one per combination) are matched by their
	// options; their per-epoch values come from their own epochs.jsonl when curves.csv has none.
	for _, m := range it.Members {
		mi := s.lookup(m)
		if mi == nil || mi.Kind != "run" {
			continue
		}
		row := -1
		for i, r := range d.Rows {
			if optionsMatch(mi.Options, d.Columns, r) {
				row = i
				break
			}
		}
		if row >= 0 {
			d.RowItems[row] = m
		}
		if len(d.Curves) == 0 || row < 0 {
			if c, ok := epochCurve(s, mi, d.CurveMetric); ok {
				c.Row, c.Name = row, path.Base(mi.rel)
				d.Curves = append(d.Curves, c)
			}
		}
	}
	return d, nil
}

func indexOf(h []string, name string) int {
	for i, c := range h {
		if c == name {
			return i
		}
	}
	return -1
}

// matchRow finds the table row a curves.csv run name describes: each of its words is a
// parameter's value ("adam", "relu") or "lr=<rate>" with the rate compared as a number, since
// the name keeps the rate as typed (1e-3) and the table as printed (0.001).
func matchRow(name string, cols []gridColumn, rows [][]any) int {
	words := strings.Fields(name)
	found := -1
	for i, r := range rows {
		ok := true
		for _, w := range words {
			if !wordMatches(w, cols, r) {
				ok = false
				break
			}
		}
		if ok {
			if found >= 0 {
				return -1 // ambiguous: do not guess
			}
			found = i
		}
	}
	return found
}

func wordMatches(w string, cols []gridColumn, r []any) bool {
	if k, v, ok := strings.Cut(w, "="); ok {
		j := colIndex(cols, k)
		if j < 0 {
			return false
		}
		return cellEquals(r[j], v)
	}
	for j, c := range cols {
		if c.Role == "param" && cellEquals(r[j], w) {
			return true
		}
	}
	return false
}

func cellEquals(cell any, s string) bool {
	switch c := cell.(type) {
	case float64:
		v, err := strconv.ParseFloat(s, 64)
		return err == nil && (v == c || math.Abs(v-c) <= 1e-9*math.Abs(c))
	case string:
		return c == s
	}
	return false
}

// optionsMatch reports whether a run's options agree with every parameter cell of a row.
func optionsMatch(opts map[string]string, cols []gridColumn, r []any) bool {
	n := 0
	for j, c := range cols {
		if c.Role != "param" {
			continue
		}
		v, ok := opts[strings.TrimPrefix(c.Name, "params_")]
		if !ok || !cellEquals(r[j], v) {
			return false
		}
		n++
	}
	return n > 0
}
