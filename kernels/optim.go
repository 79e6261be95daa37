package kernels

import (
	"fmt"
	"math"
	"unsafe"
)

// MaxStates is the most state tensors per parameter an update rule keeps (Adam with AMSGrad and
// centered RMSProp with momentum keep three).
const MaxStates = 3

// NumScalars is the number of per-step scalars a Step carries: the most any rule reads.
const NumScalars = 10

// Step is one optimizer step of one parameter group, exactly as every backend runs it: the update
// loop, its option flags and its scalars. An optimizer's description (package optim) computes a
// Step once per group and step on the host, in float64; the pure-Go loop, the AVX2 loops and the
// CUDA kernel (kernels/optim.cu) all convert the same scalars to the element type and nothing
// else recomputes them, so the three give the same bits and none restates the rule.
type Step struct {
	Rule *Rule
	// Flags are the rule's options (see the rule's documentation), e.g. FlagAMSGrad.
	Flags uint32
	// S are the rule's scalars, in the order its documentation gives.
	S [NumScalars]float64
	// States is the number of state tensors per parameter (at most MaxStates).
	States int
}

// Option flags. Each rule reads only the ones its documentation names.
const (
	FlagMomentum  uint32 = 1 << iota // SGD, RMSProp: a momentum buffer is kept
	FlagNesterov                     // SGD: Nesterov's correction
	FlagFirstStep                    // SGD: the buffer is initialised with the gradient
	FlagAMSGrad                      // Adam: the running maximum of v
	FlagCentered                     // RMSProp: the gradient average is subtracted
	FlagRectified                    // RAdam: the variance is tractable (ρ_t > 5): use the adaptive rate
)

// Rule is an update loop: its name, which names the CUDA kernels optim_<Name>_f32 and
// optim_<Name>_f64 of kernels/optim.cu, and its pure-Go twin for each element type. A twin
// updates p in place from g and st[0:States], converting the Step's scalars to T the way the CUDA
// kernel does; it allocates nothing, so the CPU backend calls it on sub-ranges of a tensor.
// Slices arrive cut to len(p).
type Rule struct {
	Name string
	F32  func(s *Step, p, g []float32, st [MaxStates][]float32)
	F64  func(s *Step, p, g []float64, st [MaxStates][]float64)
}

// String names the rule.
func (r *Rule) String() string {
	if r == nil {
		return "<no rule>"
	}
	return r.Name
}

// CheckUpdate validates s and the lengths of one parameter's tensors (p, g and the state).
func CheckUpdate(s *Step, n, glen int, state []int) error {
	if s == nil || s.Rule == nil || s.Rule.F32 == nil || s.Rule.F64 == nil {
		return fmt.Errorf("kernels: Update: a step without an update rule: %w", ErrInvalid)
	}
	if s.States < 0 || s.States > MaxStates {
		return fmt.Errorf("kernels: Update %v: %d state tensors, at most %d: %w", s.Rule, s.States, MaxStates, ErrInvalid)
	}
	if len(state) != s.States {
		return fmt.Errorf("kernels: Update %v: %d state tensors, want %d: %w", s.Rule, len(state), s.States, ErrInvalid)
	}
	if glen != n {
		return fmt.Errorf("kernels: Update %v: gradient has %d elements, parameter %d: %w", s.Rule, glen, n, ErrInvalid)
	}
	for k, l := range state {
		if l != n {
			return fmt.Errorf("kernels: Update %v: state tensor %d has %d elements, parameter %d: %w", s.Rule, k, l, n, ErrInvalid)
		}
	}
	for i, v := range s.S {
		if math.IsNaN(v) {
			return fmt.Errorf("kernels: Update %v: scalar %d is NaN: %w", s.Rule, i, ErrInvalid)
		}
	}
	return nil
}

// Update applies one step of s.Rule to p in place, with its state tensors.
func Update[T Float](s *Step, p, g []T, state ...[]T) error {
	var lens [MaxStates + 1]int
	for k, st := range state {
		if k < len(lens) {
			lens[k] = len(st)
		}
	}
	if err := CheckUpdate(s, len(p), len(g), lens[:min(len(state), len(lens))]); err != nil {
		return err
	}
	var st [MaxStates][]T
	for k := range state {
		st[k] = state[k][:len(p)]
	}
	g = g[:len(p)]
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		s.Rule.F32(s, asF32(p), asF32(g), [MaxStates][]float32{asF32(st[0]), asF32(st[1]), asF32(st[2])})
	} else {
		s.Rule.F64(s, asF64(p), asF64(g), [MaxStates][]float64{asF64(st[0]), asF64(st[1]), asF64(st[2])})
	}
	return nil
}

// asF32 and asF64 view a []T as the float type of its size (T is float32 or float64, or a type
// defined on one of them).
func asF32[T Float](s []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

func asF64[T Float](s []T) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// SqrtT is a square root in T; for float32 the compiler emits SQRTSS for this pattern.
func SqrtT[T Float](x T) T { return T(math.Sqrt(float64(x))) }

// The loops below compute in T (float32 arithmetic for float32 buffers, as PyTorch does) and
// hoist every option test out of the element loop: the common configurations get a loop with no
// branch at all, because these loops are bound by memory bandwidth only when the arithmetic per
// element stays small. They live here, not beside their descriptions in package optim like the
// other rules' loops, because optim_amd64.s holds AVX2 versions that must give their bits and are
// tested against them inside this package.

// SGD is the update loop of SGD (torch.optim.SGD). Scalars: lr, momentum, 1-dampening, weight
// decay (L2), 1-lr·decoupled decay. Flags: FlagMomentum (state 0 is the momentum buffer),
// FlagNesterov, FlagFirstStep.
//
//	p *= 1-lr·decoupled;  g += wd·p
//	momentum: buf = FirstStep ? g : momentum·buf + (1-dampening)·g;  g = Nesterov ? g + momentum·buf : buf
//	p -= lr·g
var SGD = &Rule{Name: "sgd", F32: sgd[float32], F64: sgd[float64]}

// The Go loops convert every product that is added to or subtracted from (T(x*y)): the Go
// compiler may fuse x*y + z into one FMA where the target has it (GOAMD64=v3), which rounds once
// where these loops, their assembly twins and the recorded trajectories round twice; the
// conversion forbids it (the Go spec's rule for explicit conversions), and changes nothing at
// GOAMD64=v1.
func sgd[T Float](s *Step, p, g []T, st [MaxStates][]T) {
	n := len(p)
	g = g[:n]
	lr, mu, damp := T(s.S[0]), T(s.S[1]), T(s.S[2])
	wd, decay := T(s.S[3]), T(s.S[4])
	if s.Flags&FlagMomentum == 0 {
		if unsafe.Sizeof(lr) == 4 {
			// The AVX2/AVX-512 loops do the first k elements under FTZ and DAZ; sgdFTZ, their
			// twin, does the rest (ftz.go says why).
			k := sgdVec(p, g, decay, wd, lr)
			sgdFTZ(as32(p[k:]), as32(g[k:n]), float32(decay), float32(wd), float32(lr))
			return
		}
		for i := range p {
			pi := p[i] * decay
			p[i] = pi - T(lr*(g[i]+T(wd*pi)))
		}
		return
	}
	buf := st[0][:n]
	nesterov := s.Flags&FlagNesterov != 0
	switch {
	case s.Flags&FlagFirstStep != 0:
		for i := range p {
			pi := p[i] * decay
			gi := g[i] + T(wd*pi)
			buf[i] = gi
			if nesterov {
				gi += T(mu * gi)
			}
			p[i] = pi - T(lr*gi)
		}
	case nesterov && unsafe.Sizeof(lr) == 4:
		// The AVX2/AVX-512 loops do the first k elements under FTZ and DAZ; nesterovFTZ, their
		// twin, does the rest (ftz.go says why).
		k := nesterovVec(p, g, buf, decay, wd, mu, damp, lr)
		nesterovFTZ(as32(p[k:]), as32(g[k:n]), as32(buf[k:n]), float32(decay), float32(wd), float32(mu), float32(damp), float32(lr))
	case nesterov:
		for i := range p {
			pi := p[i] * decay
			gi := g[i] + T(wd*pi)
			b := T(mu*buf[i]) + T(damp*gi)
			buf[i] = b
			p[i] = pi - T(lr*(gi+T(mu*b)))
		}
	case unsafe.Sizeof(lr) == 4:
		// The AVX2/AVX-512 loops do the first k elements under FTZ and DAZ; momentumFTZ, their
		// twin, does the rest (ftz.go says why).
		k := momentumVec(p, g, buf, decay, wd, mu, damp, lr)
		p, g, buf = p[k:], g[k:n], buf[k:n]
		momentumFTZ(as32(p), as32(g), as32(buf), float32(decay), float32(wd), float32(mu), float32(damp), float32(lr), wd == 0 && decay == 1)
	case wd == 0 && decay == 1:
		for i := range p {
			b := T(mu*buf[i]) + T(damp*g[i])
			buf[i] = b
			p[i] -= T(lr * b)
		}
	default:
		for i := range p {
			pi := p[i] * decay
			b := T(mu*buf[i]) + T(damp*(g[i]+T(wd*pi)))
			buf[i] = b
			p[i] = pi - T(lr*b)
		}
	}
}

// Adam is the update loop of Adam and AdamW (torch.optim.Adam, AdamW). Scalars: β1, β2,
// lr/bc1, 1/√bc2, eps, weight decay (L2), 1-lr·decoupled decay, 1-β1, 1-β2, where bc1 = 1-β1^t
// and bc2 = 1-β2^t. Flag: FlagAMSGrad (state 2 is the running maximum of v). States: m, v[, vmax].
//
//	p *= 1-lr·decoupled;  g += wd·p;  m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²
//	v̂ = AMSGrad ? (vmax = max(vmax, v)) : v;  p -= lr/bc1 · m / (√v̂/√bc2 + eps)
//
// (√v̂/√bc2 as a product with 1/√bc2: one division per element fewer, within an ulp.)
var Adam = &Rule{Name: "adam", F32: adam[float32], F64: adam[float64]}

func adam[T Float](s *Step, p, g []T, st [MaxStates][]T) {
	n := len(p)
	g, m, v := g[:n], st[0][:n], st[1][:n]
	b1, b2, step, invBC2, eps := T(s.S[0]), T(s.S[1]), T(s.S[2]), T(s.S[3]), T(s.S[4])
	wd, decay, c1, c2 := T(s.S[5]), T(s.S[6]), T(s.S[7]), T(s.S[8])
	var vmax []T
	if s.Flags&FlagAMSGrad != 0 {
		vmax = st[2][:n]
	}
	// The AVX2/AVX-512 loops of optim_amd64.s do the first k elements (float32 only) under FTZ and
	// DAZ; adamFTZ, their twin, does the rest of a float32 slice (ftz.go says why).
	k := adamVec(p, g, m, v, vmax, decay, wd, b1, c1, b2, c2, step, invBC2, eps)
	p, g, m, v = p[k:], g[k:n], m[k:n], v[k:n]
	if unsafe.Sizeof(b1) == 4 {
		var vm []float32
		if vmax != nil {
			vm = as32(vmax[k:n])
		}
		adamFTZ(as32(p), as32(g), as32(m), as32(v), vm, float32(decay), float32(wd), float32(b1), float32(c1),
			float32(b2), float32(c2), float32(step), float32(invBC2), float32(eps))
		return
	}
	if vmax == nil {
		for i := range p {
			pi := p[i] * decay
			gi := g[i] + wd*pi
			mi := b1*m[i] + c1*gi
			vi := b2*v[i] + c2*gi*gi
			m[i], v[i] = mi, vi
			p[i] = pi - step*mi/(SqrtT(vi)*invBC2+eps)
		}
		return
	}
	vmax = vmax[k:n]
	for i := range p {
		pi := p[i] * decay
		gi := g[i] + wd*pi
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		vh := max(vmax[i], vi)
		vmax[i] = vh
		p[i] = pi - step*mi/(SqrtT(vh)*invBC2+eps)
	}
}

// NAdamLoop is the loop of NAdam (package optim's nadam): with pi = p·decay and gi = g + wd·pi,
//
//	m = b1·m + c1·gi;  v = b2·v + c2·gi²;  p = pi - (cg·gi + cm·m) / (√(v·invBC2) + eps)
//
// For float32 it computes as under the x86 MXCSR's FTZ and DAZ modes, as Adam does (see
// RMSPropPlain for what that changes): the AVX2/AVX-512 loops (nadamVec) do the first elements,
// nadamFTZ, their twin, the rest. float64 is computed exactly.
func NAdamLoop[T Float](p, g, m, v []T, decay, wd, b1, c1, b2, c2, cg, invBC2, eps, cm T) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	k := nadamVec(p, g, m, v, decay, wd, b1, c1, b2, c2, cg, invBC2, eps, cm)
	p, g, m, v = p[k:], g[k:n], m[k:n], v[k:n]
	if unsafe.Sizeof(b1) == 4 {
		nadamFTZ(as32(p), as32(g), as32(m), as32(v), float32(decay), float32(wd), float32(b1), float32(c1),
			float32(b2), float32(c2), float32(cg), float32(invBC2), float32(eps), float32(cm))
		return
	}
	for i := range p {
		pi := p[i] * decay
		gi := g[i] + wd*pi
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		d := SqrtT(vi*invBC2) + eps
		p[i] = pi - (cg*gi+cm*mi)/d
	}
}

// RAdamLoop is the loop of RAdam (package optim's radam): with pi = p·decay and gi = g + wd·pi,
//
//	m = b1·m + c1·gi;  v = b2·v + c2·gi²;  p = pi - step·m·(sbc2/(√v + eps)) (rectified) or pi - step·m
//
// For float32 it computes as under FTZ and DAZ (see RMSPropPlain for what that changes): the
// AVX2/AVX-512 loops (radamVec) do the first elements, radamFTZ, their twin, the rest. float64
// is computed exactly.
func RAdamLoop[T Float](p, g, m, v []T, decay, wd, b1, c1, b2, c2, step, sbc2, eps T, rectified bool) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	k := radamVec(p, g, m, v, decay, wd, b1, c1, b2, c2, step, sbc2, eps, rectified)
	p, g, m, v = p[k:], g[k:n], m[k:n], v[k:n]
	if unsafe.Sizeof(b1) == 4 {
		radamFTZ(as32(p), as32(g), as32(m), as32(v), float32(decay), float32(wd), float32(b1), float32(c1),
			float32(b2), float32(c2), float32(step), float32(sbc2), float32(eps), rectified)
		return
	}
	for i := range p {
		pi := p[i] * decay
		gi := g[i] + wd*pi
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		if rectified {
			p[i] = pi - step*mi*(sbc2/(SqrtT(vi)+eps))
		} else {
			p[i] = pi - step*mi
		}
	}
}

// AdamaxLoop is the loop of Adamax (package optim's adamax): with gi = g + wd·p,
//
//	m = b1·m + c1·gi;  u = max(b2·u, |gi| + eps);  p -= clr·m/u
//
// For float32 it computes as under FTZ and DAZ (see RMSPropPlain for what that changes): the
// AVX2/AVX-512 loops (adamaxVec) do the first elements, adamaxFTZ, their twin, the rest. float64
// is computed exactly.
func AdamaxLoop[T Float](p, g, m, u []T, b1, c1, b2, eps, clr, wd T) {
	n := len(p)
	g, m, u = g[:n], m[:n], u[:n]
	k := adamaxVec(p, g, m, u, b1, c1, b2, eps, clr, wd)
	p, g, m, u = p[k:], g[k:n], m[k:n], u[k:n]
	if unsafe.Sizeof(b1) == 4 {
		adamaxFTZ(as32(p), as32(g), as32(m), as32(u), float32(b1), float32(c1), float32(b2), float32(eps), float32(clr), float32(wd))
		return
	}
	for i := range p {
		pi := p[i]
		gi := g[i] + wd*pi
		mi := b1*m[i] + c1*gi
		ui := max(b2*u[i], T(math.Abs(float64(gi)))+eps)
		m[i], u[i] = mi, ui
		p[i] = pi - clr*(mi/ui)
	}
}

// LionLoop is the loop of Lion (package optim's lion):
//
//	c = sign(b1·m + c1·g) (torch.sign: ±1, a zero or a NaN kept);  p = p·decay - lr·c;  m = b2·m + c2·g
//
// For float32 it computes as under FTZ and DAZ (see RMSPropPlain for what that changes): the
// AVX2/AVX-512 loops (lionVec) do the first elements, lionFTZ, their twin, the rest. float64 is
// computed exactly.
func LionLoop[T Float](p, g, m []T, b1, c1, b2, c2, lr, decay T) {
	n := len(p)
	g, m = g[:n], m[:n]
	k := lionVec(p, g, m, b1, c1, b2, c2, lr, decay)
	p, g, m = p[k:], g[k:n], m[k:n]
	if unsafe.Sizeof(b1) == 4 {
		lionFTZ(as32(p), as32(g), as32(m), float32(b1), float32(c1), float32(b2), float32(c2), float32(lr), float32(decay))
		return
	}
	for i := range p {
		c := b1*m[i] + c1*g[i]
		switch {
		case c > 0:
			c = 1
		case c < 0:
			c = -1
		}
		p[i] = p[i]*decay - lr*c
		m[i] = b2*m[i] + c2*g[i]
	}
}
