package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Model is a network the trainer trains, checkpoints, evaluates and sweeps: anything that
// builds a Gorgonia graph for a batch size. Three implementations ship: Spec (the MLP grammar
// "784-256-256-10"), Seq (convolutional networks, "1x28x28-conv(32,3,pad=1)-...") and Func (a
// graph written by hand as a Go function).
type Model interface {
	// String describes the model in one stable line. A checkpoint records it, and a checkpoint
	// of another description is refused.
	String() string
	// InputShape is the shape of one example: [features], or [channels, height, width].
	InputShape() []int
	// Outputs is the number of logits per example.
	Outputs() int
	// LossKind is the fused loss the logits go into.
	LossKind() kernels.Loss
	// Params describes the trainable parameters, in the order Build returns their nodes.
	Params() []Param
	// InitParams draws the parameters' initial values from rng (a seeded stream), in Params
	// order: the same rng state gives the same values on every machine.
	InitParams(scheme Init, rng *rand.Rand) [][]float64
	// Build makes the graph for one batch size. Training builds the gradients and the
	// training-mode ops (dropout masks, batch statistics); otherwise the graph evaluates.
	Build(batch int, dt tensor.Dtype, training bool) (*Graph, error)
}

// ParamKind says how a parameter starts.
type ParamKind uint8

// The kinds.
const (
	// Weight is drawn from the Init scheme with its fans: [in, out] for a dense layer's weight,
	// [out, in, kh, kw] for a convolution's (fan-in in·kh·kw, fan-out out·kh·kw).
	Weight ParamKind = iota
	// Bias starts at 0.
	Bias
	// Scale starts at 1 (a normalisation's gain).
	Scale
)

// Param describes one trainable parameter.
type Param struct {
	Name  string
	Shape []int
	Kind  ParamKind
	// Act is the activation after the layer, for InitAuto (He for the ReLU family, Glorot
	// otherwise); Identity when none follows.
	Act kernels.Activation
}

// Size is the number of elements (in float64, so absurd shapes do not overflow).
func (p Param) Size() float64 {
	n := 1.0
	for _, d := range p.Shape {
		n *= float64(d)
	}
	return n
}

// fans returns a weight's fan-in and fan-out.
func (p Param) fans() (in, out int) {
	switch len(p.Shape) {
	case 2:
		return p.Shape[0], p.Shape[1]
	case 4:
		k := p.Shape[2] * p.Shape[3]
		return p.Shape[1] * k, p.Shape[0] * k
	}
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n, n
}

// Shapes returns the parameters' shapes, in order.
func Shapes(ps []Param) [][]int {
	out := make([][]int, len(ps))
	for i, p := range ps {
		out[i] = slices.Clone(p.Shape)
	}
	return out
}

// Count is the number of scalar parameters of a model, in float64.
func Count(m Model) float64 {
	n := 0.0
	for _, p := range m.Params() {
		n += p.Size()
	}
	return n
}

// InitParamsOf draws every parameter of ps in order from rng: weights from scheme (InitAuto: He
// for the ReLU family, Glorot otherwise, by each parameter's Act), biases at 0, scales at 1.
// Glorot is uniform in ±√(6/(fan_in+fan_out)), He normal with variance 2/fan_in.
func InitParamsOf(ps []Param, scheme Init, rng *rand.Rand) [][]float64 {
	out := make([][]float64, len(ps))
	for i, p := range ps {
		v := make([]float64, int(p.Size()))
		switch p.Kind {
		case Bias:
		case Scale:
			for j := range v {
				v[j] = 1
			}
		default:
			in, fo := p.fans()
			he := scheme == InitHe
			if scheme == InitAuto {
				he = reluLike(p.Act)
			}
			if he {
				std := math.Sqrt(2 / float64(in))
				for j := range v {
					v[j] = rng.NormFloat64() * std
				}
			} else {
				a := math.Sqrt(6 / float64(in+fo))
				for j := range v {
					v[j] = (2*rng.Float64() - 1) * a
				}
			}
		}
		out[i] = v
	}
	return out
}

// reluLike reports whether act is of the ReLU family, for which He initialisation keeps the
// activations' variance.
func reluLike(act kernels.Activation) bool {
	switch act {
	case kernels.ReLU, kernels.LeakyReLU, kernels.ELU, kernels.GELU, kernels.GELUTanh, kernels.SiLU:
		return true
	}
	return false
}

// Graph is a built model: the graph and its named nodes.
type Graph struct {
	Model  Model
	Graph  *G.ExprGraph
	X      *G.Node   // inputs [batch, InputShape...]
	Y      *G.Node   // targets [batch, Outputs]
	Logits *G.Node   // [batch, Outputs]
	Loss   *G.Node   // scalar mean loss
	Params []*G.Node // in Model.Params order
	Grads  []*G.Node // ∂Loss/∂Params in the same order; nil unless built for training
	// State are the non-trainable state nodes (batch normalisation's running statistics) with
	// their initial values, in a fixed order: a trainer binds a buffer to each, in training and
	// evaluation graphs alike, and checkpoints them.
	State []nn.State
}

// Input returns the input node of a graph for batch examples of m, named "x": what a Model's
// Build starts from.
func Input(g *G.ExprGraph, m Model, batch int, dt tensor.Dtype) *G.Node {
	shape := append([]int{batch}, m.InputShape()...)
	return G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName("x"))
}

// ParamNodes returns a leaf node per parameter of ps, named and shaped as declared.
func ParamNodes(g *G.ExprGraph, ps []Param, dt tensor.Dtype) []*G.Node {
	out := make([]*G.Node, len(ps))
	for i, p := range ps {
		out[i] = G.NewTensor(g, dt, len(p.Shape), G.WithShape(p.Shape...), G.WithName(p.Name))
	}
	return out
}

// Finish completes a model's graph from its logits: the targets node, the fused loss, the
// gradients (when training) and the state nodes; it checks the logits' shape and that params
// are the model's. Every Model's Build ends with it.
func Finish(m Model, g *G.ExprGraph, x, logits *G.Node, params []*G.Node, training bool) (*Graph, error) {
	batch := x.Shape()[0]
	if want := (tensor.Shape{batch, m.Outputs()}); !logits.Shape().Eq(want) {
		return nil, fmt.Errorf("models: %v: the logits have shape %v, want %v (batch, Outputs): %w", m, logits.Shape(), want, ErrSpec)
	}
	ps := m.Params()
	if len(params) != len(ps) {
		return nil, fmt.Errorf("models: %v: %d parameter nodes for %d parameters: %w", m, len(params), len(ps), ErrSpec)
	}
	for i, p := range ps {
		if !params[i].Shape().Eq(tensor.Shape(p.Shape)) {
			return nil, fmt.Errorf("models: %v: parameter %s has shape %v, Params says %v: %w", m, p.Name, params[i].Shape(), p.Shape, ErrSpec)
		}
	}
	out := &Graph{Model: m, Graph: g, X: x, Logits: logits, Params: params}
	out.Y = G.NewMatrix(g, logits.Dtype(), G.WithShape(batch, m.Outputs()), G.WithName("y"))
	loss, err := nn.FusedLoss(logits, out.Y, m.LossKind())
	if err != nil {
		return nil, fmt.Errorf("models: %v: loss: %w", m, err)
	}
	out.Loss = loss
	if training {
		if out.Grads, err = G.Grad(out.Loss, params...); err != nil {
			return nil, fmt.Errorf("models: %v: gradients: %w", m, err)
		}
	}
	if out.State, err = nn.StateNodes(g); err != nil {
		return nil, fmt.Errorf("models: %v: %w", m, err)
	}
	return out, nil
}

// Check validates what every Model must satisfy before it is built: a positive input shape and
// output count, a valid loss (bce-logits with one output), named parameters of positive shapes
// with distinct names.
func Check(m Model) error {
	in := m.InputShape()
	if len(in) == 0 || slices.ContainsFunc(in, func(d int) bool { return d <= 0 }) {
		return fmt.Errorf("models: %v: input shape %v must have positive sizes: %w", m, in, ErrSpec)
	}
	if m.Outputs() <= 0 {
		return fmt.Errorf("models: %v: %d outputs: want at least 1: %w", m, m.Outputs(), ErrSpec)
	}
	if !m.LossKind().Valid() {
		return fmt.Errorf("models: %v: loss %v: %w", m, m.LossKind(), ErrSpec)
	}
	if m.LossKind() == kernels.BCEWithLogits && m.Outputs() != 1 {
		return fmt.Errorf("models: %v: bce-logits needs a single output unit, the model has %d: %w", m, m.Outputs(), ErrSpec)
	}
	seen := map[string]bool{}
	for i, p := range m.Params() {
		if strings.TrimSpace(p.Name) == "" || seen[p.Name] {
			return fmt.Errorf("models: %v: parameter %d's name %q is empty or not unique: %w", m, i, p.Name, ErrSpec)
		}
		seen[p.Name] = true
		if len(p.Shape) == 0 || slices.ContainsFunc(p.Shape, func(d int) bool { return d <= 0 }) {
			return fmt.Errorf("models: %v: parameter %s has shape %v: want positive sizes: %w", m, p.Name, p.Shape, ErrSpec)
		}
	}
	return nil
}

// Activations estimates the values one example computes in the forward pass (its input, and
// every layer's output): what the memory of a batch's activations scales with. Spec and Seq
// count their layers; another model is built for one example and its nodes summed.
func Activations(m Model) float64 {
	if a, ok := m.(interface{ activations() float64 }); ok {
		return a.activations()
	}
	g, err := m.Build(1, tensor.Float32, false)
	if err != nil {
		return 0
	}
	n := 0.0
	for _, node := range g.Graph.AllNodes() {
		n += float64(node.Shape().TotalSize())
	}
	return n
}

func (s Spec) activations() float64 {
	n := float64(s.Inputs)
	for _, l := range s.Layers {
		n += float64(l.Units)
	}
	return n
}

func (s Seq) activations() float64 {
	n := float64(prod(s.Input))
	shapes, _ := s.shapes()
	for _, sh := range shapes {
		v := 1.0
		for _, d := range sh {
			v *= float64(d)
		}
		n += v
	}
	return n
}
