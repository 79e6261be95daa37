package serve

import (
	"encoding/json"
	"io/fs"
	"math"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// studyKind is a folder of a hyperparameter study. Its format is a documented guess until the
// tune command lands (issue 16); adjust Detect and studyRole then:
//
//   - trials.csv: one row per trial with columns trial (its number), state (COMPLETE, PRUNED,
//     RUNNING, FAIL), value (the objective), one column per parameter (a "params_" prefix, as
//     Optuna writes, is dropped from the name), pruned_reason, and optionally run_dir (the
//     trial's run directory, relative to the study folder);
//   - one run directory per trial below the folder (trial-N, or as run_dir says), whose
//     epochs.jsonl gives the intermediate values;
//   - optionally study.json: {"direction": "maximize"|"minimize", "metric": "eval_acc",
//     "importance": {"lr": 0.7, ...}}, and importance.csv (param,importance): what the study
//     itself computed, shown instead of the variance-based estimate.
//
// A folder holding only a study database (study.db) is listed, with a note that its trials.csv
// is missing, since this package reads no database.
type studyKind struct{}

func (studyKind) Name() string    { return "study" }
func (studyKind) Container() bool { return true }
func (studyKind) Detect(e map[string]fs.DirEntry) bool {
	for _, n := range []string{"trials.csv", "study.db", "study.sqlite", "study.sqlite3"} {
		if e[n] != nil {
			return true
		}
	}
	return false
}

var studyColumns = map[string]string{
	"trial": "id", "number": "id", "state": "state", "value": "objective", "pruned_reason": "reason",
	"run_dir": "info", "datetime_start": "info", "datetime_complete": "info", "duration": "info",
	"duration_seconds": "metric", "seconds": "metric", "epochs": "metric", "best_epoch": "metric",
	// gotrain tune's trials.csv: the decision's details and bookkeeping, not parameters.
	"rank": "info", "bracket": "info", "prune_rule": "info", "prune_rung": "info", "prune_epoch": "info",
	"prune_value": "info", "prune_threshold": "info", "prune_peers": "info", "error": "info", "attempts": "info",
	"values": "info",
}

func studyRole(c string) string {
	if r, ok := studyColumns[c]; ok {
		return r
	}
	if strings.HasPrefix(c, "user_attrs_") || strings.HasPrefix(c, "system_attrs_") {
		return "info"
	}
	return "param"
}

// studyMeta is study.json.
type studyMeta struct {
	Direction  string             `json:"direction"`
	Metric     string             `json:"metric"`
	Importance map[string]float64 `json:"importance"`
}

func readStudyMeta(it *Item) (studyMeta, error) {
	var m studyMeta
	if it.stats["study.json"] == nil {
		return m, nil
	}
	b, err := it.root.ReadFile(it.file("study.json"), maxOptions)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, err
	}
	return m, nil
}

func (studyKind) Summary(s *Server, it *Item) Summary {
	var sum Summary
	sum.base = "stopped"
	if it.stats["trials.csv"] == nil {
		sum.Note = "trials.csv not found: this version reads a study from trials.csv only"
		return sum
	}
	recs, err := s.store.csv(it.root, it.file("trials.csv"))
	if err != nil {
		sum.Note = err.Error()
		return sum
	}
	meta, _ := readStudyMeta(it)
	cols, rows := buildGrid(recs, studyRole)
	sum.Rows = len(rows)
	sum.Metrics = map[string]float64{}
	st, obj := colIndex(cols, "state"), colIndex(cols, "value")
	running := 0
	best := math.NaN()
	for _, r := range rows {
		state := ""
		if st >= 0 {
			state, _ = r[st].(string)
		}
		state = strings.ToUpper(state)
		sum.Metrics[strings.ToLower(state)]++
		if state == "RUNNING" {
			running++
		}
		if obj >= 0 {
			if v, ok := r[obj].(float64); ok && state != "PRUNED" && state != "FAIL" {
				if math.IsNaN(best) || (meta.Direction == "minimize" && v < best) || (meta.Direction != "minimize" && v > best) {
					best = v
				}
			}
		}
	}
	delete(sum.Metrics, "")
	if !math.IsNaN(best) {
		sum.Metrics["best_value"] = best
	}
	if running == 0 && len(rows) > 0 {
		sum.base = "done"
	}
	return sum
}

var trialDir = regexp.MustCompile(`(?i)^(?:trial[-_]?)?0*([0-9]+)$`)

func (studyKind) Detail(s *Server, it *Item, q detailQuery) (any, error) {
	d := &gridDetail{ID: it.ID, Kind: it.Kind, Name: it.Name, Status: it.Status, Files: it.Files, Members: it.Members,
		Objective: "value", Direction: "max", CurveMetric: "eval_acc"}
	meta, err := readStudyMeta(it)
	if err != nil {
		d.Notes = append(d.Notes, "study.json: "+err.Error())
	}
	if meta.Direction == "minimize" {
		d.Direction = "min"
	}
	if meta.Metric != "" {
		d.CurveMetric = meta.Metric
	}
	recs, err := s.store.csv(it.root, it.file("trials.csv"))
	if err != nil {
		d.Notes = append(d.Notes, err.Error())
	}
	if len(recs) > 0 {
		for j, h := range recs[0] {
			recs[0][j] = strings.TrimPrefix(h, "params_")
		}
	}
	d.Columns, d.Rows = buildGrid(recs, studyRole)
	obj, st, why, num, dirCol := colIndex(d.Columns, "value"), colIndex(d.Columns, "state"), colIndex(d.Columns, "pruned_reason"),
		colIndex(d.Columns, "trial"), colIndex(d.Columns, "run_dir")
	if num < 0 {
		num = colIndex(d.Columns, "number")
	}
	// Rank: the best objective first; trials without a value (running, failed, pruned early) last.
	sort.SliceStable(d.Rows, func(a, b int) bool {
		va, oka := cellFloat(d.Rows[a], obj)
		vb, okb := cellFloat(d.Rows[b], obj)
		if oka != okb {
			return oka
		}
		if d.Direction == "min" {
			return va < vb
		}
		return va > vb
	})
	// Importance: what the study recorded, else the variance-based estimate over finished trials.
	d.Importance = []importance{}
	if recorded, err := s.store.csv(it.root, it.file("importance.csv")); err == nil && len(recorded) > 1 {
		for _, r := range recorded[1:] {
			if len(r) >= 2 {
				if v, err := strconv.ParseFloat(r[1], 64); err == nil {
					d.Importance = append(d.Importance, importance{Param: strings.TrimPrefix(r[0], "params_"), Value: v})
				}
			}
		}
		d.ImportanceSource = "recorded by the study (importance.csv)"
	} else if len(meta.Importance) > 0 {
		for k, v := range meta.Importance {
			d.Importance = append(d.Importance, importance{Param: strings.TrimPrefix(k, "params_"), Value: v})
		}
		d.ImportanceSource = "recorded by the study (study.json)"
	} else {
		var done [][]any
		for _, r := range d.Rows {
			if st < 0 || strings.EqualFold(cellString(r, st), "COMPLETE") {
				done = append(done, r)
			}
		}
		d.Importance, d.NotEstimated = varianceImportance(d.Columns, done, obj)
		d.ImportanceSource = "computed here from the completed trials: the share of the objective's variance each parameter explains alone (η²), and with its interactions (total effect); see the README"
	}
	sortImportance(d.Importance)

	// Trials' run directories: named in run_dir, or by the trial number (trial-7, trial_0007, 7).
	byTrial := map[string]string{}
	byDir := map[string]string{}
	for _, m := range it.Members {
		mi := s.lookup(m)
		if mi == nil || mi.Kind != "run" {
			continue
		}
		rel := strings.TrimPrefix(mi.rel, it.rel+"/")
		if it.rel == "." {
			rel = mi.rel
		}
		byDir[rel] = m
		if g := trialDir.FindStringSubmatch(path.Base(mi.rel)); g != nil {
			byTrial[g[1]] = m
		}
	}
	d.RowItems = make([]string, len(d.Rows))
	d.Curves = []gridCurve{}
	for i, r := range d.Rows {
		if dirCol >= 0 {
			d.RowItems[i] = byDir[path.Clean(cellString(r, dirCol))]
		}
		if d.RowItems[i] == "" && num >= 0 {
			if v, ok := cellFloat(r, num); ok {
				d.RowItems[i] = byTrial[strconv.Itoa(int(v))]
			}
		}
		mi := s.lookup(d.RowItems[i])
		if mi == nil {
			continue
		}
		if c, ok := epochCurve(s, mi, d.CurveMetric); ok {
			c.Row, c.Name = i, "trial "+cellString(r, num)
			c.State, c.Reason = strings.ToUpper(cellString(r, st)), cellString(r, why)
			d.Curves = append(d.Curves, c)
		}
	}
	return d, nil
}
