//go:build amd64 && !purego

#include "textflag.h"
#include "ftz_amd64.h"

// AVX2 float32 loops for the activations (activation32.go) and the row softmax (softmax.go), 8
// elements per YMM register. Each computes exactly what its Go reference computes:
//
//	sigmoidAVX2      e = expNeg(-|x|); σ = (x < 0 ? e : 1)/(1+e)
//	sigmoidGradAVX2  the same e, r = 1/(1+e); dx = dy·((e·r)·r)
//	tanhAVX2         e = expNeg(-2|x|); big = copysign((1-e)/(1+e), x)
//	                 small = x·(z·P(z) + 1), z = x²; tanh = |x| < 0.625 ? small : big
//	tanhGradAVX2     dx = dy·(((4·e)·r)·r), r = 1/(1+e)
//	reluAVX2         max(x, 0) as the compiler's -min(min(-x, -0), -x) | ... sequence
//	reluGradAVX2     dx = dy·(x > 0 ? 1 : x <= 0 ? 0 : x)
//	                 8 bytes per element (12 for the gradients); the exp is 25 float ops
//	softmax32AVX2    per row: m = max, d + lo = x - m (TwoSum), e = exp32(d, lo) stored,
//	                 s = Σe in float64 in 8 lanes, σ = float32(float64(e)·(1/s))   (softmax32Row)
//	                 8 bytes per element from memory; about 40 float ops per element, and per
//	                 row two horizontal reductions (max, min) and one float64 division. Rows of
//	                 up to 16 are held in two YMM registers (x read once, dst written once);
//	                 wider rows make three passes (x is re-read from L1, e stored and re-read)
//
// Bit-identical to the Go code, and so independent of the CPU, of the instruction level, of the
// purego tag and of how the CPU backend splits a tensor over cores: every operation is a
// separate VMULPS/VADDPS/VSUBPS/VDIVPS (VADDPD/VMULPD/VDIVSD for the softmax sum), rounded
// exactly as the scalar instructions the Go compiler emits, in the order of the Go expression;
// VCVTTPS2DQ truncates as Go's int32(float32) does. There is deliberately no FMA (the Go code
// converts each product to float32 before an addition, which forbids fusion at any GOAMD64
// level). The activations have no branch on the values and never compute with a subnormal: the
// exp's argument is masked to 0 where it is below exp32Min or above -2^-126 and the exp to 0
// where it is below exp32Min (expNeg), the selections are blends, and a NaN flows through the
// arithmetic from its one source, so its payload is the Go code's. The softmax writes a
// NaN row and zero probabilities itself; it stops only at a row with a subnormal probability (a
// difference from the max in (-104, exp32Min]), before writing it, and returns its index for Go
// to do (the AVX-512 loop computes those in float64 lanes instead). The n%8 tail of the activations is left to Go; a softmax
// row's cols%8 tail uses masked loads and stores (VMASKMOVPS). Alignment is not assumed.
//
// Benchmark with
//
//	go test -run xxx -bench 'Sigmoid|SoftmaxRows10' -benchtime 3x -count 5 ./backend/cpu/
//	go test -run xxx -bench 'ActAsm' ./kernels/     (one core, each level against the Go loop)
//	go test -run xxx -bench Values ./backend/cpu/   (normal against extreme, subnormal, NaN inputs)
//
// and compare ours with gorgonia and with copy (the same bytes moved) in the same run.

// Constants, one YMM each: the float32 bits of activation32.go's constants.
DATA sgnbit<>+0(SB)/8, $0x8000000080000000
DATA sgnbit<>+8(SB)/8, $0x8000000080000000
DATA sgnbit<>+16(SB)/8, $0x8000000080000000
DATA sgnbit<>+24(SB)/8, $0x8000000080000000
GLOBL sgnbit<>(SB), RODATA|NOPTR, $32

#define CONST8(name, bits) \
	DATA name+0(SB)/4, $bits; \
	DATA name+4(SB)/4, $bits; \
	DATA name+8(SB)/4, $bits; \
	DATA name+12(SB)/4, $bits; \
	DATA name+16(SB)/4, $bits; \
	DATA name+20(SB)/4, $bits; \
	DATA name+24(SB)/4, $bits; \
	DATA name+28(SB)/4, $bits; \
	GLOBL name(SB), RODATA|NOPTR, $32

CONST8(expmin<>, 0xc2aea8f6) // exp32Min = -87.33
CONST8(log2e<>, 0x3fb8aa3b)  // log2e32
CONST8(half<>, 0x3f000000)   // 0.5
CONST8(ln2hi<>, 0x3f318000)  // ln2Hi32
CONST8(ln2lo<>, 0xb95e8083)  // ln2Lo32
CONST8(p0<>, 0x39506967)     // 1.9875691500e-4
CONST8(p1<>, 0x3ab743ce)     // 1.3981999507e-3
CONST8(p2<>, 0x3c088908)     // 8.3334519073e-3
CONST8(p3<>, 0x3d2aa9c1)     // 4.1665795894e-2
CONST8(p4<>, 0x3e2aaaaa)     // 1.6666665459e-1
CONST8(p5<>, 0x3f000000)     // 5.0000001201e-1
CONST8(one<>, 0x3f800000)    // 1
CONST8(bias<>, 0x0000007f)   // 127, the exponent bias (int32)
CONST8(neginf<>, 0xff800000) // -Inf
CONST8(posinf<>, 0x7f800000) // +Inf
CONST8(m104<>, 0xc2d00000)   // -104: below it a probability rounds to 0
CONST8(qnan<>, 0x7fc00000)   // the canonical quiet NaN of a NaN row
CONST8(ones<>, 0xffffffff)   // every lane of a row
CONST8(negtiny<>, 0xb3000000) // -2^-25: a larger exp argument (<= 0) is replaced by 0
CONST8(tiny25<>, 0x33000000)  // 2^-25: the tanh's x² is of x taken as 0 below it
CONST8(minnorm<>, 0x00800000) // 2^-126
CONST8(absmask<>, 0x7fffffff)
CONST8(neg2<>, 0xc0000000)   // -2
CONST8(four<>, 0x40800000)   // 4
CONST8(small<>, 0x3f200000)  // tanhSmall32 = 0.625
CONST8(th0<>, 0xbbbaf0ea)    // -5.70498872745e-3, Cephes' tanhf polynomial
CONST8(th1<>, 0x3ca9134e)    // 2.06390887954e-2
CONST8(th2<>, 0x3d5c1e2d)    // 5.37397155531e-2 (subtracted)
CONST8(th3<>, 0x3e088393)    // 1.33314422036e-1
CONST8(th4<>, 0x3eaaaa99)    // 3.33332819422e-1 (subtracted)

// tailmask<>+4(8-k) is the VMASKMOVPS mask of the first k lanes.
DATA tailmask<>+0(SB)/8, $0xffffffffffffffff
DATA tailmask<>+8(SB)/8, $0xffffffffffffffff
DATA tailmask<>+16(SB)/8, $0xffffffffffffffff
DATA tailmask<>+24(SB)/8, $0xffffffffffffffff
DATA tailmask<>+32(SB)/8, $0
DATA tailmask<>+40(SB)/8, $0
DATA tailmask<>+48(SB)/8, $0
DATA tailmask<>+56(SB)/8, $0
GLOBL tailmask<>(SB), RODATA|NOPTR, $64

DATA oned<>+0(SB)/8, $1.0
GLOBL oned<>(SB), RODATA|NOPTR, $8

// EXP32(a, lo, e, n, r) sets e = exp32(a, lo), line for line as activation32.go (a Go "x op y" is
// "VOPPS y, x, dst"); n and r are clobbered, a and lo kept.
//
//	n = int32(a·log2e - 0.5); fn = float32(n)
//	r = a - fn·ln2Hi; r = r - fn·ln2Lo; r = r + lo
//	p = p0·r + p1; p = p·r + p2; ... p = p·r + p5
//	e = ((p·r)·r + r) + 1; e = e · float32frombits((n+127) << 23)
#define EXP32(a, lo, e, n, r) \
	VMULPS log2e<>(SB), a, e; \
	VSUBPS half<>(SB), e, e; \
	VCVTTPS2DQ e, n; \
	VCVTDQ2PS n, e; \
	VMULPS ln2hi<>(SB), e, r; \
	VSUBPS r, a, r; \
	VMULPS ln2lo<>(SB), e, e; \
	VSUBPS e, r, r; \
	VADDPS lo, r, r; \
	VMULPS p0<>(SB), r, e; \
	VADDPS p1<>(SB), e, e; \
	VMULPS r, e, e; \
	VADDPS p2<>(SB), e, e; \
	VMULPS r, e, e; \
	VADDPS p3<>(SB), e, e; \
	VMULPS r, e, e; \
	VADDPS p4<>(SB), e, e; \
	VMULPS r, e, e; \
	VADDPS p5<>(SB), e, e; \
	VMULPS r, e, e; \
	VMULPS r, e, e; \
	VADDPS r, e, e; \
	VADDPS one<>(SB), e, e; \
	VPADDD bias<>(SB), n, n; \
	VPSLLD $23, n, n; \
	VMULPS n, e, e

// EXP32N(a, e, n, r) is EXP32(a, 0, e, n, r) without the addition of lo = 0: r + 0 differs from
// r only for r = -0, which happens only for a = -0, and both give e = 1.
#define EXP32N(a, e, n, r) \
	VMULPS log2e<>(SB), a, e; \
	VSUBPS half<>(SB), e, e; \
	VCVTTPS2DQ e, n; \
	VCVTDQ2PS n, e; \
	VMULPS ln2hi<>(SB), e, r; \
	VSUBPS r, a, r; \
	VMULPS ln2lo<>(SB), e, e; \
	VSUBPS e, r, r; \
	VMULPS p0<>(SB), r, e; \
	VADDPS p1<>(SB), e, e; \
	VMULPS r, e, e; \
	VADDPS p2<>(SB), e, e; \
	VMULPS r, e, e; \
	VADDPS p3<>(SB), e, e; \
	VMULPS r, e, e; \
	VADDPS p4<>(SB), e, e; \
	VMULPS r, e, e; \
	VADDPS p5<>(SB), e, e; \
	VMULPS r, e, e; \
	VMULPS r, e, e; \
	VADDPS r, e, e; \
	VADDPS one<>(SB), e, e; \
	VPADDD bias<>(SB), n, n; \
	VPSLLD $23, n, n; \
	VMULPS n, e, e

// EXPNEG(a, e, n, r, low, tiny) sets e = expNeg(a) (activation32.go): a is replaced by 0 where
// a < exp32Min (low) or a > -2^-25 (tiny), and e by 0 where a < exp32Min, so that no lane
// computes with a subnormal. n, r, tiny clobbered; low keeps its mask.
#define EXPNEG(a, e, n, r, low, tiny) \
	VCMPPS $1, expmin<>(SB), a, low; \
	VCMPPS $0x1e, negtiny<>(SB), a, tiny; \
	VORPS low, tiny, tiny; \
	VANDNPS a, tiny, a; \
	EXP32N(a, e, n, r); \
	VANDNPS e, low, e

// func sigmoidAVX2(dst, x *float32, n int)
//
// Two blocks of 8 per iteration (the exp is a chain of about 25 dependent operations; two
// independent chains keep the FP pipes busy), then a last single block.
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHLQ $2, CX                // bytes
	XORQ AX, AX                // byte offset of the block
	VMOVUPS one<>(SB), Y15
	MOVQ CX, DX
	SUBQ $32, DX               // the last offset with two blocks left

sigmoid_loop2:
	CMPQ AX, DX
	JGE sigmoid_loop
	VMOVUPS (SI)(AX*1), Y0     // x
	VMOVUPS 32(SI)(AX*1), Y7
	VORPS sgnbit<>(SB), Y0, Y1 // -|x|
	VORPS sgnbit<>(SB), Y7, Y8
	EXPNEG(Y1, Y3, Y4, Y5, Y6, Y2)       // e
	EXPNEG(Y8, Y9, Y10, Y11, Y12, Y13)
	VADDPS Y15, Y3, Y4         // 1 + e
	VADDPS Y15, Y9, Y10
	VBLENDVPS Y0, Y3, Y15, Y5  // e where x's sign bit is set, else 1
	VBLENDVPS Y7, Y9, Y15, Y11
	VDIVPS Y4, Y5, Y4          // σ = e/(1+e) or 1/(1+e)
	VDIVPS Y10, Y11, Y10
	VMOVUPS Y4, (DI)(AX*1)
	VMOVUPS Y10, 32(DI)(AX*1)
	ADDQ $64, AX
	JMP sigmoid_loop2

sigmoid_loop:
	CMPQ AX, CX
	JGE sigmoid_done
	VMOVUPS (SI)(AX*1), Y0
	VORPS sgnbit<>(SB), Y0, Y1
	EXPNEG(Y1, Y3, Y4, Y5, Y6, Y2)
	VADDPS Y15, Y3, Y4
	VBLENDVPS Y0, Y3, Y15, Y5
	VDIVPS Y4, Y5, Y4
	VMOVUPS Y4, (DI)(AX*1)
	ADDQ $32, AX
	JMP sigmoid_loop

sigmoid_done:
	VZEROUPPER
	RET

// func sigmoidGradAVX2(dx, x, dy *float32, n int)
TEXT ·sigmoidGradAVX2(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ AX, AX
	VMOVUPS one<>(SB), Y15

sigmoidGrad_loop:
	CMPQ AX, CX
	JGE sigmoidGrad_done
	VMOVUPS (SI)(AX*1), Y0
	VORPS sgnbit<>(SB), Y0, Y1
	EXPNEG(Y1, Y3, Y4, Y5, Y6, Y2) // e
	VADDPS Y15, Y3, Y4
	VDIVPS Y4, Y15, Y4         // r
	VMULPS Y4, Y3, Y5          // e·r
	VMULPS Y4, Y5, Y5          // (e·r)·r
	VMULPS (DX)(AX*1), Y5, Y5  // dy·σ'
	VMOVUPS Y5, (DI)(AX*1)
	ADDQ $32, AX
	JMP sigmoidGrad_loop

sigmoidGrad_done:
	VZEROUPPER
	RET

// func tanhAVX2(dst, x *float32, n int)
TEXT ·tanhAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	XORQ AX, AX
	VMOVUPS one<>(SB), Y15

tanh_loop:
	CMPQ AX, CX
	JGE tanh_done
	VMOVUPS (SI)(AX*1), Y0      // x
	VANDPS absmask<>(SB), Y0, Y1 // |x|
	VCMPPS $1, minnorm<>(SB), Y1, Y2 // |x| < 2^-126: x becomes ±0
	VANDPS sgnbit<>(SB), Y0, Y3
	VBLENDVPS Y2, Y3, Y0, Y0
	VANDPS absmask<>(SB), Y0, Y1
	VMULPS neg2<>(SB), Y1, Y2   // -2|x|
	EXPNEG(Y2, Y3, Y4, Y5, Y7, Y6) // e
	VSUBPS Y3, Y15, Y4          // 1 - e
	VADDPS Y15, Y3, Y5          // 1 + e
	VDIVPS Y5, Y4, Y4           // (1-e)/(1+e)
	VANDPS sgnbit<>(SB), Y0, Y5
	VORPS Y5, Y4, Y4            // big, with the sign of x
	VCMPPS $5, tiny25<>(SB), Y1, Y6 // |x| >= 2^-25 (NaN too)
	VANDPS Y0, Y6, Y6
	VMULPS Y6, Y6, Y5           // z = x·x, 0 for |x| < 2^-25
	VMULPS th0<>(SB), Y5, Y6    // p = c0·z
	VADDPS th1<>(SB), Y6, Y6
	VMULPS Y5, Y6, Y6
	VSUBPS th2<>(SB), Y6, Y6
	VMULPS Y5, Y6, Y6
	VADDPS th3<>(SB), Y6, Y6
	VMULPS Y5, Y6, Y6
	VSUBPS th4<>(SB), Y6, Y6    // P(z)
	VMULPS Y6, Y5, Y6           // z·P
	VADDPS Y15, Y6, Y6          // z·P + 1
	VMULPS Y6, Y0, Y6           // small = x·(z·P + 1)
	VCMPPS $1, small<>(SB), Y1, Y7 // |x| < 0.625
	VBLENDVPS Y7, Y6, Y4, Y4
	VMOVUPS Y4, (DI)(AX*1)
	ADDQ $32, AX
	JMP tanh_loop

tanh_done:
	VZEROUPPER
	RET

// func tanhGradAVX2(dx, x, dy *float32, n int)
TEXT ·tanhGradAVX2(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ AX, AX
	VMOVUPS one<>(SB), Y15

tanhGrad_loop:
	CMPQ AX, CX
	JGE tanhGrad_done
	VMOVUPS (SI)(AX*1), Y0
	VANDPS absmask<>(SB), Y0, Y1
	VCMPPS $5, minnorm<>(SB), Y1, Y2 // |x| >= 2^-126 (else taken as 0)
	VANDPS Y2, Y1, Y1
	VMULPS neg2<>(SB), Y1, Y2
	EXPNEG(Y2, Y3, Y4, Y5, Y6, Y7) // e
	VADDPS Y15, Y3, Y4
	VDIVPS Y4, Y15, Y4         // r
	VMULPS four<>(SB), Y3, Y5  // 4·e
	VMULPS Y4, Y5, Y5
	VMULPS Y4, Y5, Y5          // ((4·e)·r)·r
	VMULPS (DX)(AX*1), Y5, Y5  // dy·sech²
	VMOVUPS Y5, (DI)(AX*1)
	ADDQ $32, AX
	JMP tanhGrad_loop

tanhGrad_done:
	VZEROUPPER
	RET

// func reluAVX2(dst, x *float32, n int)
//
// max(x, 0) exactly as Go computes it: t = min(-x, -0); r = min(t, -x) | t; max = -r (MINPS
// returns its second source when either is NaN), which gives +0 for -0 and keeps a NaN's payload.
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	XORQ AX, AX
	VMOVUPS sgnbit<>(SB), Y15  // the sign bit, which is also -0

relu_loop:
	CMPQ AX, CX
	JGE relu_done
	VXORPS (SI)(AX*1), Y15, Y0 // -x
	VMINPS Y15, Y0, Y1         // t = min(-x, -0)
	VMINPS Y0, Y1, Y2          // min(t, -x)
	VORPS Y1, Y2, Y2
	VXORPS Y15, Y2, Y2
	VMOVUPS Y2, (DI)(AX*1)
	ADDQ $32, AX
	JMP relu_loop

relu_done:
	VZEROUPPER
	RET

// func reluGradAVX2(dx, x, dy *float32, n int)
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ AX, AX
	VMOVUPS one<>(SB), Y15
	VXORPS Y14, Y14, Y14

reluGrad_loop:
	CMPQ AX, CX
	JGE reluGrad_done
	VMOVUPS (SI)(AX*1), Y0
	VCMPPS $0x1e, Y14, Y0, Y1  // x > 0
	VANDPS Y15, Y1, Y1         // 1 where x > 0
	VCMPPS $3, Y0, Y0, Y2      // x unordered (NaN)
	VANDPS Y0, Y2, Y2          // x where NaN
	VORPS Y2, Y1, Y1           // step(x)
	VMULPS (DX)(AX*1), Y1, Y1  // dy·step
	VMOVUPS Y1, (DI)(AX*1)
	ADDQ $32, AX
	JMP reluGrad_loop

reluGrad_done:
	VZEROUPPER
	RET

// MAXMIN_CHECK(nan, low) reduces the max (Y0, to every lane of X0) and the min (Y1) of a row;
// it jumps to nan if a lane of Y2 is unordered (a NaN row), and to low if min - max is not above
// exp32Min (some probability is subnormal or zero, or the max is ±Inf: then the difference is
// -Inf or NaN) or if the max is below 2^-25 in magnitude (TINYD's rows). So a row of moderate
// logits takes none of the extra work. Clobbers X1, X4, CX.
#define MAXMIN_CHECK(nan, low) \
	VMOVMSKPS Y2, CX; \
	TESTL CX, CX; \
	JNZ nan; \
	VEXTRACTF128 $1, Y0, X4; \
	VMAXPS X4, X0, X0; \
	VPERMILPS $0x4e, X0, X4; \
	VMAXPS X4, X0, X0; \
	VPERMILPS $0xb1, X0, X4; \
	VMAXPS X4, X0, X0; \
	VEXTRACTF128 $1, Y1, X4; \
	VMINPS X4, X1, X1; \
	VPERMILPS $0x4e, X1, X4; \
	VMINPS X4, X1, X1; \
	VPERMILPS $0xb1, X1, X4; \
	VMINPS X4, X1, X1; \
	VSUBPS X0, X1, X1; \
	VCMPPS $0x1e, expmin<>(SB), X1, X1; \
	VANDPS absmask<>(SB), X0, X4; \
	VCMPPS $5, tiny25<>(SB), X4, X4; \
	VANDPS X4, X1, X1; \
	VMOVMSKPS X1, CX; \
	TESTL $1, CX; \
	JZ low

// INFCHECK(nan) jumps to nan if the row's max (X0) is ±Inf: a NaN row. Clobbers X4, CX.
#define INFCHECK(nan) \
	VANDPS absmask<>(SB), X0, X4; \
	VCMPPS $0, posinf<>(SB), X4, X4; \
	VMOVMSKPS X4, CX; \
	TESTL $1, CX; \
	JNZ nan

// LOWLANES(d, e, rowmask, t, t2, band) zeroes e where d <= exp32Min, and jumps to band if a lane
// of rowmask has -104 < d <= exp32Min (a subnormal probability: Go computes that row). Clobbers
// t, t2, CX.
#define LOWLANES(d, e, rowmask, t, t2, band) \
	VCMPPS $0x1e, expmin<>(SB), d, t; \
	VANDPS t, e, e; \
	VCMPPS $0x1e, m104<>(SB), d, t2; \
	VANDNPS t2, t, t2; \
	VANDPS rowmask, t2, t2; \
	VMOVMSKPS t2, CX; \
	TESTL CX, CX; \
	JNZ band

// TWOSUM(v, m, d, lo, t) sets d = v - m and lo = (v - (d - bb)) - (m + bb), bb = d - v, so that
// d + lo = v - m exactly (Knuth's TwoSum), as softmax32Row.
#define TWOSUM(v, m, d, lo, t) \
	VSUBPS m, v, d; \
	VSUBPS v, d, lo; \
	VSUBPS lo, d, t; \
	VSUBPS t, v, t; \
	VADDPS lo, m, lo; \
	VSUBPS lo, t, lo

// TINYD(d, lo, t) sets d and lo to +0 in the lanes where |d| < 2^-25, where exp32(d, lo) rounds
// to 1 (softmax32Row takes 1 there; TestExp32IsOneForTinyDifferences): in a row whose max is
// tiny or subnormal, exp32's products of such a d are subnormal, a microcode assist each on
// Intel cores. Only the rows MAXMIN_CHECK sends to the low path with a tiny max (TINYMAX) take it. Clobbers t.
#define TINYD(d, lo, t) \
	VANDPS absmask<>(SB), d, t; \
	VCMPPS $5, tiny25<>(SB), t, t; \
	VANDPS t, d, d; \
	VANDPS t, lo, lo

// TINYMAX(tiny) jumps to tiny if the row's max (X0) is below 2^-25 in magnitude: a low row
// (MAXMIN_CHECK) that needs TINYD. Clobbers X4, CX.
#define TINYMAX(tiny) \
	VANDPS absmask<>(SB), X0, X4; \
	VCMPPS $1, tiny25<>(SB), X4, X4; \
	VMOVMSKPS X4, CX; \
	TESTL $1, CX; \
	JNZ tiny

// SUM_INV(a, b, t) sets every lane of a to 1 / ((t0 + t2) + (t1 + t3)), t_k = a_k + b_k (the
// float64 partial sums s_k, s_k+4). Clobbers b, t.
#define SUM_INV(a, b, xa, xb, xt) \
	VADDPD b, a, a; \
	VEXTRACTF128 $1, a, xb; \
	VADDPD xb, xa, xa; \
	VPERMILPD $1, xa, xb; \
	VADDSD xb, xa, xa; \
	VMOVSD oned<>(SB), xt; \
	VDIVSD xa, xt, xa; \
	VBROADCASTSD xa, a

// SCALE(lo, hi, inv, y, x, xt) sets y to float32(lo·inv) in lanes 0-3 and float32(hi·inv) in
// lanes 4-7 (lo and hi float64).
#define SCALE(lo, hi, inv, y, x, xt) \
	VMULPD inv, lo, lo; \
	VMULPD inv, hi, hi; \
	VCVTPD2PSY lo, x; \
	VCVTPD2PSY hi, xt; \
	VINSERTF128 $1, xt, y, y

// STORE_PART(y, x, k, p, l4, l2, l1, end) stores the first k lanes (1 to 8) of y at p with
// plain stores (a masked store is slow, and a masked load of it cannot be forwarded). Clobbers
// y and p; branches on k, which is the same for every row.
#define STORE_PART(y, x, k, p, l4, l2, l1, end) \
	TESTQ $8, k; \
	JZ l4; \
	VMOVUPS y, (p); \
	JMP end; \
l4: \
	TESTQ $4, k; \
	JZ l2; \
	VMOVUPS x, (p); \
	VEXTRACTF128 $1, y, x; \
	ADDQ $16, p; \
l2: \
	TESTQ $2, k; \
	JZ l1; \
	VMOVQ x, (p); \
	VMOVHLPS x, x, x; \
	ADDQ $8, p; \
l1: \
	TESTQ $1, k; \
	JZ end; \
	VMOVSS x, (p); \
end:

// EXPZ_STORE: from d + lo (Y4, Y5) of a block of a low row, e = exp32(d, lo), 0 where d <=
// exp32Min, stored at (DI)(BX*1) and added in float64 to Y1 (lanes 0-3) and Y2 (4-7).
#define EXPZ_STORE \
	EXP32(Y4, Y5, Y6, Y7, Y8); \
	VCMPPS $0x1e, expmin<>(SB), Y4, Y7; \
	VANDPS Y7, Y6, Y6; \
	VMOVUPS Y6, (DI)(BX*1); \
	VCVTPS2PD X6, Y7; \
	VADDPD Y7, Y1, Y1; \
	VEXTRACTF128 $1, Y6, X6; \
	VCVTPS2PD X6, Y7; \
	VADDPD Y7, Y2, Y2

// func softmax32AVX2(dst, x *float32, rows, cols int) int
//
// Registers: SI, DI the row of x and dst; AX the row index; R8 rows; R9 cols; R12 the row's
// bytes. Y11 -Inf, Y12 +Inf. Rows of up to 16 are held in two YMM registers (masks Y13, Y10);
// wider rows go through dst: R10 the bytes of the row's whole blocks of 8, R11 cols%8, Y13 the
// mask of the last cols%8 lanes, whose exps stay in Y14 from pass 2 to pass 3.
TEXT ·softmax32AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ cols+24(FP), R9
	MOVQ R9, R12
	SHLQ $2, R12
	VMOVUPS neginf<>(SB), Y11
	VMOVUPS posinf<>(SB), Y12
	LEAQ tailmask<>(SB), DX
	XORQ AX, AX
	CMPQ R9, $16
	JGT softmax_wide

	// Rows of 1 to 16: block 0 holds k0 = min(cols, 8) elements, block 1 k1 = cols - k0.
	MOVQ R9, R10
	CMPQ R10, $8
	JLE softmax_k0
	MOVQ $8, R10
softmax_k0:
	MOVQ R9, R13
	SUBQ R10, R13
	MOVQ $8, CX
	SUBQ R10, CX
	VMOVUPS (DX)(CX*4), Y13
	MOVQ $8, CX
	SUBQ R13, CX
	VMOVUPS (DX)(CX*4), Y10

softmax_short_row:
	CMPQ AX, R8
	JGE softmax_done
	VMASKMOVPS (SI), Y13, Y3   // 0 in the lanes past the row
	VMASKMOVPS 32(SI), Y10, Y9
	VBLENDVPS Y13, Y3, Y11, Y0
	VBLENDVPS Y10, Y9, Y11, Y4
	VMAXPS Y4, Y0, Y0
	VBLENDVPS Y13, Y3, Y12, Y1
	VBLENDVPS Y10, Y9, Y12, Y4
	VMINPS Y4, Y1, Y1
	VCMPPS $3, Y3, Y3, Y2
	VCMPPS $3, Y9, Y9, Y4
	VORPS Y4, Y2, Y2
	MAXMIN_CHECK(softmax_short_nan, softmax_short_low)
	VBROADCASTSS X0, Y0
	TWOSUM(Y3, Y0, Y4, Y5, Y6)
	EXP32(Y4, Y5, Y6, Y7, Y8)  // e0
	TWOSUM(Y9, Y0, Y4, Y5, Y7)
	EXP32(Y4, Y5, Y7, Y8, Y1)  // e1
	JMP softmax_short_sum
softmax_short_low:
	INFCHECK(softmax_short_nan)
	TINYMAX(softmax_short_tiny)
	VBROADCASTSS X0, Y0
	TWOSUM(Y3, Y0, Y4, Y5, Y6)
	EXP32(Y4, Y5, Y6, Y7, Y8)
	LOWLANES(Y4, Y6, Y13, Y7, Y8, softmax_done) // a subnormal probability: Go does this row
	TWOSUM(Y9, Y0, Y4, Y5, Y7)
	EXP32(Y4, Y5, Y7, Y8, Y1)
	LOWLANES(Y4, Y7, Y10, Y8, Y1, softmax_done)
	JMP softmax_short_sum
softmax_short_tiny:
	VBROADCASTSS X0, Y0
	TWOSUM(Y3, Y0, Y4, Y5, Y6)
	TINYD(Y4, Y5, Y6)
	EXP32(Y4, Y5, Y6, Y7, Y8)
	LOWLANES(Y4, Y6, Y13, Y7, Y8, softmax_done)
	TWOSUM(Y9, Y0, Y4, Y5, Y7)
	TINYD(Y4, Y5, Y7)
	EXP32(Y4, Y5, Y7, Y8, Y1)
	LOWLANES(Y4, Y7, Y10, Y8, Y1, softmax_done)
softmax_short_sum:
	VANDPS Y13, Y6, Y6         // the lanes past the row add +0
	VANDPS Y10, Y7, Y7
	VCVTPS2PD X6, Y1           // float64 e0..e3
	VEXTRACTF128 $1, Y6, X6
	VCVTPS2PD X6, Y2           // e4..e7
	VCVTPS2PD X7, Y4           // e8..e11
	VEXTRACTF128 $1, Y7, X7
	VCVTPS2PD X7, Y5           // e12..e15
	VADDPD Y4, Y1, Y6          // s0..s3 = e_k + e_k+8
	VADDPD Y5, Y2, Y7          // s4..s7
	SUM_INV(Y6, Y7, X6, X7, X8)
	SCALE(Y1, Y2, Y6, Y3, X3, X8)
	SCALE(Y4, Y5, Y6, Y9, X9, X8)
	CMPQ R10, $8
	JLT softmax_short_part
	VMOVUPS Y3, (DI)
	TESTQ R13, R13
	JZ softmax_short_next
	LEAQ 32(DI), DX
	STORE_PART(Y9, X9, R13, DX, short1_4, short1_2, short1_1, short1_end)
	JMP softmax_short_next
softmax_short_part:
	MOVQ DI, DX
	STORE_PART(Y3, X3, R10, DX, short0_4, short0_2, short0_1, short0_end)
softmax_short_next:
	ADDQ R12, SI
	ADDQ R12, DI
	INCQ AX
	JMP softmax_short_row
softmax_short_nan:
	VMOVUPS qnan<>(SB), Y14
	VMASKMOVPS Y14, Y13, (DI)
	VMASKMOVPS Y14, Y10, 32(DI)
	JMP softmax_short_next

softmax_wide:
	MOVQ R9, R11
	ANDQ $7, R11
	MOVQ R9, R10
	ANDQ $-8, R10
	SHLQ $2, R10
	MOVQ $8, CX
	SUBQ R11, CX
	VMOVUPS (DX)(CX*4), Y13

softmax_row:
	CMPQ AX, R8
	JGE softmax_done

	// Pass 1: max (Y0), min (Y1) and an unordered flag (Y2) over the row.
	VMOVUPS Y11, Y0
	VMOVUPS Y12, Y1
	VXORPS Y2, Y2, Y2
	XORQ BX, BX

softmax_max:
	CMPQ BX, R10
	JGE softmax_max_tail
	VMOVUPS (SI)(BX*1), Y3
	VMAXPS Y3, Y0, Y0
	VMINPS Y3, Y1, Y1
	VCMPPS $3, Y3, Y3, Y4
	VORPS Y4, Y2, Y2
	ADDQ $32, BX
	JMP softmax_max

softmax_max_tail:
	TESTQ R11, R11
	JZ softmax_max_reduce
	VMASKMOVPS (SI)(BX*1), Y13, Y3 // 0 in the lanes past the row
	VBLENDVPS Y13, Y3, Y11, Y4
	VMAXPS Y4, Y0, Y0
	VBLENDVPS Y13, Y3, Y12, Y4
	VMINPS Y4, Y1, Y1
	VCMPPS $3, Y3, Y3, Y4
	VORPS Y4, Y2, Y2

softmax_max_reduce:
	MAXMIN_CHECK(softmax_wide_nan, softmax_wide_low)
	JMP softmax_wide_exp

	// Some difference is at or below exp32Min: Go does the row if one is above -104 (a
	// subnormal probability), checked before anything is written (dst may be x).
softmax_wide_low:
	INFCHECK(softmax_wide_nan)
	VBROADCASTSS X0, Y0
	XORQ BX, BX
softmax_low:
	CMPQ BX, R10
	JGE softmax_low_tail
	VMOVUPS (SI)(BX*1), Y3
	VSUBPS Y0, Y3, Y4
	VMOVUPS ones<>(SB), Y3
	LOWLANES(Y4, Y5, Y3, Y6, Y7, softmax_done)
	ADDQ $32, BX
	JMP softmax_low
softmax_low_tail:
	TESTQ R11, R11
	JNZ softmax_low_tail2
	JMP softmax_low_done
softmax_low_tail2:
	VMASKMOVPS (SI)(BX*1), Y13, Y3
	VSUBPS Y0, Y3, Y4
	LOWLANES(Y4, Y5, Y13, Y6, Y7, softmax_done)
softmax_low_done:
	TINYMAX(softmax_wide_expzt)
	JMP softmax_wide_expz

	// Pass 2: d + lo = x - m, e = exp32(d, lo) stored in dst (the tail's kept in Y14), summed
	// in float64 into the lanes of Y1 (s0..s3) and Y2 (s4..s7); a row with low lanes takes the
	// loop that zeroes e where d <= exp32Min.
softmax_wide_exp:
	VBROADCASTSS X0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	XORQ BX, BX

softmax_exp:
	CMPQ BX, R10
	JGE softmax_exp_tail
	VMOVUPS (SI)(BX*1), Y3
	TWOSUM(Y3, Y0, Y4, Y5, Y6)
	EXP32(Y4, Y5, Y6, Y7, Y8)
	VMOVUPS Y6, (DI)(BX*1)
	VCVTPS2PD X6, Y7
	VADDPD Y7, Y1, Y1
	VEXTRACTF128 $1, Y6, X6
	VCVTPS2PD X6, Y7
	VADDPD Y7, Y2, Y2
	ADDQ $32, BX
	JMP softmax_exp

softmax_wide_expz:
	VBROADCASTSS X0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	XORQ BX, BX

softmax_expz:
	CMPQ BX, R10
	JGE softmax_exp_tail
	VMOVUPS (SI)(BX*1), Y3
	TWOSUM(Y3, Y0, Y4, Y5, Y6)
	EXPZ_STORE
	ADDQ $32, BX
	JMP softmax_expz

	// The same for a row whose max is tiny (TINYD).
softmax_wide_expzt:
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	XORQ BX, BX

softmax_expzt:
	CMPQ BX, R10
	JGE softmax_exp_tail
	VMOVUPS (SI)(BX*1), Y3
	TWOSUM(Y3, Y0, Y4, Y5, Y6)
	TINYD(Y4, Y5, Y6)
	EXPZ_STORE
	ADDQ $32, BX
	JMP softmax_expzt

softmax_exp_tail:
	TESTQ R11, R11
	JZ softmax_sum
	VMASKMOVPS (SI)(BX*1), Y13, Y3
	TWOSUM(Y3, Y0, Y4, Y5, Y6)
	TINYD(Y4, Y5, Y6)
	EXP32(Y4, Y5, Y14, Y7, Y8)
	VCMPPS $0x1e, expmin<>(SB), Y4, Y7
	VANDPS Y7, Y14, Y14
	VANDPS Y13, Y14, Y14 // the lanes past the row add +0
	VCVTPS2PD X14, Y7
	VADDPD Y7, Y1, Y1
	VEXTRACTF128 $1, Y14, X6
	VCVTPS2PD X6, Y7
	VADDPD Y7, Y2, Y2

softmax_sum:
	SUM_INV(Y1, Y2, X1, X2, X3)

	// Pass 3: dst = float32(float64(e) · inv).
	XORQ BX, BX

softmax_scale:
	CMPQ BX, R10
	JGE softmax_scale_tail
	VCVTPS2PD (DI)(BX*1), Y3
	VCVTPS2PD 16(DI)(BX*1), Y4
	SCALE(Y3, Y4, Y1, Y3, X3, X4)
	VMOVUPS Y3, (DI)(BX*1)
	ADDQ $32, BX
	JMP softmax_scale

softmax_scale_tail:
	TESTQ R11, R11
	JZ softmax_next
	VEXTRACTF128 $1, Y14, X4
	VCVTPS2PD X14, Y3
	VCVTPS2PD X4, Y4
	SCALE(Y3, Y4, Y1, Y3, X3, X4)
	LEAQ (DI)(BX*1), DX
	STORE_PART(Y3, X3, R11, DX, wide_4, wide_2, wide_1, wide_end)

softmax_next:
	ADDQ R12, SI
	ADDQ R12, DI
	INCQ AX
	JMP softmax_row

softmax_wide_nan:
	VMOVUPS qnan<>(SB), Y3
	XORQ BX, BX
softmax_nan:
	CMPQ BX, R10
	JGE softmax_nan_tail
	VMOVUPS Y3, (DI)(BX*1)
	ADDQ $32, BX
	JMP softmax_nan
softmax_nan_tail:
	TESTQ R11, R11
	JZ softmax_next
	LEAQ (DI)(BX*1), DX
	STORE_PART(Y3, X3, R11, DX, nan_4, nan_2, nan_1, nan_end)
	JMP softmax_next

softmax_done:
	MOVQ AX, ret+32(FP)
	VZEROUPPER
	RET

// func siluMulAVX2(dst, x, s *float32, n int, lo float32)
//
// SiLU's product for silu32: dst = x·s (s = σ(x)), +0 where x < lo (exp32Min: σ is flushed
// there, so -Inf gives 0 rather than NaN), with the MXCSR's flush-to-zero and denormals-are-zero
// bits set (and restored before it returns): a subnormal x is a zero of its sign, a product
// below 2^-126 a zero of its sign, as silu32's Go loop computes them. n is a multiple of 8.
TEXT ·siluMulAVX2(SB), NOSPLIT, $8-36
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ s+16(FP), DX
	MOVQ n+24(FP), CX
	FTZ_ON
	VBROADCASTSS lo+32(FP), Y15
	SHLQ $2, CX
	XORQ AX, AX
	TESTQ CX, CX
	JZ silumul_done
silumul_loop:
	VMOVUPS (SI)(AX*1), Y0
	VMULPS (DX)(AX*1), Y0, Y1 // x·s
	VCMPPS $0x11, Y15, Y0, Y2 // x < lo (LT_OQ: false for NaN)
	VANDNPS Y1, Y2, Y1        // +0 there
	VMOVUPS Y1, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB silumul_loop
silumul_done:
	FTZ_OFF
	VZEROUPPER
	RET
