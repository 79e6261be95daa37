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
	_ G.SDOp = BiasAddOp{}
	_ G.Op   = BiasGradOp{}
)

// BiasAdd adds the vector b to every row of the matrix x.
func BiasAdd(x, b *G.Node) (*G.Node, error) {
	if x.Dims() != 2 || b.Dims() != 1 || x.Shape()[1] != b.Shape()[0] {
		return nil, fmt.Errorf("nn: BiasAdd: x %v and bias %v do not fit (want [r,c] and [c]): %w",
			x.Shape(), b.Shape(), ErrInvalid)
	}
	return G.ApplyOp(BiasAddOp{}, x, b)
}

// BiasAddOp adds a bias vector to every row of a matrix: one op instead of Gorgonia's
// reshape-repeat-add chain, with a column-sum backward.
type BiasAddOp struct{ pureOp }

// Arity is 2.
func (op BiasAddOp) Arity() int { return 2 }

// Type is matrix a → vector a → matrix a.
func (op BiasAddOp) Type() hm.Type { return hm.NewFnType(matrixA, vectorA, matrixA) }

// InferShape keeps x's shape.
func (op BiasAddOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}

// Do adds the bias.
func (op BiasAddOp) Do(in ...G.Value) (G.Value, error) {
	r, c := rowsCols(in[0].Shape())
	return doTwin(op, in, in[0].Shape(),
		func(dst []float32, v [][]float32) error { return kernels.ChannelBiasAdd(dst, v[0], v[1], r, c, 1) },
		func(dst []float64, v [][]float64) error { return kernels.ChannelBiasAdd(dst, v[0], v[1], r, c, 1) })
}

// Lower is backend.OpBiasAdd.
func (op BiasAddOp) Lower(_ []tensor.Shape, out tensor.Shape) (*backend.Op, any, error) {
	r, c := rowsCols(out)
	return backend.OpBiasAdd, &backend.MatrixAttrs{Rows: r, Cols: c}, nil
}

// WriteHash writes String.
func (op BiasAddOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op BiasAddOp) Hashcode() uint32 { return opHash(op) }

// String is "biasadd".
func (op BiasAddOp) String() string { return "biasadd" }

// DiffWRT: both inputs are differentiable.
func (op BiasAddOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff passes the gradient through to x and sums its columns for b.
func (op BiasAddOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	db, err := G.ApplyOp(BiasGradOp{}, grad)
	return G.Nodes{grad, db}, err
}

// BiasGradOp sums a matrix over its rows: the gradient of a bias.
type BiasGradOp struct{ pureOp }

// Arity is 1.
func (op BiasGradOp) Arity() int { return 1 }

// Type is matrix a → vector a.
func (op BiasGradOp) Type() hm.Type { return hm.NewFnType(matrixA, vectorA) }

// InferShape is the column count.
func (op BiasGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := in[0].(tensor.Shape)
	if len(s) != 2 {
		return nil, fmt.Errorf("nn: biasgrad: input shape %v, want a matrix: %w", s, ErrInvalid)
	}
	return tensor.Shape{s[1]}, nil
}

// Do sums the columns in float64.
func (op BiasGradOp) Do(in ...G.Value) (G.Value, error) {
	r, c := rowsCols(in[0].Shape())
	return doTwin(op, in, tensor.Shape{c},
		func(dst []float32, v [][]float32) error { return kernels.ChannelSum(dst, v[0], r, c, 1) },
		func(dst []float64, v [][]float64) error { return kernels.ChannelSum(dst, v[0], r, c, 1) })
}

// Lower is backend.OpSum over the rows: Sum with outer 1, mid rows, inner cols.
func (op BiasGradOp) Lower(in []tensor.Shape, _ tensor.Shape) (*backend.Op, any, error) {
	r, c := rowsCols(in[0])
	return backend.OpSum, &backend.SumAttrs{Outer: 1, Mid: r, Inner: c}, nil
}

// WriteHash writes String.
func (op BiasGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op BiasGradOp) Hashcode() uint32 { return opHash(op) }

// String is "biasgrad".
func (op BiasGradOp) String() string { return "biasgrad" }
