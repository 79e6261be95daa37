package gemm

import "math"

// Masked row tiles. A product of fewer than 16 columns with A not transposed (the 10-class
// output layer's forward pass, 128×256 · 256×10) runs on the 14×16 tiles with one ragged tile
// per row panel, computed into a scratch tile and merged into C in Go, or on the column tiles,
// whose A must first be transposed into panels (packColPanel: as costly as 10 columns of
// FMAs). The masked row tile reads A in place like sgemm512Row16 and B's rows in place under a
// mask of the n columns, and writes C itself under the mask: no packing, no scratch, no merge.
// It keeps n of the 16 lanes, as the 14×16 tiles do. Each element of C is the 14×16 tiles'
// chain and epilogue (gemm512m_amd64.s), in the same kc slices (beta for the first, 1 after),
// so the bits are theirs (TestRowTilesChangeNoProduct). The rows past the last whole 14 are the
// last rows of a tile that starts 14 rows before the end, which stores only those.

// rowTile computes C[0:14, 0:n] (n = the set bits of mask, from bit 0; only the rows of the
// set bits of rows are stored) from A's rows at a (row stride lda), B's rows at b (ldb) and C's
// at c (ldc), k steps.
type rowTile func(k int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

// slicedTile is a rowTile that runs all k steps of a product in slices of kc itself (the
// transposing tiles): each element of C is the same chain a slice and the same sum of the
// slices as from one rowTile call a slice (beta for the first, 1 after), as long as beta is ±0
// or k <= kc. (Called once a slice, the transposing tile's epilogue and C's round trip through
// memory cost fwd3 at batch 1024 about a tenth of its rate on Zen 4.)
type slicedTile func(k, kc int, a, b, c *float32, ldc, lda, ldb int, mask, rows uint32, alpha, beta float32)

// rowTiles enables the masked row tiles; tests turn it off to check that the bits do not
// depend on it.
var rowTiles = true

// useRowTiles reports whether the float32 product runs on masked row tiles: A and B not
// transposed, rowTilesMin to 15 columns, at least 14 rows. One core of the Xeon, GFLOP/s (row
// tiles / 14×16 tiles / column tiles), 128×256 · 256×n: n = 8 74 / 72 / 81, 9 94 / - / 87, 10
// 105 / 89-100 / 92, 11 111-113 / - / 97, 12 124-127 / 116-120 / 118, 13 131-133 / 123-128 / -,
// 14 144 / 138-140 / -, 15 157 / 145 / -; 1024×1024 · 1024×n: n = 8 69 / 60 / 68, 9 78 / - /
// 70, 10 89 / 73 / 76, 11 89-94 / - / 79-82, 13 114-117 / 92-94 / -, 14 120-122 / 96-97 / -,
// 15 133 / 108 / -.
//
// Not where A's rows collide in a small L1 (packsCollidingRows): on the Zen 4 EPYC
// (8 ways) 1024×1024 · 1024×10 ran at 37 GFLOP/s on row tiles against 61 on the column tiles,
// which transpose A into panels.
func useRowTiles(ks *kernelSet, transA, transB bool, m, n, k int, alpha float32, lda int) bool {
	return rowTiles && narrowTiles && ks.narrow != nil && ks.narrow.rowm != nil && !transA && !transB &&
		n >= rowTilesMin && n < 16 && m >= 14 && k >= 1 && alpha != 0 &&
		!packsCollidingRows(lda, 4)
}

// rowTilesMin is the narrowest product on row tiles; narrower ones keep too few of the 16 lanes,
// and the column tiles, which keep all, are faster despite packing A (see useRowTiles).
const rowTilesMin = 9

// Transposing tiles. The masked row tiles keep n of 16 lanes (10 for the 10-class layer); the
// column tiles keep all 16 but need A's columns, which for a non-transposed A means packing it
// into transposed panels first (packColPanel, a pass of its own). The transposing tile
// (sgemm512TRw, w = 1..15, gemm512t_amd64.s) computes C[0:16, 0:w] with the column tiles'
// lanes (one vector of 16 rows per column of C) from A's 16 rows read in place: 16 steps of k
// at a time, it loads a 16×16 block of A and transposes it in registers (64 shuffles) into A's
// 16 columns, then B's element of each column is broadcast inside the FMA, 16·w FMAs a block.
// The shuffles are the packing's, without its stores and reloads, and they run beside the FMAs.
// The accumulators are transposed back into C's 16 rows, which are written under the mask of the
// w columns. Each element of C is the 14×16 tiles' chain and epilogue in their kc slices, as in
// the masked row tiles, so the bits are theirs (TestTransposingTilesChangeNoProduct). A tile
// of 16 rows needs 16 of them: the rows past the last whole 16 are the last rows of a tile
// that starts 16 rows before the end, which stores only those, and a product of 14 or 15 rows
// takes the masked row tiles. One core of the Zen 4, GFLOP/s (before, on the masked row tiles
// for n >= 9 or the column tiles with A packed below, → transposing tiles), 128×256 · 256×n:
// n = 1 13 → 19, 2 20 → 32, 4 33 → 50, 8 62 → 85, 9 53 → 76, 10 57 → 83, 12 74 → 93, 14 87 →
// 97, 15 92 → 96 (and 1.01-1.03 of the time at 512×256 · 256×15: parity); 1024×1024 · 1024×n
// (A's rows collide in its 8-way L1, where the masked row tiles decline): n = 1 11 → 18, 4 36 →
// 58, 8 55 → 82, 10 59 → 84, 12 53 → 91, 15 62 → 93. Unlike the masked row tiles, they read
// A's colliding rows in place: each block uses every line it loads at once. A tile's transposes
// (64 shuffles a block, and the accumulators') are a fixed cost, so against the masked row
// tiles, which keep n of 16 lanes but pay nothing for it, they win only from a depth that
// grows with n (transposingDepth); against the column tiles' packing (n < rowTilesMin) at
// every depth (512×k · k×n, time on transposing tiles / before: n = 1, k = 1 0.70; n = 4,
// k = 4 0.49-0.56, k = 8 0.36-0.41; n = 8, k = 1 0.70).
var transposingTiles = true

// useTransposingTiles reports whether the float32 product runs on transposing tiles: A and B
// not transposed, fewer than 16 columns, at least 16 rows, and where the masked row tiles would
// take it (9 columns or more, A's rows apart in L1) a depth of transposingDepth[n] or more.
func useTransposingTiles(ks *kernelSet, transA, transB bool, m, n, k int, alpha float32, lda int) bool {
	return transposingTiles && narrowTiles && ks.narrow != nil && ks.narrow.trows != nil && !transA && !transB &&
		n >= 1 && n < 16 && m >= 16 && k >= 1 && alpha != 0 &&
		(n < rowTilesMin || k >= transposingDepth[n] || packsCollidingRows(lda, 4))
}

// transposingDepth[n] is the least depth at which the transposing tiles take a product of n >=
// rowTilesMin columns from the masked row tiles. One core of the Zen 4, 512×k · k×n, time on
// transposing tiles / on masked row tiles (2-3 interleaved rounds): n = 9, k = 24 0.95-0.98, 32
// 0.85, 128 0.69-0.73; n = 10, k = 24 1.03-1.21, 32 0.85-1.03, 48 0.80-0.97, 128 0.74-0.81; n =
// 12, k = 24 1.12, 32 0.95-0.98, 128 0.86-0.88; n = 13, k = 32 1.01-1.03, 40 1.06-1.10, 48
// 0.98-0.99, 64 0.95-0.97; n = 14, k = 64 1.02, 128 0.98-0.99, 256 0.96-0.97; n = 15, k = 16
// 1.12-1.14, 128 1.02-1.03, 256 1.01-1.03, 512 1.01-1.02 (never: math.MaxInt). Shallow products
// lose most (n = 10, k = 6 1.19-1.27, k = 1 2.1-2.3).
var transposingDepth = [16]int{9: 48, 10: 48, 11: 48, 12: 48, 13: 48, 14: 128, 15: math.MaxInt}

// rowTask is one product on masked row tiles or transposing tiles in flight: a parallel.Task
// over its h-row tiles (14 or 16).
type rowTask struct {
	tile          rowTile
	sliced        slicedTile // instead of tile
	h             int
	m, n, k, kc   int
	mask          uint32
	alpha, beta   float32
	a, b, c       []float32
	lda, ldb, ldc int
}

// rowGemm computes C = alpha·A·B + beta·C on tiles of h rows (m >= h): the masked row tiles
// (tile, h = 14) or the transposing tiles (sliced, 16), on the Engine's workers where the
// product is large enough to split.
func (e *Engine) rowGemm(ks *kernelSet, tile rowTile, sliced slicedTile, h, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	tiles := (m + h - 1) / h
	t := &e.rt
	t.tile, t.sliced, t.h, t.m, t.n, t.k, t.alpha, t.beta = tile, sliced, h, m, n, k, alpha, beta
	t.kc = evenBlock(k, blocksFor(ks.narrow.b32).kc, 1) // the 14×16 tiles' slices
	t.mask = 1<<n - 1
	t.a, t.b, t.c, t.lda, t.ldb, t.ldc = a, b, c, lda, ldb, ldc
	if e.pool == nil || e.pool.Workers() < 2 || tiles < 2 || m*n*k < parallelLimit {
		t.Range(0, tiles)
	} else {
		e.pool.Run(t, tiles, 1)
	}
	t.a, t.b, t.c = nil, nil, nil
	t.tile, t.sliced = nil, nil
}

// Range computes the h-row tiles [lo, hi) of C; the last one, when m is not a multiple of h,
// starts at row m-h and stores only the rows from h·tile on. A sliced tile runs all of k in one
// call where beta is ±0 (or k is one slice), else one call a slice as a rowTile does.
func (t *rowTask) Range(lo, hi int) {
	_ = t.b[(t.k-1)*t.ldb+t.n-1]
	h := t.h
	for tile := lo; tile < hi; tile++ {
		i0, rows := tile*h, uint32(1<<h-1)
		if i0+h > t.m {
			i0 = t.m - h
			rows &^= 1<<(tile*h-i0) - 1
		}
		_ = t.a[(i0+h-1)*t.lda+t.k-1]
		_ = t.c[(i0+h-1)*t.ldc+t.n-1]
		if t.sliced != nil && (t.beta == 0 || t.k <= t.kc) {
			t.sliced(t.k, t.kc, &t.a[i0*t.lda], &t.b[0], &t.c[i0*t.ldc], t.ldc, t.lda, t.ldb, t.mask, rows, t.alpha, t.beta)
			continue
		}
		for pc := 0; pc < t.k; pc += t.kc {
			kb := min(t.kc, t.k-pc)
			beta := t.beta
			if pc > 0 {
				beta = 1
			}
			if t.sliced != nil {
				t.sliced(kb, kb, &t.a[i0*t.lda+pc], &t.b[pc*t.ldb], &t.c[i0*t.ldc], t.ldc, t.lda, t.ldb, t.mask, rows, t.alpha, beta)
			} else {
				t.tile(kb, &t.a[i0*t.lda+pc], &t.b[pc*t.ldb], &t.c[i0*t.ldc], t.ldc, t.lda, t.ldb, t.mask, rows, t.alpha, beta)
			}
		}
	}
}
