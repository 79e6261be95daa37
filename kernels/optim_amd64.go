//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// useOptimAsm allows the assembly loops for float32 Adam and SGD-momentum updates: AVX2
// (optim_amd64.s) or AVX-512 (optim512_amd64.s), as cpufeat's level says on each call; tests set
// it false to run the Go loops on the same data. It is off where the compiler fuses float32
// multiply-adds (GOAMD64=v3 and up): the Go loops then round differently, and the assembly's
// results must be theirs bit for bit, whatever the split.
var useOptimAsm = !goFusesFloat32()

// goFusesFloat32 reports whether this package's float32 x*y+z compiles to one fused multiply-add
// (the AMD64 rule is unconditional from GOAMD64=v3 on). The product of the operands, 1-2⁻⁴⁶,
// rounds to 1 in float32, so the sum is 0 when rounded twice and -2⁻⁴⁶ when fused.
func goFusesFloat32() bool { return mulAdd(1+0x1p-23, 1-0x1p-23, -1) != 0 }

// mulAdd is not inlined, so that the compiler cannot fold the constants, and takes its operands
// in registers, as the loops have theirs (a multiplication by a memory operand is not fused).
//
//go:noinline
func mulAdd(x, y, z float32) float32 { return x*y + z }

// adamVec runs Adam (AMSGrad when vmax != nil) on the first k elements in assembly and returns
// k: with AVX-512 every element all slices hold, with AVX2 the largest multiple of 8 of them, or
// 0 for float64, at the Generic level, or with the switch off. The results are bit for bit those
// of adam's Go loops, which finish elements k and up.
func adamVec[T Float](p, g, m, v, vmax []T, decay, wd, b1, c1, b2, c2, step, invBC2, eps T) int {
	n := min(len(p), len(g), len(m), len(v))
	if vmax != nil {
		n = min(n, len(vmax))
	}
	n, l := optimAsmLen(unsafe.Sizeof(decay), n)
	if n == 0 {
		return 0
	}
	k := adamConsts{
		decay: float32(decay), wd: float32(wd), b1: float32(b1), c1: float32(c1), b2: float32(b2), c2: float32(c2),
		step: float32(step), invBC2: float32(invBC2), eps: float32(eps),
	}
	switch {
	case l >= cpufeat.AVX512 && vmax == nil:
		adam512(f32(p), f32(g), f32(m), f32(v), n, &k)
	case l >= cpufeat.AVX512:
		adamMax512(f32(p), f32(g), f32(m), f32(v), f32(vmax), n, &k)
	case vmax == nil:
		adamAVX2(f32(p), f32(g), f32(m), f32(v), n, &k)
	default:
		adamMaxAVX2(f32(p), f32(g), f32(m), f32(v), f32(vmax), n, &k)
	}
	return n
}

// momentumVec runs SGD with momentum (not Nesterov, not the first step) on the first k elements
// in assembly and returns k, as adamVec does; sgd's Go loops finish the rest.
func momentumVec[T Float](p, g, buf []T, decay, wd, mu, damp, lr T) int {
	n, l := optimAsmLen(unsafe.Sizeof(decay), min(len(p), len(g), len(buf)))
	if n == 0 {
		return 0
	}
	k := momentumConsts{decay: float32(decay), wd: float32(wd), mu: float32(mu), damp: float32(damp), lr: float32(lr)}
	plain := wd == 0 && decay == 1 // the same test as sgd's, which picks the loop without decay
	switch {
	case l >= cpufeat.AVX512 && plain:
		momentum512(f32(p), f32(g), f32(buf), n, &k)
	case l >= cpufeat.AVX512:
		momentumDecay512(f32(p), f32(g), f32(buf), n, &k)
	case plain:
		momentumAVX2(f32(p), f32(g), f32(buf), n, &k)
	default:
		momentumDecayAVX2(f32(p), f32(g), f32(buf), n, &k)
	}
	return n
}

// f32 returns the first element of s as a *float32; callers have checked that T is 4 bytes
// (float32 or a type defined on it).
func f32[T Float](s []T) *float32 { return (*float32)(unsafe.Pointer(unsafe.SliceData(s))) }

// nadamVec runs NAdam's update on the first k elements in assembly and returns k, as adamVec
// does; nadamFTZ finishes the rest.
func nadamVec[T Float](p, g, m, v []T, decay, wd, b1, c1, b2, c2, cg, invBC2, eps, cm T) int {
	n, l := optimAsmLen(unsafe.Sizeof(decay), min(len(p), len(g), len(m), len(v)))
	if n == 0 {
		return 0
	}
	k := nadamConsts{
		decay: float32(decay), wd: float32(wd), b1: float32(b1), c1: float32(c1), b2: float32(b2), c2: float32(c2),
		cg: float32(cg), invBC2: float32(invBC2), eps: float32(eps), cm: float32(cm),
	}
	if l >= cpufeat.AVX512 {
		nadam512(f32(p), f32(g), f32(m), f32(v), n, &k)
	} else {
		nadamAVX2(f32(p), f32(g), f32(m), f32(v), n, &k)
	}
	return n
}

// lionVec runs Lion's update on the first k elements in assembly and returns k, as adamVec
// does; lionFTZ finishes the rest.
func lionVec[T Float](p, g, m []T, b1, c1, b2, c2, lr, decay T) int {
	n, l := optimAsmLen(unsafe.Sizeof(b1), min(len(p), len(g), len(m)))
	if n == 0 {
		return 0
	}
	k := lionConsts{b1: float32(b1), c1: float32(c1), b2: float32(b2), c2: float32(c2), lr: float32(lr), decay: float32(decay)}
	if l >= cpufeat.AVX512 {
		lion512(f32(p), f32(g), f32(m), n, &k)
	} else {
		lionAVX2(f32(p), f32(g), f32(m), n, &k)
	}
	return n
}

// adamaxVec runs Adamax's update on the first k elements in assembly and returns k, as adamVec
// does; adamaxFTZ finishes the rest.
func adamaxVec[T Float](p, g, m, u []T, b1, c1, b2, eps, clr, wd T) int {
	n, l := optimAsmLen(unsafe.Sizeof(b1), min(len(p), len(g), len(m), len(u)))
	if n == 0 {
		return 0
	}
	k := adamaxConsts{b1: float32(b1), c1: float32(c1), b2: float32(b2), eps: float32(eps), clr: float32(clr), wd: float32(wd)}
	if l >= cpufeat.AVX512 {
		adamax512(f32(p), f32(g), f32(m), f32(u), n, &k)
	} else {
		adamaxAVX2(f32(p), f32(g), f32(m), f32(u), n, &k)
	}
	return n
}

// radamVec runs RAdam's update on the first k elements in assembly and returns k, as adamVec
// does; radamFTZ finishes the rest.
func radamVec[T Float](p, g, m, v []T, decay, wd, b1, c1, b2, c2, step, sbc2, eps T, rectified bool) int {
	n, l := optimAsmLen(unsafe.Sizeof(decay), min(len(p), len(g), len(m), len(v)))
	if n == 0 {
		return 0
	}
	k := adamConsts{
		decay: float32(decay), wd: float32(wd), b1: float32(b1), c1: float32(c1), b2: float32(b2), c2: float32(c2),
		step: float32(step), invBC2: float32(sbc2), eps: float32(eps),
	}
	if l >= cpufeat.AVX512 {
		radam512(f32(p), f32(g), f32(m), f32(v), n, &k, rectified)
	} else {
		radamAVX2(f32(p), f32(g), f32(m), f32(v), n, &k, rectified)
	}
	return n
}

// nesterovVec runs SGD with Nesterov momentum (not the first step) on the first k elements in
// assembly and returns k, as adamVec does; nesterovFTZ finishes the rest.
func nesterovVec[T Float](p, g, buf []T, decay, wd, mu, damp, lr T) int {
	n, l := optimAsmLen(unsafe.Sizeof(decay), min(len(p), len(g), len(buf)))
	if n == 0 {
		return 0
	}
	k := momentumConsts{decay: float32(decay), wd: float32(wd), mu: float32(mu), damp: float32(damp), lr: float32(lr)}
	if l >= cpufeat.AVX512 {
		nesterov512(f32(p), f32(g), f32(buf), n, &k)
	} else {
		nesterovAVX2(f32(p), f32(g), f32(buf), n, &k)
	}
	return n
}

// sgdVec runs plain SGD (no momentum) on the first k elements in assembly and returns k, as
// adamVec does; sgdFTZ finishes the rest.
func sgdVec[T Float](p, g []T, decay, wd, lr T) int {
	n, l := optimAsmLen(unsafe.Sizeof(decay), min(len(p), len(g)))
	if n == 0 {
		return 0
	}
	k := momentumConsts{decay: float32(decay), wd: float32(wd), lr: float32(lr)}
	if l >= cpufeat.AVX512 {
		sgd512(f32(p), f32(g), n, &k)
	} else {
		sgdAVX2(f32(p), f32(g), n, &k)
	}
	return n
}

// optimAsmLen returns how many of n elements the assembly loops take, and the level: none for
// float64 (size 8), at the Generic level or with useOptimAsm off; n at AVX-512 (its loops mask
// their tails); n rounded down to a multiple of 8 at AVX2 (the Go twin does the rest).
func optimAsmLen(size uintptr, n int) (int, cpufeat.Level) {
	l := level()
	if !useOptimAsm || l == cpufeat.Generic || size != 4 {
		return 0, l
	}
	if l < cpufeat.AVX512 {
		n &^= 7
	}
	return n, l
}

// adamConsts and momentumConsts are the scalars the assembly broadcasts; the field offsets are
// hard-coded in optim_amd64.s.
type adamConsts struct{ decay, wd, b1, c1, b2, c2, step, invBC2, eps float32 }

type momentumConsts struct{ decay, wd, mu, damp, lr float32 }

// nadamConsts is adamConsts' layout with NAdam's gradient coefficient cg where Adam has its step,
// then the momentum's coefficient cm.
type nadamConsts struct{ decay, wd, b1, c1, b2, c2, cg, invBC2, eps, cm float32 }

// nadamAVX2 updates n elements (a multiple of 8) of p, m, v from g: NAdam.
//
//go:noescape
func nadamAVX2(p, grad, m, v *float32, n int, k *nadamConsts)

// nadam512 is nadamAVX2 with AVX-512, any n.
//
//go:noescape
func nadam512(p, grad, m, v *float32, n int, k *nadamConsts)

// adamAVX2 updates n elements (a multiple of 8) of p, m, v from g.
//
//go:noescape
func adamAVX2(p, grad, m, v *float32, n int, k *adamConsts)

// adamMaxAVX2 is adamAVX2 with AMSGrad's running maximum vmax.
//
//go:noescape
func adamMaxAVX2(p, grad, m, v, vmax *float32, n int, k *adamConsts)

// lionConsts are Lion's scalars; the offsets are hard-coded in optim_amd64.s.
type lionConsts struct{ b1, c1, b2, c2, lr, decay float32 }

// lionAVX2 updates n elements (a multiple of 8) of p and m from g: Lion.
//
//go:noescape
func lionAVX2(p, grad, m *float32, n int, k *lionConsts)

// lion512 is lionAVX2 with AVX-512, any n.
//
//go:noescape
func lion512(p, grad, m *float32, n int, k *lionConsts)

// adamaxConsts are Adamax's scalars; the offsets are hard-coded in optim_amd64.s.
type adamaxConsts struct{ b1, c1, b2, eps, clr, wd float32 }

// adamaxAVX2 updates n elements (a multiple of 8) of p, m, u from g: Adamax.
//
//go:noescape
func adamaxAVX2(p, grad, m, u *float32, n int, k *adamaxConsts)

// adamax512 is adamaxAVX2 with AVX-512, any n.
//
//go:noescape
func adamax512(p, grad, m, u *float32, n int, k *adamaxConsts)

// radamAVX2 updates n elements (a multiple of 8) of p, m, v from g: RAdam (adamConsts with
// sqrt(bc2) in invBC2's slot).
//
//go:noescape
func radamAVX2(p, grad, m, v *float32, n int, k *adamConsts, rectified bool)

// radam512 is radamAVX2 with AVX-512, any n.
//
//go:noescape
func radam512(p, grad, m, v *float32, n int, k *adamConsts, rectified bool)

// nesterovAVX2 updates n elements (a multiple of 8) of p and buf from g: SGD with Nesterov
// momentum.
//
//go:noescape
func nesterovAVX2(p, grad, buf *float32, n int, k *momentumConsts)

// nesterov512 is nesterovAVX2 with AVX-512, any n.
//
//go:noescape
func nesterov512(p, grad, buf *float32, n int, k *momentumConsts)

// sgdAVX2 updates n elements (a multiple of 8) of p from g: plain SGD.
//
//go:noescape
func sgdAVX2(p, grad *float32, n int, k *momentumConsts)

// sgd512 is sgdAVX2 with AVX-512, any n.
//
//go:noescape
func sgd512(p, grad *float32, n int, k *momentumConsts)

// momentumAVX2 updates n elements (a multiple of 8) of p and buf from g, without weight decay.
//
//go:noescape
func momentumAVX2(p, grad, buf *float32, n int, k *momentumConsts)

// momentumDecayAVX2 is momentumAVX2 with L2 and decoupled weight decay.
//
//go:noescape
func momentumDecayAVX2(p, grad, buf *float32, n int, k *momentumConsts)

// adam512 updates n elements of p, m, v from g with AVX-512 (optim512_amd64.s).
//
//go:noescape
func adam512(p, grad, m, v *float32, n int, k *adamConsts)

// adamMax512 is adam512 with AMSGrad's running maximum vmax.
//
//go:noescape
func adamMax512(p, grad, m, v, vmax *float32, n int, k *adamConsts)

// momentum512 updates n elements of p and buf from g, without weight decay.
//
//go:noescape
func momentum512(p, grad, buf *float32, n int, k *momentumConsts)

// momentumDecay512 is momentum512 with L2 and decoupled weight decay.
//
//go:noescape
func momentumDecay512(p, grad, buf *float32, n int, k *momentumConsts)

// rmspropVec runs plain RMSProp (no momentum, not centered) on the first k elements in
// assembly and returns k, as adamVec does; rmsprop's Go loop finishes the rest.
func rmspropVec[T Float](p, g, sq []T, wd, a, ca, eps, lr T) int {
	n, l := optimAsmLen(unsafe.Sizeof(wd), min(len(p), len(g), len(sq)))
	if n == 0 {
		return 0
	}
	k := rmspropConsts{wd: float32(wd), a: float32(a), ca: float32(ca), eps: float32(eps), lr: float32(lr)}
	if l >= cpufeat.AVX512 {
		rmsprop512(f32(p), f32(g), f32(sq), n, &k)
	} else {
		rmspropAVX2(f32(p), f32(g), f32(sq), n, &k)
	}
	return n
}

// rmspropConsts are the scalars of rmspropAVX2 and rmsprop512; the offsets are hard-coded there.
type rmspropConsts struct{ wd, a, ca, eps, lr float32 }

// rmspropAVX2 updates n elements (a multiple of 8) of p and sq from g.
//
//go:noescape
func rmspropAVX2(p, grad, sq *float32, n int, k *rmspropConsts)

// rmsprop512 is rmspropAVX2 with AVX-512, for any n.
//
//go:noescape
func rmsprop512(p, grad, sq *float32, n int, k *rmspropConsts)
