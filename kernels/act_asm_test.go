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

// The AVX2 loops of act_amd64.s and the AVX-512 loops of act512_amd64.s must give the Go loops'
// float32 results bit for bit, so that an activation or softmax does not depend on the CPU, on
// the instruction level, on the purego tag, nor on how the CPU backend splits a tensor over cores
// (the split moves the boundary between assembly blocks and the Go tail, and between rows the
// assembly does and rows it leaves to Go). These tests run every float32 loop at every level
// this CPU supports (cpufeat.Supported) over the same inputs and compare the bits with the Go
// loop's (the Generic level). Without assembly they compare the Go loops with themselves.

// actLengths: every length up to 40 (all tails, and blocks with and without an exact lane) and
// a few thousand.
func actLengths() []int {
	var ns []int
	for n := 0; n <= 40; n++ {
		ns = append(ns, n)
	}
	return append(ns, 1000, 4099)
}

// actSpecials are the inputs at and around every boundary of the float32 paths.
var actSpecials = []float32{
	0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
	math.Float32frombits(0x7fc01234), math.Float32frombits(0xffa00001), // NaNs with payloads
	1e-45, -1e-45, 1e-40, -1e-40, 1e-30, -1e-30, math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32,
	1e30, -1e30, 87.33, -87.33, math.Nextafter32(87.33, 0), math.Nextafter32(-87.33, 0),
	math.Nextafter32(87.33, 100), math.Nextafter32(-87.33, -100), 88.7, -88.7, 103, -103, 0.5, -0.5, 1, -1,
}

// drawAct fills s with mostly moderate values (the vector path), and with probability special a
// special value or a huge or tiny one.
func drawAct(rng *rand.Rand, s []float32, special float64) {
	for i := range s {
		switch u := rng.Float64(); {
		case u < special/2:
			s[i] = actSpecials[rng.IntN(len(actSpecials))]
		case u < special:
			s[i] = float32(math.Ldexp(rng.NormFloat64(), rng.IntN(260)-130))
		default:
			s[i] = float32(rng.NormFloat64() * 6)
		}
	}
}

// withLevel runs f with the kernels at level l.
func withLevel(t testing.TB, l cpufeat.Level, f func()) {
	t.Helper()
	restore, err := cpufeat.Use(l)
	require.NoError(t, err)
	defer restore()
	f()
}

// asmLevels are the levels above Generic that this CPU supports (none without assembly).
func asmLevels() []cpufeat.Level { return cpufeat.Supported()[1:] }

// requireSameBits32 fails at the first element whose bits differ.
func requireSameBits32(t *testing.T, want, got []float32, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			require.Failf(t, "bits differ", "%s[%d]: got %v (%#08x), want %v (%#08x)",
				what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func nans32(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}

// float32Loops are the elementwise float32 loops with assembly, each as dst = f(x, dy) (dy is
// ignored by the forward ones).
var float32Loops = []struct {
	name string
	run  func(dst, x, dy []float32)
	// nanBits: a NaN result must have the Go loop's bits too. The gradients multiply two
	// inputs that may both be NaN, and which payload survives then is the register allocator's
	// choice in the Go loop, so for them only NaN-ness is compared.
	nanBits bool
}{
	{"sigmoid", func(d, x, _ []float32) { sigmoidFwd.run(d, x) }, true},
	{"tanh", func(d, x, _ []float32) { tanhFwd.run(d, x) }, true},
	{"relu", func(d, x, _ []float32) { reluFwd.run(d, x) }, true},
	{"sigmoid gradient", func(d, x, dy []float32) { sigmoidBwd.run(d, x, dy) }, false},
	{"tanh gradient", func(d, x, dy []float32) { tanhBwd.run(d, x, dy) }, false},
	{"relu gradient", func(d, x, dy []float32) { reluBwd.run(d, x, dy) }, false},
	{"silu", func(d, x, _ []float32) { silu32(d, x) }, false},
	{"softplus gradient", func(d, x, dy []float32) { softplusGrad32(d, x, dy) }, false},
}

// requireSameResults is requireSameBits32, or with nanBits false, equal bits or both NaN.
func requireSameResults(t *testing.T, want, got []float32, nanBits bool, what string) {
	t.Helper()
	if nanBits {
		requireSameBits32(t, want, got, what)
		return
	}
	require.Len(t, got, len(want), what)
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) && !(want[i] != want[i] && got[i] != got[i]) {
			require.Failf(t, "bits differ", "%s[%d]: got %v (%#08x), want %v (%#08x)",
				what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func TestActAsmLoopsMatchGoLoopBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, l := range asmLevels() {
		for _, k := range float32Loops {
			for _, special := range []float64{0, 0.02, 0.5} {
				for _, n := range actLengths() {
					t.Run(fmt.Sprintf("%v %s of %d elements with %.0f%% specials, at every misalignment", l, k.name, n, 100*special), func(t *testing.T) {
						back := make([]float32, n+7)
						drawAct(rng, back, special)
						dyBack := make([]float32, n+7)
						drawAct(rng, dyBack, special)
						for off := range 8 {
							if off > 0 && n > 100 && off != 3 {
								continue
							}
							x, dy := back[off:off+n], dyBack[7-off:7-off+n]
							x0, dy0 := append([]float32(nil), x...), append([]float32(nil), dy...)
							want, got := nans32(n), nans32(n)
							withLevel(t, cpufeat.Generic, func() { k.run(want, x, dy) })
							withLevel(t, l, func() { k.run(got, x, dy) })
							requireSameResults(t, want, got, k.nanBits, k.name)
							requireSameBits32(t, x0, x, "x (input)")
							requireSameBits32(t, dy0, dy, "dy (input)")

							// In place (dst is x for the forward loops, dy for the gradients).
							in := append([]float32(nil), x...)
							if k.nanBits {
								withLevel(t, l, func() { k.run(in, in, dy) })
							} else {
								in = append([]float32(nil), dy...)
								withLevel(t, l, func() { k.run(in, x, in) })
							}
							requireSameResults(t, want, in, k.nanBits, "in-place "+k.name)
						}
					})
				}
			}
		}
	}
}

func TestActAsmLoopsDoNotDependOnTheSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, l := range cpufeat.Supported() {
		for _, k := range float32Loops {
			for _, n := range []int{17, 40, 1000, 4099} {
				t.Run(fmt.Sprintf("%v %s of %d elements computed in two parts gives the bits of one call", l, k.name, n), func(t *testing.T) {
					x, dy := make([]float32, n), make([]float32, n)
					drawAct(rng, x, 0.02)
					drawAct(rng, dy, 0.02)
					withLevel(t, l, func() {
						whole := nans32(n)
						k.run(whole, x, dy)
						for _, c := range []int{0, 1, 5, 8, 9, 16, 17, n / 2, n - 3, n} {
							parts := nans32(n)
							k.run(parts[:c], x[:c], dy[:c])
							k.run(parts[c:], x[c:], dy[c:])
							requireSameResults(t, whole, parts, k.nanBits, fmt.Sprintf("split at %d", c))
						}
					})
				})
			}
		}
	}
}

// actShapes: all narrow widths (every tail, one and several blocks of 8) and wide rows.
func actShapes() [][2]int {
	var sh [][2]int
	for cols := 1; cols <= 40; cols++ {
		sh = append(sh, [2]int{13, cols})
	}
	return append(sh, [2]int{0, 7}, [2]int{5, 0}, [2]int{1, 1}, [2]int{3, 1000}, [2]int{2, 4099}, [2]int{1000, 10})
}

func TestActAsmSoftmaxMatchesGoLoopBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for _, special := range []float64{0, 0.01, 0.3} {
		for _, sh := range actShapes() {
			rows, cols := sh[0], sh[1]
			n := rows * cols
			t.Run(fmt.Sprintf("%dx%d with %.0f%% specials, at every misalignment", rows, cols, 100*special), func(t *testing.T) {
				back := make([]float32, n+7)
				drawAct(rng, back, special)
				for off := range 8 {
					if off > 0 && n > 2000 && off != 5 {
						continue
					}
					x := back[off : off+n]
					x0 := append([]float32(nil), x...)
					want := nans32(n)
					withLevel(t, cpufeat.Generic, func() { softmax32(want, x, rows, cols) })
					for _, l := range asmLevels() {
						got := nans32(n)
						withLevel(t, l, func() { softmax32(got, x, rows, cols) })
						requireSameBits32(t, want, got, l.String()+" softmax")
						requireSameBits32(t, x0, x, "x (input)")

						in := append([]float32(nil), x...)
						withLevel(t, l, func() { softmax32(in, in, rows, cols) })
						requireSameBits32(t, want, in, l.String()+" in-place softmax")
					}
				}
			})
		}
	}
}

// The row exps of the float64 softmax and the softmax cross-entropy (expArg's pattern) must give
// expFast's bits for every d <= 0 and quiet NaN (its payload too; d is a difference, never a
// signaling NaN): around expFastMin and expZero, far below, -Inf.
func TestExpArgPatternIsExpFast(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	ds := []float64{0, math.Copysign(0, -1), -1e-300, -1, expFastMin, math.Nextafter(expFastMin, 0),
		math.Nextafter(expFastMin, -1000), -745.13321910194110842, -745.2, expZero,
		math.Nextafter(expZero, 0), math.Nextafter(expZero, -1000), -1e4, -1e30, -math.MaxFloat64,
		math.Inf(-1), math.NaN(), -math.NaN(), math.Float64frombits(0x7ff8000000000001)}
	for range 1 << 16 {
		ds = append(ds, -math.Ldexp(rng.Float64(), rng.IntN(14)), -700-50*rng.Float64())
	}
	for _, d := range ds {
		rd, k, keep, sub := expArg(d)
		e := expReconKeep(rd, k, keep)
		if sub {
			e = math.Exp(d)
		}
		want := expFast(d)
		if math.Float64bits(e) != math.Float64bits(want) {
			t.Fatalf("d = %v: %v (%#x), expFast %v (%#x)", d, e, math.Float64bits(e), want, math.Float64bits(want))
		}
	}
}

// rowExp picks its loop by the row before (a logit far below that row's max or not), which must
// change no result: a row's softmax, log-softmax and cross-entropy are the same alone as after
// rows of every kind.
func TestRowExpDoesNotDependOnThePreviousRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	const rows, cols = 200, 7
	x := make([]float64, rows*cols)
	y := make([]float64, rows*cols)
	for r := range rows {
		for j := range cols {
			v := rng.NormFloat64() * 3
			switch r % 5 {
			case 1:
				if rng.IntN(2) == 0 {
					v = -math.Pow(10, 4+26*rng.Float64())
				}
			case 2:
				if j > 0 {
					v = -720 - 30*rng.Float64() // subnormal exps, and exp's 0 below -746
				}
			case 3:
				if j == 3 {
					v = math.Inf(-1)
				}
			}
			x[r*cols+j] = v
		}
		y[r*cols+rng.IntN(cols)] = 1
	}
	x32 := make([]float32, len(x))
	for i, v := range x {
		x32[i] = float32(v)
	}
	for _, log := range []bool{false, true} {
		whole := make([]float64, len(x))
		require.NoError(t, SoftmaxForward(log, whole, x, rows, cols))
		whole32 := make([]float32, len(x))
		require.NoError(t, SoftmaxForward(log, whole32, x32, rows, cols))
		for r := range rows {
			one := make([]float64, cols)
			require.NoError(t, SoftmaxForward(log, one, x[r*cols:(r+1)*cols], 1, cols))
			one32 := make([]float32, cols)
			require.NoError(t, SoftmaxForward(log, one32, x32[r*cols:(r+1)*cols], 1, cols))
			for j := range cols {
				require.Equalf(t, math.Float64bits(one[j]), math.Float64bits(whole[r*cols+j]), "log %v, row %d, column %d", log, r, j)
				require.Equalf(t, math.Float32bits(one32[j]), math.Float32bits(whole32[r*cols+j]), "float32, log %v, row %d, column %d", log, r, j)
			}
		}
	}
	sum, err := LossSum(SoftmaxCrossEntropy, x, y, rows, cols)
	require.NoError(t, err)
	want := 0.0
	for r := range rows {
		l, err := LossSum(SoftmaxCrossEntropy, x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols], 1, cols)
		require.NoError(t, err)
		want += l
	}
	require.Equal(t, math.Float64bits(want), math.Float64bits(sum), "cross-entropy: %v, rows one by one %v", sum, want)
}

// ELU's gradient selects with masks (activation.go); it must give the bits of the branching
// loop it replaced, d = 1 for x > 0, else alpha·expFast(x), NaN payloads included.
func TestELUGradIsTheBranchingLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(55, 56))
	xs := []float64{0, math.Copysign(0, -1), 1e-310, -1e-310, 1, -1, -708, -720, -746, -750, -1e30,
		math.Inf(1), math.Inf(-1), math.NaN(), -math.NaN(), math.Float64frombits(0x7ff4000000000001)}
	for range 4096 {
		xs = append(xs, rng.NormFloat64()*3, -math.Pow(10, 30*rng.Float64()), -700-60*rng.Float64())
	}
	x32 := make([]float32, len(xs))
	for i, v := range xs {
		x32[i] = float32(v)
	}
	for _, alpha := range []float64{1, 0.3} {
		check := func(got, want float64, i int) {
			if math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("alpha %v, x = %v: %v (%#x), want %v (%#x)", alpha, xs[i], got, math.Float64bits(got), want, math.Float64bits(want))
			}
		}
		dy := make([]float64, len(xs))
		dy32 := make([]float32, len(xs))
		for i := range dy {
			dy[i] = rng.NormFloat64()
			dy32[i] = float32(dy[i])
		}
		dx := make([]float64, len(xs))
		require.NoError(t, ActivationBackward(ELU, alpha, dx, xs, make([]float64, len(xs)), dy))
		dx32 := make([]float32, len(xs))
		require.NoError(t, ActivationBackward(ELU, alpha, dx32, x32, make([]float32, len(xs)), dy32))
		for i, v := range xs {
			d := 1.0
			if !(v > 0) {
				d = alpha * expFast(v)
			}
			check(dx[i], dy[i]*d, i)
			d = 1.0
			if f := float64(x32[i]); !(f > 0) {
				d = alpha * expFast(f)
			}
			check(float64(dx32[i]), float64(float32(float64(dy32[i])*d)), i)
		}
	}
}

// softmax32Row and the vector loops take exp32(d, lo) = 1 for -2^-25 < d <= 0 without computing
// it (its products of d would be subnormal in rows whose max is tiny): the exp must round to 1
// there for every pair (v, m) with v <= m, lo being the TwoSum error of d = v - m.
func TestExp32IsOneForTinyDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(49, 50))
	checked := 0
	for range 1 << 20 {
		m := float32(math.Ldexp(rng.Float64()*2-1, -rng.IntN(160)))
		v := m - float32(math.Ldexp(rng.Float64(), -24-rng.IntN(130)))
		if rng.IntN(8) == 0 {
			v = math.Float32frombits(math.Float32bits(m) + uint32(rng.IntN(5)) - 2) // the neighbours of m
		}
		if !(v <= m) {
			continue
		}
		d := v - m
		bb := d - v
		lo := (v - (d - bb)) - (m + bb)
		if d > -0x1p-25 {
			checked++
			if e := exp32(d, lo); e != 1 {
				t.Fatalf("exp32(%g, %g) = %v for v = %g, m = %g: not 1", d, lo, e, v, m)
			}
		}
	}
	require.Greater(t, checked, 1<<17)
}

// In rows whose max is below 2^-25 the vector loops zero the differences above -2^-25 (TINYD,
// EXPROWTINY), where the Go loop takes exp32's 1, which must change no probability: rows made
// mostly of subnormals, zeros of either sign and the smallest normals, a quarter of them with a
// subnormal or zero max, with logits far below the max beside them (the exp's argument then
// carries a subnormal rounding error) and in the band of subnormal probabilities.
func TestActAsmSoftmaxOnSubnormalRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	draw := func() float32 {
		sign := float32(1 - 2*rng.IntN(2))
		switch u := rng.Float64(); {
		case u < 0.4:
			return sign * math.Float32frombits(1+rng.Uint32N(1<<23-1)) // subnormal
		case u < 0.55:
			return sign * 0
		case u < 0.7:
			return sign * float32(math.Ldexp(1+rng.Float64(), -126+rng.IntN(30)))
		case u < 0.8:
			return float32(rng.NormFloat64() * 6)
		case u < 0.9:
			return float32(-87 - 17*rng.Float64()) // a subnormal probability
		default:
			return float32(-200 * rng.Float64())
		}
	}
	for _, cols := range []int{1, 2, 3, 8, 10, 15, 16, 17, 33, 100} {
		const rows = 64
		x := make([]float32, rows*cols)
		for r := range rows {
			for j := range cols {
				v := draw()
				if r%4 == 0 && v > 0 && v >= 0x1p-126 { // a quarter of the rows: max subnormal or ±0
					v = -v
				}
				x[r*cols+j] = v
			}
		}
		want := nans32(len(x))
		withLevel(t, cpufeat.Generic, func() { softmax32(want, x, rows, cols) })
		for _, l := range asmLevels() {
			got := nans32(len(x))
			withLevel(t, l, func() { softmax32(got, x, rows, cols) })
			requireSameBits32(t, want, got, fmt.Sprintf("%s softmax of %d columns", l, cols))
			in := append([]float32(nil), x...)
			withLevel(t, l, func() { softmax32(in, in, rows, cols) })
			requireSameBits32(t, want, in, fmt.Sprintf("%s in-place softmax of %d columns", l, cols))
		}
	}
}

func TestActAsmSoftmaxDoesNotDependOnTheSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	for _, sh := range [][2]int{{37, 10}, {29, 3}, {11, 33}, {5, 1000}} {
		rows, cols := sh[0], sh[1]
		t.Run(fmt.Sprintf("%dx%d computed in two blocks of rows gives the bits of one call", rows, cols), func(t *testing.T) {
			n := rows * cols
			x := make([]float32, n)
			drawAct(rng, x, 0.005)
			whole := nans32(n)
			softmax32(whole, x, rows, cols)
			for _, k := range []int{0, 1, rows / 2, rows - 1, rows} {
				parts := nans32(n)
				softmax32(parts[:k*cols], x[:k*cols], k, cols)
				softmax32(parts[k*cols:], x[k*cols:], rows-k, cols)
				requireSameBits32(t, whole, parts, fmt.Sprintf("split at row %d", k))
			}
		})
	}
}

// The float32 softmax path must be as exact as the float64 twin at the extremes, and as accurate
// as the kernel tests ask (rtol 1e-6) on wide rows of spread logits, where the rounding of
// x - m would cost |x - m|·2^-24 relative without TwoSum's correction.
func TestActSoftmax32Accuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(49, 50))
	for _, l := range cpufeat.Supported() {
		t.Run(fmt.Sprintf("rows of up to 3000 logits in [-60, 60] are within 1e-6 relative of float64 (%v)", l), func(t *testing.T) {
			withLevel(t, l, func() {
				for _, cols := range []int{10, 100, 3000} {
					x := make([]float32, cols)
					for i := range x {
						x[i] = float32(rng.Float64()*120 - 60)
					}
					got := nans32(cols)
					softmax32(got, x, 1, cols)
					m := rowMax(x)
					s := 0.0
					for _, v := range x {
						s += math.Exp(float64(v) - m)
					}
					for j, v := range x {
						want := math.Exp(float64(v)-m) / s
						if want < 0x1p-126 { // float32 subnormal: absolute accuracy only
							assert.InDelta(t, want, float64(got[j]), 0x1p-149, "cols %d, y[%d]", cols, j)
							continue
						}
						assert.InEpsilon(t, want, float64(got[j]), 1e-6, "cols %d, y[%d] (x-m = %v)", cols, j, float64(v)-m)
					}
				}
			})
		})
	}
}

func TestActAsmDoesNotAllocate(t *testing.T) {
	x := make([]float32, 1000)
	drawAct(rand.New(rand.NewPCG(51, 52)), x, 0.01)
	y := make([]float32, 1000)
	assert.Zero(t, testing.AllocsPerRun(20, func() {
		sigmoid32(y, x)
		softmax32(y, x, 100, 10)
	}))
}

// BenchmarkActAsm times each float32 loop at every level on one core: the activations over 1M
// float32 (8 bytes moved per element, 12 for the gradients), the softmax over 1M float32 in rows
// of 10 and of 1024.
func BenchmarkActAsm(b *testing.B) {
	const n = 1 << 20
	rng := rand.New(rand.NewPCG(53, 54))
	x, dy := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], dy[i] = float32(rng.NormFloat64()*3), float32(rng.NormFloat64())
	}
	dst := make([]float32, n)
	for _, l := range cpufeat.Supported() {
		for _, k := range float32Loops {
			bytes := 8
			if !k.nanBits {
				bytes = 12
			}
			b.Run(k.name+"/"+l.String(), func(b *testing.B) {
				withLevel(b, l, func() {
					b.SetBytes(int64(bytes * n))
					done := cpuTimer(b)
					for b.Loop() {
						k.run(dst, x, dy)
					}
					done()
				})
			})
		}
		for _, cols := range []int{10, 1024} {
			b.Run(fmt.Sprintf("softmax-rows-of-%d/%s", cols, l), func(b *testing.B) {
				withLevel(b, l, func() {
					b.SetBytes(8 * n)
					done := cpuTimer(b)
					for b.Loop() {
						softmax32(dst, x, n/cols, cols)
					}
					done()
				})
			})
		}
	}
}

// BenchmarkActValues times each float32 loop at every level on one core on the four classes of
// inputs of backend/cpu's BenchmarkValues (normal; half ±1e4 to ±1e30; half subnormal; a quarter
// NaN and a quarter ±Inf), over 256K elements, with the thread's CPU time: the speed must not
// depend on the class.
func BenchmarkActValues(b *testing.B) {
	const n = 1 << 18
	rng := rand.New(rand.NewPCG(55, 56))
	classes := []struct {
		name string
		draw func() float32
	}{
		{"normal", func() float32 { return float32(rng.NormFloat64() * 3) }},
		{"extreme", func() float32 {
			if rng.IntN(2) == 0 {
				return float32(rng.NormFloat64() * 3)
			}
			return float32(math.Copysign(math.Pow(10, 4+26*rng.Float64()), rng.NormFloat64()))
		}},
		{"denormal", func() float32 {
			if rng.IntN(2) == 0 {
				return float32(rng.NormFloat64() * 3)
			}
			return math.Float32frombits(rng.Uint32N(1<<23) | rng.Uint32N(2)<<31)
		}},
		{"nanInf", func() float32 {
			switch rng.IntN(4) {
			case 0:
				return float32(math.NaN())
			case 1:
				return float32(math.Inf(2*rng.IntN(2) - 1))
			}
			return float32(rng.NormFloat64() * 3)
		}},
	}
	dy, dst := make([]float32, n), make([]float32, n)
	for i := range dy {
		dy[i] = float32(rng.NormFloat64())
	}
	for _, l := range cpufeat.Supported() {
		for _, k := range float32Loops {
			for _, c := range classes {
				x := make([]float32, n)
				for i := range x {
					x[i] = c.draw()
				}
				b.Run(fmt.Sprintf("%s/%v/%s", k.name, l, c.name), func(b *testing.B) {
					withLevel(b, l, func() {
						done := cpuTimer(b)
						for b.Loop() {
							k.run(dst, x, dy)
						}
						done()
					})
				})
			}
		}
	}
}

// TestChannelBiasAddLevelsAreTheLoop: at every level, ChannelBiasAdd's float32 loops give the Go
// loop's bits (v + b[c], NaN payloads included) for planes of 2-40 elements (every tail of a
// vector), in place and not, and write nothing past dst.
func TestChannelBiasAddLevelsAreTheLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	for _, l := range cpufeat.Supported() {
		for inner := 2; inner <= 40; inner++ {
			for _, oc := range [][2]int{{1, 1}, {3, 5}, {2, 32}} {
				outer, channels := oc[0], oc[1]
				n := outer * channels * inner
				x, b := make([]float32, n), make([]float32, channels)
				for i := range x {
					x[i] = math.Float32frombits(rng.Uint32())
					if i%7 == 0 {
						x[i] = float32(rng.NormFloat64())
					}
				}
				for i := range b {
					b[i] = float32(rng.NormFloat64())
				}
				b[0] = math.Float32frombits(0x7fc0dead) // a NaN payload
				want := make([]float32, n)
				for i := range want {
					want[i] = x[i] + b[(i/inner)%channels]
				}
				got := make([]float32, n+3)
				got[n], got[n+1], got[n+2] = 7, 7, 7
				withLevel(t, l, func() { require.NoError(t, ChannelBiasAdd(got[:n], x, b, outer, channels, inner)) })
				what := fmt.Sprintf("%v %dx%dx%d", l, outer, channels, inner)
				requireSameBits32(t, want, got[:n], what)
				require.Equal(t, []float32{7, 7, 7}, got[n:], what+": wrote past dst")
				inPlace := append([]float32(nil), x...)
				withLevel(t, l, func() { require.NoError(t, ChannelBiasAdd(inPlace, inPlace, b, outer, channels, inner)) })
				requireSameBits32(t, want, inPlace, what+" in place")
			}
		}
	}
}
