package kernels_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/kernels"
)

var poolCases = []kernels.Pool2D{
	{Kind: kernels.MaxPool, N: 2, C: 3, H: 6, W: 6, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
	{Kind: kernels.MaxPool, N: 2, C: 2, H: 7, W: 5, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
	{Kind: kernels.MaxPool, N: 1, C: 2, H: 7, W: 5, KH: 3, KW: 3, StrideH: 1, StrideW: 2, PadH: 1, PadW: 1},
	{Kind: kernels.MaxPool, N: 2, C: 1, H: 1, W: 1, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
	{Kind: kernels.MaxPool, N: 1, C: 1, H: 1, W: 1, KH: 2, KW: 2, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
	{Kind: kernels.AvgPool, N: 2, C: 3, H: 6, W: 7, KH: 2, KW: 3, StrideH: 2, StrideW: 1, PadH: 1, PadW: 1},
	{Kind: kernels.AvgPool, N: 1, C: 2, H: 5, W: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, ExcludePad: true},
	{Kind: kernels.AvgPool, N: 1, C: 1, H: 1, W: 1, KH: 3, KW: 3, StrideH: 3, StrideW: 3, PadH: 1, PadW: 1},
}

func TestPoolTwinsMatchTheDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, g := range poolCases {
		t.Run(g.String(), func(t *testing.T) {
			require.NoError(t, g.Validate())
			x, dy := randn(rng, g.XLen()), randn(rng, g.YLen())
			wantY, wantDx := ref.Pool(g, x, dy)
			y, dx := make([]float64, g.YLen()), make([]float64, g.XLen())
			require.NoError(t, kernels.PoolForward(g, y, x, 0, g.Planes()))
			require.NoError(t, kernels.PoolBackward(g, dx, x, dy, 0, g.Planes()))
			assertClose(t, "y", y, wantY, 1e-15, 1e-14)
			assertClose(t, "dx", dx, wantDx, 1e-15, 1e-14)
		})
	}
}

func TestMaxPoolTakesTheFirstOfEqualsAndPropagatesNaN(t *testing.T) {
	g := kernels.Pool2D{Kind: kernels.MaxPool, N: 1, C: 1, H: 2, W: 2, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	x := []float64{1, 3, 3, 0}
	y, dx := []float64{0}, make([]float64, 4)
	require.NoError(t, kernels.PoolForward(g, y, x, 0, 1))
	require.NoError(t, kernels.PoolBackward(g, dx, x, []float64{1}, 0, 1))
	assert.Equal(t, []float64{3}, y)
	assert.Equal(t, []float64{0, 1, 0, 0}, dx, "the gradient goes to the first maximum only")
	x = []float64{1, math.NaN(), 5, math.NaN()}
	require.NoError(t, kernels.PoolForward(g, y, x, 0, 1))
	require.NoError(t, kernels.PoolBackward(g, dx, x, []float64{1}, 0, 1))
	assert.True(t, math.IsNaN(y[0]))
	assert.Equal(t, []float64{0, 1, 0, 0}, dx, "the gradient goes to the first NaN")
}

func TestPoolValidateFollowsPyTorch(t *testing.T) {
	g := kernels.Pool2D{Kind: kernels.MaxPool, N: 1, C: 1, H: 4, W: 4, KH: 3, KW: 3, StrideH: 3, StrideW: 3, PadH: 1, PadW: 1}
	require.NoError(t, g.Validate())
	assert.Equal(t, 2, g.OutH())
	g.PadH = 2 // more than half of 3
	require.ErrorIs(t, g.Validate(), kernels.ErrInvalid)
	g.PadH, g.KH = 0, 5
	require.ErrorIs(t, g.Validate(), kernels.ErrInvalid)
}

func TestPhiloxMatchesTheRandom123KnownAnswers(t *testing.T) {
	for _, c := range []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{}, [2]uint32{}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff},
			[4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0},
			[4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	} {
		assert.Equal(t, c.want, kernels.Philox4x32(c.ctr, c.key))
	}
}

func TestDropoutMask(t *testing.T) {
	const n = 200003
	x := make([]float64, n)
	for i := range x {
		x[i] = 1 + float64(i%7)
	}
	d := kernels.Dropout{P: 0.3, Stream: 2}
	y := make([]float64, n)
	require.NoError(t, kernels.DropoutForward(d, 42, 7, y, x, 0))
	kept := 0
	for i, v := range y {
		keep := kernels.DropoutKeep(d, 42, 7, i)
		if keep {
			kept++
			require.Equal(t, x[i]/0.7, v, "a kept element is scaled by 1/(1-p), element %d", i)
		} else {
			require.Equal(t, 0.0, v, "element %d", i)
		}
	}
	frac := float64(kept) / n
	assert.InDelta(t, 0.7, frac, 5*math.Sqrt(0.21/n), "the kept fraction is 1-p")

	t.Run("a tensor split at any offset gives the whole tensor's mask", func(t *testing.T) {
		part := make([]float64, n)
		for _, cut := range []int{0, 1, 5, 4096, 100001} {
			require.NoError(t, kernels.DropoutForward(d, 42, 7, part[:cut], x[:cut], 0))
			require.NoError(t, kernels.DropoutForward(d, 42, 7, part[cut:], x[cut:], cut))
			require.Equal(t, y, part, "cut at %d", cut)
		}
	})
	t.Run("another step, stream or seed gives another mask", func(t *testing.T) {
		for _, c := range []struct {
			d          kernels.Dropout
			seed, step uint64
		}{{d, 42, 8}, {kernels.Dropout{P: 0.3, Stream: 3}, 42, 7}, {d, 43, 7}, {d, 42, 7 + 1<<32}} {
			other := make([]float64, n)
			require.NoError(t, kernels.DropoutForward(c.d, c.seed, c.step, other, x, 0))
			assert.NotEqual(t, y, other)
		}
	})
	t.Run("p = 0 is the identity and p = 1 drops everything, keeping NaN", func(t *testing.T) {
		in := []float64{1, -2, math.NaN(), 4, 5}
		out := make([]float64, len(in))
		require.NoError(t, kernels.DropoutForward(kernels.Dropout{P: 0}, 1, 1, out, in, 0))
		assert.Equal(t, in[:2], out[:2])
		assert.True(t, math.IsNaN(out[2]))
		require.NoError(t, kernels.DropoutForward(kernels.Dropout{P: 1}, 1, 1, out, in, 0))
		assert.Equal(t, []float64{0, 0}, out[:2])
		assert.True(t, math.IsNaN(out[2]))
	})
	require.ErrorIs(t, kernels.DropoutForward(kernels.Dropout{P: 1.5}, 1, 1, y, x, 0), kernels.ErrInvalid)
	require.ErrorIs(t, kernels.DropoutForward(d, 1, 1, y[:3], x, 0), kernels.ErrInvalid)
}

func TestBatchNormTwinsMatchTheDefinitionAndCentralDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, b := range []kernels.BatchNorm{
		{N: 4, C: 3, Inner: 5, Eps: 1e-5, Momentum: 0.1, Train: true},
		{N: 2, C: 1, Inner: 1, Eps: 1e-5, Momentum: 0.1, Train: true}, // BatchNorm1d, two values
		{N: 1, C: 2, Inner: 9, Eps: 1e-3, Momentum: 0.3, Train: true}, // batch 1, 3×3 images
		{N: 3, C: 4, Inner: 2, Eps: 1e-5, Momentum: 0.1, Train: false},
	} {
		t.Run(b.String(), func(t *testing.T) {
			x, gamma, beta, dy := randn(rng, b.Len()), randn(rng, b.C), randn(rng, b.C), randn(rng, b.Len())
			rm, rv := randn(rng, b.C), make([]float64, b.C)
			for i := range rv {
				rv[i] = 0.5 + rng.Float64()
			}
			wantY, wantRm, wantRv, _, _ := ref.BatchNorm(b, x, gamma, beta, rm, rv, nil)
			y := make([]float64, b.Len())
			grm, grv := append([]float64(nil), rm...), append([]float64(nil), rv...)
			require.NoError(t, kernels.BatchNormForward(b, y, x, gamma, beta, grm, grv, 0, b.C))
			assertClose(t, "y", y, wantY, 1e-13, 1e-13)
			assertClose(t, "running mean", grm, wantRm, 1e-15, 1e-14)
			assertClose(t, "running var", grv, wantRv, 1e-15, 1e-14)

			obj := func(x, gamma []float64) float64 {
				y, _, _, _, _ := ref.BatchNorm(b, x, gamma, beta, rm, rv, nil)
				s := 0.0
				for i := range y {
					s += y[i] * dy[i]
				}
				return s
			}
			const h = 1e-6
			fdX := ref.CentralDiff(x, h, func(x []float64) float64 { return obj(x, gamma) })
			fdG := ref.CentralDiff(gamma, h, func(gamma []float64) float64 { return obj(x, gamma) })
			dx, dg := make([]float64, len(x)), make([]float64, b.C)
			require.NoError(t, kernels.BatchNormBackwardInput(b, dx, x, gamma, rm, rv, dy, 0, b.C))
			require.NoError(t, kernels.BatchNormBackwardGamma(b, dg, x, rm, rv, dy, 0, b.C))
			assertClose(t, "dx", dx, fdX, 1e-6, 1e-5)
			assertClose(t, "dgamma", dg, fdG, 1e-6, 1e-5)
		})
	}
	bad := kernels.BatchNorm{N: 1, C: 2, Inner: 1, Eps: 1e-5, Momentum: 0.1, Train: true}
	require.ErrorIs(t, bad.Validate(), kernels.ErrInvalid, "one value per channel cannot train")
	bad.Train = false
	require.NoError(t, bad.Validate(), "but it can evaluate")
}

func TestChannelOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range [][3]int{{3, 4, 5}, {7, 70, 1}, {1, 1, 1}, {2, 3, 0}} {
		outer, ch, inner := s[0], s[1], s[2]
		x, b := randn(rng, outer*ch*inner), randn(rng, ch)
		y, sum := make([]float64, len(x)), make([]float64, ch)
		require.NoError(t, kernels.ChannelBiasAdd(y, x, b, outer, ch, inner))
		require.NoError(t, kernels.ChannelSum(sum, x, outer, ch, inner))
		want := make([]float64, ch)
		for i := range x {
			c := i / inner % ch
			require.Equal(t, x[i]+b[c], y[i])
			want[c] += x[i]
		}
		assertClose(t, "sum", sum, want, 1e-14, 1e-14)
	}
}
