//go:build gpu

package cuda

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// TestSmoke is the first test a GPU host runs (scripts/gpu-check.sh runs it alone, before
// anything else): in a few seconds it says whether the rest can work at all. It opens the device
// and logs how (the GPU, the driver library and cuBLAS by path, how each kernel family was loaded
// and how long that took, and the JIT's info log when the driver compiled PTX), round-trips data,
// runs one GEMM and one launch of each kernel family (smokeFamilies) against the CPU twin, with
// the device waiting after every launch and GEMM (what GOTRAIN_CUDA_SYNC=1 does), so that a fault
// names its kernel. When it fails, nothing after it would mean anything.
func TestSmoke(t *testing.T) {
	start := time.Now()
	gpu, err := Open(0)
	require.NoError(t, err, "the device does not open (a refused module's error carries the JIT log)")
	t.Cleanup(func() { require.NoError(t, gpu.Close()) })
	t.Logf("opened in %v: %s", time.Since(start).Round(time.Millisecond), gpu.Describe())
	t.Logf("libraries: %s", gpu.libraries())
	t.Logf("kernels: %s", gpu.loadReport())
	for _, l := range gpu.loads {
		if l.info != "" {
			t.Logf("JIT info log of %s.%s:\n%s", l.module, l.kind, l.info)
		}
		// The device works on the PTX, but the committed machine code did not load.
		assert.NoError(t, l.refused, "the driver refused %s.fatbin and the device loaded its PTX", l.module)
		assert.NoError(t, l.withoutLogs, "%s.%s loaded only without the JIT's log buffers", l.module, l.kind)
	}
	gpu.syncEach = true
	gpu.blas.check = gpu.stream.Synchronize

	t.Run("write and read back", func(t *testing.T) {
		for _, dt := range dtypes {
			p := newPair(t, gpu, dt)
			x := p.uniform(100003, -3, 3)
			b := p.buf(x)
			got := read(t, gpu, b.g)
			want := read(t, p.cpu, b.c)
			for i := range want {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("%v: element %d of %d: wrote %v, read %v", dt, i, len(want), want[i], got[i])
				}
			}
		}
	})
	t.Run("gemm", func(t *testing.T) {
		for _, dt := range dtypes {
			p := newPair(t, gpu, dt)
			const m, n, k = 67, 45, 129
			a, b := p.buf(p.uniform(k*m, -1, 1)), p.buf(p.uniform(n*k, -1, 1))
			c := p.buf(p.uniform(m*n, -1, 1))
			p.do(func(d backend.Device, pick func(twin) backend.Buffer) error {
				return d.Gemm(true, true, m, n, k, 0.7, pick(a), pick(b), 0.3, pick(c))
			})
			// A dot product of 129 terms of at most 1 in another order: 1e-5 of their sum.
			p.compare("gemm", c, reduceTol[dt], k)
		}
	})
	launches := map[string]func(t *testing.T, p *pair){
		"activation": func(t *testing.T, p *pair) {
			x := p.buf(withExtremes(p.uniform(1000, -8, 8)))
			n := x.g.Len()
			dy := p.buf(p.uniform(n, -2, 2))
			y, dx := p.out(n), p.out(n)
			p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
				return d.Activation(kernels.GELU, 0, b(y), b(x))
			})
			p.compare("gelu", y, elemTol[p.dt], 0)
			p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
				return d.ActivationGrad(kernels.GELU, 0, b(dx), b(x), b(y), b(dy))
			})
			p.compare("gelu backward", dx, actGradTol[p.dt], 0)
		},
		"bias": func(t *testing.T, p *pair) {
			const rows, cols = 37, 33
			x, bias := p.buf(p.uniform(rows*cols, -2, 2)), p.buf(p.uniform(cols, -1, 1))
			z, sum := p.out(rows*cols), p.out(cols)
			p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
				return d.BiasAdd(b(z), b(x), b(bias), rows, cols)
			})
			p.compare("bias add", z, elemTol[p.dt], 0)
			p.do(func(d backend.Device, b func(twin) backend.Buffer) error { return d.Sum(b(sum), b(x), 1, rows, cols) })
			p.compare("sum", sum, reduceTol[p.dt], 2*rows)
		},
		"elementwise": func(t *testing.T, p *pair) {
			a, b2 := p.buf(withExtremes(p.uniform(5000, -3, 3))), p.buf(withExtremes(p.uniform(5000, -3, 3)))
			dst := p.out(a.g.Len())
			p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
				return d.Binary(backend.Mul, b(dst), b(a), b(b2))
			})
			p.compare("mul", dst, elemTol[p.dt], 0)
			p.do(func(d backend.Device, b func(twin) backend.Buffer) error { return d.Fill(b(dst), 0.25) })
			p.compare("fill", dst, tolerance{}, 0)
		},
		"loss": func(t *testing.T, p *pair) {
			const rows, cols = 128, 10
			x := p.buf(p.uniform(rows*cols, -5, 5))
			target := make([]float64, rows*cols)
			for r := 0; r < rows; r++ {
				target[r*cols+p.rng.IntN(cols)] = 1
			}
			y := p.buf(target)
			loss, dloss, dx := p.out(1), p.buf([]float64{1}), p.out(rows*cols)
			p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
				return d.Loss(kernels.SoftmaxCrossEntropy, b(loss), b(x), b(y), rows, cols)
			})
			p.compare("softmax cross-entropy", loss, reduceTol[p.dt], 0)
			p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
				return d.LossGrad(kernels.SoftmaxCrossEntropy, b(dx), b(x), b(y), b(dloss), rows, cols)
			})
			p.compare("its gradient", dx, rowTol[p.dt], 10.0/rows)
		},
		"optim": func(t *testing.T, p *pair) {
			h := optimStep(t, "adam", 1e-3, 3)
			var params, grads []twin
			state := make([][]twin, h.States)
			for _, n := range []int{1000, 7, 40000} {
				params = append(params, p.buf(p.uniform(n, -1, 1)))
				grads = append(grads, p.buf(p.uniform(n, -1, 1)))
				for k := range state {
					state[k] = append(state[k], p.buf(p.uniform(n, 0, 0.1)))
				}
			}
			p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
				pick := func(ts []twin) []backend.Buffer {
					out := make([]backend.Buffer, len(ts))
					for i, x := range ts {
						out[i] = b(x)
					}
					return out
				}
				st := make([][]backend.Buffer, len(state))
				for k := range state {
					st[k] = pick(state[k])
				}
				return d.OptimizerStep(h, pick(params), pick(grads), st)
			})
			differ := 0
			for i := range params {
				differ += p.compare(fmt.Sprintf("adam parameter %d", i), params[i], tolerance{0, 1e-6}, 0)
				for k := range state {
					differ += p.compare(fmt.Sprintf("adam state %d of parameter %d", k, i), state[k][i], tolerance{0, 1e-6}, 0)
				}
			}
			t.Logf("adam: %d elements not bit-identical to the twin's", differ)
		},
		"reduce": func(t *testing.T, p *pair) {
			xs := []twin{p.buf(p.uniform(70000, -2, 2)), p.buf(p.uniform(5, -2, 2))}
			sq := p.out(1)
			p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
				return d.SumSquares(b(sq), []backend.Buffer{b(xs[0]), b(xs[1])})
			})
			p.compare("sum of squares", sq, reduceTol[p.dt], 0)
			const rows, cols = 300, 10
			x, y := p.buf(p.uniform(rows*cols, -1, 1)), p.buf(p.uniform(rows*cols, -1, 1))
			correct := p.out(1)
			p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
				return d.CountCorrect(b(correct), b(x), b(y), rows, cols)
			})
			p.compare("count correct", correct, tolerance{}, 0)
		},
		"softmax": func(t *testing.T, p *pair) {
			for _, s := range [][2]int{{128, 10}, {3, 300}} { // the warp and the block kernel
				rows, cols := s[0], s[1]
				x, y := p.buf(p.uniform(rows*cols, -8, 8)), p.out(rows*cols)
				p.do(func(d backend.Device, b func(twin) backend.Buffer) error {
					return d.Softmax(false, b(y), b(x), rows, cols)
				})
				p.compare(fmt.Sprintf("softmax %dx%d", rows, cols), y, rowTol[p.dt], 0)
			}
		},
	}
	for fam, launch := range familySmoke { // the families that register their launch (layers_test.go)
		launches[fam] = launch
	}
	for _, fam := range smokeFamilies {
		launch, ok := launches[fam]
		if !ok {
			// Not fatal: the families that are launched still say whether the device works.
			t.Logf("WARNING: the smoke test has no launch of the %s kernels: add one to smoke_test.go", fam)
			continue
		}
		t.Run(fam, func(t *testing.T) { launch(t, newPair(t, gpu, backend.Float32)) })
	}
	require.NoError(t, gpu.Sync())
}
