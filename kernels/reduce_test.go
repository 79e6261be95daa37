package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// The float32 reductions and the bias add must give the Go loops' bits at every level, on
// every length (tails of both vector widths) and on special values, and agree with a plain
// float64 reference.

var reduceLengths = []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1007}

func TestAddBiasMatchesGoLoopAtEveryLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for _, cols := range reduceLengths[1:] {
		for _, rows := range []int{0, 1, 3} {
			x, b := make([]float32, rows*cols), make([]float32, cols)
			drawAct(rng, x, 0.1)
			drawAct(rng, b, 0.1)
			want := nans32(len(x))
			withLevel(t, cpufeat.Generic, func() { require.NoError(t, AddBias(want, x, b)) })
			for i := range want {
				if w := x[i] + b[i%cols]; !(w == want[i] || w != w && want[i] != want[i]) {
					require.Failf(t, "wrong sum", "cols %d: element %d is %v, want %v", cols, i, want[i], w)
				}
			}
			for _, l := range asmLevels() {
				got := nans32(len(x))
				withLevel(t, l, func() { require.NoError(t, AddBias(got, x, b)) })
				requireSameBits32(t, want, got, fmt.Sprintf("%v, %d rows of %d", l, rows, cols))
			}
		}
	}
	assert.ErrorIs(t, AddBias(make([]float32, 5), make([]float32, 5), make([]float32, 2)), ErrInvalid)
	assert.ErrorIs(t, AddBias(make([]float32, 4), make([]float32, 6), make([]float32, 2)), ErrInvalid)
}

func TestSumColumnsMatchesGoLoopAtEveryLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	for _, cols := range reduceLengths {
		for _, rows := range []int{0, 1, 2, 129} {
			ld := cols + rng.IntN(3)
			src := make([]float32, rows*ld)
			drawAct(rng, src, 0.02)
			want := nans32(cols)
			withLevel(t, cpufeat.Generic, func() { require.NoError(t, SumColumns(want, src, rows, ld)) })
			for c := range cols {
				s := 0.0
				for r := range rows {
					s += float64(src[r*ld+c])
				}
				if w := float32(s); !(w == want[c] || w != w && want[c] != want[c]) {
					require.Failf(t, "wrong sum", "%d rows of %d: column %d is %v, want %v", rows, cols, c, want[c], w)
				}
			}
			for _, l := range asmLevels() {
				got := nans32(cols)
				withLevel(t, l, func() { require.NoError(t, SumColumns(got, src, rows, ld)) })
				requireSameBits32(t, want, got, fmt.Sprintf("%v, %d rows of %d (stride %d)", l, rows, cols, ld))
			}
		}
	}
	assert.ErrorIs(t, SumColumns(make([]float32, 4), make([]float32, 7), 2, 4), ErrInvalid)
	assert.ErrorIs(t, SumColumns(make([]float32, 4), make([]float32, 8), 2, 3), ErrInvalid)
}

func TestSumSquaresMatchesGoLoopAtEveryLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(65, 66))
	for _, n := range append(reduceLengths, 4099, 65537) {
		for _, special := range []float64{0, 0.01} {
			x := make([]float32, n)
			drawAct(rng, x, special)
			var want float64
			withLevel(t, cpufeat.Generic, func() { want = SumSquares(x) })
			ref := 0.0
			for _, v := range x {
				ref += float64(v) * float64(v)
			}
			if !math.IsNaN(ref) && !math.IsInf(ref, 0) {
				assert.InDelta(t, ref, want, 1e-12*ref, "n %d: the 16 partial sums stray from the plain sum", n)
			} else {
				assert.Equal(t, math.IsNaN(ref), math.IsNaN(want), "n %d: %v vs %v", n, want, ref)
			}
			for _, l := range asmLevels() {
				var got float64
				withLevel(t, l, func() { got = SumSquares(x) })
				if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
					require.Failf(t, "bits differ", "%v, n %d, specials %v: got %v, want %v", l, n, special, got, want)
				}
			}
		}
	}
}

// BenchmarkReduce times the bias add, the bias gradient (column sums over a batch of 128) and
// the sum of squares on 1M float32 at every level, on one core.
func BenchmarkReduce(b *testing.B) {
	const n, cols = 1 << 20, 256
	x := make([]float32, n)
	drawAct(rand.New(rand.NewPCG(67, 68)), x, 0)
	bias, dst, sums := x[:cols], make([]float32, n), make([]float32, cols)
	for _, l := range cpufeat.Supported() {
		b.Run("bias-add/"+l.String(), func(b *testing.B) {
			withLevel(b, l, func() {
				b.SetBytes(8 * n)
				done := cpuTimer(b)
				for b.Loop() {
					_ = AddBias(dst, x, bias)
				}
				done()
			})
		})
		b.Run("sum-columns/"+l.String(), func(b *testing.B) {
			withLevel(b, l, func() {
				b.SetBytes(4 * n)
				done := cpuTimer(b)
				for b.Loop() {
					_ = SumColumns(sums, x, n/cols, cols)
				}
				done()
			})
		})
		b.Run("sum-squares/"+l.String(), func(b *testing.B) {
			withLevel(b, l, func() {
				b.SetBytes(4 * n)
				done := cpuTimer(b)
				for b.Loop() {
					_ = SumSquares(x)
				}
				done()
			})
		})
	}
}
