//go:build amd64 && !purego

#include "textflag.h"

// AVX2 float32 loops for the optimizer updates of optim.go, 8 elements per iteration in one YMM
// register each. Each computes exactly what its Go loop computes:
//
//	adamAVX2           pi = p·decay; gi = g + wd·pi; m = b1·m + c1·gi; v = b2·v + c2·gi·gi
//	                   p = pi - step·m / (sqrt(v)·invBC2 + eps)
//	                   28 bytes per element (read p, g, m, v; write p, m, v), 14 mul/add + sqrt + div
//	adamMaxAVX2        the same with vmax = max(vmax, v) under the square root (AMSGrad)
//	                   36 bytes per element, Go's max as its 7-instruction MINSS sequence
//	momentumAVX2       b = mu·buf + damp·g; buf = b; p -= lr·b
//	                   20 bytes per element (read p, g, buf; write p, buf), 5 mul/add
//	momentumDecayAVX2  pi = p·decay; b = mu·buf + damp·(g + wd·pi); buf = b; p = pi - lr·b
//	                   20 bytes per element, 8 mul/add
//
// Bit-identical to the Go loops, and so independent of how the CPU backend splits a tensor:
// every operation is a separate VMULPS/VADDPS/VSUBPS/VDIVPS/VSQRTPS, rounded to float32 exactly
// as the scalar MULSS/ADDSS/SUBSS/DIVSS/SQRTSS the Go compiler emits, in the Go expression's
// order. There is deliberately no FMA (Go does not fuse float32 expressions at GOAMD64=v1), and
// the two source operands of each instruction are in the order of the compiler's scalar code
// (go build -gcflags=-S, go1.26.8), so that even the NaN payload a two-NaN operation keeps is the
// same; TestOptimAsmKeepsNaNPayloads notices if a compiler changes that order.
// The Go caller does the n%8 tail. Alignment is not assumed.
//
// Adam is bound by the square root and the division when scalar (SQRTSS and DIVSS per element);
// eight lanes per instruction make it bound by memory bandwidth like the others. Benchmark with
//
//	go test -run xxx -bench 'AdamStep|MomentumStep' -benchtime 10x -count 5 ./optim/
//	go test -run xxx -bench 'OptimAsm' ./kernels/     (one core, assembly against the Go loop)
//
// and compare ours with copy (the same bytes moved) in the same run.

// Offsets of adamConsts and momentumConsts in optim_amd64.go.
#define A_DECAY 0
#define A_WD 4
#define A_B1 8
#define A_C1 12
#define A_B2 16
#define A_C2 20
#define A_STEP 24
#define A_INVBC2 28
#define A_EPS 32

#define N_CM 36 // nadamConsts: adamConsts' layout with cg at A_STEP, then cm

// adamaxConsts in optim_amd64.go.
#define X_B1 0
#define X_C1 4
#define X_B2 8
#define X_EPS 12
#define X_CLR 16
#define X_WD 20

// lionConsts in optim_amd64.go.
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

// ADAM_MOMENTS computes, for the 8 elements at byte offset AX, pi (Y0), gi (Y1), m (Y3, stored)
// and v (Y5, stored). The scalar "OPSS Xa, Xb" (Xb = Xb op Xa) is written "VOPPS Ya, Yb, Yb":
//
//	pi = p·decay; gi = pi·wd + g; m = gi·c1 + m·b1; v = gi·c2·gi + v·b2
#define ADAM_MOMENTS \
	VMOVUPS (DI)(AX*1), Y0; \
	VMULPS Y15, Y0, Y0; \
	VMULPS Y14, Y0, Y1; \
	VADDPS (SI)(AX*1), Y1, Y1; \
	VMOVUPS (DX)(AX*1), Y2; \
	VMULPS Y13, Y2, Y2; \
	VMULPS Y12, Y1, Y3; \
	VADDPS Y2, Y3, Y3; \
	VMOVUPS Y3, (DX)(AX*1); \
	VMOVUPS (R8)(AX*1), Y4; \
	VMULPS Y11, Y4, Y4; \
	VMULPS Y10, Y1, Y5; \
	VMULPS Y1, Y5, Y5; \
	VADDPS Y4, Y5, Y5; \
	VMOVUPS Y5, (R8)(AX*1)

// ADAM_STEP stores p = pi - m·step / (sqrt(Y5)·invBC2 + eps) from pi (Y0) and m (Y3).
#define ADAM_STEP \
	VMULPS Y9, Y3, Y3; \
	VSQRTPS Y5, Y5; \
	VMULPS Y8, Y5, Y5; \
	VADDPS Y7, Y5, Y5; \
	VDIVPS Y5, Y3, Y3; \
	VSUBPS Y3, Y0, Y0; \
	VMOVUPS Y0, (DI)(AX*1)

// ADAM_CONSTS broadcasts the adamConsts at R10 into Y7-Y15.
#define ADAM_CONSTS \
	VBROADCASTSS A_DECAY(R10), Y15; \
	VBROADCASTSS A_WD(R10), Y14; \
	VBROADCASTSS A_B1(R10), Y13; \
	VBROADCASTSS A_C1(R10), Y12; \
	VBROADCASTSS A_B2(R10), Y11; \
	VBROADCASTSS A_C2(R10), Y10; \
	VBROADCASTSS A_STEP(R10), Y9; \
	VBROADCASTSS A_INVBC2(R10), Y8; \
	VBROADCASTSS A_EPS(R10), Y7

// func adamAVX2(p, grad, m, v *float32, n int, k *adamConsts)
TEXT ·adamAVX2(SB), NOSPLIT, $8-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), R10
	FTZ_ON
	ADAM_CONSTS
	SHLQ $2, CX // n in bytes
	XORQ AX, AX
	TESTQ CX, CX
	JZ adam_done
adam_loop:
	ADAM_MOMENTS
	ADAM_STEP
	ADDQ $32, AX
	CMPQ AX, CX
	JB adam_loop
adam_done:
	FTZ_OFF
	VZEROUPPER
	RET

// NADAM_STEP stores p = pi - (gi·cg + m·cm) / (sqrt(v·invBC2) + eps) from pi (Y0), gi (Y1),
// m (Y3) and v (Y5), cg in Y9 and cm in Y6.
#define NADAM_STEP \
	VMULPS Y8, Y5, Y5; \
	VSQRTPS Y5, Y5; \
	VADDPS Y7, Y5, Y5; \
	VMULPS Y9, Y1, Y1; \
	VMULPS Y6, Y3, Y3; \
	VADDPS Y3, Y1, Y1; \
	VDIVPS Y5, Y1, Y1; \
	VSUBPS Y1, Y0, Y0; \
	VMOVUPS Y0, (DI)(AX*1)

// func nadamAVX2(p, grad, m, v *float32, n int, k *nadamConsts)
//
// NAdam's update (package optim) under FTZ and DAZ, as nadamFTZ (ftz.go) emulates in Go: Adam's
// moments (ADAM_MOMENTS), then p = pi - (gi·cg + m·cm) / (sqrt(v·invBC2) + eps). n is a
// multiple of 8.
TEXT ·nadamAVX2(SB), NOSPLIT, $8-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), R10
	FTZ_ON
	ADAM_CONSTS
	VBROADCASTSS N_CM(R10), Y6
	SHLQ $2, CX // n in bytes
	XORQ AX, AX
	TESTQ CX, CX
	JZ nadam_done
nadam_loop:
	ADAM_MOMENTS
	NADAM_STEP
	ADDQ $32, AX
	CMPQ AX, CX
	JB nadam_loop
nadam_done:
	FTZ_OFF
	VZEROUPPER
	RET

// RADAM_STEP stores p = pi - (sbc2 / (sqrt(v) + eps))·(m·step) from pi (Y0), m (Y3) and v (Y5),
// step in Y9, sbc2 in Y8 (adamConsts' invBC2 slot), eps in Y7, the product's operands in the Go
// compiler's order (TestOptimAsmKeepsNaNPayloads); RADAM_PLAIN p = pi - m·step.
#define RADAM_STEP \
	VSQRTPS Y5, Y5; \
	VADDPS Y7, Y5, Y5; \
	VDIVPS Y5, Y8, Y5; \
	VMULPS Y9, Y3, Y3; \
	VMULPS Y3, Y5, Y3; \
	VSUBPS Y3, Y0, Y0; \
	VMOVUPS Y0, (DI)(AX*1)

#define RADAM_PLAIN \
	VMULPS Y9, Y3, Y3; \
	VSUBPS Y3, Y0, Y0; \
	VMOVUPS Y0, (DI)(AX*1)

// func radamAVX2(p, grad, m, v *float32, n int, k *adamConsts, rectified bool)
//
// RAdam's update (package optim) under FTZ and DAZ, as radamFTZ (ftz.go) emulates in Go: Adam's
// moments (ADAM_MOMENTS), then RADAM_STEP where the variance is rectified, RADAM_PLAIN where it
// is not. n is a multiple of 8.
TEXT ·radamAVX2(SB), NOSPLIT, $8-49
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), R10
	FTZ_ON
	ADAM_CONSTS
	SHLQ $2, CX // n in bytes
	XORQ AX, AX
	TESTQ CX, CX
	JZ radam_done
	CMPB rectified+48(FP), $0
	JEQ radam_plain
radam_loop:
	ADAM_MOMENTS
	RADAM_STEP
	ADDQ $32, AX
	CMPQ AX, CX
	JB radam_loop
	JMP radam_done
radam_plain:
	ADAM_MOMENTS
	RADAM_PLAIN
	ADDQ $32, AX
	CMPQ AX, CX
	JB radam_plain
radam_done:
	FTZ_OFF
	VZEROUPPER
	RET

// func adamaxAVX2(p, grad, m, u *float32, n int, k *adamaxConsts)
//
// Adamax's update (package optim) under FTZ and DAZ, as adamaxFTZ (ftz.go) emulates in Go:
// gi = p·wd + g; m = gi·c1 + m·b1; u = max(u·b2, |gi| + eps) (Go's max, as adamMaxAVX2 computes
// it); p = p - (m/u)·clr. n is a multiple of 8.
TEXT ·adamaxAVX2(SB), NOSPLIT, $8-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ u+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), R10
	FTZ_ON
	VBROADCASTSS X_B1(R10), Y15
	VBROADCASTSS X_C1(R10), Y14
	VBROADCASTSS X_B2(R10), Y13
	VBROADCASTSS X_EPS(R10), Y12
	VBROADCASTSS X_CLR(R10), Y11
	VBROADCASTSS X_WD(R10), Y10
	MOVL $0x80000000, BX
	MOVD BX, X6
	VPBROADCASTD X6, Y6 // the sign bit
	SHLQ $2, CX
	XORQ AX, AX
	TESTQ CX, CX
	JZ adamax_done
adamax_loop:
	VMOVUPS (DI)(AX*1), Y0     // pi = p
	VMULPS  Y10, Y0, Y1        // pi·wd
	VADDPS  (SI)(AX*1), Y1, Y1 // gi = pi·wd + g
	VMOVUPS (DX)(AX*1), Y2     // m
	VMULPS  Y15, Y2, Y2        // m·b1
	VMULPS  Y14, Y1, Y3        // gi·c1
	VADDPS  Y2, Y3, Y3         // m = gi·c1 + m·b1
	VMOVUPS Y3, (DX)(AX*1)
	VMOVUPS (R8)(AX*1), Y4
	VMULPS  Y13, Y4, Y4        // x = u·b2
	VANDNPS Y1, Y6, Y5         // |gi|
	VADDPS  Y12, Y5, Y5        // y = |gi| + eps
	// u = max(x, y) as Go computes it: -min(-x, -y) with t = MINSS(-x, -y);
	// r = MINSS(t, -x) | t (see adamMaxAVX2).
	VXORPS  Y6, Y5, Y5         // -y
	VXORPS  Y6, Y4, Y4         // -x
	VMINPS  Y5, Y4, Y5         // t = min(-x, -y)
	VMINPS  Y4, Y5, Y4         // min(t, -x)
	VORPS   Y5, Y4, Y4
	VXORPS  Y6, Y4, Y4         // u
	VMOVUPS Y4, (R8)(AX*1)
	VDIVPS  Y4, Y3, Y3         // m/u
	VMULPS  Y11, Y3, Y3        // ·clr
	VSUBPS  Y3, Y0, Y0         // p - (m/u)·clr
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB adamax_loop
adamax_done:
	FTZ_OFF
	VZEROUPPER
	RET

// func lionAVX2(p, grad, m *float32, n int, k *lionConsts)
//
// Lion's update (package optim) under FTZ and DAZ, as lionFTZ (ftz.go) emulates in Go:
// c = sign(m·b1 + g·c1) (±1, a zero or a NaN kept); p = p·decay - c·lr; m = m·b2 + g·c2.
// n is a multiple of 8.
TEXT ·lionAVX2(SB), NOSPLIT, $8-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R10
	FTZ_ON
	VBROADCASTSS L_B1(R10), Y15
	VBROADCASTSS L_C1(R10), Y14
	VBROADCASTSS L_B2(R10), Y13
	VBROADCASTSS L_C2(R10), Y12
	VBROADCASTSS L_LR(R10), Y11
	VBROADCASTSS L_DECAY(R10), Y10
	MOVL $0x80000000, BX
	MOVD BX, X9
	VPBROADCASTD X9, Y9 // the sign bit
	MOVL $0x3f800000, BX
	MOVD BX, X8
	VPBROADCASTD X8, Y8 // 1
	VXORPS Y7, Y7, Y7   // 0
	SHLQ $2, CX
	XORQ AX, AX
	TESTQ CX, CX
	JZ lion_done
lion_loop:
	VMOVUPS (DX)(AX*1), Y0     // m
	VMOVUPS (SI)(AX*1), Y1     // g
	VMULPS  Y15, Y0, Y2        // m·b1
	VMULPS  Y14, Y1, Y3        // g·c1
	VADDPS  Y3, Y2, Y2         // c = m·b1 + g·c1
	VCMPPS  $0x0C, Y7, Y2, Y3  // c != 0, ordered: neither a zero nor a NaN
	VANDPS  Y9, Y2, Y4         // c's sign
	VORPS   Y8, Y4, Y4         // ±1
	VANDPS  Y3, Y4, Y4
	VANDNPS Y2, Y3, Y2         // c where it is a zero or a NaN
	VORPS   Y4, Y2, Y2         // sign(c)
	VMOVUPS (DI)(AX*1), Y4     // p
	VMULPS  Y10, Y4, Y4        // p·decay
	VMULPS  Y11, Y2, Y2        // sign(c)·lr
	VSUBPS  Y2, Y4, Y4         // p·decay - sign(c)·lr
	VMOVUPS Y4, (DI)(AX*1)
	VMULPS  Y13, Y0, Y0        // m·b2
	VMULPS  Y12, Y1, Y1        // g·c2
	VADDPS  Y1, Y0, Y0         // m = m·b2 + g·c2
	VMOVUPS Y0, (DX)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB lion_loop
lion_done:
	FTZ_OFF
	VZEROUPPER
	RET

// func adamMaxAVX2(p, grad, m, v, vmax *float32, n int, k *adamConsts)
TEXT ·adamMaxAVX2(SB), NOSPLIT, $8-56
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
	MOVD BX, X6
	VPBROADCASTD X6, Y6 // the sign bit
	SHLQ $2, CX
	XORQ AX, AX
	TESTQ CX, CX
	JZ adamMax_done
adamMax_loop:
	ADAM_MOMENTS
	// vh = max(vmax, v) as Go computes it on amd64: -min(-vmax, -v) with
	// t = MINSS(-vmax, -v); r = MINSS(t, -vmax) | t, which gets NaNs and signed zeros right.
	VXORPS  Y6, Y5, Y2         // -v
	VXORPS  (R9)(AX*1), Y6, Y4 // -vmax
	VMINPS  Y2, Y4, Y2         // t = min(-vmax, -v)
	VMINPS  Y4, Y2, Y4         // min(t, -vmax)
	VORPS   Y2, Y4, Y4
	VXORPS  Y6, Y4, Y5         // vh
	VMOVUPS Y5, (R9)(AX*1)
	ADAM_STEP
	ADDQ $32, AX
	CMPQ AX, CX
	JB adamMax_loop
adamMax_done:
	FTZ_OFF
	VZEROUPPER
	RET

// func momentumAVX2(p, grad, buf *float32, n int, k *momentumConsts)
TEXT ·momentumAVX2(SB), NOSPLIT, $8-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ buf+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R10
	FTZ_ON
	VBROADCASTSS M_MU(R10), Y15
	VBROADCASTSS M_DAMP(R10), Y14
	VBROADCASTSS M_LR(R10), Y13
	SHLQ $2, CX
	XORQ AX, AX
	TESTQ CX, CX
	JZ momentum_done
momentum_loop:
	VMOVUPS (DX)(AX*1), Y0 // buf
	VMULPS  Y15, Y0, Y0    // buf·mu
	VMOVUPS (SI)(AX*1), Y1 // g
	VMULPS  Y14, Y1, Y1    // g·damp
	VADDPS  Y1, Y0, Y0     // b = buf·mu + g·damp
	VMOVUPS Y0, (DX)(AX*1)
	VMOVUPS (DI)(AX*1), Y1 // p
	VMULPS  Y13, Y0, Y0    // b·lr
	VSUBPS  Y0, Y1, Y1     // p - b·lr
	VMOVUPS Y1, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB momentum_loop
momentum_done:
	FTZ_OFF
	VZEROUPPER
	RET

// func sgdAVX2(p, grad *float32, n int, k *momentumConsts)
//
// Plain SGD (no momentum) under FTZ and DAZ, as sgdFTZ (ftz.go) emulates in Go:
// pi = p·decay; p = pi - (pi·wd + g)·lr. n is a multiple of 8.
TEXT ·sgdAVX2(SB), NOSPLIT, $8-32
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ k+24(FP), R10
	FTZ_ON
	VBROADCASTSS M_DECAY(R10), Y15
	VBROADCASTSS M_WD(R10), Y14
	VBROADCASTSS M_LR(R10), Y13
	SHLQ $2, CX
	XORQ AX, AX
	TESTQ CX, CX
	JZ sgd_done
sgd_loop:
	VMOVUPS (DI)(AX*1), Y0     // p
	VMULPS  Y15, Y0, Y0        // pi = p·decay
	VMULPS  Y14, Y0, Y1        // pi·wd
	VADDPS  (SI)(AX*1), Y1, Y1 // + g
	VMULPS  Y13, Y1, Y1        // ·lr
	VSUBPS  Y1, Y0, Y0         // pi - (pi·wd + g)·lr
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB sgd_loop
sgd_done:
	FTZ_OFF
	VZEROUPPER
	RET

// func nesterovAVX2(p, grad, buf *float32, n int, k *momentumConsts)
//
// SGD with Nesterov momentum (not the first step) under FTZ and DAZ, as nesterovFTZ (ftz.go)
// emulates in Go: pi = p·decay; gi = pi·wd + g; b = buf·mu + gi·damp; buf = b;
// p = pi - (b·mu + gi)·lr. n is a multiple of 8.
TEXT ·nesterovAVX2(SB), NOSPLIT, $8-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ buf+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R10
	FTZ_ON
	VBROADCASTSS M_DECAY(R10), Y15
	VBROADCASTSS M_WD(R10), Y14
	VBROADCASTSS M_MU(R10), Y13
	VBROADCASTSS M_DAMP(R10), Y12
	VBROADCASTSS M_LR(R10), Y11
	SHLQ $2, CX
	XORQ AX, AX
	TESTQ CX, CX
	JZ nesterov_done
nesterov_loop:
	VMOVUPS (DI)(AX*1), Y0     // p
	VMULPS  Y15, Y0, Y0        // pi = p·decay
	VMULPS  Y14, Y0, Y2        // pi·wd
	VADDPS  (SI)(AX*1), Y2, Y2 // gi = pi·wd + g
	VMOVUPS (DX)(AX*1), Y1     // buf
	VMULPS  Y13, Y1, Y1        // buf·mu
	VMULPS  Y12, Y2, Y3        // gi·damp
	VADDPS  Y3, Y1, Y1         // b = buf·mu + gi·damp
	VMOVUPS Y1, (DX)(AX*1)
	VMULPS  Y13, Y1, Y1        // b·mu
	VADDPS  Y2, Y1, Y1         // b·mu + gi (the Go twin's operand order)
	VMULPS  Y11, Y1, Y1        // ·lr
	VSUBPS  Y1, Y0, Y0         // pi - (b·mu + gi)·lr
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB nesterov_loop
nesterov_done:
	FTZ_OFF
	VZEROUPPER
	RET

// func momentumDecayAVX2(p, grad, buf *float32, n int, k *momentumConsts)
TEXT ·momentumDecayAVX2(SB), NOSPLIT, $8-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ buf+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R10
	FTZ_ON
	VBROADCASTSS M_DECAY(R10), Y15
	VBROADCASTSS M_WD(R10), Y14
	VBROADCASTSS M_MU(R10), Y13
	VBROADCASTSS M_DAMP(R10), Y12
	VBROADCASTSS M_LR(R10), Y11
	SHLQ $2, CX
	XORQ AX, AX
	TESTQ CX, CX
	JZ momentumDecay_done
momentumDecay_loop:
	VMOVUPS (DI)(AX*1), Y0     // p
	VMULPS  Y15, Y0, Y0        // pi = p·decay
	VMOVUPS (DX)(AX*1), Y1     // buf
	VMULPS  Y13, Y1, Y1        // buf·mu
	VMULPS  Y14, Y0, Y2        // pi·wd
	VADDPS  (SI)(AX*1), Y2, Y2 // + g
	VMULPS  Y12, Y2, Y2        // ·damp
	VADDPS  Y2, Y1, Y1         // b = buf·mu + (pi·wd + g)·damp
	VMOVUPS Y1, (DX)(AX*1)
	VMULPS  Y11, Y1, Y1        // b·lr
	VSUBPS  Y1, Y0, Y0         // pi - b·lr
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB momentumDecay_loop
momentumDecay_done:
	FTZ_OFF
	VZEROUPPER
	RET


// func rmspropAVX2(p, grad, sq *float32, n int, k *rmspropConsts)
//
// Plain RMSProp with the MXCSR's flush-to-zero and denormals-are-zero bits set (and restored
// before it returns), as rmspropFTZ (rmsprop.go) emulates in Go: pi = p; gi = pi·wd + g;
// s = sq·a + (gi·ca)·gi; sq = s; p = pi - (gi·lr)/(sqrt(s) + eps). A subnormal operand or result
// made these loops 2.7x (AVX-512) to 4.3x (AVX2) slower on Zen 5 (a gradient of 1e-20 squares to
// a subnormal); an assembly function cannot be preempted and signal handlers save and restore
// the MXCSR, so no other code runs with these bits. 20 bytes per element.
TEXT ·rmspropAVX2(SB), NOSPLIT, $8-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ sq+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R10
	FTZ_ON
	VBROADCASTSS 0(R10), Y14  // wd
	VBROADCASTSS 4(R10), Y13  // a
	VBROADCASTSS 8(R10), Y12  // ca = 1-a
	VBROADCASTSS 12(R10), Y11 // eps
	VBROADCASTSS 16(R10), Y10 // lr
	SHLQ $2, CX
	XORQ AX, AX
	TESTQ CX, CX
	JZ rmsprop_done
rmsprop_loop:
	VMOVUPS (DI)(AX*1), Y0     // pi
	VMULPS Y14, Y0, Y1         // pi·wd
	VADDPS (SI)(AX*1), Y1, Y1  // gi = pi·wd + g
	VMOVUPS (DX)(AX*1), Y2
	VMULPS Y13, Y2, Y2         // sq·a
	VMULPS Y12, Y1, Y3
	VMULPS Y1, Y3, Y3          // (gi·ca)·gi
	VADDPS Y3, Y2, Y3          // s = sq·a + (gi·ca)·gi
	VMOVUPS Y3, (DX)(AX*1)
	VMULPS Y10, Y1, Y4         // gi·lr
	VSQRTPS Y3, Y3
	VADDPS Y11, Y3, Y3         // sqrt(s) + eps
	VDIVPS Y3, Y4, Y4
	VSUBPS Y4, Y0, Y0          // pi - (gi·lr)/d
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB rmsprop_loop
rmsprop_done:
	FTZ_OFF
	VZEROUPPER
	RET
