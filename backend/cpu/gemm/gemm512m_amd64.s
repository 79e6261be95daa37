//go:build amd64 && !purego

#include "textflag.h"
#include "flush_amd64.h"
#include "rows512_amd64.h"

// Masked row tiles for products of fewer than 16 columns with A not transposed (narrowm.go): a
// tile of 14 rows × n columns (n < 16, the lanes of mask) of C, those of the row mask stored, one ZMM accumulator per row, A
// read in place (14 broadcasts a step of k, as sgemm512Row16) and B's row read in place under
// the mask, so that no lane past n is loaded or stored: where the 14×16 tiles compute such a
// product into a scratch tile and merge it in Go, this writes C itself. Each element of C is
// the 14×16 tiles' float32 chain over k in order (acc += a·b, A the first factor, under
// FTZ/DAZ), scaled by alpha under FTZ/DAZ (skipped at alpha = 1, which is exact there), then,
// as their Go merge does without FTZ/DAZ, t + beta·C where beta is not ±0, else t: their bits
// (TestRowTilesChangeNoProduct). AVX-512F.

// UPDM(i, acc): C's row i at DX = acc + beta·C (beta in Z31) under the column mask if bit i
// of R9 (the row mask) is set, then DX on to the next row.
#define UPDM(i, acc) \
	BTL $i, R9; \
	JCC 5(PC); \
	VMOVUPS.Z (DX), K1, Z29; \
	VMULPS Z29, Z31, Z29; \
	VADDPS Z29, acc, acc; \
	VMOVUPS acc, K1, (DX); \
	ADDQ R8, DX

// PUTM(i, acc): C's row i at DX = acc under the column mask if bit i of R9 is set, then the
// next row.
#define PUTM(i, acc) \
	BTL $i, R9; \
	JCC 2(PC); \
	VMOVUPS acc, K1, (DX); \
	ADDQ R8, DX

// func sgemm512RowM(k int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)
TEXT ·sgemm512RowM(SB), NOSPLIT, $8-72
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	MOVQ lda+40(FP), R11
	SHLQ $2, R11
	MOVQ ldb+48(FP), R10
	SHLQ $2, R10
	LEAQ (R11)(R11*2), R12
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVL mask+56(FP), AX
	KMOVW AX, K1
	MOVQ a+8(FP), SI
	LEAQ (SI)(R11*4), R13
	LEAQ (R13)(R11*4), R14
	LEAQ (R14)(R11*4), BX
	MOVQ k+0(FP), CX
	FLUSH_ON
	ZERO14

	MOVQ CX, R9
	SHRQ $2, R9
	JZ rm_tail
rm_loop4:
	VMOVUPS.Z (DI), K1, Z28
	STEPR16(0)
	VMOVUPS.Z (DI)(R10*1), K1, Z28
	STEPR16(4)
	LEAQ (DI)(R10*2), DI
	VMOVUPS.Z (DI), K1, Z28
	STEPR16(8)
	VMOVUPS.Z (DI)(R10*1), K1, Z28
	STEPR16(12)
	LEAQ (DI)(R10*2), DI
	ADDQ $16, SI
	ADDQ $16, R13
	ADDQ $16, R14
	ADDQ $16, BX
	DECQ R9
	JNZ rm_loop4

rm_tail:
	ANDQ $3, CX
	JZ rm_store
rm_loop1:
	VMOVUPS.Z (DI), K1, Z28
	STEPR16(0)
	ADDQ $4, SI
	ADDQ $4, R13
	ADDQ $4, R14
	ADDQ $4, BX
	ADDQ R10, DI
	DECQ CX
	JNZ rm_loop1

rm_store:
	MOVL rows+60(FP), R9
	MOVL alpha+64(FP), AX
	CMPL AX, $0x3f800000
	JEQ rm_unit
	VBROADCASTSS alpha+64(FP), Z31
	SCALE14(VMULPS, Z31)
rm_unit:
	FLUSH_OFF
	MOVL beta+68(FP), AX
	ANDL $0x7fffffff, AX
	JZ rm_put
	VBROADCASTSS beta+68(FP), Z31
	UPDM(0, Z0); UPDM(1, Z1); UPDM(2, Z2); UPDM(3, Z3); UPDM(4, Z4); UPDM(5, Z5); UPDM(6, Z6)
	UPDM(7, Z7); UPDM(8, Z8); UPDM(9, Z9); UPDM(10, Z10); UPDM(11, Z11); UPDM(12, Z12); UPDM(13, Z13)
	VZEROUPPER
	RET
rm_put:
	PUTM(0, Z0); PUTM(1, Z1); PUTM(2, Z2); PUTM(3, Z3); PUTM(4, Z4); PUTM(5, Z5); PUTM(6, Z6)
	PUTM(7, Z7); PUTM(8, Z8); PUTM(9, Z9); PUTM(10, Z10); PUTM(11, Z11); PUTM(12, Z12); PUTM(13, Z13)
	VZEROUPPER
	RET
