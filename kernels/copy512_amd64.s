//go:build amd64 && !purego

#include "textflag.h"

// lanesBelow<>[h] (h = 0..16) is the 16-bit mask of the lanes below h.
DATA lanesBelow<>+0(SB)/2, $0x0000
DATA lanesBelow<>+2(SB)/2, $0x0001
DATA lanesBelow<>+4(SB)/2, $0x0003
DATA lanesBelow<>+6(SB)/2, $0x0007
DATA lanesBelow<>+8(SB)/2, $0x000f
DATA lanesBelow<>+10(SB)/2, $0x001f
DATA lanesBelow<>+12(SB)/2, $0x003f
DATA lanesBelow<>+14(SB)/2, $0x007f
DATA lanesBelow<>+16(SB)/2, $0x00ff
DATA lanesBelow<>+18(SB)/2, $0x01ff
DATA lanesBelow<>+20(SB)/2, $0x03ff
DATA lanesBelow<>+22(SB)/2, $0x07ff
DATA lanesBelow<>+24(SB)/2, $0x0fff
DATA lanesBelow<>+26(SB)/2, $0x1fff
DATA lanesBelow<>+28(SB)/2, $0x3fff
DATA lanesBelow<>+30(SB)/2, $0x7fff
DATA lanesBelow<>+32(SB)/2, $0xffff
GLOBL lanesBelow<>(SB), RODATA|NOPTR, $34

// LANES(r, k): k = the mask of the lanes below r clamped to 0..16 (r is clobbered; R12 = 0 and
// R13 = 16 for the clamps, R14 = lanesBelow).
#define LANES(r, k) \
	CMPQ r, $0; \
	CMOVQLT R12, r; \
	CMPQ r, $16; \
	CMOVQGT R13, r; \
	MOVWLZX (R14)(r*2), r; \
	KMOVW r, k

// NEXTPLANE(loop): DI and SI to the next plane of dst and src; back to loop while planes are
// left (R15).
#define NEXTPLANE(loop) \
	MOVQ dstPlane+64(FP), AX; \
	LEAQ (DI)(AX*4), DI; \
	MOVQ srcPlane+72(FP), AX; \
	LEAQ (SI)(AX*4), SI; \
	DECQ R15; \
	JNZ loop

// func copyPlanes512(dst, src *float32, planes, rows, cols, dstStride, srcStride, gap, dstPlane, srcPlane int)
//
// For each plane p < planes and row r < rows: dst[p·dstPlane + r·dstStride + j] =
// src[p·srcPlane + r·srcStride + j] for j < cols, then, for every row but a plane's last, gap
// zeros after it in dst: NarrowPlanes and WidenPlanes for float32 (NarrowRows and WidenRows for
// all the channels of an image in one call). Per 16 lanes of a row, one load under the mask of
// the lanes below cols (zeroing the others) and one store under the mask of the lanes below cols
// (+ gap), the chunks of 16 valid lanes without masks: a row of LeNet's 10 outputs and 4 zeros
// is one load and one store. Moves, so every bit
// (NaN payloads too) is kept; no lane outside the row is read or written. AVX-512F.
TEXT ·copyPlanes512(SB), NOSPLIT, $0-80
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ planes+16(FP), R15
	LEAQ lanesBelow<>(SB), R14
	XORQ R12, R12
	MOVQ $16, R13
	TESTQ R15, R15
	JZ cp_done
	// A row with its gap within 16 lanes (LeNet's 10 + 4): the same two masks for every row.
	MOVQ cols+32(FP), AX
	MOVQ AX, BX
	ADDQ gap+56(FP), BX
	CMPQ BX, $16
	JGT cp_plane
	LANES(AX, K1)
	LANES(BX, K2)
	MOVQ dstStride+40(FP), R11
	SHLQ $2, R11
	MOVQ srcStride+48(FP), BX
	SHLQ $2, BX
cp_nplane:
	MOVQ DI, R8
	MOVQ SI, R9
	MOVQ rows+24(FP), R10
	TESTQ R10, R10
	JZ cp_nnext
	DECQ R10 // rows but the last
	JZ cp_nlast
cp_nrow:
	VMOVUPS.Z (R9), K1, Z0
	VMOVUPS Z0, K2, (R8)
	ADDQ R11, R8
	ADDQ BX, R9
	DECQ R10
	JNZ cp_nrow
cp_nlast:
	VMOVUPS.Z (R9), K1, Z0
	VMOVUPS Z0, K1, (R8)
cp_nnext:
	NEXTPLANE(cp_nplane)
	JMP cp_done

cp_plane:
	MOVQ DI, R8 // this row of dst
	MOVQ SI, R9 // and of src
	MOVQ rows+24(FP), R10
	TESTQ R10, R10
	JZ cp_nextplane
cp_row:
	MOVQ cols+32(FP), R11 // the lanes to store: cols, + gap but on the last row
	CMPQ R10, $1
	JEQ cp_width
	ADDQ gap+56(FP), R11
cp_width:
	XORQ CX, CX // the row's first element of this chunk
	// Whole chunks of 16 valid elements without masks, then the rest under masks.
cp_whole:
	LEAQ 16(CX), AX
	CMPQ AX, cols+32(FP)
	JGT cp_chunk
	VMOVUPS (R9)(CX*4), Z0
	VMOVUPS Z0, (R8)(CX*4)
	MOVQ AX, CX
	JMP cp_whole
cp_chunk:
	CMPQ CX, R11
	JGE cp_nextrow
	MOVQ cols+32(FP), AX
	SUBQ CX, AX
	LANES(AX, K1)
	MOVQ R11, BX
	SUBQ CX, BX
	LANES(BX, K2)
	VMOVUPS.Z (R9)(CX*4), K1, Z0
	VMOVUPS Z0, K2, (R8)(CX*4)
	ADDQ $16, CX
	JMP cp_chunk
cp_nextrow:
	MOVQ dstStride+40(FP), AX
	LEAQ (R8)(AX*4), R8
	MOVQ srcStride+48(FP), AX
	LEAQ (R9)(AX*4), R9
	DECQ R10
	JNZ cp_row
cp_nextplane:
	NEXTPLANE(cp_plane)
cp_done:
	VZEROUPPER
	RET
