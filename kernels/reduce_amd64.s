//go:build amd64 && !purego

#include "textflag.h"

// AVX2 and AVX-512 loops of reduce.go: the bias add, the column sums (bias gradient) and the sum
// of squares (gradient norm) for float32, each the Go loop's operations in its order, so the bits
// are the same at every level: VADDPS for x + b; VCVTPS2PD then VADDPD into one float64 lane
// per column (rows in order); VCVTPS2PD, VMULPD, VADDPD into the 16 partial sums s[i%16] (no
// FMA: the Go code rounds the product, which is exact anyway, then the sum). The AVX2 loops do
// whole blocks (8 elements or columns, 16 for the squares) and leave the rest to Go; the AVX-512
// loops do the tail of a row with a mask. Alignment is not assumed.

// func addRowAVX2(dst, x, b *float32, n int)
TEXT ·addRowAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ AX, AX
addRowAVX2_loop:
	CMPQ AX, CX
	JGE addRowAVX2_done
	VMOVUPS (SI)(AX*1), Y0
	VADDPS (DX)(AX*1), Y0, Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	JMP addRowAVX2_loop
addRowAVX2_done:
	VZEROUPPER
	RET

// func addRow512(dst, x, b *float32, n int)
TEXT ·addRow512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ addRow512_tail
addRow512_loop:
	VMOVUPS (SI)(AX*1), Z0
	VADDPS (DX)(AX*1), Z0, Z0
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ $64, AX
	DECQ BX
	JNZ addRow512_loop
addRow512_tail:
	ANDQ $15, CX
	JZ addRow512_done
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	VMOVUPS.Z (DX)(AX*1), K1, Z1
	VADDPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)(AX*1)
addRow512_done:
	VZEROUPPER
	RET

// func sumColumnsAVX2(dst, src *float32, rows, cols, ld int)
//
// Per block of 8 columns: two YMM of float64 (columns 0-3, 4-7) accumulate the rows in order.
TEXT ·sumColumnsAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ cols+24(FP), R9
	MOVQ ld+32(FP), R10
	SHLQ $2, R10 // row stride in bytes
sumColumnsAVX2_block:
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	MOVQ SI, DX
	MOVQ R8, CX
sumColumnsAVX2_row:
	VCVTPS2PD (DX), Y2
	VCVTPS2PD 16(DX), Y3
	VADDPD Y2, Y0, Y0
	VADDPD Y3, Y1, Y1
	ADDQ R10, DX
	DECQ CX
	JNZ sumColumnsAVX2_row
	VCVTPD2PSY Y0, X0
	VCVTPD2PSY Y1, X1
	VMOVUPS X0, (DI)
	VMOVUPS X1, 16(DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, R9
	JNZ sumColumnsAVX2_block
	VZEROUPPER
	RET

// func sumColumns512(dst, src *float32, rows, cols, ld int)
//
// Per block of 16 columns (the last under the mask K1): two ZMM of float64 accumulate the rows.
TEXT ·sumColumns512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ cols+24(FP), R9
	MOVQ ld+32(FP), R10
	SHLQ $2, R10
sumColumns512_block:
	MOVL $0xffff, BX
	CMPQ R9, $16
	JGE sumColumns512_mask
	MOVL $1, BX
	MOVQ R9, CX
	SHLL CX, BX
	DECL BX
sumColumns512_mask:
	KMOVW BX, K1
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	MOVQ SI, DX
	MOVQ R8, CX
sumColumns512_row:
	VMOVUPS.Z (DX), K1, Z4
	VCVTPS2PD Y4, Z2
	VEXTRACTF32X8 $1, Z4, Y5
	VCVTPS2PD Y5, Z3
	VADDPD Z2, Z0, Z0
	VADDPD Z3, Z1, Z1
	ADDQ R10, DX
	DECQ CX
	JNZ sumColumns512_row
	VCVTPD2PS Z0, Y0
	VCVTPD2PS Z1, Y1
	VINSERTF32X8 $1, Y1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, R9
	JG sumColumns512_block
	VZEROUPPER
	RET

// func sumSquaresAVX2(x *float32, n int, s *[16]float64)
TEXT ·sumSquaresAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ s+16(FP), DI
	VMOVUPD (DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 64(DI), Y2
	VMOVUPD 96(DI), Y3
	SHRQ $4, CX
	JZ sumSquaresAVX2_done
sumSquaresAVX2_loop:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VMULPD Y4, Y4, Y4
	VMULPD Y5, Y5, Y5
	VMULPD Y6, Y6, Y6
	VMULPD Y7, Y7, Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $64, SI
	DECQ CX
	JNZ sumSquaresAVX2_loop
sumSquaresAVX2_done:
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	VZEROUPPER
	RET

// func sumSquares512(x *float32, n int, s *[16]float64)
TEXT ·sumSquares512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ s+16(FP), DI
	VMOVUPD (DI), Z0
	VMOVUPD 64(DI), Z1
	SHRQ $4, CX
	JZ sumSquares512_done
sumSquares512_loop:
	VCVTPS2PD (SI), Z2
	VCVTPS2PD 32(SI), Z3
	VMULPD Z2, Z2, Z2
	VMULPD Z3, Z3, Z3
	VADDPD Z2, Z0, Z0
	VADDPD Z3, Z1, Z1
	ADDQ $64, SI
	DECQ CX
	JNZ sumSquares512_loop
sumSquares512_done:
	VMOVUPD Z0, (DI)
	VMOVUPD Z1, 64(DI)
	VZEROUPPER
	RET

// col2imMask: eight set lanes, then eight clear; loaded 4·r bytes before the middle, its first r
// lanes are set.
DATA col2imMask<>+0(SB)/8, $-1
DATA col2imMask<>+8(SB)/8, $-1
DATA col2imMask<>+16(SB)/8, $-1
DATA col2imMask<>+24(SB)/8, $-1
DATA col2imMask<>+32(SB)/8, $0
DATA col2imMask<>+40(SB)/8, $0
DATA col2imMask<>+48(SB)/8, $0
DATA col2imMask<>+56(SB)/8, $0
GLOBL col2imMask<>(SB), RODATA|NOPTR, $64

// func col2imRowsAVX2(d, s *float32, n, kw, stride int)
//
// Per block of 8 elements of d: one load, kw VADDPS from the rows of s (stride apart; the sum is
// the first source, as in acc += s), one store. Four blocks at a time while 32 elements are left,
// so that four chains of dependent additions run side by side, then one at a time, then the last
// n%8 with VMASKMOVPS (the lanes past n are neither read nor written).
TEXT ·col2imRowsAVX2(SB), NOSPLIT, $0-40
	MOVQ d+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ kw+24(FP), R8
	MOVQ stride+32(FP), R9
	SHLQ $2, R9 // row stride in bytes
	SHRQ $3, CX // blocks
col2imRowsAVX2_four:
	CMPQ CX, $4
	JLT col2imRowsAVX2_one
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	MOVQ SI, DX
	MOVQ R8, BX
col2imRowsAVX2_row4:
	VADDPS (DX), Y0, Y0
	VADDPS 32(DX), Y1, Y1
	VADDPS 64(DX), Y2, Y2
	VADDPS 96(DX), Y3, Y3
	ADDQ R9, DX
	DECQ BX
	JNZ col2imRowsAVX2_row4
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $4, CX
	JMP col2imRowsAVX2_four
col2imRowsAVX2_one:
	TESTQ CX, CX
	JZ col2imRowsAVX2_tail
	VMOVUPS (DI), Y0
	MOVQ SI, DX
	MOVQ R8, BX
col2imRowsAVX2_row:
	VADDPS (DX), Y0, Y0
	ADDQ R9, DX
	DECQ BX
	JNZ col2imRowsAVX2_row
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ CX
	JMP col2imRowsAVX2_one
col2imRowsAVX2_tail:
	MOVQ n+16(FP), CX
	ANDQ $7, CX
	JZ col2imRowsAVX2_done
	LEAQ col2imMask<>+32(SB), AX
	SHLQ $2, CX
	SUBQ CX, AX // the mask's first n%8 lanes set
	VMOVUPS (AX), Y15
	VMASKMOVPS (DI), Y15, Y0
	MOVQ SI, DX
	MOVQ R8, BX
col2imRowsAVX2_rowtail:
	VMASKMOVPS (DX), Y15, Y1
	VADDPS Y1, Y0, Y0
	ADDQ R9, DX
	DECQ BX
	JNZ col2imRowsAVX2_rowtail
	VMASKMOVPS Y0, Y15, (DI)
col2imRowsAVX2_done:
	VZEROUPPER
	RET

DATA k255<>+0(SB)/4, $0x437f0000 // 255.0
GLOBL k255<>(SB), RODATA|NOPTR, $4

// func pixelsAVX2(dst *float32, src *uint8, n int)
//
// Per 8 bytes: zero-extended to int32 (VPMOVZXBD), converted exactly (VCVTDQ2PS), divided by 255
// with one rounding (VDIVPS), as float32(b)/255 in Go. Two blocks at a time where 16 are left, so
// that two divisions overlap.
TEXT ·pixelsAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS k255<>(SB), Y15
pixelsAVX2_two:
	CMPQ CX, $16
	JLT pixelsAVX2_one
	VPMOVZXBD (SI), Y0
	VPMOVZXBD 8(SI), Y1
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VDIVPS Y15, Y0, Y0
	VDIVPS Y15, Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $16, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP pixelsAVX2_two
pixelsAVX2_one:
	TESTQ CX, CX
	JZ pixelsAVX2_done
	VPMOVZXBD (SI), Y0
	VCVTDQ2PS Y0, Y0
	VDIVPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)
pixelsAVX2_done:
	VZEROUPPER
	RET

// func copyRowsAVX2(dst, src *float32, rows, cols, dstStride, srcStride, gap int)
//
// Per row: the whole 8-element vectors with VMOVUPS, the last cols%8 elements with VMASKMOVPS
// (col2imMask), so that no lane past the row is read or written; moves, so every bit (NaN
// payloads too) is kept. Then, for every row but the last, gap zeros after the row in dst.
TEXT ·copyRowsAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ cols+24(FP), R9
	MOVQ dstStride+32(FP), R13
	SHLQ $2, R13 // dst row stride in bytes
	MOVQ srcStride+40(FP), R10
	SHLQ $2, R10 // src row stride in bytes
	MOVQ gap+48(FP), DX
	MOVQ R9, R12
	ANDQ $7, R12 // tail elements
	MOVQ R12, AX
	SHLQ $2, AX
	LEAQ col2imMask<>+32(SB), BX
	SUBQ AX, BX
	VMOVUPS (BX), Y15 // the first cols%8 lanes set
	MOVQ R9, R11
	SHRQ $3, R11 // whole vectors a row
copyRowsAVX2_row:
	XORQ AX, AX
	MOVQ R11, CX
	TESTQ CX, CX
	JZ copyRowsAVX2_tail
copyRowsAVX2_vec:
	VMOVUPS (SI)(AX*1), Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	DECQ CX
	JNZ copyRowsAVX2_vec
copyRowsAVX2_tail:
	TESTQ R12, R12
	JZ copyRowsAVX2_gap
	VMASKMOVPS (SI)(AX*1), Y15, Y0
	VMASKMOVPS Y0, Y15, (DI)(AX*1)
copyRowsAVX2_gap:
	CMPQ R8, $1
	JEQ copyRowsAVX2_done // the last row has no gap
	MOVQ R9, AX
	MOVQ DX, CX
	TESTQ CX, CX
	JZ copyRowsAVX2_next
copyRowsAVX2_zero:
	MOVL $0, (DI)(AX*4)
	INCQ AX
	DECQ CX
	JNZ copyRowsAVX2_zero
copyRowsAVX2_next:
	ADDQ R13, DI
	ADDQ R10, SI
	DECQ R8
	JMP copyRowsAVX2_row
copyRowsAVX2_done:
	VZEROUPPER
	RET

// func channelBias512(dst, x, b *float32, outer, channels, inner int)
//
// dst[(o·channels + c)·inner + i] = x[...] + b[c] for o < outer, c < channels, i < inner (all
// >= 1): ChannelBiasAdd for float32. Per plane, b[c] broadcast once, then 16 elements a step and
// the last inner%16 under a mask. One VADDPS with x first, as in v + b.
TEXT ·channelBias512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ outer+24(FP), R8
	MOVQ inner+40(FP), CX
	MOVQ CX, R11
	SHRQ $4, R11 // whole vectors a plane
	ANDQ $15, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1 // the tail's lanes
	MOVQ CX, R13 // tail elements
cb512_outer:
	XORQ R12, R12 // channel
cb512_plane:
	VBROADCASTSS (DX)(R12*4), Z1
	MOVQ R11, BX
	TESTQ BX, BX
	JZ cb512_tail
cb512_vec:
	VMOVUPS (SI), Z0
	VADDPS Z1, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ BX
	JNZ cb512_vec
cb512_tail:
	TESTQ R13, R13
	JZ cb512_next
	VMOVUPS.Z (SI), K1, Z0
	VADDPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	LEAQ (SI)(R13*4), SI
	LEAQ (DI)(R13*4), DI
cb512_next:
	INCQ R12
	CMPQ R12, channels+32(FP)
	JLT cb512_plane
	DECQ R8
	JNZ cb512_outer
	VZEROUPPER
	RET

// func channelBiasAVX2(dst, x, b *float32, outer, channels, inner int)
//
// channelBias512 with AVX2: 8 elements a step, the last inner%8 under a VMASKMOVPS mask
// (col2imMask), whose lanes past the plane are neither read nor written.
TEXT ·channelBiasAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ outer+24(FP), R8
	MOVQ inner+40(FP), CX
	MOVQ CX, R11
	SHRQ $3, R11 // whole vectors a plane
	ANDQ $7, CX
	MOVQ CX, R13 // tail elements
	SHLQ $2, CX
	LEAQ col2imMask<>+32(SB), AX
	SUBQ CX, AX
	VMOVUPS (AX), Y15 // the first inner%8 lanes set
cbavx2_outer:
	XORQ R12, R12
cbavx2_plane:
	VBROADCASTSS (DX)(R12*4), Y1
	MOVQ R11, BX
	TESTQ BX, BX
	JZ cbavx2_tail
cbavx2_vec:
	VMOVUPS (SI), Y0
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ BX
	JNZ cbavx2_vec
cbavx2_tail:
	TESTQ R13, R13
	JZ cbavx2_next
	VMASKMOVPS (SI), Y15, Y0
	VADDPS Y1, Y0, Y0
	VMASKMOVPS Y0, Y15, (DI)
	LEAQ (SI)(R13*4), SI
	LEAQ (DI)(R13*4), DI
cbavx2_next:
	INCQ R12
	CMPQ R12, channels+32(FP)
	JLT cbavx2_plane
	DECQ R8
	JNZ cbavx2_outer
	VZEROUPPER
	RET
