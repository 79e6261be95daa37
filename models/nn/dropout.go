package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

var (
	_ G.SDOp = DropoutOp{}
	_ G.Op   = DropoutGradOp{}
)

// Dropout zeroes each element of x with probability p and scales the others by 1/(1−p) when
// train is set (PyTorch's Dropout in training mode); otherwise, and for p = 0, it returns x
// itself (evaluation mode: the graph has no dropout op). The mask is drawn from Philox keyed by
// the plan's run-time seed and step (exec.Plan.SetSeed, SetStep), the layer and the element (see
// kernels.Dropout), so it changes every step without recompiling, is the same on every device,
// and a resumed run draws the masks of the uninterrupted one. Each dropout layer of a graph gets
// its own stream, numbered in the order the layers are built. On Gorgonia's TapeMachine (Do)
// the mask is that of seed 0 and step 0.
func Dropout(x *G.Node, p float64, train bool) (*G.Node, error) {
	d := kernels.Dropout{P: p}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("nn: Dropout: %w: %w", err, ErrInvalid)
	}
	if !train || p == 0 {
		return x, nil
	}
	if n := x.Shape().TotalSize(); n > kernels.MaxDropoutElems {
		return nil, fmt.Errorf("nn: Dropout: %d elements, more than %d: %w", n, kernels.MaxDropoutElems, ErrInvalid)
	}
	for _, n := range x.Graph().AllNodes() {
		if _, ok := n.Op().(DropoutOp); ok {
			d.Stream++
		}
	}
	return G.ApplyOp(DropoutOp{D: d}, x)
}

// DropoutOp is dropout in training mode.
type DropoutOp struct {
	pureOp
	D kernels.Dropout
}

// Arity is 1.
func (op DropoutOp) Arity() int { return 1 }

// Type is a → a.
func (op DropoutOp) Type() hm.Type { return sameType() }

// InferShape keeps x's shape.
func (op DropoutOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}

// Do runs the twin with seed 0 and step 0.
func (op DropoutOp) Do(in ...G.Value) (G.Value, error) {
	return doTwin(op, in, in[0].Shape(),
		func(dst []float32, v [][]float32) error { return kernels.DropoutForward(op.D, 0, 0, dst, v[0], 0) },
		func(dst []float64, v [][]float64) error { return kernels.DropoutForward(op.D, 0, 0, dst, v[0], 0) })
}

// Lower is backend.OpDropout.
func (op DropoutOp) Lower([]tensor.Shape, tensor.Shape) (*backend.Op, any, error) {
	d := op.D
	return backend.OpDropout, &d, nil
}

// WriteHash writes String.
func (op DropoutOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op DropoutOp) Hashcode() uint32 { return opHash(op) }

// String names p and the stream.
func (op DropoutOp) String() string {
	return fmt.Sprintf("dropout(p=%g, stream %d)", op.D.P, op.D.Stream)
}

// DiffWRT says the input is differentiable.
func (op DropoutOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff applies DropoutGradOp to dy.
func (op DropoutOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(DropoutGradOp(op), grad)
	return G.Nodes{dx}, err
}

// DropoutGradOp multiplies dy by the forward's mask.
type DropoutGradOp struct {
	pureOp
	D kernels.Dropout
}

// Arity is 1.
func (op DropoutGradOp) Arity() int { return 1 }

// Type is a → a.
func (op DropoutGradOp) Type() hm.Type { return sameType() }

// InferShape keeps dy's shape.
func (op DropoutGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}

// Do runs the twin with seed 0 and step 0.
func (op DropoutGradOp) Do(in ...G.Value) (G.Value, error) {
	return doTwin(op, in, in[0].Shape(),
		func(dst []float32, v [][]float32) error { return kernels.DropoutBackward(op.D, 0, 0, dst, v[0], 0) },
		func(dst []float64, v [][]float64) error { return kernels.DropoutBackward(op.D, 0, 0, dst, v[0], 0) })
}

// Lower is backend.OpDropoutGrad.
func (op DropoutGradOp) Lower([]tensor.Shape, tensor.Shape) (*backend.Op, any, error) {
	d := op.D
	return backend.OpDropoutGrad, &d, nil
}

// WriteHash writes String.
func (op DropoutGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op DropoutGradOp) Hashcode() uint32 { return opHash(op) }

// String names the op.
func (op DropoutGradOp) String() string { return DropoutOp(op).String() + "'" }
