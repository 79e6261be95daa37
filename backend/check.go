package backend

import (
	"fmt"
	"slices"

	"github.com/gotrain/gotrain/kernels"
)

// The argument checks of the typed Device methods, shared by every device: a device first
// checks that the buffers are its own, live and of one dtype (that depends on its buffer type),
// then calls the check of the method here with its name ("cpu", "cuda"), so that a shape rule is
// written once and both devices answer bad input with the same error. Every check formats and
// allocates nothing when the arguments are good (a training step calls them on every op).

// LenErr reports that buffer what of op has got elements instead of want.
func LenErr(dev, op, what string, got, want int) error {
	return fmt.Errorf("%s: %s: %s has %d elements, want %d: %w", dev, op, what, got, want, ErrShape)
}

// CheckDims rejects negative dimensions.
func CheckDims(dev, op string, dims ...int) error {
	for _, v := range dims {
		if v < 0 {
			return fmt.Errorf("%s: %s: negative dimension in %v: %w", dev, op, slices.Clone(dims), ErrShape) // clone: dims must not escape
		}
	}
	return nil
}

func checkLen(dev, op, what string, b Buffer, want int) error {
	if b.Len() != want {
		return LenErr(dev, op, what, b.Len(), want)
	}
	return nil
}

// CheckGemm checks Gemm's dimensions against its buffers (A m×k, B k×n, C m×n elements).
func CheckGemm(dev string, m, n, k int, a, b, c Buffer) error {
	if err := CheckDims(dev, "Gemm", m, n, k); err != nil {
		return err
	}
	if err := checkLen(dev, "Gemm", "a", a, m*k); err != nil {
		return err
	}
	if err := checkLen(dev, "Gemm", "b", b, k*n); err != nil {
		return err
	}
	return checkLen(dev, "Gemm", "c", c, m*n)
}

// CheckSameLen checks that x (named what) has dst's length: Copy, Scale, Clamp.
func CheckSameLen(dev, op, what string, dst, x Buffer) error {
	return checkLen(dev, op, what, x, dst.Len())
}

// CheckUnary checks Unary's op and lengths.
func CheckUnary(dev string, op UnaryOp, dst, x Buffer) error {
	if op < Neg || op > Cube {
		return fmt.Errorf("%s: Unary: unknown op %v: %w", dev, op, ErrUnsupported)
	}
	if x.Len() != dst.Len() {
		return LenErr(dev, "Unary "+op.String(), "x", x.Len(), dst.Len())
	}
	return nil
}

// CheckBinary checks Binary's op and that a and b have dst's length or length 1.
func CheckBinary(dev string, op BinaryOp, dst, a, b Buffer) error {
	if op < Add || op > Ne {
		return fmt.Errorf("%s: Binary: unknown op %v: %w", dev, op, ErrUnsupported)
	}
	n := dst.Len()
	if l := a.Len(); l != n && l != 1 {
		return fmt.Errorf("%s: Binary %v: a has %d elements, want %d or 1: %w", dev, op, l, n, ErrShape)
	}
	if l := b.Len(); l != n && l != 1 {
		return fmt.Errorf("%s: Binary %v: b has %d elements, want %d or 1: %w", dev, op, l, n, ErrShape)
	}
	return nil
}

// CheckBroadcast checks Broadcast's view: dst [outer, mid, inner] from src [outer, 1, inner].
func CheckBroadcast(dev string, dst, src Buffer, outer, mid, inner int) error {
	if err := CheckDims(dev, "Broadcast", outer, mid, inner); err != nil {
		return err
	}
	if err := checkLen(dev, "Broadcast", "dst", dst, outer*mid*inner); err != nil {
		return err
	}
	return checkLen(dev, "Broadcast", "src", src, outer*inner)
}

// CheckSum checks Sum's view: src [outer, mid, inner] into dst [outer, inner].
func CheckSum(dev string, dst, src Buffer, outer, mid, inner int) error {
	if err := CheckDims(dev, "Sum", outer, mid, inner); err != nil {
		return err
	}
	if err := checkLen(dev, "Sum", "dst", dst, outer*inner); err != nil {
		return err
	}
	return checkLen(dev, "Sum", "src", src, outer*mid*inner)
}

// CheckBiasAdd checks BiasAdd: dst and x [rows, cols], bias [cols].
func CheckBiasAdd(dev string, dst, x, bias Buffer, rows, cols int) error {
	if err := CheckDims(dev, "BiasAdd", rows, cols); err != nil {
		return err
	}
	if err := checkLen(dev, "BiasAdd", "dst", dst, rows*cols); err != nil {
		return err
	}
	if err := checkLen(dev, "BiasAdd", "x", x, rows*cols); err != nil {
		return err
	}
	return checkLen(dev, "BiasAdd", "bias", bias, cols)
}

// CheckActivation checks Activation's activation and lengths.
func CheckActivation(dev string, act kernels.Activation, dst, x Buffer) error {
	if !act.Valid() {
		return fmt.Errorf("%s: Activation: %v: %w", dev, act, ErrUnsupported)
	}
	if x.Len() != dst.Len() {
		return LenErr(dev, "Activation "+act.String(), "x", x.Len(), dst.Len())
	}
	return nil
}

// CheckActivationGrad checks ActivationGrad's activation and that x, y and dy have dx's length.
func CheckActivationGrad(dev string, act kernels.Activation, dx, x, y, dy Buffer) error {
	if !act.Valid() {
		return fmt.Errorf("%s: ActivationGrad: %v: %w", dev, act, ErrUnsupported)
	}
	n := dx.Len()
	for i, b := range [3]Buffer{x, y, dy} {
		if b.Len() != n {
			return LenErr(dev, "ActivationGrad "+act.String(), [3]string{"x", "y", "dy"}[i], b.Len(), n)
		}
	}
	return nil
}

// checkRows checks that each of bufs holds a [rows, cols] matrix.
func checkRows(dev, op string, rows, cols int, bufs [3]Buffer, names [3]string) error {
	if err := CheckDims(dev, op, rows, cols); err != nil {
		return err
	}
	for i, b := range bufs {
		if b != nil && b.Len() != rows*cols {
			return LenErr(dev, op, names[i], b.Len(), rows*cols)
		}
	}
	return nil
}

// CheckSoftmax checks Softmax: dst and x [rows, cols].
func CheckSoftmax(dev string, dst, x Buffer, rows, cols int) error {
	return checkRows(dev, "Softmax", rows, cols, [3]Buffer{dst, x}, [3]string{"dst", "x"})
}

// CheckSoftmaxGrad checks SoftmaxGrad: dx, y and dy [rows, cols].
func CheckSoftmaxGrad(dev string, dx, y, dy Buffer, rows, cols int) error {
	return checkRows(dev, "SoftmaxGrad", rows, cols, [3]Buffer{dx, y, dy}, [3]string{"dx", "y", "dy"})
}

// CheckLoss checks Loss: a one-element loss, x and y [rows, cols], a known loss.
func CheckLoss(dev string, kind kernels.Loss, loss, x, y Buffer, rows, cols int) error {
	if err := checkLen(dev, "Loss", "loss", loss, 1); err != nil {
		return err
	}
	if err := checkRows(dev, "Loss", rows, cols, [3]Buffer{x, y}, [3]string{"x", "y"}); err != nil {
		return err
	}
	if !kind.Valid() {
		return fmt.Errorf("%s: Loss: %v: %w", dev, kind, ErrUnsupported)
	}
	return nil
}

// CheckLossGrad checks LossGrad: a one-element dloss, dx, x and y [rows, cols], a known loss.
func CheckLossGrad(dev string, kind kernels.Loss, dx, x, y, dloss Buffer, rows, cols int) error {
	if err := checkLen(dev, "LossGrad", "dloss", dloss, 1); err != nil {
		return err
	}
	if err := checkRows(dev, "LossGrad", rows, cols, [3]Buffer{dx, x, y}, [3]string{"dx", "x", "y"}); err != nil {
		return err
	}
	if !kind.Valid() {
		return fmt.Errorf("%s: LossGrad: %v: %w", dev, kind, ErrUnsupported)
	}
	return nil
}

// CheckCountCorrect checks CountCorrect: a one-element dst, x and y [rows, cols].
func CheckCountCorrect(dev string, dst, x, y Buffer, rows, cols int) error {
	if err := checkLen(dev, "CountCorrect", "dst", dst, 1); err != nil {
		return err
	}
	return checkRows(dev, "CountCorrect", rows, cols, [3]Buffer{x, y}, [3]string{"x", "y"})
}

// CheckClamp checks Clamp's range and lengths.
func CheckClamp(dev string, dst, x Buffer, lo, hi float64) error {
	if !(lo <= hi) {
		return fmt.Errorf("%s: Clamp: lo %v > hi %v: %w", dev, lo, hi, ErrInvalid)
	}
	return CheckSameLen(dev, "Clamp", "x", dst, x)
}

// CheckSumSquaresDst checks SumSquares' one-element dst (the list's buffers are the device's to
// check, one by one, with its buffer type).
func CheckSumSquaresDst(dev string, dst Buffer) error {
	return checkLen(dev, "SumSquares", "dst", dst, 1)
}

// CheckStepLists checks the list shapes of an OptimizerStep call (the per-buffer checks are the
// device's): a step with a rule, as many grads as params, s.States state lists, each as long as
// params. dev prefixes the error ("cpu", "cuda").
func CheckStepLists(dev string, s *kernels.Step, params, grads []Buffer, state [][]Buffer) error {
	if s == nil || s.Rule == nil {
		return fmt.Errorf("%s: OptimizerStep: a step without an update rule: %w", dev, ErrInvalid)
	}
	if len(state) != s.States {
		return fmt.Errorf("%s: OptimizerStep %v: %d state lists, want %d: %w", dev, s.Rule, len(state), s.States, ErrShape)
	}
	if len(grads) != len(params) {
		return fmt.Errorf("%s: OptimizerStep %v: %d grads for %d params: %w", dev, s.Rule, len(grads), len(params), ErrShape)
	}
	for k, l := range state {
		if l := len(l); l != len(params) {
			return fmt.Errorf("%s: OptimizerStep %v: state list %d has %d buffers for %d params: %w", dev, s.Rule, k, l, len(params), ErrShape)
		}
	}
	return nil
}
