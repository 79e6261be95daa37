package backend

import (
	"fmt"

	"github.com/gotrain/gotrain/kernels"
)

// The typed Device methods that graph ops lower to, registered as Ops with a Via composition, so
// that the executor reaches every graph op the same way (a Call built at compile time) and a
// graph op's lowering lives with the op (package models/nn) rather than in a switch of the
// executor. Running such a call costs one more indirect call than the method itself.

// ActivationAttrs are the attributes of OpActivation and OpActivationGrad.
type ActivationAttrs struct {
	Act   kernels.Activation
	Alpha float64
}

// SoftmaxAttrs are the attributes of OpSoftmax and OpSoftmaxGrad: rows of cols elements.
type SoftmaxAttrs struct {
	Log        bool
	Rows, Cols int
}

// LossAttrs are the attributes of OpLoss and OpLossGrad.
type LossAttrs struct {
	Kind       kernels.Loss
	Rows, Cols int
}

// MatrixAttrs are the attributes of OpBiasAdd: a [Rows, Cols] matrix.
type MatrixAttrs struct{ Rows, Cols int }

// SumAttrs are the attributes of OpSum: the [Outer, Mid, Inner] view reduced over Mid.
type SumAttrs struct{ Outer, Mid, Inner int }

func attrsErr(op string, got any, want string) error {
	return fmt.Errorf("backend: %s: attributes are %T, want %s: %w", op, got, want, ErrInvalid)
}

// The ops of the typed methods.
var (
	// OpActivation is Device.Activation(dst, x).
	OpActivation = NewOp(OpSpec{Name: "activation", Operands: []string{"dst", "x"}, Via: func(d Device, c *Call) error {
		a, ok := c.Attrs.(*ActivationAttrs)
		if !ok {
			return attrsErr("activation", c.Attrs, "*ActivationAttrs")
		}
		return d.Activation(a.Act, a.Alpha, c.Bufs[0], c.Bufs[1])
	}})
	// OpActivationGrad is Device.ActivationGrad(dx, x, y, dy).
	OpActivationGrad = NewOp(OpSpec{Name: "activation_grad", Operands: []string{"dx", "x", "y", "dy"}, Via: func(d Device, c *Call) error {
		a, ok := c.Attrs.(*ActivationAttrs)
		if !ok {
			return attrsErr("activation_grad", c.Attrs, "*ActivationAttrs")
		}
		return d.ActivationGrad(a.Act, a.Alpha, c.Bufs[0], c.Bufs[1], c.Bufs[2], c.Bufs[3])
	}})
	// OpSoftmax is Device.Softmax(dst, x).
	OpSoftmax = NewOp(OpSpec{Name: "softmax", Operands: []string{"dst", "x"}, Via: func(d Device, c *Call) error {
		a, ok := c.Attrs.(*SoftmaxAttrs)
		if !ok {
			return attrsErr("softmax", c.Attrs, "*SoftmaxAttrs")
		}
		return d.Softmax(a.Log, c.Bufs[0], c.Bufs[1], a.Rows, a.Cols)
	}})
	// OpSoftmaxGrad is Device.SoftmaxGrad(dx, y, dy).
	OpSoftmaxGrad = NewOp(OpSpec{Name: "softmax_grad", Operands: []string{"dx", "y", "dy"}, Via: func(d Device, c *Call) error {
		a, ok := c.Attrs.(*SoftmaxAttrs)
		if !ok {
			return attrsErr("softmax_grad", c.Attrs, "*SoftmaxAttrs")
		}
		return d.SoftmaxGrad(a.Log, c.Bufs[0], c.Bufs[1], c.Bufs[2], a.Rows, a.Cols)
	}})
	// OpLoss is Device.Loss(loss, x, y).
	OpLoss = NewOp(OpSpec{Name: "loss", Operands: []string{"loss", "x", "y"}, Via: func(d Device, c *Call) error {
		a, ok := c.Attrs.(*LossAttrs)
		if !ok {
			return attrsErr("loss", c.Attrs, "*LossAttrs")
		}
		return d.Loss(a.Kind, c.Bufs[0], c.Bufs[1], c.Bufs[2], a.Rows, a.Cols)
	}})
	// OpLossGrad is Device.LossGrad(dx, x, y, dloss).
	OpLossGrad = NewOp(OpSpec{Name: "loss_grad", Operands: []string{"dx", "x", "y", "dloss"}, Via: func(d Device, c *Call) error {
		a, ok := c.Attrs.(*LossAttrs)
		if !ok {
			return attrsErr("loss_grad", c.Attrs, "*LossAttrs")
		}
		return d.LossGrad(a.Kind, c.Bufs[0], c.Bufs[1], c.Bufs[2], c.Bufs[3], a.Rows, a.Cols)
	}})
	// OpBiasAdd is Device.BiasAdd(dst, x, bias).
	OpBiasAdd = NewOp(OpSpec{Name: "bias_add", Operands: []string{"dst", "x", "bias"}, Via: func(d Device, c *Call) error {
		a, ok := c.Attrs.(*MatrixAttrs)
		if !ok {
			return attrsErr("bias_add", c.Attrs, "*MatrixAttrs")
		}
		return d.BiasAdd(c.Bufs[0], c.Bufs[1], c.Bufs[2], a.Rows, a.Cols)
	}})
	// OpSum is Device.Sum(dst, src).
	OpSum = NewOp(OpSpec{Name: "sum", Operands: []string{"dst", "src"}, Via: func(d Device, c *Call) error {
		a, ok := c.Attrs.(*SumAttrs)
		if !ok {
			return attrsErr("sum", c.Attrs, "*SumAttrs")
		}
		return d.Sum(c.Bufs[0], c.Bufs[1], a.Outer, a.Mid, a.Inner)
	}})
)
