package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

func TestArgsPackEightBytesPerParameter(t *testing.T) {
	var a args
	a.init()
	a.reset().ptr(0xdeadbeef00).i64(-3).f32(1.5).f64(-2.25).float(backend.Float32, 0.1).float(backend.Float64, 0.1)
	l := a.list()
	require.Len(t, l, 6)
	// Function.Launch reads 8 bytes through each pointer.
	read := func(i int) uint64 { return *(*uint64)(l[i]) }
	assert.Equal(t, uint64(0xdeadbeef00), read(0), "a device pointer goes as it is")
	assert.Equal(t, uint64(math.MaxUint64-2), read(1), "an int64 as its two's complement")
	assert.Equal(t, uint64(math.Float32bits(1.5)), read(2), "a float32 as its bits in the low half, zero above")
	assert.Equal(t, float32(1.5), *(*float32)(l[2]), "a 4-byte kernel parameter reads the low half")
	assert.Equal(t, math.Float64bits(-2.25), read(3))
	assert.Equal(t, float32(0.1), *(*float32)(l[4]), "a T-typed scalar of a float32 kernel is a float32")
	assert.Equal(t, 0.1, *(*float64)(l[5]))
	for i := range l {
		assert.Equal(t, unsafe.Pointer(&a.vals[i]), l[i], "the list points into vals, built once")
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { a.reset().ptr(1).i64(2).f32(3).f64(4).list() }))

	a.reset()
	for range maxArgs + 1 {
		a.i64(1)
	}
	assert.Nil(t, a.list(), "too many parameters")
}

func TestArgsRecordTheirSignature(t *testing.T) {
	var a args
	a.init()
	a.reset().ptr(1).i64(2).f64(3).float(backend.Float32, 4).float(backend.Float64, 5).f32(6)
	assert.Equal(t, "uudttt", a.packed())
	assert.True(t, a.matches("uudttt"))
	assert.False(t, a.matches("uudtt"), "one parameter short")
	assert.False(t, a.matches("uudttt"+"u"), "one parameter too many")
	assert.False(t, a.matches("uuuttt"), "a double where an integer is wanted")
	assert.Zero(t, testing.AllocsPerRun(100, func() { a.reset().ptr(1).f64(2).matches("ud") }))
	a.reset()
	for range maxArgs + 1 {
		a.i64(1)
	}
	assert.False(t, a.matches(strings.Repeat("u", maxArgs+1)), "an overflow never matches")
	assert.Len(t, a.packed(), maxArgs)
}

// kernelUpdate is optim.cu's per-element update written out in Go, reading the scalars from
// optimScalars exactly as the kernel does (converted to T). Run against kernels.Update, it checks
// that the slots and flags carry what the twin's loop uses, to the bit.
func kernelUpdate[T kernels.Float](rule kernels.Rule, flags int, s8 [optimSlots]float64, p, g []T, st [][]T) {
	var s [optimSlots]T
	for i, v := range s8 {
		s[i] = T(v)
	}
	sqrtT := func(x T) T { return T(math.Sqrt(float64(x))) }
	for i := range p {
		pp, gg := p[i], g[i]
		switch rule {
		case kernels.RuleSGD:
			lr, mu, damp, wd, decay := s[0], s[1], s[2], s[3], s[4]
			switch {
			case flags&optMomentum == 0:
				pi := pp * decay
				pp = pi - lr*(gg+wd*pi)
			case flags&optFirstStep != 0:
				pi := pp * decay
				gi := gg + wd*pi
				st[0][i] = gi
				if flags&optNesterov != 0 {
					gi += mu * gi
				}
				pp = pi - lr*gi
			case flags&optNesterov != 0:
				pi := pp * decay
				gi := gg + wd*pi
				b := mu*st[0][i] + damp*gi
				st[0][i] = b
				pp = pi - lr*(gi+mu*b)
			case flags&optPlain != 0:
				b := mu*st[0][i] + damp*gg
				st[0][i] = b
				pp -= lr * b
			default:
				pi := pp * decay
				b := mu*st[0][i] + damp*(gg+wd*pi)
				st[0][i] = b
				pp = pi - lr*b
			}
		case kernels.RuleAdam:
			b1, b2, step, invBC2, eps, wd, decay := s[0], s[1], s[2], s[3], s[4], s[5], s[6]
			c1, c2 := s[7], s[8]
			pi := pp * decay
			gi := gg + wd*pi
			mi := b1*st[0][i] + c1*gi
			vi := b2*st[1][i] + c2*gi*gi
			st[0][i], st[1][i] = mi, vi
			vh := vi
			if flags&optAMSGrad != 0 {
				vh = max(st[2][i], vi)
				st[2][i] = vh
			}
			pp = pi - step*mi/(sqrtT(vh)*invBC2+eps)
		case kernels.RuleRMSProp:
			a, eps, mu, lr, wd, decay, ca := s[0], s[1], s[2], s[3], s[4], s[5], s[6]
			pi := pp * decay
			gi := gg + wd*pi
			sq := a*st[0][i] + ca*gi*gi
			st[0][i] = sq
			if flags&optCentered != 0 {
				k := 1
				if flags&optMomentum != 0 {
					k = 2
				}
				ga := a*st[k][i] + ca*gi
				st[k][i] = ga
				sq -= ga * ga
			}
			d := sqrtT(sq) + eps
			if flags&optMomentum != 0 {
				b := mu*st[1][i] + gi/d
				st[1][i] = b
				pp = pi - lr*b
			} else {
				pp = pi - lr*gi/d
			}
		case kernels.RuleAdagrad:
			lr, eps, wd, decay := s[0], s[1], s[2], s[3]
			pi := pp * decay
			gi := gg + wd*pi
			sum := st[0][i] + gi*gi
			st[0][i] = sum
			pp = pi - lr*gi/(sqrtT(sum)+eps)
		case kernels.RuleNAdam:
			b1, b2, eps, invBC2, cg, cm, wd, decay, c1, c2 := s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9]
			pi := pp * decay
			gi := gg + wd*pi
			mi := b1*st[0][i] + c1*gi
			vi := b2*st[1][i] + c2*gi*gi
			st[0][i], st[1][i] = mi, vi
			d := sqrtT(vi*invBC2) + eps
			pp = pi - (cg*gi+cm*mi)/d
		}
		p[i] = pp
	}
}

func optimCasesForScalars() []kernels.UpdateParams {
	adam := kernels.UpdateParams{Rule: kernels.RuleAdam, LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, BiasCorrection1: 0.271, BiasCorrection2: 0.00399}
	ams := adam
	ams.AMSGrad, ams.DecoupledDecay, ams.WeightDecay = true, 0.1, 0.05
	rms := kernels.UpdateParams{Rule: kernels.RuleRMSProp, LR: 0.01, Alpha: 0.99, Eps: 1e-8}
	rmsAll := rms
	rmsAll.Centered, rmsAll.Momentum, rmsAll.WeightDecay, rmsAll.Alpha = true, 0.5, 0.05, 0.9
	rmsC := rms
	rmsC.Centered, rmsC.DecoupledDecay = true, 0.1
	return []kernels.UpdateParams{
		{Rule: kernels.RuleSGD, LR: 0.1},
		{Rule: kernels.RuleSGD, LR: 0.1, WeightDecay: 0.05},
		{Rule: kernels.RuleSGD, LR: 0.1, Momentum: 0.9, FirstStep: true, Nesterov: true, WeightDecay: 0.01},
		{Rule: kernels.RuleSGD, LR: 0.1, Momentum: 0.9},
		{Rule: kernels.RuleSGD, LR: 0.1, Momentum: 0.9, Dampening: 0.3, DecoupledDecay: 0.2},
		{Rule: kernels.RuleSGD, LR: 0.05, Momentum: 0.7, Dampening: 0.2, WeightDecay: 0.1, Nesterov: true},
		adam, ams,
		rms, rmsAll, rmsC,
		{Rule: kernels.RuleAdagrad, LR: 0.1 / 1.5, Eps: 1e-10, WeightDecay: 0.05},
		{Rule: kernels.RuleNAdam, LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, BiasCorrection2: 0.002, NAdamGrad: 0.0123, NAdamMom: 0.0456, DecoupledDecay: 0.1},
	}
}

// TestOptimScalarsReproduceTheTwin runs the kernel's update, fed by optimScalars, beside
// kernels.Update for every rule and option, in float32 and float64, and requires the same bits.
func TestOptimScalarsReproduceTheTwin(t *testing.T) {
	for _, h := range optimCasesForScalars() {
		t.Run(fmt.Sprintf("%v %+v", h.Rule, h), func(t *testing.T) {
			t.Run("float32", func(t *testing.T) { checkKernelUpdate[float32](t, h, backend.Float32) })
			t.Run("float64", func(t *testing.T) { checkKernelUpdate[float64](t, h, backend.Float64) })
		})
	}
}

func checkKernelUpdate[T kernels.Float](t *testing.T, h kernels.UpdateParams, dt backend.DType) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 257
	draw := func(lo, hi float64) []T {
		out := make([]T, n)
		for i := range out {
			out[i] = T(lo + (hi-lo)*rng.Float64())
		}
		return out
	}
	p, g := draw(-1, 1), draw(-1, 1)
	ns := kernels.StateCount(h)
	st := make([][]T, ns)
	for k := range st {
		st[k] = draw(0.01, 0.1)
	}
	if h.Rule == kernels.RuleRMSProp && h.Centered {
		st[ns-1] = draw(-0.05, 0.05)
	}
	p2, st2 := append([]T(nil), p...), make([][]T, ns)
	for k := range st {
		st2[k] = append([]T(nil), st[k]...)
	}
	require.NoError(t, kernels.Update(h, p, g, st...))
	flags, s := optimScalars(h, dt)
	kernelUpdate(h.Rule, flags, s, p2, g, st2)
	for i := range p {
		require.Equal(t, math.Float64bits(float64(p[i])), math.Float64bits(float64(p2[i])), "parameter %d: twin %v, kernel %v", i, p[i], p2[i])
	}
	for k := range st {
		for i := range st[k] {
			require.Equal(t, math.Float64bits(float64(st[k][i])), math.Float64bits(float64(st2[k][i])), "state %d element %d", k, i)
		}
	}
}

func TestOptimScalarsFlags(t *testing.T) {
	f, _ := optimScalars(kernels.UpdateParams{Rule: kernels.RuleSGD, LR: 0.1, Momentum: 0.9}, backend.Float32)
	assert.Equal(t, optMomentum|optPlain, f)
	f, _ = optimScalars(kernels.UpdateParams{Rule: kernels.RuleSGD, LR: 0.1, Momentum: 0.9, WeightDecay: 1e-50}, backend.Float32)
	assert.Equal(t, optMomentum|optPlain, f, "a decay that rounds to 0 in float32 takes the plain branch, as in the twin")
	f, _ = optimScalars(kernels.UpdateParams{Rule: kernels.RuleSGD, LR: 0.1, Momentum: 0.9, WeightDecay: 1e-50}, backend.Float64)
	assert.Equal(t, optMomentum, f, "but not in float64")
	f, _ = optimScalars(kernels.UpdateParams{Rule: kernels.RuleAdam, AMSGrad: true, Momentum: 0.9, Centered: true, BiasCorrection1: 1, BiasCorrection2: 1}, backend.Float32)
	assert.Equal(t, optAMSGrad, f, "options of other rules are ignored")
	f, _ = optimScalars(kernels.UpdateParams{Rule: kernels.RuleRMSProp, Momentum: 0.9, Centered: true}, backend.Float32)
	assert.Equal(t, optMomentum|optCentered, f)
}
