package backend

import (
	"fmt"

	"github.com/gotrain/gotrain/kernels"
)

// The batch normalisation family (PyTorch's BatchNorm1d and BatchNorm2d over x viewed as
// [N, C, Inner]; kernels.BatchNorm's semantics). Attributes: *kernels.BatchNorm, whose Train says
// whether batch statistics are used (and the running statistics updated in place) or the running
// statistics. gamma, beta, rmean and rvar have C elements. dβ is OpChannelSum of dy.
var (
	// OpBatchNorm computes y and, in training, updates rmean and rvar.
	OpBatchNorm = NewOp(OpSpec{Name: "batchnorm", Operands: []string{"y", "x", "gamma", "beta", "rmean", "rvar"}, Check: func(c *Call) error {
		b, err := bnAttrs(c)
		if err != nil {
			return err
		}
		return CheckLens(c, b.Len(), b.Len(), b.C, b.C, b.C, b.C)
	}})
	// OpBatchNormGradInput computes dx.
	OpBatchNormGradInput = NewOp(OpSpec{Name: "batchnorm_grad_input", Operands: []string{"dx", "x", "gamma", "rmean", "rvar", "dy"}, Check: func(c *Call) error {
		b, err := bnAttrs(c)
		if err != nil {
			return err
		}
		return CheckLens(c, b.Len(), b.Len(), b.C, b.C, b.C, b.Len())
	}})
	// OpBatchNormGradGamma computes dγ.
	OpBatchNormGradGamma = NewOp(OpSpec{Name: "batchnorm_grad_gamma", Operands: []string{"dgamma", "x", "rmean", "rvar", "dy"}, Check: func(c *Call) error {
		b, err := bnAttrs(c)
		if err != nil {
			return err
		}
		return CheckLens(c, b.C, b.Len(), b.C, b.C, b.Len())
	}})
	// OpBatchNormGradInputGamma computes dx and dγ, OpBatchNormGradInput's and
	// OpBatchNormGradGamma's results, in one call: dγ is the input gradient's Σ dy·x̂, so a
	// device can compute both from one pass over x and dy (exec fuses the two calls where a plan
	// has them one after the other). Every device without an executor of its own runs the two.
	OpBatchNormGradInputGamma = NewOp(OpSpec{Name: "batchnorm_grad_input_gamma", Operands: []string{"dx", "dgamma", "x", "gamma", "rmean", "rvar", "dy"}, Check: func(c *Call) error {
		b, err := bnAttrs(c)
		if err != nil {
			return err
		}
		return CheckLens(c, b.Len(), b.C, b.Len(), b.C, b.C, b.C, b.Len())
	}, Via: func(dev Device, c *Call) error {
		dx, dgamma, x, gamma, rmean, rvar, dy := c.Bufs[0], c.Bufs[1], c.Bufs[2], c.Bufs[3], c.Bufs[4], c.Bufs[5], c.Bufs[6]
		if err := dev.Run(&Call{Op: OpBatchNormGradInput, Bufs: []Buffer{dx, x, gamma, rmean, rvar, dy}, Attrs: c.Attrs, State: c.State}); err != nil {
			return err
		}
		return dev.Run(&Call{Op: OpBatchNormGradGamma, Bufs: []Buffer{dgamma, x, rmean, rvar, dy}, Attrs: c.Attrs, State: c.State})
	}})
)

func bnAttrs(c *Call) (*kernels.BatchNorm, error) {
	b, ok := c.Attrs.(*kernels.BatchNorm)
	if !ok || b == nil {
		return nil, fmt.Errorf("attributes are %T, want *kernels.BatchNorm: %w", c.Attrs, ErrInvalid)
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	return b, nil
}
