// Package optim holds gotrain's optimizers, learning-rate schedules and the scheduler that owns
// a run's rate, and the learning-rate range test. Optimizers follow PyTorch's torch.optim
// semantics and defaults exactly (users carry those in their heads); where Gorgonia's solvers
// differ, the doc comment says so.
//
// Each optimizer is one Description, in a file of its own (sgd.go, adam.go, ...): its name,
// defaults, validation, state tensors and the one function that turns the hyperparameters and the
// step number into the scalars of a kernels.Step. Every backend runs that Step as it is (the
// pure-Go loop, the AVX2 loops and the CUDA kernel read the same scalars), one multi-tensor device
// call per parameter group and step, so optimizer state never leaves the device.
package optim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// ErrInvalid is wrapped by every invalid-hyperparameter error.
var ErrInvalid = errors.New("optim: invalid hyperparameter")

// Options are an optimizer's hyperparameters, with PyTorch's names. Defaults(name) fills them
// as torch.optim does; a field the optimizer does not read (see Description.Uses) is ignored.
type Options struct {
	// Name is the optimizer: one of Names() other than the aliases (momentum and nesterov are
	// sgd with presets).
	Name        string
	LR          float64
	WeightDecay float64 // L2 added to the gradient; decoupled for adamw, lion (and nadam, radam with Decoupled)

	Momentum, Dampening float64 // sgd; Momentum also rmsprop
	Nesterov            bool    // sgd

	Beta1, Beta2, Eps float64 // the Adam family and lion (betas); Eps also rmsprop and adagrad
	AMSGrad           bool    // adam, adamw

	Alpha    float64 // rmsprop smoothing constant
	Centered bool    // rmsprop

	LRDecay            float64 // adagrad
	InitialAccumulator float64 // adagrad's initial_accumulator_value

	MomentumDecay float64 // nadam
	Decoupled     bool    // nadam's and radam's decoupled_weight_decay; implied by adamw and lion
}

// Hyperparameters lists the names a Description's Uses may hold: the hyperparameters other than
// the rate, by the CLI flags and config keys of Options' fields.
func Hyperparameters() []string {
	return []string{"momentum", "dampening", "nesterov", "weight-decay", "beta1", "beta2", "eps", "amsgrad", "alpha", "centered",
		"lr-decay", "initial-accumulator", "momentum-decay", "decoupled"}
}

// Description is everything about one optimizer. Register adds one; the optimizer then works
// in New, the CLI, sweeps and the conformance suite.
type Description struct {
	// Name is what Defaults and the CLI take; Summary is one line for help texts.
	Name, Summary string
	// Alias, when set, makes this a preset of the named optimizer (momentum is sgd with
	// momentum 0.9): Defaults applies the base's defaults, then this one's, and the options keep
	// the base's name. An alias has no Step of its own.
	Alias string
	// Uses lists the hyperparameters the optimizer reads besides the rate, by their CLI names
	// (see Hyperparameters): the others do not apply to it.
	Uses []string
	// Defaults sets torch.optim's defaults, other than the rate.
	Defaults func(o *Options)
	// Validate checks the hyperparameters beyond the common checks (a finite rate and weight
	// decay >= 0), naming the bad one and its value.
	Validate func(o Options) error
	// States names the state tensors kept per parameter, in the order the update loop takes
	// them (PyTorch's state_dict names: exp_avg, exp_avg_sq, ...); Init is their first value
	// (nil: 0).
	States func(o Options) []string
	Init   func(o Options) float64
	// Variants are configurations that take other paths through the update loop than the
	// defaults (momentum, AMSGrad, centered, ...): the conformance suite runs each on every
	// device, and the trajectory tests compare each with the float64 reference.
	Variants []Variant
	// Step computes the device step number t (from 1) at rate lr. carry is one number per
	// parameter group that the optimizer keeps on the host between steps, starting at 1 (NAdam's
	// product of momentum coefficients); Step may advance it, and the optimizer keeps the advance
	// only once the device has applied the step.
	Step func(o Options, lr float64, t int, carry *float64) kernels.Step
}

// Variant is a named change to an optimizer's defaults.
type Variant struct {
	Name string
	Set  func(o *Options)
}

var registry = map[string]*Description{}

// Register adds an optimizer; it is called from the init of the optimizer's file.
func Register(d *Description) {
	if _, dup := registry[d.Name]; dup || d.Name == "" {
		panic("optim: Register: empty or duplicate optimizer name " + d.Name) // a programming error at init
	}
	if d.Alias == "" && (d.Defaults == nil || d.States == nil || d.Step == nil) {
		panic("optim: Register: " + d.Name + " needs Defaults, States and Step")
	}
	registry[d.Name] = d
}

// Describe returns the named optimizer's description (aliases resolved to their base for Step).
func Describe(name string) (*Description, error) {
	d, ok := registry[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return nil, fmt.Errorf("optim: unknown optimizer %q (want one of %s): %w", name, strings.Join(Names(), ", "), ErrInvalid)
	}
	return d, nil
}

// rule returns the description that owns o.Name's update (never an alias).
func rule(name string) (*Description, error) {
	d, err := Describe(name)
	if err != nil {
		return nil, err
	}
	if d.Alias != "" {
		return nil, fmt.Errorf("optim: %q is a preset of %s, not an optimizer of its own: %w", name, d.Alias, ErrInvalid)
	}
	return d, nil
}

// Names lists the optimizers Defaults accepts, aliases included, sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Defaults returns torch.optim's defaults for the named optimizer, with learning rate lr.
func Defaults(name string, lr float64) (Options, error) {
	d, err := Describe(name)
	if err != nil {
		return Options{}, err
	}
	o := Options{Name: d.Name, LR: lr}
	if d.Alias != "" {
		base, err := rule(d.Alias)
		if err != nil {
			return Options{}, err
		}
		o.Name = base.Name
		base.Defaults(&o)
	}
	if d.Defaults != nil {
		d.Defaults(&o)
	}
	return o, nil
}

// Validate checks every hyperparameter the optimizer reads, as torch.optim does, naming the bad
// one and its value.
func (o Options) Validate() error {
	d, err := rule(o.Name)
	if err != nil {
		return err
	}
	if !nonNeg(o.LR) {
		return o.bad("lr", o.LR, "finite and >= 0")
	}
	if !nonNeg(o.WeightDecay) {
		return o.bad("weight_decay", o.WeightDecay, "finite and >= 0")
	}
	if d.Validate != nil {
		return d.Validate(o)
	}
	return nil
}

// The checks descriptions share.

func (o Options) bad(param string, v any, want string) error {
	return fmt.Errorf("optim: %s: %s %v: want %s: %w", o.Name, param, v, want, ErrInvalid)
}

func nonNeg(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }

// unit is [0, 1), the range of every smoothing coefficient (betas, alpha).
func unit(v float64) bool { return v >= 0 && v < 1 }

// positive is (0, ∞): eps, where it keeps a division finite.
func positive(v float64) bool { return v > 0 && !math.IsInf(v, 0) }

// checkBetas checks beta1 and beta2 in [0, 1).
func (o Options) checkBetas() error {
	if !unit(o.Beta1) {
		return o.bad("beta1", o.Beta1, "in [0, 1)")
	}
	if !unit(o.Beta2) {
		return o.bad("beta2", o.Beta2, "in [0, 1)")
	}
	return nil
}

// checkEps checks that eps keeps the rule's division finite. PyTorch accepts 0, and the first
// step with a zero gradient then divides 0 by 0: the run dies later blaming a weight.
func (o Options) checkEps() error {
	if !positive(o.Eps) {
		return o.bad("eps", o.Eps, "finite and > 0 (it keeps the division by the running average finite)")
	}
	return nil
}

// decays returns the L2 weight decay (added to the gradient) and the decoupled one (p *= 1 -
// lr·decay) of the options: decoupled when the optimizer's rule says so.
func (o Options) decays(decoupled bool) (l2, dec float64) {
	if decoupled {
		return 0, o.WeightDecay
	}
	return o.WeightDecay, 0
}

// Group is a parameter group: the indices (into the list given to Attach) of parameters that
// share Options. The usual use is no weight decay on biases (see NoDecayGroups). Options are the
// group's complete options: start from a copy of the defaults and change what differs (Go has no
// "unset" field to inherit from, unlike PyTorch's param_group dicts); an empty Name means the
// default's.
type Group struct {
	Params  []int
	Options Options
}

// Optimizer updates a fixed list of parameter buffers from gradient buffers of the same shapes,
// one device call per group and step. It does not own the learning rate: Step takes the rates
// (a Scheduler's), and without them uses each group's Options.LR.
type Optimizer struct {
	desc     *Description
	defaults Options
	groups   []Group

	dev    backend.Device
	attach []groupState
	steps  int
	// carry is each attached group's host-side scalar (see Description.Step); nextCarry the one
	// a step in progress advances.
	carry     []float64
	nextCarry float64
	// lastLRs are the rates of the last step, per attached group (for Snapshot).
	lastLRs []float64
}

type groupState struct {
	Group
	// index is the group's position in BaseRates (len(groups) for the default group).
	index         int
	params, grads []backend.Buffer
	state         [][]backend.Buffer
	// gradIdx maps the group's position to the index in the full gradient list.
	gradIdx []int
	step    kernels.Step
}

// New returns an optimizer with the given default options; groups (optional) override them for
// some parameters. Options are validated here.
func New(defaults Options, groups ...Group) (*Optimizer, error) {
	if err := defaults.Validate(); err != nil {
		return nil, err
	}
	d, _ := rule(defaults.Name)
	groups = append([]Group(nil), groups...) // ours to fill in; the caller's slice stays as given
	for i, g := range groups {
		if g.Options.Name == "" {
			g.Options.Name = defaults.Name
		}
		if g.Options.Name != defaults.Name {
			return nil, fmt.Errorf("optim: group %d uses %s, the optimizer is %s: %w", i, g.Options.Name, defaults.Name, ErrInvalid)
		}
		if err := g.Options.Validate(); err != nil {
			return nil, fmt.Errorf("optim: group %d: %w", i, err)
		}
		groups[i] = g
	}
	return &Optimizer{desc: d, defaults: defaults, groups: groups}, nil
}

// NewNamed returns the named optimizer with PyTorch's defaults and learning rate lr.
func NewNamed(name string, lr float64) (*Optimizer, error) {
	o, err := Defaults(name, lr)
	if err != nil {
		return nil, err
	}
	return New(o)
}

// MustNamed is NewNamed for constant arguments in tests and examples; it panics on error.
func MustNamed(name string, lr float64) *Optimizer {
	o, err := NewNamed(name, lr)
	if err != nil {
		panic(err)
	}
	return o
}

// NoDecayGroups returns one group for the parameters whose shape has one dimension (biases),
// with weight decay 0; the other parameters keep the defaults. This is the common recipe of
// not decaying biases (and normalisation gains).
func NoDecayGroups(defaults Options, shapes [][]int) []Group {
	g := Group{Options: defaults}
	g.Options.WeightDecay = 0
	for i, s := range shapes {
		if len(s) == 1 {
			g.Params = append(g.Params, i)
		}
	}
	if len(g.Params) == 0 {
		return nil
	}
	return []Group{g}
}

// Name is the optimizer's name ("adam", "sgd", ...), with "+momentum"/"+nesterov" for SGD
// variants.
func (o *Optimizer) Name() string {
	n := o.defaults.Name
	if n == "sgd" && o.defaults.Nesterov {
		return "sgd+nesterov"
	}
	if n == "sgd" && o.defaults.Momentum != 0 {
		return "sgd+momentum"
	}
	return n
}

// Options returns the default options.
func (o *Optimizer) Options() Options { return o.defaults }

// BaseRates returns each group's own rate, the groups in order and the default group last: the
// rates a Scheduler starts from and Step takes.
func (o *Optimizer) BaseRates() []float64 {
	out := make([]float64, 0, len(o.groups)+1)
	for _, g := range o.groups {
		out = append(out, g.Options.LR)
	}
	return append(out, o.defaults.LR)
}

// Attach allocates state for params on dev. Each parameter belongs to the first group listing
// it, or to the default group.
func (o *Optimizer) Attach(dev backend.Device, params []backend.Buffer) error {
	o.Close()
	owner := make([]int, len(params)) // group index, len(o.groups) for the default group
	for i := range owner {
		owner[i] = len(o.groups)
	}
	for gi := len(o.groups) - 1; gi >= 0; gi-- {
		for _, pi := range o.groups[gi].Params {
			if pi < 0 || pi >= len(params) {
				return fmt.Errorf("optim: group %d names parameter %d of %d: %w", gi, pi, len(params), ErrInvalid)
			}
			owner[pi] = gi
		}
	}
	all := append(append([]Group(nil), o.groups...), Group{Options: o.defaults})
	o.dev, o.steps = dev, 0
	for gi, g := range all {
		gs := groupState{Group: Group{Options: g.Options}, index: gi}
		for pi, ow := range owner {
			if ow == gi {
				gs.Params = append(gs.Params, pi)
				gs.params = append(gs.params, params[pi])
				gs.gradIdx = append(gs.gradIdx, pi)
			}
		}
		if len(gs.Params) == 0 {
			continue
		}
		gs.state = make([][]backend.Buffer, len(o.desc.States(gs.Options)))
		init := 0.0
		if o.desc.Init != nil {
			init = o.desc.Init(gs.Options)
		}
		for k := range gs.state {
			for _, p := range gs.params {
				b, err := dev.Alloc(p.DType(), p.Len())
				if err == nil {
					err = dev.Fill(b, init)
				}
				if err != nil {
					o.Close()
					return fmt.Errorf("optim: %s: allocating state: %w", o.Name(), err)
				}
				gs.state[k] = append(gs.state[k], b)
			}
		}
		gs.grads = make([]backend.Buffer, len(gs.params))
		o.attach = append(o.attach, gs)
	}
	o.carry = make([]float64, len(o.attach))
	o.lastLRs = make([]float64, len(o.attach))
	for i, gs := range o.attach {
		o.carry[i] = 1
		o.lastLRs[i] = gs.Options.LR
	}
	return nil
}

// Step applies one update with grads (parallel to the attached params) at each group's own rate
// (Options.LR), one device call per group.
func (o *Optimizer) Step(grads []backend.Buffer) error { return o.StepAt(grads, nil) }

// StepAt is Step at the given rates, one per group in BaseRates order (a Scheduler's Rates); nil
// means each group's own. The device checks a call before changing anything, so an error (a
// programming error: mismatched buffers) leaves that group untouched, though earlier groups have
// been updated.
func (o *Optimizer) StepAt(grads []backend.Buffer, rates []float64) error {
	if o.dev == nil {
		return fmt.Errorf("optim: %s: Step before Attach: %w", o.Name(), ErrInvalid)
	}
	if rates != nil && len(rates) != len(o.groups)+1 {
		return fmt.Errorf("optim: %s: %d rates for %d groups (the default group last): %w", o.Name(), len(rates), len(o.groups)+1, ErrInvalid)
	}
	t := o.steps + 1
	for gi := range o.attach {
		gs := &o.attach[gi]
		for i, pi := range gs.gradIdx {
			if pi >= len(grads) {
				return fmt.Errorf("optim: %s: %d gradients for %d parameters: %w", o.Name(), len(grads), pi+1, ErrInvalid)
			}
			gs.grads[i] = grads[pi]
		}
		lr := gs.Options.LR
		if rates != nil {
			lr = rates[gs.index]
		}
		o.nextCarry = o.carry[gi] // a field, not a local: a pointer to a local would escape to the heap
		gs.step = o.desc.Step(gs.Options, lr, t, &o.nextCarry)
		if err := o.dev.OptimizerStep(&gs.step, gs.params, gs.grads, gs.state); err != nil {
			return fmt.Errorf("optim: %s step %d: %w", o.Name(), t, err)
		}
		o.carry[gi] = o.nextCarry // only once the step has been applied
		o.lastLRs[gi] = lr
	}
	o.steps++
	return nil
}

// Steps is the number of updates applied.
func (o *Optimizer) Steps() int { return o.steps }

// Close frees the optimizer's state.
func (o *Optimizer) Close() {
	if o.dev != nil {
		for _, gs := range o.attach {
			for _, l := range gs.state {
				for _, b := range l {
					o.dev.Free(b)
				}
			}
		}
	}
	o.attach, o.dev = nil, nil
}

// State is an optimizer's checkpoint: its name, step count, per-group carried scalars and every
// state tensor, in attach order (group by group, state kind by kind, parameter by parameter).
type State struct {
	Name  string
	Steps int
	// LRs are the rates of the last step, per attached group, and DefaultLR the default group's
	// (a record: the rate belongs to the Scheduler, whose state restores it).
	LRs       []float64
	DefaultLR float64
	// MuProduct is each attached group's carried scalar (Description.Step's carry: NAdam's
	// product of momentum coefficients; 1 for the others). The name is the format's.
	MuProduct []float64
	Tensors   [][]float64
}

// Snapshot reads the optimizer's state back to the host.
func (o *Optimizer) Snapshot() (State, error) {
	s := State{Name: o.defaults.Name, Steps: o.steps, DefaultLR: o.defaults.LR, MuProduct: append([]float64(nil), o.carry...),
		LRs: append([]float64(nil), o.lastLRs...)}
	if n := len(o.attach); n > 0 && o.attach[n-1].index == len(o.groups) {
		s.DefaultLR = o.lastLRs[n-1]
	}
	for _, gs := range o.attach {
		for _, l := range gs.state {
			for _, b := range l {
				v, err := readF64(o.dev, b)
				if err != nil {
					return State{}, fmt.Errorf("optim: snapshot: %w", err)
				}
				s.Tensors = append(s.Tensors, v)
			}
		}
	}
	return s, nil
}

// Restore loads a snapshot into an attached optimizer with the same parameters and groups.
func (o *Optimizer) Restore(s State) error {
	if o.dev == nil {
		return fmt.Errorf("optim: restore before Attach: %w", ErrInvalid)
	}
	if s.Name != o.defaults.Name || len(s.LRs) != len(o.attach) || len(s.MuProduct) != len(o.carry) {
		return fmt.Errorf("optim: restore: the checkpoint is %s with %d groups, this optimizer is %s with %d: %w",
			s.Name, len(s.LRs), o.defaults.Name, len(o.attach), ErrInvalid)
	}
	k := 0
	for _, gs := range o.attach {
		for _, l := range gs.state {
			for _, b := range l {
				if k >= len(s.Tensors) || len(s.Tensors[k]) != b.Len() {
					return fmt.Errorf("optim: restore: state tensor %d does not match the model: %w", k, ErrInvalid)
				}
				k++
			}
		}
	}
	if k != len(s.Tensors) {
		return fmt.Errorf("optim: restore: %d state tensors, this optimizer has %d: %w", len(s.Tensors), k, ErrInvalid)
	}
	k = 0
	for gi := range o.attach {
		for _, l := range o.attach[gi].state {
			for _, b := range l {
				if err := writeF64(o.dev, b, s.Tensors[k]); err != nil {
					return fmt.Errorf("optim: restore: %w", err)
				}
				k++
			}
		}
	}
	o.steps = s.Steps
	copy(o.carry, s.MuProduct)
	copy(o.lastLRs, s.LRs)
	return nil
}

func readF64(dev backend.Device, b backend.Buffer) ([]float64, error) {
	if b.DType() == backend.Float64 {
		out := make([]float64, b.Len())
		return out, dev.Read(out, b)
	}
	f := make([]float32, b.Len())
	if err := dev.Read(f, b); err != nil {
		return nil, err
	}
	out := make([]float64, len(f))
	for i, v := range f {
		out[i] = float64(v)
	}
	return out, nil
}

func writeF64(dev backend.Device, b backend.Buffer, v []float64) error {
	if b.DType() == backend.Float64 {
		return dev.Write(b, v)
	}
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return dev.Write(b, f)
}
