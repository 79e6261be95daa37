//go:build gpu

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/kernels"
)

// Kernel-versus-twin tests: every kernel family runs on the GPU and on the CPU backend (which runs
// the pure-Go twins of package kernels) on the same random inputs, extreme values included, and
// the results must agree within these tolerances, |gpu-cpu| <= atol + rtol·|cpu|:
//
//   - elementwise (activations forward and backward, unary, binary, scale, fill, clamp, bias add,
//     broadcast): float32 1e-6 relative. Both sides compute the same double expression and round
//     it once; they differ only where CUDA's libm (exp, erfc, log1p: 1-2 ulp in double) and Go's
//     disagree across a float32 rounding boundary, one float32 ulp (6e-8). float64: 1e-13
//     relative, for the same libm differences. The derivatives of GELU, GELU-tanh and SiLU cross
//     zero (at x ≈ -0.75, -0.75 and -1.28) as a difference of terms of order 0.2-1, so near the
//     root their absolute error, a few ulp of those terms (CUDA's erfc is within 5 ulp, the
//     twin's exp within 2), is unbounded relative to the result: on 100003 uniform(-8,8) inputs
//     about 8 per activation are more than 1e-13 relative from the exact value in the twin alone.
//     The float64 backward therefore also allows 1e-14 absolute (actGradTol), as backendtest's
//     actTol does; float32 rounds the double result once and keeps the elementwise tolerance.
//   - row-wise (softmax, log-softmax, their backward, losses and their gradients): the row sums
//     are added in another order (a butterfly instead of a loop), 1e-15 relative in double; then
//     the same formula. float32 1e-6 relative plus 1e-7 absolute (log-softmax: 1e-6 absolute, its
//     error scales with |x|, not with the result; gradients: 1e-7 of the largest element, where
//     p - y cancels).
//   - reductions to one number (loss, squared norm, Sum): double accumulation in another order,
//     then one rounding: float32 1e-6 relative (Sum: of Σ|x|).
//   - the optimizer: the same float32 operations in the same order without fused multiply-adds,
//     so bit-identical is expected; the check allows 1e-6 relative and logs how many elements
//     differ at all.
//   - CountCorrect: exact.

type tolerance struct{ atol, rtol float64 }

var (
	elemTol    = map[backend.DType]tolerance{backend.Float32: {1e-30, 1e-6}, backend.Float64: {1e-300, 1e-13}}
	actGradTol = map[backend.DType]tolerance{backend.Float32: {1e-30, 1e-6}, backend.Float64: {1e-14, 1e-13}}
	rowTol     = map[backend.DType]tolerance{backend.Float32: {1e-7, 1e-6}, backend.Float64: {1e-15, 1e-12}}
	logRowTol  = map[backend.DType]tolerance{backend.Float32: {1e-6, 1e-6}, backend.Float64: {1e-14, 1e-12}}
	reduceTol  = map[backend.DType]tolerance{backend.Float32: {0, 1e-6}, backend.Float64: {0, 1e-12}}
)

var dtypes = []backend.DType{backend.Float32, backend.Float64}

// pair is the GPU under test and the CPU twin, with helpers that put the same data on both.
type pair struct {
	t   *testing.T
	gpu *Device
	cpu backend.Device
	dt  backend.DType
	rng *rand.Rand
}

func openGPU(t testing.TB) *Device {
	t.Helper()
	d, err := Open(0)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return d
}

func newPair(t *testing.T, gpu *Device, dt backend.DType) *pair {
	c, err := cpu.New(1)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &pair{t: t, gpu: gpu, cpu: c, dt: dt, rng: rand.New(rand.NewPCG(uint64(len(t.Name())), 7))}
}

// twin is a buffer on both devices.
type twin struct{ g, c backend.Buffer }

func (p *pair) host(x []float64) any {
	if p.dt == backend.Float32 {
		f := make([]float32, len(x))
		for i, v := range x {
			f[i] = float32(v)
		}
		return f
	}
	return append([]float64(nil), x...)
}

func (p *pair) buf(x []float64) twin {
	p.t.Helper()
	g, err := p.gpu.Alloc(p.dt, len(x))
	require.NoError(p.t, err)
	c, err := p.cpu.Alloc(p.dt, len(x))
	require.NoError(p.t, err)
	require.NoError(p.t, p.gpu.Write(g, p.host(x)))
	require.NoError(p.t, p.cpu.Write(c, p.host(x)))
	p.t.Cleanup(func() { p.gpu.Free(g) })
	return twin{g, c}
}

// out is an output buffer on both devices, filled with NaN so that unwritten elements show.
func (p *pair) out(n int) twin {
	x := make([]float64, n)
	for i := range x {
		x[i] = math.NaN()
	}
	return p.buf(x)
}

func (p *pair) uniform(n int, lo, hi float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = lo + (hi-lo)*p.rng.Float64()
	}
	return out
}

func read(t *testing.T, dev backend.Device, b backend.Buffer) []float64 {
	t.Helper()
	out := make([]float64, b.Len())
	if b.DType() == backend.Float32 {
		f := make([]float32, b.Len())
		require.NoError(t, dev.Read(f, b))
		for i, v := range f {
			out[i] = float64(v)
		}
		return out
	}
	require.NoError(t, dev.Read(out, b))
	return out
}

// do runs the same op on both devices.
func (p *pair) do(f func(dev backend.Device, pick func(twin) backend.Buffer) error) {
	p.t.Helper()
	require.NoError(p.t, f(p.gpu, func(b twin) backend.Buffer { return b.g }), "gpu")
	require.NoError(p.t, f(p.cpu, func(b twin) backend.Buffer { return b.c }), "cpu")
}

// compare reads b from both devices and checks the GPU against the CPU; scale widens atol by
// rtol·scale (sums). It returns the number of elements that are not bit-identical.
func (p *pair) compare(what string, b twin, tl tolerance, scale float64) int {
	p.t.Helper()
	got, want := read(p.t, p.gpu, b.g), read(p.t, p.cpu, b.c)
	differ := 0
	for i := range want {
		g, w := got[i], want[i]
		if math.Float64bits(g) != math.Float64bits(w) {
			differ++
		}
		ok := math.IsNaN(w) && math.IsNaN(g) || math.IsInf(w, 0) && g == w ||
			math.Abs(g-w) <= tl.atol+tl.rtol*scale+tl.rtol*math.Abs(w)
		if !ok {
			p.t.Errorf("%s: first bad index %d of %d: gpu %v, cpu twin %v (|diff| %.3g)", what, i, len(want), g, w, math.Abs(g-w))
			return differ
		}
	}
	return differ
}

// extremes are the inputs where the twins take their exact tails or propagate NaN.
var extremes = []float64{math.Inf(1), math.Inf(-1), math.NaN(), 0, math.Copysign(0, -1), 1000, -1000, 40.5, -40.5,
	-749, -751, 30, -30, 0.625, -0.625, 1e-8, -1e-8, 88, -88, 710, -710}

func withExtremes(x []float64) []float64 { return append(append([]float64(nil), extremes...), x...) }

var sizes = []int{1, 7, 33, 4097, 100003}

func TestActivationKernelsMatchTheirTwins(t *testing.T) {
	gpu := openGPU(t)
	for _, dt := range dtypes {
		for _, act := range kernels.Activations() {
			for _, alpha := range []float64{act.DefaultAlpha(), 0.3} {
				for _, n := range sizes {
					t.Run(fmt.Sprintf("%v %v alpha %v %d elements", dt, act, alpha, n), func(t *testing.T) {
						p := newPair(t, gpu, dt)
						x := p.buf(withExtremes(p.uniform(n, -8, 8)))
						nn := n + len(extremes)
						dy := p.buf(p.uniform(nn, -2, 2))
						y, dx := p.out(nn), p.out(nn)
						p.do(func(d backend.Device, b func(twin) backend.Buffer) error { return d.Activation(act, alpha, b(y), b(x)) })
						p.compare("forward", y, elemTol[dt], 0)
						p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
							return d.ActivationGrad(act, alpha, b(dx), b(x), b(y), b(dy))
						})
						p.compare("backward", dx, actGradTol[dt], 0)
						// In place, as the executor may call them.
						p.do(func(d backend.Device, b func(twin) backend.Buffer) error { return d.Activation(act, alpha, b(x), b(x)) })
						p.compare("forward in place", x, elemTol[dt], 0)
					})
				}
			}
		}
	}
}

func TestElementwiseKernelsMatchTheirTwins(t *testing.T) {
	gpu := openGPU(t)
	for _, dt := range dtypes {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("%v %d elements", dt, n), func(t *testing.T) {
				p := newPair(t, gpu, dt)
				nn := n + len(extremes)
				x := p.buf(withExtremes(p.uniform(n, -3, 3)))
				pos := p.buf(withExtremes(p.uniform(n, 0.01, 5)))
				one := p.buf([]float64{p.uniform(1, -2, 2)[0]})
				y := p.buf(withExtremes(p.uniform(n, -3, 3)))
				dst := p.out(nn)
				for _, op := range backend.UnaryOps() {
					in := x
					if op == backend.Log || op == backend.Sqrt || op == backend.Log1p {
						in = pos
					}
					p.do(func(d backend.Device, b func(twin) backend.Buffer) error { return d.Unary(op, b(dst), b(in)) })
					p.compare("unary "+op.String(), dst, elemTol[dt], 0)
				}
				for _, op := range backend.BinaryOps() {
					a := x
					if op == backend.Pow {
						a = pos
					}
					for _, shape := range []struct {
						name string
						a, b twin
					}{{"vectors", a, y}, {"b broadcast", a, one}, {"a broadcast", one, y}} {
						p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
							return d.Binary(op, b(dst), b(shape.a), b(shape.b))
						})
						p.compare(fmt.Sprintf("binary %v of %s", op, shape.name), dst, elemTol[dt], 0)
					}
				}
				p.do(func(d backend.Device, b func(twin) backend.Buffer) error { return d.Scale(b(dst), b(x), -0.3) })
				p.compare("scale", dst, elemTol[dt], 0)
				p.do(func(d backend.Device, b func(twin) backend.Buffer) error { return d.Fill(b(dst), 0.1) })
				p.compare("fill", dst, tolerance{}, 0)
				p.do(func(d backend.Device, b func(twin) backend.Buffer) error { return d.Clamp(b(dst), b(x), -0.5, 0.7) })
				p.compare("clamp", dst, tolerance{}, 0)
				p.do(func(d backend.Device, b func(twin) backend.Buffer) error { return d.Copy(b(dst), b(x)) })
				p.compare("copy", dst, tolerance{}, 0)
			})
		}
	}
}

func TestShapeKernelsMatchTheirTwins(t *testing.T) {
	gpu := openGPU(t)
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {1, 4097, 1}, {3, 20001, 2}, {1, 7, 40009}, {50001, 3, 1}, {70000, 2, 3}, {1, 128, 256}, {4, 0, 3}}
	for _, dt := range dtypes {
		for _, s := range shapes {
			outer, mid, inner := s[0], s[1], s[2]
			t.Run(fmt.Sprintf("%v [%d,%d,%d]", dt, outer, mid, inner), func(t *testing.T) {
				p := newPair(t, gpu, dt)
				src := p.buf(p.uniform(outer*mid*inner, -5, 5))
				sum := p.out(outer * inner)
				p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
					return d.Sum(b(sum), b(src), outer, mid, inner)
				})
				p.compare("sum", sum, reduceTol[dt], 5*float64(mid))
				small := p.buf(p.uniform(outer*inner, -5, 5))
				big := p.out(outer * mid * inner)
				p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
					return d.Broadcast(b(big), b(small), outer, mid, inner)
				})
				p.compare("broadcast", big, tolerance{}, 0)
				rows, cols := outer*mid, inner
				bias := p.buf(p.uniform(cols, -1, 1))
				z := p.out(rows * cols)
				p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
					return d.BiasAdd(b(z), b(src), b(bias), rows, cols)
				})
				p.compare("bias add", z, elemTol[dt], 0)
			})
		}
	}
}

// rowShapes are narrow and wide rows; each runs on both the warp and the block kernels.
var rowShapes = [][2]int{{1, 1}, {3, 5}, {128, 10}, {17, 32}, {17, 33}, {65, 257}, {5, 4099}, {3000, 10}}

func TestRowKernelsMatchTheirTwins(t *testing.T) {
	gpu := openGPU(t)
	for _, dt := range dtypes {
		for _, path := range []int{1, 2} {
			for _, s := range rowShapes {
				rows, cols := s[0], s[1]
				t.Run(fmt.Sprintf("%v %dx%d on the %s kernels", dt, rows, cols, map[int]string{1: "warp", 2: "block"}[path]), func(t *testing.T) {
					gpu.rowPath = path
					defer func() { gpu.rowPath = 0 }()
					p := newPair(t, gpu, dt)
					n := rows * cols
					xv := p.uniform(n, -8, 8)
					if n > 7 {
						xv[1], xv[2], xv[n-1] = 1000, -1000, math.Inf(-1)
					}
					x := p.buf(xv)
					dy := p.buf(p.uniform(n, -1, 1))
					y, dx := p.out(n), p.out(n)
					for _, log := range []bool{false, true} {
						name := map[bool]string{false: "softmax", true: "log-softmax"}[log]
						tl := map[bool]map[backend.DType]tolerance{false: rowTol, true: logRowTol}[log]
						p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
							return d.Softmax(log, b(y), b(x), rows, cols)
						})
						p.compare(name, y, tl[dt], 0)
						p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
							return d.SoftmaxGrad(log, b(dx), b(y), b(dy), rows, cols)
						})
						p.compare(name+" backward", dx, rowTol[dt], 1)
					}
					// Losses: one-hot targets for cross-entropy, [0,1] targets for the others.
					target := make([]float64, n)
					for r := 0; r < rows; r++ {
						target[r*cols+p.rng.IntN(cols)] = 1
					}
					yv := p.buf(target)
					soft := p.buf(p.uniform(n, 0, 1))
					dloss := p.buf([]float64{1.7})
					loss := p.out(1)
					xs := p.buf(p.uniform(n, -8, 8))
					for _, kind := range kernels.Losses() {
						tg := soft
						if kind == kernels.SoftmaxCrossEntropy {
							tg = yv
						}
						p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
							return d.Loss(kind, b(loss), b(xs), b(tg), rows, cols)
						})
						p.compare(kind.String()+" loss", loss, reduceTol[dt], 0)
						p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
							return d.LossGrad(kind, b(dx), b(xs), b(tg), b(dloss), rows, cols)
						})
						scale := 1.7 / kernels.LossDivisor(kind, rows, cols)
						p.compare(kind.String()+" gradient", dx, rowTol[dt], 10*scale)
					}
					correct := p.out(1)
					p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
						return d.CountCorrect(b(correct), b(x), b(yv), rows, cols)
					})
					p.compare("count correct", correct, tolerance{}, 0)
				})
			}
		}
	}
}

func TestSumSquaresKernelMatchesItsTwin(t *testing.T) {
	gpu := openGPU(t)
	for _, dt := range dtypes {
		t.Run(dt.String(), func(t *testing.T) {
			p := newPair(t, gpu, dt)
			var xs []twin
			for _, n := range []int{7, 0, 1, 100003, 32768, 32769, 5} {
				xs = append(xs, p.buf(p.uniform(n, -2, 2)))
			}
			dst := p.out(1)
			p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
				l := make([]backend.Buffer, len(xs))
				for i, x := range xs {
					l[i] = b(x)
				}
				return d.SumSquares(b(dst), l)
			})
			p.compare("sum of squares", dst, reduceTol[dt], 0)
		})
	}
}

func TestAllocatorSteadyStateOnTheDevice(t *testing.T) {
	gpu := openGPU(t)
	round := func() {
		var bs []backend.Buffer
		for _, n := range []int{784 * 256, 256, 256 * 10, 10, 128 * 784, 128 * 10, 1} {
			b, err := gpu.Alloc(backend.Float32, n)
			require.NoError(t, err)
			bs = append(bs, b)
		}
		for _, b := range bs {
			gpu.Free(b)
		}
	}
	round()
	allocs := gpu.alloc.stats.Allocs
	for range 20 {
		round()
	}
	assert.Equal(t, allocs, gpu.alloc.stats.Allocs, "cuMemAlloc calls after the first round")
}

// TestOutOfMemoryIsAnError asks for far more than any GPU has.
func TestOutOfMemoryIsAnError(t *testing.T) {
	gpu := openGPU(t)
	_, err := gpu.Alloc(backend.Float32, 1<<42) // 16 TiB
	require.Error(t, err)
	assert.ErrorIs(t, err, backend.ErrOutOfMemory)
	t.Log(err)
	b, err := gpu.Alloc(backend.Float32, 1000)
	require.NoError(t, err, "the device still allocates after an out-of-memory error")
	gpu.Free(b)
}

// TestUseAfterFreeAndCloseAreErrors checks the buffer and device life-cycle errors.
func TestUseAfterFreeAndCloseAreErrors(t *testing.T) {
	d, err := Open(0)
	require.NoError(t, err)
	b, err := d.Alloc(backend.Float32, 4)
	require.NoError(t, err)
	d.Free(b)
	d.Free(b) // a double free is ignored
	assert.ErrorIs(t, d.Fill(b, 1), backend.ErrInvalid)
	require.NoError(t, d.Close())
	require.NoError(t, d.Close(), "closing twice")
	_, err = d.Alloc(backend.Float32, 4)
	assert.ErrorIs(t, err, backend.ErrClosed)
	assert.ErrorIs(t, d.Sync(), backend.ErrClosed)
}
