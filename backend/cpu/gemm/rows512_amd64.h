// Macros of the 14-row AVX-512 tiles shared by gemm512_amd64.s and gemm512m_amd64.s.

// ZERO14 clears the accumulators of a 14×16 tile.
#define ZERO14 \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13

// SCALE14(op, s): every accumulator of a 14×16 tile = accumulator op s.
#define SCALE14(op, s) \
	op s, Z0, Z0; \
	op s, Z1, Z1; \
	op s, Z2, Z2; \
	op s, Z3, Z3; \
	op s, Z4, Z4; \
	op s, Z5, Z5; \
	op s, Z6, Z6; \
	op s, Z7, Z7; \
	op s, Z8, Z8; \
	op s, Z9, Z9; \
	op s, Z10, Z10; \
	op s, Z11, Z11; \
	op s, Z12, Z12; \
	op s, Z13, Z13

// ROW16(a, acc): acc += b[0:16]·A[a], B's row in Z28. The broadcast is the FMA's own (embedded,
// {1to16}): on the Zen 4 EPYC a separate VBROADCASTSS into a register before each FMA, one per
// FMA in these tiles, held the 128×256 · 256×10 product at 43-45 GFLOP/s against 60-62 (one core;
// 256×12 49 → 65-74, 256×16 71 → 82-87). On the Xeon the same change measured within noise.
// The same products and sums, so the same bits, but for NaN payloads: the memory operand is the
// FMA's last, so where both factors are NaN the result carries B's payload (as the Go loop's
// does), where the 14×32 tiles and AVX2 carry A's.
#define ROW16(a, acc) \
	VFMADD231PS.BCST a, Z28, acc

// STEPR16(o): the 14 FMAs of one step of k for rows read in place (see sgemm512Row), B's row in
// Z28, the A column o bytes on from SI (rows 0-3), R13 (4-7), R14 (8-11) and BX (12-13), R11 =
// lda and R12 = 3·lda in bytes.
#define STEPR16(o) \
	ROW16(o(SI), Z0); \
	ROW16(o(SI)(R11*1), Z1); \
	ROW16(o(SI)(R11*2), Z2); \
	ROW16(o(SI)(R12*1), Z3); \
	ROW16(o(R13), Z4); \
	ROW16(o(R13)(R11*1), Z5); \
	ROW16(o(R13)(R11*2), Z6); \
	ROW16(o(R13)(R12*1), Z7); \
	ROW16(o(R14), Z8); \
	ROW16(o(R14)(R11*1), Z9); \
	ROW16(o(R14)(R11*2), Z10); \
	ROW16(o(R14)(R12*1), Z11); \
	ROW16(o(BX), Z12); \
	ROW16(o(BX)(R11*1), Z13)
