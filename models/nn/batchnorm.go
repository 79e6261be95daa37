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
	_ G.SDOp   = BatchNormOp{}
	_ Stateful = BatchNormOp{}
	_ G.Op     = BatchNormGradInputOp{}
	_ G.Op     = BatchNormGradGammaOp{}
)

// BatchNormOpts are batch normalisation's options. DefaultBatchNorm gives PyTorch's defaults;
// the zero value is taken literally (momentum 0 keeps the running statistics as they are).
type BatchNormOpts struct {
	// Momentum is the weight of the batch statistic in the running statistics' update.
	Momentum float64
	// Eps is added to the variance.
	Eps float64
	// Train uses the batch statistics and updates the running ones; otherwise the running
	// statistics normalise (evaluation mode).
	Train bool
}

// DefaultBatchNorm returns PyTorch's defaults, momentum 0.1 and eps 1e-5, in training or
// evaluation mode.
func DefaultBatchNorm(train bool) BatchNormOpts {
	return BatchNormOpts{Momentum: 0.1, Eps: 1e-5, Train: train}
}

// BatchNorm normalises x over its channels (axis 1): x [N, C] is BatchNorm1d over features, x
// [N, C, L] or [N, C, H, W] BatchNorm1d or BatchNorm2d over channels (kernels.BatchNorm has the
// formulas). gamma and beta [C] are trainable; runningMean and runningVar [C] are the
// non-trainable state, leaves the caller binds (StateNodes finds them, with their initial values
// 0 and 1), updated in place by every training step.
func BatchNorm(x, gamma, beta, runningMean, runningVar *G.Node, opts BatchNormOpts) (*G.Node, error) {
	s := x.Shape()
	if len(s) < 2 {
		return nil, fmt.Errorf("nn: BatchNorm: input %v has no channel axis: %w", s, ErrInvalid)
	}
	for _, p := range []*G.Node{gamma, beta, runningMean, runningVar} {
		if p.Dims() != 1 || p.Shape()[0] != s[1] {
			return nil, fmt.Errorf("nn: BatchNorm: %s has shape %v, want [%d] for input %v: %w", p.Name(), p.Shape(), s[1], s, ErrInvalid)
		}
	}
	for _, st := range []*G.Node{runningMean, runningVar} {
		if st.Op() != nil {
			return nil, fmt.Errorf("nn: BatchNorm: running statistic %s must be a leaf the trainer can bind: %w", st.Name(), ErrInvalid)
		}
	}
	v := channelView(s)
	b := kernels.BatchNorm{N: v.Outer, C: v.Channels, Inner: v.Inner, Eps: opts.Eps, Momentum: opts.Momentum, Train: opts.Train}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("nn: BatchNorm: %w: %w", err, ErrInvalid)
	}
	return G.ApplyOp(BatchNormOp{B: b, Dims: len(s)}, x, gamma, beta, runningMean, runningVar)
}

// BatchNormOp is batch normalisation of (x, γ, β, running mean, running var).
type BatchNormOp struct {
	pureOp
	B    kernels.BatchNorm
	Dims int
}

// Arity is 5.
func (op BatchNormOp) Arity() int { return 5 }

// Type is tensor a → vector a ×4 → tensor a.
func (op BatchNormOp) Type() hm.Type {
	return hm.NewFnType(tensorA(op.Dims), vectorA, vectorA, vectorA, vectorA, tensorA(op.Dims))
}

// InferShape keeps x's shape.
func (op BatchNormOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}

// Do runs the twin; in training it updates the running statistics' values in place.
func (op BatchNormOp) Do(in ...G.Value) (G.Value, error) {
	return doTwin(op, in, in[0].Shape(),
		func(dst []float32, v [][]float32) error {
			return kernels.BatchNormForward(op.B, dst, v[0], v[1], v[2], v[3], v[4], 0, op.B.C)
		},
		func(dst []float64, v [][]float64) error {
			return kernels.BatchNormForward(op.B, dst, v[0], v[1], v[2], v[3], v[4], 0, op.B.C)
		})
}

// Lower is backend.OpBatchNorm.
func (op BatchNormOp) Lower([]tensor.Shape, tensor.Shape) (*backend.Op, any, error) {
	b := op.B
	return backend.OpBatchNorm, &b, nil
}

// StateInputs are the running mean (starting at 0) and variance (starting at 1).
func (op BatchNormOp) StateInputs() []StateInput {
	return []StateInput{{Index: 3, Init: 0}, {Index: 4, Init: 1}}
}

// WriteHash writes String.
func (op BatchNormOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op BatchNormOp) Hashcode() uint32 { return opHash(op) }

// String is the geometry and mode.
func (op BatchNormOp) String() string { return op.B.String() }

// DiffWRT: x, γ and β are differentiable; the running statistics are state.
func (op BatchNormOp) DiffWRT(int) []bool { return []bool{true, true, true, false, false} }

// SymDiff gives dx, dγ and dβ (ChannelSum of dy).
func (op BatchNormOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(BatchNormGradInputOp(op), inputs[0], inputs[1], inputs[3], inputs[4], grad)
	if err != nil {
		return nil, err
	}
	dg, err := G.ApplyOp(BatchNormGradGammaOp(op), inputs[0], inputs[3], inputs[4], grad)
	if err != nil {
		return nil, err
	}
	db, err := G.ApplyOp(ChannelSumOp{Dims: op.Dims}, grad)
	return G.Nodes{dx, dg, db, nil, nil}, err
}

// BatchNormGradInputOp computes dx from (x, γ, running mean, running var, dy).
type BatchNormGradInputOp struct {
	pureOp
	B    kernels.BatchNorm
	Dims int
}

// Arity is 5.
func (op BatchNormGradInputOp) Arity() int { return 5 }

// Type is tensor a → vector a ×3 → tensor a → tensor a.
func (op BatchNormGradInputOp) Type() hm.Type {
	return hm.NewFnType(tensorA(op.Dims), vectorA, vectorA, vectorA, tensorA(op.Dims), tensorA(op.Dims))
}

// InferShape keeps x's shape.
func (op BatchNormGradInputOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}

// Do runs the twin.
func (op BatchNormGradInputOp) Do(in ...G.Value) (G.Value, error) {
	return doTwin(op, in, in[0].Shape(),
		func(dst []float32, v [][]float32) error {
			return kernels.BatchNormBackwardInput(op.B, dst, v[0], v[1], v[2], v[3], v[4], 0, op.B.C)
		},
		func(dst []float64, v [][]float64) error {
			return kernels.BatchNormBackwardInput(op.B, dst, v[0], v[1], v[2], v[3], v[4], 0, op.B.C)
		})
}

// Lower is backend.OpBatchNormGradInput.
func (op BatchNormGradInputOp) Lower([]tensor.Shape, tensor.Shape) (*backend.Op, any, error) {
	b := op.B
	return backend.OpBatchNormGradInput, &b, nil
}

// WriteHash writes String.
func (op BatchNormGradInputOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op BatchNormGradInputOp) Hashcode() uint32 { return opHash(op) }

// String names the op.
func (op BatchNormGradInputOp) String() string { return op.B.String() + "'x" }

// BatchNormGradGammaOp computes dγ from (x, running mean, running var, dy).
type BatchNormGradGammaOp struct {
	pureOp
	B    kernels.BatchNorm
	Dims int
}

// Arity is 4.
func (op BatchNormGradGammaOp) Arity() int { return 4 }

// Type is tensor a → vector a ×2 → tensor a → vector a.
func (op BatchNormGradGammaOp) Type() hm.Type {
	return hm.NewFnType(tensorA(op.Dims), vectorA, vectorA, tensorA(op.Dims), vectorA)
}

// InferShape is [C].
func (op BatchNormGradGammaOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.B.C}, nil
}

// Do runs the twin.
func (op BatchNormGradGammaOp) Do(in ...G.Value) (G.Value, error) {
	return doTwin(op, in, tensor.Shape{op.B.C},
		func(dst []float32, v [][]float32) error {
			return kernels.BatchNormBackwardGamma(op.B, dst, v[0], v[1], v[2], v[3], 0, op.B.C)
		},
		func(dst []float64, v [][]float64) error {
			return kernels.BatchNormBackwardGamma(op.B, dst, v[0], v[1], v[2], v[3], 0, op.B.C)
		})
}

// Lower is backend.OpBatchNormGradGamma.
func (op BatchNormGradGammaOp) Lower([]tensor.Shape, tensor.Shape) (*backend.Op, any, error) {
	b := op.B
	return backend.OpBatchNormGradGamma, &b, nil
}

// WriteHash writes String.
func (op BatchNormGradGammaOp) WriteHash(h hash.Hash) { writeHash(h, op) }

// Hashcode hashes String.
func (op BatchNormGradGammaOp) Hashcode() uint32 { return opHash(op) }

// String names the op.
func (op BatchNormGradGammaOp) String() string { return op.B.String() + "'γ" }
