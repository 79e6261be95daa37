// Package models builds Gorgonia expression graphs for the networks gotrain trains, from a
// compact spec: logistic regression ("784-10") and multi-layer perceptrons ("784-256-256-10").
// Graphs use our own ops from package models/nn (activations, bias add, fused losses), so their
// gradients are our backward kernels. This package makes graphs only: it never touches a device.
package models

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrSpec is wrapped by every invalid-spec error.
var ErrSpec = errors.New("models: invalid spec")

// Layer is one dense layer: Units outputs followed by an activation. The last layer's activation
// must be Identity: its outputs are logits that go into a fused loss.
type Layer struct {
	Units int
	Act   kernels.Activation
	Alpha float64
}

// Spec describes a dense network.
type Spec struct {
	Inputs int
	Layers []Layer
	Loss   kernels.Loss
}

// ParseSpec reads "784-256-256-10": the input width, hidden widths and the output width.
// Hidden layers use act (with its default alpha) unless a layer names its own, as in
// "784-256:tanh-128:leakyrelu-10". "784-10" is logistic (softmax) regression.
func ParseSpec(s string, act kernels.Activation, loss kernels.Loss) (Spec, error) {
	parts := strings.Split(strings.TrimSpace(s), "-")
	if len(parts) < 2 {
		return Spec{}, fmt.Errorf("models: spec %q: want at least input and output widths, as in 784-10: %w", s, ErrSpec)
	}
	var spec Spec
	spec.Loss = loss
	for i, p := range parts {
		width, actName, hasAct := strings.Cut(p, ":")
		units, err := strconv.Atoi(width)
		if err != nil || units <= 0 {
			return Spec{}, fmt.Errorf("models: spec %q: layer %d width %q is not a positive integer: %w", s, i, width, ErrSpec)
		}
		if i == 0 {
			if hasAct {
				return Spec{}, fmt.Errorf("models: spec %q: the input width takes no activation: %w", s, ErrSpec)
			}
			spec.Inputs = units
			continue
		}
		l := Layer{Units: units, Act: act, Alpha: act.DefaultAlpha()}
		if i == len(parts)-1 {
			l.Act, l.Alpha = kernels.Identity, 0
			if hasAct {
				return Spec{}, fmt.Errorf("models: spec %q: the output layer gives logits to the loss and takes no activation: %w", s, ErrSpec)
			}
		} else if hasAct {
			a, err := kernels.ParseActivation(actName)
			if err != nil {
				return Spec{}, fmt.Errorf("models: spec %q: layer %d: %w", s, i, err)
			}
			l.Act, l.Alpha = a, a.DefaultAlpha()
		}
		spec.Layers = append(spec.Layers, l)
	}
	return spec, spec.Validate()
}

// String renders the spec in ParseSpec's form, naming every hidden activation.
func (s Spec) String() string {
	var sb strings.Builder
	sb.WriteString(strconv.Itoa(s.Inputs))
	for i, l := range s.Layers {
		fmt.Fprintf(&sb, "-%d", l.Units)
		if i < len(s.Layers)-1 {
			fmt.Fprintf(&sb, ":%v", l.Act)
		}
	}
	return sb.String()
}

// Validate checks widths, activations and the loss.
func (s Spec) Validate() error {
	if s.Inputs <= 0 {
		return fmt.Errorf("models: input width %d must be positive: %w", s.Inputs, ErrSpec)
	}
	if len(s.Layers) == 0 {
		return fmt.Errorf("models: no layers: %w", ErrSpec)
	}
	for i, l := range s.Layers {
		if l.Units <= 0 {
			return fmt.Errorf("models: layer %d width %d must be positive: %w", i+1, l.Units, ErrSpec)
		}
		if !l.Act.Valid() {
			return fmt.Errorf("models: layer %d activation %v: %w", i+1, l.Act, ErrSpec)
		}
		if math.IsNaN(l.Alpha) || math.IsInf(l.Alpha, 0) {
			return fmt.Errorf("models: layer %d alpha %v must be finite: %w", i+1, l.Alpha, ErrSpec)
		}
	}
	if last := s.Layers[len(s.Layers)-1]; last.Act != kernels.Identity {
		return fmt.Errorf("models: the output layer has activation %v; it must give logits (identity) to the fused loss: %w", last.Act, ErrSpec)
	}
	if !s.Loss.Valid() {
		return fmt.Errorf("models: loss %v: %w", s.Loss, ErrSpec)
	}
	if s.Loss == kernels.BCEWithLogits && s.Outputs() != 1 {
		// Multi-label BCE is fine mathematically, but accuracy (argmax) would mislead; keep the
		// spec honest until a multi-label metric exists.
		return fmt.Errorf("models: bce-logits needs a single output unit, the spec has %d: %w", s.Outputs(), ErrSpec)
	}
	return nil
}

// Outputs is the width of the last layer.
func (s Spec) Outputs() int { return s.Layers[len(s.Layers)-1].Units }

// ParamShapes lists the shapes of the parameters in Build's order: W1 [in,out], b1 [out], W2, ...
func (s Spec) ParamShapes() [][]int {
	var out [][]int
	in := s.Inputs
	for _, l := range s.Layers {
		out = append(out, []int{in, l.Units}, []int{l.Units})
		in = l.Units
	}
	return out
}

// ParamCount is the number of scalar parameters.
func (s Spec) ParamCount() int {
	n := 0
	for _, sh := range s.ParamShapes() {
		p := 1
		for _, d := range sh {
			p *= d
		}
		n += p
	}
	return n
}

// Params names the parameters in Build's order: w1 [in, out], b1 [out], w2, b2, ...
func (s Spec) Params() []Param {
	var out []Param
	in := s.Inputs
	for i, l := range s.Layers {
		out = append(out, Param{Name: fmt.Sprintf("w%d", i+1), Shape: []int{in, l.Units}, Kind: Weight, Act: l.Act},
			Param{Name: fmt.Sprintf("b%d", i+1), Shape: []int{l.Units}, Kind: Bias})
		in = l.Units
	}
	return out
}

// InputShape is [Inputs].
func (s Spec) InputShape() []int { return []int{s.Inputs} }

// LossKind is the spec's loss.
func (s Spec) LossKind() kernels.Loss { return s.Loss }

// Build makes the graph for one batch size. With training, gorgonia.Grad adds the backward
// pass.
func (s Spec) Build(batch int, dt tensor.Dtype, training bool) (*Graph, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if batch <= 0 {
		return nil, fmt.Errorf("models: batch size %d must be positive: %w", batch, ErrSpec)
	}
	g := G.NewGraph()
	x := Input(g, s, batch, dt)
	params := ParamNodes(g, s.Params(), dt)
	h := x
	for i, l := range s.Layers {
		z, err := G.Mul(h, params[2*i])
		if err != nil {
			return nil, fmt.Errorf("models: layer %d matmul: %w", i+1, err)
		}
		if z, err = nn.BiasAdd(z, params[2*i+1]); err != nil {
			return nil, fmt.Errorf("models: layer %d: %w", i+1, err)
		}
		if l.Act != kernels.Identity {
			if z, err = nn.Activate(z, l.Act, l.Alpha); err != nil {
				return nil, fmt.Errorf("models: layer %d: %w", i+1, err)
			}
		}
		h = z
	}
	return Finish(s, g, x, h, params, training)
}

// Init names a weight initialisation scheme. Biases always start at zero.
type Init uint8

// The schemes.
const (
	// InitAuto picks He for the ReLU family and Glorot otherwise, per layer.
	InitAuto Init = iota
	// InitGlorot is Glorot/Xavier uniform: U(±sqrt(6/(fan_in+fan_out))).
	InitGlorot
	// InitHe is He/Kaiming normal: N(0, 2/fan_in).
	InitHe
)

// ParseInit maps "auto", "glorot" (or "xavier") and "he" (or "kaiming") to a scheme.
func ParseInit(s string) (Init, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return InitAuto, nil
	case "glorot", "xavier":
		return InitGlorot, nil
	case "he", "kaiming":
		return InitHe, nil
	}
	return 0, fmt.Errorf("models: unknown init %q (want auto, glorot or he): %w", s, ErrSpec)
}

// String is the name ParseInit accepts.
func (i Init) String() string {
	return [...]string{"auto", "glorot", "he"}[min(int(i), 2)]
}

// InitParams draws initial parameters from rng in Params order (InitParamsOf). The same rng
// state gives the same values on every machine.
func (s Spec) InitParams(scheme Init, rng *rand.Rand) [][]float64 {
	return InitParamsOf(s.Params(), scheme, rng)
}
