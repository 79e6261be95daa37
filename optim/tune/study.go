package tune

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// ErrChanged is wrapped when a command opens an existing study with a different space, sampler,
// pruner, seed or fixed options: the message lists what changed.
var ErrChanged = errors.New("tune: the study exists with other settings")

// State is a trial's state.
type State string

// The states of a trial.
const (
	// Running: a worker holds the trial's lease. When the lease runs out (the worker died),
	// another worker takes the trial over from its last checkpoint.
	Running State = "running"
	// Parked: no worker holds it; it waits (for a pruning decision that depends on earlier
	// trials, or after an interrupt) and any worker may resume it from its checkpoint.
	Parked State = "parked"
	// Complete: it ran every epoch.
	Complete State = "complete"
	// Pruned: a pruner stopped it (TrialRecord.Reason says why).
	Pruned State = "pruned"
	// Failed: the objective returned an error (TrialRecord.Error).
	Failed State = "failed"
)

// Ended reports whether the trial is complete, pruned or failed.
func (s State) Ended() bool { return s == Complete || s == Pruned || s == Failed }

// Config is what defines a study. Everything here except Trials is part of the study's
// identity: reopening a study with a different value is an error naming the difference.
type Config struct {
	Space   *Space
	Sampler Sampler
	Pruner  Pruner
	Seed    uint64
	// MaxEpochs is the length of a complete trial.
	MaxEpochs int
	// Metric names the reported value (for tables and charts); Maximize says which way is
	// better.
	Metric   string
	Maximize bool
	// Best makes a trial's value its best reported value instead of its last.
	Best bool
	// Async drops the waits that make the study reproducible (see the package doc).
	Async bool
	// Fixed are the objective's other settings (the options every trial shares).
	Fixed map[string]string
	// Trials is how many trials the study runs (0: the grid's size). It may be raised when a
	// study is resumed.
	Trials int
}

// Identity is the study's settings as strings, stored with the study and compared on reopen.
func (c *Config) Identity() map[string]string {
	id := map[string]string{
		"sampler":   c.Sampler.String(),
		"pruner":    c.Pruner.String(),
		"seed":      strconv.FormatUint(c.Seed, 10),
		"epochs":    strconv.Itoa(c.MaxEpochs),
		"metric":    c.Metric,
		"direction": "minimize",
		"value":     "last",
		"mode":      "sync",
	}
	if c.Maximize {
		id["direction"] = "maximize"
	}
	if c.Best {
		id["value"] = "best"
	}
	if c.Async {
		id["mode"] = "async"
	}
	for i := range c.Space.Params {
		p := &c.Space.Params[i]
		// The position keeps the order, which the grid's walk depends on.
		id["param "+p.Name] = fmt.Sprintf("%d %s", i, p.String())
	}
	for k, v := range c.Fixed {
		id["option "+k] = v
	}
	return id
}

// diffIdentity lists the differences between a stored identity and a new one, one sentence each.
func diffIdentity(stored, now map[string]string) []string {
	keys := map[string]bool{}
	for k := range stored {
		keys[k] = true
	}
	for k := range now {
		keys[k] = true
	}
	var out []string
	show := func(k, v string) string {
		if strings.HasPrefix(k, "param ") {
			if _, rest, ok := strings.Cut(v, " "); ok {
				return rest
			}
		}
		return v
	}
	for _, k := range sortedStrings(keys) {
		a, inA := stored[k]
		b, inB := now[k]
		switch {
		case inA && !inB:
			out = append(out, fmt.Sprintf("%s: the study has %s, this command has none", k, show(k, a)))
		case !inA && inB:
			out = append(out, fmt.Sprintf("%s: this command has %s, the study has none", k, show(k, b)))
		case a != b:
			if show(k, a) == show(k, b) {
				out = append(out, fmt.Sprintf("%s: its position in the space changed", k))
			} else {
				out = append(out, fmt.Sprintf("%s: the study has %s, this command has %s", k, show(k, a), show(k, b)))
			}
		}
	}
	return out
}

func sortedStrings(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TrialRecord is a trial as stored.
type TrialRecord struct {
	Index   int
	State   State
	Params  Values
	Bracket int
	// Steps are the values reported after epochs 1, 2, ... (in the objective's terms).
	Steps []float64
	// Decisions are the pruning decisions taken, by epoch: "continue" or "prune".
	Decisions map[int]string
	// Value is the trial's result (NaN until it has one).
	Value  float64
	Reason *Reason
	Error  string
	// Worker holds the lease until LeaseUntil (Unix milliseconds, the database's clock);
	// Attempt counts the claims, so a worker that lost its lease cannot write.
	Worker     string
	Attempt    int
	LeaseUntil int64
	// Pending is the epoch whose pruning decision a parked trial waits for (0: none).
	Pending        int
	Started, Ended int64 // Unix milliseconds
	rev            int64
}

// Epochs is the number of epochs the trial reported.
func (t *TrialRecord) Epochs() int { return len(t.Steps) }

// valueOf is a trial's result from its steps.
func (c *Config) valueOf(steps []float64) float64 {
	if len(steps) == 0 {
		return math.NaN()
	}
	if !c.Best {
		return steps[len(steps)-1]
	}
	best := math.NaN()
	for _, v := range steps {
		if !math.IsNaN(v) && (math.IsNaN(best) || c.better(v, best)) {
			best = v
		}
	}
	return best
}

// better reports whether a beats b in the study's direction.
func (c *Config) better(a, b float64) bool {
	if c.Maximize {
		return a > b
	}
	return a < b
}

// loss turns a value into a loss (lower is better; NaN stays NaN).
func (c *Config) loss(v float64) float64 {
	if c.Maximize {
		return -v
	}
	return v
}

// observation is what samplers and pruners see of a trial.
func (c *Config) observation(t *TrialRecord) Observation {
	o := Observation{Index: t.Index, Params: t.Params, State: t.State, Steps: make([]float64, len(t.Steps))}
	for i, v := range t.Steps {
		o.Steps[i] = c.loss(v)
	}
	o.Loss = c.loss(t.Value)
	if t.State != Complete {
		o.Loss = lastOr(o.Steps)
	}
	return o
}

func marshalParams(v Values) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func unmarshalParams(s string) (Values, error) {
	v := Values{}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// ConfigFromIdentity rebuilds what a report needs (the space, the metric and its direction,
// the epochs) from a stored identity; Sampler and Pruner are left as names only.
func ConfigFromIdentity(id map[string]string) (*Config, error) {
	c := &Config{Metric: id["metric"], Maximize: id["direction"] == "maximize", Best: id["value"] == "best",
		Async: id["mode"] == "async", Fixed: map[string]string{}}
	c.MaxEpochs, _ = strconv.Atoi(id["epochs"])
	c.Seed, _ = strconv.ParseUint(id["seed"], 10, 64)
	type pos struct {
		i int
		s string
	}
	var ps []pos
	for k, v := range id {
		switch {
		case strings.HasPrefix(k, "param "):
			i, s, _ := strings.Cut(v, " ")
			n, err := strconv.Atoi(i)
			if err != nil {
				return nil, fmt.Errorf("tune: stored parameter %q: %q", k, v)
			}
			ps = append(ps, pos{n, s})
		case strings.HasPrefix(k, "option "):
			c.Fixed[strings.TrimPrefix(k, "option ")] = v
		}
	}
	slices.SortFunc(ps, func(a, b pos) int { return a.i - b.i })
	var specs []string
	for _, p := range ps {
		specs = append(specs, p.s)
	}
	sp, err := ParseSpace(specs)
	if err != nil {
		return nil, err
	}
	c.Space = sp
	c.Sampler = named(id["sampler"])
	c.Pruner = namedPruner(id["pruner"])
	return c, nil
}

// named is a sampler known only by name (in a report).
type named string

func (n named) String() string { return string(n) }
func (named) Needs(int) int    { return 0 }
func (named) Size(*Space) int  { return 0 }
func (n named) Sample(*Space, int, []Observation, *rand.Rand) (Values, error) {
	return nil, errReportOnly
}

type namedPruner string

func (n namedPruner) String() string                                     { return string(n) }
func (namedPruner) Bracket(uint64, int) int                              { return 0 }
func (namedPruner) Decides(int, int) bool                                { return false }
func (namedPruner) Decide(int, int, []float64, []float64) (bool, Reason) { return false, Reason{} }

var errReportOnly = errors.New("tune: this study was opened for a report only")
