// Package optim holds gotrain's optimizers. They follow PyTorch's torch.optim semantics and
// defaults exactly (users carry those in their heads); the update rules themselves are in
// package kernels (the pure-Go twins) and run on the device through one multi-tensor call per
// step, so state never leaves the device.
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

// Optimizer updates a fixed list of parameter buffers from gradient buffers of the same shapes.
type Optimizer interface {
	// Name is the optimizer's registry name ("sgd", "adam", ...).
	Name() string
	// Attach validates the hyperparameters and allocates state for params on dev.
	Attach(dev backend.Device, params []backend.Buffer) error
	// Step applies one update with grads (parallel to the attached params).
	Step(grads []backend.Buffer) error
	// LR returns the current learning rate; SetLR changes it (schedules call it).
	LR() float64
	SetLR(lr float64)
	// Close frees the optimizer's state.
	Close()
}

func checkLR(name string, lr float64) error {
	if !(lr >= 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("optim: %s: lr %v must be finite and >= 0: %w", name, lr, ErrInvalid)
	}
	return nil
}

func checkRange(name, param string, v, lo, hi float64, hiOpen bool) error {
	ok := v >= lo && (v < hi || (!hiOpen && v == hi))
	if !ok || math.IsNaN(v) {
		bracket := "]"
		if hiOpen {
			bracket = ")"
		}
		return fmt.Errorf("optim: %s: %s %v not in [%v, %v%s: %w", name, param, v, lo, hi, bracket, ErrInvalid)
	}
	return nil
}

// allocLike allocates one zeroed buffer per param.
func allocLike(dev backend.Device, params []backend.Buffer) ([]backend.Buffer, error) {
	out := make([]backend.Buffer, len(params))
	for i, p := range params {
		b, err := dev.Alloc(p.DType(), p.Len())
		if err != nil {
			freeAll(dev, out)
			return nil, err
		}
		if err := dev.Fill(b, 0); err != nil {
			freeAll(dev, out)
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func freeAll(dev backend.Device, bs []backend.Buffer) {
	for _, b := range bs {
		if b != nil {
			dev.Free(b)
		}
	}
}

// SGD is torch.optim.SGD: plain, with momentum, dampening, Nesterov and L2 weight decay.
type SGD struct {
	LRate, Momentum, Dampening, WeightDecay float64
	Nesterov                                bool

	dev    backend.Device
	params []backend.Buffer
	moms   []backend.Buffer
	steps  int
}

// NewSGD returns plain SGD with learning rate lr (PyTorch's other defaults are all zero).
func NewSGD(lr float64) *SGD { return &SGD{LRate: lr} }

// Name is "sgd", or "momentum" when Momentum is set.
func (o *SGD) Name() string {
	if o.Momentum != 0 {
		return "momentum"
	}
	return "sgd"
}

// Validate checks the hyperparameters as torch.optim.SGD does.
func (o *SGD) Validate() error {
	if err := checkLR("sgd", o.LRate); err != nil {
		return err
	}
	if err := checkRange("sgd", "momentum", o.Momentum, 0, 1, false); err != nil {
		return err
	}
	if err := checkRange("sgd", "dampening", o.Dampening, 0, 1, false); err != nil {
		return err
	}
	if err := checkRange("sgd", "weight_decay", o.WeightDecay, 0, math.MaxFloat64, false); err != nil {
		return err
	}
	if o.Nesterov && (o.Momentum <= 0 || o.Dampening != 0) {
		return fmt.Errorf("optim: sgd: nesterov needs momentum > 0 and dampening 0 (have %v, %v): %w", o.Momentum, o.Dampening, ErrInvalid)
	}
	return nil
}

// Attach validates and allocates momentum buffers when Momentum is set.
func (o *SGD) Attach(dev backend.Device, params []backend.Buffer) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o.dev, o.params, o.steps = dev, params, 0
	if o.Momentum != 0 {
		m, err := allocLike(dev, params)
		if err != nil {
			return fmt.Errorf("optim: sgd: momentum buffers: %w", err)
		}
		o.moms = m
	}
	return nil
}

// Step applies one SGD update.
func (o *SGD) Step(grads []backend.Buffer) error {
	if o.dev == nil {
		return fmt.Errorf("optim: sgd: Step before Attach: %w", ErrInvalid)
	}
	h := kernels.SGDParams{LR: o.LRate, Momentum: o.Momentum, Dampening: o.Dampening,
		WeightDecay: o.WeightDecay, Nesterov: o.Nesterov, FirstStep: o.steps == 0}
	if err := o.dev.SGDStep(h, o.params, grads, o.moms); err != nil {
		return fmt.Errorf("optim: sgd step %d: %w", o.steps+1, err)
	}
	o.steps++
	return nil
}

// LR returns the learning rate.
func (o *SGD) LR() float64 { return o.LRate }

// SetLR sets the learning rate.
func (o *SGD) SetLR(lr float64) { o.LRate = lr }

// Close frees the momentum buffers.
func (o *SGD) Close() {
	if o.dev != nil {
		freeAll(o.dev, o.moms)
	}
	o.moms = nil
}

// Adam is torch.optim.Adam (WeightDecay as L2, added to the gradient) and, with Decoupled set,
// torch.optim.AdamW (weight decay applied to the weights, scaled by lr).
type Adam struct {
	LRate, Beta1, Beta2, Eps, WeightDecay float64
	AMSGrad, Decoupled                    bool

	dev             backend.Device
	params, m, v, w []backend.Buffer
	steps           int
}

// NewAdam returns Adam with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay.
func NewAdam(lr float64) *Adam { return &Adam{LRate: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// NewAdamW returns AdamW with PyTorch's defaults (weight_decay 0.01).
func NewAdamW(lr float64) *Adam {
	a := NewAdam(lr)
	a.Decoupled, a.WeightDecay = true, 0.01
	return a
}

// Name is "adam" or "adamw".
func (o *Adam) Name() string {
	if o.Decoupled {
		return "adamw"
	}
	return "adam"
}

// Validate checks the hyperparameters as torch.optim.Adam does.
func (o *Adam) Validate() error {
	n := o.Name()
	if err := checkLR(n, o.LRate); err != nil {
		return err
	}
	if err := checkRange(n, "beta1", o.Beta1, 0, 1, true); err != nil {
		return err
	}
	if err := checkRange(n, "beta2", o.Beta2, 0, 1, true); err != nil {
		return err
	}
	if err := checkRange(n, "eps", o.Eps, 0, math.MaxFloat64, false); err != nil {
		return err
	}
	return checkRange(n, "weight_decay", o.WeightDecay, 0, math.MaxFloat64, false)
}

// Attach validates and allocates the moment buffers.
func (o *Adam) Attach(dev backend.Device, params []backend.Buffer) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o.dev, o.params, o.steps = dev, params, 0
	var err error
	if o.m, err = allocLike(dev, params); err != nil {
		return fmt.Errorf("optim: %s: moment buffers: %w", o.Name(), err)
	}
	if o.v, err = allocLike(dev, params); err != nil {
		return fmt.Errorf("optim: %s: moment buffers: %w", o.Name(), err)
	}
	if o.AMSGrad {
		if o.w, err = allocLike(dev, params); err != nil {
			return fmt.Errorf("optim: %s: amsgrad buffers: %w", o.Name(), err)
		}
	}
	return nil
}

// Step applies one Adam update.
func (o *Adam) Step(grads []backend.Buffer) error {
	if o.dev == nil {
		return fmt.Errorf("optim: %s: Step before Attach: %w", o.Name(), ErrInvalid)
	}
	bc1, bc2 := kernels.AdamBiasCorrections(o.Beta1, o.Beta2, o.steps+1)
	h := kernels.AdamParams{LR: o.LRate, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps,
		BiasCorrection1: bc1, BiasCorrection2: bc2, AMSGrad: o.AMSGrad}
	if o.Decoupled {
		h.DecoupledDecay = o.WeightDecay
	} else {
		h.WeightDecay = o.WeightDecay
	}
	if err := o.dev.AdamStep(h, o.params, grads, o.m, o.v, o.w); err != nil {
		return fmt.Errorf("optim: %s step %d: %w", o.Name(), o.steps+1, err)
	}
	o.steps++
	return nil
}

// LR returns the learning rate.
func (o *Adam) LR() float64 { return o.LRate }

// SetLR sets the learning rate.
func (o *Adam) SetLR(lr float64) { o.LRate = lr }

// Close frees the moment buffers.
func (o *Adam) Close() {
	if o.dev != nil {
		freeAll(o.dev, o.m)
		freeAll(o.dev, o.v)
		freeAll(o.dev, o.w)
	}
	o.m, o.v, o.w = nil, nil, nil
}

// Names lists the optimizer names New accepts.
func Names() []string { return []string{"sgd", "momentum", "nesterov", "adam", "adamw"} }

// New returns the named optimizer with learning rate lr and PyTorch's defaults; "momentum" is
// SGD with momentum 0.9 and "nesterov" adds Nesterov's correction.
func New(name string, lr float64) (Optimizer, error) {
	var o Optimizer
	switch strings.ToLower(name) {
	case "sgd":
		o = NewSGD(lr)
	case "momentum":
		o = &SGD{LRate: lr, Momentum: 0.9}
	case "nesterov":
		o = &SGD{LRate: lr, Momentum: 0.9, Nesterov: true}
	case "adam":
		o = NewAdam(lr)
	case "adamw":
		o = NewAdamW(lr)
	default:
		return nil, fmt.Errorf("optim: unknown optimizer %q (want one of %s): %w", name, strings.Join(Names(), ", "), ErrInvalid)
	}
	if err := checkLR(name, lr); err != nil {
		return nil, err
	}
	return o, nil
}
