package gemm

import "sync/atomic"

// Shallow tiles. The 10-class layer's input gradient, dX3 = dY·W3ᵀ (128×10 · (256×10)ᵀ), is a
// product of depth 10 with B transposed. On the 14×32 tiles it packs B (W3's rows transposed
// into 32-column panels: a tenth of its time on Zen 4) and computes each tile's 28 accumulators
// through 10 steps of k only, against 28 stores. The shallow tile (sgemm512TBk, k = 1..16,
// gemm512t_amd64.s) packs nothing: per block of 16 columns it transposes B's 16 rows of k in
// registers into op(B)'s k rows, which stay there while every row of A streams past, each row of
// C one chain of k FMAs from zero, as in the 14×32 tiles, with their epilogue for beta ±0
// (alpha·acc under FTZ/DAZ), so the bits are theirs (TestShallowTilesChangeNoProduct). They
// overwrite C: Sgemm gives them beta ±0 only (see useShallowTiles).

// shallowTile computes C[0:m, 0:16·blocks] = alpha·A·Bᵀ (C not read) for B stored n×k (row j at
// b[j*ldb:], k floats read), A m×k (row i at a[i*lda:]), C's row i at c[i*ldc:], storing the
// columns of the set bits of mask in each block of 16.
type shallowTile func(a *float32, lda int, b *float32, ldb int, c *float32, ldc, m, blocks int, mask uint32, alpha float32)

// shallowTiles enables the shallow tiles; tests turn it off to check that the bits do not depend
// on it.
var shallowTiles = true

// useShallowTiles reports whether the float32 product runs on shallow tiles: A not transposed,
// B transposed, a depth of at most 16 that is one of the 14×32 tiles' kc slices (always, but
// with the tests' tiny blocks), at least 16 columns, and beta ±0 (C overwritten, as every input
// gradient of a training step is). With beta, the 14×32 tiles' bits depend on where their tiles
// are ragged: those are computed into scratch and merged in Go, t + beta·C without FTZ/DAZ,
// where whole tiles compute acc + beta·C in one FMA under them.
func useShallowTiles(ks *kernelSet, transA, transB bool, m, n, k int, alpha, beta float32) bool {
	return shallowTiles && ks.shallow != nil && !transA && transB && k >= 1 && k <= 16 && k <= blocksFor(ks.b32).kc &&
		n >= 16 && m >= 1 && alpha != 0 && beta == 0
}

// shallowTask is one product on shallow tiles in flight: a parallel.Task over its blocks of 16
// columns.
type shallowTask struct {
	tile          shallowTile
	m, n, k       int
	alpha         float32
	a, b, c       []float32
	lda, ldb, ldc int
	pad           [][16 * 16]float32 // a ragged last block's B rows, zero-padded, per Range call
	nextPad       atomic.Int32
}

// shallowGemm computes C = alpha·A·Bᵀ (beta ±0: C not read) on shallow tiles, on the Engine's
// workers where the product is large enough to split.
func (e *Engine) shallowGemm(ks *kernelSet, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	t := &e.sh
	t.tile, t.m, t.n, t.k, t.alpha = ks.shallow[k], m, n, k, alpha
	t.a, t.b, t.c, t.lda, t.ldb, t.ldc = a, b, c, lda, ldb, ldc
	workers := 1
	if e.pool != nil {
		workers = e.pool.Workers()
	}
	if len(t.pad) < workers {
		t.pad = make([][16 * 16]float32, workers)
	}
	t.nextPad.Store(0)
	blocks := (n + 15) / 16
	if workers < 2 || blocks < 2 || m*n*k < parallelLimit {
		t.Range(0, blocks)
	} else {
		e.pool.Run(t, blocks, 1)
	}
	t.a, t.b, t.c = nil, nil, nil
}

// Range computes the blocks [lo, hi) of 16 columns of C: the whole ones in one call, a ragged
// last one from a zero-padded copy of its rows of B, storing only its columns.
func (t *shallowTask) Range(lo, hi int) {
	pad := &t.pad[t.nextPad.Add(1)-1]
	_ = t.a[(t.m-1)*t.lda+t.k-1]
	_ = t.c[(t.m-1)*t.ldc+t.n-1]
	whole := min(hi, t.n/16)
	if whole > lo {
		_ = t.b[(whole*16-1)*t.ldb+t.k-1]
		t.tile(&t.a[0], t.lda, &t.b[lo*16*t.ldb], t.ldb, &t.c[lo*16], t.ldc, t.m, whole-lo, 1<<16-1, t.alpha)
	}
	if hi > whole && whole*16 < t.n {
		cols := t.n - whole*16
		clear(pad[:])
		for j := range cols {
			copy(pad[j*16:j*16+t.k], t.b[(whole*16+j)*t.ldb:][:t.k])
		}
		t.tile(&t.a[0], t.lda, &pad[0], 16, &t.c[whole*16], t.ldc, t.m, 1, 1<<cols-1, t.alpha)
	}
}
