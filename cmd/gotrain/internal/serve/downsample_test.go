package serve

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMinMaxKeepsTheOutlineInFewPoints(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 10000
	x, y := make([]float32, n), make([]float32, n)
	for i := range y {
		x[i] = float32(i + 1)
		y[i] = float32(math.Exp(-float64(i)/2000) + 0.05*r.Float64())
	}
	y[7777] = 50 // a spike every-n-th sampling would miss
	y[1234] = -3 // and a dip
	y[99] = float32(math.NaN())
	idx := minMax(x, y, 300)
	require.LessOrEqual(t, len(idx), 2*300+2)
	require.Greater(t, len(idx), 300)
	for k := 1; k < len(idx); k++ {
		require.Less(t, idx[k-1], idx[k], "in row order, no repeats")
	}
	assert.Contains(t, idx, 7777)
	assert.Contains(t, idx, 1234)
	assert.NotContains(t, idx, 99, "NaN rows are gaps, not points")
	assert.Equal(t, 0, idx[0])
	assert.Equal(t, n-1, idx[len(idx)-1])
	short := minMax(x[:120], y[:120], 300)
	assert.Len(t, short, 119, "a short curve is sent whole (less its NaN)")
	assert.Len(t, minMax(x[:602], y[:602], 300), 601, "up to 2×buckets+2 points are sent whole")
}

func TestMinMaxExtremesOfEveryBucket(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	n, buckets := 1000, 10
	x, y := make([]float32, n), make([]float32, n)
	for i := range y {
		x[i], y[i] = float32(i), float32(r.NormFloat64())
	}
	idx := minMax(x, y, buckets)
	kept := map[int]bool{}
	for _, i := range idx {
		kept[i] = true
	}
	for b := 0; b < buckets; b++ {
		lo, hi := b*n/buckets, (b+1)*n/buckets
		mi, ma := lo, lo
		for i := lo; i < hi; i++ {
			if y[i] < y[mi] {
				mi = i
			}
			if y[i] > y[ma] {
				ma = i
			}
		}
		assert.True(t, kept[mi] && kept[ma], "bucket %d", b)
	}
}

func TestSmoothIsTensorBoardsDebiasedEMA(t *testing.T) {
	y := []float32{1, 2, float32(math.NaN()), 4, 8}
	got := smooth(y, 0.5)
	// last = 0.5·last + 0.5·v, divided by 1 − 0.5ⁿ over the n finite values so far.
	want := []float64{1, (0.5*0.5 + 0.5*2) / 0.75, math.NaN(), ((0.5*0.5+0.5*2)*0.5 + 0.5*4) / 0.875, (((0.5*0.5+0.5*2)*0.5+0.5*4)*0.5 + 0.5*8) / 0.9375}
	for i := range want {
		if math.IsNaN(want[i]) {
			assert.True(t, math.IsNaN(float64(got[i])))
			continue
		}
		assert.InDelta(t, want[i], float64(got[i]), 1e-6, "point %d", i)
	}
	assert.Equal(t, []float32{1, 2, 3}, smooth([]float32{1, 2, 3}, 0), "no smoothing")
}

func TestFloatsWriteNaNAsNull(t *testing.T) {
	b, err := json.Marshal(series{X: floats{1, 2}, Y: floats{0.1, float32(math.NaN())}, S: floats{float32(math.Inf(1)), 3}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"x":[1,2],"y":[0.1,null],"s":[null,3]}`, string(b))
}
