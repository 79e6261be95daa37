package backend

import (
	"fmt"

	"github.com/gotrain/gotrain/kernels"
)

// The dropout family (PyTorch's Dropout in training mode; in evaluation a graph has no dropout
// op at all). Attributes: *kernels.Dropout. The mask is keyed by the call's run-time seed and
// step (Call.Seed, Call.Step) and the element index, so every device draws the same mask and the
// backward op regenerates it.
var (
	// OpDropout computes y = x·mask.
	OpDropout = NewOp(OpSpec{Name: "dropout", Operands: []string{"y", "x"}, Check: checkDropout})
	// OpDropoutGrad computes dx = dy·mask with the forward's mask.
	OpDropoutGrad = NewOp(OpSpec{Name: "dropout_grad", Operands: []string{"dx", "dy"}, Check: checkDropout})
)

func checkDropout(c *Call) error {
	d, ok := c.Attrs.(*kernels.Dropout)
	if !ok || d == nil {
		return fmt.Errorf("attributes are %T, want *kernels.Dropout: %w", c.Attrs, ErrInvalid)
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	n := c.Bufs[1].Len()
	if n > kernels.MaxDropoutElems {
		return fmt.Errorf("%d elements, more than the generator's %d: %w", n, kernels.MaxDropoutElems, ErrShape)
	}
	return CheckLens(c, n)
}
