//go:build amd64 && !purego

#include "textflag.h"

// 2×2, stride 2 max pooling of float32 planes at AVX-512 (pool.go): sixteen windows a step, each
// output row in steps of 16 windows, the last one masked. A window's elements a, b (row 2i,
// columns 2j, 2j+1) and c, d (row 2i+1) come from the rows by even/odd permutes.
//
// The forward pass is Go's max(a, b, c, d) instruction for instruction: the compiler folds it
// left to right, max(x, y) as −min(−x, −y) and min(x, y) as (MINSS(MINSS(x, y), x)) | MINSS(x, y)
// (cmd/compile's AMD64 rules), so NaN payloads and zero signs are Go's. The backward pass takes
// the argmax over the integer order keys of maxBackward2x2f32 (the first maximum, a fixed element
// with NaN) and writes u+0 there and +0 at the window's other elements.

DATA evens<>+0(SB)/4, $0
DATA evens<>+4(SB)/4, $2
DATA evens<>+8(SB)/4, $4
DATA evens<>+12(SB)/4, $6
DATA evens<>+16(SB)/4, $8
DATA evens<>+20(SB)/4, $10
DATA evens<>+24(SB)/4, $12
DATA evens<>+28(SB)/4, $14
DATA evens<>+32(SB)/4, $16
DATA evens<>+36(SB)/4, $18
DATA evens<>+40(SB)/4, $20
DATA evens<>+44(SB)/4, $22
DATA evens<>+48(SB)/4, $24
DATA evens<>+52(SB)/4, $26
DATA evens<>+56(SB)/4, $28
DATA evens<>+60(SB)/4, $30
GLOBL evens<>(SB), RODATA|NOPTR, $64

DATA odds<>+0(SB)/4, $1
DATA odds<>+4(SB)/4, $3
DATA odds<>+8(SB)/4, $5
DATA odds<>+12(SB)/4, $7
DATA odds<>+16(SB)/4, $9
DATA odds<>+20(SB)/4, $11
DATA odds<>+24(SB)/4, $13
DATA odds<>+28(SB)/4, $15
DATA odds<>+32(SB)/4, $17
DATA odds<>+36(SB)/4, $19
DATA odds<>+40(SB)/4, $21
DATA odds<>+44(SB)/4, $23
DATA odds<>+48(SB)/4, $25
DATA odds<>+52(SB)/4, $27
DATA odds<>+56(SB)/4, $29
DATA odds<>+60(SB)/4, $31
GLOBL odds<>(SB), RODATA|NOPTR, $64

// zipLo and zipHi interleave two vectors: lanes 0-15 and 16-31 of (x0, y0, x1, y1, ...).
DATA zipLo<>+0(SB)/4, $0
DATA zipLo<>+4(SB)/4, $16
DATA zipLo<>+8(SB)/4, $1
DATA zipLo<>+12(SB)/4, $17
DATA zipLo<>+16(SB)/4, $2
DATA zipLo<>+20(SB)/4, $18
DATA zipLo<>+24(SB)/4, $3
DATA zipLo<>+28(SB)/4, $19
DATA zipLo<>+32(SB)/4, $4
DATA zipLo<>+36(SB)/4, $20
DATA zipLo<>+40(SB)/4, $5
DATA zipLo<>+44(SB)/4, $21
DATA zipLo<>+48(SB)/4, $6
DATA zipLo<>+52(SB)/4, $22
DATA zipLo<>+56(SB)/4, $7
DATA zipLo<>+60(SB)/4, $23
GLOBL zipLo<>(SB), RODATA|NOPTR, $64

DATA zipHi<>+0(SB)/4, $8
DATA zipHi<>+4(SB)/4, $24
DATA zipHi<>+8(SB)/4, $9
DATA zipHi<>+12(SB)/4, $25
DATA zipHi<>+16(SB)/4, $10
DATA zipHi<>+20(SB)/4, $26
DATA zipHi<>+24(SB)/4, $11
DATA zipHi<>+28(SB)/4, $27
DATA zipHi<>+32(SB)/4, $12
DATA zipHi<>+36(SB)/4, $28
DATA zipHi<>+40(SB)/4, $13
DATA zipHi<>+44(SB)/4, $29
DATA zipHi<>+48(SB)/4, $14
DATA zipHi<>+52(SB)/4, $30
DATA zipHi<>+56(SB)/4, $15
DATA zipHi<>+60(SB)/4, $31
GLOBL zipHi<>(SB), RODATA|NOPTR, $64

// masks16[r] = (1<<r) − 1 for r = 0-16.
DATA masks16<>+0(SB)/2, $0x0000
DATA masks16<>+2(SB)/2, $0x0001
DATA masks16<>+4(SB)/2, $0x0003
DATA masks16<>+6(SB)/2, $0x0007
DATA masks16<>+8(SB)/2, $0x000f
DATA masks16<>+10(SB)/2, $0x001f
DATA masks16<>+12(SB)/2, $0x003f
DATA masks16<>+14(SB)/2, $0x007f
DATA masks16<>+16(SB)/2, $0x00ff
DATA masks16<>+18(SB)/2, $0x01ff
DATA masks16<>+20(SB)/2, $0x03ff
DATA masks16<>+22(SB)/2, $0x07ff
DATA masks16<>+24(SB)/2, $0x0fff
DATA masks16<>+26(SB)/2, $0x1fff
DATA masks16<>+28(SB)/2, $0x3fff
DATA masks16<>+30(SB)/2, $0x7fff
DATA masks16<>+32(SB)/2, $0xffff
GLOBL masks16<>(SB), RODATA|NOPTR, $34

// MASKS(r): for the r (1-16) windows of the step, K1 = the r outputs, K2 and K3 = the first 2r
// inputs of a row (lanes 0-15, 16-31). Clobbers AX, BX, R11.
#define MASKS(r) \
	LEAQ masks16<>(SB), R11; \
	MOVWLZX (R11)(r*2), AX; \
	KMOVW AX, K1; \
	LEAQ (r)(r*1), BX; \
	MOVQ $16, AX; \
	CMPQ BX, AX; \
	CMOVQGT AX, BX; \
	MOVWLZX (R11)(BX*2), AX; \
	KMOVW AX, K2; \
	LEAQ -16(r)(r*1), AX; \
	XORQ BX, BX; \
	CMPQ AX, BX; \
	CMOVQLT BX, AX; \
	MOVWLZX (R11)(AX*2), AX; \
	KMOVW AX, K3

// LOADWIN(r0, r1): Z0-Z3 = a, b, c, d of the step's windows from the row addresses r0, r1.
#define LOADWIN(r0, r1) \
	VMOVUPS.Z (r0), K2, Z4; \
	VMOVUPS.Z 64(r0), K3, Z5; \
	VMOVUPS.Z (r1), K2, Z6; \
	VMOVUPS.Z 64(r1), K3, Z7; \
	VMOVDQA32 Z4, Z0; \
	VPERMT2PS Z5, Z28, Z0; \
	VMOVDQA32 Z4, Z1; \
	VPERMT2PS Z5, Z29, Z1; \
	VMOVDQA32 Z6, Z2; \
	VPERMT2PS Z7, Z28, Z2; \
	VMOVDQA32 Z6, Z3; \
	VPERMT2PS Z7, Z29, Z3

// GOMAX(x, y): x = Go's max(x, y) (Z27 holds the sign bit in every lane; Z8, Z9 scratch).
#define GOMAX(x, y) \
	VPXORD Z27, x, x; \
	VPXORD Z27, y, Z8; \
	VMINPS Z8, x, Z9; \
	VMINPS x, Z9, x; \
	VPORD Z9, x, x; \
	VPXORD Z27, x, x

// func maxPool2x2F32(out, plane *float32, oh, ow, w int)
//
// out[i*ow+j] = max(plane[2i·w+2j], plane[2i·w+2j+1], plane[(2i+1)·w+2j], plane[(2i+1)·w+2j+1]).
TEXT ·maxPool2x2F32(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ plane+8(FP), SI
	MOVQ oh+16(FP), R8
	MOVQ ow+24(FP), R9
	MOVQ w+32(FP), R10
	SHLQ $2, R10 // a row in bytes
	VMOVDQU32 evens<>(SB), Z28
	VMOVDQU32 odds<>(SB), Z29
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z27
mp_row:
	MOVQ SI, R12           // row 2i
	LEAQ (SI)(R10*1), R13  // row 2i+1
	MOVQ DI, R14
	MOVQ R9, R15           // windows left in the row
mp_step:
	MOVQ R15, DX
	CMPQ DX, $16
	JLE 2(PC)
	MOVQ $16, DX
	MASKS(DX)
	LOADWIN(R12, R13)
	GOMAX(Z0, Z1)
	GOMAX(Z0, Z2)
	GOMAX(Z0, Z3)
	VMOVUPS Z0, K1, (R14)
	ADDQ $128, R12
	ADDQ $128, R13
	ADDQ $64, R14
	SUBQ DX, R15
	JNZ mp_step
	LEAQ (SI)(R10*2), SI
	LEAQ (DI)(R9*4), DI
	DECQ R8
	JNZ mp_row
	VZEROUPPER
	RET

// KEY(x): x = x ^ ((x >> 31) & 0x7fffffff), the order key of a float's bits (Z26 = 0x7fffffff).
#define KEY(x) \
	VPSRAD $31, x, Z8; \
	VPANDD Z26, Z8, Z8; \
	VPXORD Z8, x, x

// func maxPool2x2BackF32(d, plane, up *float32, oh, ow, w int)
//
// For each window, d at its argmax (maxBackward2x2f32's) = up[i*ow+j] + 0, d at its other
// elements = +0. Only the window's elements of d are written.
TEXT ·maxPool2x2BackF32(SB), NOSPLIT, $8-48
	MOVQ d+0(FP), DI
	MOVQ plane+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ oh+24(FP), AX
	MOVQ AX, rows-8(SP)
	MOVQ ow+32(FP), R9
	MOVQ w+40(FP), R10
	SHLQ $2, R10
	VMOVDQU32 evens<>(SB), Z28
	VMOVDQU32 odds<>(SB), Z29
	VMOVDQU32 zipLo<>(SB), Z24
	VMOVDQU32 zipHi<>(SB), Z25
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z26
	VPXORD Z31, Z31, Z31 // zero
	MOVL $1, AX
	VPBROADCASTD AX, Z21
	MOVL $2, AX
	VPBROADCASTD AX, Z22
	MOVL $3, AX
	VPBROADCASTD AX, Z23
mb_row:
	MOVQ SI, R12
	LEAQ (SI)(R10*1), R13
	MOVQ DI, R8
	MOVQ DX, R14
	MOVQ R9, R15
mb_step:
	MOVQ R15, CX
	CMPQ CX, $16
	JLE 2(PC)
	MOVQ $16, CX
	MASKS(CX)
	LOADWIN(R12, R13)
	KEY(Z0)
	KEY(Z1)
	KEY(Z2)
	KEY(Z3)
	// sel (Z10) = 3 if d > max(a, b, c), else 2 if c > max(a, b), else 1 if b > a, else 0.
	VPXORD Z10, Z10, Z10
	VPCMPD $6, Z0, Z1, K4 // b > a
	VMOVDQA32 Z21, K4, Z10
	VPMAXSD Z1, Z0, Z0
	VPCMPD $6, Z0, Z2, K4 // c > best
	VMOVDQA32 Z22, K4, Z10
	VPMAXSD Z2, Z0, Z0
	VPCMPD $6, Z0, Z3, K4 // d > best
	VMOVDQA32 Z23, K4, Z10
	// g = u + 0.
	VMOVUPS.Z (R14), K1, Z11
	VADDPS Z31, Z11, Z11
	VPCMPEQD Z31, Z10, K4
	VMOVDQA32.Z Z11, K4, Z0 // a's gradient
	VPCMPEQD Z21, Z10, K4
	VMOVDQA32.Z Z11, K4, Z1
	VPCMPEQD Z22, Z10, K4
	VMOVDQA32.Z Z11, K4, Z2
	VPCMPEQD Z23, Z10, K4
	VMOVDQA32.Z Z11, K4, Z3
	// Back to row order: row 2i = (a, b) interleaved, row 2i+1 = (c, d).
	VMOVDQA32 Z0, Z4
	VPERMT2PS Z1, Z24, Z4
	VMOVDQA32 Z0, Z5
	VPERMT2PS Z1, Z25, Z5
	VMOVDQA32 Z2, Z6
	VPERMT2PS Z3, Z24, Z6
	VMOVDQA32 Z2, Z7
	VPERMT2PS Z3, Z25, Z7
	VMOVUPS Z4, K2, (R8)
	VMOVUPS Z5, K3, 64(R8)
	VMOVUPS Z6, K2, (R8)(R10*1)
	VMOVUPS Z7, K3, 64(R8)(R10*1)
	ADDQ $128, R12
	ADDQ $128, R13
	ADDQ $128, R8
	ADDQ $64, R14
	SUBQ CX, R15
	JNZ mb_step
	LEAQ (SI)(R10*2), SI
	LEAQ (DI)(R10*2), DI
	LEAQ (DX)(R9*4), DX
	DECQ rows-8(SP)
	JNZ mb_row
	VZEROUPPER
	RET
