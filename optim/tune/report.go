package tune

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Rank orders trials best first: complete trials by value, then pruned trials by how far they
// got and their value, then the rest (running, parked, failed) by index.
func Rank(cfg *Config, trials []*TrialRecord) []*TrialRecord {
	out := slices.Clone(trials)
	group := func(t *TrialRecord) int {
		switch t.State {
		case Complete:
			return 0
		case Pruned:
			return 1
		}
		return 2
	}
	key := func(t *TrialRecord) float64 {
		l := cfg.loss(t.Value)
		if math.IsNaN(l) {
			return math.Inf(1)
		}
		return l
	}
	slices.SortStableFunc(out, func(a, b *TrialRecord) int {
		if c := cmp.Compare(group(a), group(b)); c != 0 {
			return c
		}
		switch group(a) {
		case 0:
			return cmp.Compare(key(a), key(b))
		case 1:
			if c := cmp.Compare(len(b.Steps), len(a.Steps)); c != 0 {
				return c
			}
			return cmp.Compare(key(a), key(b))
		}
		return cmp.Compare(a.Index, b.Index)
	})
	return out
}

// Best is the best complete trial, or nil.
func Best(cfg *Config, trials []*TrialRecord) *TrialRecord {
	r := Rank(cfg, trials)
	if len(r) == 0 || r[0].State != Complete || math.IsNaN(r[0].Value) {
		return nil
	}
	return r[0]
}

// Counts summarises a study for progress lines.
type Counts struct {
	Trials, Complete, Pruned, Failed, Running, Parked int
	// Epochs is the number of epochs reported over all trials (the study's cost).
	Epochs int
	Best   *TrialRecord
}

// Count tallies the trials.
func Count(cfg *Config, trials []*TrialRecord) Counts {
	c := Counts{Trials: len(trials), Best: Best(cfg, trials)}
	for _, t := range trials {
		c.Epochs += len(t.Steps)
		switch t.State {
		case Complete:
			c.Complete++
		case Pruned:
			c.Pruned++
		case Failed:
			c.Failed++
		case Running:
			c.Running++
		case Parked:
			c.Parked++
		}
	}
	return c
}

func fmtValue(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// WriteTable prints the ranked trials (the top n; 0: all): rank, trial, state, value, epochs,
// the parameters, and for pruned trials why.
func WriteTable(w io.Writer, cfg *Config, trials []*TrialRecord, n int) error {
	ranked := Rank(cfg, trials)
	if n > 0 && len(ranked) > n {
		ranked = ranked[:n]
	}
	names := make([]string, len(cfg.Space.Params))
	width := make([]int, len(names))
	for i, p := range cfg.Space.Params {
		names[i] = p.Name
		width[i] = len(p.Name)
		for _, t := range ranked {
			if v, ok := t.Params[p.Name]; ok {
				width[i] = max(width[i], len(fmtParam(&cfg.Space.Params[i], v)))
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-4s %5s %-8s %10s %6s", "rank", "trial", "state", "value", "epochs")
	for i, nm := range names {
		fmt.Fprintf(&b, "  %-*s", width[i], nm)
	}
	b.WriteString("  note\n")
	for r, t := range ranked {
		fmt.Fprintf(&b, "%-4d %5d %-8s %10s %6d", r+1, t.Index, t.State, fmtValue(t.Value), len(t.Steps))
		for i := range names {
			s := "-"
			if v, ok := t.Params[names[i]]; ok {
				s = fmtParam(&cfg.Space.Params[i], v)
			}
			fmt.Fprintf(&b, "  %-*s", width[i], s)
		}
		switch {
		case t.Reason != nil:
			b.WriteString("  " + t.Reason.String())
		case t.Error != "":
			b.WriteString("  " + clipTo(t.Error, 100))
		case t.State == Running:
			b.WriteString("  on " + t.Worker)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtParam(p *Param, v Value) string {
	if p.Kind == Float {
		return strconv.FormatFloat(v.Num, 'g', 4, 64)
	}
	return p.Format(v)
}

func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// WriteCSV writes every trial, ranked, with its parameters (full precision), its values per
// epoch and, for pruned trials, the decision's rule, rung, epoch, value, threshold and peers;
// runDir (optional) names each trial's run directory.
func WriteCSV(w io.Writer, cfg *Config, trials []*TrialRecord, runDir func(k int) string) error {
	cw := csv.NewWriter(w)
	head := []string{"rank", "trial", "state", "value", "epochs"}
	for _, p := range cfg.Space.Params {
		head = append(head, p.Name)
	}
	head = append(head, "bracket", "prune_rule", "prune_rung", "prune_epoch", "prune_value", "prune_threshold", "prune_peers", "pruned_reason",
		"error", "attempts", "seconds", "values", "run_dir")
	if err := cw.Write(head); err != nil {
		return err
	}
	for r, t := range Rank(cfg, trials) {
		row := []string{strconv.Itoa(r + 1), strconv.Itoa(t.Index), string(t.State), fmtCSV(t.Value), strconv.Itoa(len(t.Steps))}
		for i := range cfg.Space.Params {
			p := &cfg.Space.Params[i]
			s := ""
			if v, ok := t.Params[p.Name]; ok {
				s = p.Format(v)
			}
			row = append(row, s)
		}
		row = append(row, strconv.Itoa(t.Bracket))
		if t.Reason != nil {
			rs := t.Reason
			row = append(row, rs.Rule, strconv.Itoa(rs.Rung), strconv.Itoa(rs.Epoch), fmtCSV(rs.Value), fmtCSV(rs.Threshold),
				strconv.Itoa(rs.Peers), rs.String())
		} else {
			row = append(row, "", "", "", "", "", "", "")
		}
		secs := ""
		if t.Ended > 0 && t.Started > 0 {
			secs = strconv.FormatFloat(float64(t.Ended-t.Started)/1000, 'f', 3, 64)
		}
		vals := make([]string, len(t.Steps))
		for i, v := range t.Steps {
			vals[i] = fmtCSV(v)
		}
		dir := ""
		if runDir != nil {
			dir = runDir(t.Index)
		}
		row = append(row, t.Error, strconv.Itoa(t.Attempt), secs, strings.Join(vals, ";"), dir)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func fmtCSV(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
