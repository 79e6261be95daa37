// Package nn is the vocabulary models are built from: Gorgonia graph ops for our own kernels
// (activations, bias add, softmax, fused losses, 2-D convolution, max and average pooling,
// dropout, batch normalisation) and the functions that apply them to nodes, with the semantics
// and defaults of their PyTorch counterparts. Each op's symbolic gradient is our backward op;
// its Do runs the pure-Go twin of package kernels, so Gorgonia's TapeMachine runs our graphs
// too (that is how the oracle tests compare them with Gorgonia's own ops); and its Lower method
// names the registered device op (package backend) and the attributes that compute it, which is
// how the executor (package backend/exec) lowers it: the executor calls that op with the node's
// buffer first, then its inputs' buffers in input order. Lowering is a description, not a call:
// this package never touches a device.
//
// Ops that keep non-trainable state between steps (batch normalisation's running statistics)
// say which of their inputs are state (Stateful); StateNodes collects those nodes from a graph
// so a trainer can bind buffers to them, save them in checkpoints and restore them.
package nn

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrInvalid is wrapped by every argument error of this package.
var ErrInvalid = errors.New("nn: invalid argument")

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

func writeHash(h hash.Hash, s fmt.Stringer) { fmt.Fprint(h, s.String()) }

// Type() must build a fresh type on every call: Gorgonia hands function types back to hm's
// pool after inference, so a shared package-level type gets recycled under our feet.
var (
	tvA     = hm.TypeVariable('a')
	matrixA = G.TensorType{Dims: 2, Of: tvA}
	vectorA = G.TensorType{Dims: 1, Of: tvA}
)

func sameType() hm.Type { return hm.NewFnType(tvA, tvA) }

// tensorA is a tensor type of dims dimensions.
func tensorA(dims int) hm.Type { return G.TensorType{Dims: dims, Of: tvA} }

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
			return v, fmt.Errorf("nn: %s: input %d is %T: %w", op, i, x, ErrInvalid)
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
			return v, fmt.Errorf("nn: %s: input %d holds %T, want float32 or float64: %w", op, i, data, ErrInvalid)
		}
	}
	if len(v.f32) != 0 && len(v.f64) != 0 {
		return v, fmt.Errorf("nn: %s: inputs mix float32 and float64: %w", op, ErrInvalid)
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

// rowsCols views a shape as a matrix whose rows run along the last axis.
func rowsCols(s tensor.Shape) (int, int) {
	switch len(s) {
	case 0:
		return 1, 1
	case 1:
		return 1, s[0]
	}
	last := s[len(s)-1]
	if last == 0 {
		return 0, 0
	}
	return s.TotalSize() / last, last
}

func checkArity(op G.Op, n int) error {
	if n != op.Arity() {
		return fmt.Errorf("nn: %v: %d inputs, want %d: %w", op, n, op.Arity(), ErrInvalid)
	}
	return nil
}

// doTwin runs a twin on the extracted inputs of an op, into a new value of shape out: f32 or f64
// is called with the output slice and the inputs, according to the dtype.
func doTwin(op G.Op, in []G.Value, out tensor.Shape,
	f32 func(dst []float32, in [][]float32) error, f64 func(dst []float64, in [][]float64) error) (G.Value, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	v, err := extract(op.String(), in)
	if err != nil {
		return nil, err
	}
	res := newLike(in[0], out)
	o32, o64 := outData(res)
	if o64 != nil {
		err = f64(o64, v.f64)
	} else {
		err = f32(o32, v.f32)
	}
	if err != nil {
		return nil, fmt.Errorf("nn: %v: %w", op, err)
	}
	return res, nil
}
