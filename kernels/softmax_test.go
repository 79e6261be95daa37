package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/kernels"
)

var softmaxShapes = [][2]int{{0, 5}, {3, 0}, {1, 1}, {1, 7}, {5, 1}, {4, 10}, {3, 33}, {2, 1000}}

func softmaxKinds() []bool { return []bool{false, true} }

func softmaxName(log bool) string {
	if log {
		return "log-softmax"
	}
	return "softmax"
}

func TestSoftmaxMatchesReference(t *testing.T) {
	testSoftmax[float32](t)
	testSoftmax[float64](t)
}

func testSoftmax[T kernels.Float](t *testing.T) {
	rtol, atol := twinTol[T]()
	rng := rand.New(rand.NewPCG(21, 22))
	for _, log := range softmaxKinds() {
		for _, sh := range softmaxShapes {
			rows, cols := sh[0], sh[1]
			t.Run(fmt.Sprintf("%s %s of %dx%d matches the float64 reference forward and backward", twinTypeName[T](), softmaxName(log), rows, cols), func(t *testing.T) {
				n := rows * cols
				x := twinRand[T](rng, n, -8, 8)
				dy := twinRand[T](rng, n, -2, 2)
				x0, dy0 := append([]T(nil), x...), append([]T(nil), dy...)

				y := twinNaNs[T](n)
				require.NoError(t, kernels.SoftmaxForward(log, y, x, rows, cols))
				twinAssertClose(t, ref.Softmax(log, twinFloat64s(x), rows, cols), y, rtol, atol, "y")
				twinUnchanged(t, x0, x, "x")

				// The backward reference starts from x, the twin from y as rounded to T, so the
				// twin carries y's rounding: exp(y) of a float32 log-probability near -16 is off
				// by 16·6e-8 relative, and dy - Σdy·y cancels to an absolute error of a few ulp
				// of Σdy·y. Hence the looser tolerances here (for the twin against a reference
				// that starts from the same y, rtol 1e-6 holds; see the extremes test).
				y0 := append([]T(nil), y...)
				dx := twinNaNs[T](n)
				require.NoError(t, kernels.SoftmaxBackward(log, dx, y, dy, rows, cols))
				bt, ba := rtol, 1e-14
				if _, ok := any(dx).([]float32); ok {
					bt, ba = 1e-5, 1e-6
				}
				twinAssertClose(t, ref.SoftmaxGrad(log, ref.Softmax(log, twinFloat64s(x), rows, cols), twinFloat64s(dy), rows, cols), dx, bt, ba, "dx")
				twinUnchanged(t, y0, y, "y")
				twinUnchanged(t, dy0, dy, "dy")

				// In place: dst is x, dx is dy.
				require.NoError(t, kernels.SoftmaxForward(log, x, x, rows, cols))
				twinSameBits(t, y, x, "in-place forward")
				require.NoError(t, kernels.SoftmaxBackward(log, dy, y, dy, rows, cols))
				twinSameBits(t, dx, dy, "in-place backward")
			})
		}
	}
}

func TestSoftmaxGradientMatchesFiniteDifferences(t *testing.T) {
	const h = 1e-6
	rng := rand.New(rand.NewPCG(23, 24))
	for _, log := range softmaxKinds() {
		t.Run(fmt.Sprintf("the %s gradient of a random projection matches central differences", softmaxName(log)), func(t *testing.T) {
			const rows, cols = 3, 7
			x := twinRand[float64](rng, rows*cols, -3, 3)
			w := twinRand[float64](rng, rows*cols, -1, 1) // L = Σ w·softmax(x)
			loss := func(x []float64) float64 {
				y := make([]float64, len(x))
				require.NoError(t, kernels.SoftmaxForward(log, y, x, rows, cols))
				l := 0.0
				for i := range y {
					l += w[i] * y[i]
				}
				return l
			}
			y := make([]float64, rows*cols)
			require.NoError(t, kernels.SoftmaxForward(log, y, x, rows, cols))
			dx := make([]float64, rows*cols)
			require.NoError(t, kernels.SoftmaxBackward(log, dx, y, w, rows, cols))
			fd := ref.CentralDiff(x, h, loss)
			twinAssertClose(t, fd, dx, 1e-6, 1e-8, "dx vs finite differences")
		})
	}
}

func TestSoftmaxExtremes(t *testing.T) {
	testSoftmaxExtremes[float32](t)
	testSoftmaxExtremes[float64](t)
}

func testSoftmaxExtremes[T kernels.Float](t *testing.T) {
	rtol, atol := twinTol[T]()
	ln := math.Log
	cases := []struct {
		name             string
		x, dy            []float64
		p, logp          []float64 // exact softmax and log-softmax
		dxSoft, dxLogSft []float64 // exact backward results for dy
	}{
		{"a spread of 1e3 gives a one-hot row", []float64{0, 1000, -1000}, []float64{1, 2, 3},
			[]float64{0, 1, 0}, []float64{-1000, 0, -2000}, []float64{0, 0, 0}, []float64{1, -4, 3}},
		{"equal huge logits give a uniform row", []float64{1e30, 1e30, 1e30, 1e30}, []float64{1, 2, 3, 4},
			[]float64{0.25, 0.25, 0.25, 0.25}, []float64{-ln(4), -ln(4), -ln(4), -ln(4)},
			[]float64{-0.375, -0.125, 0.125, 0.375}, []float64{-1.5, -0.5, 0.5, 1.5}},
		{"logits of ±1e30 give a one-hot row", []float64{1e30, -1e30, 0}, []float64{1, 2, 3},
			[]float64{1, 0, 0}, []float64{0, -2e30, -1e30}, []float64{0, 0, 0}, []float64{-5, 2, 3}},
		{"equal logits of -1000 give a uniform row", []float64{-1000, -1000}, []float64{1, -1},
			[]float64{0.5, 0.5}, []float64{-ln(2), -ln(2)}, []float64{0.5, -0.5}, []float64{1, -1}},
		{"a single column is certain", []float64{-7}, []float64{3},
			[]float64{1}, []float64{0}, []float64{0}, []float64{0}},
		{"a -Inf logit has probability 0", []float64{0, math.Inf(-1)}, []float64{1, 2},
			[]float64{1, 0}, []float64{0, math.Inf(-1)}, []float64{0, 0}, []float64{-2, 2}},
	}
	for _, c := range cases {
		for _, log := range softmaxKinds() {
			t.Run(fmt.Sprintf("%s %s: %s", twinTypeName[T](), softmaxName(log), c.name), func(t *testing.T) {
				x, dy := twinConvert[T](c.x), twinConvert[T](c.dy)
				want, wantDx := c.p, c.dxSoft
				if log {
					want, wantDx = c.logp, c.dxLogSft
				}
				y := twinNaNs[T](len(x))
				require.NoError(t, kernels.SoftmaxForward(log, y, x, 1, len(x)))
				twinAssertClose(t, want, y, rtol, atol, "y")
				dx := twinNaNs[T](len(x))
				require.NoError(t, kernels.SoftmaxBackward(log, dx, y, dy, 1, len(x)))
				twinAssertClose(t, wantDx, dx, rtol, atol, "dx")
			})
		}
	}
	for _, log := range softmaxKinds() {
		t.Run(fmt.Sprintf("%s %s: a NaN makes its own row NaN and no other", twinTypeName[T](), softmaxName(log)), func(t *testing.T) {
			x := []T{1, T(math.NaN()), 2, 1, 2, 3}
			y := make([]T, 6)
			require.NoError(t, kernels.SoftmaxForward(log, y, x, 2, 3))
			for j := 0; j < 3; j++ {
				assert.True(t, math.IsNaN(float64(y[j])), "y[%d] = %v", j, y[j])
				assert.False(t, math.IsNaN(float64(y[3+j])), "y[%d] = %v", 3+j, y[3+j])
			}
		})
	}
}

func TestSoftmaxSubRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	const rows, cols, k = 9, 13, 4
	for _, log := range softmaxKinds() {
		t.Run(fmt.Sprintf("%s on two blocks of rows gives the same bits as one call", softmaxName(log)), func(t *testing.T) {
			x := twinRand[float32](rng, rows*cols, -5, 5)
			dy := twinRand[float32](rng, rows*cols, -1, 1)
			whole, parts := make([]float32, rows*cols), make([]float32, rows*cols)
			require.NoError(t, kernels.SoftmaxForward(log, whole, x, rows, cols))
			require.NoError(t, kernels.SoftmaxForward(log, parts[:k*cols], x[:k*cols], k, cols))
			require.NoError(t, kernels.SoftmaxForward(log, parts[k*cols:], x[k*cols:], rows-k, cols))
			twinSameBits(t, whole, parts, "forward")
			dWhole, dParts := make([]float32, rows*cols), make([]float32, rows*cols)
			require.NoError(t, kernels.SoftmaxBackward(log, dWhole, whole, dy, rows, cols))
			require.NoError(t, kernels.SoftmaxBackward(log, dParts[:k*cols], whole[:k*cols], dy[:k*cols], k, cols))
			require.NoError(t, kernels.SoftmaxBackward(log, dParts[k*cols:], whole[k*cols:], dy[k*cols:], rows-k, cols))
			twinSameBits(t, dWhole, dParts, "backward")
		})
	}
}

func TestSoftmaxErrors(t *testing.T) {
	s6, s5 := make([]float64, 6), make([]float64, 5)
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"forward rejects x of the wrong length", func() error { return kernels.SoftmaxForward(false, s6, s5, 2, 3) }, "SoftmaxForward: len(dst)=6, len(x)=5"},
		{"forward rejects dst of the wrong length", func() error { return kernels.SoftmaxForward(true, s5, s6, 2, 3) }, "len(dst)=5"},
		{"forward rejects negative rows", func() error { return kernels.SoftmaxForward(false, s6, s6, -2, -3) }, "shape [-2, -3]"},
		{"forward rejects a shape whose size overflows", func() error {
			return kernels.SoftmaxForward(false, s6, s6, math.MaxInt/2, 3)
		}, "too large"},
		{"backward rejects y of the wrong length", func() error { return kernels.SoftmaxBackward(false, s6, s5, s6, 2, 3) }, "SoftmaxBackward: len(dx)=6, len(y)=5, len(dy)=6"},
		{"backward rejects negative cols", func() error { return kernels.SoftmaxBackward(true, s6, s6, s6, 1, -6) }, "shape [1, -6]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			require.Error(t, err)
			assert.ErrorIs(t, err, kernels.ErrInvalid)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestSoftmaxDoesNotAllocate(t *testing.T) {
	x := twinRand[float32](rand.New(rand.NewPCG(27, 28)), 60, -3, 3)
	y, dx := make([]float32, 60), make([]float32, 60)
	for _, log := range softmaxKinds() {
		t.Run(fmt.Sprintf("%s forward and backward allocate nothing", softmaxName(log)), func(t *testing.T) {
			assert.Zero(t, testing.AllocsPerRun(20, func() {
				_ = kernels.SoftmaxForward(log, y, x, 6, 10)
				_ = kernels.SoftmaxBackward(log, dx, y, x, 6, 10)
			}))
		})
	}
}

func ExampleSoftmaxForward() {
	x := []float32{0, 1000, -1000, 1, 1, 1, 1}
	p := make([]float32, 3)
	_ = kernels.SoftmaxForward(false, p, x[:3], 1, 3)
	lp := make([]float32, 3)
	_ = kernels.SoftmaxForward(true, lp, x[:3], 1, 3)
	fmt.Println(p, lp)
	// Output: [0 1 0] [-1000 0 -2000]
}

// BenchmarkSoftmax times the float32 row softmax and log-softmax on 1M elements (8 bytes moved
// per element), in rows of 10 (a classifier's logits) and of 1024.
func BenchmarkSoftmax(b *testing.B) {
	const n = 1 << 20
	x := twinRand[float32](rand.New(rand.NewPCG(29, 30)), n, -8, 8)
	dst := make([]float32, n)
	for _, cols := range []int{10, 1024} {
		rows := n / cols
		for _, log := range softmaxKinds() {
			b.Run(fmt.Sprintf("%s/rows-of-%d", softmaxName(log), cols), func(b *testing.B) {
				b.SetBytes(int64(8 * rows * cols))
				for b.Loop() {
					if err := kernels.SoftmaxForward(log, dst[:rows*cols], x[:rows*cols], rows, cols); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(8*rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}
