package tune

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Reason records why a trial was pruned, so the decision can be explained and checked: the
// rule, the rung and epoch, the trial's value, the threshold it failed and how many peers
// (trials reporting at the same epoch, itself included for ASHA) it was compared with.
// Value and Threshold are in the objective's own terms (accuracy, not loss).
type Reason struct {
	Rule      string  `json:"rule"`
	Bracket   int     `json:"bracket"`
	Rung      int     `json:"rung"`
	Epoch     int     `json:"epoch"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Peers     int     `json:"peers"`
	// Keep is the number of peers the rule kept (ASHA: the top 1/η).
	Keep int `json:"keep,omitempty"`
	// Detail is the objective's own reason (rule "objective": Trial.Stop).
	Detail string `json:"detail,omitempty"`
}

// reasonJSON is Reason with NaN values as null (JSON has no NaN).
type reasonJSON struct {
	Rule      string   `json:"rule"`
	Bracket   int      `json:"bracket"`
	Rung      int      `json:"rung"`
	Epoch     int      `json:"epoch"`
	Value     *float64 `json:"value"`
	Threshold *float64 `json:"threshold"`
	Peers     int      `json:"peers"`
	Keep      int      `json:"keep,omitempty"`
	Detail    string   `json:"detail,omitempty"`
}

func finiteOrNil(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func orNaN(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}

// MarshalJSON writes NaN values as null.
func (r Reason) MarshalJSON() ([]byte, error) {
	return json.Marshal(reasonJSON{r.Rule, r.Bracket, r.Rung, r.Epoch, finiteOrNil(r.Value), finiteOrNil(r.Threshold), r.Peers, r.Keep, r.Detail})
}

// UnmarshalJSON reads null values as NaN.
func (r *Reason) UnmarshalJSON(b []byte) error {
	var j reasonJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Reason{Rule: j.Rule, Bracket: j.Bracket, Rung: j.Rung, Epoch: j.Epoch, Value: orNaN(j.Value), Threshold: orNaN(j.Threshold),
		Peers: j.Peers, Keep: j.Keep, Detail: j.Detail}
	return nil
}

// String explains the decision in a sentence.
func (r Reason) String() string {
	v := func(x float64) string { return strconv.FormatFloat(x, 'g', 5, 64) }
	switch r.Rule {
	case "median":
		return fmt.Sprintf("median rule at epoch %d: best value so far %s is worse than the median %s of %d earlier trials at that epoch",
			r.Epoch, v(r.Value), v(r.Threshold), r.Peers)
	case "nan":
		return fmt.Sprintf("epoch %d: the value is not a number", r.Epoch)
	case "objective":
		return fmt.Sprintf("stopped by the objective after %d epochs: %s", r.Epoch, r.Detail)
	}
	b := ""
	if r.Rule == "hyperband" {
		b = fmt.Sprintf(" of bracket %d", r.Bracket)
	}
	return fmt.Sprintf("%s rung %d%s (epoch %d): value %s is worse than %s, the cut for the top %d of %d trials at that rung",
		r.Rule, r.Rung, b, r.Epoch, v(r.Value), v(r.Threshold), r.Keep, r.Peers)
}

// Pruner decides, after an epoch, whether a trial goes on. It works on losses (lower is
// better) and sees only what the caller passes, which is what makes decisions reproducible:
// in synchronous mode the peers of trial k are the lower-numbered trials of its bracket that
// reported at that epoch, and the caller waits until every lower-numbered trial has reported
// there or ended.
type Pruner interface {
	// String names the pruner and its settings; it is part of a study's identity.
	String() string
	// Bracket is trial k's bracket (Hyperband; 0 otherwise), from the study's seed.
	Bracket(seed uint64, k int) int
	// Decides reports whether trials of bracket b are judged after epoch e.
	Decides(b, e int) bool
	// Decide judges a trial after epoch e given its losses so far (steps[e-1] is this epoch's)
	// and its peers' losses at epoch e. The Reason's Value and Threshold are losses.
	Decide(b, e int, steps, peers []float64) (prune bool, why Reason)
}

// NoPruner never prunes.
type NoPruner struct{}

func (NoPruner) String() string                                       { return "none" }
func (NoPruner) Bracket(uint64, int) int                              { return 0 }
func (NoPruner) Decides(int, int) bool                                { return false }
func (NoPruner) Decide(int, int, []float64, []float64) (bool, Reason) { return false, Reason{} }

// Median prunes a trial whose best loss so far is worse than the median of the losses its
// peers reported at the same epoch (Optuna's MedianPruner, except that peers are the trials
// that reached the epoch rather than only completed ones: waiting for peers to complete would
// serialise a reproducible study). Nothing is pruned before Startup peers exist or during the
// first Warmup epochs; Interval spaces the checks.
type Median struct {
	Startup, Warmup, Interval int
	// MaxEpochs is the trials' length: no decision is taken at the last epoch.
	MaxEpochs int
}

func (m Median) String() string {
	return fmt.Sprintf("median(startup=%d,warmup=%d,interval=%d)", m.Startup, m.Warmup, max(m.Interval, 1))
}
func (Median) Bracket(uint64, int) int { return 0 }
func (m Median) Decides(_, e int) bool {
	return e > m.Warmup && e < m.MaxEpochs && (e-m.Warmup-1)%max(m.Interval, 1) == 0
}

func (m Median) Decide(_, e int, steps, peers []float64) (bool, Reason) {
	best := math.Inf(1)
	for _, v := range steps[:e] {
		if !math.IsNaN(v) {
			best = math.Min(best, v)
		}
	}
	r := Reason{Rule: "median", Epoch: e, Value: best, Peers: len(peers), Rung: -1}
	if math.IsInf(best, 1) {
		r.Rule = "nan"
		return true, r
	}
	var fin []float64
	for _, v := range peers {
		if !math.IsNaN(v) {
			fin = append(fin, v)
		}
	}
	if len(peers) < max(m.Startup, 1) || len(fin) == 0 {
		return false, r
	}
	slices.Sort(fin)
	// numpy's linear percentile.
	pos := 0.5 * float64(len(fin)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(fin)-1)
	r.Threshold = fin[lo] + (pos-float64(lo))*(fin[hi]-fin[lo])
	return best > r.Threshold, r
}

// ASHA is successive halving with asynchronous promotion (Li et al., "A System for Massively
// Parallel Hyperparameter Tuning", MLSys 2020), as Optuna's SuccessiveHalvingPruner: rung i is
// at epoch MinEpochs·η^(Rate+i); a trial reaching a rung goes on only if its loss is among the
// best floor(n/η) of the n trials that reached that rung (itself included; with fewer than η
// trials, only the best goes on).
type ASHA struct {
	MinEpochs, Eta, Rate int
	MaxEpochs            int
	// rule names the decisions ("asha", or "hyperband" for a bracket).
	rule    string
	bracket int
}

func (a ASHA) eta() int  { return max(a.Eta, 2) }
func (a ASHA) minE() int { return max(a.MinEpochs, 1) }

func (a ASHA) String() string {
	return fmt.Sprintf("asha(min=%d,eta=%d,rate=%d)", a.minE(), a.eta(), a.Rate)
}
func (ASHA) Bracket(uint64, int) int { return 0 }

// rung returns the rung at epoch e, or -1.
func (a ASHA) rung(e int) int {
	if e >= a.MaxEpochs {
		return -1
	}
	r := a.minE()
	for range a.Rate {
		r *= a.eta()
	}
	for i := 0; r <= e; i++ {
		if r == e {
			return i
		}
		r *= a.eta()
	}
	return -1
}

func (a ASHA) Decides(_, e int) bool { return a.rung(e) >= 0 }

func (a ASHA) Decide(_, e int, steps, peers []float64) (bool, Reason) {
	rule := a.rule
	if rule == "" {
		rule = "asha"
	}
	v := steps[e-1]
	r := Reason{Rule: rule, Bracket: a.bracket, Rung: a.rung(e), Epoch: e, Value: v, Peers: len(peers) + 1}
	if math.IsNaN(v) {
		r.Rule = "nan"
		return true, r
	}
	comp := make([]float64, 0, len(peers)+1)
	for _, p := range peers {
		if math.IsNaN(p) {
			p = math.Inf(1)
		}
		comp = append(comp, p)
	}
	comp = append(comp, v)
	slices.Sort(comp)
	idx := len(comp)/a.eta() - 1
	if idx < 0 {
		idx = 0
	}
	r.Keep = idx + 1
	r.Threshold = comp[idx]
	return !(v <= r.Threshold), r
}

// Hyperband runs several ASHA brackets (Li et al., JMLR 2018, asynchronously as in the ASHA
// paper and Optuna's HyperbandPruner): bracket s starts pruning at MinEpochs·η^s, there are
// floor(log_η(MaxEpochs/MinEpochs))+1 brackets, and trials are spread over them by a hash of the
// seed and the trial's number, in proportion to the brackets' budgets. A trial competes only
// with trials of its own bracket.
type Hyperband struct {
	MinEpochs, Eta, MaxEpochs int
}

func (h Hyperband) String() string {
	return fmt.Sprintf("hyperband(min=%d,eta=%d,brackets=%d)", max(h.MinEpochs, 1), max(h.Eta, 2), h.brackets())
}

func (h Hyperband) brackets() int {
	eta, lo := float64(max(h.Eta, 2)), float64(max(h.MinEpochs, 1))
	n := int(math.Floor(math.Log(float64(h.MaxEpochs)/lo)/math.Log(eta)+1e-9)) + 1
	return max(n, 1)
}

func (h Hyperband) budgets() []int {
	n := h.brackets()
	out := make([]int, n)
	for b := range out {
		s := n - 1 - b
		out[b] = int(math.Ceil(float64(n) * math.Pow(float64(max(h.Eta, 2)), float64(s)) / float64(s+1)))
	}
	return out
}

func (h Hyperband) Bracket(seed uint64, k int) int {
	bud := h.budgets()
	total := 0
	for _, b := range bud {
		total += b
	}
	n := int(crc32.ChecksumIEEE([]byte(strconv.FormatUint(seed, 10)+"_"+strconv.Itoa(k))) % uint32(total))
	for b, x := range bud {
		if n -= x; n < 0 {
			return b
		}
	}
	return len(bud) - 1
}

func (h Hyperband) bracket(b int) ASHA {
	return ASHA{MinEpochs: h.MinEpochs, Eta: h.Eta, Rate: b, MaxEpochs: h.MaxEpochs, rule: "hyperband", bracket: b}
}

func (h Hyperband) Decides(b, e int) bool { return h.bracket(b).Decides(b, e) }

func (h Hyperband) Decide(b, e int, steps, peers []float64) (bool, Reason) {
	return h.bracket(b).Decide(b, e, steps, peers)
}

// ParsePruner builds a pruner from its command-line name: none, median, asha or hyperband,
// with options after a colon (median:startup=5,warmup=0,interval=1; asha:min=1,eta=3,rate=0;
// hyperband:min=1,eta=3). maxEpochs is the trials' length.
func ParsePruner(spec string, maxEpochs int) (Pruner, error) {
	name, opts, _ := strings.Cut(strings.TrimSpace(spec), ":")
	kv := map[string]int{}
	if opts != "" {
		for _, o := range strings.Split(opts, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(o), "=")
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("tune: pruner %s: %s=%s: want a whole number >= 0", name, k, v)
			}
			kv[k] = n
		}
	}
	get := func(k string, def, min int) (int, error) {
		v, ok := kv[k]
		if !ok {
			return def, nil
		}
		delete(kv, k)
		if v < min {
			return 0, fmt.Errorf("tune: pruner %s: %s=%d: want at least %d", name, k, v, min)
		}
		return v, nil
	}
	var p Pruner
	var err error
	switch name {
	case "none":
		p = NoPruner{}
	case "median":
		m := Median{MaxEpochs: maxEpochs}
		if m.Startup, err = get("startup", 5, 0); err == nil {
			if m.Warmup, err = get("warmup", 0, 0); err == nil {
				m.Interval, err = get("interval", 1, 1)
			}
		}
		p = m
	case "asha":
		a := ASHA{MaxEpochs: maxEpochs}
		if a.MinEpochs, err = get("min", 1, 1); err == nil {
			if a.Eta, err = get("eta", 3, 2); err == nil {
				a.Rate, err = get("rate", 0, 0)
			}
		}
		p = a
	case "hyperband":
		h := Hyperband{MaxEpochs: maxEpochs}
		if h.MinEpochs, err = get("min", 1, 1); err == nil {
			h.Eta, err = get("eta", 3, 2)
		}
		if err == nil && h.MinEpochs > maxEpochs {
			err = fmt.Errorf("tune: pruner hyperband: min=%d is more than the %d epochs of a trial", h.MinEpochs, maxEpochs)
		}
		p = h
	default:
		return nil, fmt.Errorf("tune: unknown pruner %q (want asha, hyperband, median or none)", name)
	}
	if err != nil {
		return nil, err
	}
	for k := range kv {
		return nil, fmt.Errorf("tune: pruner %s: unknown option %q", name, k)
	}
	return p, nil
}
