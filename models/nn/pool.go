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
	_ G.SDOp = Pool2DOp{}
	_ G.Op   = Pool2DGradOp{}
)

// PoolOpts are a pooling's options, [height, width]: Stride defaults to the kernel (PyTorch's
// stride=None) when zero, Padding to 0 (at most half the kernel). ExcludePad makes an average
// count only the elements inside the image (PyTorch's count_include_pad=False; the default,
// false, counts the padding as zeros, count_include_pad=True).
type PoolOpts struct {
	Stride, Padding [2]int
	ExcludePad      bool
}

// PoolGeometry returns the checked geometry of a pooling of kind with kernel [KH, KW] over x
// [N, C, H, W].
func PoolGeometry(kind kernels.PoolKind, x tensor.Shape, kernel [2]int, opts PoolOpts) (kernels.Pool2D, error) {
	if len(x) != 4 {
		return kernels.Pool2D{}, fmt.Errorf("nn: %vpool2d: input %v must be [N, C, H, W]: %w", kind, x, ErrInvalid)
	}
	stride := opts.Stride
	for i := range stride {
		if stride[i] == 0 {
			stride[i] = kernel[i]
		}
	}
	g := kernels.Pool2D{Kind: kind, N: x[0], C: x[1], H: x[2], W: x[3], KH: kernel[0], KW: kernel[1],
		StrideH: stride[0], StrideW: stride[1], PadH: opts.Padding[0], PadW: opts.Padding[1], ExcludePad: opts.ExcludePad}
	if kind == kernels.MaxPool && opts.ExcludePad {
		return kernels.Pool2D{}, fmt.Errorf("nn: maxpool2d: ExcludePad is an average pooling option: %w", ErrInvalid)
	}
	if err := g.Validate(); err != nil {
		return kernels.Pool2D{}, fmt.Errorf("nn: %w: %w", err, ErrInvalid)
	}
	return g, nil
}

// MaxPool2d takes the maximum of each kernel window of x [N, C, H, W] (PyTorch's MaxPool2d,
// dilation 1, ceil_mode False).
func MaxPool2d(x *G.Node, kernel [2]int, opts PoolOpts) (*G.Node, error) {
	g, err := PoolGeometry(kernels.MaxPool, x.Shape(), kernel, opts)
	if err != nil {
		return nil, err
	}
	return G.ApplyOp(Pool2DOp{G: g}, x)
}

// AvgPool2d takes the mean of each kernel window of x [N, C, H, W] (PyTorch's AvgPool2d,
// ceil_mode False, no divisor_override).
func AvgPool2d(x *G.Node, kernel [2]int, opts PoolOpts) (*G.Node, error) {
	g, err := PoolGeometry(kernels.AvgPool, x.Shape(), kernel, opts)
	if err != nil {
		return nil, err
	}
	return G.ApplyOp(Pool2DOp{G: g}, x)
}

// Pool2DOp is a max or average pooling of x.
type Pool2DOp struct {
	pureOp
	G kernels.Pool2D
}

// Arity is 1.
func (op Pool2DOp) Arity() int { return 1 }

// Type is tensor4 a → tensor4 a.
func (op Pool2DOp) Type() hm.Type { return hm.NewFnType(tensorA(4), tensorA(4)) }

// InferShape is [N, C, OH, OW].
func (op Pool2DOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.G.N, op.G.C, op.G.OutH(), op.G.OutW()}, nil
}

// Do runs the twin.
func (op Pool2DOp) Do(in ...G.Value) (G.Value, error) {
	s, _ := op.InferShape()
	return doTwin(op, in, s,
		func(dst []float32, v [][]float32) error {
			return kernels.PoolForward(op.G, dst, v[0], 0, op.G.Planes())
		},
		func(dst []float64, v [][]float64) error {
			return kernels.PoolForward(op.G, dst, v[0], 0, op.G.Planes())
		})
}

// Lower is backend.OpPool2D.
func (op Pool2DOp) Lower([]tensor.Shape, tensor.Shape) (*backend.Op, any, error) {
	g := op.G
	return backend.OpPool2D, &g, nil
}

// WriteHash writes String.
func (op Pool2DOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op Pool2DOp) Hashcode() uint32 { return opHash(op) }

// String is the geometry.
func (op Pool2DOp) String() string { return op.G.String() }

// DiffWRT says the input is differentiable.
func (op Pool2DOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff applies Pool2DGradOp to (x, dy).
func (op Pool2DOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(Pool2DGradOp(op), inputs[0], grad)
	return G.Nodes{dx}, err
}

// Pool2DGradOp computes a pooling's input gradient from (x, dy).
type Pool2DGradOp struct {
	pureOp
	G kernels.Pool2D
}

// Arity is 2.
func (op Pool2DGradOp) Arity() int { return 2 }

// Type is tensor4 a → tensor4 a → tensor4 a.
func (op Pool2DGradOp) Type() hm.Type { return hm.NewFnType(tensorA(4), tensorA(4), tensorA(4)) }

// InferShape is x's shape.
func (op Pool2DGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.G.N, op.G.C, op.G.H, op.G.W}, nil
}

// Do runs the twin.
func (op Pool2DGradOp) Do(in ...G.Value) (G.Value, error) {
	s, _ := op.InferShape()
	return doTwin(op, in, s,
		func(dst []float32, v [][]float32) error {
			return kernels.PoolBackward(op.G, dst, v[0], v[1], 0, op.G.Planes())
		},
		func(dst []float64, v [][]float64) error {
			return kernels.PoolBackward(op.G, dst, v[0], v[1], 0, op.G.Planes())
		})
}

// Lower is backend.OpPool2DGrad.
func (op Pool2DGradOp) Lower([]tensor.Shape, tensor.Shape) (*backend.Op, any, error) {
	g := op.G
	return backend.OpPool2DGrad, &g, nil
}

// WriteHash writes String.
func (op Pool2DGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op Pool2DGradOp) Hashcode() uint32 { return opHash(op) }

// String names the op.
func (op Pool2DGradOp) String() string { return op.G.String() + "'" }
