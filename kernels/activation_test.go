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

// Helpers shared by activation_test.go, softmax_test.go and loss_test.go carry a "twin" prefix so
// that they cannot collide with helpers in other test files of this package.

// twinTol returns the rtol and atol a twin of element type T is held to against a float64
// reference. float32 results are rounded once from float64 (2^-24 ≈ 6e-8 relative); 1e-6 leaves
// room for the softmax's documented double rounding. The float64 atol covers the zeros of GELU',
// SiLU' and of the softmax gradients, where both the twin and the reference cancel to about 1e-16.
func twinTol[T kernels.Float]() (rtol, atol float64) {
	var z T
	if _, ok := any(z).(float32); ok {
		return 1e-6, 1e-30
	}
	return 1e-13, 1e-15
}

func twinTypeName[T kernels.Float]() string {
	var z T
	return fmt.Sprintf("%T", z)
}

func twinRand[T kernels.Float](rng *rand.Rand, n int, lo, hi float64) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(lo + (hi-lo)*rng.Float64())
	}
	return s
}

func twinNaNs[T kernels.Float](n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(math.NaN())
	}
	return s
}

func twinFloat64s[T kernels.Float](s []T) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

func twinConvert[T kernels.Float](s []float64) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[i] = T(v)
	}
	return out
}

// twinAssertClose checks |got-want| <= atol + rtol·|want| element by element and reports the
// first bad index; a NaN is only accepted where want is NaN.
func twinAssertClose[T kernels.Float](t testing.TB, want []float64, got []T, rtol, atol float64, what string) bool {
	t.Helper()
	if !assert.Len(t, got, len(want), what) {
		return false
	}
	for i, w := range want {
		g := float64(got[i])
		if math.IsNaN(w) || math.IsNaN(g) {
			if math.IsNaN(w) != math.IsNaN(g) {
				return assert.Failf(t, "NaN mismatch", "%s: at %d got %v, want %v", what, i, g, w)
			}
			continue
		}
		if g == w { // also covers equal infinities
			continue
		}
		if math.Abs(g-w) > atol+rtol*math.Abs(w) {
			return assert.Failf(t, "not close", "%s: first bad index %d: got %v, want %v (diff %.3g, allowed %.3g)",
				what, i, g, w, math.Abs(g-w), atol+rtol*math.Abs(w))
		}
	}
	return true
}

// twinSameBits reports whether a and b hold identical bit patterns.
func twinSameBits[T kernels.Float](t testing.TB, a, b []T, what string) bool {
	t.Helper()
	if !assert.Len(t, b, len(a), what) {
		return false
	}
	for i := range a {
		if math.Float64bits(float64(a[i])) != math.Float64bits(float64(b[i])) {
			return assert.Failf(t, "bits differ", "%s: first difference at %d: %v vs %v", what, i, a[i], b[i])
		}
	}
	return true
}

// twinUnchanged checks that an input still holds what it held before the call.
func twinUnchanged[T kernels.Float](t testing.TB, before, after []T, name string) bool {
	t.Helper()
	return twinSameBits(t, before, after, name+" was modified")
}

// alphaFor gives LeakyReLU and ELU a non-default alpha so that the parameter is exercised.
func alphaFor(act kernels.Activation) float64 {
	switch act {
	case kernels.LeakyReLU:
		return 0.2
	case kernels.ELU:
		return 1.3
	}
	return act.DefaultAlpha()
}

var twinSizes = []int{0, 1, 2, 7, 33, 1001}

// activationInputs draws x mostly from [-6, 6] and, when there is room, plants points on both
// sides of the twin's tail thresholds (±40, -750) and far out, where the reference still holds.
func activationInputs[T kernels.Float](rng *rand.Rand, n int) []T {
	x := twinRand[T](rng, n, -6, 6)
	special := []float64{-39.5, -40.5, 39.5, 40.5, -60, 60, -749, -751, -800, 800, -1000, 1000, 25, -25}
	if n >= 100 {
		for i, v := range special {
			x[i*7] = T(v)
		}
	}
	return x
}

func TestActivationForwardMatchesReference(t *testing.T) {
	testActivationForward[float32](t)
	testActivationForward[float64](t)
}

func testActivationForward[T kernels.Float](t *testing.T) {
	rtol, atol := twinTol[T]()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, act := range kernels.Activations() {
		for _, n := range twinSizes {
			t.Run(fmt.Sprintf("%s %s of %d elements matches the float64 reference", twinTypeName[T](), act, n), func(t *testing.T) {
				alpha := alphaFor(act)
				x := activationInputs[T](rng, n)
				want := make([]float64, n)
				for i, v := range x {
					want[i] = ref.Act(act, alpha, float64(v))
				}
				x0 := append([]T(nil), x...)
				dst := twinNaNs[T](n)
				require.NoError(t, kernels.ActivationForward(act, alpha, dst, x))
				twinAssertClose(t, want, dst, rtol, atol, "dst")
				twinUnchanged(t, x0, x, "x")

				// In place: dst is x.
				require.NoError(t, kernels.ActivationForward(act, alpha, x, x))
				twinSameBits(t, dst, x, "in-place result")
			})
		}
	}
}

func TestActivationBackwardMatchesReference(t *testing.T) {
	testActivationBackward[float32](t)
	testActivationBackward[float64](t)
}

func testActivationBackward[T kernels.Float](t *testing.T) {
	rtol, atol := twinTol[T]()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, act := range kernels.Activations() {
		for _, n := range twinSizes {
			t.Run(fmt.Sprintf("%s %s backward of %d elements matches dy times the reference derivative", twinTypeName[T](), act, n), func(t *testing.T) {
				alpha := alphaFor(act)
				x := activationInputs[T](rng, n)
				dy := twinRand[T](rng, n, -2, 2)
				y := make([]T, n)
				require.NoError(t, kernels.ActivationForward(act, alpha, y, x))
				want := make([]float64, n)
				for i, v := range x {
					want[i] = float64(dy[i]) * ref.ActDeriv(act, alpha, float64(v))
				}
				x0, y0, dy0 := append([]T(nil), x...), append([]T(nil), y...), append([]T(nil), dy...)
				dx := twinNaNs[T](n)
				require.NoError(t, kernels.ActivationBackward(act, alpha, dx, x, y, dy))
				twinAssertClose(t, want, dx, rtol, atol, "dx")
				twinUnchanged(t, x0, x, "x")
				twinUnchanged(t, y0, y, "y")
				twinUnchanged(t, dy0, dy, "dy")

				// In place: dx is dy.
				require.NoError(t, kernels.ActivationBackward(act, alpha, dy, x, y, dy))
				twinSameBits(t, dx, dy, "in-place result")
			})
		}
	}
}

func TestActivationGradientMatchesFiniteDifferences(t *testing.T) {
	const h = 1e-6
	rng := rand.New(rand.NewPCG(5, 6))
	for _, act := range kernels.Activations() {
		t.Run(fmt.Sprintf("the %s derivative matches central differences", act), func(t *testing.T) {
			alpha := alphaFor(act)
			const n = 200
			x := twinRand[float64](rng, n, -5, 5)
			for i := range x {
				if math.Abs(x[i]) < 1e-3 { // keep clear of the kinks at 0
					x[i] += 0.01
				}
			}
			dy := twinRand[float64](rng, n, -2, 2)
			y := make([]float64, n)
			require.NoError(t, kernels.ActivationForward(act, alpha, y, x))
			dx := make([]float64, n)
			require.NoError(t, kernels.ActivationBackward(act, alpha, dx, x, y, dy))
			fd := ref.CentralDiffElementwise(x, h, func(dst, x []float64) {
				require.NoError(t, kernels.ActivationForward(act, alpha, dst, x))
			})
			for i := range fd {
				fd[i] *= dy[i]
			}
			twinAssertClose(t, fd, dx, 1e-6, 1e-8, "dx vs finite differences")
		})
	}
}

// activationTails holds what each activation and its derivative are exactly, far out in each tail
// and at 0 (alpha is the default: 0.01 for LeakyReLU, 1 for ELU).
var activationTails = map[kernels.Activation]struct {
	pos, neg     func(x float64) float64 // f in the tails
	dPos, dNeg   float64                 // f' in the tails
	atZero, dAt0 float64
}{
	kernels.Identity:  {ident, ident, 1, 1, 0, 1},
	kernels.Sigmoid:   {constant(1), constant(0), 0, 0, 0.5, 0.25},
	kernels.Tanh:      {constant(1), constant(-1), 0, 0, 0, 1},
	kernels.ReLU:      {ident, constant(0), 1, 0, 0, 0},
	kernels.LeakyReLU: {ident, func(x float64) float64 { return 0.01 * x }, 1, 0.01, 0, 0.01},
	kernels.ELU:       {ident, constant(-1), 1, 0, 0, 1},
	kernels.GELU:      {ident, constant(0), 1, 0, 0, 0.5},
	kernels.GELUTanh:  {ident, constant(0), 1, 0, 0, 0.5},
	kernels.SiLU:      {ident, constant(0), 1, 0, 0, 0.5},
	kernels.Softplus:  {ident, constant(0), 1, 0, math.Ln2, 0.5},
}

func ident(x float64) float64 { return x }

func constant(c float64) func(float64) float64 { return func(float64) float64 { return c } }

func TestActivationExtremes(t *testing.T) {
	testActivationExtremes[float32](t)
	testActivationExtremes[float64](t)
}

func testActivationExtremes[T kernels.Float](t *testing.T) {
	rtol, atol := twinTol[T]()
	for _, act := range kernels.Activations() {
		t.Run(fmt.Sprintf("%s %s at ±1000, ±1e30 and ±Inf gives the exact limits forward and backward", twinTypeName[T](), act), func(t *testing.T) {
			tail, ok := activationTails[act]
			require.True(t, ok, "no tails listed for %s", act)
			x := twinConvert[T]([]float64{1000, -1000, 1e30, -1e30, math.Inf(1), math.Inf(-1), 0})
			const g = 1.5 // dy
			var wantF, wantD []float64
			for _, v := range x {
				f := float64(v) // the input as rounded to T: 1e30 is not a float32
				switch {
				case f > 0:
					wantF, wantD = append(wantF, tail.pos(f)), append(wantD, g*tail.dPos)
				case f < 0:
					wantF, wantD = append(wantF, tail.neg(f)), append(wantD, g*tail.dNeg)
				default:
					wantF, wantD = append(wantF, tail.atZero), append(wantD, g*tail.dAt0)
				}
			}
			alpha := act.DefaultAlpha()
			y := twinNaNs[T](len(x))
			require.NoError(t, kernels.ActivationForward(act, alpha, y, x))
			twinAssertClose(t, wantF, y, rtol, atol, "f")
			dy := twinConvert[T]([]float64{g, g, g, g, g, g, g})
			dx := twinNaNs[T](len(x))
			require.NoError(t, kernels.ActivationBackward(act, alpha, dx, x, y, dy))
			twinAssertClose(t, wantD, dx, rtol, atol, "dy·f'")
		})
		t.Run(fmt.Sprintf("%s %s propagates NaN forward and backward", twinTypeName[T](), act), func(t *testing.T) {
			nan := T(math.NaN())
			x := []T{nan, 1, -1}
			y := make([]T, 3)
			require.NoError(t, kernels.ActivationForward(act, act.DefaultAlpha(), y, x))
			assert.True(t, math.IsNaN(float64(y[0])), "f(NaN) = %v", y[0])
			assert.False(t, math.IsNaN(float64(y[1])) || math.IsNaN(float64(y[2])), "NaN leaked into neighbours: %v", y)
			dx := make([]T, 3)
			require.NoError(t, kernels.ActivationBackward(act, act.DefaultAlpha(), dx, x, y, []T{1, nan, 1}))
			if act != kernels.Identity { // its derivative is 1 everywhere, so dx = dy
				assert.True(t, math.IsNaN(float64(dx[0])), "dx for x = NaN is %v", dx[0])
			}
			assert.True(t, math.IsNaN(float64(dx[1])), "dx for dy = NaN is %v", dx[1])
			assert.False(t, math.IsNaN(float64(dx[2])), "dx[2] = %v", dx[2])
		})
	}
}

func TestActivationSubRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n, k = 1001, 517
	for _, act := range kernels.Activations() {
		t.Run(fmt.Sprintf("%s on two halves gives the same bits as one call", act), func(t *testing.T) {
			alpha := alphaFor(act)
			x := activationInputs[float32](rng, n)
			dy := twinRand[float32](rng, n, -2, 2)
			whole, parts := make([]float32, n), make([]float32, n)
			require.NoError(t, kernels.ActivationForward(act, alpha, whole, x))
			require.NoError(t, kernels.ActivationForward(act, alpha, parts[:k], x[:k]))
			require.NoError(t, kernels.ActivationForward(act, alpha, parts[k:], x[k:]))
			twinSameBits(t, whole, parts, "forward")

			dWhole, dParts := make([]float32, n), make([]float32, n)
			require.NoError(t, kernels.ActivationBackward(act, alpha, dWhole, x, whole, dy))
			require.NoError(t, kernels.ActivationBackward(act, alpha, dParts[:k], x[:k], whole[:k], dy[:k]))
			require.NoError(t, kernels.ActivationBackward(act, alpha, dParts[k:], x[k:], whole[k:], dy[k:]))
			twinSameBits(t, dWhole, dParts, "backward")
		})
	}
}

func TestActivationErrors(t *testing.T) {
	s3, s4 := make([]float32, 3), make([]float32, 4)
	cases := []struct {
		name string
		call func() error
		fn   string
	}{
		{"forward rejects an unknown activation", func() error {
			return kernels.ActivationForward(kernels.Activation(200), 0, s3, s3)
		}, "ActivationForward"},
		{"forward rejects dst shorter than x", func() error {
			return kernels.ActivationForward(kernels.Sigmoid, 0, s3, s4)
		}, "len(dst)=3 != len(x)=4"},
		{"backward rejects an unknown activation", func() error {
			return kernels.ActivationBackward(kernels.Activation(200), 0, s3, s3, s3, s3)
		}, "ActivationBackward"},
		{"backward rejects a short dx", func() error {
			return kernels.ActivationBackward(kernels.Tanh, 0, s3, s4, s4, s4)
		}, "len(dx)=3"},
		{"backward rejects a short y", func() error {
			return kernels.ActivationBackward(kernels.Tanh, 0, s4, s4, s3, s4)
		}, "len(y)=3"},
		{"backward rejects a short dy", func() error {
			return kernels.ActivationBackward(kernels.Tanh, 0, s4, s4, s4, s3)
		}, "len(dy)=3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			require.Error(t, err)
			assert.ErrorIs(t, err, kernels.ErrInvalid)
			assert.Contains(t, err.Error(), c.fn)
		})
	}
	t.Run("empty slices are accepted and do nothing", func(t *testing.T) {
		assert.NoError(t, kernels.ActivationForward[float64](kernels.GELU, 0, nil, nil))
		assert.NoError(t, kernels.ActivationBackward[float64](kernels.GELU, 0, nil, nil, nil, nil))
	})
}

func TestActivationDoesNotAllocate(t *testing.T) {
	x := twinRand[float32](rand.New(rand.NewPCG(9, 10)), 64, -3, 3)
	y, dx := make([]float32, 64), make([]float32, 64)
	for _, act := range kernels.Activations() {
		t.Run(fmt.Sprintf("%s forward and backward allocate nothing", act), func(t *testing.T) {
			allocs := testing.AllocsPerRun(20, func() {
				_ = kernels.ActivationForward(act, 0.1, y, x)
				_ = kernels.ActivationBackward(act, 0.1, dx, x, y, x)
			})
			assert.Zero(t, allocs)
		})
	}
}

// BenchmarkActivationForward times each activation on 16M float32 (8 bytes moved per element:
// one read, one write). Identity is a plain copy and serves as the in-process baseline.
func BenchmarkActivationForward(b *testing.B) {
	const n = 1 << 24
	x := twinRand[float32](rand.New(rand.NewPCG(11, 12)), n, -4, 4)
	dst := make([]float32, n)
	for _, act := range kernels.Activations() {
		b.Run(act.String(), func(b *testing.B) {
			b.SetBytes(8 * n)
			for b.Loop() {
				if err := kernels.ActivationForward(act, act.DefaultAlpha(), dst, x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(8*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

// TestActivationExpIsAccurateOverItsRange sweeps the whole range of the exp the twins use in
// place of math.Exp (its table method, its subnormal fallback and its underflow), through ELU's
// derivative alpha·exp(x) and the sigmoid: within 2 ulp of math.Exp is the claim, 5e-16 the check.
func TestActivationExpIsAccurateOverItsRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const n = 100000
	x := make([]float64, n)
	for i := range x {
		x[i] = -760 * rng.Float64()
		if i%3 == 0 {
			x[i] = -rng.Float64()
		}
	}
	x[0], x[1], x[2], x[3] = 0, -708, -708.0000001, -745.2
	y := make([]float64, n)
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	t.Run("exp(x) for x in [-760, 0] tracks math.Exp", func(t *testing.T) {
		dx := twinNaNs[float64](n)
		require.NoError(t, kernels.ActivationBackward(kernels.ELU, 1, dx, x, y, ones))
		want := make([]float64, n)
		for i, v := range x {
			want[i] = math.Exp(v)
		}
		twinAssertClose(t, want, dx, 5e-16, 0, "exp")
	})
	t.Run("the sigmoid over [-760, 760] tracks the float64 reference", func(t *testing.T) {
		xs := make([]float64, n)
		want := make([]float64, n)
		for i, v := range x {
			if i%2 == 1 {
				v = -v
			}
			xs[i], want[i] = v, ref.Sigmoid(v)
		}
		got := twinNaNs[float64](n)
		require.NoError(t, kernels.ActivationForward(kernels.Sigmoid, 0, got, xs))
		// Below -708 both the reference (e^x/(1+e^x)) and the twin give subnormals, whose few
		// significant bits rtol cannot hold: 1e-307 absolute covers them.
		twinAssertClose(t, want, got, 1e-15, 1e-307, "sigmoid")
	})
}
