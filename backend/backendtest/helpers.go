package backendtest

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
)

// dtypes are the element types every test runs on.
var dtypes = []backend.DType{backend.Float32, backend.Float64}

// tol is one comparison tolerance: |got-want| <= atol + rtol·|want|.
type tol struct{ atol, rtol float64 }

// plus widens the absolute part by rtol·scale, for results whose rounding error grows with the
// magnitude of the terms that were summed rather than with the result (sums, dot products).
func (tl tol) plus(scale float64) tol { return tol{tl.atol + tl.rtol*scale, tl.rtol} }

// tols holds a family's tolerance for each dtype.
type tols struct{ f32, f64 tol }

func (p tols) of(dt backend.DType) tol {
	if dt == backend.Float32 {
		return p.f32
	}
	return p.f64
}

// exact is the tolerance of ops that only move or compare values.
var exact = tols{}

// env is the state of one subtest: its device, its dtype, its random source and the inputs to
// check for modification.
type env struct {
	t      *testing.T
	dev    backend.Device
	dt     backend.DType
	rng    *rand.Rand
	inputs []*buf
}

// buf is a device buffer with the host copy of what it should hold (already rounded to the
// buffer's dtype).
type buf struct {
	b    backend.Buffer
	name string
	host []float64
}

// forDTypes runs f as one subtest per dtype.
func forDTypes(t *testing.T, dev backend.Device, f func(e *env)) {
	for _, dt := range dtypes {
		t.Run(dt.String(), func(t *testing.T) { f(newEnv(t, dev, dt)) })
	}
}

// newEnv seeds the subtest's random source from its full name, so every subtest draws its own
// inputs and a failure reproduces by running that subtest alone.
func newEnv(t *testing.T, dev backend.Device, dt backend.DType) *env {
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	return &env{t: t, dev: dev, dt: dt, rng: rand.New(rand.NewPCG(h.Sum64(), 0x9e3779b97f4a7c15))}
}

// run runs f as a subtest with a fresh env of the same device and dtype.
func (e *env) run(name string, f func(e *env)) {
	e.t.Run(name, func(t *testing.T) { f(newEnv(t, e.dev, e.dt)) })
}

// round rounds x to the env's dtype: the values the device actually holds.
func (e *env) round(x []float64) []float64 { return roundTo(e.dt, x) }

func roundTo(dt backend.DType, x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		if dt == backend.Float32 {
			v = float64(float32(v))
		}
		out[i] = v
	}
	return out
}

// alloc allocates a buffer freed when the subtest ends.
func (e *env) alloc(name string, n int) *buf {
	e.t.Helper()
	var b backend.Buffer
	err := safe(func() (err error) { b, err = e.dev.Alloc(e.dt, n); return err })
	require.NoError(e.t, err, "Alloc(%v, %d) for %s", e.dt, n, name)
	require.Equal(e.t, e.dt, b.DType(), "%s: DType()", name)
	require.Equal(e.t, n, b.Len(), "%s: Len()", name)
	e.t.Cleanup(func() { e.dev.Free(b) })
	return &buf{b: b, name: name}
}

// input allocates a buffer holding x (rounded to the dtype) that the op under test must not
// modify; checkInputs verifies that.
func (e *env) input(name string, x []float64) *buf {
	e.t.Helper()
	b := e.alloc(name, len(x))
	e.write(b, x)
	e.inputs = append(e.inputs, b)
	return b
}

// output allocates a buffer of n elements filled with NaN, so elements the op leaves unwritten show.
func (e *env) output(name string, n int) *buf {
	e.t.Helper()
	b := e.alloc(name, n)
	e.poison(b)
	return b
}

// state allocates a buffer that is both read and written by the op (Gemm's C with beta != 0,
// optimizer state).
func (e *env) state(name string, x []float64) *buf {
	e.t.Helper()
	b := e.alloc(name, len(x))
	e.write(b, x)
	return b
}

// poison fills b with NaN through Write.
func (e *env) poison(b *buf) {
	e.t.Helper()
	e.write(b, fill(b.b.Len(), math.NaN()))
}

// write copies x, rounded to the dtype, into b and remembers it as b's expected content.
func (e *env) write(b *buf, x []float64) {
	e.t.Helper()
	b.host = e.round(x)
	var src any = b.host
	if e.dt == backend.Float32 {
		f := make([]float32, len(x))
		for i, v := range x {
			f[i] = float32(v)
		}
		src = f
	}
	require.NoError(e.t, safe(func() error { return e.dev.Write(b.b, src) }), "Write %s", b.name)
}

// read copies b back to the host as float64.
func (e *env) read(b *buf) []float64 {
	e.t.Helper()
	return readAs(e.t, e.dev, b.b, b.name)
}

func readAs(t *testing.T, dev backend.Device, b backend.Buffer, name string) []float64 {
	t.Helper()
	out := make([]float64, b.Len())
	if b.DType() == backend.Float32 {
		f := make([]float32, b.Len())
		require.NoError(t, safe(func() error { return dev.Read(f, b) }), "Read %s", name)
		for i, v := range f {
			out[i] = float64(v)
		}
		return out
	}
	require.NoError(t, safe(func() error { return dev.Read(out, b) }), "Read %s", name)
	return out
}

// do runs one device call, failing the subtest now if it errs or panics.
func (e *env) do(what string, f func() error) {
	e.t.Helper()
	require.NoError(e.t, safe(f), what)
}

// checkInputs reads every input back and checks it is bit-for-bit what was written.
func (e *env) checkInputs() {
	e.t.Helper()
	for _, b := range e.inputs {
		checkClose(e.t, "input "+b.name+" was modified", e.read(b), b.host, tol{})
	}
}

// check reads b and compares it with want.
func (e *env) check(b *buf, want []float64, tl tol) bool {
	e.t.Helper()
	return checkClose(e.t, b.name, e.read(b), want, tl)
}

// checkClose compares got with want elementwise and reports the first bad index. NaN matches
// NaN and infinities must match exactly.
func checkClose(t testing.TB, what string, got, want []float64, tl tol) bool {
	t.Helper()
	if len(got) != len(want) {
		return assert.Fail(t, what, "length %d, want %d", len(got), len(want))
	}
	for i, w := range want {
		if !near(got[i], w, tl) {
			return assert.Fail(t, what, "first bad index %d of %d: got %v, want %v (|diff| %.3g > atol %.3g + rtol %.3g·|want|)",
				i, len(want), got[i], w, math.Abs(got[i]-w), tl.atol, tl.rtol)
		}
	}
	return true
}

func near(g, w float64, tl tol) bool {
	switch {
	case math.IsNaN(w):
		return math.IsNaN(g)
	case math.IsInf(w, 0):
		return g == w
	}
	return math.Abs(g-w) <= tl.atol+tl.rtol*math.Abs(w) // false when g is NaN
}

// checkFinite reports the first element of got that is NaN or infinite.
func checkFinite(t testing.TB, what string, got []float64) bool {
	t.Helper()
	for i, g := range got {
		if math.IsNaN(g) || math.IsInf(g, 0) {
			return assert.Fail(t, what, "first non-finite index %d of %d: got %v", i, len(got), g)
		}
	}
	return true
}

// safe runs f, turning a panic into an error: a device must return errors, never panic.
func safe(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return f()
}

// uniform draws n values uniformly from [lo, hi).
func (e *env) uniform(n int, lo, hi float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = lo + (hi-lo)*e.rng.Float64()
	}
	return out
}

// awayFromZero draws n values with magnitude in [lo, hi) and a random sign.
func (e *env) awayFromZero(n int, lo, hi float64) []float64 {
	out := e.uniform(n, lo, hi)
	for i := range out {
		if e.rng.IntN(2) == 0 {
			out[i] = -out[i]
		}
	}
	return out
}

func fill(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// fdStep and fdTol are the central-difference step and tolerance of every gradient check (float64
// only): truncation error is O(h²)·|f‴| ≈ 1e-12 and rounding O(eps·|f|/h) ≈ 1e-9.
const fdStep = 1e-6

var fdTol = tol{atol: 1e-7, rtol: 1e-6}

// sizes are the vector lengths elementwise ops are tested at: empty, one, odd, past a power of
// two so that vectorised paths have a tail, and large enough that a CPU splits the work over
// goroutines and a GPU launches many blocks.
var sizes = []int{0, 1, 7, 33, 1000, 4097, 100003}

// matrix is a [rows, cols] shape.
type matrix struct{ rows, cols int }

func (m matrix) String() string { return fmt.Sprintf("%dx%d", m.rows, m.cols) }

// matrices are the row-wise op shapes: odd, tall, wide, large enough to be split by rows, and
// empty.
var matrices = []matrix{{1, 1}, {3, 5}, {17, 33}, {128, 10}, {65, 257}, {301, 257}, {0, 5}}

// gradCheck runs f as a subtest on Float64 buffers: finite differences need float64.
func gradCheck(t *testing.T, dev backend.Device, name string, f func(e *env)) {
	t.Run(name, func(t *testing.T) { f(newEnv(t, dev, backend.Float64)) })
}

// objective returns x ↦ <r, out> where out is what op leaves in out after x is written into in:
// the scalar whose gradient a backward op must return, evaluated through the device.
func (e *env) objective(in, out *buf, r []float64, op func() error) func(x []float64) float64 {
	return func(x []float64) float64 {
		e.t.Helper()
		e.write(in, x)
		e.do("forward", op)
		return dot(r, e.read(out))
	}
}
