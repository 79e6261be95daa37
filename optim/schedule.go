package optim

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Schedule gives the learning rate for a step count, as PyTorch's LR schedulers do after
// `step` calls: LR(base, 0) is the rate before any scheduler step. Whether a step is an epoch or
// a batch is the caller's choice (see Interval); the formulas are the same.
//
// All schedules here are closed forms of their step count, which makes them trivially
// resumable: a checkpoint only needs the count.
type Schedule interface {
	LR(base float64, step int) float64
	String() string
}

// Interval says when a schedule advances.
type Interval uint8

// The intervals.
const (
	PerEpoch Interval = iota
	PerBatch
)

// Constant keeps the base rate.
type Constant struct{}

// LR returns base.
func (Constant) LR(base float64, _ int) float64 { return base }

// String names the schedule.
func (Constant) String() string { return "constant" }

// Step is torch.optim.lr_scheduler.StepLR: base·Gamma^⌊step/Size⌋.
type Step struct {
	Size  int
	Gamma float64
}

// LR implements Schedule.
func (s Step) LR(base float64, step int) float64 {
	return base * math.Pow(s.Gamma, float64(step/s.Size))
}

// String names the schedule and its options.
func (s Step) String() string { return fmt.Sprintf("step(size=%d, gamma=%g)", s.Size, s.Gamma) }

// MultiStep is MultiStepLR: base·Gamma^(number of milestones <= step).
type MultiStep struct {
	Milestones []int // increasing
	Gamma      float64
}

// LR implements Schedule.
func (s MultiStep) LR(base float64, step int) float64 {
	n := sort.SearchInts(s.Milestones, step+1) // bisect_right
	return base * math.Pow(s.Gamma, float64(n))
}

// String names the schedule and its options.
func (s MultiStep) String() string {
	return fmt.Sprintf("multistep(milestones=%v, gamma=%g)", s.Milestones, s.Gamma)
}

// Exponential is ExponentialLR: base·Gamma^step.
type Exponential struct{ Gamma float64 }

// LR implements Schedule.
func (s Exponential) LR(base float64, step int) float64 {
	return base * math.Pow(s.Gamma, float64(step))
}

// String names the schedule and its options.
func (s Exponential) String() string { return fmt.Sprintf("exponential(gamma=%g)", s.Gamma) }

// Cosine is CosineAnnealingLR: EtaMin + (base-EtaMin)·(1+cos(π·step/TMax))/2. Like PyTorch's
// closed form it keeps going past TMax (back up towards base), so set TMax to the run length.
type Cosine struct {
	TMax   int
	EtaMin float64
}

// LR implements Schedule.
func (s Cosine) LR(base float64, step int) float64 {
	return s.EtaMin + float64((base-s.EtaMin)*(1+math.Cos(math.Pi*float64(step)/float64(s.TMax)))/2) // not an FMA (GOAMD64=v3)
}

// String names the schedule and its options.
func (s Cosine) String() string { return fmt.Sprintf("cosine(tmax=%d, eta_min=%g)", s.TMax, s.EtaMin) }

// Linear is LinearLR, the usual warm-up: the factor goes linearly from Start to End over Iters
// steps and then stays at End. PyTorch's defaults are Start 1/3, End 1, Iters 5.
type Linear struct {
	Start, End float64
	Iters      int
}

// LR implements Schedule.
func (s Linear) LR(base float64, step int) float64 {
	if s.Iters == 0 {
		return base * s.End
	}
	t := float64(min(step, s.Iters)) / float64(s.Iters)
	return base * (s.Start + float64((s.End-s.Start)*t)) // not fused into an FMA (GOAMD64=v3)
}

// String names the schedule and its options.
func (s Linear) String() string {
	return fmt.Sprintf("linear(start=%g, end=%g, iters=%d)", s.Start, s.End, s.Iters)
}

// OneCycle is OneCycleLR with cosine annealing and two phases: from MaxLR/DivFactor up to MaxLR
// over the first PctStart of TotalSteps, then down to MaxLR/(DivFactor·FinalDivFactor). The base
// rate is ignored, as in PyTorch (it sets the optimizer's lr itself). Momentum is not cycled.
type OneCycle struct {
	MaxLR                     float64
	TotalSteps                int
	PctStart                  float64 // default 0.3
	DivFactor, FinalDivFactor float64 // defaults 25 and 1e4
}

// LR implements Schedule.
func (s OneCycle) LR(_ float64, step int) float64 {
	initial := s.MaxLR / s.DivFactor
	minLR := initial / s.FinalDivFactor
	// The products are converted so that a GOAMD64=v3 build does not fuse them into FMAs.
	end1 := float64(s.PctStart*float64(s.TotalSteps)) - 1
	end2 := float64(s.TotalSteps - 1)
	cosAnneal := func(start, end, pct float64) float64 {
		return end + float64((start-end)/2*(math.Cos(math.Pi*pct)+1))
	}
	st := float64(step)
	if st <= end1 {
		return cosAnneal(initial, s.MaxLR, st/end1)
	}
	return cosAnneal(s.MaxLR, minLR, (st-end1)/(end2-end1))
}

// String names the schedule and its options.
func (s OneCycle) String() string {
	return fmt.Sprintf("onecycle(max_lr=%g, total=%d, pct_start=%g)", s.MaxLR, s.TotalSteps, s.PctStart)
}

// Sequential is SequentialLR: Schedules[i] runs from Milestones[i-1] (counting its own steps
// from 0 there) until Milestones[i]. The common use is warm-up then cosine.
type Sequential struct {
	Schedules  []Schedule
	Milestones []int // len(Schedules)-1, increasing
}

// LR implements Schedule.
func (s Sequential) LR(base float64, step int) float64 {
	i := sort.SearchInts(s.Milestones, step+1)
	start := 0
	if i > 0 {
		start = s.Milestones[i-1]
	}
	return s.Schedules[i].LR(base, step-start)
}

// String names the schedules and the milestones.
func (s Sequential) String() string {
	parts := make([]string, len(s.Schedules))
	for i, sc := range s.Schedules {
		parts[i] = sc.String()
	}
	return fmt.Sprintf("sequential(%s; milestones=%v)", strings.Join(parts, ", "), s.Milestones)
}

// ValidateSchedule checks a schedule's options, naming the bad one.
func ValidateSchedule(s Schedule) error {
	bad := func(opt string, v any, want string) error {
		return fmt.Errorf("optim: schedule %v: %s %v: want %s: %w", s, opt, v, want, ErrInvalid)
	}
	pos := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
	switch sc := s.(type) {
	case Constant:
	case Step:
		if sc.Size <= 0 {
			return bad("step_size", sc.Size, "> 0")
		}
		if !pos(sc.Gamma) {
			return bad("gamma", sc.Gamma, "> 0")
		}
	case MultiStep:
		if !sort.IntsAreSorted(sc.Milestones) {
			return bad("milestones", sc.Milestones, "increasing")
		}
		if !pos(sc.Gamma) {
			return bad("gamma", sc.Gamma, "> 0")
		}
	case Exponential:
		if !pos(sc.Gamma) {
			return bad("gamma", sc.Gamma, "> 0")
		}
	case Cosine:
		if sc.TMax <= 0 {
			return bad("t_max", sc.TMax, "> 0")
		}
		if !(sc.EtaMin >= 0) || math.IsInf(sc.EtaMin, 0) {
			return bad("eta_min", sc.EtaMin, "finite and >= 0")
		}
	case Linear:
		if !(sc.Start > 0 && sc.Start <= 1) {
			return bad("start_factor", sc.Start, "in (0, 1]")
		}
		if !(sc.End >= 0 && sc.End <= 1) {
			return bad("end_factor", sc.End, "in [0, 1]")
		}
		if sc.Iters < 0 {
			return bad("total_iters", sc.Iters, ">= 0")
		}
	case OneCycle:
		if !pos(sc.MaxLR) {
			return bad("max_lr", sc.MaxLR, "> 0")
		}
		if sc.TotalSteps <= 1 {
			return bad("total_steps", sc.TotalSteps, "> 1")
		}
		if !(sc.PctStart > 0 && sc.PctStart < 1) || sc.PctStart*float64(sc.TotalSteps) < 2 {
			return bad("pct_start", sc.PctStart, "in (0, 1) with at least 2 warm-up steps")
		}
		if !pos(sc.DivFactor) || !pos(sc.FinalDivFactor) {
			return bad("div_factor/final_div_factor", []float64{sc.DivFactor, sc.FinalDivFactor}, "> 0")
		}
	case Sequential:
		if len(sc.Schedules) == 0 || len(sc.Milestones) != len(sc.Schedules)-1 {
			return bad("milestones", sc.Milestones, fmt.Sprintf("%d of them for %d schedules", max(len(sc.Schedules)-1, 0), len(sc.Schedules)))
		}
		if !sort.IntsAreSorted(sc.Milestones) {
			return bad("milestones", sc.Milestones, "increasing")
		}
		for _, sub := range sc.Schedules {
			if err := ValidateSchedule(sub); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("optim: unknown schedule type %T: %w", s, ErrInvalid)
	}
	return nil
}

// Plateau is ReduceLROnPlateau: it watches a metric (one value per epoch, usually the validation
// loss) and multiplies the rate by Factor after Patience epochs without improvement. Unlike the
// closed-form schedules it has state, which Snapshot/Restore carry across a checkpoint.
type Plateau struct {
	Mode          string  // "min" (default) or "max"
	Factor        float64 // default 0.1
	Patience      int     // default 10
	Threshold     float64 // default 1e-4
	ThresholdMode string  // "rel" (default) or "abs"
	Cooldown      int
	MinLR         float64
	Eps           float64 // default 1e-8: smaller reductions are skipped

	state PlateauState
}

// PlateauState is what a checkpoint must keep of a Plateau.
type PlateauState struct {
	Best            float64
	NumBad          int
	CooldownCounter int
	Epochs          int
	Started         bool
}

// NewPlateau returns a Plateau with PyTorch's defaults.
func NewPlateau() *Plateau {
	return &Plateau{Mode: "min", Factor: 0.1, Patience: 10, Threshold: 1e-4, ThresholdMode: "rel", Eps: 1e-8}
}

// Validate checks the options.
func (p *Plateau) Validate() error {
	switch {
	case p.Mode != "min" && p.Mode != "max":
		return fmt.Errorf("optim: plateau: mode %q: want min or max: %w", p.Mode, ErrInvalid)
	case p.ThresholdMode != "rel" && p.ThresholdMode != "abs":
		return fmt.Errorf("optim: plateau: threshold_mode %q: want rel or abs: %w", p.ThresholdMode, ErrInvalid)
	case !(p.Factor > 0 && p.Factor < 1):
		return fmt.Errorf("optim: plateau: factor %v: want in (0, 1): %w", p.Factor, ErrInvalid)
	case p.Patience < 0 || p.Cooldown < 0:
		return fmt.Errorf("optim: plateau: patience %d and cooldown %d must be >= 0: %w", p.Patience, p.Cooldown, ErrInvalid)
	case !(p.Threshold >= 0) || !(p.MinLR >= 0) || !(p.Eps >= 0) || math.IsInf(p.Threshold+p.MinLR+p.Eps, 0):
		return fmt.Errorf("optim: plateau: threshold %v, min_lr %v and eps %v must be finite and >= 0: %w", p.Threshold, p.MinLR, p.Eps, ErrInvalid)
	}
	return nil
}

func (p *Plateau) better(a float64) bool {
	best := p.state.Best
	switch {
	case p.Mode == "min" && p.ThresholdMode == "rel":
		return a < best*(1-p.Threshold)
	case p.Mode == "min":
		return a < best-p.Threshold
	case p.ThresholdMode == "rel":
		return a > best*(1+p.Threshold)
	}
	return a > best+p.Threshold
}

// Step records one epoch's metric and returns the rate to use from now on, given the current
// rate lr: Observe, then Reduce when it says so.
func (p *Plateau) Step(metric, lr float64) float64 {
	if p.Observe(metric) {
		return p.Reduce(lr)
	}
	return lr
}

// Observe records one epoch's metric and reports whether the rates should be reduced now (each
// group's with Reduce, as PyTorch reduces every parameter group on the same decision).
func (p *Plateau) Observe(metric float64) bool {
	if !p.state.Started {
		p.state.Started = true
		p.state.Best = math.Inf(1)
		if p.Mode == "max" {
			p.state.Best = math.Inf(-1)
		}
	}
	p.state.Epochs++
	if p.better(metric) {
		p.state.Best = metric
		p.state.NumBad = 0
	} else {
		p.state.NumBad++
	}
	if p.state.CooldownCounter > 0 {
		p.state.CooldownCounter--
		p.state.NumBad = 0
	}
	if p.state.NumBad > p.Patience {
		p.state.CooldownCounter = p.Cooldown
		p.state.NumBad = 0
		return true
	}
	return false
}

// Reduce returns lr multiplied by Factor, but not below MinLR; a reduction smaller than Eps is
// skipped.
func (p *Plateau) Reduce(lr float64) float64 {
	if nl := math.Max(lr*p.Factor, p.MinLR); lr-nl > p.Eps {
		return nl
	}
	return lr
}

// Snapshot returns the state to checkpoint; Restore puts it back.
func (p *Plateau) Snapshot() PlateauState { return p.state }

// Restore sets the state from a snapshot.
func (p *Plateau) Restore(s PlateauState) { p.state = s }

// String names the rule and its options.
func (p *Plateau) String() string {
	return fmt.Sprintf("plateau(mode=%s, factor=%g, patience=%d, threshold=%g %s, cooldown=%d, min_lr=%g)",
		p.Mode, p.Factor, p.Patience, p.Threshold, p.ThresholdMode, p.Cooldown, p.MinLR)
}

// ParseSchedule reads a schedule from the CLI form NAME[:key=value,...], for example
// "step:size=10,gamma=0.5", "cosine:tmax=20", "warmup-cosine:warmup=5,tmax=50" or
// "onecycle:max_lr=0.01,total=500". total is the number of steps the run makes (epochs or
// batches, by the schedule's interval) and fills TMax/TotalSteps when they are not given.
// "plateau" is handled by ParsePlateau.
func ParseSchedule(spec string, total int) (Schedule, error) {
	name, opts, err := parseOpts(spec)
	if err != nil {
		return nil, err
	}
	get := func(key string, def float64) float64 {
		if v, ok := opts[key]; ok {
			delete(opts, key)
			return v
		}
		return def
	}
	var intErr error
	getInt := func(key string, def int) int {
		v, ok := opts[key]
		if !ok {
			return def
		}
		delete(opts, key)
		n, err := optInt(spec, key, v)
		if err != nil && intErr == nil {
			intErr = err
		}
		return n
	}
	var s Schedule
	switch name {
	case "constant", "none", "":
		s = Constant{}
	case "step":
		s = Step{Size: getInt("size", 10), Gamma: get("gamma", 0.1)}
	case "multistep":
		var ms []int
		for i := 0; ; i++ {
			if _, ok := opts["m"+strconv.Itoa(i)]; !ok {
				break
			}
			ms = append(ms, getInt("m"+strconv.Itoa(i), 0))
		}
		s = MultiStep{Milestones: ms, Gamma: get("gamma", 0.1)}
	case "exponential", "exp":
		s = Exponential{Gamma: get("gamma", 0.95)}
	case "cosine":
		s = Cosine{TMax: getInt("tmax", total), EtaMin: get("eta_min", 0)}
	case "warmup", "linear":
		s = Linear{Start: get("start", 1.0/3), End: get("end", 1), Iters: getInt("iters", 5)}
	case "warmup-cosine":
		w := getInt("warmup", 5)
		tmax := getInt("tmax", total-w)
		s = Sequential{Schedules: []Schedule{Linear{Start: get("start", 0.01), End: 1, Iters: w}, Cosine{TMax: tmax, EtaMin: get("eta_min", 0)}}, Milestones: []int{w}}
	case "onecycle":
		s = OneCycle{MaxLR: get("max_lr", 0), TotalSteps: getInt("total", total), PctStart: get("pct_start", 0.3),
			DivFactor: get("div", 25), FinalDivFactor: get("final_div", 1e4)}
	default:
		return nil, fmt.Errorf("optim: unknown schedule %q (want constant, step, multistep, exponential, cosine, warmup, warmup-cosine, onecycle or plateau): %w", name, ErrInvalid)
	}
	if intErr != nil {
		return nil, intErr
	}
	for k := range opts {
		return nil, fmt.Errorf("optim: schedule %q: unknown option %q: %w", name, k, ErrInvalid)
	}
	return s, ValidateSchedule(s)
}

// maxScheduleInt bounds the step counts a schedule option may give (sizes, lengths,
// milestones, patience): far beyond any run, and small enough that sums of them cannot
// overflow an int.
const maxScheduleInt = 1 << 40

// optInt converts an option that counts steps; "size=2.5" is an error rather than 2, and a
// count beyond maxScheduleInt is reported as out of range rather than wrapped.
func optInt(spec, key string, v float64) (int, error) {
	if v != math.Trunc(v) {
		return 0, fmt.Errorf("optim: schedule %q: option %s=%v: want an integer: %w", spec, key, v, ErrInvalid)
	}
	if math.Abs(v) > maxScheduleInt {
		return 0, fmt.Errorf("optim: schedule %q: option %s=%v: out of range (at most %d in size): %w", spec, key, v, maxScheduleInt, ErrInvalid)
	}
	return int(v), nil
}

// ParseRates reads what a Scheduler is built from: a closed-form schedule (ParseSchedule), a
// plateau rule (ParsePlateau), or a finite schedule that hands over to a plateau rule once it has
// run its course, written SCHEDULE+plateau[:...], as in "warmup:iters=500+plateau:patience=2".
// One of the two results is nil when the spec does not name it.
func ParseRates(spec string, total int) (Schedule, *Plateau, error) {
	head, tail, chained := cutPlateau(spec)
	switch {
	case !chained && scheduleIsPlateau(head):
		p, err := ParsePlateau(head)
		return nil, p, err
	case !chained:
		s, err := ParseSchedule(head, total)
		return s, nil, err
	}
	if scheduleIsPlateau(head) {
		return nil, nil, fmt.Errorf("optim: schedule %q: a plateau rule has no end, so nothing can follow it: %w", spec, ErrInvalid)
	}
	s, err := ParseSchedule(head, total)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := s.(Finite); !ok {
		return nil, nil, fmt.Errorf("optim: schedule %q: %v has no end to hand over to the plateau rule at (use warmup, cosine or onecycle before +plateau): %w",
			spec, s, ErrInvalid)
	}
	p, err := ParsePlateau(tail)
	return s, p, err
}

// cutPlateau splits "A+plateau..." into A and "plateau...".
func cutPlateau(spec string) (head, tail string, ok bool) {
	i := strings.Index(strings.ToLower(spec), "+plateau")
	if i < 0 {
		return strings.TrimSpace(spec), "", false
	}
	return strings.TrimSpace(spec[:i]), strings.TrimSpace(spec[i+1:]), true
}

func scheduleIsPlateau(spec string) bool {
	name, _, _ := strings.Cut(strings.TrimSpace(spec), ":")
	return strings.EqualFold(strings.TrimSpace(name), "plateau")
}

// ParsePlateau reads "plateau[:factor=0.5,patience=3,...]" into a Plateau with PyTorch's
// defaults for what is not given (mode=max and threshold_mode=abs are written as max=1, abs=1).
func ParsePlateau(spec string) (*Plateau, error) {
	name, opts, err := parseOpts(spec)
	if err != nil {
		return nil, err
	}
	if name != "plateau" {
		return nil, fmt.Errorf("optim: %q is not a plateau schedule: %w", spec, ErrInvalid)
	}
	p := NewPlateau()
	for k, v := range opts {
		switch k {
		case "factor":
			p.Factor = v
		case "patience":
			if p.Patience, err = optInt(spec, k, v); err != nil {
				return nil, err
			}
		case "threshold":
			p.Threshold = v
		case "cooldown":
			if p.Cooldown, err = optInt(spec, k, v); err != nil {
				return nil, err
			}
		case "min_lr":
			p.MinLR = v
		case "eps":
			p.Eps = v
		case "max", "abs":
			if v != 0 && v != 1 {
				return nil, fmt.Errorf("optim: plateau: option %s=%v: want 0 or 1: %w", k, v, ErrInvalid)
			}
			if v == 1 && k == "max" {
				p.Mode = "max"
			}
			if v == 1 && k == "abs" {
				p.ThresholdMode = "abs"
			}
		default:
			return nil, fmt.Errorf("optim: plateau: unknown option %q: %w", k, ErrInvalid)
		}
	}
	return p, p.Validate()
}

// parseOptNumber reads an option's value. No schedule option means anything as NaN or
// infinity (eta_min=Inf would make every rate infinite), so they are refused here, once.
func parseOptNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, errors.New("is out of range")
	case err != nil:
		return 0, errors.New("is not a number")
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, errors.New("is not finite")
	}
	return f, nil
}

// parseOpts splits "name:k=v,k=v" with numeric values; "milestones=3;6;9" becomes m0, m1, m2.
func parseOpts(spec string) (string, map[string]float64, error) {
	name, rest, _ := strings.Cut(strings.TrimSpace(spec), ":")
	opts := map[string]float64{}
	if rest == "" {
		return strings.ToLower(name), opts, nil
	}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return "", nil, fmt.Errorf("optim: schedule %q: option %q is not key=value: %w", spec, kv, ErrInvalid)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "milestones" {
			if _, dup := opts["m0"]; dup {
				return "", nil, fmt.Errorf("optim: schedule %q: option milestones is given twice: %w", spec, ErrInvalid)
			}
			for i, m := range strings.Split(v, ";") {
				f, err := parseOptNumber(m)
				if err != nil {
					return "", nil, fmt.Errorf("optim: schedule %q: milestone %q %v: %w", spec, m, err, ErrInvalid)
				}
				opts["m"+strconv.Itoa(i)] = f
			}
			continue
		}
		if _, dup := opts[k]; dup {
			return "", nil, fmt.Errorf("optim: schedule %q: option %s is given twice: %w", spec, k, ErrInvalid)
		}
		f, err := parseOptNumber(v)
		if err != nil {
			return "", nil, fmt.Errorf("optim: schedule %q: option %s=%q %v: %w", spec, k, v, err, ErrInvalid)
		}
		opts[k] = f
	}
	return strings.ToLower(name), opts, nil
}
