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
	_ G.SDOp = LossOp{}
	_ G.Op   = LossGradOp{}
)

// FusedLoss returns the scalar mean loss of logits x against targets y (same shape).
func FusedLoss(x, y *G.Node, kind kernels.Loss) (*G.Node, error) {
	if !kind.Valid() {
		return nil, fmt.Errorf("nn: FusedLoss: %v: %w", kind, ErrInvalid)
	}
	if x.Dims() != 2 || !x.Shape().Eq(y.Shape()) {
		return nil, fmt.Errorf("nn: FusedLoss %v: logits %v and targets %v must be matrices of one shape: %w",
			kind, x.Shape(), y.Shape(), ErrInvalid)
	}
	return G.ApplyOp(LossOp{Kind: kind}, x, y)
}

// LossOp is a fused loss of (logits, targets) reduced to a scalar mean.
type LossOp struct {
	pureOp
	Kind kernels.Loss
}

// Arity is 2.
func (op LossOp) Arity() int { return 2 }

// Type is matrix a → matrix a → a.
func (op LossOp) Type() hm.Type { return hm.NewFnType(matrixA, matrixA, tvA) }

// InferShape is a scalar.
func (op LossOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.ScalarShape(), nil }

// Do runs the twin.
func (op LossOp) Do(in ...G.Value) (G.Value, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	v, err := extract(op.String(), in)
	if err != nil {
		return nil, err
	}
	r, c := rowsCols(in[0].Shape())
	if v.f64 != nil {
		l, err := kernels.LossForward(op.Kind, v.f64[0], v.f64[1], r, c)
		return G.NewF64(l), err
	}
	l, err := kernels.LossForward(op.Kind, v.f32[0], v.f32[1], r, c)
	return G.NewF32(float32(l)), err
}

// Lower is backend.OpLoss over the logits' rows.
func (op LossOp) Lower(in []tensor.Shape, _ tensor.Shape) (*backend.Op, any, error) {
	r, c := rowsCols(in[0])
	return backend.OpLoss, &backend.LossAttrs{Kind: op.Kind, Rows: r, Cols: c}, nil
}

// WriteHash writes String.
func (op LossOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op LossOp) Hashcode() uint32 { return opHash(op) }

// String names the loss.
func (op LossOp) String() string { return "loss:" + op.Kind.String() }

// DiffWRT: the logits are differentiable, the targets are data.
func (op LossOp) DiffWRT(int) []bool { return []bool{true, false} }

// SymDiff applies LossGradOp to (x, y, dloss).
func (op LossOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(LossGradOp(op), inputs[0], inputs[1], grad)
	return G.Nodes{dx, nil}, err
}

// LossGradOp computes dx = dloss·∂loss/∂x from (x, y, dloss).
type LossGradOp struct {
	pureOp
	Kind kernels.Loss
}

// Arity is 3.
func (op LossGradOp) Arity() int { return 3 }

// Type is matrix a → matrix a → a → matrix a.
func (op LossGradOp) Type() hm.Type { return hm.NewFnType(matrixA, matrixA, tvA, matrixA) }

// InferShape keeps x's shape.
func (op LossGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}

// Do runs the backward twin.
func (op LossGradOp) Do(in ...G.Value) (G.Value, error) {
	r, c := rowsCols(in[0].Shape())
	return doTwin(op, in, in[0].Shape(),
		func(dst []float32, v [][]float32) error {
			return kernels.LossBackward(op.Kind, dst, v[0], v[1], r, c, float64(v[2][0]))
		},
		func(dst []float64, v [][]float64) error {
			return kernels.LossBackward(op.Kind, dst, v[0], v[1], r, c, v[2][0])
		})
}

// Lower is backend.OpLossGrad.
func (op LossGradOp) Lower(_ []tensor.Shape, out tensor.Shape) (*backend.Op, any, error) {
	r, c := rowsCols(out)
	return backend.OpLossGrad, &backend.LossAttrs{Kind: op.Kind, Rows: r, Cols: c}, nil
}

// WriteHash writes String.
func (op LossGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op LossGradOp) Hashcode() uint32 { return opHash(op) }

// String names the loss.
func (op LossGradOp) String() string { return "loss:" + op.Kind.String() + "'" }
