//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 loops of batch normalisation's per-channel float64 sums (batchnorm.go): eight channels
// side by side, one lane each. Each call covers n elements (a multiple of 8) of one image's rows
// of the eight channels, row k at x + off[k] (floats); R8-R15 hold off[0..7]. Per block of 8
// elements the eight rows are converted to float64 (one ZMM each) and transposed, so that lane k
// of column j is row k's element j, and the columns are added to the accumulators in order: every
// lane is the scalar loop's chain for its channel, the same float64 operations in the same order
// (no FMA), so the bits are the Go loop's.

// OFFSETS loads the eight row offsets from the array at reg into R8-R15.
#define OFFSETS(reg) \
	MOVQ 0(reg), R8; \
	MOVQ 8(reg), R9; \
	MOVQ 16(reg), R10; \
	MOVQ 24(reg), R11; \
	MOVQ 32(reg), R12; \
	MOVQ 40(reg), R13; \
	MOVQ 48(reg), R14; \
	MOVQ 56(reg), R15

// LOAD8(base, r0, ..., r7): r_k = float64 of the 8 floats of row k at base.
#define LOAD8(base, r0, r1, r2, r3, r4, r5, r6, r7) \
	VCVTPS2PD (base)(R8*4), r0; \
	VCVTPS2PD (base)(R9*4), r1; \
	VCVTPS2PD (base)(R10*4), r2; \
	VCVTPS2PD (base)(R11*4), r3; \
	VCVTPS2PD (base)(R12*4), r4; \
	VCVTPS2PD (base)(R13*4), r5; \
	VCVTPS2PD (base)(R14*4), r6; \
	VCVTPS2PD (base)(R15*4), r7

// TRANSPOSE8 transposes the 8×8 float64 block in r0-r7 (rows) into t0-t7 (t_j = column j);
// r0-r7 are clobbered. Pairs of rows are interleaved within 128-bit lanes, then the 128-bit lanes
// are gathered in two VSHUFF64X2 stages.
#define TRANSPOSE8(r0, r1, r2, r3, r4, r5, r6, r7, t0, t1, t2, t3, t4, t5, t6, t7) \
	VUNPCKLPD r1, r0, t0; \
	VUNPCKHPD r1, r0, t1; \
	VUNPCKLPD r3, r2, t2; \
	VUNPCKHPD r3, r2, t3; \
	VUNPCKLPD r5, r4, t4; \
	VUNPCKHPD r5, r4, t5; \
	VUNPCKLPD r7, r6, t6; \
	VUNPCKHPD r7, r6, t7; \
	VSHUFF64X2 $0x88, t2, t0, r0; \
	VSHUFF64X2 $0x88, t3, t1, r1; \
	VSHUFF64X2 $0xdd, t2, t0, r2; \
	VSHUFF64X2 $0xdd, t3, t1, r3; \
	VSHUFF64X2 $0x88, t6, t4, r4; \
	VSHUFF64X2 $0x88, t7, t5, r5; \
	VSHUFF64X2 $0xdd, t6, t4, r6; \
	VSHUFF64X2 $0xdd, t7, t5, r7; \
	VSHUFF64X2 $0x88, r4, r0, t0; \
	VSHUFF64X2 $0xdd, r4, r0, t4; \
	VSHUFF64X2 $0x88, r5, r1, t1; \
	VSHUFF64X2 $0xdd, r5, r1, t5; \
	VSHUFF64X2 $0x88, r6, r2, t2; \
	VSHUFF64X2 $0xdd, r6, r2, t6; \
	VSHUFF64X2 $0x88, r7, r3, t3; \
	VSHUFF64X2 $0xdd, r7, r3, t7

// COLUMNS(base): Z0-Z7 = the eight columns of the block at base.
#define COLUMNS(base) \
	LOAD8(base, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23); \
	TRANSPOSE8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)

// func bnSum512(acc *[8]float64, x *float32, off *[8]int, n int)
//
// acc[k] += float64(x[off[k]+i]) for i < n, in order.
TEXT ·bnSum512(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ off+16(FP), AX
	MOVQ n+24(FP), CX
	OFFSETS(AX)
	VMOVUPD (DI), Z26
	SHRQ $3, CX
	JZ bnSum512_done
bnSum512_loop:
	COLUMNS(SI)
	VADDPD Z0, Z26, Z26
	VADDPD Z1, Z26, Z26
	VADDPD Z2, Z26, Z26
	VADDPD Z3, Z26, Z26
	VADDPD Z4, Z26, Z26
	VADDPD Z5, Z26, Z26
	VADDPD Z6, Z26, Z26
	VADDPD Z7, Z26, Z26
	ADDQ $32, SI
	DECQ CX
	JNZ bnSum512_loop
bnSum512_done:
	VMOVUPD Z26, (DI)
	VZEROUPPER
	RET

// SQ(col): d = col − mean (Z24); acc (Z26) += d·d.
#define SQ(col) \
	VSUBPD Z24, col, col; \
	VMULPD col, col, col; \
	VADDPD col, Z26, Z26

// func bnSq512(acc *[8]float64, x *float32, off *[8]int, n int, mean *[8]float64)
//
// acc[k] += d·d with d = float64(x[off[k]+i]) − mean[k], for i < n in order.
TEXT ·bnSq512(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ off+16(FP), AX
	MOVQ n+24(FP), CX
	MOVQ mean+32(FP), DX
	OFFSETS(AX)
	VMOVUPD (DI), Z26
	VMOVUPD (DX), Z24
	SHRQ $3, CX
	JZ bnSq512_done
bnSq512_loop:
	COLUMNS(SI)
	SQ(Z0)
	SQ(Z1)
	SQ(Z2)
	SQ(Z3)
	SQ(Z4)
	SQ(Z5)
	SQ(Z6)
	SQ(Z7)
	ADDQ $32, SI
	DECQ CX
	JNZ bnSq512_loop
bnSq512_done:
	VMOVUPD Z26, (DI)
	VZEROUPPER
	RET

// DYX(xc, dc): a (Z26) += dc; e (Z27) += dc·(xc − mean)·invstd (mean Z24, invstd Z25), in the
// Go expression's order: (dc·(xc−mean))·invstd.
#define DYX(xc, dc) \
	VADDPD dc, Z26, Z26; \
	VSUBPD Z24, xc, xc; \
	VMULPD xc, dc, xc; \
	VMULPD Z25, xc, xc; \
	VADDPD xc, Z27, Z27

// func bnDyx512(acc *[16]float64, x, dy *float32, off *[8]int, n int, mean, invstd *[8]float64)
//
// acc[k] += float64(dy[j]) and acc[8+k] += float64(dy[j])·(float64(x[j])−mean[k])·invstd[k]
// with j = off[k]+i, for i < n in order.
TEXT ·bnDyx512(SB), NOSPLIT, $0-56
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), BX
	MOVQ off+24(FP), AX
	MOVQ n+32(FP), CX
	MOVQ mean+40(FP), DX
	OFFSETS(AX)
	MOVQ invstd+48(FP), AX
	VMOVUPD (DI), Z26
	VMOVUPD 64(DI), Z27
	VMOVUPD (DX), Z24
	VMOVUPD (AX), Z25
	SHRQ $3, CX
	JZ bnDyx512_done
bnDyx512_loop:
	COLUMNS(SI)
	LOAD8(BX, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	TRANSPOSE8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	DYX(Z0, Z8)
	DYX(Z1, Z9)
	DYX(Z2, Z10)
	DYX(Z3, Z11)
	DYX(Z4, Z12)
	DYX(Z5, Z13)
	DYX(Z6, Z14)
	DYX(Z7, Z15)
	ADDQ $32, SI
	ADDQ $32, BX
	DECQ CX
	JNZ bnDyx512_loop
bnDyx512_done:
	VMOVUPD Z26, (DI)
	VMOVUPD Z27, 64(DI)
	VZEROUPPER
	RET

// The elementwise passes, 8 elements per step in float64, each the Go loop's operations in its
// order (no FMA), then rounded to float32 as the Go conversion does.

// func bnAffine512(dst, x *float32, n int, scale, shift float64)
//
// dst[i] = float32(float64(x[i])·scale + shift) for i < n (a multiple of 8).
TEXT ·bnAffine512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSD scale+24(FP), Z24
	VBROADCASTSD shift+32(FP), Z25
	SHRQ $3, CX
	JZ bnAffine512_done
bnAffine512_loop:
	VCVTPS2PD (SI), Z0
	VMULPD Z24, Z0, Z0
	VADDPD Z25, Z0, Z0
	VCVTPD2PS Z0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ bnAffine512_loop
bnAffine512_done:
	VZEROUPPER
	RET

// func bnInput512(dx, x, dy *float32, n int, p *[5]float64)
//
// With (mean, invstd, g, mdy, mdyx) = p: dx[i] = float32(g·((dy − mdy) − ((x − mean)·invstd)·mdyx))
// in float64, for i < n (a multiple of 8).
TEXT ·bnInput512(SB), NOSPLIT, $0-40
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), BX
	MOVQ n+24(FP), CX
	MOVQ p+32(FP), AX
	VBROADCASTSD 0(AX), Z24
	VBROADCASTSD 8(AX), Z25
	VBROADCASTSD 16(AX), Z26
	VBROADCASTSD 24(AX), Z27
	VBROADCASTSD 32(AX), Z28
	SHRQ $3, CX
	JZ bnInput512_done
bnInput512_loop:
	VCVTPS2PD (SI), Z0
	VCVTPS2PD (BX), Z1
	VSUBPD Z24, Z0, Z0 // x − mean
	VMULPD Z25, Z0, Z0 // x̂
	VSUBPD Z27, Z1, Z1 // dy − mdy
	VMULPD Z28, Z0, Z0 // x̂·mdyx
	VSUBPD Z0, Z1, Z1
	VMULPD Z1, Z26, Z1 // g·(…)
	VCVTPD2PS Z1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DI
	DECQ CX
	JNZ bnInput512_loop
bnInput512_done:
	VZEROUPPER
	RET
