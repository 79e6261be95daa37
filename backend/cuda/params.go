package cuda

import (
	"math"
	"unsafe"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// maxArgs bounds the parameters of one kernel (the optimizer has the most: 6 + optimSlots).
const maxArgs = 16

// args packs kernel parameters the way gorgonia.org/cu's Function.Launch passes them: it copies
// exactly 8 bytes from each pointer in its list, so every parameter is one uint64 here. Device
// pointers and int64 go as they are; a double as its bits; a float32 as its bits in the low half,
// which is where the kernel reads a 4-byte parameter from (little-endian). The pointer list is
// built once and points into vals, so packing and launching allocate nothing; an args must not
// be copied after init.
type args struct {
	vals  [maxArgs]uint64
	ptrs  [maxArgs]unsafe.Pointer
	kinds [maxArgs]byte // the kernelTable signature letter of each parameter packed
	n     int
}

func (a *args) init() {
	for i := range a.ptrs {
		a.ptrs[i] = unsafe.Pointer(&a.vals[i])
	}
}

// reset starts a new parameter list.
func (a *args) reset() *args {
	a.n = 0
	return a
}

func (a *args) put(v uint64, kind byte) *args {
	if a.n < maxArgs {
		a.vals[a.n] = v
		a.kinds[a.n] = kind
	}
	a.n++ // an overflow shows in list, which the launcher checks
	return a
}

// ptr appends a device pointer.
func (a *args) ptr(p uint64) *args { return a.put(p, 'u') }

// i64 appends an integer (the kernels take every count and enum as a long long).
func (a *args) i64(v int) *args { return a.put(uint64(int64(v)), 'u') }

// f64 appends a double.
func (a *args) f64(v float64) *args { return a.put(math.Float64bits(v), 'd') }

// f32 appends a float: its bits in the low 32 bits of the 8. Kernels take a float only as their
// element type T, so it is packed as a T parameter.
func (a *args) f32(v float32) *args { return a.put(uint64(math.Float32bits(v)), 't') }

// float appends a scalar of the kernel's element type T: a float for Float32 buffers (v rounded
// to float32 first, as the CPU backend converts it), a double for Float64.
func (a *args) float(dt backend.DType, v float64) *args {
	if dt == backend.Float32 {
		return a.f32(float32(v))
	}
	return a.put(math.Float64bits(v), 't')
}

// list returns the parameter pointers for Function.Launch, or nil if more than maxArgs were
// packed (a bug the launcher reports).
func (a *args) list() []unsafe.Pointer {
	if a.n > maxArgs {
		return nil
	}
	return a.ptrs[:a.n]
}

// matches reports whether the parameters packed are, in number and kind, the signature sig (see
// kernelTable). It allocates nothing.
func (a *args) matches(sig string) bool {
	if a.n != len(sig) || a.n > maxArgs {
		return false
	}
	for i := 0; i < a.n; i++ {
		if a.kinds[i] != sig[i] {
			return false
		}
	}
	return true
}

// packed returns the signature of the parameters packed, for an error message.
func (a *args) packed() string { return string(a.kinds[:min(a.n, maxArgs)]) }

// Flags of the optimizer kernel (kernels/optim.cu's enum).
const (
	optMomentum = 1 << iota // SGD or RMSProp keeps a momentum buffer
	optNesterov
	optFirstStep
	optAMSGrad
	optCentered
	optPlain // SGD with momentum, no weight decay of either kind: the twin's branch-free loop
)

// optimSlots is the number of scalar parameters of the optimizer kernel.
const optimSlots = 10

// optimScalars computes, for the multi-tensor optimizer kernel, the flags and the scalars
// the rule's loop in kernels/optim.go uses, each as the float64 expression the twin converts to T
// before its loop, so the kernel's conversion gives the twin's bits. The slots per rule are:
//
//	SGD:     lr, momentum, 1-dampening, weight decay, 1-lr·decoupled
//	Adam:    β1, β2, lr/bc1, 1/√bc2, eps, weight decay, 1-lr·decoupled, 1-β1, 1-β2
//	RMSProp: alpha, eps, momentum, lr, weight decay, 1-lr·decoupled, 1-alpha
//	Adagrad: lr, eps, weight decay, 1-lr·decoupled
//	NAdam:   β1, β2, eps, 1/bc2, NAdamGrad, NAdamMom, weight decay, 1-lr·decoupled, 1-β1, 1-β2
//
// (1-β is taken in float64 and then rounded, as PyTorch and the twin do: 1-float32(0.999) is off
// by 1e-5 relative.)
//
// The SGD branch choice (the twin's `wd == 0 && decay == 1`) is made here on the T-rounded
// values, as the twin makes it.
func optimScalars(h kernels.UpdateParams, dt backend.DType) (flags int, s [optimSlots]float64) {
	toT := func(v float64) float64 {
		if dt == backend.Float32 {
			return float64(float32(v))
		}
		return v
	}
	decay := 1 - h.LR*h.DecoupledDecay
	if h.Momentum != 0 && (h.Rule == kernels.RuleSGD || h.Rule == kernels.RuleRMSProp) {
		flags |= optMomentum
	}
	if h.Nesterov {
		flags |= optNesterov
	}
	if h.FirstStep {
		flags |= optFirstStep
	}
	if h.AMSGrad && h.Rule == kernels.RuleAdam {
		flags |= optAMSGrad
	}
	if h.Centered && h.Rule == kernels.RuleRMSProp {
		flags |= optCentered
	}
	switch h.Rule {
	case kernels.RuleSGD:
		if toT(h.WeightDecay) == 0 && toT(decay) == 1 {
			flags |= optPlain
		}
		s = [optimSlots]float64{h.LR, h.Momentum, 1 - h.Dampening, h.WeightDecay, decay}
	case kernels.RuleAdam:
		s = [optimSlots]float64{h.Beta1, h.Beta2, h.LR / h.BiasCorrection1, 1 / math.Sqrt(h.BiasCorrection2), h.Eps, h.WeightDecay, decay,
			1 - h.Beta1, 1 - h.Beta2}
	case kernels.RuleRMSProp:
		s = [optimSlots]float64{h.Alpha, h.Eps, h.Momentum, h.LR, h.WeightDecay, decay, 1 - h.Alpha}
	case kernels.RuleAdagrad:
		s = [optimSlots]float64{h.LR, h.Eps, h.WeightDecay, decay}
	case kernels.RuleNAdam:
		s = [optimSlots]float64{h.Beta1, h.Beta2, h.Eps, 1 / h.BiasCorrection2, h.NAdamGrad, h.NAdamMom, h.WeightDecay, decay,
			1 - h.Beta1, 1 - h.Beta2}
	}
	return flags, s
}
