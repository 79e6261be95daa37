// Package cpu is the pure-Go backend: buffers are Go slices, matrix products run on the blocked
// kernels of package gemm, and everything else runs the twins of package kernels (with their
// AVX2 or AVX-512 loops where cpufeat finds them), split over all cores by row or element
// ranges. It builds with CGO_ENABLED=0 and needs no GPU.
//
// Work is split into contiguous ranges whose boundaries depend only on the sizes and the core
// count, and no sum crosses a range boundary, so results are bit-for-bit repeatable on a given
// machine.
package cpu

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
	"github.com/gotrain/gotrain/backend/cpu/gemm"
	"github.com/gotrain/gotrain/backend/cpu/parallel"
	"github.com/gotrain/gotrain/kernels"
)

func init() {
	backend.Register("cpu", func() (backend.Device, error) { return New(0) })
}

var (
	_ backend.Device = (*Device)(nil)
	_ backend.Viewer = (*Device)(nil)
)

// Grain sizes: below these a call runs on one goroutine, because waking a worker costs more
// than the work (measured: a wake-up is a few microseconds, elementwise work ~1 ns per element).
const (
	elemGrain = 1 << 15
	rowGrain  = 1 << 14 // elements' worth of rows
)

// Buffer is a CPU buffer: exactly one of F32 and F64 is set, according to its dtype.
type Buffer struct {
	F32 []float32
	F64 []float64
	dev *Device
}

// DType returns the buffer's element type.
func (b *Buffer) DType() backend.DType {
	if b.F64 != nil {
		return backend.Float64
	}
	return backend.Float32
}

// Len returns the number of elements.
func (b *Buffer) Len() int {
	if b.F64 != nil {
		return len(b.F64)
	}
	return len(b.F32)
}

// Device is the CPU device.
type Device struct {
	pool *parallel.Pool
	gemm *gemm.Engine
	job  job
	// task runs the executors of registered ops that split their work into ranges; states holds
	// the long-lived scratch of op families that need more (convolution), by op ID.
	task   rangeTask
	states []any
	closed bool
}

// New opens a CPU device that uses workers goroutines (0 means GOMAXPROCS).
func New(workers int) (*Device, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := parallel.New(workers)
	return &Device{pool: p, gemm: gemm.New(p)}, nil
}

// Name returns "cpu".
func (d *Device) Name() string { return "cpu" }

// Describe names the device, its parallelism and the vector instructions its kernels use
// (cpufeat's level, with the reason when GOTRAIN_CPU was not obeyed).
func (d *Device) Describe() string {
	return fmt.Sprintf("cpu: %d goroutines (%s/%s, %s)", d.pool.Workers(), runtime.GOOS, runtime.GOARCH, cpufeat.Describe())
}

// Alloc returns a zeroed buffer.
func (d *Device) Alloc(dt backend.DType, n int) (backend.Buffer, error) {
	if d.closed {
		return nil, fmt.Errorf("cpu: Alloc: %w", backend.ErrClosed)
	}
	if n < 0 {
		return nil, fmt.Errorf("cpu: Alloc: negative length %d: %w", n, backend.ErrInvalid)
	}
	switch dt {
	case backend.Float32:
		return &Buffer{F32: make([]float32, n), dev: d}, nil
	case backend.Float64:
		// A zero-length float64 buffer must still say Float64: keep a non-nil slice.
		return &Buffer{F64: make([]float64, n, max(n, 1)), dev: d}, nil
	}
	return nil, fmt.Errorf("cpu: Alloc: unknown dtype %v: %w", dt, backend.ErrDType)
}

// Free drops the buffer; the garbage collector reclaims it.
func (d *Device) Free(b backend.Buffer) {}

// View returns the first n elements of b as a buffer sharing its memory (backend.Viewer).
func (d *Device) View(b backend.Buffer, n int) (backend.Buffer, error) {
	cb, ok := b.(*Buffer)
	if !ok || cb == nil || cb.dev != d {
		return nil, fmt.Errorf("cpu: View: %T is not a buffer of this device: %w", b, backend.ErrInvalid)
	}
	if n < 0 || n > cb.Len() {
		return nil, fmt.Errorf("cpu: View: %d elements of a %d-element buffer: %w", n, cb.Len(), backend.ErrInvalid)
	}
	if cb.F64 != nil {
		return &Buffer{F64: cb.F64[:n:n], dev: d}, nil
	}
	return &Buffer{F32: cb.F32[:n:n], dev: d}, nil
}

// Sync returns at once: CPU ops complete before they return.
func (d *Device) Sync() error { return nil }

// Close stops the worker goroutines.
func (d *Device) Close() error {
	if !d.closed {
		d.closed = true
		d.pool.Close()
	}
	return nil
}

// buf converts and checks a buffer argument; name and idx (idx < 0: none) only go into errors,
// so the success path formats nothing and allocates nothing.
func (d *Device) buf(op, name string, idx int, b backend.Buffer) (*Buffer, error) {
	cb, ok := b.(*Buffer)
	if !ok || cb == nil || cb.dev != d {
		if idx >= 0 {
			name = fmt.Sprintf("%s[%d]", name, idx)
		}
		if ok && cb != nil {
			return nil, fmt.Errorf("cpu: %s: %s belongs to another device: %w", op, name, backend.ErrInvalid)
		}
		return nil, fmt.Errorf("cpu: %s: %s is %T, not a cpu buffer: %w", op, name, b, backend.ErrInvalid)
	}
	return cb, nil
}

// operands checks that all buffers are CPU buffers of one dtype and returns them (in a slice
// owned by the device's job, valid until the next call).
func (d *Device) operands(op string, names string, bs ...backend.Buffer) ([]*Buffer, error) {
	if d.closed {
		return nil, fmt.Errorf("cpu: %s: %w", op, backend.ErrClosed)
	}
	out := d.job.ops[:0]
	for i, b := range bs {
		cb, err := d.buf(op, "operand", -1, b)
		if err != nil {
			return nil, fmt.Errorf("operand %d of (%s): %w", i, names, err)
		}
		if i > 0 && cb.DType() != out[0].DType() {
			return nil, fmt.Errorf("cpu: %s: operands (%s) mix %v and %v: %w", op, names, out[0].DType(), cb.DType(), backend.ErrDType)
		}
		out = append(out, cb)
	}
	d.job.ops = out
	return out, nil
}

// dev is the device name the shared checks of package backend put in front of their errors.
const dev = "cpu"

func lenErr(op, what string, got, want int) error { return backend.LenErr(dev, op, what, got, want) }

// Write copies host data into dst.
func (d *Device) Write(dst backend.Buffer, src any) error {
	b, err := d.buf("Write", "dst", -1, dst)
	if err != nil {
		return err
	}
	switch s := src.(type) {
	case []float32:
		if b.F32 == nil && b.F64 != nil {
			return fmt.Errorf("cpu: Write: []float32 into a float64 buffer: %w", backend.ErrDType)
		}
		if len(s) != len(b.F32) {
			return lenErr("Write", "src", len(s), len(b.F32))
		}
		copy(b.F32, s)
	case []float64:
		if b.F64 == nil {
			return fmt.Errorf("cpu: Write: []float64 into a float32 buffer: %w", backend.ErrDType)
		}
		if len(s) != len(b.F64) {
			return lenErr("Write", "src", len(s), len(b.F64))
		}
		copy(b.F64, s)
	default:
		return fmt.Errorf("cpu: Write: src is %T, want []float32 or []float64: %w", src, backend.ErrDType)
	}
	return nil
}

// Read copies src into host memory.
func (d *Device) Read(dst any, src backend.Buffer) error {
	b, err := d.buf("Read", "src", -1, src)
	if err != nil {
		return err
	}
	switch s := dst.(type) {
	case []float32:
		if b.F32 == nil && b.F64 != nil {
			return fmt.Errorf("cpu: Read: float64 buffer into []float32: %w", backend.ErrDType)
		}
		if len(s) != len(b.F32) {
			return lenErr("Read", "dst", len(s), len(b.F32))
		}
		copy(s, b.F32)
	case []float64:
		if b.F64 == nil {
			return fmt.Errorf("cpu: Read: float32 buffer into []float64: %w", backend.ErrDType)
		}
		if len(s) != len(b.F64) {
			return lenErr("Read", "dst", len(s), len(b.F64))
		}
		copy(s, b.F64)
	default:
		return fmt.Errorf("cpu: Read: dst is %T, want []float32 or []float64: %w", dst, backend.ErrDType)
	}
	return nil
}

// ReadScalars reads one-element buffers; on the CPU the values are simply there.
func (d *Device) ReadScalars(dst []float64, srcs []backend.Buffer) error {
	if len(dst) != len(srcs) {
		return fmt.Errorf("cpu: ReadScalars: %d destinations for %d buffers: %w", len(dst), len(srcs), backend.ErrShape)
	}
	for i, s := range srcs {
		b, err := d.buf("ReadScalars", "srcs", i, s)
		if err != nil {
			return err
		}
		if b.Len() != 1 {
			return lenErr("ReadScalars", fmt.Sprintf("srcs[%d]", i), b.Len(), 1)
		}
		if i > 0 && b.DType() != srcs[0].DType() {
			return fmt.Errorf("cpu: ReadScalars: srcs mix %v and %v: %w", srcs[0].DType(), b.DType(), backend.ErrDType)
		}
		if b.F64 != nil {
			dst[i] = b.F64[0]
		} else {
			dst[i] = float64(b.F32[0])
		}
	}
	return nil
}

// Gemm runs the blocked GEMM of package gemm.
func (d *Device) Gemm(transA, transB bool, m, n, k int, alpha float64, a, b backend.Buffer, beta float64, c backend.Buffer) error {
	ops, err := d.operands("Gemm", "a, b, c", a, b, c)
	if err != nil {
		return err
	}
	ab, bb, cb := ops[0], ops[1], ops[2]
	if err := backend.CheckGemm(dev, m, n, k, ab, bb, cb); err != nil {
		return err
	}
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	if ab.F64 != nil {
		err = d.gemm.Dgemm(transA, transB, m, n, k, alpha, ab.F64, max(lda, 1), bb.F64, max(ldb, 1), beta, cb.F64, max(n, 1))
	} else {
		err = d.gemm.Sgemm(transA, transB, m, n, k, float32(alpha), ab.F32, max(lda, 1), bb.F32, max(ldb, 1), float32(beta), cb.F32, max(n, 1))
	}
	if err != nil {
		return fmt.Errorf("cpu: Gemm: %w", err)
	}
	return nil
}

// elementwise runs an elementwise job over n elements.
func (d *Device) elementwise(run func(j *job, lo, hi int), n int) {
	d.job.run = run
	d.pool.Run(&d.job, n, elemGrain)
}

// rowwise runs a row job over rows rows of cols elements.
func (d *Device) rowwise(run func(j *job, lo, hi int), rows, cols int) {
	d.job.run = run
	d.pool.Run(&d.job, rows, max(1, rowGrain/max(cols, 1)))
}

// Fill sets every element to v.
func (d *Device) Fill(dst backend.Buffer, v float64) error {
	ops, err := d.operands("Fill", "dst", dst)
	if err != nil {
		return err
	}
	d.job.f = v
	d.elementwise(fillJob, ops[0].Len())
	return nil
}

// Copy copies src to dst.
func (d *Device) Copy(dst, src backend.Buffer) error {
	ops, err := d.operands("Copy", "dst, src", dst, src)
	if err != nil {
		return err
	}
	if err := backend.CheckSameLen(dev, "Copy", "src", ops[0], ops[1]); err != nil {
		return err
	}
	d.elementwise(copyJob, ops[0].Len())
	return nil
}

// Scale computes dst = alpha·x.
func (d *Device) Scale(dst, x backend.Buffer, alpha float64) error {
	ops, err := d.operands("Scale", "dst, x", dst, x)
	if err != nil {
		return err
	}
	if err := backend.CheckSameLen(dev, "Scale", "x", ops[0], ops[1]); err != nil {
		return err
	}
	d.job.f = alpha
	d.elementwise(scaleJob, ops[0].Len())
	return nil
}

// Unary computes dst = op(x).
func (d *Device) Unary(op backend.UnaryOp, dst, x backend.Buffer) error {
	ops, err := d.operands("Unary", "dst, x", dst, x)
	if err != nil {
		return err
	}
	if err := backend.CheckUnary(dev, op, ops[0], ops[1]); err != nil {
		return err
	}
	d.job.unary = op
	d.elementwise(unaryJob, ops[0].Len())
	return nil
}

// Binary computes dst = op(a, b) with length-1 broadcasting.
func (d *Device) Binary(op backend.BinaryOp, dst, a, b backend.Buffer) error {
	ops, err := d.operands("Binary", "dst, a, b", dst, a, b)
	if err != nil {
		return err
	}
	if err := backend.CheckBinary(dev, op, ops[0], ops[1], ops[2]); err != nil {
		return err
	}
	n := ops[0].Len()
	d.job.binary = op
	d.elementwise(binaryJob, n)
	return nil
}

// Broadcast repeats src [outer,1,inner] into dst [outer,mid,inner].
func (d *Device) Broadcast(dst, src backend.Buffer, outer, mid, inner int) error {
	ops, err := d.operands("Broadcast", "dst, src", dst, src)
	if err != nil {
		return err
	}
	if err := backend.CheckBroadcast(dev, ops[0], ops[1], outer, mid, inner); err != nil {
		return err
	}
	d.job.outer, d.job.mid, d.job.inner = outer, mid, inner
	// Split over (outer, mid) rows of inner elements.
	d.rowwise(broadcastJob, outer*mid, inner)
	return nil
}

// Sum reduces src [outer,mid,inner] over mid into dst [outer,inner].
func (d *Device) Sum(dst, src backend.Buffer, outer, mid, inner int) error {
	ops, err := d.operands("Sum", "dst, src", dst, src)
	if err != nil {
		return err
	}
	if err := backend.CheckSum(dev, ops[0], ops[1], outer, mid, inner); err != nil {
		return err
	}
	d.job.outer, d.job.mid, d.job.inner = outer, mid, inner
	// Each output element is summed by one goroutine in index order: repeatable bits.
	d.job.run = sumJob
	d.pool.Run(&d.job, outer*inner, max(1, rowGrain/max(mid, 1)))
	return nil
}

// BiasAdd computes dst = x + bias broadcast over rows.
func (d *Device) BiasAdd(dst, x, bias backend.Buffer, rows, cols int) error {
	ops, err := d.operands("BiasAdd", "dst, x, bias", dst, x, bias)
	if err != nil {
		return err
	}
	if err := backend.CheckBiasAdd(dev, ops[0], ops[1], ops[2], rows, cols); err != nil {
		return err
	}
	d.job.rows, d.job.cols = rows, cols
	d.rowwise(biasAddJob, rows, cols)
	return nil
}

// Activation computes dst = f(x).
func (d *Device) Activation(act kernels.Activation, alpha float64, dst, x backend.Buffer) error {
	ops, err := d.operands("Activation", "dst, x", dst, x)
	if err != nil {
		return err
	}
	if err := backend.CheckActivation(dev, act, ops[0], ops[1]); err != nil {
		return err
	}
	d.job.act, d.job.f = act, alpha
	d.elementwise(activationJob, ops[0].Len())
	return d.job.takeErr()
}

// ActivationGrad computes dx = dy·f'(x).
func (d *Device) ActivationGrad(act kernels.Activation, alpha float64, dx, x, y, dy backend.Buffer) error {
	ops, err := d.operands("ActivationGrad", "dx, x, y, dy", dx, x, y, dy)
	if err != nil {
		return err
	}
	if err := backend.CheckActivationGrad(dev, act, ops[0], ops[1], ops[2], ops[3]); err != nil {
		return err
	}
	n := ops[0].Len()
	d.job.act, d.job.f = act, alpha
	d.elementwise(activationGradJob, n)
	return d.job.takeErr()
}

// Softmax computes the (log-)softmax of each row.
func (d *Device) Softmax(log bool, dst, x backend.Buffer, rows, cols int) error {
	ops, err := d.operands("Softmax", "dst, x", dst, x)
	if err != nil {
		return err
	}
	if err := backend.CheckSoftmax(dev, ops[0], ops[1], rows, cols); err != nil {
		return err
	}
	d.job.rows, d.job.cols, d.job.log = rows, cols, log
	d.rowwise(softmaxJob, rows, cols)
	return d.job.takeErr()
}

// SoftmaxGrad computes the (log-)softmax backward from its output y.
func (d *Device) SoftmaxGrad(log bool, dx, y, dy backend.Buffer, rows, cols int) error {
	ops, err := d.operands("SoftmaxGrad", "dx, y, dy", dx, y, dy)
	if err != nil {
		return err
	}
	if err := backend.CheckSoftmaxGrad(dev, ops[0], ops[1], ops[2], rows, cols); err != nil {
		return err
	}
	d.job.rows, d.job.cols, d.job.log = rows, cols, log
	d.rowwise(softmaxGradJob, rows, cols)
	return d.job.takeErr()
}

// Loss writes the mean loss into the one-element buffer loss. The sum runs on one goroutine:
// losses are small (a batch of logits) and a fixed order keeps the bits repeatable.
func (d *Device) Loss(kind kernels.Loss, loss, x, y backend.Buffer, rows, cols int) error {
	ops, err := d.operands("Loss", "loss, x, y", loss, x, y)
	if err != nil {
		return err
	}
	if err := backend.CheckLoss(dev, kind, ops[0], ops[1], ops[2], rows, cols); err != nil {
		return err
	}
	var v float64
	if ops[1].F64 != nil {
		v, err = kernels.LossForward(kind, ops[1].F64, ops[2].F64, rows, cols)
		ops[0].F64[0] = v
	} else {
		v, err = kernels.LossForward(kind, ops[1].F32, ops[2].F32, rows, cols)
		ops[0].F32[0] = float32(v)
	}
	if err != nil {
		return fmt.Errorf("cpu: Loss: %w", err)
	}
	return nil
}

// LossGrad computes dx = dloss·∂loss/∂x.
func (d *Device) LossGrad(kind kernels.Loss, dx, x, y, dloss backend.Buffer, rows, cols int) error {
	ops, err := d.operands("LossGrad", "dx, x, y, dloss", dx, x, y, dloss)
	if err != nil {
		return err
	}
	if err := backend.CheckLossGrad(dev, kind, ops[0], ops[1], ops[2], ops[3], rows, cols); err != nil {
		return err
	}
	d.job.rows, d.job.cols = rows, cols
	var g float64
	if ops[3].F64 != nil {
		g = ops[3].F64[0]
	} else {
		g = float64(ops[3].F32[0])
	}
	d.job.loss = kind
	d.job.f = 0
	if div := kernels.LossDivisor(kind, rows, cols); div > 0 {
		d.job.f = g / div
	}
	d.rowwise(lossGradJob, rows, cols)
	return d.job.takeErr()
}

// CountCorrect counts rows whose prediction matches the target.
func (d *Device) CountCorrect(dst, x, y backend.Buffer, rows, cols int) error {
	ops, err := d.operands("CountCorrect", "dst, x, y", dst, x, y)
	if err != nil {
		return err
	}
	if err := backend.CheckCountCorrect(dev, ops[0], ops[1], ops[2], rows, cols); err != nil {
		return err
	}
	if ops[1].F64 != nil {
		ops[0].F64[0] = float64(countCorrect(ops[1].F64, ops[2].F64, rows, cols))
	} else {
		ops[0].F32[0] = float32(countCorrect(ops[1].F32, ops[2].F32, rows, cols))
	}
	return nil
}

// OptimizerStep updates every parameter; each parameter's range is split over the cores.
func (d *Device) OptimizerStep(h *kernels.Step, params, grads []backend.Buffer, state [][]backend.Buffer) error {
	if d.closed {
		return fmt.Errorf("cpu: OptimizerStep: %w", backend.ErrClosed)
	}
	if err := backend.CheckStepLists(dev, h, params, grads, state); err != nil {
		return err
	}
	want := h.States
	// Check everything before touching anything, so a bad list never leaves a half-applied step.
	for i, p := range params {
		pb, err := d.buf("OptimizerStep", "params", i, p)
		if err != nil {
			return err
		}
		if err := d.sameShape(pb, "grads", i, grads[i]); err != nil {
			return err
		}
		for k := range state {
			if err := d.sameShape(pb, "state", k, state[k][i]); err != nil {
				return err
			}
		}
	}
	if err := kernels.CheckUpdate(h, 0, 0, d.job.stateLens(want)); err != nil {
		return fmt.Errorf("cpu: OptimizerStep: %w", err)
	}
	d.job.update = h
	for i := range params {
		d.job.ops = append(d.job.ops[:0], params[i].(*Buffer), grads[i].(*Buffer))
		for k := range state {
			d.job.ops = append(d.job.ops, state[k][i].(*Buffer))
		}
		d.elementwise(updateJob, params[i].Len())
		if err := d.job.takeErr(); err != nil {
			return err
		}
	}
	return nil
}

// sameShape checks that b (named name[idx] in errors) is a buffer of this device with p's dtype
// and length.
func (d *Device) sameShape(p *Buffer, name string, idx int, b backend.Buffer) error {
	cb, err := d.buf("OptimizerStep", name, idx, b)
	if err != nil {
		return err
	}
	if cb.DType() != p.DType() {
		return fmt.Errorf("cpu: OptimizerStep: %s[%d] is %v, the parameter is %v: %w", name, idx, cb.DType(), p.DType(), backend.ErrDType)
	}
	if cb.Len() != p.Len() {
		return lenErr("OptimizerStep", fmt.Sprintf("%s[%d]", name, idx), cb.Len(), p.Len())
	}
	return nil
}

// SumSquares accumulates Σx² over all buffers in float64, one buffer after another in index
// order (deterministic), each split over the cores with per-chunk partial sums.
func (d *Device) SumSquares(dst backend.Buffer, xs []backend.Buffer) error {
	ops, err := d.operands("SumSquares", "dst", dst)
	if err != nil {
		return err
	}
	if err := backend.CheckSumSquaresDst(dev, ops[0]); err != nil {
		return err
	}
	out := ops[0]
	for i, x := range xs {
		xb, err := d.buf("SumSquares", "xs", i, x)
		if err != nil {
			return err
		}
		if xb.DType() != out.DType() {
			return fmt.Errorf("cpu: SumSquares: xs[%d] is %v, dst is %v: %w", i, xb.DType(), out.DType(), backend.ErrDType)
		}
	}
	var total float64
	for _, x := range xs {
		xb := x.(*Buffer)
		d.job.ops = append(d.job.ops[:0], xb)
		d.job.partial = [maxChunks]float64{}
		d.job.chunk = chunkSize(xb.Len(), d.pool.Workers())
		d.job.run = sumSquaresJob
		d.pool.Run(&d.job, xb.Len(), d.job.chunk)
		for _, p := range d.job.partial {
			total += p
		}
	}
	if out.F64 != nil {
		out.F64[0] = total
	} else {
		out.F32[0] = float32(total)
	}
	return nil
}

// Clamp computes dst = min(max(x, lo), hi).
func (d *Device) Clamp(dst, x backend.Buffer, lo, hi float64) error {
	ops, err := d.operands("Clamp", "dst, x", dst, x)
	if err != nil {
		return err
	}
	if err := backend.CheckClamp(dev, ops[0], ops[1], lo, hi); err != nil {
		return err
	}
	d.job.f, d.job.f2 = lo, hi
	d.elementwise(clampJob, ops[0].Len())
	return nil
}

// execs holds the CPU executors of registered ops; each op file (conv.go, pool.go, ...) adds its
// own in an init function.
var execs backend.Executors[*Device, *Buffer]

// Run executes a call of a registered op: its own executor when this device registered one, else
// the op's Via composition of the typed methods.
func (d *Device) Run(c *backend.Call) error {
	if err := backend.CheckCall(dev, c); err != nil {
		return err
	}
	f := execs.Lookup(c.Op)
	if f == nil {
		if via := c.Op.Via(); via != nil {
			if err := c.Op.Check(dev, c); err != nil {
				return err
			}
			return via(d, c)
		}
		return backend.Unsupported(dev, c.Op)
	}
	ops, err := d.operands(c.Op.Name(), c.Op.OperandList(), c.Bufs...)
	if err != nil {
		return err
	}
	if err := c.Op.Check(dev, c); err != nil {
		return err
	}
	return f(d, c, ops)
}

// rangeTask is the long-lived work description of the executors of registered ops: like job,
// one per device, so handing it to the pool allocates nothing.
type rangeTask struct {
	run func(t *rangeTask, lo, hi int)
	c   *backend.Call
	ops []*Buffer
	mu  sync.Mutex
	err error
}

// Range implements parallel.Task.
func (t *rangeTask) Range(lo, hi int) { t.run(t, lo, hi) }

// fail records the first error of a twin (which the op's check makes unreachable in practice).
func (t *rangeTask) fail(err error) {
	if err != nil {
		t.mu.Lock()
		if t.err == nil {
			t.err = err
		}
		t.mu.Unlock()
	}
}

// split runs run over [0, n) in ranges of at least grain items, split over the cores, for call c
// with operands ops, and returns the first error a range reported.
func (d *Device) split(c *backend.Call, ops []*Buffer, run func(t *rangeTask, lo, hi int), n, grain int) error {
	t := &d.task
	t.run, t.c, t.ops, t.err = run, c, ops, nil
	d.pool.Run(t, n, max(grain, 1))
	t.c, t.ops = nil, nil
	return t.err
}

// opState returns the long-lived state of an op family, keyed by one of its ops and made by mk on
// first use.
func (d *Device) opState(key *backend.Op, mk func() any) any {
	for len(d.states) <= key.ID() {
		d.states = append(d.states, nil)
	}
	if d.states[key.ID()] == nil {
		d.states[key.ID()] = mk()
	}
	return d.states[key.ID()]
}
