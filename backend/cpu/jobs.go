package cpu

import (
	"math"
	"sync"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// job is the one long-lived work description of a device: each op fills in its fields and runs
// a top-level function over ranges of it. Reusing it (instead of a closure per call) keeps the
// training step free of allocations; a device runs one op at a time, so one job suffices.
type job struct {
	run func(j *job, lo, hi int)
	ops []*Buffer // operands, in the order of the op's signature

	f                 float64
	act               kernels.Activation
	loss              kernels.Loss
	unary             backend.UnaryOp
	binary            backend.BinaryOp
	log               bool
	rows, cols        int
	outer, mid, inner int
	f2                float64
	update            *kernels.Step
	stateLen          [3]int
	// SumSquares: each chunk of chunk elements adds into its own slot, so the total does not
	// depend on which goroutine ran which chunk.
	chunk   int
	partial [maxChunks]float64

	mu  sync.Mutex
	err error // first error a twin returned
}

// Range implements parallel.Task.
func (j *job) Range(lo, hi int) { j.run(j, lo, hi) }

// fail records the first error a twin returns. Twins only fail on lengths, which the device has
// checked already, so this is a safety net that keeps such a bug from passing silently.
func (j *job) fail(err error) {
	if err != nil {
		j.mu.Lock()
		if j.err == nil {
			j.err = err
		}
		j.mu.Unlock()
	}
}

func (j *job) takeErr() error {
	err := j.err
	j.err = nil
	return err
}

func (b *Buffer) isF64() bool { return b.F64 != nil }

func fillJob(j *job, lo, hi int) {
	if b := j.ops[0]; b.isF64() {
		fill(b.F64[lo:hi], j.f)
	} else {
		fill(b.F32[lo:hi], float32(j.f))
	}
}

func fill[T kernels.Float](s []T, v T) {
	for i := range s {
		s[i] = v
	}
}

func copyJob(j *job, lo, hi int) {
	if d, s := j.ops[0], j.ops[1]; d.isF64() {
		copy(d.F64[lo:hi], s.F64[lo:hi])
	} else {
		copy(d.F32[lo:hi], s.F32[lo:hi])
	}
}

func scaleJob(j *job, lo, hi int) {
	if d, s := j.ops[0], j.ops[1]; d.isF64() {
		scale(d.F64[lo:hi], s.F64[lo:hi], j.f)
	} else {
		scale(d.F32[lo:hi], s.F32[lo:hi], float32(j.f))
	}
}

func scale[T kernels.Float](dst, x []T, a T) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] = a * x[i]
	}
}

func unaryJob(j *job, lo, hi int) {
	if d, s := j.ops[0], j.ops[1]; d.isF64() {
		unary(j.unary, d.F64[lo:hi], s.F64[lo:hi])
	} else {
		unary(j.unary, d.F32[lo:hi], s.F32[lo:hi])
	}
}

// unary switches once per call and runs a plain loop per op.
func unary[T kernels.Float](op backend.UnaryOp, dst, x []T) {
	x = x[:len(dst)]
	switch op {
	case backend.Neg:
		for i, v := range x {
			dst[i] = -v
		}
	case backend.Square:
		for i, v := range x {
			dst[i] = v * v
		}
	case backend.Cube:
		for i, v := range x {
			dst[i] = v * v * v
		}
	case backend.Abs:
		for i, v := range x {
			dst[i] = T(math.Abs(float64(v)))
		}
	case backend.Inverse:
		for i, v := range x {
			dst[i] = 1 / v
		}
	default:
		f := unaryFunc(op)
		for i, v := range x {
			dst[i] = T(f(float64(v)))
		}
	}
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x // keeps ±0 and NaN
}

func unaryFunc(op backend.UnaryOp) func(float64) float64 {
	switch op {
	case backend.Exp:
		return math.Exp
	case backend.Log:
		return math.Log
	case backend.Sqrt:
		return math.Sqrt
	case backend.Log1p:
		return math.Log1p
	case backend.Expm1:
		return math.Expm1
	case backend.Sign:
		return sign
	}
	panic("cpu: unary op not handled: " + op.String()) // unreachable: Device.Unary validated op
}

func binaryJob(j *job, lo, hi int) {
	d, a, b := j.ops[0], j.ops[1], j.ops[2]
	if d.isF64() {
		binary(j.binary, d.F64[lo:hi], operand(a.F64, lo, hi), operand(b.F64, lo, hi))
	} else {
		binary(j.binary, d.F32[lo:hi], operand(a.F32, lo, hi), operand(b.F32, lo, hi))
	}
}

// operand returns the [lo,hi) part of s, or s itself when it is a length-1 broadcast scalar.
func operand[T any](s []T, lo, hi int) []T {
	if len(s) == 1 {
		return s
	}
	return s[lo:hi]
}

// binary handles the three shapes (vector op vector, vector op scalar, scalar op vector) with
// plain loops for the arithmetic ops, which is what gradient graphs are made of.
func binary[T kernels.Float](op backend.BinaryOp, dst, a, b []T) {
	n := len(dst)
	switch {
	case len(a) == n && len(b) == n:
		a, b = a[:n], b[:n]
		switch op {
		case backend.Add:
			for i := range dst {
				dst[i] = a[i] + b[i]
			}
			return
		case backend.Sub:
			for i := range dst {
				dst[i] = a[i] - b[i]
			}
			return
		case backend.Mul:
			for i := range dst {
				dst[i] = a[i] * b[i]
			}
			return
		case backend.Div:
			for i := range dst {
				dst[i] = a[i] / b[i]
			}
			return
		}
		f := binaryFunc[T](op)
		for i := range dst {
			dst[i] = f(a[i], b[i])
		}
	case len(b) == 1 && len(a) == n:
		s := b[0]
		switch op {
		case backend.Add:
			for i, v := range a {
				dst[i] = v + s
			}
			return
		case backend.Mul:
			for i, v := range a {
				dst[i] = v * s
			}
			return
		}
		f := binaryFunc[T](op)
		for i, v := range a {
			dst[i] = f(v, s)
		}
	default: // len(a) == 1
		s := a[0]
		f := binaryFunc[T](op)
		b = b[:len(b):len(b)]
		for i := range dst {
			bv := b[0]
			if len(b) > 1 {
				bv = b[i]
			}
			dst[i] = f(s, bv)
		}
	}
}

func boolF[T kernels.Float](c bool) T {
	if c {
		return 1
	}
	return 0
}

func binaryFunc[T kernels.Float](op backend.BinaryOp) func(a, b T) T {
	switch op {
	case backend.Add:
		return func(a, b T) T { return a + b }
	case backend.Sub:
		return func(a, b T) T { return a - b }
	case backend.Mul:
		return func(a, b T) T { return a * b }
	case backend.Div:
		return func(a, b T) T { return a / b }
	case backend.Pow:
		return func(a, b T) T { return T(math.Pow(float64(a), float64(b))) }
	case backend.Max:
		return func(a, b T) T { return T(math.Max(float64(a), float64(b))) }
	case backend.Min:
		return func(a, b T) T { return T(math.Min(float64(a), float64(b))) }
	case backend.Gt:
		return func(a, b T) T { return boolF[T](a > b) }
	case backend.Ge:
		return func(a, b T) T { return boolF[T](a >= b) }
	case backend.Lt:
		return func(a, b T) T { return boolF[T](a < b) }
	case backend.Le:
		return func(a, b T) T { return boolF[T](a <= b) }
	case backend.Eq:
		return func(a, b T) T { return boolF[T](a == b) }
	case backend.Ne:
		return func(a, b T) T { return boolF[T](a != b) }
	}
	panic("cpu: binary op not handled: " + op.String()) // unreachable: Device.Binary validated op
}

// broadcastJob fills rows [lo,hi) of the [outer*mid, inner] view of dst.
func broadcastJob(j *job, lo, hi int) {
	d, s := j.ops[0], j.ops[1]
	if d.isF64() {
		broadcast(d.F64, s.F64, j.mid, j.inner, lo, hi)
	} else {
		broadcast(d.F32, s.F32, j.mid, j.inner, lo, hi)
	}
}

func broadcast[T any](dst, src []T, mid, inner, lo, hi int) {
	for r := lo; r < hi; r++ {
		o := r / mid
		copy(dst[r*inner:(r+1)*inner], src[o*inner:(o+1)*inner])
	}
}

// sumJob computes output elements [lo,hi) of the [outer, inner] result.
func sumJob(j *job, lo, hi int) {
	d, s := j.ops[0], j.ops[1]
	if d.isF64() {
		j.fail(sumMid(d.F64, s.F64, j.mid, j.inner, lo, hi))
	} else {
		j.fail(sumMid(d.F32, s.F32, j.mid, j.inner, lo, hi))
	}
}

// sumMid computes output elements [lo,hi) of the [outer, inner] result with kernels.SumColumns,
// which accumulates each column in float64 in row order (bit-identical at every instruction
// level), one run of columns of one outer index at a time.
func sumMid[T kernels.Float](dst, src []T, mid, inner, lo, hi int) error {
	for e := lo; e < hi; {
		o, i0 := e/inner, e%inner
		i1 := min(inner, i0+(hi-e))
		if err := kernels.SumColumns(dst[o*inner+i0:o*inner+i1], src[o*mid*inner+i0:], mid, inner); err != nil {
			return err
		}
		e += i1 - i0
	}
	return nil
}

func biasAddJob(j *job, lo, hi int) {
	d, x, b := j.ops[0], j.ops[1], j.ops[2]
	a, e := lo*j.cols, hi*j.cols
	if d.isF64() {
		j.fail(kernels.AddBias(d.F64[a:e], x.F64[a:e], b.F64))
	} else {
		j.fail(kernels.AddBias(d.F32[a:e], x.F32[a:e], b.F32))
	}
}

func activationJob(j *job, lo, hi int) {
	d, x := j.ops[0], j.ops[1]
	if d.isF64() {
		j.fail(kernels.ActivationForward(j.act, j.f, d.F64[lo:hi], x.F64[lo:hi]))
	} else {
		j.fail(kernels.ActivationForward(j.act, j.f, d.F32[lo:hi], x.F32[lo:hi]))
	}
}

func activationGradJob(j *job, lo, hi int) {
	dx, x, y, dy := j.ops[0], j.ops[1], j.ops[2], j.ops[3]
	if dx.isF64() {
		j.fail(kernels.ActivationBackward(j.act, j.f, dx.F64[lo:hi], x.F64[lo:hi], y.F64[lo:hi], dy.F64[lo:hi]))
	} else {
		j.fail(kernels.ActivationBackward(j.act, j.f, dx.F32[lo:hi], x.F32[lo:hi], y.F32[lo:hi], dy.F32[lo:hi]))
	}
}

func softmaxJob(j *job, lo, hi int) {
	d, x := j.ops[0], j.ops[1]
	a, b := lo*j.cols, hi*j.cols
	if d.isF64() {
		j.fail(kernels.SoftmaxForward(j.log, d.F64[a:b], x.F64[a:b], hi-lo, j.cols))
	} else {
		j.fail(kernels.SoftmaxForward(j.log, d.F32[a:b], x.F32[a:b], hi-lo, j.cols))
	}
}

func softmaxGradJob(j *job, lo, hi int) {
	dx, y, dy := j.ops[0], j.ops[1], j.ops[2]
	a, b := lo*j.cols, hi*j.cols
	if dx.isF64() {
		j.fail(kernels.SoftmaxBackward(j.log, dx.F64[a:b], y.F64[a:b], dy.F64[a:b], hi-lo, j.cols))
	} else {
		j.fail(kernels.SoftmaxBackward(j.log, dx.F32[a:b], y.F32[a:b], dy.F32[a:b], hi-lo, j.cols))
	}
}

func lossGradJob(j *job, lo, hi int) {
	dx, x, y := j.ops[0], j.ops[1], j.ops[2]
	a, b := lo*j.cols, hi*j.cols
	if dx.isF64() {
		j.fail(kernels.LossBackwardScaled(j.loss, dx.F64[a:b], x.F64[a:b], y.F64[a:b], hi-lo, j.cols, j.f))
	} else {
		j.fail(kernels.LossBackwardScaled(j.loss, dx.F32[a:b], x.F32[a:b], y.F32[a:b], hi-lo, j.cols, j.f))
	}
}

// maxChunks bounds the number of chunks a reduction is split into.
const maxChunks = 64

// chunkSize splits n elements into at most workers (and maxChunks) chunks of at least elemGrain.
func chunkSize(n, workers int) int {
	parts := min(max(1, n/elemGrain), workers, maxChunks)
	return max(1, (n+parts-1)/parts)
}

// stateLens returns zeroed lengths for CheckUpdate's rule-level checks (the per-tensor lengths
// were checked by the device already).
func (j *job) stateLens(n int) []int {
	j.stateLen = [3]int{}
	return j.stateLen[:n]
}

func updateJob(j *job, lo, hi int) {
	p, g, st := j.ops[0], j.ops[1], j.ops[2:]
	if p.isF64() {
		var s [3][]float64
		for k, b := range st {
			s[k] = b.F64[lo:hi]
		}
		j.fail(kernels.Update(j.update, p.F64[lo:hi], g.F64[lo:hi], s[:len(st)]...))
	} else {
		var s [3][]float32
		for k, b := range st {
			s[k] = b.F32[lo:hi]
		}
		j.fail(kernels.Update(j.update, p.F32[lo:hi], g.F32[lo:hi], s[:len(st)]...))
	}
}

func sumSquaresJob(j *job, lo, hi int) {
	x := j.ops[0]
	var acc float64
	if x.isF64() {
		acc = kernels.SumSquares(x.F64[lo:hi])
	} else {
		acc = kernels.SumSquares(x.F32[lo:hi])
	}
	j.partial[lo/j.chunk] = acc
}

func clampJob(j *job, lo, hi int) {
	d, x := j.ops[0], j.ops[1]
	if d.isF64() {
		clamp(d.F64[lo:hi], x.F64[lo:hi], j.f, j.f2)
	} else {
		clamp(d.F32[lo:hi], x.F32[lo:hi], float32(j.f), float32(j.f2))
	}
}

func clamp[T kernels.Float](dst, x []T, lo, hi T) {
	x = x[:len(dst)]
	for i, v := range x {
		if v < lo {
			v = lo
		} else if v > hi {
			v = hi
		}
		dst[i] = v
	}
}

// countCorrect compares predictions row by row (see Device.CountCorrect).
func countCorrect[T kernels.Float](x, y []T, rows, cols int) int {
	n := 0
	for r := 0; r < rows; r++ {
		xr, yr := x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
		if cols == 1 {
			if (xr[0] > 0) == (yr[0] > 0.5) {
				n++
			}
			continue
		}
		if argmax(xr) == argmax(yr) {
			n++
		}
	}
	return n
}

// argmax returns the first index of the largest element; NaN never wins, so a row of NaN logits
// counts as predicting class 0 rather than crashing the metric.
func argmax[T kernels.Float](s []T) int {
	best := 0
	for i := 1; i < len(s); i++ {
		if s[i] > s[best] || (s[best] != s[best] && s[i] == s[i]) {
			best = i
		}
	}
	return best
}
