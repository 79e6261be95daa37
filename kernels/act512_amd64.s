//go:build amd64 && !purego

#include "textflag.h"
#include "ftz_amd64.h"

// AVX-512 float32 loops for the activations of activation32.go, 16 elements per ZMM register: the
// same operations, in the same order, as the AVX2 loops of act_amd64.s and the Go references
// (see there for what each computes and why the bits are the Go code's). Here every element is
// done in assembly, the n%16 tail with a mask (K1) on its loads and stores; the selections are
// mask registers (VCMPPS into K, VPMOVD2M for the sign) and merge- or zero-masked moves. The
// constants live in Z7-Z31, broadcast once per call (kclamp is exp32Min and kfltmin -2^-25, the
// two bounds of expNeg).

DATA kone<>+0(SB)/4, $0x3f800000
GLOBL kone<>(SB), RODATA|NOPTR, $4
DATA kminnorm<>+0(SB)/4, $0x00800000
GLOBL kminnorm<>(SB), RODATA|NOPTR, $4
DATA kclamp<>+0(SB)/4, $0xc2aea8f6
GLOBL kclamp<>(SB), RODATA|NOPTR, $4
DATA kfltmin<>+0(SB)/4, $0xb3000000
GLOBL kfltmin<>(SB), RODATA|NOPTR, $4
DATA ktiny25<>+0(SB)/4, $0x33000000
GLOBL ktiny25<>(SB), RODATA|NOPTR, $4
DATA ksgnbit<>+0(SB)/4, $0x80000000
GLOBL ksgnbit<>(SB), RODATA|NOPTR, $4
DATA kabsmask<>+0(SB)/4, $0x7fffffff
GLOBL kabsmask<>(SB), RODATA|NOPTR, $4
DATA klog2e<>+0(SB)/4, $0x3fb8aa3b
GLOBL klog2e<>(SB), RODATA|NOPTR, $4
DATA khalf<>+0(SB)/4, $0x3f000000
GLOBL khalf<>(SB), RODATA|NOPTR, $4
DATA kln2hi<>+0(SB)/4, $0x3f318000
GLOBL kln2hi<>(SB), RODATA|NOPTR, $4
DATA kln2lo<>+0(SB)/4, $0xb95e8083
GLOBL kln2lo<>(SB), RODATA|NOPTR, $4
DATA kp0<>+0(SB)/4, $0x39506967
GLOBL kp0<>(SB), RODATA|NOPTR, $4
DATA kp1<>+0(SB)/4, $0x3ab743ce
GLOBL kp1<>(SB), RODATA|NOPTR, $4
DATA kp2<>+0(SB)/4, $0x3c088908
GLOBL kp2<>(SB), RODATA|NOPTR, $4
DATA kp3<>+0(SB)/4, $0x3d2aa9c1
GLOBL kp3<>(SB), RODATA|NOPTR, $4
DATA kp4<>+0(SB)/4, $0x3e2aaaaa
GLOBL kp4<>(SB), RODATA|NOPTR, $4
DATA kp5<>+0(SB)/4, $0x3f000000
GLOBL kp5<>(SB), RODATA|NOPTR, $4
DATA kbias<>+0(SB)/4, $0x0000007f
GLOBL kbias<>(SB), RODATA|NOPTR, $4
DATA kneg2<>+0(SB)/4, $0xc0000000
GLOBL kneg2<>(SB), RODATA|NOPTR, $4
DATA kfour<>+0(SB)/4, $0x40800000
GLOBL kfour<>(SB), RODATA|NOPTR, $4
DATA ksmall<>+0(SB)/4, $0x3f200000
GLOBL ksmall<>(SB), RODATA|NOPTR, $4
DATA kth0<>+0(SB)/4, $0xbbbaf0ea
GLOBL kth0<>(SB), RODATA|NOPTR, $4
DATA kth1<>+0(SB)/4, $0x3ca9134e
GLOBL kth1<>(SB), RODATA|NOPTR, $4
DATA kth2<>+0(SB)/4, $0x3d5c1e2d
GLOBL kth2<>(SB), RODATA|NOPTR, $4
DATA kth3<>+0(SB)/4, $0x3e088393
GLOBL kth3<>(SB), RODATA|NOPTR, $4
DATA kth4<>+0(SB)/4, $0x3eaaaa99
GLOBL kth4<>(SB), RODATA|NOPTR, $4

// CONSTS broadcasts every constant into its register (one Z31, 0 Z30, ... th4 Z7).
#define CONSTS \
	VBROADCASTSS kone<>(SB), Z31; \
	VPXORD Z30, Z30, Z30; \
	VBROADCASTSS kclamp<>(SB), Z29; \
	VBROADCASTSS kfltmin<>(SB), Z28; \
	VBROADCASTSS ksgnbit<>(SB), Z27; \
	VBROADCASTSS kabsmask<>(SB), Z26; \
	VBROADCASTSS klog2e<>(SB), Z25; \
	VBROADCASTSS khalf<>(SB), Z24; \
	VBROADCASTSS kln2hi<>(SB), Z23; \
	VBROADCASTSS kln2lo<>(SB), Z22; \
	VBROADCASTSS kp0<>(SB), Z21; \
	VBROADCASTSS kp1<>(SB), Z20; \
	VBROADCASTSS kp2<>(SB), Z19; \
	VBROADCASTSS kp3<>(SB), Z18; \
	VBROADCASTSS kp4<>(SB), Z17; \
	VBROADCASTSS kp5<>(SB), Z16; \
	VBROADCASTSS kbias<>(SB), Z15; \
	VBROADCASTSS kneg2<>(SB), Z14; \
	VBROADCASTSS kfour<>(SB), Z13; \
	VBROADCASTSS ksmall<>(SB), Z12; \
	VBROADCASTSS kth0<>(SB), Z11; \
	VBROADCASTSS kth1<>(SB), Z10; \
	VBROADCASTSS kth2<>(SB), Z9; \
	VBROADCASTSS kth3<>(SB), Z8; \
	VBROADCASTSS kth4<>(SB), Z7

// EXP32Z(a, lo, e, n, r) sets e = exp32(a, lo) as EXP32 of act_amd64.s does; n, r clobbered.
#define EXP32Z(a, lo, e, n, r) \
	VMULPS Z25, a, e; \
	VSUBPS Z24, e, e; \
	VCVTTPS2DQ e, n; \
	VCVTDQ2PS n, e; \
	VMULPS Z23, e, r; \
	VSUBPS r, a, r; \
	VMULPS Z22, e, e; \
	VSUBPS e, r, r; \
	VADDPS lo, r, r; \
	VMULPS Z21, r, e; \
	VADDPS Z20, e, e; \
	VMULPS r, e, e; \
	VADDPS Z19, e, e; \
	VMULPS r, e, e; \
	VADDPS Z18, e, e; \
	VMULPS r, e, e; \
	VADDPS Z17, e, e; \
	VMULPS r, e, e; \
	VADDPS Z16, e, e; \
	VMULPS r, e, e; \
	VMULPS r, e, e; \
	VADDPS r, e, e; \
	VADDPS Z31, e, e; \
	VPADDD Z15, n, n; \
	VPSLLD $23, n, n; \
	VMULPS n, e, e

// EXPCLAMPZ(a, e, n, r) sets e = expNeg(a) (activation32.go): a is replaced by 0 where
// a < exp32Min (K2) or a > -2^-25, and e by 0 where a < exp32Min. K2, K3 clobbered.
#define EXPCLAMPZ(a, e, n, r) \
	VCMPPS $1, Z29, a, K2; \
	VCMPPS $0x1e, Z28, a, K3; \
	KORW K2, K3, K3; \
	KNOTW K3, K3; \
	VMOVAPS.Z a, K3, a; \
	EXP32Z(a, Z30, e, n, r); \
	KNOTW K2, K2; \
	VMOVAPS.Z e, K2, e

// BODY_SIGMOID: Z0 = x -> Z4 = σ(x) = (x < 0 ? e : 1)/(1+e).
#define BODY_SIGMOID \
	VORPS Z27, Z0, Z1; \
	EXPCLAMPZ(Z1, Z3, Z4, Z5); \
	VADDPS Z31, Z3, Z4; \
	VPMOVD2M Z0, K3; \
	VMOVAPS Z31, Z5; \
	VMOVAPS Z3, K3, Z5; \
	VDIVPS Z4, Z5, Z4

// func sigmoid512(dst, x *float32, n int)
TEXT ·sigmoid512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	CONSTS
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX // whole blocks of 16
	JZ sigmoid_tail
sigmoid_loop:
	VMOVUPS (SI)(AX*1), Z0
	BODY_SIGMOID
	VMOVUPS Z4, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ sigmoid_loop
sigmoid_tail:
	ANDQ $15, CX
	JZ sigmoid_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1 // the first n%16 lanes
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	BODY_SIGMOID
	VMOVUPS Z4, K1, (DI)(AX*1)
sigmoid_done:
	VZEROUPPER
	RET

// BODY_SIGMOIDGRAD: Z0 = x, Z6 = dy -> Z4 = dy·σ'(x).
#define BODY_SIGMOIDGRAD \
	VORPS Z27, Z0, Z1; \
	EXPCLAMPZ(Z1, Z3, Z4, Z5); \
	VADDPS Z31, Z3, Z4; \
	VDIVPS Z4, Z31, Z4; \
	VMULPS Z4, Z3, Z5; \
	VMULPS Z4, Z5, Z5; \
	VMULPS Z6, Z5, Z4

// func sigmoidGrad512(dx, x, dy *float32, n int)
TEXT ·sigmoidGrad512(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	CONSTS
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX // whole blocks of 16
	JZ sigmoidGrad_tail
sigmoidGrad_loop:
	VMOVUPS (SI)(AX*1), Z0
	VMOVUPS (DX)(AX*1), Z6
	BODY_SIGMOIDGRAD
	VMOVUPS Z4, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ sigmoidGrad_loop
sigmoidGrad_tail:
	ANDQ $15, CX
	JZ sigmoidGrad_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1 // the first n%16 lanes
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	VMOVUPS.Z (DX)(AX*1), K1, Z6
	BODY_SIGMOIDGRAD
	VMOVUPS Z4, K1, (DI)(AX*1)
sigmoidGrad_done:
	VZEROUPPER
	RET

// BODY_TANH: Z0 = x -> Z4 = tanh(x).
#define BODY_TANH \
	VANDPS Z26, Z0, Z1; \
	VCMPPS.BCST $1, kminnorm<>(SB), Z1, K4; \
	VANDPS Z27, Z0, K4, Z0; \
	VANDPS Z26, Z0, Z1; \
	VMULPS Z14, Z1, Z2; \
	EXPCLAMPZ(Z2, Z3, Z4, Z5); \
	VSUBPS Z3, Z31, Z4; \
	VADDPS Z31, Z3, Z5; \
	VDIVPS Z5, Z4, Z4; \
	VANDPS Z27, Z0, Z5; \
	VORPS Z5, Z4, Z4; \
	VCMPPS.BCST $5, ktiny25<>(SB), Z1, K4; \
	VMOVAPS.Z Z0, K4, Z6; \
	VMULPS Z6, Z6, Z5; \
	VMULPS Z11, Z5, Z6; \
	VADDPS Z10, Z6, Z6; \
	VMULPS Z5, Z6, Z6; \
	VSUBPS Z9, Z6, Z6; \
	VMULPS Z5, Z6, Z6; \
	VADDPS Z8, Z6, Z6; \
	VMULPS Z5, Z6, Z6; \
	VSUBPS Z7, Z6, Z6; \
	VMULPS Z6, Z5, Z6; \
	VADDPS Z31, Z6, Z6; \
	VMULPS Z6, Z0, Z6; \
	VCMPPS $1, Z12, Z1, K3; \
	VMOVAPS Z6, K3, Z4

// func tanh512(dst, x *float32, n int)
TEXT ·tanh512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	CONSTS
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX // whole blocks of 16
	JZ tanh_tail
tanh_loop:
	VMOVUPS (SI)(AX*1), Z0
	BODY_TANH
	VMOVUPS Z4, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ tanh_loop
tanh_tail:
	ANDQ $15, CX
	JZ tanh_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1 // the first n%16 lanes
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	BODY_TANH
	VMOVUPS Z4, K1, (DI)(AX*1)
tanh_done:
	VZEROUPPER
	RET

// BODY_TANHGRAD: Z0 = x, Z6 = dy -> Z4 = dy·tanh'(x).
#define BODY_TANHGRAD \
	VANDPS Z26, Z0, Z1; \
	VCMPPS.BCST $1, kminnorm<>(SB), Z1, K4; \
	VPXORD Z1, Z1, K4, Z1; \
	VMULPS Z14, Z1, Z2; \
	EXPCLAMPZ(Z2, Z3, Z4, Z5); \
	VADDPS Z31, Z3, Z4; \
	VDIVPS Z4, Z31, Z4; \
	VMULPS Z13, Z3, Z5; \
	VMULPS Z4, Z5, Z5; \
	VMULPS Z4, Z5, Z5; \
	VMULPS Z6, Z5, Z4

// func tanhGrad512(dx, x, dy *float32, n int)
TEXT ·tanhGrad512(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	CONSTS
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX // whole blocks of 16
	JZ tanhGrad_tail
tanhGrad_loop:
	VMOVUPS (SI)(AX*1), Z0
	VMOVUPS (DX)(AX*1), Z6
	BODY_TANHGRAD
	VMOVUPS Z4, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ tanhGrad_loop
tanhGrad_tail:
	ANDQ $15, CX
	JZ tanhGrad_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1 // the first n%16 lanes
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	VMOVUPS.Z (DX)(AX*1), K1, Z6
	BODY_TANHGRAD
	VMOVUPS Z4, K1, (DI)(AX*1)
tanhGrad_done:
	VZEROUPPER
	RET

// BODY_RELU: Z0 = x -> Z4 = max(x, 0) (Go's min-based sequence, as reluAVX2).
#define BODY_RELU \
	VXORPS Z27, Z0, Z0; \
	VMINPS Z27, Z0, Z1; \
	VMINPS Z0, Z1, Z2; \
	VORPS Z1, Z2, Z2; \
	VXORPS Z27, Z2, Z4

// func relu512(dst, x *float32, n int)
TEXT ·relu512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	CONSTS
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX // whole blocks of 16
	JZ relu_tail
relu_loop:
	VMOVUPS (SI)(AX*1), Z0
	BODY_RELU
	VMOVUPS Z4, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ relu_loop
relu_tail:
	ANDQ $15, CX
	JZ relu_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1 // the first n%16 lanes
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	BODY_RELU
	VMOVUPS Z4, K1, (DI)(AX*1)
relu_done:
	VZEROUPPER
	RET

// BODY_RELUGRAD: Z0 = x, Z6 = dy -> Z4 = dy·step(x).
#define BODY_RELUGRAD \
	VCMPPS $0x1e, Z30, Z0, K3; \
	VMOVAPS.Z Z31, K3, Z1; \
	VCMPPS $3, Z0, Z0, K4; \
	VMOVAPS Z0, K4, Z1; \
	VMULPS Z6, Z1, Z4

// func reluGrad512(dx, x, dy *float32, n int)
TEXT ·reluGrad512(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	CONSTS
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX // whole blocks of 16
	JZ reluGrad_tail
reluGrad_loop:
	VMOVUPS (SI)(AX*1), Z0
	VMOVUPS (DX)(AX*1), Z6
	BODY_RELUGRAD
	VMOVUPS Z4, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ reluGrad_loop
reluGrad_tail:
	ANDQ $15, CX
	JZ reluGrad_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1 // the first n%16 lanes
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	VMOVUPS.Z (DX)(AX*1), K1, Z6
	BODY_RELUGRAD
	VMOVUPS Z4, K1, (DI)(AX*1)
reluGrad_done:
	VZEROUPPER
	RET

// The row softmax (softmax32Row of softmax.go), with the constants of CONSTS where EXP32Z wants
// them and Z26-Z29 reused: Z29 = -Inf, Z28 = the canonical NaN, Z27 = exp32Min, Z26 = -104.
// Registers per row: Z0 x, Z1 m (broadcast), Z2 d, Z3 lo, Z5 e, Z6 the float64 sums; Z8-Z14
// are scratch for the float64 exp of a block with a subnormal probability.

DATA kninf<>+0(SB)/4, $0xff800000
GLOBL kninf<>(SB), RODATA|NOPTR, $4
DATA kqnan<>+0(SB)/4, $0x7fc00000
GLOBL kqnan<>(SB), RODATA|NOPTR, $4
DATA kexpmin<>+0(SB)/4, $0xc2aea8f6
GLOBL kexpmin<>(SB), RODATA|NOPTR, $4
DATA km104<>+0(SB)/4, $0xc2d00000
GLOBL km104<>(SB), RODATA|NOPTR, $4
DATA kone64<>+0(SB)/8, $0x3ff0000000000000
GLOBL kone64<>(SB), RODATA|NOPTR, $8
DATA kinvln2<>+0(SB)/8, $0x3ff71547652b82fe
GLOBL kinvln2<>(SB), RODATA|NOPTR, $8
DATA kln2hi64<>+0(SB)/8, $0x3fe62e42fee00000
GLOBL kln2hi64<>(SB), RODATA|NOPTR, $8
DATA kln2lo64<>+0(SB)/8, $0x3dea39ef35793c76
GLOBL kln2lo64<>(SB), RODATA|NOPTR, $8
DATA kshift64<>+0(SB)/8, $0x4338000000000000
GLOBL kshift64<>(SB), RODATA|NOPTR, $8
DATA kbias64<>+0(SB)/8, $1023
GLOBL kbias64<>(SB), RODATA|NOPTR, $8
DATA kc11<>+0(SB)/8, $0x3e5ae64567f544e4
GLOBL kc11<>(SB), RODATA|NOPTR, $8
DATA kc10<>+0(SB)/8, $0x3e927e4fb7789f5c
GLOBL kc10<>(SB), RODATA|NOPTR, $8
DATA kc9<>+0(SB)/8, $0x3ec71de3a556c734
GLOBL kc9<>(SB), RODATA|NOPTR, $8
DATA kc8<>+0(SB)/8, $0x3efa01a01a01a01a
GLOBL kc8<>(SB), RODATA|NOPTR, $8
DATA kc7<>+0(SB)/8, $0x3f2a01a01a01a01a
GLOBL kc7<>(SB), RODATA|NOPTR, $8
DATA kc6<>+0(SB)/8, $0x3f56c16c16c16c17
GLOBL kc6<>(SB), RODATA|NOPTR, $8
DATA kc5<>+0(SB)/8, $0x3f81111111111111
GLOBL kc5<>(SB), RODATA|NOPTR, $8
DATA kc4<>+0(SB)/8, $0x3fa5555555555555
GLOBL kc4<>(SB), RODATA|NOPTR, $8
DATA kc3<>+0(SB)/8, $0x3fc5555555555555
GLOBL kc3<>(SB), RODATA|NOPTR, $8
DATA kc2<>+0(SB)/8, $0x3fe0000000000000
GLOBL kc2<>(SB), RODATA|NOPTR, $8

// TWOSUMZ(v, m, d, lo, t): d = v - m, lo = (v - (d - bb)) - (m + bb) with bb = d - v.
#define TWOSUMZ(v, m, d, lo, t) \
	VSUBPS m, v, d; \
	VSUBPS v, d, lo; \
	VSUBPS lo, d, t; \
	VSUBPS t, v, t; \
	VADDPS lo, m, lo; \
	VSUBPS lo, t, lo

// EXPBANDZ(dd, e, t, k, r): e = expBand(dd) on 8 float64 lanes (e float64; softmax.go); t, k, r
// clobbered.
#define EXPBANDZ(dd, e, t, k, r) \
	VMULPD.BCST kinvln2<>(SB), dd, t; \
	VADDPD.BCST kshift64<>(SB), t, t; \
	VSUBPD.BCST kshift64<>(SB), t, k; \
	VMULPD.BCST kln2hi64<>(SB), k, r; \
	VSUBPD r, dd, r; \
	VMULPD.BCST kln2lo64<>(SB), k, k; \
	VSUBPD k, r, r; \
	VMULPD.BCST kc11<>(SB), r, e; \
	VADDPD.BCST kc10<>(SB), e, e; \
	VMULPD r, e, e; \
	VADDPD.BCST kc9<>(SB), e, e; \
	VMULPD r, e, e; \
	VADDPD.BCST kc8<>(SB), e, e; \
	VMULPD r, e, e; \
	VADDPD.BCST kc7<>(SB), e, e; \
	VMULPD r, e, e; \
	VADDPD.BCST kc6<>(SB), e, e; \
	VMULPD r, e, e; \
	VADDPD.BCST kc5<>(SB), e, e; \
	VMULPD r, e, e; \
	VADDPD.BCST kc4<>(SB), e, e; \
	VMULPD r, e, e; \
	VADDPD.BCST kc3<>(SB), e, e; \
	VMULPD r, e, e; \
	VADDPD.BCST kc2<>(SB), e, e; \
	VMULPD r, e, e; \
	VADDPD.BCST kone64<>(SB), e, e; \
	VMULPD r, e, e; \
	VADDPD.BCST kone64<>(SB), e, e; \
	VPSUBQ.BCST kshift64<>(SB), t, k; \
	VPADDQ.BCST kbias64<>(SB), k, k; \
	VPSLLQ $52, k, k; \
	VMULPD k, e, e

// EXPROW: from x (Z0, lanes past the row -Inf) and m (Z1) set e (Z5): exp32(d, lo) where
// d > exp32Min, expBand(x - m in float64) where -104 < d <= exp32Min (computed only when the
// block has such a lane), 0 below. Clobbers Z2-Z4, Z8-Z14, K2, K3.
#define EXPROW(band, back) \
	TWOSUMZ(Z0, Z1, Z2, Z3, Z4); \
	EXPTAIL(band, back)

// EXPROWTINY is EXPROW for a row whose max is below 2^-25 in magnitude: d and lo are set to +0
// where |d| < 2^-25, so that exp32 gives its 1 there without products of d, which are subnormal
// in such a row (TINYD of act_amd64.s). Clobbers K2 too.
#define EXPROWTINY(band, back) \
	TWOSUMZ(Z0, Z1, Z2, Z3, Z4); \
	VANDPS.BCST kabsmask<>(SB), Z2, Z4; \
	VCMPPS.BCST $5, ktiny25<>(SB), Z4, K2; \
	VMOVAPS.Z Z2, K2, Z2; \
	VMOVAPS.Z Z3, K2, Z3; \
	EXPTAIL(band, back)

// EXPTAIL is EXPROW after the TwoSum.
#define EXPTAIL(band, back) \
	EXP32Z(Z2, Z3, Z5, Z4, Z8); \
	VCMPPS $0x1e, Z27, Z2, K2; \
	VMOVAPS.Z Z5, K2, Z5; \
	VCMPPS $0x1e, Z26, Z2, K3; \
	KANDNW K3, K2, K3; \
	KORTESTW K3, K3; \
	JNZ band; \
back:

// BAND(back): the float64 exp for the lanes of K3, merged into Z5, then back.
#define BAND(back) \
	VCVTSS2SD X1, X1, X9; \
	VBROADCASTSD X9, Z9; \
	VCVTPS2PD Y0, Z10; \
	VSUBPD Z9, Z10, Z10; \
	EXPBANDZ(Z10, Z11, Z12, Z13, Z14); \
	VCVTPD2PS Z11, Y11; \
	VEXTRACTF32X8 $1, Z0, Y10; \
	VCVTPS2PD Y10, Z10; \
	VSUBPD Z9, Z10, Z10; \
	EXPBANDZ(Z10, Z8, Z12, Z13, Z14); \
	VCVTPD2PS Z8, Y8; \
	VINSERTF32X8 $1, Y8, Z11, Z11; \
	VMOVAPS Z11, K3, Z5; \
	JMP back

// ADDE: Z6 (8 float64) += e (Z5) lanes 0-7, then lanes 8-15, the order of s[j%8] += e_j.
#define ADDE \
	VCVTPS2PD Y5, Z3; \
	VADDPD Z3, Z6, Z6; \
	VEXTRACTF32X8 $1, Z5, Y4; \
	VCVTPS2PD Y4, Z4; \
	VADDPD Z4, Z6, Z6

// INV: Z6 = 1 / ((t0 + t2) + (t1 + t3)) in every lane, t_k = s_k + s_k+4 (s in Z6).
#define INV \
	VEXTRACTF64X4 $1, Z6, Y3; \
	VADDPD Y3, Y6, Y6; \
	VEXTRACTF128 $1, Y6, X3; \
	VADDPD X3, X6, X6; \
	VPERMILPD $1, X6, X3; \
	VADDSD X3, X6, X6; \
	VMOVSD kone64<>(SB), X3; \
	VDIVSD X6, X3, X6; \
	VBROADCASTSD X6, Z6

// SCALEE(e, ey, out): out = float32(float64(e)·inv) on 16 lanes (inv in Z6; ey is e's lower
// half). Clobbers Z3, Z4.
#define SCALEE(e, ey, out) \
	VCVTPS2PD ey, Z3; \
	VMULPD Z6, Z3, Z3; \
	VEXTRACTF32X8 $1, e, Y4; \
	VCVTPS2PD Y4, Z4; \
	VMULPD Z6, Z4, Z4; \
	VCVTPD2PS Z3, Y3; \
	VCVTPD2PS Z4, Y4; \
	VINSERTF32X8 $1, Y4, Z3, out

// HMAX(v, vy, m): every lane of m = the largest lane of v (vy: its lower half). Clobbers Z3, Z4.
#define HMAX(v, vy, m) \
	VEXTRACTF32X8 $1, v, Y3; \
	VMAXPS Y3, vy, Y3; \
	VEXTRACTF128 $1, Y3, X4; \
	VMAXPS X4, X3, X3; \
	VPERMILPS $0x4e, X3, X4; \
	VMAXPS X4, X3, X3; \
	VPERMILPS $0xb1, X3, X4; \
	VMAXPS X4, X3, X3; \
	VBROADCASTSS X3, m

// PASS2(row, loop, last, band, back, lband, lback): pass 2 of a wide row with row (EXPROW or
// EXPROWTINY) for each block: e stored into dst and summed into Z6, the last block under K1.
#define PASS2(row, loop, last, band, back, lband, lback) \
	VPXORQ Z6, Z6, Z6; \
	XORQ AX, AX; \
loop: \
	CMPQ AX, R10; \
	JGE last; \
	VMOVUPS (SI)(AX*1), Z0; \
	row(band, back); \
	VMOVUPS Z5, (DI)(AX*1); \
	ADDE; \
	ADDQ $64, AX; \
	JMP loop; \
last: \
	VMOVAPS Z29, Z0; \
	VMOVUPS (SI)(AX*1), K1, Z0; \
	row(lband, lback); \
	VMOVUPS Z5, K1, (DI)(AX*1); \
	ADDE

// TINYMAX(tiny) jumps to tiny if the row's max (every lane of Z1) is below 2^-25 in magnitude.
// Clobbers Z4, K2.
#define TINYMAX(tiny) \
	VANDPS.BCST kabsmask<>(SB), Z1, Z4; \
	VCMPPS.BCST $1, ktiny25<>(SB), Z4, K2; \
	KORTESTW K2, K2; \
	JNZ tiny

// func softmax512(dst, x *float32, rows, cols int)
//
// Every row, cols >= 1. Rows of up to 16 are one masked register (K1); wider rows make three
// passes over blocks of 16 (max and a NaN/+Inf test; e stored into dst and summed; scaled), the
// last block under K1. A row with a NaN or +Inf, or only -Inf, is stored as NaN.
TEXT ·softmax512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ cols+24(FP), R9
	CONSTS
	VBROADCASTSS kninf<>(SB), Z29
	VBROADCASTSS kqnan<>(SB), Z28
	VBROADCASTSS kexpmin<>(SB), Z27
	VBROADCASTSS km104<>(SB), Z26
	MOVQ R9, R12
	SHLQ $2, R12 // row bytes
	MOVQ R9, CX
	ANDQ $15, CX // lanes of the last block (0: a whole one)
	MOVL $0xffff, BX
	JZ sm_mask
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
sm_mask:
	KMOVW BX, K1
	MOVQ R9, R10
	SUBQ $1, R10
	SHRQ $4, R10
	SHLQ $6, R10 // byte offset of the last block
	CMPQ R9, $16
	JGT sm_wide

sm_short:
	TESTQ R8, R8
	JZ sm_done
	VMOVAPS Z29, Z0
	VMOVUPS (SI), K1, Z0
	VFPCLASSPSZ $0x89, Z0, K2 // NaN or +Inf
	KORTESTW K2, K2
	JNZ sm_short_nan
	HMAX(Z0, Y0, Z1)
	VCMPPS $0, Z29, Z1, K2 // m = -Inf: the row is all -Inf
	KORTESTW K2, K2
	JNZ sm_short_nan
	TINYMAX(sm_short_tiny)
	EXPROW(sm_short_band, sm_short_back)
sm_short_sum:
	VPXORQ Z6, Z6, Z6
	ADDE
	INV
	SCALEE(Z5, Y5, Z5)
	VMOVUPS Z5, K1, (DI)
sm_short_next:
	ADDQ R12, SI
	ADDQ R12, DI
	DECQ R8
	JMP sm_short
sm_short_nan:
	VMOVUPS Z28, K1, (DI)
	JMP sm_short_next
sm_short_band:
	BAND(sm_short_back)
sm_short_tiny:
	EXPROWTINY(sm_short_tband, sm_short_tback)
	JMP sm_short_sum
sm_short_tband:
	BAND(sm_short_tback)

sm_wide:
	TESTQ R8, R8
	JZ sm_done
	// Pass 1: the max (Z1) and a NaN/+Inf test (K5) over the blocks, the last one under K1.
	VMOVAPS Z29, Z1
	KXORW K5, K5, K5
	XORQ AX, AX
sm_max:
	CMPQ AX, R10
	JGE sm_max_last
	VMOVUPS (SI)(AX*1), Z0
	VMAXPS Z0, Z1, Z1
	VFPCLASSPSZ $0x89, Z0, K2
	KORW K2, K5, K5
	ADDQ $64, AX
	JMP sm_max
sm_max_last:
	VMOVAPS Z29, Z0
	VMOVUPS (SI)(AX*1), K1, Z0
	VMAXPS Z0, Z1, Z1
	VFPCLASSPSZ $0x89, Z0, K2
	KORW K2, K5, K5
	KORTESTW K5, K5
	JNZ sm_wide_nan
	HMAX(Z1, Y1, Z1)
	VCMPPS $0, Z29, Z1, K2
	KORTESTW K2, K2
	JNZ sm_wide_nan
	TINYMAX(sm_wide_tiny)

	// Pass 2: e stored into dst and summed into Z6.
	PASS2(EXPROW, sm_exp, sm_exp_last, sm_exp_band, sm_exp_back, sm_last_band, sm_last_back)
sm_wide_inv:
	INV

	// Pass 3: dst = float32(float64(e)·inv).
	XORQ AX, AX
sm_scale:
	CMPQ AX, R10
	JGE sm_scale_last
	VMOVUPS (DI)(AX*1), Z5
	SCALEE(Z5, Y5, Z5)
	VMOVUPS Z5, (DI)(AX*1)
	ADDQ $64, AX
	JMP sm_scale
sm_scale_last:
	VMOVUPS.Z (DI)(AX*1), K1, Z5
	SCALEE(Z5, Y5, Z5)
	VMOVUPS Z5, K1, (DI)(AX*1)
sm_wide_next:
	ADDQ R12, SI
	ADDQ R12, DI
	DECQ R8
	JMP sm_wide
sm_wide_nan:
	XORQ AX, AX
sm_nan_loop:
	CMPQ AX, R10
	JGE sm_nan_last
	VMOVUPS Z28, (DI)(AX*1)
	ADDQ $64, AX
	JMP sm_nan_loop
sm_nan_last:
	VMOVUPS Z28, K1, (DI)(AX*1)
	JMP sm_wide_next
sm_exp_band:
	BAND(sm_exp_back)
sm_last_band:
	BAND(sm_last_back)

	// Pass 2 of a row whose max is tiny (EXPROWTINY), then pass 3.
sm_wide_tiny:
	PASS2(EXPROWTINY, sm_texp, sm_texp_last, sm_texp_band, sm_texp_back, sm_tlast_band, sm_tlast_back)
	JMP sm_wide_inv
sm_texp_band:
	BAND(sm_texp_back)
sm_tlast_band:
	BAND(sm_tlast_back)

sm_done:
	VZEROUPPER
	RET

// func siluMul512(dst, x, s *float32, n int, lo float32)
//
// siluMulAVX2 (act_amd64.s) with AVX-512, any n: the n%16 tail under a mask.
TEXT ·siluMul512(SB), NOSPLIT, $8-36
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ s+16(FP), DX
	MOVQ n+24(FP), CX
	FTZ_ON
	VBROADCASTSS lo+32(FP), Z15
	VPXORD Z14, Z14, Z14
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ silumul512_tail
silumul512_loop:
	VMOVUPS (SI)(AX*1), Z0
	VMULPS (DX)(AX*1), Z0, Z1 // x·s
	VCMPPS $0x11, Z15, Z0, K2 // x < lo (LT_OQ: false for NaN)
	VMOVAPS Z14, K2, Z1       // +0 there
	VMOVUPS Z1, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ silumul512_loop
silumul512_tail:
	ANDQ $15, CX
	JZ silumul512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	VMOVUPS.Z (DX)(AX*1), K1, Z2
	VMULPS Z2, Z0, Z1
	VCMPPS $0x11, Z15, Z0, K2
	VMOVAPS Z14, K2, Z1
	VMOVUPS Z1, K1, (DI)(AX*1)
silumul512_done:
	FTZ_OFF
	VZEROUPPER
	RET
