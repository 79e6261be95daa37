//go:build amd64 && !purego

#include "textflag.h"

// Register-blocked GEMM micro-kernels for AVX2 and FMA, in the BLIS style. Each kernel keeps a
// 6-row tile of C in twelve YMM accumulators (two per row: 16 float32 or 8 float64 columns);
// sgemmKernel4x16 is the float32 one cut to 4 rows, for the last rows of a product.
// Per step of k it loads one row of the packed B micro-panel (two YMM), broadcasts the six
// packed A values of that column two at a time, and issues twelve FMAs: with 12 of the 16 YMM
// registers holding C, the loop is bound by the two FMA ports rather than by loads.
// Both packed panels are read strictly sequentially. Alignment is not assumed.
//
// The kernels first prefetch the tile of C they will update (each row of it spans at most two
// cache lines), so that its loads at the end do not stall on a miss: a wide C (1024 columns,
// rows 4 KiB apart) is evicted from L1 and L2 between two visits to the same tile. Measured on
// a 2-core AMD EPYC (Zen 1, family 23 model 1) at AVX2, one core, per CPU second: the
// 1024-wide products of the large MLP went from 78-82% to 85-89% of the FMA peak, the batch-128
// ones by 0-7%. It cannot change a result.
//
// The float32 kernels are written with the S_ macros below, so the 6- and 4-row ones cannot
// drift apart; the unrolled float64 kernel is written out.
//
// Each kernel computes n tiles down a column panel in one call (the sweeps): tile t reads the
// packed A micro-panel at a + t·astep and writes C from row t·mr, all with the same packed B
// micro-panel, exactly as n calls of one tile would. They run with the MXCSR's flush-to-zero and
// denormals-are-zero bits set, as the AVX-512 kernels do (gemm512_amd64.s), set and restored
// once per call: on the Intel Xeon (family 6 model 167) a 256-bit FMA with a subnormal operand or
// result takes a microcode assist, and a step of the large MLP (784-1024-1024-10, batch 1024)
// trained on one batch until its gradients underflowed went from 67 ms to 410-525 ms at the
// AVX2 level (the GEMM 91% of it), where the AVX-512 kernels kept their speed. Zen's 256-bit FMAs
// do not slow down; flushing there too keeps the two levels' bits the same with subnormals as
// without. An LDMXCSR pair costs about a tenth of a tile, hence one call per column panel.

// FLUSH_ON and FLUSH_OFF (flush_amd64.h) set and restore them.
#include "flush_amd64.h"

// PF_ROW prefetches the row of C at AX (64 bytes: at most two lines) into L1 and steps AX to
// the next row (stride R8 bytes); PREFETCH_C6 does so for the 6 rows of the tile at DX,
// PREFETCH_C4 for 4.
#define PF_ROW \
	PREFETCHT0 (AX); \
	PREFETCHT0 63(AX); \
	ADDQ R8, AX

#define PREFETCH_C6 \
	MOVQ DX, AX; \
	PF_ROW; PF_ROW; PF_ROW; PF_ROW; PF_ROW; PF_ROW

#define PREFETCH_C4 \
	MOVQ DX, AX; \
	PF_ROW; PF_ROW; PF_ROW; PF_ROW

// The float32 kernels' steps. S_LOADB loads one row of the B micro-panel (16 floats at byte
// offsets b0 and b1 of DI) into Y12 and Y13; S_PAIR broadcasts the A values of two rows (byte
// offsets a0 and a1 of SI) and adds their products with that row into the rows' accumulators
// (c0, c1) and (c2, c3). S_SCALE multiplies a row of accumulators by alpha (Y12); S_UPDATE adds
// beta (Y13) times the row of C at DX and stores it there; S_STORE stores it over C.
#define S_LOADB(b0, b1) \
	VMOVUPS b0(DI), Y12; \
	VMOVUPS b1(DI), Y13

#define S_PAIR(a0, a1, c0, c1, c2, c3) \
	VBROADCASTSS a0(SI), Y14; \
	VBROADCASTSS a1(SI), Y15; \
	VFMADD231PS Y12, Y14, c0; \
	VFMADD231PS Y13, Y14, c1; \
	VFMADD231PS Y12, Y15, c2; \
	VFMADD231PS Y13, Y15, c3

#define S_SCALE(c0, c1) \
	VMULPS Y12, c0, c0; \
	VMULPS Y12, c1, c1

#define S_UPDATE(c0, c1) \
	VFMADD231PS (DX), Y13, c0; \
	VFMADD231PS 32(DX), Y13, c1; \
	VMOVUPS c0, (DX); \
	VMOVUPS c1, 32(DX)

#define S_STORE(c0, c1) \
	VMOVUPS c0, (DX); \
	VMOVUPS c1, 32(DX)

// func sgemmSweep6x16(k int, a, b, c *float32, ldc, astep, n int, alpha, beta float32)
TEXT ·sgemmSweep6x16(SB), NOSPLIT, $8-64
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8 // row stride of C in bytes
	MOVQ a+8(FP), R10 // this tile's A
	MOVQ c+24(FP), R11 // this tile's C
	MOVQ n+48(FP), BX
	FLUSH_ON

sgemmKernel6x16_tile:
	MOVQ k+0(FP), CX
	MOVQ R10, SI
	MOVQ b+16(FP), DI
	MOVQ R11, DX

	PREFETCH_C6

	// Twelve accumulators: row i of the tile is Y(2i), Y(2i+1).
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	// Main loop, unrolled four times: k/4 iterations.
	MOVQ CX, R9
	SHRQ $2, R9
	JZ sgemmKernel6x16_tail
sgemmKernel6x16_loop4:
	S_LOADB(0, 32)
	S_PAIR(0, 4, Y0, Y1, Y2, Y3)
	S_PAIR(8, 12, Y4, Y5, Y6, Y7)
	S_PAIR(16, 20, Y8, Y9, Y10, Y11)
	S_LOADB(64, 96)
	S_PAIR(24, 28, Y0, Y1, Y2, Y3)
	S_PAIR(32, 36, Y4, Y5, Y6, Y7)
	S_PAIR(40, 44, Y8, Y9, Y10, Y11)
	S_LOADB(128, 160)
	S_PAIR(48, 52, Y0, Y1, Y2, Y3)
	S_PAIR(56, 60, Y4, Y5, Y6, Y7)
	S_PAIR(64, 68, Y8, Y9, Y10, Y11)
	S_LOADB(192, 224)
	S_PAIR(72, 76, Y0, Y1, Y2, Y3)
	S_PAIR(80, 84, Y4, Y5, Y6, Y7)
	S_PAIR(88, 92, Y8, Y9, Y10, Y11)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ R9
	JNZ sgemmKernel6x16_loop4

sgemmKernel6x16_tail:
	ANDQ $3, CX
	JZ sgemmKernel6x16_store
sgemmKernel6x16_loop1:
	S_LOADB(0, 32)
	S_PAIR(0, 4, Y0, Y1, Y2, Y3)
	S_PAIR(8, 12, Y4, Y5, Y6, Y7)
	S_PAIR(16, 20, Y8, Y9, Y10, Y11)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ sgemmKernel6x16_loop1

sgemmKernel6x16_store:
	VBROADCASTSS alpha+56(FP), Y12
	S_SCALE(Y0, Y1)
	S_SCALE(Y2, Y3)
	S_SCALE(Y4, Y5)
	S_SCALE(Y6, Y7)
	S_SCALE(Y8, Y9)
	S_SCALE(Y10, Y11)
	MOVL beta+60(FP), AX
	ANDL $0x7fffffff, AX // -0 is zero too
	JZ sgemmKernel6x16_overwrite

	// C = alpha*AB + beta*C.
	VBROADCASTSS beta+60(FP), Y13
	S_UPDATE(Y0, Y1)
	ADDQ R8, DX
	S_UPDATE(Y2, Y3)
	ADDQ R8, DX
	S_UPDATE(Y4, Y5)
	ADDQ R8, DX
	S_UPDATE(Y6, Y7)
	ADDQ R8, DX
	S_UPDATE(Y8, Y9)
	ADDQ R8, DX
	S_UPDATE(Y10, Y11)
	JMP sgemmKernel6x16_next

	// beta == 0: C is not read, so NaNs in it do not leak into the result.
sgemmKernel6x16_overwrite:
	S_STORE(Y0, Y1)
	ADDQ R8, DX
	S_STORE(Y2, Y3)
	ADDQ R8, DX
	S_STORE(Y4, Y5)
	ADDQ R8, DX
	S_STORE(Y6, Y7)
	ADDQ R8, DX
	S_STORE(Y8, Y9)
	ADDQ R8, DX
	S_STORE(Y10, Y11)
	JMP sgemmKernel6x16_next

sgemmKernel6x16_next:
	MOVQ astep+40(FP), AX
	LEAQ (R10)(AX*4), R10
	MOVQ R8, AX
	IMULQ $6, AX
	ADDQ AX, R11
	DECQ BX
	JNZ sgemmKernel6x16_tile
	FLUSH_OFF
	VZEROUPPER
	RET

// func sgemmSweep4x16(k int, a, b, c *float32, ldc, astep, n int, alpha, beta float32)
//
// sgemmKernel6x16 for a 4-row tile (eight accumulators, A packed in 4-row panels), for the last
// rows of a product whose row count is not a multiple of 6 (see tailPlan): each element is the
// same FMA chain as in the 6-row kernel, so a row gives the same bits in either.
TEXT ·sgemmSweep4x16(SB), NOSPLIT, $8-64
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8 // row stride of C in bytes
	MOVQ a+8(FP), R10 // this tile's A
	MOVQ c+24(FP), R11 // this tile's C
	MOVQ n+48(FP), BX
	FLUSH_ON

sgemmKernel4x16_tile:
	MOVQ k+0(FP), CX
	MOVQ R10, SI
	MOVQ b+16(FP), DI
	MOVQ R11, DX

	PREFETCH_C4

	// Eight accumulators: row i of the tile is Y(2i), Y(2i+1).
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

	// Main loop, unrolled four times: k/4 iterations.
	MOVQ CX, R9
	SHRQ $2, R9
	JZ sgemmKernel4x16_tail
sgemmKernel4x16_loop4:
	S_LOADB(0, 32)
	S_PAIR(0, 4, Y0, Y1, Y2, Y3)
	S_PAIR(8, 12, Y4, Y5, Y6, Y7)
	S_LOADB(64, 96)
	S_PAIR(16, 20, Y0, Y1, Y2, Y3)
	S_PAIR(24, 28, Y4, Y5, Y6, Y7)
	S_LOADB(128, 160)
	S_PAIR(32, 36, Y0, Y1, Y2, Y3)
	S_PAIR(40, 44, Y4, Y5, Y6, Y7)
	S_LOADB(192, 224)
	S_PAIR(48, 52, Y0, Y1, Y2, Y3)
	S_PAIR(56, 60, Y4, Y5, Y6, Y7)
	ADDQ $64, SI
	ADDQ $256, DI
	DECQ R9
	JNZ sgemmKernel4x16_loop4

sgemmKernel4x16_tail:
	ANDQ $3, CX
	JZ sgemmKernel4x16_store
sgemmKernel4x16_loop1:
	S_LOADB(0, 32)
	S_PAIR(0, 4, Y0, Y1, Y2, Y3)
	S_PAIR(8, 12, Y4, Y5, Y6, Y7)
	ADDQ $16, SI
	ADDQ $64, DI
	DECQ CX
	JNZ sgemmKernel4x16_loop1

sgemmKernel4x16_store:
	VBROADCASTSS alpha+56(FP), Y12
	S_SCALE(Y0, Y1)
	S_SCALE(Y2, Y3)
	S_SCALE(Y4, Y5)
	S_SCALE(Y6, Y7)
	MOVL beta+60(FP), AX
	ANDL $0x7fffffff, AX // -0 is zero too
	JZ sgemmKernel4x16_overwrite

	// C = alpha*AB + beta*C.
	VBROADCASTSS beta+60(FP), Y13
	S_UPDATE(Y0, Y1)
	ADDQ R8, DX
	S_UPDATE(Y2, Y3)
	ADDQ R8, DX
	S_UPDATE(Y4, Y5)
	ADDQ R8, DX
	S_UPDATE(Y6, Y7)
	JMP sgemmKernel4x16_next

	// beta == 0: C is not read, so NaNs in it do not leak into the result.
sgemmKernel4x16_overwrite:
	S_STORE(Y0, Y1)
	ADDQ R8, DX
	S_STORE(Y2, Y3)
	ADDQ R8, DX
	S_STORE(Y4, Y5)
	ADDQ R8, DX
	S_STORE(Y6, Y7)
	JMP sgemmKernel4x16_next

sgemmKernel4x16_next:
	MOVQ astep+40(FP), AX
	LEAQ (R10)(AX*4), R10
	MOVQ R8, AX
	IMULQ $4, AX
	ADDQ AX, R11
	DECQ BX
	JNZ sgemmKernel4x16_tile
	FLUSH_OFF
	VZEROUPPER
	RET

// func dgemmSweep6x8(k int, a, b, c *float64, ldc, astep, n int, alpha, beta float64)
TEXT ·dgemmSweep6x8(SB), NOSPLIT, $8-72
	MOVQ ldc+32(FP), R8
	SHLQ $3, R8 // row stride of C in bytes
	MOVQ a+8(FP), R10 // this tile's A
	MOVQ c+24(FP), R11 // this tile's C
	MOVQ n+48(FP), BX
	FLUSH_ON

dgemmKernel6x8_tile:
	MOVQ k+0(FP), CX
	MOVQ R10, SI
	MOVQ b+16(FP), DI
	MOVQ R11, DX

	PREFETCH_C6

	// Twelve accumulators: row i of the tile is Y(2i), Y(2i+1).
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	// Main loop, unrolled four times: k/4 iterations.
	MOVQ CX, R9
	SHRQ $2, R9
	JZ dgemmKernel6x8_tail
dgemmKernel6x8_loop4:
	VMOVUPD 0(DI), Y12
	VMOVUPD 32(DI), Y13
	VBROADCASTSD 0(SI), Y14
	VBROADCASTSD 8(SI), Y15
	VFMADD231PD Y12, Y14, Y0
	VFMADD231PD Y13, Y14, Y1
	VFMADD231PD Y12, Y15, Y2
	VFMADD231PD Y13, Y15, Y3
	VBROADCASTSD 16(SI), Y14
	VBROADCASTSD 24(SI), Y15
	VFMADD231PD Y12, Y14, Y4
	VFMADD231PD Y13, Y14, Y5
	VFMADD231PD Y12, Y15, Y6
	VFMADD231PD Y13, Y15, Y7
	VBROADCASTSD 32(SI), Y14
	VBROADCASTSD 40(SI), Y15
	VFMADD231PD Y12, Y14, Y8
	VFMADD231PD Y13, Y14, Y9
	VFMADD231PD Y12, Y15, Y10
	VFMADD231PD Y13, Y15, Y11
	VMOVUPD 64(DI), Y12
	VMOVUPD 96(DI), Y13
	VBROADCASTSD 48(SI), Y14
	VBROADCASTSD 56(SI), Y15
	VFMADD231PD Y12, Y14, Y0
	VFMADD231PD Y13, Y14, Y1
	VFMADD231PD Y12, Y15, Y2
	VFMADD231PD Y13, Y15, Y3
	VBROADCASTSD 64(SI), Y14
	VBROADCASTSD 72(SI), Y15
	VFMADD231PD Y12, Y14, Y4
	VFMADD231PD Y13, Y14, Y5
	VFMADD231PD Y12, Y15, Y6
	VFMADD231PD Y13, Y15, Y7
	VBROADCASTSD 80(SI), Y14
	VBROADCASTSD 88(SI), Y15
	VFMADD231PD Y12, Y14, Y8
	VFMADD231PD Y13, Y14, Y9
	VFMADD231PD Y12, Y15, Y10
	VFMADD231PD Y13, Y15, Y11
	VMOVUPD 128(DI), Y12
	VMOVUPD 160(DI), Y13
	VBROADCASTSD 96(SI), Y14
	VBROADCASTSD 104(SI), Y15
	VFMADD231PD Y12, Y14, Y0
	VFMADD231PD Y13, Y14, Y1
	VFMADD231PD Y12, Y15, Y2
	VFMADD231PD Y13, Y15, Y3
	VBROADCASTSD 112(SI), Y14
	VBROADCASTSD 120(SI), Y15
	VFMADD231PD Y12, Y14, Y4
	VFMADD231PD Y13, Y14, Y5
	VFMADD231PD Y12, Y15, Y6
	VFMADD231PD Y13, Y15, Y7
	VBROADCASTSD 128(SI), Y14
	VBROADCASTSD 136(SI), Y15
	VFMADD231PD Y12, Y14, Y8
	VFMADD231PD Y13, Y14, Y9
	VFMADD231PD Y12, Y15, Y10
	VFMADD231PD Y13, Y15, Y11
	VMOVUPD 192(DI), Y12
	VMOVUPD 224(DI), Y13
	VBROADCASTSD 144(SI), Y14
	VBROADCASTSD 152(SI), Y15
	VFMADD231PD Y12, Y14, Y0
	VFMADD231PD Y13, Y14, Y1
	VFMADD231PD Y12, Y15, Y2
	VFMADD231PD Y13, Y15, Y3
	VBROADCASTSD 160(SI), Y14
	VBROADCASTSD 168(SI), Y15
	VFMADD231PD Y12, Y14, Y4
	VFMADD231PD Y13, Y14, Y5
	VFMADD231PD Y12, Y15, Y6
	VFMADD231PD Y13, Y15, Y7
	VBROADCASTSD 176(SI), Y14
	VBROADCASTSD 184(SI), Y15
	VFMADD231PD Y12, Y14, Y8
	VFMADD231PD Y13, Y14, Y9
	VFMADD231PD Y12, Y15, Y10
	VFMADD231PD Y13, Y15, Y11
	ADDQ $192, SI
	ADDQ $256, DI
	DECQ R9
	JNZ dgemmKernel6x8_loop4

dgemmKernel6x8_tail:
	ANDQ $3, CX
	JZ dgemmKernel6x8_store
dgemmKernel6x8_loop1:
	VMOVUPD 0(DI), Y12
	VMOVUPD 32(DI), Y13
	VBROADCASTSD 0(SI), Y14
	VBROADCASTSD 8(SI), Y15
	VFMADD231PD Y12, Y14, Y0
	VFMADD231PD Y13, Y14, Y1
	VFMADD231PD Y12, Y15, Y2
	VFMADD231PD Y13, Y15, Y3
	VBROADCASTSD 16(SI), Y14
	VBROADCASTSD 24(SI), Y15
	VFMADD231PD Y12, Y14, Y4
	VFMADD231PD Y13, Y14, Y5
	VFMADD231PD Y12, Y15, Y6
	VFMADD231PD Y13, Y15, Y7
	VBROADCASTSD 32(SI), Y14
	VBROADCASTSD 40(SI), Y15
	VFMADD231PD Y12, Y14, Y8
	VFMADD231PD Y13, Y14, Y9
	VFMADD231PD Y12, Y15, Y10
	VFMADD231PD Y13, Y15, Y11
	ADDQ $48, SI
	ADDQ $64, DI
	DECQ CX
	JNZ dgemmKernel6x8_loop1

dgemmKernel6x8_store:
	VBROADCASTSD alpha+56(FP), Y12
	VMULPD Y12, Y0, Y0
	VMULPD Y12, Y1, Y1
	VMULPD Y12, Y2, Y2
	VMULPD Y12, Y3, Y3
	VMULPD Y12, Y4, Y4
	VMULPD Y12, Y5, Y5
	VMULPD Y12, Y6, Y6
	VMULPD Y12, Y7, Y7
	VMULPD Y12, Y8, Y8
	VMULPD Y12, Y9, Y9
	VMULPD Y12, Y10, Y10
	VMULPD Y12, Y11, Y11
	MOVQ beta+64(FP), AX
	SHLQ $1, AX // drop the sign: -0 is zero too
	JZ dgemmKernel6x8_overwrite

	// C = alpha*AB + beta*C.
	VBROADCASTSD beta+64(FP), Y13
	VFMADD231PD (DX), Y13, Y0
	VFMADD231PD 32(DX), Y13, Y1
	VMOVUPD Y0, (DX)
	VMOVUPD Y1, 32(DX)
	ADDQ R8, DX
	VFMADD231PD (DX), Y13, Y2
	VFMADD231PD 32(DX), Y13, Y3
	VMOVUPD Y2, (DX)
	VMOVUPD Y3, 32(DX)
	ADDQ R8, DX
	VFMADD231PD (DX), Y13, Y4
	VFMADD231PD 32(DX), Y13, Y5
	VMOVUPD Y4, (DX)
	VMOVUPD Y5, 32(DX)
	ADDQ R8, DX
	VFMADD231PD (DX), Y13, Y6
	VFMADD231PD 32(DX), Y13, Y7
	VMOVUPD Y6, (DX)
	VMOVUPD Y7, 32(DX)
	ADDQ R8, DX
	VFMADD231PD (DX), Y13, Y8
	VFMADD231PD 32(DX), Y13, Y9
	VMOVUPD Y8, (DX)
	VMOVUPD Y9, 32(DX)
	ADDQ R8, DX
	VFMADD231PD (DX), Y13, Y10
	VFMADD231PD 32(DX), Y13, Y11
	VMOVUPD Y10, (DX)
	VMOVUPD Y11, 32(DX)
	JMP dgemmKernel6x8_next

	// beta == 0: C is not read, so NaNs in it do not leak into the result.
dgemmKernel6x8_overwrite:
	VMOVUPD Y0, (DX)
	VMOVUPD Y1, 32(DX)
	ADDQ R8, DX
	VMOVUPD Y2, (DX)
	VMOVUPD Y3, 32(DX)
	ADDQ R8, DX
	VMOVUPD Y4, (DX)
	VMOVUPD Y5, 32(DX)
	ADDQ R8, DX
	VMOVUPD Y6, (DX)
	VMOVUPD Y7, 32(DX)
	ADDQ R8, DX
	VMOVUPD Y8, (DX)
	VMOVUPD Y9, 32(DX)
	ADDQ R8, DX
	VMOVUPD Y10, (DX)
	VMOVUPD Y11, 32(DX)
	JMP dgemmKernel6x8_next

dgemmKernel6x8_next:
	MOVQ astep+40(FP), AX
	LEAQ (R10)(AX*8), R10
	MOVQ R8, AX
	IMULQ $6, AX
	ADDQ AX, R11
	DECQ BX
	JNZ dgemmKernel6x8_tile
	FLUSH_OFF
	VZEROUPPER
	RET
