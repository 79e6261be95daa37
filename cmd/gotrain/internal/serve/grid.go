package serve

import (
	"math"
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
