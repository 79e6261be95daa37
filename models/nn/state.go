package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Flatten reshapes x [N, ...] to [N, rest] (PyTorch's Flatten with start_dim 1): an alias, no
// copy, on every device.
func Flatten(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	if len(s) < 2 {
		return nil, fmt.Errorf("nn: Flatten: input %v has no axis to flatten: %w", s, ErrInvalid)
	}
	if len(s) == 2 {
		return x, nil
	}
	return G.Reshape(x, tensor.Shape{s[0], s.TotalSize() / s[0]})
}

// StateInput is one input of a Stateful op that is state: its index among the op's inputs and
// the value every element starts at.
type StateInput struct {
	Index int
	Init  float64
}

// Stateful is implemented by graph ops that keep non-trainable state between steps in some of
// their inputs (batch normalisation's running statistics), which must be leaves: the op updates
// them in place, a trainer binds a buffer to each, saves it in checkpoints and restores it.
type Stateful interface {
	StateInputs() []StateInput
}

// State is one state node of a graph and its initial value.
type State struct {
	Node *G.Node
	Init float64
}

// StateNodes returns the state nodes of g's Stateful ops, each once, in a fixed order (the
// graph's topological order, then input order), so that a model's state lines up with a
// checkpoint written by the same model. A state input that is not a leaf, or two ops that start
// one node at different values, is an error.
func StateNodes(g *G.ExprGraph) ([]State, error) {
	sorted, err := G.Sort(g)
	if err != nil {
		return nil, fmt.Errorf("nn: StateNodes: %w", err)
	}
	var out []State
	at := map[*G.Node]int{}
	for i := len(sorted) - 1; i >= 0; i-- { // leaves-first order, as the executor walks
		n := sorted[i]
		st, ok := n.Op().(Stateful)
		if !ok {
			continue
		}
		in := inputs(g, n)
		for _, s := range st.StateInputs() {
			if s.Index >= len(in) {
				return nil, fmt.Errorf("nn: StateNodes: %v names input %d of %d: %w", n.Op(), s.Index, len(in), ErrInvalid)
			}
			sn := in[s.Index]
			if sn.Op() != nil {
				return nil, fmt.Errorf("nn: StateNodes: state %q of %v is not a leaf: %w", sn.Name(), n.Op(), ErrInvalid)
			}
			if j, seen := at[sn]; seen {
				if out[j].Init != s.Init {
					return nil, fmt.Errorf("nn: StateNodes: state %q starts at %v and at %v: %w", sn.Name(), out[j].Init, s.Init, ErrInvalid)
				}
				continue
			}
			at[sn] = len(out)
			out = append(out, State{Node: sn, Init: s.Init})
		}
	}
	return out, nil
}

// inputs returns n's input nodes in order.
func inputs(g *G.ExprGraph, n *G.Node) []*G.Node {
	it := g.From(n.ID())
	out := make([]*G.Node, 0, it.Len())
	for it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}
