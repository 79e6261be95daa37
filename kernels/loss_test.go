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

// lossTargets draws targets of the kind each loss expects: rows of a probability distribution
// (one-hot for the even rows, dense and, on the last row, not normalised, to exercise Σy) for
// softmax cross-entropy, values in [0, 1] for BCE, anything for MSE.
func lossTargets[T kernels.Float](rng *rand.Rand, kind kernels.Loss, rows, cols int) []T {
	switch kind {
	case kernels.SoftmaxCrossEntropy:
		y := make([]T, rows*cols)
		for r := 0; r < rows; r++ {
			row := y[r*cols : (r+1)*cols]
			if cols == 0 {
				continue
			}
			if r%2 == 0 {
				row[rng.IntN(cols)] = 1
				continue
			}
			s := 0.0
			for j := range row {
				row[j] = T(rng.Float64())
				s += float64(row[j])
			}
			if r == rows-1 {
				s = 1 // leave the last row unnormalised
			}
			for j := range row {
				row[j] = T(float64(row[j]) / s)
			}
		}
		return y
	case kernels.BCEWithLogits:
		return twinRand[T](rng, rows*cols, 0, 1)
	}
	return twinRand[T](rng, rows*cols, -3, 3)
}

var lossShapes = [][2]int{{0, 4}, {1, 1}, {1, 10}, {5, 1}, {7, 3}, {128, 10}, {3, 257}}

func TestLossMatchesReference(t *testing.T) {
	testLoss[float32](t)
	testLoss[float64](t)
}

func testLoss[T kernels.Float](t *testing.T) {
	rtol, atol := twinTol[T]()
	rng := rand.New(rand.NewPCG(31, 32))
	for _, kind := range kernels.Losses() {
		for _, sh := range lossShapes {
			rows, cols := sh[0], sh[1]
			t.Run(fmt.Sprintf("%s %s over %dx%d matches the float64 reference forward and backward", twinTypeName[T](), kind, rows, cols), func(t *testing.T) {
				x := twinRand[T](rng, rows*cols, -6, 6)
				y := lossTargets[T](rng, kind, rows, cols)
				x0, y0 := append([]T(nil), x...), append([]T(nil), y...)
				x64, y64 := twinFloat64s(x), twinFloat64s(y)
				wantLoss, wantDx := ref.Loss(kind, x64, y64, rows, cols), ref.LossGrad(kind, x64, y64, 1, rows, cols)
				if rows*cols == 0 {
					wantLoss = 0
				}

				// The loss is float64 whatever T is, from the same (T-rounded) inputs as the
				// reference, so it is held to float64's tolerance.
				loss, err := kernels.LossForward(kind, x, y, rows, cols)
				require.NoError(t, err)
				assert.InDelta(t, wantLoss, loss, 1e-13*math.Abs(wantLoss)+1e-15, "loss")
				sum, err := kernels.LossSum(kind, x, y, rows, cols)
				require.NoError(t, err)
				assert.InDelta(t, wantLoss*kernels.LossDivisor(kind, rows, cols), sum, 1e-13*math.Abs(sum)+1e-15, "loss sum")

				const dloss = 0.75
				for i := range wantDx {
					wantDx[i] *= dloss
				}
				dx := twinNaNs[T](rows * cols)
				require.NoError(t, kernels.LossBackward(kind, dx, x, y, rows, cols, dloss))
				twinAssertClose(t, wantDx, dx, rtol, atol, "dx")
				twinUnchanged(t, x0, x, "x")
				twinUnchanged(t, y0, y, "y")

				// In place: dx is x.
				require.NoError(t, kernels.LossBackward(kind, x, x, y, rows, cols, dloss))
				twinSameBits(t, dx, x, "in-place backward")
			})
		}
	}
}

func TestLossGradientMatchesFiniteDifferences(t *testing.T) {
	const h = 1e-6
	rng := rand.New(rand.NewPCG(33, 34))
	for _, kind := range kernels.Losses() {
		t.Run(fmt.Sprintf("the %s gradient matches central differences of the mean loss", kind), func(t *testing.T) {
			const rows, cols = 4, 5
			x := twinRand[float64](rng, rows*cols, -3, 3)
			y := lossTargets[float64](rng, kind, rows, cols)
			const dloss = 1.3
			dx := make([]float64, rows*cols)
			require.NoError(t, kernels.LossBackward(kind, dx, x, y, rows, cols, dloss))
			fd := ref.CentralDiff(x, h, func(x []float64) float64 {
				l, err := kernels.LossForward(kind, x, y, rows, cols)
				require.NoError(t, err)
				return l
			})
			for i := range fd {
				fd[i] *= dloss
			}
			twinAssertClose(t, fd, dx, 1e-6, 1e-8, "dx vs finite differences")
		})
	}
}

func TestLossExtremes(t *testing.T) {
	testLossExtremes[float32](t)
	testLossExtremes[float64](t)
}

func testLossExtremes[T kernels.Float](t *testing.T) {
	rtol, atol := twinTol[T]()
	cases := []struct {
		name       string
		kind       kernels.Loss
		rows, cols int
		x, y       []float64
		loss       float64   // the exact mean loss
		dx         []float64 // the exact gradient for dloss = 1
	}{
		{"softmax-ce of a spread of 1e3 and of equal huge logits is exact", kernels.SoftmaxCrossEntropy, 3, 3,
			[]float64{0, 1000, -1000, 0, 1000, -1000, 1e30, 1e30, 1e30},
			[]float64{0, 0, 1, 0, 1, 0, 1, 0, 0},
			(2000 + 0 + math.Log(3)) / 3,
			[]float64{0, 1. / 3, -1. / 3, 0, 0, 0, (1./3 - 1) / 3, 1. / 9, 1. / 9}},
		{"softmax-ce ignores a -Inf logit whose target is 0", kernels.SoftmaxCrossEntropy, 1, 3,
			[]float64{0, math.Inf(-1), 0}, []float64{0.5, 0, 0.5},
			math.Log(2), []float64{0, 0, 0}},
		{"softmax-ce of logits ±1e30 with a split target", kernels.SoftmaxCrossEntropy, 1, 2,
			[]float64{-1e30, 1e30}, []float64{0.5, 0.5},
			1e30, []float64{-0.5, 0.5}},
		{"bce-logits at ±1000 and ±1e30 is exact", kernels.BCEWithLogits, 2, 3,
			[]float64{1000, 1000, -1000, -1000, 1e30, -1e30}, []float64{1, 0, 0, 1, 0.5, 0.25},
			(0 + 1000 + 0 + 1000 + 5e29 + 2.5e29) / 6,
			[]float64{0, 1. / 6, 0, -1. / 6, 0.5 / 6, -0.25 / 6}},
		{"mse of ±1e30 stays finite in float64", kernels.MSE, 1, 2,
			[]float64{1e30, -1000}, []float64{-1e30, 1000},
			(4e60 + 4e6) / 2, []float64{2e30, -2000}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %s", twinTypeName[T](), c.name), func(t *testing.T) {
			x, y := twinConvert[T](c.x), twinConvert[T](c.y)
			loss, err := kernels.LossForward(c.kind, x, y, c.rows, c.cols)
			require.NoError(t, err)
			assert.False(t, math.IsNaN(loss) || math.IsInf(loss, 0), "loss %v", loss)
			assert.InDelta(t, c.loss, loss, rtol*math.Abs(c.loss)+atol, "loss")
			dx := twinNaNs[T](len(x))
			require.NoError(t, kernels.LossBackward(c.kind, dx, x, y, c.rows, c.cols, 1))
			twinAssertClose(t, c.dx, dx, rtol, atol, "dx")
			for i, v := range dx {
				assert.False(t, math.IsInf(float64(v), 0), "dx[%d] = %v", i, v)
			}
		})
	}
}

func TestLossSubRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	const rows, cols, k = 11, 6, 5
	for _, kind := range kernels.Losses() {
		t.Run(fmt.Sprintf("%s over two blocks of rows adds up to one call, and its gradient has the same bits", kind), func(t *testing.T) {
			x := twinRand[float32](rng, rows*cols, -4, 4)
			y := lossTargets[float32](rng, kind, rows, cols)
			whole, err := kernels.LossSum(kind, x, y, rows, cols)
			require.NoError(t, err)
			a, err := kernels.LossSum(kind, x[:k*cols], y[:k*cols], k, cols)
			require.NoError(t, err)
			b, err := kernels.LossSum(kind, x[k*cols:], y[k*cols:], rows-k, cols)
			require.NoError(t, err)
			assert.InDelta(t, whole, a+b, 1e-14*math.Abs(whole), "partial sums") // only the summation order differs

			scale := 0.9 / kernels.LossDivisor(kind, rows, cols)
			dWhole, dParts := make([]float32, rows*cols), make([]float32, rows*cols)
			require.NoError(t, kernels.LossBackward(kind, dWhole, x, y, rows, cols, 0.9))
			require.NoError(t, kernels.LossBackwardScaled(kind, dParts[:k*cols], x[:k*cols], y[:k*cols], k, cols, scale))
			require.NoError(t, kernels.LossBackwardScaled(kind, dParts[k*cols:], x[k*cols:], y[k*cols:], rows-k, cols, scale))
			twinSameBits(t, dWhole, dParts, "backward")
		})
	}
}

func TestLossErrors(t *testing.T) {
	s6, s5 := make([]float64, 6), make([]float64, 5)
	bad := kernels.Loss(99)
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"forward rejects an unknown loss", func() error { _, err := kernels.LossForward(bad, s6, s6, 2, 3); return err }, "LossForward: invalid loss"},
		{"forward rejects x of the wrong length", func() error { _, err := kernels.LossForward(kernels.MSE, s5, s6, 2, 3); return err }, "LossForward: len(x)=5, len(y)=6"},
		{"forward rejects y of the wrong length", func() error {
			_, err := kernels.LossForward(kernels.SoftmaxCrossEntropy, s6, s5, 2, 3)
			return err
		}, "len(y)=5"},
		{"forward rejects a negative shape", func() error { _, err := kernels.LossForward(kernels.MSE, s6, s6, -1, 3); return err }, "shape [-1, 3]"},
		{"the sum rejects y of the wrong length", func() error { _, err := kernels.LossSum(kernels.BCEWithLogits, s6, s5, 2, 3); return err }, "LossSum"},
		{"backward rejects dx of the wrong length", func() error { return kernels.LossBackward(kernels.MSE, s5, s6, s6, 2, 3, 1) }, "LossBackward: len(dx)=5"},
		{"backward rejects an unknown loss", func() error { return kernels.LossBackward(bad, s6, s6, s6, 2, 3, 1) }, "LossBackward: invalid loss"},
		{"scaled backward rejects dx of the wrong length", func() error {
			return kernels.LossBackwardScaled(kernels.BCEWithLogits, s5, s6, s6, 2, 3, 1)
		}, "LossBackwardScaled: len(dx)=5"},
		{"scaled backward rejects a negative shape", func() error {
			return kernels.LossBackwardScaled(kernels.MSE, s6, s6, s6, 3, -2, 1)
		}, "shape [3, -2]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			require.Error(t, err)
			assert.ErrorIs(t, err, kernels.ErrInvalid)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	t.Run("an empty batch has loss 0 and no gradient to write", func(t *testing.T) {
		for _, kind := range kernels.Losses() {
			loss, err := kernels.LossForward[float32](kind, nil, nil, 0, 10)
			require.NoError(t, err)
			assert.Zero(t, loss)
			assert.NoError(t, kernels.LossBackward[float32](kind, nil, nil, nil, 0, 10, 1))
		}
	})
	t.Run("the divisor is rows for softmax-ce and rows*cols otherwise", func(t *testing.T) {
		assert.Equal(t, 4.0, kernels.LossDivisor(kernels.SoftmaxCrossEntropy, 4, 10))
		assert.Equal(t, 40.0, kernels.LossDivisor(kernels.BCEWithLogits, 4, 10))
		assert.Equal(t, 40.0, kernels.LossDivisor(kernels.MSE, 4, 10))
		assert.True(t, math.IsNaN(kernels.LossDivisor(bad, 4, 10)))
	})
}

func TestLossDoesNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	for _, kind := range kernels.Losses() {
		t.Run(fmt.Sprintf("%s forward and backward allocate nothing", kind), func(t *testing.T) {
			x := twinRand[float32](rng, 60, -3, 3)
			y := lossTargets[float32](rng, kind, 6, 10)
			dx := make([]float32, 60)
			assert.Zero(t, testing.AllocsPerRun(20, func() {
				_, _ = kernels.LossForward(kind, x, y, 6, 10)
				_ = kernels.LossBackward(kind, dx, x, y, 6, 10, 1)
			}))
		})
	}
}

func ExampleLossForward() {
	logits := []float64{0, 1000, -1000}
	target := []float64{0, 0, 1} // class 2, which softmax gives e^-2000
	loss, _ := kernels.LossForward(kernels.SoftmaxCrossEntropy, logits, target, 1, 3)
	dx := make([]float64, 3)
	_ = kernels.LossBackward(kernels.SoftmaxCrossEntropy, dx, logits, target, 1, 3, 1)
	fmt.Println(loss, dx)
	// Output: 2000 [0 1 -1]
}

// BenchmarkLoss times softmax cross-entropy on a batch of 128 rows of 10 logits, float32.
func BenchmarkLoss(b *testing.B) {
	const rows, cols = 128, 10
	rng := rand.New(rand.NewPCG(39, 40))
	x := twinRand[float32](rng, rows*cols, -4, 4)
	y := lossTargets[float32](rng, kernels.SoftmaxCrossEntropy, rows, cols)
	dx := make([]float32, rows*cols)
	b.Run("softmax-ce/128x10/forward", func(b *testing.B) {
		b.SetBytes(8 * rows * cols)
		for b.Loop() {
			if _, err := kernels.LossForward(kernels.SoftmaxCrossEntropy, x, y, rows, cols); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("softmax-ce/128x10/backward", func(b *testing.B) {
		b.SetBytes(12 * rows * cols)
		for b.Loop() {
			if err := kernels.LossBackward(kernels.SoftmaxCrossEntropy, dx, x, y, rows, cols, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}
