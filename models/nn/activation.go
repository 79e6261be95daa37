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

// Compile-time checks that each op is what Gorgonia expects.
var (
	_ G.SDOp = ActivationOp{}
	_ G.Op   = ActivationGradOp{}
)

// Activate applies act elementwise (alpha as documented on the kernels.Activation constants).
func Activate(x *G.Node, act kernels.Activation, alpha float64) (*G.Node, error) {
	if !act.Valid() {
		return nil, fmt.Errorf("nn: Activate: %v: %w", act, ErrInvalid)
	}
	return G.ApplyOp(ActivationOp{Act: act, Alpha: alpha}, x)
}

// ActivationOp is an elementwise activation.
type ActivationOp struct {
	pureOp
	Act   kernels.Activation
	Alpha float64
}

// Arity is 1.
func (op ActivationOp) Arity() int { return 1 }

// Type is a → a.
func (op ActivationOp) Type() hm.Type { return sameType() }

// InferShape keeps the input's shape.
func (op ActivationOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}

// Do runs the twin.
func (op ActivationOp) Do(in ...G.Value) (G.Value, error) {
	return doTwin(op, in, in[0].Shape(),
		func(dst []float32, x [][]float32) error {
			return kernels.ActivationForward(op.Act, op.Alpha, dst, x[0])
		},
		func(dst []float64, x [][]float64) error {
			return kernels.ActivationForward(op.Act, op.Alpha, dst, x[0])
		})
}

// Lower is backend.OpActivation.
func (op ActivationOp) Lower([]tensor.Shape, tensor.Shape) (*backend.Op, any, error) {
	return backend.OpActivation, &backend.ActivationAttrs{Act: op.Act, Alpha: op.Alpha}, nil
}

// WriteHash writes String.
func (op ActivationOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op ActivationOp) Hashcode() uint32 { return opHash(op) }

// String names the activation and its alpha.
func (op ActivationOp) String() string { return fmt.Sprintf("%v(α=%g)", op.Act, op.Alpha) }

// DiffWRT says the input is differentiable.
func (op ActivationOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff applies ActivationGradOp to (x, y, dy).
func (op ActivationOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(ActivationGradOp(op), inputs[0], output, grad)
	return G.Nodes{dx}, err
}

// ActivationGradOp computes dx = dy·f'(x) from (x, y = f(x), dy).
type ActivationGradOp struct {
	pureOp
	Act   kernels.Activation
	Alpha float64
}

// Arity is 3.
func (op ActivationGradOp) Arity() int { return 3 }

// Type is a → a → a → a.
func (op ActivationGradOp) Type() hm.Type { return hm.NewFnType(tvA, tvA, tvA, tvA) }

// InferShape keeps x's shape.
func (op ActivationGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}

// Do runs the backward twin.
func (op ActivationGradOp) Do(in ...G.Value) (G.Value, error) {
	return doTwin(op, in, in[0].Shape(),
		func(dst []float32, v [][]float32) error {
			return kernels.ActivationBackward(op.Act, op.Alpha, dst, v[0], v[1], v[2])
		},
		func(dst []float64, v [][]float64) error {
			return kernels.ActivationBackward(op.Act, op.Alpha, dst, v[0], v[1], v[2])
		})
}

// Lower is backend.OpActivationGrad.
func (op ActivationGradOp) Lower([]tensor.Shape, tensor.Shape) (*backend.Op, any, error) {
	return backend.OpActivationGrad, &backend.ActivationAttrs{Act: op.Act, Alpha: op.Alpha}, nil
}

// WriteHash writes String.
func (op ActivationGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op ActivationGradOp) Hashcode() uint32 { return opHash(op) }

// String names the activation.
func (op ActivationGradOp) String() string { return fmt.Sprintf("%v'(α=%g)", op.Act, op.Alpha) }
