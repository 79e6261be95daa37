//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 float32 loops for the activations of activation32.go, 16 elements per ZMM register: the
// same operations, in the same order, as the AVX2 loops of act_amd64.s and the Go references
// (see there for what each computes and why the bits are the Go code's). Here every element is
// done in assembly, the n%16 tail with a mask (K1) on its loads and stores; the selections are
// mask registers (VCMPPS into K, VPMOVD2M for the sign) and merge- or zero-masked moves. The
// constants live in Z7-Z31, broadcast once per call.

DATA kone<>+0(SB)/4, $0x3f800000
GLOBL kone<>(SB), RODATA|NOPTR, $4
DATA kclamp<>+0(SB)/4, $0xc2af3333
GLOBL kclamp<>(SB), RODATA|NOPTR, $4
DATA kfltmin<>+0(SB)/4, $0x00800000
GLOBL kfltmin<>(SB), RODATA|NOPTR, $4
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

// EXPCLAMPZ(a, e, n, r) sets e = flush(exp32(max(a, sigClamp), 0)); a is clamped in place.
#define EXPCLAMPZ(a, e, n, r) \
	VMAXPS a, Z29, a; \
	EXP32Z(a, Z30, e, n, r); \
	VCMPPS $5, Z28, e, K2; \
	VMOVAPS.Z e, K2, e

// BODY_SIGMOID: Z0 = x -> Z4 = σ(x).
#define BODY_SIGMOID \
	VORPS Z27, Z0, Z1; \
	EXPCLAMPZ(Z1, Z3, Z4, Z5); \
	VADDPS Z31, Z3, Z4; \
	VDIVPS Z4, Z31, Z4; \
	VMULPS Z4, Z3, Z5; \
	VPMOVD2M Z0, K3; \
	VMOVAPS Z5, K3, Z4

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
	VMULPS Z14, Z1, Z2; \
	EXPCLAMPZ(Z2, Z3, Z4, Z5); \
	VSUBPS Z3, Z31, Z4; \
	VADDPS Z31, Z3, Z5; \
	VDIVPS Z5, Z4, Z4; \
	VANDPS Z27, Z0, Z5; \
	VORPS Z5, Z4, Z4; \
	VMULPS Z0, Z0, Z5; \
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

