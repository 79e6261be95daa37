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
	_ G.SDOp = Conv2DOp{}
	_ G.Op   = Conv2DGradInputOp{}
	_ G.Op   = Conv2DGradFilterOp{}
	_ G.SDOp = ChannelBiasOp{}
	_ G.Op   = ChannelSumOp{}
)

// ConvOpts are a convolution's options: Stride, Padding and Dilation as [height, width]. A zero
// stride or dilation means PyTorch's default 1; padding defaults to 0.
type ConvOpts struct {
	Stride, Padding, Dilation [2]int
}

func orOne(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// ConvGeometry returns the geometry of Conv2d(x, w, ·, opts) for x of shape [N, C, H, W] and w
// of shape [OutC, C, KH, KW], checked (kernels.Conv2D.Validate): what a model uses to size the
// next layer before building it.
func ConvGeometry(x, w tensor.Shape, opts ConvOpts) (kernels.Conv2D, error) {
	if len(x) != 4 || len(w) != 4 {
		return kernels.Conv2D{}, fmt.Errorf("nn: Conv2d: input %v and weight %v must be [N, C, H, W] and [OutC, C, KH, KW]: %w", x, w, ErrInvalid)
	}
	if x[1] != w[1] {
		return kernels.Conv2D{}, fmt.Errorf("nn: Conv2d: input has %d channels, the weight %v expects %d: %w", x[1], w, w[1], ErrInvalid)
	}
	g := kernels.Conv2D{N: x[0], C: x[1], H: x[2], W: x[3], OutC: w[0], KH: w[2], KW: w[3],
		StrideH: orOne(opts.Stride[0]), StrideW: orOne(opts.Stride[1]), PadH: opts.Padding[0], PadW: opts.Padding[1],
		DilH: orOne(opts.Dilation[0]), DilW: orOne(opts.Dilation[1])}
	if err := g.Validate(); err != nil {
		return kernels.Conv2D{}, fmt.Errorf("nn: Conv2d: %w: %w", err, ErrInvalid)
	}
	return g, nil
}

// Conv2d applies a 2-D convolution (PyTorch's Conv2d, groups 1) to x [N, C, H, W] with weights w
// [OutC, C, KH, KW] and, unless b is nil, a bias b [OutC]; the result is [N, OutC, OH, OW].
func Conv2d(x, w, b *G.Node, opts ConvOpts) (*G.Node, error) {
	g, err := ConvGeometry(x.Shape(), w.Shape(), opts)
	if err != nil {
		return nil, err
	}
	y, err := G.ApplyOp(Conv2DOp{G: g}, x, w)
	if err != nil || b == nil {
		return y, err
	}
	return ChannelBias(y, b)
}

// Conv2DOp is a 2-D convolution of (x, w).
type Conv2DOp struct {
	pureOp
	G kernels.Conv2D
}

// Arity is 2.
func (op Conv2DOp) Arity() int { return 2 }

// Type is tensor4 a → tensor4 a → tensor4 a.
func (op Conv2DOp) Type() hm.Type { return hm.NewFnType(tensorA(4), tensorA(4), tensorA(4)) }

// InferShape is [N, OutC, OH, OW].
func (op Conv2DOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.G.N, op.G.OutC, op.G.OutH(), op.G.OutW()}, nil
}

// Do runs the twin.
func (op Conv2DOp) Do(in ...G.Value) (G.Value, error) {
	s, _ := op.InferShape()
	return doTwin(op, in, s,
		func(dst []float32, v [][]float32) error { return kernels.Conv2DForward(op.G, dst, v[0], v[1]) },
		func(dst []float64, v [][]float64) error { return kernels.Conv2DForward(op.G, dst, v[0], v[1]) })
}

// Lower is backend.OpConv2D.
func (op Conv2DOp) Lower([]tensor.Shape, tensor.Shape) (*backend.Op, any, error) {
	g := op.G
	return backend.OpConv2D, &g, nil
}

// WriteHash writes String.
func (op Conv2DOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op Conv2DOp) Hashcode() uint32 { return opHash(op) }

// String is the geometry.
func (op Conv2DOp) String() string { return op.G.String() }

// DiffWRT: both inputs are differentiable.
func (op Conv2DOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff applies Conv2DGradInputOp to (dy, w) and Conv2DGradFilterOp to (x, dy).
func (op Conv2DOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(Conv2DGradInputOp(op), grad, inputs[1])
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(Conv2DGradFilterOp(op), inputs[0], grad)
	return G.Nodes{dx, dw}, err
}

// Conv2DGradInputOp computes a convolution's input gradient from (dy, w).
type Conv2DGradInputOp struct {
	pureOp
	G kernels.Conv2D
}

// Arity is 2.
func (op Conv2DGradInputOp) Arity() int { return 2 }

// Type is tensor4 a → tensor4 a → tensor4 a.
func (op Conv2DGradInputOp) Type() hm.Type { return hm.NewFnType(tensorA(4), tensorA(4), tensorA(4)) }

// InferShape is x's shape.
func (op Conv2DGradInputOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.G.N, op.G.C, op.G.H, op.G.W}, nil
}

// Do runs the twin.
func (op Conv2DGradInputOp) Do(in ...G.Value) (G.Value, error) {
	s, _ := op.InferShape()
	return doTwin(op, in, s,
		func(dst []float32, v [][]float32) error { return kernels.Conv2DBackwardData(op.G, dst, v[0], v[1]) },
		func(dst []float64, v [][]float64) error { return kernels.Conv2DBackwardData(op.G, dst, v[0], v[1]) })
}

// Lower is backend.OpConv2DGradInput.
func (op Conv2DGradInputOp) Lower([]tensor.Shape, tensor.Shape) (*backend.Op, any, error) {
	g := op.G
	return backend.OpConv2DGradInput, &g, nil
}

// WriteHash writes String.
func (op Conv2DGradInputOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op Conv2DGradInputOp) Hashcode() uint32 { return opHash(op) }

// String names the op.
func (op Conv2DGradInputOp) String() string { return op.G.String() + "'x" }

// Conv2DGradFilterOp computes a convolution's weight gradient from (x, dy).
type Conv2DGradFilterOp struct {
	pureOp
	G kernels.Conv2D
}

// Arity is 2.
func (op Conv2DGradFilterOp) Arity() int { return 2 }

// Type is tensor4 a → tensor4 a → tensor4 a.
func (op Conv2DGradFilterOp) Type() hm.Type { return hm.NewFnType(tensorA(4), tensorA(4), tensorA(4)) }

// InferShape is w's shape.
func (op Conv2DGradFilterOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.G.OutC, op.G.C, op.G.KH, op.G.KW}, nil
}

// Do runs the twin.
func (op Conv2DGradFilterOp) Do(in ...G.Value) (G.Value, error) {
	s, _ := op.InferShape()
	return doTwin(op, in, s,
		func(dst []float32, v [][]float32) error { return kernels.Conv2DBackwardFilter(op.G, dst, v[0], v[1]) },
		func(dst []float64, v [][]float64) error { return kernels.Conv2DBackwardFilter(op.G, dst, v[0], v[1]) })
}

// Lower is backend.OpConv2DGradFilter.
func (op Conv2DGradFilterOp) Lower([]tensor.Shape, tensor.Shape) (*backend.Op, any, error) {
	g := op.G
	return backend.OpConv2DGradFilter, &g, nil
}

// WriteHash writes String.
func (op Conv2DGradFilterOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op Conv2DGradFilterOp) Hashcode() uint32 { return opHash(op) }

// String names the op.
func (op Conv2DGradFilterOp) String() string { return op.G.String() + "'w" }

// channelView returns the [outer, channels, inner] view of a shape of 2 or more dimensions with
// its channels on axis 1.
func channelView(s tensor.Shape) backend.ChannelAttrs {
	inner := 1
	for _, d := range s[2:] {
		inner *= d
	}
	return backend.ChannelAttrs{Outer: s[0], Channels: s[1], Inner: inner}
}

// ChannelBias adds b [C] to every element of channel c of x [N, C, ...] (a convolution's bias;
// on a matrix it is BiasAdd).
func ChannelBias(x, b *G.Node) (*G.Node, error) {
	s := x.Shape()
	if len(s) < 2 || b.Dims() != 1 || b.Shape()[0] != s[1] {
		return nil, fmt.Errorf("nn: ChannelBias: x %v and bias %v do not fit (want [N, C, ...] and [C]): %w", s, b.Shape(), ErrInvalid)
	}
	return G.ApplyOp(ChannelBiasOp{Dims: len(s)}, x, b)
}

// ChannelBiasOp adds a per-channel bias to a tensor of Dims dimensions, channels on axis 1.
type ChannelBiasOp struct {
	pureOp
	Dims int
}

// Arity is 2.
func (op ChannelBiasOp) Arity() int { return 2 }

// Type is tensor a → vector a → tensor a.
func (op ChannelBiasOp) Type() hm.Type {
	return hm.NewFnType(tensorA(op.Dims), vectorA, tensorA(op.Dims))
}

// InferShape keeps x's shape.
func (op ChannelBiasOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}

// Do adds the bias.
func (op ChannelBiasOp) Do(in ...G.Value) (G.Value, error) {
	a := channelView(in[0].Shape())
	return doTwin(op, in, in[0].Shape(),
		func(dst []float32, v [][]float32) error {
			return kernels.ChannelBiasAdd(dst, v[0], v[1], a.Outer, a.Channels, a.Inner)
		},
		func(dst []float64, v [][]float64) error {
			return kernels.ChannelBiasAdd(dst, v[0], v[1], a.Outer, a.Channels, a.Inner)
		})
}

// Lower is backend.OpChannelBias.
func (op ChannelBiasOp) Lower(_ []tensor.Shape, out tensor.Shape) (*backend.Op, any, error) {
	a := channelView(out)
	return backend.OpChannelBias, &a, nil
}

// WriteHash writes String.
func (op ChannelBiasOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op ChannelBiasOp) Hashcode() uint32 { return opHash(op) }

// String names the op.
func (op ChannelBiasOp) String() string { return fmt.Sprintf("channelbias%dd", op.Dims) }

// DiffWRT: both inputs are differentiable.
func (op ChannelBiasOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff passes the gradient to x and sums it per channel for b.
func (op ChannelBiasOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	db, err := G.ApplyOp(ChannelSumOp(op), grad)
	return G.Nodes{grad, db}, err
}

// ChannelSumOp sums a tensor of Dims dimensions over every axis but the channels (axis 1).
type ChannelSumOp struct {
	pureOp
	Dims int
}

// Arity is 1.
func (op ChannelSumOp) Arity() int { return 1 }

// Type is tensor a → vector a.
func (op ChannelSumOp) Type() hm.Type { return hm.NewFnType(tensorA(op.Dims), vectorA) }

// InferShape is [C].
func (op ChannelSumOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := in[0].(tensor.Shape)
	if len(s) < 2 {
		return nil, fmt.Errorf("nn: channelsum: input shape %v has no channel axis: %w", s, ErrInvalid)
	}
	return tensor.Shape{s[1]}, nil
}

// Do sums in float64.
func (op ChannelSumOp) Do(in ...G.Value) (G.Value, error) {
	a := channelView(in[0].Shape())
	return doTwin(op, in, tensor.Shape{a.Channels},
		func(dst []float32, v [][]float32) error {
			return kernels.ChannelSum(dst, v[0], a.Outer, a.Channels, a.Inner)
		},
		func(dst []float64, v [][]float64) error {
			return kernels.ChannelSum(dst, v[0], a.Outer, a.Channels, a.Inner)
		})
}

// Lower is backend.OpChannelSum.
func (op ChannelSumOp) Lower(in []tensor.Shape, _ tensor.Shape) (*backend.Op, any, error) {
	a := channelView(in[0])
	return backend.OpChannelSum, &a, nil
}

// WriteHash writes String.
func (op ChannelSumOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op ChannelSumOp) Hashcode() uint32 { return opHash(op) }

// String names the op.
func (op ChannelSumOp) String() string { return fmt.Sprintf("channelsum%dd", op.Dims) }
