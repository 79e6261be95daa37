package backend

import "fmt"

// ChannelAttrs view a tensor as [Outer, Channels, Inner]: an NCHW batch has Outer N and Inner
// H·W; a matrix has Outer rows, Channels columns and Inner 1.
type ChannelAttrs struct{ Outer, Channels, Inner int }

// The per-channel family: a convolution's bias and its gradient, batch normalisation's dβ.
// Attributes: *ChannelAttrs.
var (
	// OpChannelBias computes y[o,c,i] = x[o,c,i] + b[c].
	OpChannelBias = NewOp(OpSpec{Name: "channel_bias", Operands: []string{"y", "x", "b"}, Check: func(c *Call) error {
		a, err := channelAttrs(c)
		if err != nil {
			return err
		}
		n := a.Outer * a.Channels * a.Inner
		return CheckLens(c, n, n, a.Channels)
	}})
	// OpChannelSum computes dst[c] = Σ_{o,i} x[o,c,i] (accumulated in float64).
	OpChannelSum = NewOp(OpSpec{Name: "channel_sum", Operands: []string{"dst", "x"}, Check: func(c *Call) error {
		a, err := channelAttrs(c)
		if err != nil {
			return err
		}
		return CheckLens(c, a.Channels, a.Outer*a.Channels*a.Inner)
	}})
)

func channelAttrs(c *Call) (*ChannelAttrs, error) {
	a, ok := c.Attrs.(*ChannelAttrs)
	if !ok || a == nil {
		return nil, fmt.Errorf("attributes are %T, want *backend.ChannelAttrs: %w", c.Attrs, ErrInvalid)
	}
	if a.Outer < 0 || a.Channels < 0 || a.Inner < 0 {
		return nil, fmt.Errorf("negative dimension in %+v: %w", *a, ErrShape)
	}
	return a, nil
}
