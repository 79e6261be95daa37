//go:build amd64 && !purego

#include "textflag.h"

// func col2imPadded512(d, s *float32, planes, kh, kw, oh, ow, wp, ld, sNext, dNext, cNext, rowMask, runMask int)
//
// Col2imPadded for padded rows of at most 16 lanes. Per padded row: one load of its wp lanes
// (K1), kw additions from the rows of s under the mask of lanes [q, q+ow) (K2, runMask << q; the
// other lanes keep their value and are not read, so the shifted row's missing lanes never fault),
// one store of the wp lanes. The sum is the first source, as in acc += s. Four output rows at a
// time (independent rows of d, so four chains of additions run side by side), then one at a time.
// Row i of a kernel row reads s at i·ow − q + (the row q·ld on), so the q loop steps (ld−1)·4
// bytes. AVX-512F.
TEXT ·col2imPadded512(SB), NOSPLIT, $0-112
	MOVQ d+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ planes+16(FP), CX
	MOVQ ow+48(FP), R8
	SHLQ $2, R8             // a row of s, bytes
	LEAQ (R8)(R8*2), R9     // three
	MOVQ wp+56(FP), R10
	SHLQ $2, R10            // a row of d, bytes
	LEAQ (R10)(R10*2), R11  // three
	MOVQ ld+64(FP), AX
	DECQ AX
	SHLQ $2, AX             // from row q's run to row q+1's, bytes
	MOVQ rowMask+96(FP), BX
	KMOVW BX, K1
	TESTQ CX, CX
	JZ c2p_done
c2p_plane:
	MOVQ kh+24(FP), DX
c2p_kernrow:
	MOVQ oh+40(FP), R12
c2p_four:
	CMPQ R12, $4
	JLT c2p_one
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (DI)(R10*1), K1, Z1
	VMOVUPS.Z (DI)(R10*2), K1, Z2
	VMOVUPS.Z (DI)(R11*1), K1, Z3
	MOVQ SI, R14
	MOVQ runMask+104(FP), BX
	MOVQ kw+32(FP), R13
c2p_fourq:
	KMOVW BX, K2
	VADDPS (R14), Z0, K2, Z0
	VADDPS (R14)(R8*1), Z1, K2, Z1
	VADDPS (R14)(R8*2), Z2, K2, Z2
	VADDPS (R14)(R9*1), Z3, K2, Z3
	ADDQ AX, R14
	SHLQ $1, BX
	DECQ R13
	JNZ c2p_fourq
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K1, (DI)(R10*1)
	VMOVUPS Z2, K1, (DI)(R10*2)
	VMOVUPS Z3, K1, (DI)(R11*1)
	LEAQ (DI)(R10*4), DI
	LEAQ (SI)(R8*4), SI
	SUBQ $4, R12
	JMP c2p_four
c2p_one:
	TESTQ R12, R12
	JZ c2p_nextrow
	VMOVUPS.Z (DI), K1, Z0
	MOVQ SI, R14
	MOVQ runMask+104(FP), BX
	MOVQ kw+32(FP), R13
c2p_oneq:
	KMOVW BX, K2
	VADDPS (R14), Z0, K2, Z0
	ADDQ AX, R14
	SHLQ $1, BX
	DECQ R13
	JNZ c2p_oneq
	VMOVUPS Z0, K1, (DI)
	ADDQ R10, DI
	ADDQ R8, SI
	DECQ R12
	JMP c2p_one
c2p_nextrow:
	MOVQ sNext+72(FP), R13
	LEAQ (SI)(R13*4), SI
	MOVQ dNext+80(FP), R13
	LEAQ (DI)(R13*4), DI
	DECQ DX
	JNZ c2p_kernrow
	MOVQ cNext+88(FP), R13
	LEAQ (DI)(R13*4), DI
	DECQ CX
	JNZ c2p_plane
c2p_done:
	VZEROUPPER
	RET
