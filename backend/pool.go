package backend

import (
	"fmt"

	"github.com/gotrain/gotrain/kernels"
)

// The 2-D pooling family (PyTorch's MaxPool2d and AvgPool2d; kernels.Pool2D's geometry and
// semantics). Attributes: *kernels.Pool2D, whose Kind says max or average.
var (
	// OpPool2D computes y [N, C, OH, OW] = pool(x [N, C, H, W]).
	OpPool2D = NewOp(OpSpec{Name: "pool2d", Operands: []string{"y", "x"}, Check: func(c *Call) error {
		g, err := poolAttrs(c)
		if err != nil {
			return err
		}
		return CheckLens(c, g.YLen(), g.XLen())
	}})
	// OpPool2DGrad computes dx = ∂⟨dy, pool(x)⟩/∂x from x and dy (max pooling recomputes each
	// window's argmax from x; average pooling does not read x).
	OpPool2DGrad = NewOp(OpSpec{Name: "pool2d_grad", Operands: []string{"dx", "x", "dy"}, Check: func(c *Call) error {
		g, err := poolAttrs(c)
		if err != nil {
			return err
		}
		return CheckLens(c, g.XLen(), g.XLen(), g.YLen())
	}})
)

func poolAttrs(c *Call) (*kernels.Pool2D, error) {
	g, ok := c.Attrs.(*kernels.Pool2D)
	if !ok || g == nil {
		return nil, fmt.Errorf("attributes are %T, want *kernels.Pool2D: %w", c.Attrs, ErrInvalid)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	return g, nil
}
