package tune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Observation is a trial as a sampler or pruner sees it: its parameters and its losses (the
// objective turned so that lower is better).
type Observation struct {
	Index  int
	Params Values
	State  State
	// Loss is the trial's result (complete trials) or its last reported loss (others); NaN
	// when it reported nothing or a non-finite value.
	Loss float64
	// Steps are the losses reported after epochs 1, 2, ...
	Steps []float64
}

// Sampler proposes the parameters of new trials.
type Sampler interface {
	// String names the sampler and its settings; it is part of a study's identity.
	String() string
	// Needs returns n such that trial k's parameters depend on trials 0..n-1 only. In the
	// default (synchronous) mode a study creates trial k only once those have ended, so trial
	// k's parameters are the same however many workers run and however they are scheduled.
	Needs(k int) int
	// Sample draws trial k's parameters from rng (seeded for k) and hist, the ended trials
	// (complete, pruned or failed; in asynchronous mode also running ones), in index order.
	Sample(s *Space, k int, hist []Observation, rng *rand.Rand) (Values, error)
	// Size is the number of distinct points the sampler can propose (0: unbounded).
	Size(s *Space) int
}

// trialRNG is the random stream of trial k of a study seeded with seed: independent of every
// other trial's, so a trial's draw never depends on how many draws came before it.
func trialRNG(seed uint64, k int, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed^0x6a09e667f3bcc909, splitmix(uint64(k)+stream*0x9e3779b97f4a7c15)))
}

// splitmix is SplitMix64's finaliser: it spreads nearby integers over the whole range.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Random samples every parameter independently: uniform, or uniform in log space for log
// parameters (integers drawn in log space over [low-0.5, high+0.5] and rounded, as Optuna does).
type Random struct{}

func (Random) String() string  { return "random" }
func (Random) Needs(int) int   { return 0 }
func (Random) Size(*Space) int { return 0 }
func (Random) Sample(s *Space, _ int, _ []Observation, rng *rand.Rand) (Values, error) {
	vals := Values{}
	for i := range s.Params {
		p := &s.Params[i]
		if s.Active(p, vals) {
			vals[p.Name] = randomValue(p, rng)
		}
	}
	return vals, nil
}

func randomValue(p *Param, rng *rand.Rand) Value {
	switch p.Kind {
	case Choice:
		return Value{Choice: p.Choices[rng.IntN(len(p.Choices))]}
	case Int:
		if p.Log {
			lo, hi := math.Log(p.Low-0.5), math.Log(p.High+0.5)
			v := math.Round(math.Exp(lo + rng.Float64()*(hi-lo)))
			return Value{Num: math.Min(math.Max(v, p.Low), p.High)}
		}
		return Value{Num: p.Low + float64(rng.Int64N(int64(p.High-p.Low)+1))}
	}
	if p.Log {
		lo, hi := math.Log(p.Low), math.Log(p.High)
		return Value{Num: math.Min(math.Max(math.Exp(lo+rng.Float64()*(hi-lo)), p.Low), p.High)}
	}
	return Value{Num: p.Low + rng.Float64()*(p.High-p.Low)}
}

// Grid walks every combination of the parameters' grid values (numeric parameters take
// GridPoints values, or Points by default, evenly spaced, in log space for log parameters; a
// conditional parameter multiplies only the branches where it is active), in an order shuffled
// by the study's seed so a study stopped early still covers the space evenly.
type Grid struct {
	// Points is the default number of values of a numeric parameter (0: 5).
	Points int
	// Ordered walks the grid in order instead of shuffled.
	Ordered bool
	// Seed shuffles the order.
	Seed uint64
}

func (g Grid) String() string {
	s := "grid(points=" + strconv.Itoa(g.points())
	if g.Ordered {
		s += ",ordered"
	}
	return s + ")"
}

func (g Grid) points() int {
	if g.Points <= 0 {
		return 5
	}
	return g.Points
}

// Needs is 0: grid points do not depend on results.
func (Grid) Needs(int) int { return 0 }

// Size is the number of grid points.
func (g Grid) Size(s *Space) int { return len(g.All(s)) }

// Sample returns grid point k (in the shuffled order).
func (g Grid) Sample(s *Space, k int, _ []Observation, _ *rand.Rand) (Values, error) {
	all := g.All(s)
	if k < 0 || k >= len(all) {
		return nil, fmt.Errorf("tune: grid: trial %d is past the grid's %d points", k, len(all))
	}
	return all[g.order(len(all))[k]], nil
}

func (g Grid) order(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if !g.Ordered {
		rand.New(rand.NewPCG(g.Seed, 0x67726964)).Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	}
	return idx
}

// GridValues are the values the grid takes of a parameter.
func (g Grid) GridValues(p *Param) []Value {
	if p.Kind == Choice {
		out := make([]Value, len(p.Choices))
		for i, c := range p.Choices {
			out[i] = Value{Choice: c}
		}
		return out
	}
	n := p.GridPoints
	if n == 0 {
		n = g.points()
	}
	if p.Kind == Int && p.High-p.Low+1 <= float64(n) {
		var out []Value
		for v := p.Low; v <= p.High; v++ {
			out = append(out, Value{Num: v})
		}
		return out
	}
	var out []Value
	for i := 0; i < n; i++ {
		t := float64(i) / float64(n-1)
		var v float64
		if p.Log {
			v = math.Exp(math.Log(p.Low) + t*(math.Log(p.High)-math.Log(p.Low)))
		} else {
			v = p.Low + t*(p.High-p.Low)
		}
		if i == 0 {
			v = p.Low
		} else if i == n-1 {
			v = p.High
		}
		if p.Kind == Int {
			v = math.Round(v)
		} else {
			// 1e-4..1 in five log steps gives 0.0001, 0.001, 0.01, 0.1, 1, not 0.0009999999.
			if r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64); err == nil {
				v = r
			}
		}
		if len(out) == 0 || out[len(out)-1].Num != v {
			out = append(out, Value{Num: v})
		}
	}
	return out
}

// All lists every grid point in order (the first parameter varying slowest).
func (g Grid) All(s *Space) []Values {
	pts := []Values{{}}
	for i := range s.Params {
		p := &s.Params[i]
		gv := g.GridValues(p)
		var next []Values
		for _, pt := range pts {
			if !s.Active(p, pt) {
				next = append(next, pt)
				continue
			}
			for _, v := range gv {
				q := make(Values, len(pt)+1)
				for k, x := range pt {
					q[k] = x
				}
				q[p.Name] = v
				next = append(next, q)
			}
		}
		pts = next
	}
	return pts
}

// ParseSampler builds a sampler from its command-line name: grid, random or tpe, with options
// after a colon (tpe:startup=10,candidates=24,prior=1,univariate; grid:points=5,ordered).
//
// generation is the synchronous mode's generation size for TPE (see TPE.Generation).
func ParseSampler(spec string, seed uint64, generation int) (Sampler, error) {
	name, opts, _ := strings.Cut(strings.TrimSpace(spec), ":")
	kv := map[string]string{}
	if opts != "" {
		for _, o := range strings.Split(opts, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(o), "=")
			kv[k] = v
		}
	}
	intOpt := func(k string, def, min int) (int, error) {
		v, ok := kv[k]
		if !ok {
			return def, nil
		}
		delete(kv, k)
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			return 0, fmt.Errorf("tune: sampler %s: %s=%s: want a whole number >= %d", name, k, v, min)
		}
		return n, nil
	}
	flagOpt := func(k string) bool {
		_, ok := kv[k]
		delete(kv, k)
		return ok
	}
	var s Sampler
	switch name {
	case "random":
		s = Random{}
	case "grid":
		n, err := intOpt("points", 5, 2)
		if err != nil {
			return nil, err
		}
		s = Grid{Points: n, Ordered: flagOpt("ordered"), Seed: seed}
	case "tpe":
		t := TPE{Generation: generation}
		var err error
		if t.Startup, err = intOpt("startup", 10, 0); err != nil {
			return nil, err
		}
		if t.Candidates, err = intOpt("candidates", 24, 1); err != nil {
			return nil, err
		}
		if v, ok := kv["prior"]; ok {
			delete(kv, "prior")
			if t.PriorWeight, err = strconv.ParseFloat(v, 64); err != nil || !(t.PriorWeight > 0) || math.IsInf(t.PriorWeight, 0) {
				return nil, fmt.Errorf("tune: sampler tpe: prior=%s: want a weight > 0", v)
			}
		}
		t.Univariate = flagOpt("univariate")
		s = t.withDefaults()
	default:
		return nil, fmt.Errorf("tune: unknown sampler %q (want tpe, random or grid)", name)
	}
	if len(kv) > 0 {
		keys := make([]string, 0, len(kv))
		for k := range kv {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return nil, fmt.Errorf("tune: sampler %s: unknown option %q", name, keys[0])
	}
	return s, nil
}
