//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 float32 loops for the optimizer updates of optim.go: the AVX2 loops of optim_amd64.s
// (see there for the formulas, the byte counts and why the bits are the Go loops') on 16
// elements per ZMM register, with the same operations in the same operand order. Here every
// element is done in assembly: the n%16 tail loads every input under a mask (K1, zeroing, so no
// load reaches past a slice) and stores under it. The scalars are broadcast into Z7-Z15 as the
// AVX2 loops hold them in Y7-Y15.

#define A_DECAY 0
#define A_WD 4
#define A_B1 8
#define A_C1 12
#define A_B2 16
#define A_C2 20
#define A_STEP 24
#define A_INVBC2 28
#define A_EPS 32

#define N_CM 36

#define X_B1 0
#define X_C1 4
#define X_B2 8
#define X_EPS 12
#define X_CLR 16
#define X_WD 20

#define L_B1 0
#define L_C1 4
#define L_B2 8
#define L_C2 12
#define L_LR 16
#define L_DECAY 20

#define M_DECAY 0
#define M_WD 4
#define M_MU 8
#define M_DAMP 12
#define M_LR 16

// FTZ_ON and FTZ_OFF (ftz_amd64.h) set and restore the MXCSR's FTZ and DAZ bits.
#include "ftz_amd64.h"

#define ADAM_CONSTS \
	VBROADCASTSS A_DECAY(R10), Z15; \
	VBROADCASTSS A_WD(R10), Z14; \
	VBROADCASTSS A_B1(R10), Z13; \
	VBROADCASTSS A_C1(R10), Z12; \
	VBROADCASTSS A_B2(R10), Z11; \
	VBROADCASTSS A_C2(R10), Z10; \
	VBROADCASTSS A_STEP(R10), Z9; \
	VBROADCASTSS A_INVBC2(R10), Z8; \
	VBROADCASTSS A_EPS(R10), Z7

// ADAM_MOMENTS: from p (Z0), g (Z20), m (Z2), v (Z4) compute pi (Z0), gi (Z1), m (Z3), v (Z5).
#define ADAM_MOMENTS \
	VMULPS Z15, Z0, Z0; \
	VMULPS Z14, Z0, Z1; \
	VADDPS Z20, Z1, Z1; \
	VMULPS Z13, Z2, Z2; \
	VMULPS Z12, Z1, Z3; \
	VADDPS Z2, Z3, Z3; \
	VMULPS Z11, Z4, Z4; \
	VMULPS Z10, Z1, Z5; \
	VMULPS Z1, Z5, Z5; \
	VADDPS Z4, Z5, Z5

// ADAM_STEP: p (Z0) = pi - m·step / (sqrt(Z5)·invBC2 + eps), m in Z3 (clobbered with Z5).
#define ADAM_STEP \
	VMULPS Z9, Z3, Z6; \
	VSQRTPS Z5, Z5; \
	VMULPS Z8, Z5, Z5; \
	VADDPS Z7, Z5, Z5; \
	VDIVPS Z5, Z6, Z6; \
	VSUBPS Z6, Z0, Z0

// AMSGRAD: Z5 = max(vmax (Z21), v (Z5)) as Go computes it (see optim_amd64.s), Z22 = the sign bit.
#define AMSGRAD \
	VXORPS Z22, Z5, Z2; \
	VXORPS Z21, Z22, Z4; \
	VMINPS Z2, Z4, Z2; \
	VMINPS Z4, Z2, Z4; \
	VORPS Z2, Z4, Z4; \
	VXORPS Z22, Z4, Z5

// func adam512(p, grad, m, v *float32, n int, k *adamConsts)
TEXT ·adam512(SB), NOSPLIT, $8-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), R10
	FTZ_ON
	ADAM_CONSTS
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ adam512_tail
adam512_loop:
	VMOVUPS (DI)(AX*1), Z0
	VMOVUPS (SI)(AX*1), Z20
	VMOVUPS (DX)(AX*1), Z2
	VMOVUPS (R8)(AX*1), Z4
	ADAM_MOMENTS
	VMOVAPS Z5, Z23 // v, stored below
	ADAM_STEP
	VMOVUPS Z3, (DX)(AX*1)
	VMOVUPS Z23, (R8)(AX*1)
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ adam512_loop
adam512_tail:
	ANDQ $15, CX
	JZ adam512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	VMOVUPS.Z (DI)(AX*1), K1, Z0
	VMOVUPS.Z (SI)(AX*1), K1, Z20
	VMOVUPS.Z (DX)(AX*1), K1, Z2
	VMOVUPS.Z (R8)(AX*1), K1, Z4
	ADAM_MOMENTS
	VMOVAPS Z5, Z23 // v, stored below
	ADAM_STEP
	VMOVUPS Z3, K1, (DX)(AX*1)
	VMOVUPS Z23, K1, (R8)(AX*1)
	VMOVUPS Z0, K1, (DI)(AX*1)
adam512_done:
	FTZ_OFF
	VZEROUPPER
	RET

// NADAM_STEP: p (Z0) = pi - (gi·cg + m·cm) / (sqrt(v·invBC2) + eps), gi in Z1, m in Z3, v in
// Z5 (both kept), cg in Z9, cm in Z16.
#define NADAM_STEP \
	VMULPS Z8, Z5, Z6; \
	VSQRTPS Z6, Z6; \
	VADDPS Z7, Z6, Z6; \
	VMULPS Z9, Z1, Z24; \
	VMULPS Z16, Z3, Z25; \
	VADDPS Z25, Z24, Z24; \
	VDIVPS Z6, Z24, Z24; \
	VSUBPS Z24, Z0, Z0

// func nadam512(p, grad, m, v *float32, n int, k *nadamConsts)
TEXT ·nadam512(SB), NOSPLIT, $8-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), R10
	FTZ_ON
	ADAM_CONSTS
	VBROADCASTSS N_CM(R10), Z16
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ nadam512_tail
nadam512_loop:
	VMOVUPS (DI)(AX*1), Z0
	VMOVUPS (SI)(AX*1), Z20
	VMOVUPS (DX)(AX*1), Z2
	VMOVUPS (R8)(AX*1), Z4
	ADAM_MOMENTS
	NADAM_STEP
	VMOVUPS Z3, (DX)(AX*1)
	VMOVUPS Z5, (R8)(AX*1)
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ nadam512_loop
nadam512_tail:
	ANDQ $15, CX
	JZ nadam512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	VMOVUPS.Z (DI)(AX*1), K1, Z0
	VMOVUPS.Z (SI)(AX*1), K1, Z20
	VMOVUPS.Z (DX)(AX*1), K1, Z2
	VMOVUPS.Z (R8)(AX*1), K1, Z4
	ADAM_MOMENTS
	NADAM_STEP
	VMOVUPS Z3, K1, (DX)(AX*1)
	VMOVUPS Z5, K1, (R8)(AX*1)
	VMOVUPS Z0, K1, (DI)(AX*1)
nadam512_done:
	FTZ_OFF
	VZEROUPPER
	RET

// RADAM_STEP: p (Z0) = pi - (sbc2 / (sqrt(v) + eps))·(m·step), m in Z3, v in Z5 (both kept);
// RADAM_PLAIN: p = pi - m·step.
#define RADAM_STEP \
	VSQRTPS Z5, Z6; \
	VADDPS Z7, Z6, Z6; \
	VDIVPS Z6, Z8, Z6; \
	VMULPS Z9, Z3, Z24; \
	VMULPS Z24, Z6, Z24; \
	VSUBPS Z24, Z0, Z0

#define RADAM_PLAIN \
	VMULPS Z9, Z3, Z24; \
	VSUBPS Z24, Z0, Z0

// RADAM_BODY(step): load under K1 (all ones but in the tail), compute, store under K1.
#define RADAM_BODY(stepm) \
	VMOVUPS.Z (DI)(AX*1), K1, Z0; \
	VMOVUPS.Z (SI)(AX*1), K1, Z20; \
	VMOVUPS.Z (DX)(AX*1), K1, Z2; \
	VMOVUPS.Z (R8)(AX*1), K1, Z4; \
	ADAM_MOMENTS; \
	stepm; \
	VMOVUPS Z3, K1, (DX)(AX*1); \
	VMOVUPS Z5, K1, (R8)(AX*1); \
	VMOVUPS Z0, K1, (DI)(AX*1)

// func radam512(p, grad, m, v *float32, n int, k *adamConsts, rectified bool)
TEXT ·radam512(SB), NOSPLIT, $8-49
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), R10
	FTZ_ON
	ADAM_CONSTS
	XORQ AX, AX
	MOVL $0xffff, BX
	KMOVW BX, K1
	MOVQ CX, BX
	SHRQ $4, BX
	CMPB rectified+48(FP), $0
	JEQ radam512_plain
	TESTQ BX, BX
	JZ radam512_tail
radam512_loop:
	RADAM_BODY(RADAM_STEP)
	ADDQ $64, AX
	DECQ BX
	JNZ radam512_loop
radam512_tail:
	ANDQ $15, CX
	JZ radam512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	RADAM_BODY(RADAM_STEP)
	JMP radam512_done
radam512_plain:
	TESTQ BX, BX
	JZ radam512_ptail
radam512_ploop:
	RADAM_BODY(RADAM_PLAIN)
	ADDQ $64, AX
	DECQ BX
	JNZ radam512_ploop
radam512_ptail:
	ANDQ $15, CX
	JZ radam512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	RADAM_BODY(RADAM_PLAIN)
radam512_done:
	FTZ_OFF
	VZEROUPPER
	RET

// ADAMAX: from p (Z0), g (Z20), m (Z2), u (Z4) compute p (Z0), m (Z3), u (Z4) as adamaxAVX2
// does, the sign bit in Z22.
#define ADAMAX \
	VMULPS Z10, Z0, Z1; \
	VADDPS Z20, Z1, Z1; \
	VMULPS Z15, Z2, Z2; \
	VMULPS Z14, Z1, Z3; \
	VADDPS Z2, Z3, Z3; \
	VMULPS Z13, Z4, Z4; \
	VANDNPS Z1, Z22, Z5; \
	VADDPS Z12, Z5, Z5; \
	VXORPS Z22, Z5, Z5; \
	VXORPS Z22, Z4, Z4; \
	VMINPS Z5, Z4, Z5; \
	VMINPS Z4, Z5, Z4; \
	VORPS Z5, Z4, Z4; \
	VXORPS Z22, Z4, Z4; \
	VDIVPS Z4, Z3, Z6; \
	VMULPS Z11, Z6, Z6; \
	VSUBPS Z6, Z0, Z0

// func adamax512(p, grad, m, u *float32, n int, k *adamaxConsts)
TEXT ·adamax512(SB), NOSPLIT, $8-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ u+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), R10
	FTZ_ON
	VBROADCASTSS X_B1(R10), Z15
	VBROADCASTSS X_C1(R10), Z14
	VBROADCASTSS X_B2(R10), Z13
	VBROADCASTSS X_EPS(R10), Z12
	VBROADCASTSS X_CLR(R10), Z11
	VBROADCASTSS X_WD(R10), Z10
	MOVL $0x80000000, BX
	VPBROADCASTD BX, Z22
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ adamax512_tail
adamax512_loop:
	VMOVUPS (DI)(AX*1), Z0
	VMOVUPS (SI)(AX*1), Z20
	VMOVUPS (DX)(AX*1), Z2
	VMOVUPS (R8)(AX*1), Z4
	ADAMAX
	VMOVUPS Z3, (DX)(AX*1)
	VMOVUPS Z4, (R8)(AX*1)
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ adamax512_loop
adamax512_tail:
	ANDQ $15, CX
	JZ adamax512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	VMOVUPS.Z (DI)(AX*1), K1, Z0
	VMOVUPS.Z (SI)(AX*1), K1, Z20
	VMOVUPS.Z (DX)(AX*1), K1, Z2
	VMOVUPS.Z (R8)(AX*1), K1, Z4
	ADAMAX
	VMOVUPS Z3, K1, (DX)(AX*1)
	VMOVUPS Z4, K1, (R8)(AX*1)
	VMOVUPS Z0, K1, (DI)(AX*1)
adamax512_done:
	FTZ_OFF
	VZEROUPPER
	RET

// LION: from m (Z0), g (Z1), p (Z4) compute p (Z4) and m (Z0) as lionAVX2 does; the sign bit
// in Z9, 1 in Z8, 0 in Z7.
#define LION \
	VMULPS Z15, Z0, Z2; \
	VMULPS Z14, Z1, Z3; \
	VADDPS Z3, Z2, Z2; \
	VCMPPS $0x0C, Z7, Z2, K2; \
	VPANDD Z9, Z2, Z5; \
	VPORD Z8, Z5, Z5; \
	VMOVAPS Z5, K2, Z2; \
	VMULPS Z10, Z4, Z4; \
	VMULPS Z11, Z2, Z2; \
	VSUBPS Z2, Z4, Z4; \
	VMULPS Z13, Z0, Z0; \
	VMULPS Z12, Z1, Z1; \
	VADDPS Z1, Z0, Z0

// func lion512(p, grad, m *float32, n int, k *lionConsts)
TEXT ·lion512(SB), NOSPLIT, $8-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R10
	FTZ_ON
	VBROADCASTSS L_B1(R10), Z15
	VBROADCASTSS L_C1(R10), Z14
	VBROADCASTSS L_B2(R10), Z13
	VBROADCASTSS L_C2(R10), Z12
	VBROADCASTSS L_LR(R10), Z11
	VBROADCASTSS L_DECAY(R10), Z10
	MOVL $0x80000000, BX
	VPBROADCASTD BX, Z9
	MOVL $0x3f800000, BX
	VPBROADCASTD BX, Z8
	VPXORD Z7, Z7, Z7
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ lion512_tail
lion512_loop:
	VMOVUPS (DX)(AX*1), Z0
	VMOVUPS (SI)(AX*1), Z1
	VMOVUPS (DI)(AX*1), Z4
	LION
	VMOVUPS Z4, (DI)(AX*1)
	VMOVUPS Z0, (DX)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ lion512_loop
lion512_tail:
	ANDQ $15, CX
	JZ lion512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	VMOVUPS.Z (DX)(AX*1), K1, Z0
	VMOVUPS.Z (SI)(AX*1), K1, Z1
	VMOVUPS.Z (DI)(AX*1), K1, Z4
	LION
	VMOVUPS Z4, K1, (DI)(AX*1)
	VMOVUPS Z0, K1, (DX)(AX*1)
lion512_done:
	FTZ_OFF
	VZEROUPPER
	RET

// func adamMax512(p, grad, m, v, vmax *float32, n int, k *adamConsts)
TEXT ·adamMax512(SB), NOSPLIT, $8-56
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ vmax+32(FP), R9
	MOVQ n+40(FP), CX
	MOVQ k+48(FP), R10
	FTZ_ON
	ADAM_CONSTS
	MOVL $0x80000000, BX
	VPBROADCASTD BX, Z22 // the sign bit
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ adamMax512_tail
adamMax512_loop:
	VMOVUPS (DI)(AX*1), Z0
	VMOVUPS (SI)(AX*1), Z20
	VMOVUPS (DX)(AX*1), Z2
	VMOVUPS (R8)(AX*1), Z4
	VMOVUPS (R9)(AX*1), Z21
	ADAM_MOMENTS
	VMOVAPS Z5, Z23 // v, stored below
	AMSGRAD
	VMOVAPS Z5, Z24 // vh
	ADAM_STEP
	VMOVUPS Z3, (DX)(AX*1)
	VMOVUPS Z23, (R8)(AX*1)
	VMOVUPS Z24, (R9)(AX*1)
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ adamMax512_loop
adamMax512_tail:
	ANDQ $15, CX
	JZ adamMax512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	VMOVUPS.Z (DI)(AX*1), K1, Z0
	VMOVUPS.Z (SI)(AX*1), K1, Z20
	VMOVUPS.Z (DX)(AX*1), K1, Z2
	VMOVUPS.Z (R8)(AX*1), K1, Z4
	VMOVUPS.Z (R9)(AX*1), K1, Z21
	ADAM_MOMENTS
	VMOVAPS Z5, Z23 // v, stored below
	AMSGRAD
	VMOVAPS Z5, Z24 // vh
	ADAM_STEP
	VMOVUPS Z3, K1, (DX)(AX*1)
	VMOVUPS Z23, K1, (R8)(AX*1)
	VMOVUPS Z24, K1, (R9)(AX*1)
	VMOVUPS Z0, K1, (DI)(AX*1)
adamMax512_done:
	FTZ_OFF
	VZEROUPPER
	RET

// func momentum512(p, grad, buf *float32, n int, k *momentumConsts)
TEXT ·momentum512(SB), NOSPLIT, $8-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ buf+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R10
	FTZ_ON
	VBROADCASTSS M_MU(R10), Z15
	VBROADCASTSS M_DAMP(R10), Z14
	VBROADCASTSS M_LR(R10), Z13
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ momentum512_tail
momentum512_loop:
	VMOVUPS (DX)(AX*1), Z0
	VMOVUPS (SI)(AX*1), Z1
	VMOVUPS (DI)(AX*1), Z2
	VMULPS Z15, Z0, Z0 // buf·mu
	VMULPS Z14, Z1, Z1 // g·damp
	VADDPS Z1, Z0, Z0  // b = buf·mu + g·damp
	VMULPS Z13, Z0, Z3 // b·lr
	VSUBPS Z3, Z2, Z2  // p - b·lr
	VMOVUPS Z0, (DX)(AX*1)
	VMOVUPS Z2, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ momentum512_loop
momentum512_tail:
	ANDQ $15, CX
	JZ momentum512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	VMOVUPS.Z (DX)(AX*1), K1, Z0
	VMOVUPS.Z (SI)(AX*1), K1, Z1
	VMOVUPS.Z (DI)(AX*1), K1, Z2
	VMULPS Z15, Z0, Z0 // buf·mu
	VMULPS Z14, Z1, Z1 // g·damp
	VADDPS Z1, Z0, Z0  // b = buf·mu + g·damp
	VMULPS Z13, Z0, Z3 // b·lr
	VSUBPS Z3, Z2, Z2  // p - b·lr
	VMOVUPS Z0, K1, (DX)(AX*1)
	VMOVUPS Z2, K1, (DI)(AX*1)
momentum512_done:
	FTZ_OFF
	VZEROUPPER
	RET

// func sgd512(p, grad *float32, n int, k *momentumConsts)
//
// sgdAVX2 with AVX-512: 16 elements a step, the last n%16 under a mask.
TEXT ·sgd512(SB), NOSPLIT, $8-32
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ k+24(FP), R10
	FTZ_ON
	VBROADCASTSS M_DECAY(R10), Z15
	VBROADCASTSS M_WD(R10), Z14
	VBROADCASTSS M_LR(R10), Z13
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ sgd512_tail
sgd512_loop:
	VMOVUPS (DI)(AX*1), Z0
	VMOVUPS (SI)(AX*1), Z1
	VMULPS Z15, Z0, Z0 // pi = p·decay
	VMULPS Z14, Z0, Z2 // pi·wd
	VADDPS Z1, Z2, Z2  // + g
	VMULPS Z13, Z2, Z2 // ·lr
	VSUBPS Z2, Z0, Z0  // pi - (pi·wd + g)·lr
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ sgd512_loop
sgd512_tail:
	ANDQ $15, CX
	JZ sgd512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	VMOVUPS.Z (DI)(AX*1), K1, Z0
	VMOVUPS.Z (SI)(AX*1), K1, Z1
	VMULPS Z15, Z0, Z0 // pi = p·decay
	VMULPS Z14, Z0, Z2 // pi·wd
	VADDPS Z1, Z2, Z2  // + g
	VMULPS Z13, Z2, Z2 // ·lr
	VSUBPS Z2, Z0, Z0  // pi - (pi·wd + g)·lr
	VMOVUPS Z0, K1, (DI)(AX*1)
sgd512_done:
	FTZ_OFF
	VZEROUPPER
	RET

// NESTEROV: from p (Z0), g (Z4), buf (Z1) compute p (Z0) and buf (Z1) as nesterovAVX2 does.
#define NESTEROV \
	VMULPS Z15, Z0, Z0; \
	VMULPS Z14, Z0, Z2; \
	VADDPS Z4, Z2, Z2; \
	VMULPS Z13, Z1, Z1; \
	VMULPS Z12, Z2, Z3; \
	VADDPS Z3, Z1, Z1; \
	VMULPS Z13, Z1, Z5; \
	VADDPS Z2, Z5, Z2; \
	VMULPS Z11, Z2, Z2; \
	VSUBPS Z2, Z0, Z0

// func nesterov512(p, grad, buf *float32, n int, k *momentumConsts)
//
// nesterovAVX2 with AVX-512, any n.
TEXT ·nesterov512(SB), NOSPLIT, $8-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ buf+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R10
	FTZ_ON
	VBROADCASTSS M_DECAY(R10), Z15
	VBROADCASTSS M_WD(R10), Z14
	VBROADCASTSS M_MU(R10), Z13
	VBROADCASTSS M_DAMP(R10), Z12
	VBROADCASTSS M_LR(R10), Z11
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ nesterov512_tail
nesterov512_loop:
	VMOVUPS (DI)(AX*1), Z0
	VMOVUPS (DX)(AX*1), Z1
	VMOVUPS (SI)(AX*1), Z4
	NESTEROV
	VMOVUPS Z1, (DX)(AX*1)
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ nesterov512_loop
nesterov512_tail:
	ANDQ $15, CX
	JZ nesterov512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	VMOVUPS.Z (DI)(AX*1), K1, Z0
	VMOVUPS.Z (DX)(AX*1), K1, Z1
	VMOVUPS.Z (SI)(AX*1), K1, Z4
	NESTEROV
	VMOVUPS Z1, K1, (DX)(AX*1)
	VMOVUPS Z0, K1, (DI)(AX*1)
nesterov512_done:
	FTZ_OFF
	VZEROUPPER
	RET

// func momentumDecay512(p, grad, buf *float32, n int, k *momentumConsts)
TEXT ·momentumDecay512(SB), NOSPLIT, $8-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ buf+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R10
	FTZ_ON
	VBROADCASTSS M_DECAY(R10), Z15
	VBROADCASTSS M_WD(R10), Z14
	VBROADCASTSS M_MU(R10), Z13
	VBROADCASTSS M_DAMP(R10), Z12
	VBROADCASTSS M_LR(R10), Z11
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ momentumDecay512_tail
momentumDecay512_loop:
	VMOVUPS (DI)(AX*1), Z0
	VMOVUPS (DX)(AX*1), Z1
	VMOVUPS (SI)(AX*1), Z4
	VMULPS Z15, Z0, Z0 // pi = p·decay
	VMULPS Z13, Z1, Z1 // buf·mu
	VMULPS Z14, Z0, Z2 // pi·wd
	VADDPS Z4, Z2, Z2  // + g
	VMULPS Z12, Z2, Z2 // ·damp
	VADDPS Z2, Z1, Z1  // b = buf·mu + (pi·wd + g)·damp
	VMULPS Z11, Z1, Z3 // b·lr
	VSUBPS Z3, Z0, Z0  // pi - b·lr
	VMOVUPS Z1, (DX)(AX*1)
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ momentumDecay512_loop
momentumDecay512_tail:
	ANDQ $15, CX
	JZ momentumDecay512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	VMOVUPS.Z (DI)(AX*1), K1, Z0
	VMOVUPS.Z (DX)(AX*1), K1, Z1
	VMOVUPS.Z (SI)(AX*1), K1, Z4
	VMULPS Z15, Z0, Z0 // pi = p·decay
	VMULPS Z13, Z1, Z1 // buf·mu
	VMULPS Z14, Z0, Z2 // pi·wd
	VADDPS Z4, Z2, Z2  // + g
	VMULPS Z12, Z2, Z2 // ·damp
	VADDPS Z2, Z1, Z1  // b = buf·mu + (pi·wd + g)·damp
	VMULPS Z11, Z1, Z3 // b·lr
	VSUBPS Z3, Z0, Z0  // pi - b·lr
	VMOVUPS Z1, K1, (DX)(AX*1)
	VMOVUPS Z0, K1, (DI)(AX*1)
momentumDecay512_done:
	FTZ_OFF
	VZEROUPPER
	RET

// func rmsprop512(p, grad, sq *float32, n int, k *rmspropConsts)
//
// rmspropAVX2 (optim_amd64.s) on 16 lanes, the tail under K1, under FTZ and DAZ likewise.
#define RMSPROP \
	VMULPS Z14, Z0, Z1; \
	VADDPS Z20, Z1, Z1; \
	VMULPS Z13, Z2, Z2; \
	VMULPS Z12, Z1, Z3; \
	VMULPS Z1, Z3, Z3; \
	VADDPS Z3, Z2, Z3; \
	VMULPS Z10, Z1, Z4; \
	VSQRTPS Z3, Z5; \
	VADDPS Z11, Z5, Z5; \
	VDIVPS Z5, Z4, Z4; \
	VSUBPS Z4, Z0, Z0

TEXT ·rmsprop512(SB), NOSPLIT, $8-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ sq+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R10
	FTZ_ON
	VBROADCASTSS 0(R10), Z14
	VBROADCASTSS 4(R10), Z13
	VBROADCASTSS 8(R10), Z12
	VBROADCASTSS 12(R10), Z11
	VBROADCASTSS 16(R10), Z10
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ rmsprop512_tail
rmsprop512_loop:
	VMOVUPS (DI)(AX*1), Z0
	VMOVUPS (SI)(AX*1), Z20
	VMOVUPS (DX)(AX*1), Z2
	RMSPROP
	VMOVUPS Z3, (DX)(AX*1)
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ rmsprop512_loop
rmsprop512_tail:
	ANDQ $15, CX
	JZ rmsprop512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	VMOVUPS.Z (DI)(AX*1), K1, Z0
	VMOVUPS.Z (SI)(AX*1), K1, Z20
	VMOVUPS.Z (DX)(AX*1), K1, Z2
	RMSPROP
	VMOVUPS Z3, K1, (DX)(AX*1)
	VMOVUPS Z0, K1, (DI)(AX*1)
rmsprop512_done:
	FTZ_OFF
	VZEROUPPER
	RET
