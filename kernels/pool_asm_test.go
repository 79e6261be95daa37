package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
	"github.com/stretchr/testify/require"
)

// TestMaxPool2x2IsTheSameBitsAtEveryLevel runs the 2×2 max pooling forward and backward at every
// level this CPU supports and compares the bits with the Go loops' (Generic): the AVX-512 loops
// must return Go's max (which NaN, which zero) and the same argmax. Widths and heights odd and
// even, rows of fewer and more than 16 windows; values drawn from a small set so that windows
// tie, with ±0, ±Inf and NaNs of both signs and several payloads; dx starts as garbage, since
// every element must be written.
func TestMaxPool2x2IsTheSameBitsAtEveryLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 13))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc00000), math.Float32frombits(0xffc00000), math.Float32frombits(0x7fa00001), math.Float32frombits(0xffb12345),
		1, -1, 2, 1e-40}
	for _, hw := range [][2]int{{2, 2}, {3, 2}, {2, 3}, {5, 5}, {7, 7}, {14, 14}, {28, 28}, {6, 34}, {9, 33}, {4, 65}} {
		for _, nanRate := range []float64{0, 0.05} {
			g := Pool2D{Kind: MaxPool, N: 2, C: 3, H: hw[0], W: hw[1], KH: 2, KW: 2, StrideH: 2, StrideW: 2}
			x, dy := make([]float32, g.XLen()), make([]float32, g.YLen())
			for i := range x {
				switch u := rng.Float64(); {
				case u < nanRate:
					x[i] = specials[4+rng.IntN(4)]
				case u < 0.3:
					x[i] = specials[rng.IntN(len(specials))]
				default:
					x[i] = float32(rng.IntN(5)) - 2 // ties
				}
			}
			for i := range dy {
				dy[i] = float32(rng.NormFloat64())
			}
			dy[0] = float32(math.Copysign(0, -1)) // becomes +0 where it lands
			run := func() (y, dx []float32) {
				y, dx = make([]float32, g.YLen()), make([]float32, g.XLen())
				for i := range dx {
					dx[i] = 12345
				}
				require.NoError(t, PoolForward(g, y, x, 0, g.Planes()))
				require.NoError(t, PoolBackward(g, dx, x, dy, 0, g.Planes()))
				return y, dx
			}
			var wy, wdx []float32
			withLevel(t, cpufeat.Generic, func() { wy, wdx = run() })
			for _, l := range asmLevels() {
				var y, dx []float32
				withLevel(t, l, func() { y, dx = run() })
				what := fmt.Sprintf("%v NaNs %v at %v", g, nanRate, l)
				requireSameBits32(t, wy, y, what+": y")
				requireSameBits32(t, wdx, dx, what+": dx")
			}
		}
	}
}

// BenchmarkMaxPool2x2 times the 2×2 max pooling of the cnn preset's first pooling layer at
// batch 128 (128·32 planes of 28×28) forward and backward on one goroutine at every level this
// CPU supports, in the same process.
func BenchmarkMaxPool2x2(b *testing.B) {
	g := Pool2D{Kind: MaxPool, N: 128, C: 32, H: 28, W: 28, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	x, y, dx, dy := make([]float32, g.XLen()), make([]float32, g.YLen()), make([]float32, g.XLen()), make([]float32, g.YLen())
	for i := range x {
		x[i] = float32((i*7919)%1000) / 100
	}
	for _, l := range cpufeat.Supported() {
		for _, dir := range []string{"forward", "backward"} {
			b.Run(l.String()+"/"+dir, func(b *testing.B) {
				withLevel(b, l, func() {
					for b.Loop() {
						var err error
						if dir == "forward" {
							err = PoolForward(g, y, x, 0, g.Planes())
						} else {
							err = PoolBackward(g, dx, x, dy, 0, g.Planes())
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(g.XLen())*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
				})
			})
		}
	}
}

// TestAvgPool2x2IsTheGeneralLoop: PoolForward's 2×2 average (avg2x2f32) gives the general
// loop's bits, that loop written out here: per window a float64 sum from +0 in row order that
// skips zeros and subnormals, divided by 4, below 2^-126 a zero of its sign. The inputs mix
// normals, both zeros, subnormals of both signs, the smallest normals, NaNs and infinities.
func TestAvgPool2x2IsTheGeneralLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	g := Pool2D{Kind: AvgPool, N: 3, C: 2, H: 10, W: 13, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	x := make([]float32, g.XLen())
	for i := range x {
		switch rng.IntN(10) {
		case 0:
			x[i] = float32(math.Copysign(0, rng.NormFloat64()))
		case 1:
			x[i] = math.Float32frombits(rng.Uint32N(1<<23) | rng.Uint32N(2)<<31)
		case 2:
			x[i] = float32(math.Copysign(0x1p-126*(1+rng.Float64()), rng.NormFloat64()))
		case 3:
			x[i] = [...]float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[rng.IntN(3)]
		default:
			x[i] = float32(rng.NormFloat64())
		}
	}
	y := make([]float32, g.YLen())
	require.NoError(t, PoolForward(g, y, x, 0, g.Planes()))
	oh, ow := g.OutH(), g.OutW()
	// The backward pass (avgBackward2x2f32) against the general loop: dx = +0 + dy/4 in each
	// window, nothing where dy/4 is below 2^-126; the odd last column and row stay +0.
	dy := append([]float32(nil), x[:g.YLen()]...)
	dx := make([]float32, g.XLen())
	require.NoError(t, PoolBackward(g, dx, x, dy, 0, g.Planes()))
	for pl := range g.Planes() {
		want := make([]float32, g.H*g.W)
		for i := range oh {
			for j := range ow {
				u := dy[pl*oh*ow+i*ow+j]
				if math.Abs(float64(u)) < 4*0x1p-126 {
					continue
				}
				for h := 2 * i; h < 2*i+2; h++ {
					for k := 2 * j; k < 2*j+2; k++ {
						want[h*g.W+k] += u / 4
					}
				}
			}
		}
		got := dx[pl*g.H*g.W : (pl+1)*g.H*g.W]
		for k := range want {
			if math.Float32bits(got[k]) != math.Float32bits(want[k]) && !(got[k] != got[k] && want[k] != want[k]) {
				t.Fatalf("backward, plane %d element %d: %v, want %v", pl, k, got[k], want[k])
			}
		}
	}
	for pl := range g.Planes() {
		plane := x[pl*g.H*g.W:]
		for i := range oh {
			for j := range ow {
				var s float64
				for h := 2 * i; h < 2*i+2; h++ {
					for _, v := range plane[h*g.W+2*j : h*g.W+2*j+2] {
						if math.Float32bits(v)&0x7f800000 != 0 {
							s += float64(v)
						}
					}
				}
				q := s / 4
				if math.Abs(q) < 0x1p-126 {
					q = math.Copysign(0, q)
				}
				got := y[pl*oh*ow+i*ow+j]
				if math.Float32bits(got) != math.Float32bits(float32(q)) && !(got != got && q != q) {
					t.Fatalf("plane %d window (%d, %d): %v (%#08x), want %v", pl, i, j, got, math.Float32bits(got), float32(q))
				}
			}
		}
	}
}
