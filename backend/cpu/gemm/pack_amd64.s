//go:build amd64 && !purego

#include "textflag.h"

// PACKPF is how many rows ahead the panel copies prefetch their source: a B or A that is not in
// cache (the large MLP's 4 MiB matrices, on a machine whose L3 other work shares) was otherwise
// read at 3-4 GB/s, and each row is too short a run for the hardware prefetcher to get going.
#define PACKPF 8

// func transpose8x8s(dst, src *float32, ld, kb, stride int)
//
// Packs an 8×kb block of float32 (rows src, src+ld, ... src+7·ld; kb a positive multiple of 8)
// transposed: dst[p*stride + r] = src[r*ld + p]. Each 8×8 sub-block is eight row loads, the
// usual 24-shuffle AVX transpose (VUNPCKL/HPS, VSHUFPS, VPERM2F128) and eight row stores, so
// packing a transposed B costs about what copying it does. Each block also prefetches the next
// 8 rows at the same columns, which the next call reads (the next 8 columns of a B panel, or the
// next rows of an A panel). AVX2 instructions only: both assembly levels use it. ld and stride
// are in elements.
TEXT ·transpose8x8s(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8 // row stride of src in bytes
	MOVQ kb+24(FP), CX
	SHRQ $3, CX // 8×8 blocks
	MOVQ stride+32(FP), R9
	SHLQ $2, R9 // row stride of dst in bytes
	LEAQ (R8)(R8*2), R10 // 3·ld
	LEAQ (R9)(R9*2), R11 // 3·stride
	JZ tr_done

tr_loop:
	LEAQ (SI)(R8*4), DX // row 4
	LEAQ (SI)(R8*8), R12 // row 8: the next call's first row
	LEAQ (R12)(R8*4), R13 // row 12
	PREFETCHT0 (R12)
	PREFETCHT0 (R12)(R8*1)
	PREFETCHT0 (R12)(R8*2)
	PREFETCHT0 (R12)(R10*1)
	PREFETCHT0 (R13)
	PREFETCHT0 (R13)(R8*1)
	PREFETCHT0 (R13)(R8*2)
	PREFETCHT0 (R13)(R10*1)
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R10*1), Y3
	VMOVUPS (DX), Y4
	VMOVUPS (DX)(R8*1), Y5
	VMOVUPS (DX)(R8*2), Y6
	VMOVUPS (DX)(R10*1), Y7

	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15

	VSHUFPS $0x44, Y10, Y8, Y0 // columns 0, 4 of rows 0-3
	VSHUFPS $0xee, Y10, Y8, Y1 // 1, 5
	VSHUFPS $0x44, Y11, Y9, Y2 // 2, 6
	VSHUFPS $0xee, Y11, Y9, Y3 // 3, 7
	VSHUFPS $0x44, Y14, Y12, Y4 // the same of rows 4-7
	VSHUFPS $0xee, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xee, Y15, Y13, Y7

	VPERM2F128 $0x20, Y4, Y0, Y8  // column 0
	VPERM2F128 $0x20, Y5, Y1, Y9  // 1
	VPERM2F128 $0x20, Y6, Y2, Y10 // 2
	VPERM2F128 $0x20, Y7, Y3, Y11 // 3
	VPERM2F128 $0x31, Y4, Y0, Y12 // 4
	VPERM2F128 $0x31, Y5, Y1, Y13 // 5
	VPERM2F128 $0x31, Y6, Y2, Y14 // 6
	VPERM2F128 $0x31, Y7, Y3, Y15 // 7

	LEAQ (DI)(R9*4), DX
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(R9*1)
	VMOVUPS Y10, (DI)(R9*2)
	VMOVUPS Y11, (DI)(R11*1)
	VMOVUPS Y12, (DX)
	VMOVUPS Y13, (DX)(R9*1)
	VMOVUPS Y14, (DX)(R9*2)
	VMOVUPS Y15, (DX)(R11*1)

	ADDQ $32, SI
	LEAQ (DI)(R9*8), DI
	DECQ CX
	JNZ tr_loop

tr_done:
	VZEROUPPER
	RET

// func copyPanels32s(dst, src *float32, ld, kb, panels int)
//
// Packs kb rows of panels·32 float32 (row p at src + p·ld) into 32-column micro-panels:
// dst[q*32*kb + p*32 + j] = src[p*ld + q*32 + j]. Row by row, so that the source is read
// sequentially, with two ZMM moves per row of a panel. AVX-512F: only that level packs 32-column
// panels. ld is in elements; kb and panels are positive.
TEXT ·copyPanels32s(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8 // row stride of src in bytes
	MOVQ kb+24(FP), CX
	MOVQ panels+32(FP), R9
	MOVQ CX, R10
	SHLQ $7, R10 // bytes from one panel to the next: kb·32·4
	IMUL3Q $PACKPF, R8, R11

cp_row:
	MOVQ SI, AX
	MOVQ DI, DX
	MOVQ R9, BX
cp_panel:
	PREFETCHT0 (AX)(R11*1)
	PREFETCHT0 64(AX)(R11*1)
	VMOVUPS (AX), Z0
	VMOVUPS 64(AX), Z1
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	ADDQ $128, AX
	ADDQ R10, DX
	DECQ BX
	JNZ cp_panel
	ADDQ R8, SI
	ADDQ $128, DI
	DECQ CX
	JNZ cp_row
	VZEROUPPER
	RET

// func copyPanels14s(dst, src *float32, ld, kb, panels int)
//
// Packs kb rows of panels·14 float32 (row p at src + p·ld) into 14-row micro-panels of a
// transposed A: dst[q*14*kb + p*14 + i] = src[p*ld + q*14 + i]. Row by row, so that the source
// is read sequentially (panel by panel, each of the kb rows is a new line, and at a 4 KiB stride
// they all fall into one set of L1), one masked ZMM move of 14 floats per row of a panel.
// AVX-512F. ld is in elements; kb and panels are positive.
TEXT ·copyPanels14s(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8 // row stride of src in bytes
	MOVQ kb+24(FP), CX
	MOVQ panels+32(FP), R9
	IMUL3Q $56, CX, R10 // bytes from one panel to the next: kb·14·4
	MOVL $0x3fff, AX
	KMOVW AX, K1
	IMUL3Q $PACKPF, R8, R11

c14_row:
	MOVQ SI, AX
	MOVQ DI, DX
	MOVQ R9, BX
c14_panel:
	PREFETCHT0 (AX)(R11*1)
	VMOVUPS (AX), K1, Z0
	VMOVUPS Z0, K1, (DX)
	ADDQ $56, AX
	ADDQ R10, DX
	DECQ BX
	JNZ c14_panel
	ADDQ R8, SI
	ADDQ $56, DI
	DECQ CX
	JNZ c14_row
	VZEROUPPER
	RET

// func copyPanelsAVX2s(dst, src *float32, ld, kb, panels, cols int)
//
// Packs kb rows of panels·cols float32 (row p at src + p·ld; cols 16 or 6) into cols-wide
// micro-panels: dst[q*cols*kb + p*cols + j] = src[p*ld + q*cols + j]. That is the AVX2 float32
// tile's B panels (16 columns) and a transposed A's panels (6 rows). Panel by panel (dst is then
// written sequentially): two YMM moves per row of 16, a 16-byte and an 8-byte one per row of 6.
// Each row prefetches the one PACKPF rows below. Every row of a panel is a new line of the
// source, and without the prefetch each first load missed: packing a 784×256 B took 13% of the
// 128×784·784×256 product at AVX2 on a Zen 1 EPYC. AVX instructions. ld is in elements; kb and
// panels are positive.
TEXT ·copyPanelsAVX2s(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8 // row stride of src in bytes
	MOVQ kb+24(FP), CX
	MOVQ panels+32(FP), R9
	MOVQ cols+40(FP), R10
	SHLQ $2, R10 // bytes in a row of a panel: 64 or 24
	IMUL3Q $PACKPF, R8, R11
	LEAQ -1(R11)(R10*1), R12 // the row's last byte, PACKPF rows below

cn_panel:
	MOVQ SI, AX
	MOVQ CX, BX
cn_row:
	PREFETCHT0 (AX)(R11*1)
	PREFETCHT0 (AX)(R12*1)
	CMPQ R10, $64
	JNE cn_six
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	JMP cn_next
cn_six:
	VMOVUPS (AX), X0
	MOVQ 16(AX), DX
	VMOVUPS X0, (DI)
	MOVQ DX, 16(DI)
cn_next:
	ADDQ R8, AX
	ADDQ R10, DI
	DECQ BX
	JNZ cn_row
	ADDQ R10, SI
	DECQ R9
	JNZ cn_panel
	VZEROUPPER
	RET

// func packRows6s(dst, src *float32, ld, kb int)
//
// Packs a 6×kb block of float32 (rows src, src+ld, ... src+5·ld; kb a positive multiple of 4)
// transposed into a 6-row micro-panel: dst[p*6 + i] = src[i*ld + p], the AVX2 float32 tile's A
// when A is not transposed. Four columns at a time: six 16-byte row loads, the 4×4 transpose of
// rows 0-3 and the interleave of rows 4-5, and eight stores of the 24 contiguous results (the Go
// loop moved one float at a time). AVX instructions. ld is in elements.
TEXT ·packRows6s(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8 // row stride of src in bytes
	MOVQ kb+24(FP), CX
	SHRQ $2, CX // blocks of 4 columns
	LEAQ (R8)(R8*2), R10 // 3·ld
	LEAQ (R8)(R8*4), R11 // 5·ld

r6_loop:
	VMOVUPS (SI), X0          // a0 a1 a2 a3 (row 0)
	VMOVUPS (SI)(R8*1), X1    // b (row 1)
	VMOVUPS (SI)(R8*2), X2    // c
	VMOVUPS (SI)(R10*1), X3   // d
	VMOVUPS (SI)(R8*4), X4    // e
	VMOVUPS (SI)(R11*1), X5   // f
	VUNPCKLPS X1, X0, X6      // a0 b0 a1 b1
	VUNPCKHPS X1, X0, X7      // a2 b2 a3 b3
	VUNPCKLPS X3, X2, X8      // c0 d0 c1 d1
	VUNPCKHPS X3, X2, X9      // c2 d2 c3 d3
	VUNPCKLPS X5, X4, X10     // e0 f0 e1 f1
	VUNPCKHPS X5, X4, X11     // e2 f2 e3 f3
	VMOVLHPS X8, X6, X12      // a0 b0 c0 d0
	VMOVHLPS X6, X8, X13      // a1 b1 c1 d1
	VMOVLHPS X9, X7, X14      // a2 b2 c2 d2
	VMOVHLPS X7, X9, X15      // a3 b3 c3 d3
	VMOVUPS X12, (DI)
	VMOVQ X10, 16(DI)
	VMOVUPS X13, 24(DI)
	VMOVHPS X10, 40(DI)
	VMOVUPS X14, 48(DI)
	VMOVQ X11, 64(DI)
	VMOVUPS X15, 72(DI)
	VMOVHPS X11, 88(DI)
	ADDQ $16, SI
	ADDQ $96, DI
	DECQ CX
	JNZ r6_loop
	RET

// T16A(rlo, rhi, tlo, thi): the 32-bit interleaves of rows rlo and rhi.
#define T16A(rlo, rhi, tlo, thi) \
	VUNPCKLPS rhi, rlo, tlo; \
	VUNPCKHPS rhi, rlo, thi

// T16B(t0, t1, t2, t3, u0, u1, u2, u3): the 64-bit interleaves of two pairs' interleaves: in
// 128-bit lane L, u_j holds element 4L + j of four rows.
#define T16B(t0, t1, t2, t3, u0, u1, u2, u3) \
	VUNPCKLPD t2, t0, u0; \
	VUNPCKHPD t2, t0, u1; \
	VUNPCKLPD t3, t1, u2; \
	VUNPCKHPD t3, t1, u3

// T16C(ua, ub, uc, ud, lo, hi, wlo, whi): the lanes of four rows' groups brought together.
#define T16C(ua, ub, uc, ud, lo, hi, wlo, whi) \
	VSHUFF32X4 $0x44, ub, ua, lo; \
	VSHUFF32X4 $0xee, ub, ua, hi; \
	VSHUFF32X4 $0x44, ud, uc, wlo; \
	VSHUFF32X4 $0xee, ud, uc, whi

// T16D(lo, hi, wlo, whi, c0, c1, c2, c3): columns j, 4+j, 8+j and 12+j of all 16 rows.
#define T16D(lo, hi, wlo, whi, c0, c1, c2, c3) \
	VSHUFF32X4 $0x88, wlo, lo, c0; \
	VSHUFF32X4 $0xdd, wlo, lo, c1; \
	VSHUFF32X4 $0x88, whi, hi, c2; \
	VSHUFF32X4 $0xdd, whi, hi, c3

// func transpose16x16s(dst, src *float32, ld, kb, stride, rows int)
//
// Packs a rows×kb block of float32 (rows 14 or 16; row r at src + r·ld; kb a positive multiple
// of 16) transposed: dst[p*stride + r] = src[r*ld + p] for r < rows, and writes nothing else.
// Each 16×16 block is one ZMM load per row (each source line read once, whole), the 64-shuffle
// transpose (32- and 64-bit interleaves, then two rounds of 128-bit lane shuffles) and one
// masked store of rows floats per column. Rows ld apart at a multiple of 4 KiB fall into one set
// of L1, where the 8×8 transposes read half a line per row and every line twice; each row here
// prefetches its line 8 blocks ahead into L2, where the rows do not collide. Packing the large
// MLP's 1024×1024 activations (from L3) on one core of the Xeon: 4.0 GB/s with the 8×8
// transposes, 4.9 GB/s with these (CPU profiles of the same product, 400 runs each); B's
// row-by-row copy reaches 9 GB/s there, so this is still bound by the source's misses.
// AVX-512F. ld and stride are in elements.
TEXT ·transpose16x16s(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8 // row stride of src in bytes
	MOVQ stride+32(FP), R9
	SHLQ $2, R9 // row stride of dst in bytes
	MOVQ rows+40(FP), BX
	MOVQ BX, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1 // the rows lanes of a column
	LEAQ (R8)(R8*2), R10 // 3·ld
	LEAQ (R9)(R9*2), R11 // 3·stride
	MOVQ kb+24(FP), CX
	SHRQ $4, CX // 16×16 blocks
	JZ t16_done

t16_loop:
	LEAQ (SI)(R8*4), DX // row 4
	LEAQ (DX)(R8*4), R12 // row 8
	LEAQ (R12)(R8*4), R13 // row 12
	PREFETCHT1 512(SI)
	PREFETCHT1 512(SI)(R8*1)
	PREFETCHT1 512(SI)(R8*2)
	PREFETCHT1 512(SI)(R10*1)
	PREFETCHT1 512(DX)
	PREFETCHT1 512(DX)(R8*1)
	PREFETCHT1 512(DX)(R8*2)
	PREFETCHT1 512(DX)(R10*1)
	PREFETCHT1 512(R12)
	PREFETCHT1 512(R12)(R8*1)
	PREFETCHT1 512(R12)(R8*2)
	PREFETCHT1 512(R12)(R10*1)
	PREFETCHT1 512(R13)
	PREFETCHT1 512(R13)(R8*1)
	VMOVUPS (SI), Z0
	VMOVUPS (SI)(R8*1), Z1
	VMOVUPS (SI)(R8*2), Z2
	VMOVUPS (SI)(R10*1), Z3
	VMOVUPS (DX), Z4
	VMOVUPS (DX)(R8*1), Z5
	VMOVUPS (DX)(R8*2), Z6
	VMOVUPS (DX)(R10*1), Z7
	VMOVUPS (R12), Z8
	VMOVUPS (R12)(R8*1), Z9
	VMOVUPS (R12)(R8*2), Z10
	VMOVUPS (R12)(R10*1), Z11
	VMOVUPS (R13), Z12
	VMOVUPS (R13)(R8*1), Z13
	CMPQ BX, $16
	JNE t16_rows14
	PREFETCHT1 512(R13)(R8*2)
	PREFETCHT1 512(R13)(R10*1)
	VMOVUPS (R13)(R8*2), Z14
	VMOVUPS (R13)(R10*1), Z15
	JMP t16_shuffle
t16_rows14:
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

t16_shuffle:
	T16A(Z0, Z1, Z16, Z17)
	T16A(Z2, Z3, Z18, Z19)
	T16A(Z4, Z5, Z20, Z21)
	T16A(Z6, Z7, Z22, Z23)
	T16A(Z8, Z9, Z24, Z25)
	T16A(Z10, Z11, Z26, Z27)
	T16A(Z12, Z13, Z28, Z29)
	T16A(Z14, Z15, Z30, Z31)
	T16B(Z16, Z17, Z18, Z19, Z0, Z1, Z2, Z3)     // rows 0-3
	T16B(Z20, Z21, Z22, Z23, Z4, Z5, Z6, Z7)     // rows 4-7
	T16B(Z24, Z25, Z26, Z27, Z8, Z9, Z10, Z11)   // rows 8-11
	T16B(Z28, Z29, Z30, Z31, Z12, Z13, Z14, Z15) // rows 12-15
	T16C(Z0, Z4, Z8, Z12, Z16, Z17, Z18, Z19)    // j = 0
	T16C(Z1, Z5, Z9, Z13, Z20, Z21, Z22, Z23)    // j = 1
	T16C(Z2, Z6, Z10, Z14, Z24, Z25, Z26, Z27)   // j = 2
	T16C(Z3, Z7, Z11, Z15, Z28, Z29, Z30, Z31)   // j = 3
	T16D(Z16, Z17, Z18, Z19, Z0, Z4, Z8, Z12)    // columns 0, 4, 8, 12
	T16D(Z20, Z21, Z22, Z23, Z1, Z5, Z9, Z13)    // 1, 5, 9, 13
	T16D(Z24, Z25, Z26, Z27, Z2, Z6, Z10, Z14)   // 2, 6, 10, 14
	T16D(Z28, Z29, Z30, Z31, Z3, Z7, Z11, Z15)   // 3, 7, 11, 15

	LEAQ (DI)(R9*4), DX // column 4
	LEAQ (DX)(R9*4), R12 // column 8
	LEAQ (R12)(R9*4), R13 // column 12
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K1, (DI)(R9*1)
	VMOVUPS Z2, K1, (DI)(R9*2)
	VMOVUPS Z3, K1, (DI)(R11*1)
	VMOVUPS Z4, K1, (DX)
	VMOVUPS Z5, K1, (DX)(R9*1)
	VMOVUPS Z6, K1, (DX)(R9*2)
	VMOVUPS Z7, K1, (DX)(R11*1)
	VMOVUPS Z8, K1, (R12)
	VMOVUPS Z9, K1, (R12)(R9*1)
	VMOVUPS Z10, K1, (R12)(R9*2)
	VMOVUPS Z11, K1, (R12)(R11*1)
	VMOVUPS Z12, K1, (R13)
	VMOVUPS Z13, K1, (R13)(R9*1)
	VMOVUPS Z14, K1, (R13)(R9*2)
	VMOVUPS Z15, K1, (R13)(R11*1)

	ADDQ $64, SI
	LEAQ (R13)(R9*4), DI // column 16: the next block's first
	DECQ CX
	JNZ t16_loop
t16_done:
	VZEROUPPER
	RET

// func packRagged512(dst, src *float32, ld, kb, lo, hi, nr int)
//
// The ragged last micro-panel of a non-transposed B: for p < kb, dst[p*nr + j] = src[p*ld + j]
// for j < cols and 0 for cols <= j < nr, nr 16 or 32 (a second half where nr is 32). lo is the
// mask of the first half's lanes below cols, hi the second's (0 where cols <= 16: that load
// reads nothing). One load under the mask (zeroing the other lanes) and one full store per
// half and row: moves, so every bit (NaN payloads too) is kept; no element of src past a row's
// cols is read. AVX-512F.
TEXT ·packRagged512(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8
	MOVQ kb+24(FP), CX
	MOVQ lo+32(FP), AX
	KMOVW AX, K1
	MOVQ hi+40(FP), AX
	KMOVW AX, K2
	MOVQ nr+48(FP), AX
	TESTQ CX, CX
	JZ pr_done
	CMPQ AX, $32
	JEQ pr_two
pr_one:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS Z0, (DI)
	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ pr_one
	JMP pr_done
pr_two:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ R8, SI
	ADDQ $128, DI
	DECQ CX
	JNZ pr_two
pr_done:
	VZEROUPPER
	RET

// func copyRows32s(dst, src *float32, ld, kb int)
//
// dst[32p + j] = src[p·ld + j] for p < kb, j < 32: the AVX2 column tiles' panel of a transposed
// A (packColPanel32). Four YMM moves a row, and the row 16 below prefetched into L2: at batch
// 1024 the rows are 4 KiB apart, all in one set of L1, so that the 8 rows ahead the other copies
// prefetch into L1 evict each other (one core of Zen 4, 1024ᵀ×1024 · 1024×10 at AVX2: 46-50% of
// the peak with L2 16 rows ahead, 41-46% with no prefetch, 46-49% with L1 4 ahead; noisy).
// AVX instructions.
TEXT ·copyRows32s(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8
	MOVQ kb+24(FP), CX
	MOVQ R8, R11
	SHLQ $4, R11
cr32_row:
	PREFETCHT1 (SI)(R11*1)
	PREFETCHT1 64(SI)(R11*1)
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ R8, SI
	ADDQ $128, DI
	DECQ CX
	JNZ cr32_row
	VZEROUPPER
	RET
