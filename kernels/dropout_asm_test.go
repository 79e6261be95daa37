package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// TestDropoutIsTheSameBitsAtEveryLevel runs DropoutForward at every level this CPU supports and
// compares the outputs bit for bit with the Go loop's (Generic): the AVX-512 loop draws sixteen
// Philox blocks at a time and must give every element the word the Go loop gives it. Offsets
// 0-7 and one whose blocks pass 2³¹ (the counter's top bit) start the assembly at every phase of
// a block, the lengths leave every head and tail, and the seeds and steps use both 32-bit halves;
// NaN inputs stay NaN whether dropped or kept, subnormal ones become zeros of their sign at every
// level (the assembly runs under DAZ, the Go loop flushes them). One probability puts an element's draw exactly at
// the threshold, where it is kept.
func TestDropoutIsTheSameBitsAtEveryLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 17))
	x := make([]float32, 1300)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
		switch rng.IntN(50) {
		case 0:
			x[i] = float32(math.NaN())
		case 1, 2: // subnormal, of both signs: kept as a zero of its sign (DAZ)
			x[i] = math.Float32frombits(rng.Uint32N(1<<23) | rng.Uint32N(2)<<31)
		case 3: // the smallest normals, whose products with the scale stay normal
			x[i] = float32(math.Copysign(0x1p-126*(1+rng.Float64()), rng.NormFloat64()))
		}
	}
	// Element 70 at seed 1, step 10, offset 0, stream 0: its draw as the threshold.
	w := Philox4x32([4]uint32{70 >> 2, 10, 0, 0}, [2]uint32{1, 0})[70&3] >> 8
	edge := float64(w) / (1 << 24)
	if (Dropout{P: edge}).Threshold() != w {
		t.Fatalf("threshold %d for p %v, want %d", (Dropout{P: edge}).Threshold(), edge, w)
	}
	for _, p := range []float64{0, 0.1, 0.5, 0.9, 1, edge} {
		for _, seed := range []uint64{0, 1, 0xdeadbeef12345678} {
			step := seed*7 + 3
			if seed == 1 {
				step = 10
			}
			for _, off := range []int{0, 1, 2, 3, 5, 7, 1<<33 - 96} {
				for _, n := range []int{0, 1, 3, 63, 64, 65, 67, 130, 1300} {
					d := Dropout{P: p, Stream: uint32(seed >> 7)} // 0 for seed 1
					run := func() []float32 {
						y := make([]float32, n)
						if err := DropoutForward(d, seed, step, y, x[:n], off); err != nil {
							t.Fatal(err)
						}
						return y
					}
					var want []float32
					withLevel(t, cpufeat.Generic, func() { want = run() })
					for _, l := range asmLevels() {
						var got []float32
						withLevel(t, l, func() { got = run() })
						requireSameBits32(t, want, got, fmt.Sprintf("p=%v seed=%#x off=%d n=%d at %v", p, seed, off, n, l))
					}
				}
			}
		}
	}
}

// BenchmarkDropout times DropoutForward on the cnn preset's first dropout layer at batch 128
// (128·64·7·7 float32 elements, p = 0.25) on one goroutine at every level this CPU supports, in
// the same process: the Go loop (Generic and AVX2, which has no assembly for it) against the
// AVX-512 one.
func BenchmarkDropout(b *testing.B) {
	n := 128 * 64 * 7 * 7
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(i%13) - 6
	}
	d := Dropout{P: 0.25, Stream: 3}
	for _, l := range cpufeat.Supported() {
		b.Run(l.String(), func(b *testing.B) {
			withLevel(b, l, func() {
				for b.Loop() {
					if err := DropoutForward(d, 42, 1000, y, x, 0); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
			})
		})
	}
}
