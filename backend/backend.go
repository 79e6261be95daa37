// Package backend defines the device abstraction gotrain trains on: buffers that live on a device
// for a whole run, and the small set of operations the executor (package backend/exec) lowers a
// Gorgonia graph to. Implementations register themselves by name: "cpu" (package backend/cpu,
// pure Go, always built) and "cuda" (package backend/cuda, build tag gpu).
//
// Beyond the typed methods, op families (convolution, pooling, dropout, batch normalisation, ...)
// are registered ops (Op, created with NewOp in one file per family here, with the argument
// check every device shares) that a device runs through Device.Run; each device registers its
// executor for an op in a file of its own, so a new family changes no central file.
//
// Every operation works on whole buffers laid out row-major; shapes are passed as ints. Ops are
// issued in order on one logical stream: an implementation may run them asynchronously, and Read
// and Sync are the points where the host waits. Arguments are checked (dtypes, lengths) and a
// mismatch is an error wrapping ErrShape or ErrDType, never a panic.
package backend

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/gotrain/gotrain/kernels"
)

// Sentinel errors, wrapped with the operation and the values that were wrong.
var (
	ErrShape       = errors.New("shape mismatch")
	ErrDType       = errors.New("dtype mismatch")
	ErrInvalid     = errors.New("invalid argument")
	ErrUnsupported = errors.New("unsupported")
	ErrNoDevice    = errors.New("device not available")
	ErrOutOfMemory = errors.New("out of device memory")
	ErrClosed      = errors.New("device closed")
)

// DType is the element type of a buffer.
type DType uint8

// The element types. Float64 exists for reference tests; training runs in Float32.
const (
	Float32 DType = iota + 1
	Float64
)

// Size returns the size of one element in bytes.
func (d DType) Size() int {
	switch d {
	case Float32:
		return 4
	case Float64:
		return 8
	}
	return 0
}

// String returns "float32" or "float64".
func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Buffer is a contiguous array of elements on one device. A buffer is only valid with the device
// that allocated it.
type Buffer interface {
	DType() DType
	Len() int
}

// Viewer is implemented by devices that can hand out part of a buffer. View returns a buffer of
// the first n elements of b that shares b's memory: it is valid while b is, and freeing it does
// nothing. Plans use it to put a small node's value into a larger buffer that is free at the
// time; on a device without it they recycle buffers of equal length only.
type Viewer interface {
	View(b Buffer, n int) (Buffer, error)
}

// UnaryOp is an elementwise function of one argument.
type UnaryOp uint8

// The unary ops (activations have their own entry point, Device.Activation).
const (
	Neg UnaryOp = iota + 1
	Exp
	Log
	Square
	Sqrt
	Abs
	Sign
	Inverse // 1/x
	Log1p
	Expm1
	Cube
)

var unaryNames = map[UnaryOp]string{Neg: "neg", Exp: "exp", Log: "log", Square: "square", Sqrt: "sqrt",
	Abs: "abs", Sign: "sign", Inverse: "inverse", Log1p: "log1p", Expm1: "expm1", Cube: "cube"}

// String names the op.
func (o UnaryOp) String() string {
	if s, ok := unaryNames[o]; ok {
		return s
	}
	return fmt.Sprintf("UnaryOp(%d)", uint8(o))
}

// UnaryOps lists every unary op.
func UnaryOps() []UnaryOp {
	return []UnaryOp{Neg, Exp, Log, Square, Sqrt, Abs, Sign, Inverse, Log1p, Expm1, Cube}
}

// BinaryOp is an elementwise function of two arguments. Comparisons return 1 or 0 in the
// buffer's dtype.
type BinaryOp uint8

// The binary ops.
const (
	Add BinaryOp = iota + 1
	Sub
	Mul
	Div
	Pow
	Max
	Min
	Gt
	Ge
	Lt
	Le
	Eq
	Ne
)

var binaryNames = map[BinaryOp]string{Add: "add", Sub: "sub", Mul: "mul", Div: "div", Pow: "pow", Max: "max",
	Min: "min", Gt: "gt", Ge: "ge", Lt: "lt", Le: "le", Eq: "eq", Ne: "ne"}

// String names the op.
func (o BinaryOp) String() string {
	if s, ok := binaryNames[o]; ok {
		return s
	}
	return fmt.Sprintf("BinaryOp(%d)", uint8(o))
}

// BinaryOps lists every binary op.
func BinaryOps() []BinaryOp {
	return []BinaryOp{Add, Sub, Mul, Div, Pow, Max, Min, Gt, Ge, Lt, Le, Eq, Ne}
}

// Device is a compute device. Methods are not safe for concurrent use: one goroutine drives a
// device, the way one CUDA stream orders work.
type Device interface {
	// Name is the registry name ("cpu", "cuda").
	Name() string
	// Describe says what the device is, for logs ("cpu: 2 goroutines", "cuda: NVIDIA H200").
	Describe() string

	// Alloc returns a buffer of n elements. Its contents are unspecified.
	Alloc(dt DType, n int) (Buffer, error)
	// Free releases a buffer; freeing nil is a no-op.
	Free(b Buffer)
	// Write copies host data into dst; src is a []float32 or []float64 of dst's dtype and length.
	Write(dst Buffer, src any) error
	// Read copies src into host memory dst ([]float32 or []float64 of src's dtype and length),
	// waiting for the work that produces it.
	Read(dst any, src Buffer) error
	// ReadScalars reads the one element of each buffer in srcs (all of one dtype) into dst[i],
	// as float64, with a single host synchronisation: how a training step gets its loss, correct
	// count and gradient norm back in one round trip.
	ReadScalars(dst []float64, srcs []Buffer) error
	// Sync waits for all issued work.
	Sync() error
	// Close releases the device and every buffer it allocated.
	Close() error

	// Gemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, where op(A) is m×k,
	// op(B) is k×n and C is m×n; A is stored k×m when transA, B is stored n×k when transB.
	// With beta == 0, C's previous contents are ignored (NaN included).
	Gemm(transA, transB bool, m, n, k int, alpha float64, a, b Buffer, beta float64, c Buffer) error

	// Fill sets every element of dst to v.
	Fill(dst Buffer, v float64) error
	// Copy copies src into dst (same dtype and length).
	Copy(dst, src Buffer) error
	// Elementwise ops may be called in place (dst the same buffer as an input).

	// Scale computes dst = alpha·x.
	Scale(dst, x Buffer, alpha float64) error
	// Unary computes dst = op(x) elementwise.
	Unary(op UnaryOp, dst, x Buffer) error
	// Binary computes dst = op(a, b) elementwise. a and b have dst's length, or one of them has
	// length 1 and is broadcast.
	Binary(op BinaryOp, dst, a, b Buffer) error

	// Broadcast repeats src, viewed as [outer, 1, inner], mid times into dst [outer, mid, inner].
	Broadcast(dst, src Buffer, outer, mid, inner int) error
	// Sum reduces src, viewed as [outer, mid, inner], over its middle axis into dst [outer, inner].
	Sum(dst, src Buffer, outer, mid, inner int) error
	// BiasAdd computes dst[r,c] = x[r,c] + bias[c] for a [rows, cols] matrix x.
	BiasAdd(dst, x, bias Buffer, rows, cols int) error

	// Activation computes dst = f(x) elementwise; alpha parameterises LeakyReLU and ELU.
	Activation(act kernels.Activation, alpha float64, dst, x Buffer) error
	// ActivationGrad computes dx = dy·f'(x), given x and y = f(x).
	ActivationGrad(act kernels.Activation, alpha float64, dx, x, y, dy Buffer) error
	// Softmax computes the softmax (log-softmax when log) of each row of a [rows, cols] matrix.
	Softmax(log bool, dst, x Buffer, rows, cols int) error
	// SoftmaxGrad computes dx from the forward output y and the upstream gradient dy.
	SoftmaxGrad(log bool, dx, y, dy Buffer, rows, cols int) error

	// Loss writes the mean loss of logits x against targets y ([rows, cols] each) into the
	// one-element buffer loss.
	Loss(kind kernels.Loss, loss, x, y Buffer, rows, cols int) error
	// LossGrad computes dx = dloss · ∂loss/∂x, where dloss is a one-element buffer.
	LossGrad(kind kernels.Loss, dx, x, y, dloss Buffer, rows, cols int) error
	// CountCorrect writes into the one-element buffer dst the number of rows whose prediction
	// matches the target: argmax of x against argmax of y when cols > 1, x > 0 against y > 0.5
	// when cols == 1.
	CountCorrect(dst, x, y Buffer, rows, cols int) error

	// SumSquares writes into the one-element dst the sum of the squares of every element of every
	// buffer in xs, accumulated in float64: the squared global norm used to clip gradients. A NaN
	// or Inf anywhere makes it non-finite, which is how a bad gradient is detected in one read.
	SumSquares(dst Buffer, xs []Buffer) error
	// Clamp computes dst = min(max(x, lo), hi) elementwise (NaN stays NaN).
	Clamp(dst, x Buffer, lo, hi float64) error

	// OptimizerStep applies one optimizer step (see kernels.Step) to every parameter at once, so
	// a GPU can do it in one launch: params[i] is updated from grads[i] and state[k][i] for each
	// of the s.States state tensors.
	OptimizerStep(s *kernels.Step, params, grads []Buffer, state [][]Buffer) error

	// Run executes one call of a registered Op (conv2d, maxpool2d, batchnorm, ...): the generic
	// entry point through which op families beyond the typed methods above are added without
	// growing this interface. The device checks that the buffers are its own and of one dtype,
	// then the op's shared check (Op.Check), then runs its executor for the op, or the op's Via
	// composition when it has none; an op it cannot run is an error wrapping ErrUnsupported.
	Run(c *Call) error
}

// Factory opens a device.
type Factory func() (Device, error)

var (
	regMu    sync.Mutex
	registry = map[string]Factory{}
)

// Register makes a device available under name; it is called from the init of each backend.
func Register(name string, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("backend: Register called twice for " + name) // programming error at init, not input
	}
	registry[name] = f
}

// Open opens the device registered under name.
func Open(name string) (Device, error) {
	regMu.Lock()
	f, ok := registry[name]
	regMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("backend: no device %q (available: %v): %w", name, Names(), ErrNoDevice)
	}
	return f()
}

// Names lists the registered devices, sorted.
func Names() []string {
	regMu.Lock()
	defer regMu.Unlock()
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
