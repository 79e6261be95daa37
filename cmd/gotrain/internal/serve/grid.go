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

// gridDetail is a sweep or a study as the page draws it: the ranked table, what each column
// is, the parameters' importance and the per-epoch (intermediate) values of each row.
type gridDetail struct {
	ID               string       `json:"id"`
	Kind             string       `json:"kind"`
	Name             string       `json:"name"`
	Status           string       `json:"status"`
	Files            []string     `json:"files"`
	Members          []string     `json:"members,omitempty"`
	Columns          []gridColumn `json:"columns"`
	Rows             [][]any      `json:"rows"`
	RowItems         []string     `json:"row_items"` // the member run of each row, "" where none is known
	Objective        string       `json:"objective"`
	Direction        string       `json:"direction"` // max or min
	Importance       []importance `json:"importance"`
	ImportanceSource string       `json:"importance_source"`
	NotEstimated     []string     `json:"not_estimated,omitempty"` // varied parameters with as many values as rows
	CurveMetric      string       `json:"curve_metric"`
	Curves           []gridCurve  `json:"curves"`
	Notes            []string     `json:"notes,omitempty"`
}

// gridColumn says what a column holds. Roles: param (what was varied), objective (what ranks
// the rows), state and reason (a study's trial state and pruning reason), metric (any other
// result), id (rank or trial number).
type gridColumn struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	Numeric bool   `json:"numeric"`
	Log     bool   `json:"log,omitempty"` // positive values over more than two decades: draw on a log axis
}

// gridCurve is one row's values per epoch.
type gridCurve struct {
	Row    int       `json:"row"`
	Name   string    `json:"name"`
	X      []float64 `json:"x"`
	Y      []float64 `json:"y"`
	State  string    `json:"state,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

// importance is how much of the objective's variance one parameter explains: alone (or as a
// study recorded it), and with its interactions where the table allows telling.
type importance struct {
	Param string   `json:"param"`
	Value float64  `json:"value"`
	Total *float64 `json:"total,omitempty"`
}

// buildGrid types the cells of a CSV (header first) and assigns roles with role().
func buildGrid(recs [][]string, role func(col string) string) ([]gridColumn, [][]any) {
	if len(recs) == 0 {
		return []gridColumn{}, [][]any{}
	}
	head := recs[0]
	cols := make([]gridColumn, len(head))
	for j, h := range head {
		cols[j] = gridColumn{Name: h, Role: role(h), Numeric: true}
	}
	body := recs[1:]
	for j := range cols {
		any := false
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range body {
			if j >= len(r) || r[j] == "" {
				continue
			}
			any = true
			v, err := strconv.ParseFloat(r[j], 64)
			if err != nil {
				cols[j].Numeric = false
				break
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if !any {
			cols[j].Numeric = false
		}
		cols[j].Log = cols[j].Numeric && lo > 0 && hi/lo > 100
	}
	rows := make([][]any, len(body))
	for i, r := range body {
		row := make([]any, len(cols))
		for j := range cols {
			if j >= len(r) || r[j] == "" {
				continue // null
			}
			if cols[j].Numeric {
				v, _ := strconv.ParseFloat(r[j], 64)
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					row[j] = v
				}
				continue
			}
			row[j] = r[j]
		}
		rows[i] = row
	}
	return cols, rows
}

// varianceImportance estimates how much of the objective's spread each parameter accounts for,
// from the table alone, as two shares of the objective's sum of squares (SS):
//
//   - alone (Value): the rows are grouped by the parameter's value and the share is the
//     between-group SS over the total (η², the main effect an analysis of variance reports);
//   - with interactions (Total): the rows are grouped by the values of every other parameter,
//     and the share is what remains unexplained by those groups, 1 − SS_between/SS_total (the
//     total-effect index of Sobol, estimated on the grid). In a sweep where adam diverges only
//     at lr 0.1, neither parameter alone explains much, and both do with interactions.
//
// Numbers with more than six distinct values are grouped into five bins of equal count. A share
// is left out when its groups are as many as the rows (a value per row explains "everything"
// and says nothing); rows without an objective value are left out.
func varianceImportance(cols []gridColumn, rows [][]any, obj int) ([]importance, []string) {
	var skipped []string
	if obj < 0 {
		return []importance{}, nil
	}
	var ys []float64
	var keep []int
	for i, r := range rows {
		if v, ok := r[obj].(float64); ok {
			ys = append(ys, v)
			keep = append(keep, i)
		}
	}
	out := []importance{}
	if len(ys) < 2 {
		return out, nil
	}
	mean := 0.0
	for _, y := range ys {
		mean += y
	}
	mean /= float64(len(ys))
	total := 0.0
	for _, y := range ys {
		total += (y - mean) * (y - mean)
	}
	// share is the between-group SS over the total, or ok=false with a group per row.
	share := func(keys []string) (float64, bool) {
		sum, cnt := map[string]float64{}, map[string]float64{}
		for n, k := range keys {
			sum[k] += ys[n]
			cnt[k]++
		}
		if len(sum) >= len(ys) {
			return 0, false
		}
		if total == 0 {
			return 0, true
		}
		between := 0.0
		for k := range sum {
			m := sum[k] / cnt[k]
			between += cnt[k] * (m - mean) * (m - mean)
		}
		return math.Min(1, between/total), true
	}
	// The group key of every row for every varied parameter.
	var params []int
	keys := map[int][]string{}
	for j, c := range cols {
		if c.Role != "param" {
			continue
		}
		k := make([]string, len(keep))
		distinct := map[string]bool{}
		for n, i := range keep {
			k[n] = cellKey(rows[i][j])
			distinct[k[n]] = true
		}
		if len(distinct) < 2 {
			continue
		}
		if c.Numeric && len(distinct) > 6 {
			k = quantileBins(rows, keep, j, 5)
		}
		params = append(params, j)
		keys[j] = k
	}
	for _, j := range params {
		im := importance{Param: cols[j].Name}
		alone, ok := share(keys[j])
		if ok {
			im.Value = alone
		}
		others := make([]string, len(ys))
		for n := range others {
			var b strings.Builder
			for _, o := range params {
				if o != j {
					b.WriteString(keys[o][n] + "\x00")
				}
			}
			others[n] = b.String()
		}
		if rest, okT := share(others); okT && len(params) > 1 {
			t := math.Max(0, 1-rest)
			im.Total = &t
		} else if len(params) == 1 && ok {
			im.Total = &alone
		}
		if !ok && im.Total == nil {
			skipped = append(skipped, cols[j].Name)
			continue
		}
		out = append(out, im)
	}
	sortImportance(out)
	return out, skipped
}

// sortImportance puts the parameters that matter most first: by their share with
// interactions where known, else alone.
func sortImportance(out []importance) {
	key := func(im importance) float64 {
		if im.Total != nil {
			return math.Max(*im.Total, im.Value)
		}
		return im.Value
	}
	sort.SliceStable(out, func(a, b int) bool { return key(out[a]) > key(out[b]) })
}

func cellKey(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		return v
	}
	return ""
}

// quantileBins puts the rows keep into n groups of about equal size by column j (missing
// values form a group of their own).
func quantileBins(rows [][]any, keep []int, j, n int) []string {
	type pv struct {
		pos int
		v   float64
	}
	var vals []pv
	keys := make([]string, len(keep))
	for p, i := range keep {
		if v, ok := rows[i][j].(float64); ok {
			vals = append(vals, pv{p, v})
		} else {
			keys[p] = "missing"
		}
	}
	sort.Slice(vals, func(a, b int) bool { return vals[a].v < vals[b].v })
	for r, e := range vals {
		keys[e.pos] = "bin" + strconv.Itoa(r*n/len(vals))
	}
	return keys
}

func colIndex(cols []gridColumn, name string) int {
	for j, c := range cols {
		if c.Name == name {
			return j
		}
	}
	return -1
}

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

// epochCurve reads one column of a run's epochs.jsonl.
func epochCurve(s *Server, it *Item, metric string) (gridCurve, bool) {
	var c gridCurve
	err := s.store.table(it.root, it.file(epochsFile), false, func(t *table) error {
		ys := t.col(metric)
		xs := xColumn(t, "epoch")
		for i := range ys {
			if finite(xs[i]) && finite(ys[i]) {
				c.X, c.Y = append(c.X, float64(xs[i])), append(c.Y, float64(ys[i]))
			}
		}
		return nil
	})
	return c, err == nil && len(c.X) > 0
}

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

func cellFloat(r []any, j int) (float64, bool) {
	if j < 0 || j >= len(r) {
		return 0, false
	}
	v, ok := r[j].(float64)
	return v, ok
}

func cellString(r []any, j int) string {
	if j < 0 || j >= len(r) {
		return ""
	}
	return cellKey(r[j])
}
