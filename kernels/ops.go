package kernels

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file wraps the twins as Gorgonia ops, so models are ordinary Gorgonia graphs and
// gorgonia.Grad differentiates them through our own backward kernels. The Do methods make the
// graphs runnable on Gorgonia's TapeMachine too (that is how the oracle tests compare); the
// gotrain executor never calls Do: it lowers each op to a device call.

// Compile-time checks that each op is what Gorgonia expects.
var (
	_ G.SDOp = ActivationOp{}
	_ G.Op   = ActivationGradOp{}
	_ G.SDOp = SoftmaxOp{}
	_ G.Op   = SoftmaxGradOp{}
	_ G.SDOp = LossOp{}
	_ G.Op   = LossGradOp{}
	_ G.SDOp = BiasAddOp{}
	_ G.Op   = BiasGradOp{}
)

// Apply helpers: the graph-building API models use.

// Activate applies act elementwise.
func Activate(x *G.Node, act Activation, alpha float64) (*G.Node, error) {
	if !act.Valid() {
		return nil, fmt.Errorf("kernels: Activate: %v: %w", act, ErrInvalid)
	}
	return G.ApplyOp(ActivationOp{Act: act, Alpha: alpha}, x)
}

// Softmax applies softmax (log-softmax when log) over the rows of a matrix.
func Softmax(x *G.Node, log bool) (*G.Node, error) {
	if x.Dims() != 2 {
		return nil, fmt.Errorf("kernels: Softmax: input %v has shape %v, want a matrix: %w", x.Name(), x.Shape(), ErrInvalid)
	}
	return G.ApplyOp(SoftmaxOp{Log: log}, x)
}

// FusedLoss returns the scalar mean loss of logits x against targets y (same shape).
func FusedLoss(x, y *G.Node, kind Loss) (*G.Node, error) {
	if !kind.Valid() {
		return nil, fmt.Errorf("kernels: FusedLoss: %v: %w", kind, ErrInvalid)
	}
	if x.Dims() != 2 || !x.Shape().Eq(y.Shape()) {
		return nil, fmt.Errorf("kernels: FusedLoss %v: logits %v and targets %v must be matrices of one shape: %w",
			kind, x.Shape(), y.Shape(), ErrInvalid)
	}
	return G.ApplyOp(LossOp{Kind: kind}, x, y)
}

// BiasAdd adds the vector b to every row of the matrix x.
func BiasAdd(x, b *G.Node) (*G.Node, error) {
	if x.Dims() != 2 || b.Dims() != 1 || x.Shape()[1] != b.Shape()[0] {
		return nil, fmt.Errorf("kernels: BiasAdd: x %v and bias %v do not fit (want [r,c] and [c]): %w",
			x.Shape(), b.Shape(), ErrInvalid)
	}
	return G.ApplyOp(BiasAddOp{}, x, b)
}

// pureOp gives an op the answers Gorgonia's VMs ask of every op that computes a new value from
// its inputs with Go code: Do allocates its result, calls nothing external and overwrites no input.
type pureOp struct{}

// ReturnsPtr is false: Do allocates its result.
func (pureOp) ReturnsPtr() bool { return false }

// CallsExtern is false.
func (pureOp) CallsExtern() bool { return false }

// OverwritesInput is -1: no input is overwritten.
func (pureOp) OverwritesInput() int { return -1 }

// opHash hashes an op by its String, which names every parameter.
func opHash(s fmt.Stringer) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s.String()))
	return h.Sum32()
}

// Type() must build a fresh type on every call: Gorgonia hands function types back to hm's
// pool after inference, so a shared package-level type gets recycled under our feet.
var (
	tvA     = hm.TypeVariable('a')
	matrixA = G.TensorType{Dims: 2, Of: tvA}
	vectorA = G.TensorType{Dims: 1, Of: tvA}
)

func sameType() hm.Type { return hm.NewFnType(tvA, tvA) }

// values extracts the backing slices of Gorgonia values of one dtype.
type values struct {
	f32 [][]float32
	f64 [][]float64
}

func extract(op string, in []G.Value) (values, error) {
	var v values
	for i, x := range in {
		var data any
		switch t := x.(type) {
		case tensor.Tensor:
			data = t.Data()
		case *G.F64:
			data = []float64{float64(*t)}
		case *G.F32:
			data = []float32{float32(*t)}
		default:
			return v, fmt.Errorf("kernels: %s: input %d is %T: %w", op, i, x, ErrInvalid)
		}
		switch d := data.(type) {
		case []float32:
			v.f32 = append(v.f32, d)
		case []float64:
			v.f64 = append(v.f64, d)
		case float32:
			v.f32 = append(v.f32, []float32{d})
		case float64:
			v.f64 = append(v.f64, []float64{d})
		default:
			return v, fmt.Errorf("kernels: %s: input %d holds %T, want float32 or float64: %w", op, i, data, ErrInvalid)
		}
	}
	if len(v.f32) != 0 && len(v.f64) != 0 {
		return v, fmt.Errorf("kernels: %s: inputs mix float32 and float64: %w", op, ErrInvalid)
	}
	return v, nil
}

func newLike(in G.Value, shape tensor.Shape) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape.Clone()...), tensor.Of(in.Dtype()))
}

func outData(t *tensor.Dense) ([]float32, []float64) {
	switch d := t.Data().(type) {
	case []float32:
		return d, nil
	case []float64:
		return nil, d
	}
	return nil, nil
}

func rowsCols(s tensor.Shape) (int, int) {
	switch len(s) {
	case 0:
		return 1, 1
	case 1:
		return 1, s[0]
	}
	return s.TotalSize() / s[len(s)-1], s[len(s)-1]
}

func checkArity(op G.Op, n int) error {
	if n != op.Arity() {
		return fmt.Errorf("kernels: %v: %d inputs, want %d: %w", op, n, op.Arity(), ErrInvalid)
	}
	return nil
}

// ActivationOp is an elementwise activation.
type ActivationOp struct {
	pureOp
	Act   Activation
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
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	v, err := extract(op.String(), in)
	if err != nil {
		return nil, err
	}
	out := newLike(in[0], in[0].Shape())
	o32, o64 := outData(out)
	if o64 != nil {
		err = ActivationForward(op.Act, op.Alpha, o64, v.f64[0])
	} else {
		err = ActivationForward(op.Act, op.Alpha, o32, v.f32[0])
	}
	return out, err
}

// WriteHash writes String.
func (op ActivationOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }

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
	Act   Activation
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
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	v, err := extract(op.String(), in)
	if err != nil {
		return nil, err
	}
	out := newLike(in[0], in[0].Shape())
	o32, o64 := outData(out)
	if o64 != nil {
		err = ActivationBackward(op.Act, op.Alpha, o64, v.f64[0], v.f64[1], v.f64[2])
	} else {
		err = ActivationBackward(op.Act, op.Alpha, o32, v.f32[0], v.f32[1], v.f32[2])
	}
	return out, err
}

// WriteHash writes String.
func (op ActivationGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }

// Hashcode hashes String.
func (op ActivationGradOp) Hashcode() uint32 { return opHash(op) }

// String names the activation.
func (op ActivationGradOp) String() string { return fmt.Sprintf("%v'(α=%g)", op.Act, op.Alpha) }

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
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	v, err := extract(op.String(), in)
	if err != nil {
		return nil, err
	}
	out := newLike(in[0], in[0].Shape())
	r, c := rowsCols(in[0].Shape())
	o32, o64 := outData(out)
	if o64 != nil {
		err = SoftmaxForward(op.Log, o64, v.f64[0], r, c)
	} else {
		err = SoftmaxForward(op.Log, o32, v.f32[0], r, c)
	}
	return out, err
}

// WriteHash writes String.
func (op SoftmaxOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }

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
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	v, err := extract(op.String(), in)
	if err != nil {
		return nil, err
	}
	out := newLike(in[0], in[0].Shape())
	r, c := rowsCols(in[0].Shape())
	o32, o64 := outData(out)
	if o64 != nil {
		err = SoftmaxBackward(op.Log, o64, v.f64[0], v.f64[1], r, c)
	} else {
		err = SoftmaxBackward(op.Log, o32, v.f32[0], v.f32[1], r, c)
	}
	return out, err
}

// WriteHash writes String.
func (op SoftmaxGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }

// Hashcode hashes String.
func (op SoftmaxGradOp) Hashcode() uint32 { return opHash(op) }

// String names the op.
func (op SoftmaxGradOp) String() string { return SoftmaxOp(op).String() + "'" }

// LossOp is a fused loss of (logits, targets) reduced to a scalar mean.
type LossOp struct {
	pureOp
	Kind Loss
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
		l, err := LossForward(op.Kind, v.f64[0], v.f64[1], r, c)
		return G.NewF64(l), err
	}
	l, err := LossForward(op.Kind, v.f32[0], v.f32[1], r, c)
	return G.NewF32(float32(l)), err
}

// WriteHash writes String.
func (op LossOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }

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
	Kind Loss
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
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	v, err := extract(op.String(), in)
	if err != nil {
		return nil, err
	}
	out := newLike(in[0], in[0].Shape())
	r, c := rowsCols(in[0].Shape())
	o32, o64 := outData(out)
	if o64 != nil {
		err = LossBackward(op.Kind, o64, v.f64[0], v.f64[1], r, c, v.f64[2][0])
	} else {
		err = LossBackward(op.Kind, o32, v.f32[0], v.f32[1], r, c, float64(v.f32[2][0]))
	}
	return out, err
}

// WriteHash writes String.
func (op LossGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }

// Hashcode hashes String.
func (op LossGradOp) Hashcode() uint32 { return opHash(op) }

// String names the loss.
func (op LossGradOp) String() string { return "loss:" + op.Kind.String() + "'" }

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
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	v, err := extract(op.String(), in)
	if err != nil {
		return nil, err
	}
	out := newLike(in[0], in[0].Shape())
	r, c := rowsCols(in[0].Shape())
	o32, o64 := outData(out)
	if o64 != nil {
		return out, biasAdd(o64, v.f64[0], v.f64[1], r, c)
	}
	return out, biasAdd(o32, v.f32[0], v.f32[1], r, c)
}

func biasAdd[T Float](dst, x, b []T, rows, cols int) error {
	if len(x) != rows*cols || len(dst) != len(x) || len(b) != cols {
		return fmt.Errorf("kernels: BiasAdd: lengths dst %d, x %d, b %d for %d×%d: %w", len(dst), len(x), len(b), rows, cols, ErrInvalid)
	}
	for i := range x {
		dst[i] = x[i] + b[i%cols]
	}
	return nil
}

// WriteHash writes String.
func (op BiasAddOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }

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
		return nil, fmt.Errorf("kernels: biasgrad: input shape %v, want a matrix: %w", s, ErrInvalid)
	}
	return tensor.Shape{s[1]}, nil
}

// Do sums the columns in float64.
func (op BiasGradOp) Do(in ...G.Value) (G.Value, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	v, err := extract(op.String(), in)
	if err != nil {
		return nil, err
	}
	r, c := rowsCols(in[0].Shape())
	out := newLike(in[0], tensor.Shape{c})
	o32, o64 := outData(out)
	if o64 != nil {
		colSum(o64, v.f64[0], r, c)
	} else {
		colSum(o32, v.f32[0], r, c)
	}
	return out, nil
}

func colSum[T Float](dst, x []T, rows, cols int) {
	for c := 0; c < cols; c++ {
		var s float64
		for r := 0; r < rows; r++ {
			s += float64(x[r*cols+c])
		}
		dst[c] = T(s)
	}
}

// WriteHash writes String.
func (op BiasGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }

// Hashcode hashes String.
func (op BiasGradOp) Hashcode() uint32 { return opHash(op) }

// String is "biasgrad".
func (op BiasGradOp) String() string { return "biasgrad" }
