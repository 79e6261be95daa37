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
	_ G.SDOp = SoftmaxOp{}
	_ G.Op   = SoftmaxGradOp{}
)

// Softmax applies softmax (log-softmax when log) over the rows of a matrix.
func Softmax(x *G.Node, log bool) (*G.Node, error) {
	if x.Dims() != 2 {
		return nil, fmt.Errorf("nn: Softmax: input %v has shape %v, want a matrix: %w", x.Name(), x.Shape(), ErrInvalid)
	}
	return G.ApplyOp(SoftmaxOp{Log: log}, x)
}

// SoftmaxOp is softmax (or log-softmax) over the last axis.
type SoftmaxOp struct {
	pureOp
	Log bool
}

// Arity is 1.
func (op SoftmaxOp) Arity() int { return 1 }

// Type is a → a.
func (op SoftmaxOp) Type() hm.Type { return sameType() }

// InferShape keeps the input's shape.
func (op SoftmaxOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}

// Do runs the twin.
func (op SoftmaxOp) Do(in ...G.Value) (G.Value, error) {
	r, c := rowsCols(in[0].Shape())
	return doTwin(op, in, in[0].Shape(),
		func(dst []float32, x [][]float32) error { return kernels.SoftmaxForward(op.Log, dst, x[0], r, c) },
		func(dst []float64, x [][]float64) error { return kernels.SoftmaxForward(op.Log, dst, x[0], r, c) })
}

// Lower is backend.OpSoftmax over the rows of the node.
func (op SoftmaxOp) Lower(_ []tensor.Shape, out tensor.Shape) (*backend.Op, any, error) {
	r, c := rowsCols(out)
	return backend.OpSoftmax, &backend.SoftmaxAttrs{Log: op.Log, Rows: r, Cols: c}, nil
}

// WriteHash writes String.
func (op SoftmaxOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op SoftmaxOp) Hashcode() uint32 { return opHash(op) }

// String is "softmax" or "logsoftmax".
func (op SoftmaxOp) String() string {
	if op.Log {
		return "logsoftmax"
	}
	return "softmax"
}

// DiffWRT says the input is differentiable.
func (op SoftmaxOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff applies SoftmaxGradOp to (y, dy).
func (op SoftmaxOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(SoftmaxGradOp(op), output, grad)
	return G.Nodes{dx}, err
}

// SoftmaxGradOp computes the softmax backward from (y, dy).
type SoftmaxGradOp struct {
	pureOp
	Log bool
}

// Arity is 2.
func (op SoftmaxGradOp) Arity() int { return 2 }

// Type is a → a → a.
func (op SoftmaxGradOp) Type() hm.Type { return hm.NewFnType(tvA, tvA, tvA) }

// InferShape keeps y's shape.
func (op SoftmaxGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}

// Do runs the backward twin.
func (op SoftmaxGradOp) Do(in ...G.Value) (G.Value, error) {
	r, c := rowsCols(in[0].Shape())
	return doTwin(op, in, in[0].Shape(),
		func(dst []float32, v [][]float32) error {
			return kernels.SoftmaxBackward(op.Log, dst, v[0], v[1], r, c)
		},
		func(dst []float64, v [][]float64) error {
			return kernels.SoftmaxBackward(op.Log, dst, v[0], v[1], r, c)
		})
}

// Lower is backend.OpSoftmaxGrad.
func (op SoftmaxGradOp) Lower(_ []tensor.Shape, out tensor.Shape) (*backend.Op, any, error) {
	r, c := rowsCols(out)
	return backend.OpSoftmaxGrad, &backend.SoftmaxAttrs{Log: op.Log, Rows: r, Cols: c}, nil
}

// WriteHash writes String.
func (op SoftmaxGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op SoftmaxGradOp) Hashcode() uint32 { return opHash(op) }

// String names the op.
func (op SoftmaxGradOp) String() string { return SoftmaxOp(op).String() + "'" }
