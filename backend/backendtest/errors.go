package backendtest

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/optim"
)

// foreignBuffer is a buffer no device allocated: a device must reject it, not panic on a type
// assertion.
type foreignBuffer struct{}

func (foreignBuffer) DType() backend.DType { return backend.Float32 }
func (foreignBuffer) Len() int             { return 3 }

// TestErrors checks that bad arguments return errors wrapping the documented sentinels and
// never panic: mismatched lengths and optimizer state lists of the wrong count wrap ErrShape,
// mixed dtypes ErrDType, and invalid enums, nil or foreign buffers, zero bias corrections and a
// Clamp range with lo > hi return some error.
func TestErrors(t *testing.T, dev backend.Device) {
	alloc := func(dt backend.DType, n int) backend.Buffer {
		b, err := dev.Alloc(dt, n)
		require.NoError(t, err, "Alloc(%v, %d)", dt, n)
		t.Cleanup(func() { dev.Free(b) })
		return b
	}
	f1, f3, f4, f6 := alloc(backend.Float32, 1), alloc(backend.Float32, 3), alloc(backend.Float32, 4), alloc(backend.Float32, 6)
	d3, d6 := alloc(backend.Float64, 3), alloc(backend.Float64, 6)
	bs := func(b ...backend.Buffer) []backend.Buffer { return b }
	step := func(name string, lr float64, edit func(o *optim.Options)) *kernels.Step {
		o, err := optim.Defaults(name, lr)
		require.NoError(t, err)
		d, err := optim.Describe(o.Name)
		require.NoError(t, err)
		if edit != nil {
			edit(&o)
		}
		carry := 1.0
		s := d.Step(o, lr, 1, &carry)
		return &s
	}
	sgd := step("sgd", 0.1, nil)
	mom := step("momentum", 0.1, nil)
	adam := step("adam", 0.1, nil)
	ams := step("adam", 0.1, func(o *optim.Options) { o.AMSGrad = true })
	rms := step("rmsprop", 0.01, func(o *optim.Options) { o.Momentum, o.Centered = 0.9, true })
	nanStep := *adam
	nanStep.S[2] = math.NaN()
	noRule := *sgd
	noRule.Rule = nil
	st := func(l ...[]backend.Buffer) [][]backend.Buffer { return l }

	shape := []error{backend.ErrShape}
	dtype := []error{backend.ErrDType}
	// Host slices of the wrong type are a dtype or a shape problem, depending on how the device
	// looks at them.
	host := []error{backend.ErrDType, backend.ErrShape}
	var anyErr []error

	cases := []struct {
		name string
		want []error // the error must wrap one of these; nil: any error
		call func() error
	}{
		{"Write of float64 data into a float32 buffer", host, func() error { return dev.Write(f3, []float64{1, 2, 3}) }},
		{"Write of too few elements", shape, func() error { return dev.Write(f3, []float32{1, 2}) }},
		{"Write of too many elements", shape, func() error { return dev.Write(f3, []float32{1, 2, 3, 4}) }},
		{"Write of float32 data into a float64 buffer", host, func() error { return dev.Write(d3, []float32{1, 2, 3}) }},
		{"Write of an unsupported host type", anyErr, func() error { return dev.Write(f3, []int{1, 2, 3}) }},
		{"Read of a float64 buffer into float32", host, func() error { return dev.Read(make([]float32, 3), d3) }},
		{"Read into a short slice", shape, func() error { return dev.Read(make([]float32, 2), f3) }},
		{"Read into a long slice", shape, func() error { return dev.Read(make([]float64, 4), d3) }},
		{"Read into an unsupported host type", anyErr, func() error { return dev.Read(make([]int, 3), f3) }},
		{"Alloc of a negative length", anyErr, func() error { return allocErr(dev, backend.Float32, -1) }},
		{"Alloc of an unknown dtype", anyErr, func() error { return allocErr(dev, backend.DType(0), 3) }},
		{"Fill of a nil buffer", anyErr, func() error { return dev.Fill(nil, 1) }},
		{"Fill of a buffer from elsewhere", anyErr, func() error { return dev.Fill(foreignBuffer{}, 1) }},
		{"Copy from a foreign buffer", anyErr, func() error { return dev.Copy(f3, foreignBuffer{}) }},
		{"Copy between lengths", shape, func() error { return dev.Copy(f3, f4) }},
		{"Copy between dtypes", dtype, func() error { return dev.Copy(f3, d3) }},
		{"Scale between lengths", shape, func() error { return dev.Scale(f3, f4, 2) }},
		{"Scale between dtypes", dtype, func() error { return dev.Scale(d3, f3, 2) }},
		{"Unary between lengths", shape, func() error { return dev.Unary(backend.Exp, f3, f4) }},
		{"Unary between dtypes", dtype, func() error { return dev.Unary(backend.Exp, f3, d3) }},
		{"Unary with an unknown op", anyErr, func() error { return dev.Unary(backend.UnaryOp(0), f3, f3) }},
		{"Binary with b of another length", shape, func() error { return dev.Binary(backend.Add, f3, f3, f4) }},
		{"Binary with a of another length", shape, func() error { return dev.Binary(backend.Add, f3, f4, f1) }},
		{"Binary with dst of another length", shape, func() error { return dev.Binary(backend.Mul, f4, f3, f3) }},
		{"Binary between dtypes", dtype, func() error { return dev.Binary(backend.Add, f3, d3, f3) }},
		{"Binary with an unknown op", anyErr, func() error { return dev.Binary(backend.BinaryOp(0), f3, f3, f3) }},
		{"Broadcast into a dst of the wrong length", shape, func() error { return dev.Broadcast(f6, f3, 1, 3, 3) }},
		{"Broadcast from a src of the wrong length", shape, func() error { return dev.Broadcast(f6, f4, 1, 2, 3) }},
		{"Broadcast with negative axes", anyErr, func() error { return dev.Broadcast(f3, f3, -1, -1, -3) }},
		{"Broadcast between dtypes", dtype, func() error { return dev.Broadcast(d6, f3, 1, 2, 3) }},
		{"Sum into a dst of the wrong length", shape, func() error { return dev.Sum(f4, f6, 1, 2, 3) }},
		{"Sum from a src of the wrong length", shape, func() error { return dev.Sum(f3, f4, 1, 2, 3) }},
		{"Sum between dtypes", dtype, func() error { return dev.Sum(d3, f6, 1, 2, 3) }},
		{"BiasAdd with a bias of the wrong length", shape, func() error { return dev.BiasAdd(f6, f6, f4, 2, 3) }},
		{"BiasAdd with x of the wrong shape", shape, func() error { return dev.BiasAdd(f6, f6, f3, 3, 3) }},
		{"BiasAdd between dtypes", dtype, func() error { return dev.BiasAdd(f6, f6, d3, 2, 3) }},
		{"Gemm with B too short", shape, func() error { return dev.Gemm(false, false, 2, 3, 3, 1, f6, f6, 0, f6) }},
		{"Gemm with A too short", shape, func() error { return dev.Gemm(true, false, 2, 3, 3, 1, f3, f6, 0, f6) }},
		{"Gemm with C too short", shape, func() error { return dev.Gemm(false, true, 3, 3, 2, 1, f6, f6, 0, f6) }},
		{"Gemm with negative sizes", anyErr, func() error { return dev.Gemm(false, false, -2, -3, 1, 1, f6, f6, 0, f6) }},
		{"Gemm between dtypes", dtype, func() error { return dev.Gemm(false, false, 3, 1, 1, 1, f3, f1, 0, d3) }},
		{"Activation between lengths", shape, func() error { return dev.Activation(kernels.Tanh, 0, f3, f4) }},
		{"Activation between dtypes", dtype, func() error { return dev.Activation(kernels.Tanh, 0, d3, f3) }},
		{"Activation with an unknown activation", anyErr, func() error { return dev.Activation(kernels.Activation(200), 0, f3, f3) }},
		{"ActivationGrad with dy of another length", shape, func() error { return dev.ActivationGrad(kernels.Tanh, 0, f3, f3, f3, f4) }},
		{"ActivationGrad with y of another length", shape, func() error { return dev.ActivationGrad(kernels.Tanh, 0, f3, f3, f4, f3) }},
		{"ActivationGrad between dtypes", dtype, func() error { return dev.ActivationGrad(kernels.Tanh, 0, f3, d3, f3, f3) }},
		{"ActivationGrad with an unknown activation", anyErr, func() error { return dev.ActivationGrad(kernels.Activation(200), 0, f3, f3, f3, f3) }},
		{"Softmax with rows·cols != len", shape, func() error { return dev.Softmax(false, f6, f6, 4, 2) }},
		{"Softmax between lengths", shape, func() error { return dev.Softmax(true, f6, f4, 2, 3) }},
		{"Softmax between dtypes", dtype, func() error { return dev.Softmax(false, d6, f6, 2, 3) }},
		{"SoftmaxGrad with dy of another length", shape, func() error { return dev.SoftmaxGrad(false, f6, f6, f4, 2, 3) }},
		{"SoftmaxGrad between dtypes", dtype, func() error { return dev.SoftmaxGrad(true, f6, d6, f6, 2, 3) }},
		{"Loss into a loss buffer of length 3", shape, func() error { return dev.Loss(kernels.MSE, f3, f6, f6, 2, 3) }},
		{"Loss with targets of another length", shape, func() error { return dev.Loss(kernels.SoftmaxCrossEntropy, f1, f6, f4, 2, 3) }},
		{"Loss with rows·cols != len", shape, func() error { return dev.Loss(kernels.BCEWithLogits, f1, f6, f6, 3, 3) }},
		{"Loss between dtypes", dtype, func() error { return dev.Loss(kernels.MSE, f1, f6, d6, 2, 3) }},
		{"Loss with an unknown loss", anyErr, func() error { return dev.Loss(kernels.Loss(200), f1, f6, f6, 2, 3) }},
		{"LossGrad with a dloss of length 3", shape, func() error { return dev.LossGrad(kernels.MSE, f6, f6, f6, f3, 2, 3) }},
		{"LossGrad into a dx of another length", shape, func() error { return dev.LossGrad(kernels.BCEWithLogits, f4, f6, f6, f1, 2, 3) }},
		{"LossGrad between dtypes", dtype, func() error { return dev.LossGrad(kernels.MSE, f6, f6, d6, f1, 2, 3) }},
		{"LossGrad with an unknown loss", anyErr, func() error { return dev.LossGrad(kernels.Loss(200), f6, f6, f6, f1, 2, 3) }},
		{"CountCorrect into a dst of length 3", shape, func() error { return dev.CountCorrect(f3, f6, f6, 2, 3) }},
		{"CountCorrect with y of another length", shape, func() error { return dev.CountCorrect(f1, f6, f4, 2, 3) }},
		{"OptimizerStep with fewer grads than params", shape, func() error { return dev.OptimizerStep(sgd, bs(f3, f4), bs(f3), nil) }},
		{"OptimizerStep with a grad of another length", shape, func() error { return dev.OptimizerStep(sgd, bs(f3), bs(f4), nil) }},
		{"OptimizerStep with a grad of another dtype", dtype, func() error { return dev.OptimizerStep(sgd, bs(f3), bs(d3), nil) }},
		{"OptimizerStep with a nil parameter", anyErr, func() error { return dev.OptimizerStep(sgd, bs(nil), bs(f3), nil) }},
		{"OptimizerStep with a foreign gradient", anyErr, func() error { return dev.OptimizerStep(sgd, bs(f3), bs(foreignBuffer{}), nil) }},
		{"OptimizerStep with a step without an update rule", anyErr, func() error { return dev.OptimizerStep(&noRule, bs(f3), bs(f3), nil) }},
		{"OptimizerStep with no step", anyErr, func() error { return dev.OptimizerStep(nil, bs(f3), bs(f3), nil) }},
		{"OptimizerStep for SGD with momentum and no state", shape, func() error { return dev.OptimizerStep(mom, bs(f3), bs(f3), nil) }},
		{"OptimizerStep for SGD without momentum and a state list", shape, func() error {
			return dev.OptimizerStep(sgd, bs(f3), bs(f3), st(bs(f3)))
		}},
		{"OptimizerStep for Adam with one state list", shape, func() error { return dev.OptimizerStep(adam, bs(f3), bs(f3), st(bs(f3))) }},
		{"OptimizerStep for AMSGrad without vmax", shape, func() error {
			return dev.OptimizerStep(ams, bs(f3), bs(f3), st(bs(f3), bs(f3)))
		}},
		{"OptimizerStep for centered RMSProp with momentum and two state lists", shape, func() error {
			return dev.OptimizerStep(rms, bs(f3), bs(f3), st(bs(f3), bs(f3)))
		}},
		{"OptimizerStep with a state list longer than params", shape, func() error {
			return dev.OptimizerStep(adam, bs(f3), bs(f3), st(bs(f3, f3), bs(f3)))
		}},
		{"OptimizerStep with a state list shorter than params", shape, func() error {
			return dev.OptimizerStep(mom, bs(f3, f4), bs(f3, f4), st(bs(f3)))
		}},
		{"OptimizerStep with a state tensor of another length", shape, func() error {
			return dev.OptimizerStep(adam, bs(f3), bs(f3), st(bs(f3), bs(f4)))
		}},
		{"OptimizerStep with a state tensor of another dtype", dtype, func() error {
			return dev.OptimizerStep(ams, bs(f3), bs(f3), st(bs(f3), bs(f3), bs(d3)))
		}},
		{"OptimizerStep with a nil state tensor", anyErr, func() error { return dev.OptimizerStep(mom, bs(f3), bs(f3), st(bs(nil))) }},
		{"OptimizerStep for Adam with a NaN scalar", anyErr, func() error {
			return dev.OptimizerStep(&nanStep, bs(f3), bs(f3), st(bs(f3), bs(f3)))
		}},
		{"SumSquares into a dst of length 3", shape, func() error { return dev.SumSquares(f3, bs(f4, f6)) }},
		{"SumSquares into an empty dst", shape, func() error { return dev.SumSquares(alloc(backend.Float32, 0), bs(f3)) }},
		{"SumSquares between dtypes", dtype, func() error { return dev.SumSquares(f1, bs(f3, d3)) }},
		{"SumSquares of a nil buffer", anyErr, func() error { return dev.SumSquares(f1, bs(f3, nil)) }},
		{"SumSquares of a foreign buffer", anyErr, func() error { return dev.SumSquares(f1, bs(foreignBuffer{})) }},
		{"Clamp between lengths", shape, func() error { return dev.Clamp(f3, f4, -1, 1) }},
		{"Clamp between dtypes", dtype, func() error { return dev.Clamp(d3, f3, -1, 1) }},
		{"Clamp with lo > hi", anyErr, func() error { return dev.Clamp(f3, f3, 1, -1) }},
		{"Clamp of a nil buffer", anyErr, func() error { return dev.Clamp(f3, nil, -1, 1) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := safe(c.call)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "panicked", "the device panicked instead of returning an error")
			if len(c.want) == 0 {
				return
			}
			for _, w := range c.want {
				if errors.Is(err, w) {
					return
				}
			}
			assert.Fail(t, "wrong error", "%v wraps none of %v", err, c.want)
		})
	}
	t.Run("the device still works after the errors", func(t *testing.T) {
		e := newEnv(t, dev, backend.Float32)
		x := e.input("x", e.uniform(3, -1, 1))
		dst := e.output("dst", 3)
		e.do("Copy", func() error { return e.dev.Copy(dst.b, x.b) })
		e.check(dst, x.host, tol{})
	})
}

// allocErr returns Alloc's error, freeing the buffer if it wrongly succeeded.
func allocErr(dev backend.Device, dt backend.DType, n int) error {
	b, err := dev.Alloc(dt, n)
	if err == nil {
		dev.Free(b)
	}
	return err
}
