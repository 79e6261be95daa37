//go:build amd64 && !purego

package gemm

import (
	"unsafe"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// The assembly kernel sets. kc is 256 at every level: each element of C is one FMA chain per kc
// slice, so equal kc makes the AVX2 and AVX-512 kernels give the same bits. The cache blocks are
// those BLIS uses for Haswell/Zen (AVX2) and Skylake-X (AVX-512) with the same tiles, rounded to
// the tiles: an mc×kc block of A stays in L2, a kc×nr micro-panel of B in L1 (32 KiB for the
// AVX-512 tiles), a kc×nc block of B in L3.
var (
	avx2Kernels = kernelSet{
		k32: sgemmKernel6x16, k4: sgemmKernel4x16, s32: sgemmSweep6x16, s4: sgemmSweep4x16,
		b32: blocking{mr: 6, nr: 16, mc: 168, kc: 256, nc: 4080},
		k64: dgemmKernel6x8, s64: dgemmSweep6x8, b64: blocking{mr: 6, nr: 8, mc: 72, kc: 256, nc: 4080},
		cols16:    &[widestColTile + 1]colTile{nil, sgemm2T1, sgemm2T2, sgemm2T3, sgemm2T4, sgemm2T5, sgemm2T6},
		copying16: &[widestColTile16 + 1]copyingTile{nil, sgemm2TC1, sgemm2TC2, sgemm2TC3, sgemm2TC4, sgemm2TC5, sgemm2TC6},
	}
	avx512Kernels = kernelSet{
		k32: sgemmKernel14x32, col32: sgemm512Col, r32: sgemm512Row, col8: sgemm512Col8, r8: sgemm512Row8,
		b32: blocking{mr: 14, nr: 32, mc: 168, kc: 256, nc: 512, rowsOuter: true},
		k64: dgemmKernel14x16, b64: blocking{mr: 14, nr: 16, mc: 84, kc: 256, nc: 256, rowsOuter: true},
		narrow: &avx512Narrow,
		shallow: &[17]shallowTile{nil, sgemm512TB1, sgemm512TB2, sgemm512TB3, sgemm512TB4, sgemm512TB5, sgemm512TB6, sgemm512TB7, sgemm512TB8,
			sgemm512TB9, sgemm512TB10, sgemm512TB11, sgemm512TB12, sgemm512TB13, sgemm512TB14, sgemm512TB15, sgemm512TB16},
	}
	// avx512Narrow is the float32 set for products of at most 16 columns (see kernelSet.narrow).
	avx512Narrow = kernelSet{
		k32: sgemmKernel14x16, col32: sgemm512Col16, r32: sgemm512Row16,
		b32: blocking{mr: 14, nr: 16, mc: 168, kc: 256, nc: 512, rowsOuter: true},
		cols: &[widestColTile + 1]colTile{nil, sgemm512T1, sgemm512T2, sgemm512T3, sgemm512T4, sgemm512T5, sgemm512T6, sgemm512T7,
			sgemm512T8, sgemm512T9, sgemm512T10, sgemm512T11, sgemm512T12, sgemm512T13},
		rowm: sgemm512RowM,
		trows: &[16]slicedTile{nil, sgemm512TR1, sgemm512TR2, sgemm512TR3, sgemm512TR4, sgemm512TR5, sgemm512TR6, sgemm512TR7,
			sgemm512TR8, sgemm512TR9, sgemm512TR10, sgemm512TR11, sgemm512TR12, sgemm512TR13, sgemm512TR14, sgemm512TR15},
	}
)

// asmKernels returns the assembly kernels of level l, or nil for Generic.
func asmKernels(l cpufeat.Level) *kernelSet {
	switch l {
	case cpufeat.AVX512:
		return &avx512Kernels
	case cpufeat.AVX2:
		return &avx2Kernels
	}
	return nil
}

// sgemm512RowM implements rowTile: a masked 14-row tile with A and B read in place
// (gemm512m_amd64.s).
//
//go:noescape
func sgemm512RowM(k int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

// sgemmSweep6x16 implements sweepKernel[float32] for 6×16 tiles with AVX2 and FMA
// (gemm_amd64.s).
//
//go:noescape
func sgemmSweep6x16(k int, a, b, c *float32, ldc, astep, n int, alpha, beta float32)

// sgemmSweep4x16 is sgemmSweep6x16 for 4×16 tiles (A packed in 4-row panels).
//
//go:noescape
func sgemmSweep4x16(k int, a, b, c *float32, ldc, astep, n int, alpha, beta float32)

// dgemmSweep6x8 implements sweepKernel[float64] for 6×8 tiles with AVX2 and FMA.
//
//go:noescape
func dgemmSweep6x8(k int, a, b, c *float64, ldc, astep, n int, alpha, beta float64)

// sgemmKernel6x16, sgemmKernel4x16 and dgemmKernel6x8 implement microKernel: one tile of the
// sweeps (the driver's ragged tiles).
func sgemmKernel6x16(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	sgemmSweep6x16(k, a, b, c, ldc, 0, 1, alpha, beta)
}

func sgemmKernel4x16(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	sgemmSweep4x16(k, a, b, c, ldc, 0, 1, alpha, beta)
}

func dgemmKernel6x8(k int, a, b, c *float64, ldc int, alpha, beta float64) {
	dgemmSweep6x8(k, a, b, c, ldc, 0, 1, alpha, beta)
}

// sgemmKernel14x32 implements microKernel[float32] for a 14×32 tile with AVX-512F: the column
// kernel on a packed panel.
func sgemmKernel14x32(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	sgemm512Col(k, a, b, c, ldc, 14, 32, 0, 1, alpha, beta)
}

// sgemmKernel14x16 implements microKernel[float32] for a 14×16 tile with AVX-512F: the column
// kernel on a packed panel.
func sgemmKernel14x16(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	sgemm512Col16(k, a, b, c, ldc, 14, 16, 0, 1, alpha, beta)
}

// sgemm512Col16 is sgemm512Col for 14×16 tiles (gemm512_amd64.s).
//
//go:noescape
func sgemm512Col16(k int, a, b, c *float32, ldc, lda, ldb, bstep, n int, alpha, beta float32)

// sgemm512Row16 is sgemm512Row for 14×16 tiles.
//
//go:noescape
func sgemm512Row16(k int, a, b, c *float32, ldc, lda, ldb, bstep, n int, alpha, beta float32)

// sgemm512Col implements inPlaceKernel[float32] (a column kernel) for a 14×32 tile with AVX-512F.
//
//go:noescape
func sgemm512Col(k int, a, b, c *float32, ldc, lda, ldb, bstep, n int, alpha, beta float32)

// sgemm512Row implements inPlaceKernel[float32] (a row kernel) for a 14×32 tile with AVX-512F.
//
//go:noescape
func sgemm512Row(k int, a, b, c *float32, ldc, lda, ldb, bstep, n int, alpha, beta float32)

// sgemm512Col8 is sgemm512Col for an 8×32 tile: the rows that 14-row panels do not fill.
//
//go:noescape
func sgemm512Col8(k int, a, b, c *float32, ldc, lda, ldb, bstep, n int, alpha, beta float32)

// sgemm512Row8 is sgemm512Row for an 8×32 tile.
//
//go:noescape
func sgemm512Row8(k int, a, b, c *float32, ldc, lda, ldb, bstep, n int, alpha, beta float32)

// dgemmKernel14x16 implements microKernel[float64] for a 14×16 tile with AVX-512F.
//
//go:noescape
func dgemmKernel14x16(k int, a, b, c *float64, ldc int, alpha, beta float64)

// fmaLoopAVX2 runs n rounds of 28 independent VFMADD213PS on YMM registers (448 flops).
//
//go:noescape
func fmaLoopAVX2(n int)

// fmaLoopAVX512 runs n rounds of 28 independent VFMADD213PS on ZMM registers (896 flops).
//
//go:noescape
func fmaLoopAVX512(n int)

// peakLoop returns the register-only loop of level l and the flops of one of its rounds.
func peakLoop(l cpufeat.Level) (func(int), float64) {
	switch l {
	case cpufeat.AVX512:
		return fmaLoopAVX512, 28 * 16 * 2
	case cpufeat.AVX2:
		return fmaLoopAVX2, 28 * 8 * 2
	}
	return func(n int) { peakLoopGo(n, 1, 0) }, 12 * 2
}

// transpose8x8s is transpose8 for float32, kb a positive multiple of 8 (pack_amd64.s).
//
//go:noescape
func transpose8x8s(dst, src *float32, ld, kb, stride int)

// transpose8 packs rows [0, k) of the transposed 8×kb block at src (row stride ld) into dst
// (row stride stride), dst[p*stride+r] = src[r*ld+p], for the largest multiple k of 8 that it
// can do in assembly, and returns k: 0 for float64 or at the Generic level. The caller has
// checked that src holds 8 rows of kb.
func transpose8[T scalar](dst, src []T, ld, kb, stride int) int {
	k := kb &^ 7
	if k == 0 || cpufeat.Current() == cpufeat.Generic || unsafe.Sizeof(dst[0]) != 4 {
		return 0
	}
	_ = src[7*ld+k-1]
	_ = dst[(k-1)*stride+7]
	transpose8x8s((*float32)(unsafe.Pointer(&dst[0])), (*float32)(unsafe.Pointer(&src[0])), ld, k, stride)
	return k
}

// transpose16x16s is transpose16 for float32 (pack_amd64.s).
//
//go:noescape
func transpose16x16s(dst, src *float32, ld, kb, stride, rows int)

// transpose16 packs columns [0, k) of the rows×kb block at src (row stride ld; rows 14 or 16)
// transposed into dst (row stride stride), dst[p*stride+r] = src[r*ld+p] for r < rows, for the
// largest multiple k of 16 that it can do in assembly, and returns k: 0 for float64 or below the
// AVX-512 level (transpose8 is the AVX2 one). The caller has checked that src holds rows rows of
// kb.
func transpose16[T scalar](dst, src []T, ld, kb, stride, rows int) int {
	k := kb &^ 15
	if k == 0 || cpufeat.Current() != cpufeat.AVX512 || unsafe.Sizeof(dst[0]) != 4 || rows != 14 && rows != 16 {
		return 0
	}
	_ = src[(rows-1)*ld+k-1]
	_ = dst[(k-1)*stride+rows-1]
	transpose16x16s((*float32)(unsafe.Pointer(&dst[0])), (*float32)(unsafe.Pointer(&src[0])), ld, k, stride, rows)
	return k
}

// copyPanels32s is copyPanels32 for float32 (pack_amd64.s).
//
//go:noescape
func copyPanels32s(dst, src *float32, ld, kb, panels int)

// copyPanels32 packs kb rows of panels full 32-column micro-panels of a B not transposed, row p
// at src[p*ld:], into dst (see packB) and reports whether it did: only float32 at the AVX-512
// level, the one that packs such panels, has it in assembly. The caller has checked the bounds.
func copyPanels32[T scalar](dst, src []T, ld, kb, panels int) bool {
	if cpufeat.Current() != cpufeat.AVX512 || unsafe.Sizeof(dst[0]) != 4 {
		return false
	}
	_ = src[(kb-1)*ld+panels*32-1]
	_ = dst[panels*32*kb-1]
	copyPanels32s((*float32)(unsafe.Pointer(&dst[0])), (*float32)(unsafe.Pointer(&src[0])), ld, kb, panels)
	return true
}

// copyPanels14s is copyPanels14 for float32 (pack_amd64.s).
//
//go:noescape
func copyPanels14s(dst, src *float32, ld, kb, panels int)

// copyPanels14 packs kb rows of panels full 14-row micro-panels of a transposed A, row p at
// src[p*ld:], into dst (see packA) and reports whether it did: only float32 at the AVX-512 level
// has it in assembly.
func copyPanels14[T scalar](dst, src []T, ld, kb, panels int) bool {
	if cpufeat.Current() != cpufeat.AVX512 || unsafe.Sizeof(dst[0]) != 4 {
		return false
	}
	_ = src[(kb-1)*ld+panels*14-1]
	_ = dst[panels*14*kb-1]
	copyPanels14s((*float32)(unsafe.Pointer(&dst[0])), (*float32)(unsafe.Pointer(&src[0])), ld, kb, panels)
	return true
}

// copyPanelsAVX2s is copyPanelsAVX2 for float32 (pack_amd64.s).
//
//go:noescape
func copyPanelsAVX2s(dst, src *float32, ld, kb, panels, cols int)

// copyPanelsAVX2 packs kb rows of panels full cols-wide micro-panels (16: B not transposed, or 6:
// a transposed A, the AVX2 float32 tile), row p at src[p*ld:], into dst (see packA and packB) and
// reports whether it did: not at the Generic level, nor for float64. The caller has checked the
// bounds.
func copyPanelsAVX2[T scalar](dst, src []T, ld, kb, panels, cols int) bool {
	if cpufeat.Current() == cpufeat.Generic || unsafe.Sizeof(dst[0]) != 4 || cols != 6 && cols != 16 {
		return false
	}
	_ = src[(kb-1)*ld+panels*cols-1]
	_ = dst[panels*cols*kb-1]
	copyPanelsAVX2s((*float32)(unsafe.Pointer(&dst[0])), (*float32)(unsafe.Pointer(&src[0])), ld, kb, panels, cols)
	return true
}

// copyRows32s is copyRows32 (pack_amd64.s; ld in elements, kb positive).
//
//go:noescape
func copyRows32s(dst, src *float32, ld, kb int)

// copyRows32 copies kb rows of 32 float32, row p from src[p*ld:] to dst[32*p:] (packColPanel32),
// and reports whether it did: not at the Generic level.
func copyRows32(dst, src []float32, ld, kb int) bool {
	if cpufeat.Current() == cpufeat.Generic || kb < 1 {
		return false
	}
	_ = src[(kb-1)*ld+31]
	_ = dst[32*kb-1]
	copyRows32s(&dst[0], &src[0], ld, kb)
	return true
}

// packRows6s is packRows6Asm for float32 (pack_amd64.s).
//
//go:noescape
func packRows6s(dst, src *float32, ld, kb int)

// packRows6Asm packs columns [0, k) of the 6×kb block at src[off:] (see packRows6) for the
// largest multiple k of 4 that it can do in assembly, and returns k: 0 for float64 or at the
// Generic level.
func packRows6Asm[T scalar](dst, src []T, off, ld, kb int) int {
	k := kb &^ 3
	if k == 0 || cpufeat.Current() == cpufeat.Generic || unsafe.Sizeof(dst[0]) != 4 {
		return 0
	}
	_ = src[off+5*ld+k-1]
	_ = dst[6*k-1]
	packRows6s((*float32)(unsafe.Pointer(&dst[0])), (*float32)(unsafe.Pointer(&src[off])), ld, k)
	return k
}

// packRagged512 packs the ragged last micro-panel of a non-transposed B (pack_amd64.s).
//
//go:noescape
func packRagged512(dst, src *float32, ld, kb, lo, hi, nr int)

// packRagged packs the ragged last micro-panel of a non-transposed B, cols < nr columns of kb
// rows from src (ld apart) into dst, zero-padded to nr (see packB), and reports whether it did:
// only float32 at the AVX-512 level, for the 16- and 32-column tiles, has it in assembly.
func packRagged[T scalar](dst, src []T, ld, kb, cols, nr int) bool {
	if cpufeat.Current() != cpufeat.AVX512 || unsafe.Sizeof(dst[0]) != 4 || nr != 16 && nr != 32 || kb == 0 || cols <= 0 || cols > nr {
		return false
	}
	_ = src[(kb-1)*ld+cols-1]
	_ = dst[kb*nr-1]
	lo, hi := 1<<min(cols, 16)-1, 1<<max(cols-16, 0)-1
	packRagged512((*float32)(unsafe.Pointer(&dst[0])), (*float32)(unsafe.Pointer(&src[0])), ld, kb, lo, hi, nr)
	return true
}

// sgemm512T1 ... sgemm512T13 are the column tiles of 1 to 13 columns (gemm512t_amd64.s, written
// by scripts/gen-gemm512t.py; see colTile).
//
//go:noescape
func sgemm512T1(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm512T2(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm512T3(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm512T4(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm512T5(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm512T6(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm512T7(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm512T8(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm512T9(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm512T10(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm512T11(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm512T12(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm512T13(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

// sgemm512TR1 ... sgemm512TR15 are the transposing tiles of 1 to 15 columns (gemm512t_amd64.s,
// written by scripts/gen-gemm512t.py; see slicedTile and useTransposingTiles).
//
//go:noescape
func sgemm512TR1(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR2(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR3(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR4(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR5(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR6(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR7(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR8(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR9(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR10(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR11(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR12(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR13(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR14(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

//go:noescape
func sgemm512TR15(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

// sgemm512TB1 ... sgemm512TB16 are the shallow tiles of depth 1 to 16 (gemm512t_amd64.s, written
// by scripts/gen-gemm512t.py; see shallowTile).
//
//go:noescape
func sgemm512TB1(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB2(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB3(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB4(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB5(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB6(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB7(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB8(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB9(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB10(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB11(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB12(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB13(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB14(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB15(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

//go:noescape
func sgemm512TB16(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

// sgemm2T1 ... sgemm2T6 are the AVX2 column tiles of 1 to 6 columns (gemm2t_amd64.s, written by
// scripts/gen-gemm2t.py; see colTile and tileAVX2).
//
//go:noescape
func sgemm2T1(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm2T2(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm2T3(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm2T4(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm2T5(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

//go:noescape
func sgemm2T6(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

// sgemm2TC1 ... sgemm2TC6 are sgemm2T1 ... sgemm2T6 copying the next panel of a transposed A as
// they compute (gemm2t_amd64.s; see copyingTile and rangeAhead).
//
//go:noescape
func sgemm2TC1(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32, src *float32, ld int, dst *float32)

//go:noescape
func sgemm2TC2(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32, src *float32, ld int, dst *float32)

//go:noescape
func sgemm2TC3(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32, src *float32, ld int, dst *float32)

//go:noescape
func sgemm2TC4(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32, src *float32, ld int, dst *float32)

//go:noescape
func sgemm2TC5(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32, src *float32, ld int, dst *float32)

//go:noescape
func sgemm2TC6(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32, src *float32, ld int, dst *float32)
