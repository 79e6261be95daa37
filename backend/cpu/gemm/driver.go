package gemm

import (
	"sync/atomic"

	"github.com/gotrain/gotrain/backend/cpu/parallel"
)

// scalar is the element type of a product. float32 and float64 have different GC shapes, so
// each gets its own fully specialised copy of the generic code below.
type scalar interface{ ~float32 | ~float64 }

// microKernel computes the mr×nr tile C = alpha*Ap·Bp + beta*C, where Ap is a packed mr×k
// micro-panel of A (column after column, mr values each), Bp a packed k×nr micro-panel of B
// (row after row, nr values each), and C is addressed with row stride ldc. beta == 0 means C is
// not read. k >= 1. Pointers, not slices, so that the assembly kernels need no bounds checks.
type microKernel[T scalar] func(k int, a, b, c *T, ldc int, alpha, beta T)

// blocking holds the register tile (mr×nr) and cache blocks of one element type: an mc×kc
// block of A is packed to stay in L2 and a kc×nr micro-panel of B to stay in L1, while a kc×nc
// block of B lives in L3. The values are those BLIS uses for Haswell/Zen with the same tiles.
type blocking struct {
	mr, nr     int
	mc, kc, nc int
}

// Variables rather than constants so that tests can shrink the cache blocks and make small
// matrices exercise every loop of the driver. mr and nr are fixed by the kernels.
var (
	block32 = blocking{mr: 6, nr: 16, mc: 168, kc: 256, nc: 4080}
	block64 = blocking{mr: 6, nr: 8, mc: 72, kc: 256, nc: 4080}
)

// parallelLimit is the m*n*k below which a product runs on the calling goroutine. Handing work
// to a parked worker costs microseconds (a hot Run round trip is ~0.3µs, a cold wake-up far more),
// and on a busy machine the worker may not be scheduled at once, so products under about a
// million multiply-adds (~25µs on one core) stay serial. The crossover is not tuned finely: the
// shared development machine was too noisy to measure it. A variable so that tests can force
// the parallel path on small inputs.
//
// There is deliberately no unpacked path for small products: measured on the 2-core AMD EPYC
// (Zen 4) development machine, plain Go loops ran at 1-2 GFLOP/s, slower than packing plus the
// assembly kernel for every shape tried, down to 4×4×4 and matrix-vector shapes.
var parallelLimit = 1 << 20

// workspace is one worker's packing buffers. They only grow, so that after the first few calls
// of a training loop no product allocates.
type workspace[T scalar] struct {
	a, b []T
	tile []T // an mr×nr scratch tile for the ragged edges of C
}

// grow returns buf with length n, reallocating only when its capacity is too small.
func grow[T scalar](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf[:n]
}

// gemmTask is one product in flight. It implements parallel.Task over panels of C: a long-lived
// struct inside the Engine, so that handing it to the pool allocates nothing.
type gemmTask[T scalar] struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
	kern           microKernel[T]
	blk            blocking
	splitN         bool // Range indexes nr-column panels of C if set, mr-row panels if not
	ws             []workspace[T]
	nextWS         atomic.Int32 // hands each Range call its own workspace
}

var (
	_ parallel.Task = (*gemmTask[float32])(nil)
	_ parallel.Task = (*gemmTask[float64])(nil)
)

// gemm computes C = alpha*op(A)*op(B) + beta*C with arguments already validated.
func gemm[T scalar](pool *parallel.Pool, t *gemmTask[T], kern microKernel[T], blk *blocking, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	t.transA, t.transB, t.m, t.n, t.k, t.alpha, t.beta = transA, transB, m, n, k, alpha, beta
	t.a, t.b, t.c, t.lda, t.ldb, t.ldc = a, b, c, lda, ldb, ldc
	t.kern, t.blk = kern, *blk
	if len(t.ws) == 0 {
		t.ws = make([]workspace[T], 1) // a zero Engine
	}
	workers := len(t.ws)
	if pool == nil || workers < 2 || m*n*k < parallelLimit {
		t.block(&t.ws[0], 0, m, 0, n)
	} else {
		// Each worker packs the whole of the operand that is not split, so split the dimension
		// whose other operand is cheaper to pack twice: splitting n duplicates A's m×k,
		// splitting m duplicates B's k×n. A dimension with fewer panels than workers cannot
		// keep them all busy.
		panelsN := (n + t.blk.nr - 1) / t.blk.nr
		panelsM := (m + t.blk.mr - 1) / t.blk.mr
		t.splitN = m <= n
		if t.splitN && panelsN < workers && panelsM > panelsN {
			t.splitN = false
		} else if !t.splitN && panelsM < workers && panelsN > panelsM {
			t.splitN = true
		}
		panels := panelsM
		if t.splitN {
			panels = panelsN
		}
		t.nextWS.Store(0)
		pool.Run(t, panels, 1)
	}
	// Drop the references to the caller's matrices so that the Engine does not keep them alive.
	t.a, t.b, t.c = nil, nil, nil
}

// Range computes the panels [lo, hi) of C; the pool calls it at most Workers() times per Run,
// so there is a workspace for every call.
func (t *gemmTask[T]) Range(lo, hi int) {
	if lo >= hi {
		return
	}
	w := &t.ws[t.nextWS.Add(1)-1]
	if t.splitN {
		t.block(w, 0, t.m, lo*t.blk.nr, min(hi*t.blk.nr, t.n))
	} else {
		t.block(w, lo*t.blk.mr, min(hi*t.blk.mr, t.m), 0, t.n)
	}
}

// evenBlock returns the block size that splits n into as few blocks of at most limit as
// possible, all of about the same size and rounded up to a multiple of align: 784 with max 256
// gives four blocks of 196 rather than three of 256 and a thin one of 16, which would run the
// micro-kernel on a short, overhead-dominated k loop.
func evenBlock(n, limit, align int) int {
	blocks := (n + limit - 1) / limit
	size := (n + blocks - 1) / blocks
	return (size + align - 1) / align * align
}

// block computes C[i0:i1, j0:j1] with the GotoBLAS loop nest: for each nc-wide column block and
// each kc-deep slice, pack the kc×nc block of op(B), then for each mc-high block of op(A) pack
// it and sweep the micro-kernel over the tiles.
func (t *gemmTask[T]) block(w *workspace[T], i0, i1, j0, j1 int) {
	blk := &t.blk
	mc := evenBlock(i1-i0, blk.mc, blk.mr)
	kc := evenBlock(t.k, blk.kc, 1)
	nc := evenBlock(j1-j0, blk.nc, blk.nr)
	w.a = grow(w.a, mc*kc)
	w.b = grow(w.b, kc*nc)
	w.tile = grow(w.tile, blk.mr*blk.nr)

	for jc := j0; jc < j1; jc += nc {
		nb := min(nc, j1-jc)
		for pc := 0; pc < t.k; pc += kc {
			kb := min(kc, t.k-pc)
			packB(w.b, t.transB, t.b, t.ldb, pc, kb, jc, nb, blk.nr)
			// Only the first slice applies beta; later ones accumulate onto it.
			beta := t.beta
			if pc > 0 {
				beta = 1
			}
			for ic := i0; ic < i1; ic += mc {
				mb := min(mc, i1-ic)
				packA(w.a, t.transA, t.a, t.lda, ic, mb, pc, kb, blk.mr)
				t.macro(w, mb, nb, kb, beta, t.c[ic*t.ldc+jc:])
			}
		}
	}
}

// macro runs the micro-kernel over an mb×nb block of C from packed A (mb×kb) and B (kb×nb).
// The column loop is outside so that one kb×nr micro-panel of B stays in L1 while the mr-row
// micro-panels of A stream past it from L2.
func (t *gemmTask[T]) macro(w *workspace[T], mb, nb, kb int, beta T, c []T) {
	mr, nr, ldc := t.blk.mr, t.blk.nr, t.ldc
	for jr := 0; jr < nb; jr += nr {
		nrr := min(nr, nb-jr)
		bp := &w.b[jr*kb]
		for ir := 0; ir < mb; ir += mr {
			mrr := min(mr, mb-ir)
			ap := &w.a[ir*kb]
			off := ir*ldc + jr
			if mrr == mr && nrr == nr {
				t.kern(kb, ap, bp, &c[off], ldc, t.alpha, beta)
				continue
			}
			// A ragged tile: the kernel always writes a full tile, so let it write to scratch
			// (the packed panels are zero-padded) and merge only the part that exists.
			t.kern(kb, ap, bp, &w.tile[0], nr, t.alpha, 0)
			for i := range mrr {
				src := w.tile[i*nr : i*nr+nrr]
				dst := c[off+i*ldc : off+i*ldc+nrr]
				if beta == 0 {
					copy(dst, src)
					continue
				}
				for j, v := range src {
					dst[j] = v + beta*dst[j]
				}
			}
		}
	}
}

// scaleC sets C = beta*C, writing zeros rather than multiplying when beta is 0 so that NaNs in
// the old C do not survive.
func scaleC[T scalar](m, n int, beta T, c []T, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
