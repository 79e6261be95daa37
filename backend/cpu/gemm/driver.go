package gemm

import (
	"sync/atomic"
	"unsafe"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
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

// inPlaceKernel is a micro-kernel that reads an mr-row micro-panel of A where it lies, with
// leading dimension lda, instead of from a packed copy: a column kernel reads element (i, p) at
// a[p*lda+i] (a transposed A, or a packed panel with lda = mr), a row kernel at a[i*lda+p] (A
// not transposed). Packing A costs as much as the product itself at the MLP's shapes (A is
// read once per 32 columns of C), so the AVX-512 level skips it for every full micro-panel.
//
// Row p of the B micro-panel is at b[p*ldb:] (ldb = nr for a packed panel): for a product of
// few rows (a batch of 32) B's micro-panels are used only a few times, and packing B would cost
// more than the product, so B not transposed is read in place too (see bInPlace).
//
// One call computes n >= 1 full tiles side by side with the same A micro-panel: tile j reads
// the B micro-panel at b[j*bstep:] and writes C at c[j*nr:]. Each tile is computed exactly as a
// call of its own would compute it; the sweep saves the per-call costs, chiefly the MXCSR
// writes of the AVX-512 kernels (see gemm512_amd64.s).
type inPlaceKernel[T scalar] func(k int, a, b, c *T, ldc, lda, ldb, bstep, n int, alpha, beta T)

// sweepKernel computes n >= 1 full tiles down a column panel with one call: tile t is what
// microKernel computes from the packed A micro-panel at a[t*astep:] into C from row t·mr, all
// with the same packed B micro-panel. The AVX2 kernels sweep so that their MXCSR writes (see
// gemm_amd64.s) are paid once per column panel of a block, not once per tile.
type sweepKernel[T scalar] func(k int, a, b, c *T, ldc, astep, n int, alpha, beta T)

// blocking holds the register tile (mr×nr) and cache blocks of one kernel: an mc×kc block of A
// is packed to stay in L2 and a kc×nr micro-panel of B to stay in L1, while a kc×nc block of B
// lives in L3. Each kernel set (kernel.go, gemm_amd64.go) carries its own.
type blocking struct {
	mr, nr     int
	mc, kc, nc int
	rowsOuter  bool // see gemmTask.macro
}

// bInPlaceRows is the largest m for which the in-place kernels also read B (not transposed)
// where it lies instead of packing it: B's micro-panels are then used by at most 19 row panels,
// which on the 2-core Zen 5 machine did not repay the copy (m×256×784 products of 32 to 256 rows
// ran 1.1-1.6x faster unpacked, per CPU second). A variable so that tests can force either way.
var bInPlaceRows = 256

// sweepTiles makes the in-place kernels compute a row of full tiles in one call (see sweep).
// Only tests and benchmarks clear it, between products, to compare with one call per tile.
var sweepTiles = true

// narrowTiles enables the narrow kernel sets (kernelSet.narrow); tests turn it off to check that
// the bits do not depend on it.
var narrowTiles = true

// tailTiles enables the 4-row AVX2 tail panels (tailPlan); tests turn it off to check that the
// bits of every beta 0 or 1 product do not depend on it.
var tailTiles = true

// tinyBlocks makes every product use cache blocks a few tiles wide (mr and nr stay those of the
// kernel), so that the tests' small matrices cross every mc, kc and nc edge of the driver. Only
// tests set it, between products.
var tinyBlocks = false

// blocksFor returns the blocking a product runs with.
func blocksFor(b blocking) blocking {
	if tinyBlocks {
		b.mc, b.kc, b.nc = 2*b.mr, 9, 3*b.nr
	}
	return b
}

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
	ap   []T // the packed block of A that macro reads: w.a, or one of the blocks kept in it
	tile []T // an mr×nr scratch tile for the ragged edges of C
}

// keepALimit is the largest m*k for which block keeps every packed block of A for the next
// column block instead of packing it again (see block): the buffer then holds all of op(A),
// 4 MiB at the large MLP's 1024×1024 float32.
const keepALimit = 1 << 21

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
	col, row       inPlaceKernel[T] // nil unless the level reads A in place
	col8, row8     inPlaceKernel[T] // the same for 8-row tiles, used for rows m14.. (nil: none)
	kern4          microKernel[T]   // the 4-row AVX2 kernel, used for rows m14.. (nil: none)
	sw, sw4        sweepKernel[T]   // kern and kern4 down a column panel (nil: one call per tile)
	m14            int              // rows [0, m14) are in mr-row panels, the rest in tailMR-row ones
	tailMR         int              // 8 (AVX-512, col8 and row8) or 4 (AVX2, kern4)
	packedA        bool             // pack A even so (see aliasing)
	bInPlace       bool             // read B's full micro-panels in place (see inPlaceKernel)
	blk            blocking
	splitN         bool // Range indexes nr-column panels of C if set, mr-row panels if not
	chunk, chunks  int  // dynamic split: chunks of chunk panels handed out by next (0: static)
	next           atomic.Int64
	ws             []workspace[T]
	nextWS         atomic.Int32 // hands each Range call its own workspace
}

var (
	_ parallel.Task = (*gemmTask[float32])(nil)
	_ parallel.Task = (*gemmTask[float64])(nil)
)

// gemm computes C = alpha*op(A)*op(B) + beta*C with arguments already validated.
func gemm[T scalar](pool *parallel.Pool, t *gemmTask[T], kern, kern4 microKernel[T], sw, sw4 sweepKernel[T], col, row, col8, row8 inPlaceKernel[T], blk blocking, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	t.transA, t.transB, t.m, t.n, t.k, t.alpha, t.beta = transA, transB, m, n, k, alpha, beta
	t.a, t.b, t.c, t.lda, t.ldb, t.ldc = a, b, c, lda, ldb, ldc
	t.kern, t.sw, t.col, t.row, t.blk = kern, sw, col, row, blocksFor(blk)
	size := int(unsafe.Sizeof(alpha))
	t.packedA = transA && (aliasing(lda, size) || m*k > transAInPlaceLimit) ||
		!transA && packsCollidingRows(lda, size)
	t.bInPlace = col != nil && !transB && m <= bInPlaceRows && !aliasing(ldb, size)
	t.col8, t.row8, t.kern4, t.sw4, t.m14, t.tailMR = nil, nil, nil, nil, m, 8
	switch {
	case col8 != nil && !t.packedA && t.blk.rowsOuter && t.blk.mr == 14:
		t.col8, t.row8, t.m14 = col8, row8, rowPlan(m, k)
	case tailTiles && kern4 != nil && col == nil && t.blk.mr == 6:
		t.kern4, t.sw4, t.m14, t.tailMR = kern4, sw4, tailPlan(m), 4
	}
	if len(t.ws) == 0 {
		t.ws = make([]workspace[T], 1) // a zero Engine
	}
	workers := len(t.ws)
	t.chunks = 0
	panelsN := (n + t.blk.nr - 1) / t.blk.nr
	panelsM := t.panelsM()
	switch {
	case pool == nil || workers < 2 || m*n*k < parallelLimit:
		t.block(&t.ws[0], 0, m, 0, n)
	case t.col != nil && !t.packedA:
		// A is read in place, so splitting C by columns duplicates no work: each chunk packs
		// only its own columns of B. Where B is read in place too, splitting the rows
		// duplicates none either, and keeps each kernel call's sweep the whole width of C
		// (see sweep). With fewer column panels than two per worker, split the rows as well
		// (B is then small and packed per chunk). The chunks (about two per worker) are taken
		// from a counter rather than assigned, so a worker the OS has descheduled (a busy
		// machine) delays the product by one chunk instead of by its whole share; more, smaller
		// chunks shorten the sweeps. On the 2-core Xeon, two workers, against four column
		// chunks per worker: 1.16-1.28x on the batch-128 products that read B in place, up to
		// 1.3x on dW1 (BenchmarkSgemmLevels, see kernels/NOTES-cpu.md).
		t.splitN = panelsN >= 2*workers && !t.bInPlace
		panels := panelsM
		if t.splitN {
			panels = panelsN
		}
		t.chunk = max(1, panels/(2*workers))
		t.chunks = (panels + t.chunk - 1) / t.chunk
		t.next.Store(0)
		t.nextWS.Store(0)
		pool.Run(t, min(workers, t.chunks), 1)
	default:
		// Each worker packs the whole of the operand that is not split, so split the dimension
		// whose other operand is cheaper to pack twice: splitting n duplicates A's m×k,
		// splitting m duplicates B's k×n. A dimension with fewer panels than workers cannot
		// keep them all busy.
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

// Range computes the panels [lo, hi) of C, or with a dynamic split takes chunks of panels
// until none is left; the pool calls it at most Workers() times per Run, so there is a
// workspace for every call.
func (t *gemmTask[T]) Range(lo, hi int) {
	if lo >= hi {
		return
	}
	w := &t.ws[t.nextWS.Add(1)-1]
	if t.chunks == 0 {
		t.panels(w, lo, hi)
		return
	}
	for {
		c := int(t.next.Add(1) - 1)
		if c >= t.chunks {
			return
		}
		t.panels(w, c*t.chunk, (c+1)*t.chunk)
	}
}

// panels computes the column panels [lo, hi) of C (splitN) or its row panels.
func (t *gemmTask[T]) panels(w *workspace[T], lo, hi int) {
	if t.splitN {
		t.block(w, 0, t.m, lo*t.blk.nr, min(hi*t.blk.nr, t.n))
	} else {
		t.block(w, t.panelRow(lo), t.panelRow(hi), 0, t.n)
	}
}

// rowPlan returns m14 for a product of m rows at the AVX-512 level: rows [0, m14) are computed in
// 14-row panels and the rest in 8-row ones, so that few rows are computed only to be thrown away
// (14-row panels alone compute 140 rows for a batch of 128, 28 for a layer of 16 channels; the
// plan computes 128 and 16). An even m is 14·a + 8·b with b <= 6 when m >= 48 or for the
// residues that smaller m reach; an odd m is planned as m+1, the last 8-row panel one row short
// (computed overlapping the panel before, as tile does for ragged panels). Otherwise the last
// panel is an 8-row one where at most 8 rows are left (overlapping too), a 14-row one else; a
// product of at most 8 rows is one 8-row panel.
//
// A plan with more panels than 14-row panels alone (32 rows: four of 8 against three of 14)
// is taken only where it costs less in the model of tileCost: a tile has a fixed cost, and for a
// shallow product (cnn conv1's 32×9 filters) the extra tile calls cost more than the rows saved.
func rowPlan(m, k int) int {
	m14 := mixedPlan(m)
	if m14 == m || planCost(m, m14, k) <= planCost(m, m, k) {
		return m14
	}
	return m
}

// tileCost is the fixed cost of one tile in steps of one row of C through one step of k (one
// cycle on Zen 5: two FMAs): the accumulators' clearing, scaling and store, and (before the
// sweep, when each tile was a call of its own) the call and the MXCSR's save and restore.
// Fitted to cnn conv1's 32×6704×9 product, which ran 5% slower in four 8-row panels than in
// three 14-row ones (Zen 5, one core, one call per tile); not refitted since.
const tileCost = 128

// planCost is the model cost of the row panels of a plan with m14 rows in 14-row panels for an
// inner dimension k, per column panel.
func planCost(m, m14, k int) int {
	n14, n8 := (m14+13)/14, (m-m14+7)/8
	return n14*(tileCost+14*k) + n8*(tileCost+8*k)
}

// mixedPlan is rowPlan for a deep product: the plan that computes the fewest rows.
func mixedPlan(m int) int {
	me := m + m%2
	for b := 0; b <= 6 && 8*b <= me; b++ {
		if (me-8*b)%14 == 0 {
			return min(m, me-8*b)
		}
	}
	if m < 14 {
		if m <= 8 {
			return 0 // one 8-row panel (zero-padded below 8 rows)
		}
		return m // one zero-padded 14-row panel: fewer rows than two 8-row ones
	}
	if r := m % 14; r <= 8 {
		return m - r
	}
	return m
}

// tailPlan returns m14 for a product of m rows at the AVX2 level: rows [0, m14) are computed in
// 6-row panels and the last 1-8 in 4-row ones (sgemmKernel4x16), so that a batch of 128 is 20
// panels of 6 and 2 of 4 instead of 22 of 6, the last of them computing 6 rows for 2. A 4-row
// tile has 8 accumulators, too few to hide the FMA latency (about 80% of the 6-row tile's rate
// on Zen 2), so it is used where it computes fewer wasted rows than that costs: for the last
// m%6 rows when that is 1, 3 or 4, and two of them for the last 8 when m%6 is 2. With m%6 = 5
// one ragged 6-row panel (5 of 6 rows) stays.
func tailPlan(m int) int {
	switch r := m % 6; {
	case r == 2 && m >= 8:
		return m - 8
	case r >= 1 && r <= 4:
		return m - r
	}
	return m
}

// panelsM returns the number of row panels of op(A): mr-row ones, then tailMR-row ones (see
// rowPlan and tailPlan).
func (t *gemmTask[T]) panelsM() int {
	mr, tr := t.blk.mr, t.tailMR
	return (t.m14+mr-1)/mr + (t.m-t.m14+tr-1)/tr
}

// panelRow returns the first row of row panel p (t.m for p = panelsM).
func (t *gemmTask[T]) panelRow(p int) int {
	mr := t.blk.mr
	n14 := (t.m14 + mr - 1) / mr
	if p <= n14 {
		return min(p*mr, t.m14)
	}
	return min(t.m14+(p-n14)*t.tailMR, t.m)
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
	// A packed (not read in place) would be packed again for every nc-wide column block: with
	// more than one, and op(A) not too large, keep all its packed blocks from the first column
	// block for the others (a 1024×1024×1024 product packed A twice, 3-5% of its time).
	packedA := t.col == nil || t.packedA
	// (The blocks are indexed by (ic-i0)/mc, which a block of tail panels would share with the
	// block before it; with tail panels, A is packed per column block.)
	keepA := packedA && j1-j0 > nc && (i1-i0)*t.k <= keepALimit && t.m14 == t.m
	blocksM := (i1 - i0 + mc - 1) / mc
	if keepA {
		w.a = grow(w.a, blocksM*((t.k+kc-1)/kc)*mc*kc)
	} else {
		w.a = grow(w.a, mc*kc)
	}
	w.b = grow(w.b, kc*nc)
	w.tile = grow(w.tile, blk.mr*blk.nr)
	if t.sw != nil {
		w.tile = grow(w.tile, max(mc, blk.mr)*blk.nr) // a ragged column panel's sweep (see macro)
	}
	w.ap = w.a

	for jc := j0; jc < j1; jc += nc {
		nb := min(nc, j1-jc)
		for pc := 0; pc < t.k; pc += kc {
			kb := min(kc, t.k-pc)
			if !t.bInPlace {
				packB(w.b, t.transB, t.b, t.ldb, pc, kb, jc, nb, blk.nr)
			} else if full := nb / blk.nr * blk.nr; full < nb {
				// Only a ragged last micro-panel is packed, at the start of w.b.
				packB(w.b, false, t.b, t.ldb, pc, kb, jc+full, nb-full, blk.nr)
			}
			// Only the first slice applies beta; later ones accumulate onto it.
			beta := t.beta
			if pc > 0 {
				beta = 1
			}
			for ic := i0; ic < i1; {
				mb := min(mc, i1-ic)
				if ic < t.m14 {
					mb = min(mb, t.m14-ic) // a block holds panels of one height
				} else {
					mb = min(max(t.tailMR, mc/t.tailMR*t.tailMR), i1-ic)
				}
				mr := t.panelHeight(ic)
				if keepA {
					w.ap = w.a[((pc/kc)*blocksM+(ic-i0)/mc)*mc*kc:]
					if jc == j0 {
						packA(w.ap, t.transA, t.a, t.lda, ic, mb, pc, kb, mr)
					}
				} else if packedA {
					packA(w.a, t.transA, t.a, t.lda, ic, mb, pc, kb, mr)
				} else if full := mb / mr * mr; full < mb && t.m < mr {
					// Only a ragged last micro-panel of a product with fewer than mr rows is
					// packed (zero-padded to mr rows); the others are read in place (see tile).
					packA(w.a, t.transA, t.a, t.lda, ic+full, mb-full, pc, kb, mr)
				}
				t.macro(w, ic, jc, mb, nb, kb, pc, beta, t.c[ic*t.ldc+jc:])
				ic += mb
			}
		}
	}
}

// macro runs the micro-kernel over an mb×nb block of C from packed B (kb×nb) and A: packed
// (mb×kb) in w.a, or, with an in-place kernel, rows ic.. and columns pc.. of op(A) where they lie
// (only a ragged last micro-panel packed, at the start of w.a).
//
// The loop order decides which operand stays in L1. With the column loop outside (the AVX2
// tiles) one kb×nr micro-panel of B (16 KiB) stays in L1 while the micro-panels of A stream past
// it from L2. The AVX-512 tiles' B micro-panel is 32 KiB, too much for a 48 KiB L1 beside the
// streams, so there the row loop is outside: one mr×kb micro-panel of A (14 KiB) stays in L1
// and the kb×nb block of B streams from L2, as BLIS does for these tiles.
func (t *gemmTask[T]) macro(w *workspace[T], ic, jc, mb, nb, kb, pc int, beta T, c []T) {
	mr, nr := t.panelHeight(ic), t.blk.nr
	if t.blk.rowsOuter {
		for ir := 0; ir < mb; ir += mr {
			jr := 0
			if full := nb / nr; sweepTiles && t.col != nil && mr <= mb-ir && full > 0 {
				t.sweep(w, ic, jc, ir, full, kb, pc, beta, c)
				jr = full * nr
			}
			for ; jr < nb; jr += nr {
				t.tile(w, ic, jc, ir, jr, min(mr, mb-ir), min(nr, nb-jr), kb, pc, beta, c)
			}
		}
		return
	}
	sw := t.sw
	if mr < t.blk.mr {
		sw = t.sw4
	}
	for jr := 0; jr < nb; jr += nr {
		ir := 0
		if full := mb / mr; sweepTiles && sw != nil && full > 0 {
			// The block's tiles of full height in this column panel, one call (see
			// sweepKernel); those of a ragged last panel into scratch (the packed B is
			// zero-padded), merged as tile merges one.
			if cols := nb - jr; cols >= nr {
				sw(kb, &w.ap[0], &w.b[jr*kb], &c[jr], t.ldc, mr*kb, full, t.alpha, beta)
			} else {
				sw(kb, &w.ap[0], &w.b[jr*kb], &w.tile[0], nr, mr*kb, full, t.alpha, 0)
				mergeTile(c[jr:], t.ldc, w.tile, nr, full*mr, cols, beta)
			}
			ir = full * mr
		}
		for ; ir < mb; ir += mr {
			t.tile(w, ic, jc, ir, jr, min(mr, mb-ir), min(nr, nb-jr), kb, pc, beta, c)
		}
	}
}

// panelHeight returns the height of the row panels of the block at row ic: mr, or tailMR from m14.
func (t *gemmTask[T]) panelHeight(ic int) int {
	if ic < t.m14 {
		return t.blk.mr
	}
	return t.tailMR
}

// sweep computes the n full tiles at row ir, columns 0, nr, ..., (n-1)·nr of the block with one
// call of an in-place kernel: the tiles tile would compute one call each, with the same
// operands.
func (t *gemmTask[T]) sweep(w *workspace[T], ic, jc, ir, n, kb, pc int, beta T, c []T) {
	mr, nr := t.panelHeight(ic), t.blk.nr
	col, row := t.col, t.row
	if mr == 8 {
		col, row = t.col8, t.row8
	}
	bp, ldb, bstep := &w.b[0], nr, nr*kb
	if t.bInPlace {
		bp, ldb, bstep = &t.b[pc*t.ldb+jc], t.ldb, nr
	}
	dst := &c[ir*t.ldc]
	i0 := ic + ir
	switch {
	case t.packedA:
		col(kb, &w.ap[ir*kb], bp, dst, t.ldc, mr, ldb, bstep, n, t.alpha, beta)
	case t.transA:
		col(kb, &t.a[pc*t.lda+i0], bp, dst, t.ldc, t.lda, ldb, bstep, n, t.alpha, beta)
	default:
		row(kb, &t.a[i0*t.lda+pc], bp, dst, t.ldc, t.lda, ldb, bstep, n, t.alpha, beta)
	}
}

// tile computes the mrr×nrr tile at row ir, column jr of the block (mrr <= mr, nrr <= nr, with
// mr the block's panel height).
func (t *gemmTask[T]) tile(w *workspace[T], ic, jc, ir, jr, mrr, nrr, kb, pc int, beta T, c []T) {
	mr, nr, ldc := t.panelHeight(ic), t.blk.nr, t.ldc
	col, row := t.col, t.row
	if mr == 8 {
		col, row = t.col8, t.row8
	}
	bp, ldb := &w.b[jr*kb], nr
	switch {
	case t.bInPlace && nrr == nr:
		bp, ldb = &t.b[pc*t.ldb+jc+jr], t.ldb
	case t.bInPlace:
		bp = &w.b[0]
	}
	off := ir*ldc + jr
	dst, ld, b := &c[off], ldc, beta
	ragged := mrr < mr || nrr < nr
	if ragged {
		// The kernel always writes a full tile, so let it write to scratch (the packed panels
		// are zero-padded) and merge only the part that exists.
		dst, ld, b = &w.tile[0], nr, 0
	}
	// skip is the number of leading rows of the scratch tile that are not part of this tile: a
	// ragged panel read in place is computed as the mr rows that end with it (they overlap the
	// panel before, which the merge below leaves alone), so it needs no packing.
	skip := 0
	i0 := ic + ir // the first row of op(A) the kernel reads
	if mrr < mr && t.col != nil && !t.packedA && t.m >= mr {
		skip = mr - mrr
		i0 -= skip
	}
	switch {
	case t.col == nil && mr < t.blk.mr:
		t.kern4(kb, &w.ap[ir*kb], bp, dst, ld, t.alpha, b)
	case t.col == nil:
		t.kern(kb, &w.ap[ir*kb], bp, dst, ld, t.alpha, b)
	case t.packedA:
		col(kb, &w.ap[ir*kb], bp, dst, ld, mr, ldb, 0, 1, t.alpha, b)
	case mrr < mr && skip == 0:
		col(kb, &w.a[0], bp, dst, ld, mr, ldb, 0, 1, t.alpha, b)
	case t.transA:
		col(kb, &t.a[pc*t.lda+i0], bp, dst, ld, t.lda, ldb, 0, 1, t.alpha, b)
	default:
		row(kb, &t.a[i0*t.lda+pc], bp, dst, ld, t.lda, ldb, 0, 1, t.alpha, b)
	}
	if !ragged {
		return
	}
	mergeTile(c[off:], ldc, w.tile[skip*nr:], nr, mrr, nrr, beta)
}

// mergeTile merges the rows×cols top left of a tile computed with beta 0 into scratch (src,
// row stride lds) into C (dst, row stride ldd): C = tile + beta·C, or the tile where beta is 0.
func mergeTile[T scalar](dst []T, ldd int, src []T, lds, rows, cols int, beta T) {
	for i := range rows {
		s := src[i*lds : i*lds+cols]
		d := dst[i*ldd : i*ldd+cols]
		if beta == 0 {
			copy(d, s)
			continue
		}
		for j, v := range s {
			d[j] = v + T(beta*d[j]) // rounded, never fused into an FMA (GOAMD64=v3 may fuse)
		}
	}
}

// aliasing reports whether rows of A lda elements of size bytes apart fall into the same few
// sets of a 4 KiB-way L1 cache (strides that are multiples of 4 KiB, or nearly): read in place,
// the kb rows of a transposed A's micro-panel (or of B's) would then evict each other, so that
// operand is packed. A non-transposed A is read in place even so (aliasedRowsInPlace).
func aliasing(lda, size int) bool {
	r := lda * size % 4096
	return r < 256 || r > 4096-256
}

// rowsCollide reports whether rows lda elements of size bytes apart, each on lines of its own,
// fall into the same few sets of a 4 KiB-way L1: aliasing, for strides of a page or more. Rows
// closer than that (lda 10 or 25, say) share lines and sets hold them all; aliasing counts those
// too, as the measured choices for a transposed A and for B were made with it.
func rowsCollide(lda, size int) bool { return lda*size >= 4096-256 && aliasing(lda, size) }

// packsCollidingRows reports whether a non-transposed A of leading dimension lda is not read in
// place: its rows collide (rowsCollide) in an L1 too small to hold them (aliasedRowsInPlace). The
// 14×32 tiles pack it then, and the masked row tiles leave it to the column tiles (useRowTiles).
func packsCollidingRows(lda, size int) bool { return !aliasedRowsInPlace && rowsCollide(lda, size) }

// aliasedRowsInPlace reads a non-transposed A in place even where its rows alias (see aliasing):
// the row kernels (sgemm512Row) walk 14 rows along k, each line used for 16 steps, and on the
// 2-core Xeon (family 6 model 167, 48 KiB 12-way L1) that ran at 93% of the one-core peak
// against 79% for packing A with the 16×16 transposes (128×1024 · 1024×256, lda 1024; the same
// product with lda 1088, which does not alias, 93%): packing, at the few GB/s this guest gives
// the copy, cost more than the evictions. A transposed A, whose micro-panel is kb rows of 14,
// is still packed (read in place there, the large MLP's dW2 ran at 73% against 82%). The same
// products in the same order either way (TestAliasedRowsInPlaceChangeNoProduct). A variable so
// that tests can compare.
//
// An L1 of fewer ways does not hold the 14 rows: on the 2-core AMD EPYC Zen 4 (family 25 model
// 17, 32 KiB 8-way L1) the large MLP's fwd2 and dX2 (1024³, lda 1024) ran at 57-72% of the
// one-core peak read in place against 88-92% packed, so there A is packed where its rows
// collide (aliasedRowsInPlaceFor, rowsCollide).
var aliasedRowsInPlace = aliasedRowsInPlaceFor(cpufeat.L1DataWays())

// aliasedRowsInPlaceFor decides aliasedRowsInPlace from the L1 data cache's associativity
// (cpufeat.L1DataWays): in place with 12 ways or more (measured on the Xeon, 12) or when it is
// not known (0), packed with fewer (measured on Zen 4, 8).
func aliasedRowsInPlaceFor(ways int) bool { return ways == 0 || ways >= 12 }

// transAInPlaceLimit is the largest m*k for which a transposed A is read in place: a larger one
// does not stay in L2, and the column kernels' in-place micro-panels (kb rows of 14 floats, lda
// apart) then come from L3 a few lines at a time, where packing reads the rows of a block whole.
// On the Xeon, one core (in place → packed): 784×1024 · 1024×1024 (the large MLP's dW1, lda 784)
// 72% → 80%, 1024³ with lda 1088 71% → 79%; the small MLP's dW2 (256ᵀ×128 · 128×256, 32K
// elements) 87% → 83%. Set between the two; the same bits for beta 0 and 1 (see
// aliasedRowsInPlace). A variable so that tests can compare.
var transAInPlaceLimit = 1 << 18

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
