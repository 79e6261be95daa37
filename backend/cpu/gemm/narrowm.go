package gemm

import "sync/atomic"

// Column tiles. A product of fewer than 16 columns (the 10-class output layer and its weight
// gradient) keeps at most n of the 14×16 tiles' 16 lanes: 10 of 16, and one ragged tile per row
// panel through the scratch tile and its merge. The column tiles turn the lanes the other way:
// 32 rows × w columns of C (w <= 13, two 16-row vectors per column), A's column loaded as two
// vectors and B's element broadcast, so that every lane is a row of C that exists. n <= 13 is
// one pass of w = n columns, 14 and 15 two passes of about n/2 (the 2w accumulators and the
// loop's 3 registers must fit in 32, as must one half's w accumulators beside the other half's 16
// transposed rows, beta and a temporary in the epilogue; 14 would fit too since the epilogue
// transposes instead of gathering, not measured). One pass reads A's panel once: the 10-class
// weight gradient (256ᵀ×128 · 128×10) ran at 62-63% of the one-core peak in two passes of 5
// columns. Each element of C is the same float32 chain over k in order with the same epilogue
// as in the 14×16 tiles (see gemm512t_amd64.s), in the same kc slices, so the bits are the same
// (TestColumnTilesChangeNoProduct).

// colTile is one column-tile kernel: C[0:32, 0:w] (rows below lo|hi<<16 only) of an A whose
// column kk lies at a[kk*lda:], B's row kk at b[kk*ldb:] and C's row i at c[i*ldc:], k steps in
// slices of kc: each element of C is the same chain a slice and the same sum of the slices as
// from one call a slice (beta for the first, 1 after), as long as beta is ±0 or k <= kc. (One
// call a slice, the epilogue's transposes and C's round trip cost dW3 at batch 1024, four
// slices of 256, about a tenth of its rate on Zen 4.)
type colTile func(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32)

// widestColTile is the widest column tile (gemm512t_amd64.s).
const widestColTile = 13

// colTiles enables the column tiles (kernelSet.cols); tests turn it off to check that the bits
// do not depend on it.
var colTiles = true

// colTask is one product on column tiles in flight: a parallel.Task over its 32-row tiles, a
// long-lived struct inside the Engine so that handing it to the pool allocates nothing.
type colTask struct {
	cols          *[widestColTile + 1]colTile
	copying       *[widestColTile16 + 1]copyingTile // the AVX2 tiles' copying twins (rangeAhead)
	avx2          bool                              // the AVX2 tiles: 16 rows, A always packed, two tiles a panel of 32
	transA        bool
	m, n, k, kc   int
	alpha, beta   float32
	a, b, c       []float32
	lda, ldb, ldc int
	bufs          [][]float32 // per Range call, A's packed panel (kc×32; AVX2: k×32 with wholePanel, twice for rangeAhead)
	nextBuf       atomic.Int32
}

// useColTiles reports whether the float32 product of these dimensions runs on column tiles: B
// not transposed (its rows are read in place), fewer than 16 columns where A is transposed (its
// columns are then rows of the stored matrix, read in place), at most colTilesPacked where A
// must be transposed into panels first. One core of the Xeon, 128×256 · 256×n (GFLOP/s, 14×16
// tiles → column tiles): A transposed, n = 1 8 → 45, n = 4 32 → 124, n = 8 66 → 149, n = 10
// 78 → 128, n = 15 117 → 140; A packed, n = 1 8 → 15, n = 4 31 → 50, n = 8 66 → 79, n = 10
// 84 → 77, n = 15 122 → 94 (packing A costs as much as 10 columns of FMAs). With tiles up to 13
// columns wide (one pass where there were two), A packed: n = 8 54 → 64, 9 59 → 69, 10 63-67 →
// 70-74, 11 72 → 76, 12 79 → 78-79, 13 84 → 80. Sgemm asks useTransposingTiles and useRowTiles
// (rowm.go) first, which take A not transposed from 16 rows on (from 9 columns only deep enough)
// and from 9 columns and 14 rows on, so the column tiles keep A transposed, and A not
// transposed only below 16 rows.
//
// At AVX2 (16-row tiles, A always packed: tileAVX2) they take every product of 1-15 columns
// with B not transposed: one core of Zen 4 at AVX2, GFLOP/s (6×16 tiles → column tiles),
// 128×256 · 256×n: n = 1 3 → 8, 4 14 → 33, 8 22-25 → 42-46, 10 29-31 → 49-51, 11 34-40 → 54-58,
// 12 30-41 → 48-61, 13 42-46 → 57-60, 14 39-47 → 54-61, 15 47-48 → 61; A transposed, 256ᵀ×128 ·
// 128×n: n = 1 3 → 12-13, 4 13-14 → 47-48, 8 23-26 → 56-60, 10 29-35 → 61-69, 12 41 → 74-75, 15
// 47-49 → 65-72; 1024×1024 · 1024×10 40-42 → 53-55, 1024ᵀ×1024 · 1024×10 19-20 → 51-55
// (BenchmarkTileChoices, 2 rounds).
func useColTiles(ks *kernelSet, transA, transB bool, m, n, k int, alpha float32, ldc int) bool {
	cols, avx2 := colTilesOf(ks)
	return colTiles && narrowTiles && cols != nil && !transB &&
		n >= 1 && n < 16 && (transA || avx2 || n <= colTilesPacked) && m >= 1 && k >= 1 && alpha != 0 && 15*ldc < 1<<31
}

// colTilesOf returns the column tiles of ks and whether they are the AVX2 ones (ks.cols16, see
// tileAVX2), else the AVX-512 ones (in the narrow set), or nil.
func colTilesOf(ks *kernelSet) (*[widestColTile + 1]colTile, bool) {
	if ks.narrow != nil && ks.narrow.cols != nil {
		return ks.narrow.cols, false
	}
	return ks.cols16, ks.cols16 != nil
}

// colTilesPacked is the widest product whose A is packed for the column tiles (see useColTiles).
const colTilesPacked = 11

// colGemm computes C = alpha*op(A)*B + beta*C on column tiles (see useColTiles), on the Engine's
// workers where the product is large enough to split (parallelLimit): by 32-row tiles, which
// need nothing from each other.
func (e *Engine) colGemm(ks *kernelSet, transA bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	t := &e.ct
	t.cols, t.avx2 = colTilesOf(ks)
	t.copying = nil
	if t.avx2 {
		t.copying = ks.copying16
	}
	t.transA, t.m, t.n, t.k, t.alpha, t.beta = transA, m, n, k, alpha, beta
	t.a, t.b, t.c, t.lda, t.ldb, t.ldc = a, b, c, lda, ldb, ldc
	bk := ks.b32
	if ks.narrow != nil {
		bk = ks.narrow.b32
	}
	t.kc = evenBlock(k, blocksFor(bk).kc, 1) // the 14×16 (AVX2: 6×16) tiles' slices
	workers := 1
	if e.pool != nil {
		workers = e.pool.Workers()
	}
	if len(t.bufs) < workers {
		t.bufs = make([][]float32, workers)
	}
	tiles := (m + 31) / 32
	t.nextBuf.Store(0)
	if workers < 2 || tiles < 2 || m*n*k < parallelLimit {
		t.Range(0, tiles)
	} else {
		e.pool.Run(t, tiles, 1)
	}
	t.a, t.b, t.c = nil, nil, nil
}

// Range computes the 32-row tiles [lo, hi) of C.
func (t *colTask) Range(lo, hi int) {
	buf := &t.bufs[t.nextBuf.Add(1)-1]
	switch {
	case t.ahead():
		*buf = grow(*buf, 2*t.k*32)
		t.rangeAhead(*buf, lo, hi)
		return
	case t.wholePanel():
		*buf = grow(*buf, t.k*32)
	case t.avx2 || !t.transA:
		*buf = grow(*buf, t.kc*32)
	}
	for tile := lo; tile < hi; tile++ {
		t.tile(*buf, tile)
	}
}

// tile computes rows 32·tile.. of C, slice by slice of k (beta for the first, 1 after, as the
// 14×16 tiles' driver does), each slice's A panel packed once for the column passes (read in
// place where A is transposed: its columns are then rows of the stored matrix). A transposed
// A with beta ±0 takes every slice in one call of each column pass.
func (t *colTask) tile(buf []float32, tile int) {
	if t.avx2 {
		t.tileAVX2(buf, tile)
		return
	}
	i0 := tile * 32
	rows := min(32, t.m-i0)
	lo, hi := 1<<min(rows, 16)-1, 1<<max(rows-16, 0)-1
	w1 := t.n
	if t.n > widestColTile {
		w1 = (t.n + 1) / 2
	}
	_ = t.c[(i0+rows-1)*t.ldc+t.n-1]
	if t.transA && t.beta == 0 {
		_ = t.a[(t.k-1)*t.lda+i0+rows-1]
		_ = t.b[(t.k-1)*t.ldb+t.n-1]
		for j0 := 0; j0 < t.n; {
			w := min(w1, t.n-j0)
			t.cols[w](t.k, t.kc, &t.a[i0], t.lda, &t.b[j0], t.ldb, &t.c[i0*t.ldc+j0], t.ldc, lo, hi, t.alpha, t.beta)
			j0 += w
		}
		return
	}
	for pc := 0; pc < t.k; pc += t.kc {
		kb := min(t.kc, t.k-pc)
		beta := t.beta
		if pc > 0 {
			beta = 1
		}
		var ap *float32
		alda := 32
		if t.transA {
			_ = t.a[(pc+kb-1)*t.lda+i0+rows-1]
			ap, alda = &t.a[pc*t.lda+i0], t.lda
		} else {
			packColPanel(buf, t.a, t.lda, i0, rows, pc, kb)
			ap = &buf[0]
		}
		_ = t.b[(pc+kb-1)*t.ldb+t.n-1]
		for j0 := 0; j0 < t.n; {
			w := min(w1, t.n-j0)
			t.cols[w](kb, kb, ap, alda, &t.b[pc*t.ldb+j0], t.ldb, &t.c[i0*t.ldc+j0], t.ldc, lo, hi, t.alpha, beta)
			j0 += w
		}
	}
}

// tileAVX2 computes rows 32·tile.. of C on the AVX2 column tiles (16 rows × at most
// widestColTile16 columns: two tiles a panel, and a product of 7-12 columns in two passes over
// it, 13-15 in three). Their A is always packed, op(A)'s 32 rows of a step in two lines of the
// panel. Read in place, a transposed A's step would be one line for the tile of 16 rows, and
// at batch 1024, where those lines are 4 KiB apart, on a page each: 1024ᵀ×1024 · 1024×10 ran at
// 37-40% of the AVX2 peak in place on Zen 4 (8-row tiles; with lda 1040 about 70%), and a copy
// of such a panel ran at 25 GB/s with 16 rows a step, 43 GB/s with 32 (one core, 1024 rows 4 KiB
// apart). With beta ±0 the panel holds all of k, and each tile runs its slices in one call;
// with another beta, one slice at a time.
func (t *colTask) tileAVX2(buf []float32, tile int) {
	i0 := tile * 32
	rows := min(32, t.m-i0)
	w1 := passWidth16(t.n)
	_ = t.c[(i0+rows-1)*t.ldc+t.n-1]
	step := t.kc
	if t.wholePanel() {
		step = t.k
	}
	for pc := 0; pc < t.k; pc += step {
		kb := min(step, t.k-pc)
		beta := t.beta
		if pc > 0 {
			beta = 1
		}
		packColPanel32(buf, t.transA, t.a, t.lda, i0, rows, pc, kb)
		_ = t.b[(pc+kb-1)*t.ldb+t.n-1]
		for h := 0; h*16 < rows; h++ {
			lo := 1<<min(rows-h*16, 16) - 1 // the panel's rows past rows hold stale values, not stored
			for j0 := 0; j0 < t.n; {
				w := min(w1, t.n-j0)
				t.cols[w](kb, t.kc, &buf[h*16], 32, &t.b[pc*t.ldb+j0], t.ldb, &t.c[(i0+h*16)*t.ldc+j0], t.ldc, lo, 0, t.alpha, beta)
				j0 += w
			}
		}
	}
}

// copyingTile is a colTile that also copies k rows of 32 floats, row p from src[p*ld:] to
// dst[32*p:], as it computes: the next panel of a transposed A (rangeAhead).
type copyingTile func(k, kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc, lo, hi int, alpha, beta float32, src *float32, ld int, dst *float32)

// ahead reports whether the product runs on rangeAhead: the AVX2 tiles, A transposed, beta ±0,
// a panel of all of k small enough (wholePanel).
func (t *colTask) ahead() bool {
	return t.copying != nil && t.transA && t.wholePanel()
}

// wholePanel reports whether the AVX2 tiles pack all of k into one panel and run its slices in
// one call: beta ±0 and k at most maxPanelK, so that a deep product (a reduction over a large
// batch) does not allocate 128 bytes a step of k for its panels. Deeper ones pack a slice at a
// time, with the same bits.
func (t *colTask) wholePanel() bool {
	return t.avx2 && t.beta == 0 && t.k <= maxPanelK
}

// maxPanelK is the deepest product whose AVX2 panels hold all of k: 512 KiB a panel, two for
// rangeAhead's double buffer, per worker. A variable so that tests can take the other path.
var maxPanelK = 4096

// rangeAhead computes the 32-row tiles [lo, hi) of C as tileAVX2 does for a transposed A and
// beta ±0, but each tile's first call copies the next tile's panel (where that tile has 32 rows)
// into the other half of buf while it computes, so that the copy's loads, a row of the stored
// matrix a step, overlap the FMAs instead of running alone (see tileAVX2).
func (t *colTask) rangeAhead(buf []float32, lo, hi int) {
	size := t.k * 32
	cur, next := buf[:size], buf[size:2*size]
	w1 := passWidth16(t.n)
	_ = t.b[(t.k-1)*t.ldb+t.n-1]
	packed := false // cur holds this tile's panel
	for tile := lo; tile < hi; tile++ {
		i0 := tile * 32
		rows := min(32, t.m-i0)
		_ = t.c[(i0+rows-1)*t.ldc+t.n-1]
		if !packed {
			packColPanel32(cur, true, t.a, t.lda, i0, rows, 0, t.k)
		}
		ahead := tile+1 < hi && t.m-i0 >= 64
		if ahead {
			_ = t.a[(t.k-1)*t.lda+i0+63]
		}
		packed = ahead
		for h := 0; h*16 < rows; h++ {
			lo := 1<<min(rows-h*16, 16) - 1
			for j0 := 0; j0 < t.n; {
				w := min(w1, t.n-j0)
				c := &t.c[(i0+h*16)*t.ldc+j0]
				if ahead {
					t.copying[w](t.k, t.kc, &cur[h*16], 32, &t.b[j0], t.ldb, c, t.ldc, lo, 0, t.alpha, t.beta, &t.a[i0+32], t.lda, &next[0])
					ahead = false
				} else {
					t.cols[w](t.k, t.kc, &cur[h*16], 32, &t.b[j0], t.ldb, c, t.ldc, lo, 0, t.alpha, t.beta)
				}
				j0 += w
			}
		}
		if packed {
			cur, next = next, cur
		}
	}
}

// widestColTile16 is the widest AVX2 column tile (gemm2t_amd64.s): its 2w accumulators, A's two
// vectors and B's broadcast fit in 16 registers.
const widestColTile16 = 6

// passWidth16 is the width of the AVX2 column tiles' passes over a product of n columns: n in
// as few passes of at most widestColTile16 as can be, of equal width but the last.
func passWidth16(n int) int {
	passes := (n + widestColTile16 - 1) / widestColTile16
	return (n + passes - 1) / passes
}

// packColPanel32 packs op(A)'s rows i0..i0+rows (at most 32) and columns pc..pc+kb as the AVX2
// column tiles read it, dst[kk*32 + r] = op(A)[i0+r, pc+kk]: a transposed A's 32 floats a step
// are a row of the stored matrix (copyRows32), a non-transposed A's are 8×8 transposes
// (transpose8) of its rows for the multiples of 8 columns; the rest a Go loop. The rows past
// rows are left as they are (the tiles do not store them).
func packColPanel32(dst []float32, transA bool, a []float32, lda, i0, rows, pc, kb int) {
	if transA {
		if rows == 32 && copyRows32(dst, a[pc*lda+i0:], lda, kb) {
			return
		}
		for kk := range kb {
			copy(dst[kk*32:kk*32+rows], a[(pc+kk)*lda+i0:])
		}
		return
	}
	for h := 0; h*8 < rows; h++ {
		r0, r1 := h*8, min(rows, h*8+8)
		done := 0
		if r1-r0 == 8 {
			done = transpose8(dst[r0:], a[(i0+r0)*lda+pc:], lda, kb, 32)
		}
		for r := r0; r < r1; r++ {
			src := a[(i0+r)*lda+pc:][:kb]
			for kk := done; kk < kb; kk++ {
				dst[kk*32+r] = src[kk]
			}
		}
	}
}

// packColPanel packs rows i0..i0+rows (at most 32) and columns pc..pc+kb of a non-transposed A
// as the column tiles read it: dst[kk*32 + r] = a[(i0+r)*lda + pc + kk]. Whole 16-row halves
// take the 16×16 transposes (transpose16) for their multiples of 16 columns, the rest a Go
// loop; the rows past rows are left as they are (the kernels mask them).
func packColPanel(dst, a []float32, lda, i0, rows, pc, kb int) {
	for h := 0; h*16 < rows; h++ {
		r0, r1 := h*16, min(rows, h*16+16)
		done := 0
		if r1-r0 == 16 {
			done = transpose16(dst[r0:], a[(i0+r0)*lda+pc:], lda, kb, 32, 16)
		}
		for r := r0; r < r1; r++ {
			src := a[(i0+r)*lda+pc:][:kb]
			for kk := done; kk < kb; kk++ {
				dst[kk*32+r] = src[kk]
			}
		}
	}
}
