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
