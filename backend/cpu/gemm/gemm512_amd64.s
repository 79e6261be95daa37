//go:build amd64 && !purego

#include "textflag.h"

// Register-blocked GEMM micro-kernels for AVX-512F, in the BLIS style of gemm_amd64.s but sized
// for 32 ZMM registers: a 14-row tile of C is held in 28 accumulators (two per row: 32 float32
// or 16 float64 columns). Per step of k the kernel loads one row of the packed B micro-panel
// (two ZMM, Z28 and Z29), broadcasts each of the 14 packed A values of that column in turn into
// Z30 and issues 28 FMAs. 28 FMAs against 16 loads keep the two FMA pipes busy with the load
// ports to spare, and 28 independent accumulators cover the FMA latency (4 cycles x 2 pipes)
// more than three times over. Both packed panels are read strictly sequentially; alignment is
// not assumed.
//
// Each element of C is one FMA chain over k in order, then one multiplication by alpha and one
// FMA with beta·C, exactly as in the AVX2 kernels: with the same kc the two levels give the
// same bits, except where subnormals are involved. These kernels run with the MXCSR's
// flush-to-zero and denormals-are-zero bits set (and restored before they return): on Zen 5 a
// 512-bit FMA with a subnormal operand or result takes about twice as long (measured: a
// 128x256x256 product with half of A subnormal, 1.7-2.0x the time), which the 256-bit FMAs of
// the AVX2 kernels do not. A subnormal is below 1.2e-38, so flushing moves an element of C by
// less than that times the other operand.

// FLUSH_ON and FLUSH_OFF (flush_amd64.h) set and restore them.
#include "flush_amd64.h"
#include "rows512_amd64.h"

// ROW32(a, acc0, acc1): acc0 += b[0:16]·A[a], acc1 += b[16:32]·A[a].
#define ROW32(a, acc0, acc1) \
	VBROADCASTSS a(SI), Z30; \
	VFMADD231PS Z28, Z30, acc0; \
	VFMADD231PS Z29, Z30, acc1

// BROW(m0, m1) loads one row of the B micro-panel (32 floats at m0 and m1) into Z28, Z29.
#define BROW(m0, m1) \
	VMOVUPS m0, Z28; \
	VMOVUPS m1, Z29

// ROWS32(ao): the 28 FMAs of one step of k with the A column at ao(SI), B's row in Z28, Z29.
#define ROWS32(ao) \
	ROW32(ao, Z0, Z1); \
	ROW32(ao+4, Z2, Z3); \
	ROW32(ao+8, Z4, Z5); \
	ROW32(ao+12, Z6, Z7); \
	ROW32(ao+16, Z8, Z9); \
	ROW32(ao+20, Z10, Z11); \
	ROW32(ao+24, Z12, Z13); \
	ROW32(ao+28, Z14, Z15); \
	ROW32(ao+32, Z16, Z17); \
	ROW32(ao+36, Z18, Z19); \
	ROW32(ao+40, Z20, Z21); \
	ROW32(ao+44, Z22, Z23); \
	ROW32(ao+48, Z24, Z25); \
	ROW32(ao+52, Z26, Z27)

// The float64 kernel: the same with 8 bytes per element.
#define ROW64(a, acc0, acc1) \
	VBROADCASTSD a(SI), Z30; \
	VFMADD231PD Z28, Z30, acc0; \
	VFMADD231PD Z29, Z30, acc1

#define STEP64(ao, bo) \
	VMOVUPD bo(DI), Z28; \
	VMOVUPD (bo+64)(DI), Z29; \
	ROW64(ao, Z0, Z1); \
	ROW64(ao+8, Z2, Z3); \
	ROW64(ao+16, Z4, Z5); \
	ROW64(ao+24, Z6, Z7); \
	ROW64(ao+32, Z8, Z9); \
	ROW64(ao+40, Z10, Z11); \
	ROW64(ao+48, Z12, Z13); \
	ROW64(ao+56, Z14, Z15); \
	ROW64(ao+64, Z16, Z17); \
	ROW64(ao+72, Z18, Z19); \
	ROW64(ao+80, Z20, Z21); \
	ROW64(ao+88, Z22, Z23); \
	ROW64(ao+96, Z24, Z25); \
	ROW64(ao+104, Z26, Z27)

// ZERO28 clears the accumulators of a 14×32 tile (ZERO14, of a 14×16 tile: rows512_amd64.h).
#define ZERO28 \
	ZERO14; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; \
	VPXORD Z17, Z17, Z17; \
	VPXORD Z18, Z18, Z18; \
	VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; \
	VPXORD Z21, Z21, Z21; \
	VPXORD Z22, Z22, Z22; \
	VPXORD Z23, Z23, Z23; \
	VPXORD Z24, Z24, Z24; \
	VPXORD Z25, Z25, Z25; \
	VPXORD Z26, Z26, Z26; \
	VPXORD Z27, Z27, Z27

// SCALE28(op, s): every accumulator of a 14×32 tile = accumulator op s (SCALE14:
// rows512_amd64.h).
#define SCALE28(op, s) \
	SCALE14(op, s); \
	op s, Z14, Z14; \
	op s, Z15, Z15; \
	op s, Z16, Z16; \
	op s, Z17, Z17; \
	op s, Z18, Z18; \
	op s, Z19, Z19; \
	op s, Z20, Z20; \
	op s, Z21, Z21; \
	op s, Z22, Z22; \
	op s, Z23, Z23; \
	op s, Z24, Z24; \
	op s, Z25, Z25; \
	op s, Z26, Z26; \
	op s, Z27, Z27

// UPD(fma, mov, acc0, acc1): C row at DX = acc + beta·C (beta in Z31), then the next row.
#define UPD(fma, mov, acc0, acc1) \
	fma (DX), Z31, acc0; \
	fma 64(DX), Z31, acc1; \
	mov acc0, (DX); \
	mov acc1, 64(DX); \
	ADDQ R8, DX

// PUT(mov, acc0, acc1): C row at DX = acc, then the next row.
#define PUT(mov, acc0, acc1) \
	mov acc0, (DX); \
	mov acc1, 64(DX); \
	ADDQ R8, DX


#define PUTROWS14(mov) \
	PUT(mov, Z0, Z1); \
	PUT(mov, Z2, Z3); \
	PUT(mov, Z4, Z5); \
	PUT(mov, Z6, Z7); \
	PUT(mov, Z8, Z9); \
	PUT(mov, Z10, Z11); \
	PUT(mov, Z12, Z13); \
	PUT(mov, Z14, Z15); \
	PUT(mov, Z16, Z17); \
	PUT(mov, Z18, Z19); \
	PUT(mov, Z20, Z21); \
	PUT(mov, Z22, Z23); \
	PUT(mov, Z24, Z25); \
	PUT(mov, Z26, Z27)

// STORE32(alpha, beta, overwrite, unit): scale the accumulators by alpha, then C = acc + beta·C
// row after row, or jump to overwrite when beta is ±0 (C is then not read, so NaNs in it do not
// leak into the result). alpha = 1 (every product of a training step) skips the scaling at the
// label unit: under FTZ no accumulator is subnormal, and 1·x is x for every other x, NaNs (quiet
// once computed) included, so the bits are the same. It was 28 of a tile's 308 FMA-unit
// operations at k = 10 (the 10-class layer's input gradient).
#define STORE32(alpha, beta, overwrite, unit) \
	MOVL alpha, AX; \
	CMPL AX, $0x3f800000; \
	JEQ unit; \
	VBROADCASTSS alpha, Z31; \
	SCALE28(VMULPS, Z31); \
unit: \
	MOVL beta, AX; \
	ANDL $0x7fffffff, AX; \
	JZ overwrite; \
	VBROADCASTSS beta, Z31; \
	UPD(VFMADD231PS, VMOVUPS, Z0, Z1); \
	UPD(VFMADD231PS, VMOVUPS, Z2, Z3); \
	UPD(VFMADD231PS, VMOVUPS, Z4, Z5); \
	UPD(VFMADD231PS, VMOVUPS, Z6, Z7); \
	UPD(VFMADD231PS, VMOVUPS, Z8, Z9); \
	UPD(VFMADD231PS, VMOVUPS, Z10, Z11); \
	UPD(VFMADD231PS, VMOVUPS, Z12, Z13); \
	UPD(VFMADD231PS, VMOVUPS, Z14, Z15); \
	UPD(VFMADD231PS, VMOVUPS, Z16, Z17); \
	UPD(VFMADD231PS, VMOVUPS, Z18, Z19); \
	UPD(VFMADD231PS, VMOVUPS, Z20, Z21); \
	UPD(VFMADD231PS, VMOVUPS, Z22, Z23); \
	UPD(VFMADD231PS, VMOVUPS, Z24, Z25); \
	UPD(VFMADD231PS, VMOVUPS, Z26, Z27)

// PREFETCHC fetches the 14 rows of the C tile at DX (row stride R8) into L1 while the k loop
// runs: C rows are ldc apart, and for a large C each row is a miss to L3 that the stores (and,
// with beta != 0, the loads) would otherwise wait for. Clobbers AX.
#define PFROW \
	PREFETCHT0 (AX); \
	PREFETCHT0 64(AX); \
	ADDQ R8, AX

#define PREFETCHC \
	MOVQ DX, AX; \
	PFROW; PFROW; PFROW; PFROW; PFROW; PFROW; PFROW; \
	PFROW; PFROW; PFROW; PFROW; PFROW; PFROW; PFROW

// The skeleton of the in-place float32 kernels (sgemm512Col, Col8, Col16; sgemm512Row, Row16),
// shared so that the tile variants differ only in their steps of k and their epilogues.
//
// COLARGS loads a column kernel's arguments: R8 = ldc, R10 = lda, R11 = ldb (bytes), DI = b,
// DX = c, BX = n (tiles).
#define COLARGS \
	MOVQ ldc+32(FP), R8; \
	SHLQ $2, R8; \
	MOVQ lda+40(FP), R10; \
	SHLQ $2, R10; \
	MOVQ ldb+48(FP), R11; \
	SHLQ $2, R11; \
	MOVQ b+16(FP), DI; \
	MOVQ c+24(FP), DX; \
	MOVQ n+64(FP), BX

// COLTILE starts a column kernel's tile: R12, R13 = this tile's B and C, SI = A, CX = k.
#define COLTILE \
	MOVQ DI, R12; \
	MOVQ DX, R13; \
	MOVQ a+8(FP), SI; \
	MOVQ k+0(FP), CX

// COLNEXT(width) moves DI and DX to the next tile's B and C (width bytes of C on) and counts the
// tile off BX; the caller loops while it is not zero.
#define COLNEXT(width) \
	MOVQ bstep+56(FP), AX; \
	LEAQ (R12)(AX*4), DI; \
	LEAQ width(R13), DX; \
	DECQ BX

// ROWARGS loads a row kernel's arguments: R8 = ldc, R11 = lda, R12 = 3·lda, R10 = ldb (bytes),
// DI = b, DX = c, the tiles left in the frame.
#define ROWARGS \
	MOVQ ldc+32(FP), R8; \
	SHLQ $2, R8; \
	MOVQ lda+40(FP), R11; \
	SHLQ $2, R11; \
	MOVQ ldb+48(FP), R10; \
	SHLQ $2, R10; \
	LEAQ (R11)(R11*2), R12; \
	MOVQ b+16(FP), DI; \
	MOVQ c+24(FP), DX; \
	MOVQ n+64(FP), AX; \
	MOVQ AX, left-32(SP)

// ROWTILE starts a row kernel's tile: this tile's B and C in the frame, rows 0-3, 4-7, 8-11
// and 12-13 of A from SI, R13, R14 and BX, CX = k.
#define ROWTILE \
	MOVQ DI, bt-16(SP); \
	MOVQ DX, ct-24(SP); \
	MOVQ a+8(FP), SI; \
	LEAQ (SI)(R11*4), R13; \
	LEAQ (R13)(R11*4), R14; \
	LEAQ (R14)(R11*4), BX; \
	MOVQ k+0(FP), CX

// ROWA(bytes) moves the four row pointers of A on.
#define ROWA(bytes) \
	ADDQ $bytes, SI; \
	ADDQ $bytes, R13; \
	ADDQ $bytes, R14; \
	ADDQ $bytes, BX

// ROWNEXT(width) moves DI and DX to the next tile's B and C (width bytes of C on) and counts the
// tile off the frame; the caller loops while it is not zero.
#define ROWNEXT(width) \
	MOVQ bstep+56(FP), AX; \
	MOVQ bt-16(SP), DI; \
	LEAQ (DI)(AX*4), DI; \
	MOVQ ct-24(SP), DX; \
	ADDQ $width, DX; \
	DECQ left-32(SP)

// func sgemm512Col(k int, a, b, c *float32, ldc, lda, ldb, bstep, n int, alpha, beta float32)
//
// n >= 1 tiles side by side: tile j reads the B micro-panel at b[j*bstep:] and writes C at
// c[32j:], all with the same A micro-panel. The A micro-panel's element (i, p) is at
// a[p*lda + i]: lda = 14 for a packed panel, or the leading dimension of a transposed A read in
// place (op(A) = Aᵀ is then column-contiguous). Row p of a B micro-panel is at b[p*ldb:]:
// ldb = 32 for a packed panel, or B's leading dimension when B is read in place.
//
// One call sweeps a whole row of tiles so that the MXCSR is written twice per row, not twice
// per tile: on the Intel Xeon (family 6 model 167) an LDMXCSR pair cost about 13% of a 14×32
// tile at k = 256, about 500 ns per call.
TEXT ·sgemm512Col(SB), NOSPLIT, $16-80
	COLARGS
	// Prefetches into L2 while the k loop runs, for the next calls' operands, which otherwise
	// come from L3 when the packed A and C are large (the large MLP's 4 MiB each):
	// - the next packed A micro-panel, which the driver's next sweep reads (it follows this one
	//   in the packed block, at a + k·14): one line per step of k of the first tile, R14 the
	//   address and R15 the step (64 bytes, or 0 where A is read in place: R14 then stays on a
	//   line of this panel);
	// - the next tile's C, one row (two lines) per iteration of the first 14 iterations of each
	//   tile's loop (lim-16(SP) is the iteration count left at which that stops).
	// On the 2-core Xeon (family 6 model 167), one core, per CPU second: a sweep alone, its A
	// walking a 4 MiB buffer and its C a 4 MiB matrix, went from 75-92% of the FMA peak to
	// 88-97%; the large MLP's packed-A products (fwd2, dX2, dW2) 3-5% faster with the A
	// prefetch, the C prefetch within the noise on top (it is kept for the sweep's figure).
	MOVQ a+8(FP), R14
	XORQ R15, R15
	CMPQ R10, $56
	JNE s512_flush
	MOVQ k+0(FP), AX
	IMULQ R10, AX
	ADDQ AX, R14
	MOVQ $64, R15
s512_flush:
	MOVQ k+0(FP), AX
	SHRQ $2, AX
	SUBQ $14, AX
	MOVQ AX, lim-16(SP)
	FLUSH_ON

s512_tile:
	COLTILE
	PREFETCHC
	ZERO28
	LEAQ 128(DX), AX // the next tile's C

	// Main loop, unrolled four times: k/4 iterations.
	MOVQ CX, R9
	SHRQ $2, R9
	JZ s512_tail
s512_loop4:
	CMPQ R9, lim-16(SP)
	JLE s512_nopf
	PREFETCHT1 (AX)
	PREFETCHT1 64(AX)
	ADDQ R8, AX
s512_nopf:
	BROW(0(DI), 64(DI))
	PREFETCHT1 (R14)
	ROWS32(0)
	ADDQ R10, SI
	ADDQ R15, R14
	BROW(0(DI)(R11*1), 64(DI)(R11*1))
	PREFETCHT1 (R14)
	ROWS32(0)
	ADDQ R10, SI
	ADDQ R15, R14
	LEAQ (DI)(R11*2), DI
	BROW(0(DI), 64(DI))
	PREFETCHT1 (R14)
	ROWS32(0)
	ADDQ R10, SI
	ADDQ R15, R14
	BROW(0(DI)(R11*1), 64(DI)(R11*1))
	PREFETCHT1 (R14)
	ROWS32(0)
	ADDQ R10, SI
	ADDQ R15, R14
	LEAQ (DI)(R11*2), DI
	DECQ R9
	JNZ s512_loop4

s512_tail:
	ANDQ $3, CX
	JZ s512_store
s512_loop1:
	BROW(0(DI), 64(DI))
	ROWS32(0)
	ADDQ R10, SI
	ADDQ R11, DI
	DECQ CX
	JNZ s512_loop1

s512_store:
	STORE32(alpha+72(FP), beta+76(FP), s512_overwrite, s512_unit)
	JMP s512_next

	// beta == 0: C is not read, so NaNs in it do not leak into the result.
s512_overwrite:
	PUTROWS14(VMOVUPS)

s512_next:
	XORQ R15, R15 // A's next panel is prefetched in the first tile only
	COLNEXT(128)
	JNZ s512_tile
	FLUSH_OFF
	VZEROUPPER
	RET

// ROWR(a, acc0, acc1) is ROW32 with the A element at the address a (a base and index).
#define ROWR(a, acc0, acc1) \
	VBROADCASTSS a, Z30; \
	VFMADD231PS Z28, Z30, acc0; \
	VFMADD231PS Z29, Z30, acc1

// STEPRA(o): STEPR's FMAs, B's row already in Z28, Z29.
#define STEPRA(o) \
	ROWR(o(SI), Z0, Z1); \
	ROWR(o(SI)(R11*1), Z2, Z3); \
	ROWR(o(SI)(R11*2), Z4, Z5); \
	ROWR(o(SI)(R12*1), Z6, Z7); \
	ROWR(o(R13), Z8, Z9); \
	ROWR(o(R13)(R11*1), Z10, Z11); \
	ROWR(o(R13)(R11*2), Z12, Z13); \
	ROWR(o(R13)(R12*1), Z14, Z15); \
	ROWR(o(R14), Z16, Z17); \
	ROWR(o(R14)(R11*1), Z18, Z19); \
	ROWR(o(R14)(R11*2), Z20, Z21); \
	ROWR(o(R14)(R12*1), Z22, Z23); \
	ROWR(o(BX), Z24, Z25); \
	ROWR(o(BX)(R11*1), Z26, Z27)

// PREFA4(r): prefetch into L2 the lines at r + R15 of four rows lda (R11) apart. Clobbers AX.
#define PREFA4(r) \
	LEAQ (r)(R15*1), AX; \
	PREFETCHT1 (AX); \
	PREFETCHT1 (AX)(R11*1); \
	PREFETCHT1 (AX)(R11*2); \
	PREFETCHT1 (AX)(R12*1)

// func sgemm512Row(k int, a, b, c *float32, ldc, lda, ldb, bstep, n int, alpha, beta float32)
//
// The A micro-panel is 14 rows of a row-major A read in place: element (i, p) at a[i*lda + p].
// Rows 0-3, 4-7, 8-11 and 12-13 are addressed from SI, R13, R14 and BX with the index
// registers R11 = lda and R12 = 3·lda (bytes). B's rows are ldb apart (R10, bytes), and the n
// tiles are laid out as in sgemm512Col; with every register taken, this tile's B and C and the
// tiles left are kept in the frame.
TEXT ·sgemm512Row(SB), NOSPLIT, $32-80
	ROWARGS
	// The first tile's k loop prefetches into L2 the A micro-panel of the driver's next sweep
	// (the 14 rows below, R15 = 14·lda bytes on), a line of each row every four iterations, when
	// the loop reaches it; R15 is 0 after the first tile. A row-major A read in place (the large
	// MLP's fwd2 and dX2: 4 MiB) otherwise comes from L3 at the start of every sweep.
	IMUL3Q $14, R11, R15
	FLUSH_ON

srow_tile:
	ROWTILE
	PREFETCHC
	ZERO28

	MOVQ CX, R9
	SHRQ $2, R9
	JZ srow_tail
srow_loop4:
	TESTQ R15, R15
	JZ srow_nopf
	TESTQ $3, R9
	JNZ srow_nopf
	PREFA4(SI)
	PREFA4(R13)
	PREFA4(R14)
	LEAQ (BX)(R15*1), AX
	PREFETCHT1 (AX)
	PREFETCHT1 (AX)(R11*1)
srow_nopf:
	BROW(0(DI), 64(DI))
	STEPRA(0)
	BROW(0(DI)(R10*1), 64(DI)(R10*1))
	STEPRA(4)
	LEAQ (DI)(R10*2), DI
	BROW(0(DI), 64(DI))
	STEPRA(8)
	BROW(0(DI)(R10*1), 64(DI)(R10*1))
	STEPRA(12)
	LEAQ (DI)(R10*2), DI
	ROWA(16)
	DECQ R9
	JNZ srow_loop4

srow_tail:
	ANDQ $3, CX
	JZ srow_store
srow_loop1:
	BROW(0(DI), 64(DI))
	STEPRA(0)
	ROWA(4)
	ADDQ R10, DI
	DECQ CX
	JNZ srow_loop1

srow_store:
	STORE32(alpha+72(FP), beta+76(FP), srow_overwrite, srow_unit)
	JMP srow_next

srow_overwrite:
	PUTROWS14(VMOVUPS)

srow_next:
	XORQ R15, R15
	ROWNEXT(128)
	JNZ srow_tile
	FLUSH_OFF
	VZEROUPPER
	RET

// (the float32 epilogue of the packed kernel, kept for reference: see STORE32)
// func dgemmKernel14x16(k int, a, b, c *float64, ldc int, alpha, beta float64)
TEXT ·dgemmKernel14x16(SB), NOSPLIT, $8-56
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $3, R8 // row stride of C in bytes
	FLUSH_ON
	PREFETCHC
	ZERO28

	MOVQ CX, R9
	SHRQ $2, R9
	JZ d512_tail
d512_loop4:
	STEP64(0, 0)
	STEP64(112, 128)
	STEP64(224, 256)
	STEP64(336, 384)
	ADDQ $448, SI
	ADDQ $512, DI
	DECQ R9
	JNZ d512_loop4

d512_tail:
	ANDQ $3, CX
	JZ d512_store
d512_loop1:
	STEP64(0, 0)
	ADDQ $112, SI
	ADDQ $128, DI
	DECQ CX
	JNZ d512_loop1

d512_store:
	VBROADCASTSD alpha+40(FP), Z31
	SCALE28(VMULPD, Z31)
	MOVQ beta+48(FP), AX
	SHLQ $1, AX // drop the sign: -0 is zero too
	JZ d512_overwrite
	VBROADCASTSD beta+48(FP), Z31
	UPD(VFMADD231PD, VMOVUPD, Z0, Z1)
	UPD(VFMADD231PD, VMOVUPD, Z2, Z3)
	UPD(VFMADD231PD, VMOVUPD, Z4, Z5)
	UPD(VFMADD231PD, VMOVUPD, Z6, Z7)
	UPD(VFMADD231PD, VMOVUPD, Z8, Z9)
	UPD(VFMADD231PD, VMOVUPD, Z10, Z11)
	UPD(VFMADD231PD, VMOVUPD, Z12, Z13)
	UPD(VFMADD231PD, VMOVUPD, Z14, Z15)
	UPD(VFMADD231PD, VMOVUPD, Z16, Z17)
	UPD(VFMADD231PD, VMOVUPD, Z18, Z19)
	UPD(VFMADD231PD, VMOVUPD, Z20, Z21)
	UPD(VFMADD231PD, VMOVUPD, Z22, Z23)
	UPD(VFMADD231PD, VMOVUPD, Z24, Z25)
	UPD(VFMADD231PD, VMOVUPD, Z26, Z27)
	FLUSH_OFF
	VZEROUPPER
	RET

d512_overwrite:
	PUTROWS14(VMOVUPD)
	FLUSH_OFF
	VZEROUPPER
	RET

// The 8×32 kernels: sgemm512Col and sgemm512Row for a tile of 8 rows (16 accumulators), for the
// rows of a product that the 14-row panels do not fill (see rowPlan in driver.go): 128 rows are
// 8 panels of 14 and 2 of 8, where 14-row panels alone would compute 140. Per step of k, 2 loads
// of B and 8 broadcasts feed 16 FMAs, still more than the 8 independent chains the FMA latency
// needs; each element of C is the same FMA chain as in the 14-row kernels, so the bits are the
// same whichever tile computes it.

// ROWS8(ao): the 16 FMAs of one step of k with the A column at ao(SI), B's row in Z28, Z29.
#define ROWS8(ao) \
	ROW32(ao, Z0, Z1); \
	ROW32(ao+4, Z2, Z3); \
	ROW32(ao+8, Z4, Z5); \
	ROW32(ao+12, Z6, Z7); \
	ROW32(ao+16, Z8, Z9); \
	ROW32(ao+20, Z10, Z11); \
	ROW32(ao+24, Z12, Z13); \
	ROW32(ao+28, Z14, Z15)

// ZERO16 clears the accumulators of an 8×32 tile.
#define ZERO16 \
	ZERO14; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15

// SCALE16(op, s): every accumulator of an 8×32 tile = accumulator op s.
#define SCALE16(op, s) \
	SCALE14(op, s); \
	op s, Z14, Z14; \
	op s, Z15, Z15

#define PUTROWS8(mov) \
	PUT(mov, Z0, Z1); \
	PUT(mov, Z2, Z3); \
	PUT(mov, Z4, Z5); \
	PUT(mov, Z6, Z7); \
	PUT(mov, Z8, Z9); \
	PUT(mov, Z10, Z11); \
	PUT(mov, Z12, Z13); \
	PUT(mov, Z14, Z15)

// STORE8x32 is STORE32 for the 8-row tile.
#define STORE8x32(alpha, beta, overwrite, unit) \
	MOVL alpha, AX; \
	CMPL AX, $0x3f800000; \
	JEQ unit; \
	VBROADCASTSS alpha, Z31; \
	SCALE16(VMULPS, Z31); \
unit: \
	MOVL beta, AX; \
	ANDL $0x7fffffff, AX; \
	JZ overwrite; \
	VBROADCASTSS beta, Z31; \
	UPD(VFMADD231PS, VMOVUPS, Z0, Z1); \
	UPD(VFMADD231PS, VMOVUPS, Z2, Z3); \
	UPD(VFMADD231PS, VMOVUPS, Z4, Z5); \
	UPD(VFMADD231PS, VMOVUPS, Z6, Z7); \
	UPD(VFMADD231PS, VMOVUPS, Z8, Z9); \
	UPD(VFMADD231PS, VMOVUPS, Z10, Z11); \
	UPD(VFMADD231PS, VMOVUPS, Z12, Z13); \
	UPD(VFMADD231PS, VMOVUPS, Z14, Z15)

#define PREFETCHC8 \
	MOVQ DX, AX; \
	PFROW; PFROW; PFROW; PFROW; PFROW; PFROW; PFROW; PFROW

// func sgemm512Col8(k int, a, b, c *float32, ldc, lda, ldb, bstep, n int, alpha, beta float32)
TEXT ·sgemm512Col8(SB), NOSPLIT, $8-80
	COLARGS
	FLUSH_ON

c8_tile:
	COLTILE
	PREFETCHC8
	ZERO16

	MOVQ CX, R9
	SHRQ $2, R9
	JZ c8_tail
c8_loop4:
	BROW(0(DI), 64(DI))
	ROWS8(0)
	ADDQ R10, SI
	BROW(0(DI)(R11*1), 64(DI)(R11*1))
	ROWS8(0)
	ADDQ R10, SI
	LEAQ (DI)(R11*2), DI
	BROW(0(DI), 64(DI))
	ROWS8(0)
	ADDQ R10, SI
	BROW(0(DI)(R11*1), 64(DI)(R11*1))
	ROWS8(0)
	ADDQ R10, SI
	LEAQ (DI)(R11*2), DI
	DECQ R9
	JNZ c8_loop4

c8_tail:
	ANDQ $3, CX
	JZ c8_store
c8_loop1:
	BROW(0(DI), 64(DI))
	ROWS8(0)
	ADDQ R10, SI
	ADDQ R11, DI
	DECQ CX
	JNZ c8_loop1

c8_store:
	STORE8x32(alpha+72(FP), beta+76(FP), c8_overwrite, c8_unit)
	JMP c8_next

c8_overwrite:
	PUTROWS8(VMOVUPS)

c8_next:
	COLNEXT(128)
	JNZ c8_tile
	FLUSH_OFF
	VZEROUPPER
	RET

// STEPRA8(o): STEPRA for rows 0-3 (SI) and 4-7 (R13).
#define STEPRA8(o) \
	ROWR(o(SI), Z0, Z1); \
	ROWR(o(SI)(R11*1), Z2, Z3); \
	ROWR(o(SI)(R11*2), Z4, Z5); \
	ROWR(o(SI)(R12*1), Z6, Z7); \
	ROWR(o(R13), Z8, Z9); \
	ROWR(o(R13)(R11*1), Z10, Z11); \
	ROWR(o(R13)(R11*2), Z12, Z13); \
	ROWR(o(R13)(R12*1), Z14, Z15)

// func sgemm512Row8(k int, a, b, c *float32, ldc, lda, ldb, bstep, n int, alpha, beta float32)
TEXT ·sgemm512Row8(SB), NOSPLIT, $16-80
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	MOVQ lda+40(FP), R11
	SHLQ $2, R11
	MOVQ ldb+48(FP), R10
	SHLQ $2, R10
	LEAQ (R11)(R11*2), R12
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ n+64(FP), BX
	FLUSH_ON

r8_tile:
	MOVQ DI, R14
	MOVQ DX, ct-16(SP)
	MOVQ a+8(FP), SI
	LEAQ (SI)(R11*4), R13
	MOVQ k+0(FP), CX
	PREFETCHC8
	ZERO16

	MOVQ CX, R9
	SHRQ $2, R9
	JZ r8_tail
r8_loop4:
	BROW(0(DI), 64(DI))
	STEPRA8(0)
	BROW(0(DI)(R10*1), 64(DI)(R10*1))
	STEPRA8(4)
	LEAQ (DI)(R10*2), DI
	BROW(0(DI), 64(DI))
	STEPRA8(8)
	BROW(0(DI)(R10*1), 64(DI)(R10*1))
	STEPRA8(12)
	LEAQ (DI)(R10*2), DI
	ADDQ $16, SI
	ADDQ $16, R13
	DECQ R9
	JNZ r8_loop4

r8_tail:
	ANDQ $3, CX
	JZ r8_store
r8_loop1:
	BROW(0(DI), 64(DI))
	STEPRA8(0)
	ADDQ $4, SI
	ADDQ $4, R13
	ADDQ R10, DI
	DECQ CX
	JNZ r8_loop1

r8_store:
	STORE8x32(alpha+72(FP), beta+76(FP), r8_overwrite, r8_unit)
	JMP r8_next

r8_overwrite:
	PUTROWS8(VMOVUPS)

r8_next:
	MOVQ bstep+56(FP), AX
	LEAQ (R14)(AX*4), DI
	MOVQ ct-16(SP), DX
	ADDQ $128, DX
	DECQ BX
	JNZ r8_tile
	FLUSH_OFF
	VZEROUPPER
	RET

// The 14×16 tiles, for products of at most 16 columns (a 10-class output layer; the 16 channels
// of LeNet's second layer): one ZMM accumulator per row, one B load and 14 broadcasts per step of
// k. The 14×32 tiles computed such a product in one ragged tile of 32 columns, at most 10 or 16 of
// them kept. Each element is the same FMA chain over k, then the same alpha and beta·C, as in the
// 14×32 tiles: the same bits.

// ROWS16(ao): the 14 FMAs of one step of k with the A column at ao(SI).
#define ROWS16(ao) \
	ROW16(ao(SI), Z0); \
	ROW16(ao+4(SI), Z1); \
	ROW16(ao+8(SI), Z2); \
	ROW16(ao+12(SI), Z3); \
	ROW16(ao+16(SI), Z4); \
	ROW16(ao+20(SI), Z5); \
	ROW16(ao+24(SI), Z6); \
	ROW16(ao+28(SI), Z7); \
	ROW16(ao+32(SI), Z8); \
	ROW16(ao+36(SI), Z9); \
	ROW16(ao+40(SI), Z10); \
	ROW16(ao+44(SI), Z11); \
	ROW16(ao+48(SI), Z12); \
	ROW16(ao+52(SI), Z13)

// UPD16(acc): the C row at DX = acc + beta·C (beta in Z31), then the next row.
#define UPD16(acc) \
	VFMADD231PS (DX), Z31, acc; \
	VMOVUPS acc, (DX); \
	ADDQ R8, DX

// PUT16(acc): the C row at DX = acc, then the next row.
#define PUT16(acc) \
	VMOVUPS acc, (DX); \
	ADDQ R8, DX

// STORE14x16(alpha, beta, overwrite) is STORE32 for the 14×16 tile.
#define STORE14x16(alpha, beta, overwrite, unit) \
	MOVL alpha, AX; \
	CMPL AX, $0x3f800000; \
	JEQ unit; \
	VBROADCASTSS alpha, Z31; \
	SCALE14(VMULPS, Z31); \
unit: \
	MOVL beta, AX; \
	ANDL $0x7fffffff, AX; \
	JZ overwrite; \
	VBROADCASTSS beta, Z31; \
	UPD16(Z0); UPD16(Z1); UPD16(Z2); UPD16(Z3); UPD16(Z4); UPD16(Z5); UPD16(Z6); \
	UPD16(Z7); UPD16(Z8); UPD16(Z9); UPD16(Z10); UPD16(Z11); UPD16(Z12); UPD16(Z13)

#define PUTROWS14x16 \
	PUT16(Z0); PUT16(Z1); PUT16(Z2); PUT16(Z3); PUT16(Z4); PUT16(Z5); PUT16(Z6); \
	PUT16(Z7); PUT16(Z8); PUT16(Z9); PUT16(Z10); PUT16(Z11); PUT16(Z12); PUT16(Z13)


// PREFETCHC16 fetches the 14 rows (one line each) of the C tile at DX into L1. Clobbers AX.
#define PF1ROW \
	PREFETCHT0 (AX); \
	ADDQ R8, AX

#define PREFETCHC16 \
	MOVQ DX, AX; \
	PF1ROW; PF1ROW; PF1ROW; PF1ROW; PF1ROW; PF1ROW; PF1ROW; \
	PF1ROW; PF1ROW; PF1ROW; PF1ROW; PF1ROW; PF1ROW; PF1ROW

// func sgemm512Col16(k int, a, b, c *float32, ldc, lda, ldb, bstep, n int, alpha, beta float32)
//
// sgemm512Col for 14×16 tiles: tile j reads the B micro-panel at b[j*bstep:] and writes C at
// c[16j:].
TEXT ·sgemm512Col16(SB), NOSPLIT, $8-80
	COLARGS
	FLUSH_ON

c16_tile:
	COLTILE
	PREFETCHC16
	ZERO14

	MOVQ CX, R9
	SHRQ $2, R9
	JZ c16_tail
c16_loop4:
	VMOVUPS (DI), Z28
	ROWS16(0)
	ADDQ R10, SI
	VMOVUPS (DI)(R11*1), Z28
	ROWS16(0)
	ADDQ R10, SI
	LEAQ (DI)(R11*2), DI
	VMOVUPS (DI), Z28
	ROWS16(0)
	ADDQ R10, SI
	VMOVUPS (DI)(R11*1), Z28
	ROWS16(0)
	ADDQ R10, SI
	LEAQ (DI)(R11*2), DI
	DECQ R9
	JNZ c16_loop4

c16_tail:
	ANDQ $3, CX
	JZ c16_store
c16_loop1:
	VMOVUPS (DI), Z28
	ROWS16(0)
	ADDQ R10, SI
	ADDQ R11, DI
	DECQ CX
	JNZ c16_loop1

c16_store:
	STORE14x16(alpha+72(FP), beta+76(FP), c16_overwrite, c16_unit)
	JMP c16_next

c16_overwrite:
	PUTROWS14x16

c16_next:
	COLNEXT(64)
	JNZ c16_tile
	FLUSH_OFF
	VZEROUPPER
	RET

// func sgemm512Row16(k int, a, b, c *float32, ldc, lda, ldb, bstep, n int, alpha, beta float32)
//
// sgemm512Row for 14×16 tiles.
TEXT ·sgemm512Row16(SB), NOSPLIT, $32-80
	ROWARGS
	FLUSH_ON

r16_tile:
	ROWTILE
	PREFETCHC16
	ZERO14

	MOVQ CX, R9
	SHRQ $2, R9
	JZ r16_tail
r16_loop4:
	VMOVUPS (DI), Z28
	STEPR16(0)
	VMOVUPS (DI)(R10*1), Z28
	STEPR16(4)
	LEAQ (DI)(R10*2), DI
	VMOVUPS (DI), Z28
	STEPR16(8)
	VMOVUPS (DI)(R10*1), Z28
	STEPR16(12)
	LEAQ (DI)(R10*2), DI
	ROWA(16)
	DECQ R9
	JNZ r16_loop4

r16_tail:
	ANDQ $3, CX
	JZ r16_store
r16_loop1:
	VMOVUPS (DI), Z28
	STEPR16(0)
	ROWA(4)
	ADDQ R10, DI
	DECQ CX
	JNZ r16_loop1

r16_store:
	STORE14x16(alpha+72(FP), beta+76(FP), r16_overwrite, r16_unit)
	JMP r16_next

r16_overwrite:
	PUTROWS14x16

r16_next:
	ROWNEXT(64)
	JNZ r16_tile
	FLUSH_OFF
	VZEROUPPER
	RET
