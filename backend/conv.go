package backend

import (
	"fmt"

	"github.com/gotrain/gotrain/kernels"
)

// The 2-D convolution family (PyTorch's Conv2d, groups 1, NCHW; the geometry and semantics are
// kernels.Conv2D's). Attributes: *kernels.Conv2D. A bias is OpChannelBias after OpConv2D.
var (
	// OpConv2D computes y [N, OutC, OH, OW] = conv(x [N, C, H, W], w [OutC, C, KH, KW]).
	OpConv2D = NewOp(OpSpec{Name: "conv2d", Operands: []string{"y", "x", "w"}, Check: func(c *Call) error {
		g, err := convAttrs(c)
		if err != nil {
			return err
		}
		return CheckLens(c, g.YLen(), g.XLen(), g.WLen())
	}})
	// OpConv2DGradInput computes dx = ∂⟨dy, conv(x, w)⟩/∂x from dy and w.
	OpConv2DGradInput = NewOp(OpSpec{Name: "conv2d_grad_input", Operands: []string{"dx", "dy", "w"}, Check: func(c *Call) error {
		g, err := convAttrs(c)
		if err != nil {
			return err
		}
		return CheckLens(c, g.XLen(), g.YLen(), g.WLen())
	}})
	// OpConv2DGradFilter computes dw = ∂⟨dy, conv(x, w)⟩/∂w from x and dy.
	OpConv2DGradFilter = NewOp(OpSpec{Name: "conv2d_grad_filter", Operands: []string{"dw", "x", "dy"}, Check: func(c *Call) error {
		g, err := convAttrs(c)
		if err != nil {
			return err
		}
		return CheckLens(c, g.WLen(), g.XLen(), g.YLen())
	}})
)

func convAttrs(c *Call) (*kernels.Conv2D, error) {
	g, ok := c.Attrs.(*kernels.Conv2D)
	if !ok || g == nil {
		return nil, fmt.Errorf("attributes are %T, want *kernels.Conv2D: %w", c.Attrs, ErrInvalid)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	return g, nil
}
