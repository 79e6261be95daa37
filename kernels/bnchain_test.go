package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
	"github.com/stretchr/testify/require"
)

// TestBatchNormSumsAreTheSameBitsAtEveryLevel runs batch normalisation (both modes, forward and
// both gradients) and the channel sum at every level this CPU supports and compares every output
// bit for bit with the Go loops' (the Generic level): the AVX-512 loops of bnchain512_amd64.s run
// eight channels' float64 chains side by side and must add in each channel's order. The shapes
// cover rows shorter than a block (Inner < 8, left to Go), every tail length 0-7, groups that run
// past the last channel (C not a multiple of 8, and channel ranges that start and end inside a
// group, as the device's split makes them), and inputs whose sums depend on the order of their
// additions, with a subnormal, a huge value and a NaN.
func TestBatchNormSumsAreTheSameBitsAtEveryLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 7))
	type shape struct{ n, c, inner int }
	shapes := []shape{{3, 1, 1}, {2, 5, 7}, {4, 8, 8}, {3, 9, 9}, {2, 13, 15}, {5, 16, 14}, {2, 3, 196}, {3, 19, 28}}
	for _, s := range shapes {
		for _, train := range []bool{true, false} {
			b := BatchNorm{N: s.n, C: s.c, Inner: s.inner, Eps: 1e-5, Momentum: 0.1, Train: train}
			// Every fifth element is ±1e17 among values near 1: a float64 sum of such values
			// depends on the order of its additions (1e17's ulp is 16), so an add out of order
			// shows in the float32 results.
			x, dy := make([]float32, b.Len()), make([]float32, b.Len())
			for i := range x {
				x[i] = float32(rng.NormFloat64()*2 + 0.5)
				dy[i] = float32(rng.NormFloat64())
				if rng.IntN(5) == 0 {
					x[i] = float32(math.Copysign(1e17, rng.NormFloat64()))
				}
				if rng.IntN(5) == 0 {
					dy[i] = float32(math.Copysign(1e17, rng.NormFloat64()))
				}
			}
			x[rng.IntN(len(x))] = 1e-40 // subnormal
			dy[rng.IntN(len(dy))] = 3e38
			gamma, beta, rmean, rvar := make([]float32, b.C), make([]float32, b.C), make([]float32, b.C), make([]float32, b.C)
			for i := range gamma {
				gamma[i], beta[i], rmean[i], rvar[i] = float32(rng.Float64()+0.5), float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.Float64()+0.5)
			}
			ranges := [][2]int{{0, b.C}}
			if b.C > 2 {
				ranges = append(ranges, [2]int{1, b.C - 1})
			}
			for _, r := range ranges {
				run := func() (outs [][]float32) {
					y, dx, dg, cs := make([]float32, b.Len()), make([]float32, b.Len()), make([]float32, b.C), make([]float32, b.C)
					rm, rv := append([]float32(nil), rmean...), append([]float32(nil), rvar...)
					require.NoError(t, BatchNormForward(b, y, x, gamma, beta, rm, rv, r[0], r[1]))
					require.NoError(t, BatchNormBackwardInput(b, dx, x, gamma, rmean, rvar, dy, r[0], r[1]))
					require.NoError(t, BatchNormBackwardGamma(b, dg, x, rmean, rvar, dy, r[0], r[1]))
					require.NoError(t, ChannelSumRange(cs, dy, b.N, b.C, b.Inner, r[0], r[1]))
					return [][]float32{y, rm, rv, dx, dg, cs}
				}
				// The float64 sums themselves, group by group, before they are rounded to float32.
				sums := func() (out []float64) {
					for g := r[0]; g < r[1]; g += 8 {
						s := sum8(b, x, g, r[1])
						var mean, invstd [8]float64
						for k := range mean {
							mean[k], invstd[k] = s[k]/float64(b.M()), 1/(1+float64(k))
						}
						q := sq8(b, x, g, r[1], mean)
						a, e := dyx8(b, x, dy, g, r[1], mean, invstd, true)
						for k := 0; k < min(8, r[1]-g); k++ {
							out = append(out, s[k], q[k], a[k], e[k])
						}
					}
					return out
				}
				var want64 []float64
				withLevel(t, cpufeat.Generic, func() { want64 = sums() })
				for _, l := range asmLevels() {
					var got64 []float64
					withLevel(t, l, func() { got64 = sums() })
					require.Len(t, got64, len(want64))
					for i := range want64 {
						require.Equalf(t, math.Float64bits(want64[i]), math.Float64bits(got64[i]), "%v channels %v at %v: sum %d of channel %d: got %v, want %v",
							b, r, l, i%4, r[0]+i/4, got64[i], want64[i])
					}
				}
				var want [][]float32
				withLevel(t, cpufeat.Generic, func() { want = run() })
				for _, l := range asmLevels() {
					var got [][]float32
					withLevel(t, l, func() { got = run() })
					for i, name := range []string{"y", "running mean", "running var", "dx", "dgamma", "channel sum"} {
						requireSameBits32(t, want[i], got[i], fmt.Sprintf("%v %v channels %v at %v: %s", b, train, r, l, name))
					}
				}
			}
		}
	}
	// A NaN stays in its own channel's lane.
	b := BatchNorm{N: 2, C: 9, Inner: 16, Eps: 1e-5, Train: true}
	x := make([]float32, b.Len())
	for i := range x {
		x[i] = float32(i % 7)
	}
	x[3*16+5] = float32(math.NaN())
	for c := range b.C {
		m, v := BatchStats(b, x, c)
		require.Equal(t, c == 3, math.IsNaN(m) || math.IsNaN(v), "channel %d", c)
	}
}
