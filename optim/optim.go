// Package optim holds gotrain's optimizers, learning-rate schedules, gradient clipping and the
// learning-rate range test. Optimizers follow PyTorch's torch.optim semantics and defaults
// exactly (users carry those in their heads); where Gorgonia's solvers differ, the doc comment
// says so. The update rules are in package kernels (pure-Go twins) and run on the device in one
// multi-tensor call per parameter group and step, so optimizer state never leaves the device.
package optim

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// ErrInvalid is wrapped by every invalid-hyperparameter error.
var ErrInvalid = errors.New("optim: invalid hyperparameter")

// Options are an optimizer's hyperparameters, with PyTorch's names. Defaults(name) fills them
// as torch.optim does; a field a rule does not use is ignored.
type Options struct {
	// Name is the rule: sgd, rmsprop, adam, adamw, adagrad or nadam.
	Name        string
	LR          float64
	WeightDecay float64 // L2 added to the gradient; decoupled for adamw (and nadam with Decoupled)

	Momentum, Dampening float64 // sgd; Momentum also rmsprop
	Nesterov            bool    // sgd

	Beta1, Beta2, Eps float64 // adam, adamw, nadam; Eps also rmsprop and adagrad
	AMSGrad           bool    // adam, adamw

	Alpha    float64 // rmsprop smoothing constant
	Centered bool    // rmsprop

	LRDecay            float64 // adagrad
	InitialAccumulator float64 // adagrad's initial_accumulator_value

	MomentumDecay float64 // nadam
	Decoupled     bool    // nadam's decoupled_weight_decay (NAdamW); implied by adamw
}

// Names lists the rules New accepts; "momentum" and "nesterov" are CLI shorthands for SGD with
// momentum 0.9 (and Nesterov's correction).
func Names() []string {
	return []string{"sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "adagrad", "nadam"}
}

// Defaults returns torch.optim's defaults for the named rule, with learning rate lr.
func Defaults(name string, lr float64) (Options, error) {
	o := Options{Name: strings.ToLower(strings.TrimSpace(name)), LR: lr}
	switch o.Name {
	case "sgd":
	case "momentum":
		o.Name, o.Momentum = "sgd", 0.9
	case "nesterov":
		o.Name, o.Momentum, o.Nesterov = "sgd", 0.9, true
	case "rmsprop":
		o.Alpha, o.Eps = 0.99, 1e-8
	case "adam":
		o.Beta1, o.Beta2, o.Eps = 0.9, 0.999, 1e-8
	case "adamw":
		o.Beta1, o.Beta2, o.Eps, o.WeightDecay = 0.9, 0.999, 1e-8, 0.01
	case "adagrad":
		o.Eps = 1e-10
	case "nadam":
		o.Beta1, o.Beta2, o.Eps, o.MomentumDecay = 0.9, 0.999, 1e-8, 4e-3
	default:
		return o, fmt.Errorf("optim: unknown optimizer %q (want one of %s): %w", name, strings.Join(Names(), ", "), ErrInvalid)
	}
	return o, nil
}

func (o Options) rule() kernels.Rule {
	switch o.Name {
	case "adam", "adamw":
		return kernels.RuleAdam
	case "rmsprop":
		return kernels.RuleRMSProp
	case "adagrad":
		return kernels.RuleAdagrad
	case "nadam":
		return kernels.RuleNAdam
	}
	return kernels.RuleSGD
}

// Validate checks every hyperparameter the rule uses, as torch.optim does, naming the bad one
// and its value.
func (o Options) Validate() error {
	bad := func(param string, v any, want string) error {
		return fmt.Errorf("optim: %s: %s %v: want %s: %w", o.Name, param, v, want, ErrInvalid)
	}
	nonNeg := func(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }
	unit := func(v float64) bool { return v >= 0 && v < 1 }
	if _, err := Defaults(o.Name, 0); err != nil {
		return err
	}
	if !nonNeg(o.LR) {
		return bad("lr", o.LR, "finite and >= 0")
	}
	if !nonNeg(o.WeightDecay) {
		return bad("weight_decay", o.WeightDecay, "finite and >= 0")
	}
	switch o.Name {
	case "sgd":
		if !(o.Momentum >= 0 && o.Momentum <= 1) {
			return bad("momentum", o.Momentum, "in [0, 1]")
		}
		if !(o.Dampening >= 0 && o.Dampening <= 1) {
			return bad("dampening", o.Dampening, "in [0, 1]")
		}
		if o.Nesterov && (o.Momentum <= 0 || o.Dampening != 0) {
			return bad("nesterov", fmt.Sprintf("with momentum %v and dampening %v", o.Momentum, o.Dampening), "momentum > 0 and dampening 0")
		}
	case "rmsprop":
		if !unit(o.Alpha) {
			return bad("alpha", o.Alpha, "in [0, 1)")
		}
		if !nonNeg(o.Momentum) {
			return bad("momentum", o.Momentum, ">= 0")
		}
	case "adam", "adamw", "nadam":
		if !unit(o.Beta1) {
			return bad("beta1", o.Beta1, "in [0, 1)")
		}
		if !unit(o.Beta2) {
			return bad("beta2", o.Beta2, "in [0, 1)")
		}
		if o.Name == "nadam" && !nonNeg(o.MomentumDecay) {
			return bad("momentum_decay", o.MomentumDecay, ">= 0")
		}
	case "adagrad":
		if !nonNeg(o.LRDecay) {
			return bad("lr_decay", o.LRDecay, ">= 0")
		}
		if !nonNeg(o.InitialAccumulator) {
			return bad("initial_accumulator_value", o.InitialAccumulator, ">= 0")
		}
	}
	// eps keeps a division by a running second moment (or accumulator) finite. PyTorch accepts
	// 0, but then a parameter whose gradient is still 0 divides 0 by 0 on the first step and the
	// run dies later blaming a weight; refuse it here, where the cause is known.
	if o.Name != "sgd" && !(o.Eps > 0 && !math.IsInf(o.Eps, 0)) {
		return bad("eps", o.Eps, "finite and > 0 (it keeps a division by the second moment finite)")
	}
	return nil
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
// one device call per group and step.
type Optimizer struct {
	defaults Options
	groups   []Group

	dev    backend.Device
	attach []groupState
	steps  int
	// muProduct is NAdam's running product of momentum coefficients, per group.
	muProduct []float64
}

type groupState struct {
	Group
	params, grads []backend.Buffer
	state         [][]backend.Buffer
	// gradIdx maps the group's position to the index in the full gradient list.
	gradIdx []int
}

// New returns an optimizer with the given default options; groups (optional) override them for
// some parameters. Options are validated here and again at Attach.
func New(defaults Options, groups ...Group) (*Optimizer, error) {
	if err := defaults.Validate(); err != nil {
		return nil, err
	}
	groups = append([]Group(nil), groups...) // ours to fill in; the caller's slice stays as given
	for i, g := range groups {
		if g.Options.Name == "" {
			g.Options.Name = defaults.Name
		}
		if g.Options.Name != defaults.Name && g.Options.rule() != defaults.rule() {
			return nil, fmt.Errorf("optim: group %d uses %s, the optimizer is %s: %w", i, g.Options.Name, defaults.Name, ErrInvalid)
		}
		if err := g.Options.Validate(); err != nil {
			return nil, fmt.Errorf("optim: group %d: %w", i, err)
		}
		groups[i] = g
	}
	return &Optimizer{defaults: defaults, groups: groups}, nil
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

// Name is the rule's name ("adam", "sgd", ...), with "+momentum"/"+nesterov" for SGD variants.
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
		gs := groupState{Group: Group{Options: g.Options}}
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
		h := o.update(gs.Options, 1)
		gs.state = make([][]backend.Buffer, kernels.StateCount(h))
		init := 0.0
		if gs.Options.Name == "adagrad" {
			init = gs.Options.InitialAccumulator
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
	o.muProduct = make([]float64, len(o.attach))
	for i := range o.muProduct {
		o.muProduct[i] = 1
	}
	return nil
}

// update computes the kernel scalars of step t (from 1) for one group's options.
func (o *Optimizer) update(op Options, t int) kernels.UpdateParams {
	h := kernels.UpdateParams{Rule: op.rule(), LR: op.LR, WeightDecay: op.WeightDecay, Eps: op.Eps}
	switch op.Name {
	case "sgd":
		h.Momentum, h.Dampening, h.Nesterov, h.FirstStep = op.Momentum, op.Dampening, op.Nesterov, t == 1
	case "adam", "adamw":
		h.Beta1, h.Beta2, h.AMSGrad = op.Beta1, op.Beta2, op.AMSGrad
		h.BiasCorrection1, h.BiasCorrection2 = kernels.AdamBiasCorrections(op.Beta1, op.Beta2, t)
		if op.Name == "adamw" {
			h.WeightDecay, h.DecoupledDecay = 0, op.WeightDecay
		}
	case "rmsprop":
		h.Alpha, h.Momentum, h.Centered = op.Alpha, op.Momentum, op.Centered
	case "adagrad":
		h.LR = op.LR / (1 + float64(t-1)*op.LRDecay)
	case "nadam":
		h.Beta1, h.Beta2 = op.Beta1, op.Beta2
		_, h.BiasCorrection2 = kernels.AdamBiasCorrections(op.Beta1, op.Beta2, t)
		if op.Decoupled {
			h.WeightDecay, h.DecoupledDecay = 0, op.WeightDecay
		}
	}
	return h
}

// nadamCoefficients advances NAdam's momentum product for step t and returns the two step
// coefficients (PyTorch's mu, mu_next schedule with momentum_decay).
func nadamCoefficients(op Options, t int, muProduct *float64) (float64, float64) {
	mu := op.Beta1 * (1 - 0.5*math.Pow(0.96, float64(t)*op.MomentumDecay))
	muNext := op.Beta1 * (1 - 0.5*math.Pow(0.96, float64(t+1)*op.MomentumDecay))
	*muProduct *= mu
	return op.LR * (1 - mu) / (1 - *muProduct), op.LR * muNext / (1 - *muProduct*muNext)
}

// Step applies one update with grads (parallel to the attached params), one device call per
// group. The device checks a call before changing anything, so an error (a programming error:
// mismatched buffers) leaves that group untouched, though earlier groups have been updated.
func (o *Optimizer) Step(grads []backend.Buffer) error {
	if o.dev == nil {
		return fmt.Errorf("optim: %s: Step before Attach: %w", o.Name(), ErrInvalid)
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
		h := o.update(gs.Options, t)
		mp := o.muProduct[gi]
		if gs.Options.Name == "nadam" {
			h.NAdamGrad, h.NAdamMom = nadamCoefficients(gs.Options, t, &mp)
		}
		if err := o.dev.OptimizerStep(h, gs.params, gs.grads, gs.state); err != nil {
			return fmt.Errorf("optim: %s step %d: %w", o.Name(), t, err)
		}
		o.muProduct[gi] = mp // only once the step has been applied
	}
	o.steps++
	return nil
}

// Steps is the number of updates applied.
func (o *Optimizer) Steps() int { return o.steps }

// LR returns the default group's learning rate.
func (o *Optimizer) LR() float64 { return o.defaults.LR }

// SetLR sets the learning rate of every attached group, keeping each group's ratio to the
// default rate (so a schedule scales all groups alike, as PyTorch's schedulers do with per-group
// base rates). Attach starts the groups again from their own options.
func (o *Optimizer) SetLR(lr float64) {
	old := o.defaults.LR
	o.defaults.LR = lr
	for i := range o.attach {
		if old != 0 {
			o.attach[i].Options.LR *= lr / old
		} else {
			o.attach[i].Options.LR = lr
		}
	}
}

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

// State is an optimizer's checkpoint: options, step count, per-group NAdam products and every
// state tensor, in attach order (group by group, state kind by kind, parameter by parameter).
type State struct {
	Name      string
	Steps     int
	LRs       []float64 // per group, after the default group's
	DefaultLR float64
	MuProduct []float64
	Tensors   [][]float64
}

// Snapshot reads the optimizer's state back to the host.
func (o *Optimizer) Snapshot() (State, error) {
	s := State{Name: o.defaults.Name, Steps: o.steps, DefaultLR: o.defaults.LR, MuProduct: append([]float64(nil), o.muProduct...)}
	for _, gs := range o.attach {
		s.LRs = append(s.LRs, gs.Options.LR)
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
	if s.Name != o.defaults.Name || len(s.LRs) != len(o.attach) || len(s.MuProduct) != len(o.muProduct) {
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
		o.attach[gi].Options.LR = s.LRs[gi]
		for _, l := range o.attach[gi].state {
			for _, b := range l {
				if err := writeF64(o.dev, b, s.Tensors[k]); err != nil {
					return fmt.Errorf("optim: restore: %w", err)
				}
				k++
			}
		}
	}
	o.steps, o.defaults.LR = s.Steps, s.DefaultLR
	copy(o.muProduct, s.MuProduct)
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
