package models

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gotrain/gotrain/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Func is a Model written by hand: declare the parameters, and Forward builds the logits from
// the input node with the graph ops of Gorgonia and of package models/nn. The trainer, the
// checkpoints, eval, sweep and lr-find take it like any other model (see ExampleFunc).
type Func struct {
	// Name describes the model in checkpoints; change it when the graph changes.
	Name string
	// Input is the shape of one example, Classes the number of logits, Loss the fused loss.
	Input   []int
	Classes int
	Loss    kernels.Loss
	// Weights are the trainable parameters; Forward finds their nodes by name (Nodes.Get).
	Weights []Param
	// Forward builds the logits [batch, Classes] from x [batch, Input...]; training says
	// whether dropout and batch statistics are on.
	Forward func(x *G.Node, p Nodes, training bool) (*G.Node, error)
}

// Nodes are a graph's parameter nodes by name.
type Nodes map[string]*G.Node

// Get returns the parameter node called name; a name the model did not declare panics, as a
// bug in Forward (an error return would be checked by nobody in a chain of ops).
func (n Nodes) Get(name string) *G.Node {
	p, ok := n[name]
	if !ok {
		panic(fmt.Sprintf("models: Forward asked for parameter %q, which the model does not declare", name))
	}
	return p
}

// String is the name.
func (f Func) String() string { return f.Name }

// InputShape is Input.
func (f Func) InputShape() []int { return slices.Clone(f.Input) }

// Outputs is Classes.
func (f Func) Outputs() int { return f.Classes }

// LossKind is Loss.
func (f Func) LossKind() kernels.Loss { return f.Loss }

// Params is Weights.
func (f Func) Params() []Param { return slices.Clone(f.Weights) }

// InitParams draws Weights with InitParamsOf.
func (f Func) InitParams(scheme Init, rng *rand.Rand) [][]float64 {
	return InitParamsOf(f.Weights, scheme, rng)
}

// Build makes the graph and runs Forward on it.
func (f Func) Build(batch int, dt tensor.Dtype, training bool) (g *Graph, err error) {
	if err := Check(f); err != nil {
		return nil, err
	}
	if f.Forward == nil {
		return nil, fmt.Errorf("models: %v: no Forward function: %w", f, ErrSpec)
	}
	if batch <= 0 {
		return nil, fmt.Errorf("models: batch size %d must be positive: %w", batch, ErrSpec)
	}
	eg := G.NewGraph()
	x := Input(eg, f, batch, dt)
	params := ParamNodes(eg, f.Weights, dt)
	byName := Nodes{}
	for i, p := range f.Weights {
		byName[p.Name] = params[i]
	}
	defer func() {
		// G.Must in Forward panics on a graph error; it is the model's error, not a crash.
		if r := recover(); r != nil {
			g, err = nil, fmt.Errorf("models: %v: Forward: %v: %w", f, r, ErrSpec)
		}
	}()
	logits, err := f.Forward(x, byName, training)
	if err != nil {
		return nil, fmt.Errorf("models: %v: Forward: %w", f, err)
	}
	return Finish(f, eg, x, logits, params, training)
}
