//go:build amd64 && !purego

#include "textflag.h"
#include "ftz_amd64.h"

// Dropout's mask at AVX-512 (dropout.go): sixteen Philox4x32-10 blocks side by side, one per
// dword lane, each the 32-bit integer arithmetic of Philox4x32 exactly, so the mask is the Go
// loop's (and the CUDA kernel's) bit for bit. One step covers 64 elements: the four output words
// of the sixteen blocks are transposed into element order, and an element is kept when its top
// 24 bits are at least the threshold; y = x·scale or x·0 (so a NaN stays NaN, as in the Go loop).

DATA iota16<>+0(SB)/4, $0
DATA iota16<>+4(SB)/4, $1
DATA iota16<>+8(SB)/4, $2
DATA iota16<>+12(SB)/4, $3
DATA iota16<>+16(SB)/4, $4
DATA iota16<>+20(SB)/4, $5
DATA iota16<>+24(SB)/4, $6
DATA iota16<>+28(SB)/4, $7
DATA iota16<>+32(SB)/4, $8
DATA iota16<>+36(SB)/4, $9
DATA iota16<>+40(SB)/4, $10
DATA iota16<>+44(SB)/4, $11
DATA iota16<>+48(SB)/4, $12
DATA iota16<>+52(SB)/4, $13
DATA iota16<>+56(SB)/4, $14
DATA iota16<>+60(SB)/4, $15
GLOBL iota16<>(SB), RODATA|NOPTR, $64

// MULHILO(m, c, hi, lo, t): hi:lo = m·c per lane (32×32 → 64 bits), t a scratch register. The
// even lanes' products come from one VPMULUDQ, the odd lanes' from another on c shifted down;
// K2 selects the odd lanes.
#define MULHILO(m, c, hi, lo, t) \
	VPMULLD c, m, lo; \
	VPMULUDQ c, m, hi; \
	VPSRLQ $32, c, t; \
	VPMULUDQ t, m, t; \
	VPSRLQ $32, hi, hi; \
	VPBLENDMD t, hi, K2, hi

// ROUND(k): one Philox round over the counters Z0-Z3 with the round keys at k(AX) and 4+k(AX):
// c0, c1, c2, c3 = hi(M1·c2)^c1^k0, lo(M1·c2), hi(M0·c0)^c3^k1, lo(M0·c0).
#define ROUND(k) \
	MULHILO(Z4, Z0, Z6, Z7, Z8); \
	MULHILO(Z5, Z2, Z9, Z10, Z8); \
	VPBROADCASTD k(AX), Z11; \
	VPTERNLOGD $0x96, Z11, Z1, Z9; \
	VPBROADCASTD 4+k(AX), Z11; \
	VPTERNLOGD $0x96, Z11, Z3, Z6; \
	VMOVDQA32 Z9, Z0; \
	VMOVDQA32 Z10, Z1; \
	VMOVDQA32 Z6, Z2; \
	VMOVDQA32 Z7, Z3

// OUT(e, off): the 16 elements of e (their Philox words) at byte offset off: kept where
// e>>8 >= thr (Z13), y = x·(scale or 0).
#define OUT(e, off) \
	VPSRLD $8, e, e; \
	VPCMPUD $5, Z13, e, K1; \
	VBLENDMPS Z14, Z15, K1, Z20; \
	VMULPS off(SI), Z20, Z20; \
	VMOVUPS Z20, off(DI)

// func dropout512(y, x *float32, n int, blk uint32, ctr *[3]uint32, keys *[20]uint32, thr uint32, scale float32)
//
// For the n elements (a multiple of 64) from element 4·blk of the tensor: y[i] = x[i]·scale if
// word i mod 4 of Philox4x32-10((blk + i/4, ctr[0], ctr[1], ctr[2]), round keys) >> 8 >= thr,
// else x[i]·0. keys holds each round's (k0, k1).
TEXT ·dropout512(SB), NOSPLIT, $8-56
	// Under FTZ/DAZ (ftz_amd64.h), as dropoutRange computes for float32: a subnormal x is kept as
	// a zero of its sign (x·scale with scale >= 1 is subnormal for no other x).
	FTZ_ON
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ ctr+32(FP), DX
	MOVQ keys+40(FP), AX
	MOVL blk+24(FP), BX
	VPBROADCASTD BX, Z16
	VPBROADCASTD 0(DX), Z17
	VPBROADCASTD 4(DX), Z18
	VPBROADCASTD 8(DX), Z19
	MOVL thr+48(FP), BX
	VPBROADCASTD BX, Z13
	VBROADCASTSS scale+52(FP), Z14
	VPXORD Z15, Z15, Z15
	MOVL $0xD2511F53, BX
	VPBROADCASTD BX, Z4
	MOVL $0xCD9E8D57, BX
	VPBROADCASTD BX, Z5
	MOVL $0xAAAA, BX
	KMOVW BX, K2
	VMOVDQU32 iota16<>(SB), Z12 // the lanes' block offsets 0-15
	MOVL $16, BX
	VPBROADCASTD BX, Z21
	VPADDD Z12, Z16, Z16 // the first step's block counters
	SHRQ $6, CX
	JZ dropout512_done
dropout512_loop:
	VMOVDQA32 Z16, Z0
	VMOVDQA32 Z17, Z1
	VMOVDQA32 Z18, Z2
	VMOVDQA32 Z19, Z3
	ROUND(0)
	ROUND(8)
	ROUND(16)
	ROUND(24)
	ROUND(32)
	ROUND(40)
	ROUND(48)
	ROUND(56)
	ROUND(64)
	ROUND(72)
	// Z0-Z3 = words 0-3 of blocks 0-15; into element order (4×4 transposes of dwords, then of
	// 128-bit lanes): Z6, Z7, Z8, Z9 = elements 0-15, 16-31, 32-47, 48-63.
	VPUNPCKLDQ Z1, Z0, Z6
	VPUNPCKHDQ Z1, Z0, Z7
	VPUNPCKLDQ Z3, Z2, Z8
	VPUNPCKHDQ Z3, Z2, Z9
	VPUNPCKLQDQ Z8, Z6, Z0 // blocks 4l+0, one per 128-bit lane l
	VPUNPCKHQDQ Z8, Z6, Z1 // 4l+1
	VPUNPCKLQDQ Z9, Z7, Z2 // 4l+2
	VPUNPCKHQDQ Z9, Z7, Z3 // 4l+3
	VSHUFI32X4 $0x44, Z1, Z0, Z6
	VSHUFI32X4 $0xee, Z1, Z0, Z7
	VSHUFI32X4 $0x44, Z3, Z2, Z8
	VSHUFI32X4 $0xee, Z3, Z2, Z9
	VSHUFI32X4 $0x88, Z8, Z6, Z0
	VSHUFI32X4 $0xdd, Z8, Z6, Z1
	VSHUFI32X4 $0x88, Z9, Z7, Z2
	VSHUFI32X4 $0xdd, Z9, Z7, Z3
	OUT(Z0, 0)
	OUT(Z1, 64)
	OUT(Z2, 128)
	OUT(Z3, 192)
	VPADDD Z21, Z16, Z16
	ADDQ $256, SI
	ADDQ $256, DI
	DECQ CX
	JNZ dropout512_loop
dropout512_done:
	FTZ_OFF
	VZEROUPPER
	RET
