// Package gemm multiplies row-major float32 and float64 matrices on the CPU:
// C = alpha*op(A)*op(B) + beta*C, the operation behind every dense layer of the CPU backend.
//
// It follows the GotoBLAS/BLIS structure. C is split into blocks of at most mc×nc; for each
// kc-deep slice of the shared dimension, panels of op(B) and op(A) are copied ("packed") into
// contiguous buffers in exactly the order a register-blocked micro-kernel reads them, so the
// kernel streams memory linearly and transposes cost nothing beyond the copy. The micro-kernel
// computes an mr×nr tile of C in registers; on amd64 with AVX2 and FMA it is written in
// assembly (6×16 for float32, 6×8 for float64), elsewhere a pure-Go kernel with the same
// packed layout is used. Large products are split over the workers of a parallel.Pool by
// ranges of mr-row or nr-column panels of C, each worker packing into its own buffers, so
// workers never synchronise inside a product.
//
// An Engine owns its packing buffers and reuses them, so a steady stream of products (a
// training loop) allocates nothing. The package-level Sgemm and Dgemm share one default
// Engine behind a mutex.
package gemm

import (
	"errors"
	"fmt"
	"sync"

	"github.com/gotrain/gotrain/backend/cpu/parallel"
)

// ErrShape is wrapped by every error the package returns: a negative dimension, a leading
// dimension smaller than its row, or a slice too short for the matrix it holds.
var ErrShape = errors.New("gemm: bad shape")

// Engine multiplies matrices using a worker pool and packing buffers that it keeps between
// calls. An Engine must be used by one goroutine at a time; use one Engine per goroutine, or
// the package-level functions, which serialise on a shared Engine. The zero Engine is ready to
// use and runs every product on the calling goroutine.
type Engine struct {
	pool *parallel.Pool
	s    gemmTask[float32]
	d    gemmTask[float64]
	ct   colTask
	rt   rowTask
	sh   shallowTask
}

// New returns an Engine that splits large products over pool's workers. A nil pool makes the
// Engine run every product on the calling goroutine. The Engine does not own the pool: closing
// the pool is the caller's business, after which the Engine must not be used.
func New(pool *parallel.Pool) *Engine {
	workers := 1
	if pool != nil {
		workers = pool.Workers()
	}
	e := &Engine{pool: pool}
	e.s.ws = make([]workspace[float32], workers)
	e.d.ws = make([]workspace[float64], workers)
	return e
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C in float32. op(A) is m×k, op(B) is k×n and C is
// m×n, all row-major with leading dimensions (row strides) lda, ldb and ldc. A is stored k×m
// when transA (so op(A) = Aᵀ), and B is stored n×k when transB. When beta is 0 the old contents
// of C are not read, so they may be NaN; when alpha is 0 or k is 0, C is only scaled by beta.
// A and B are not modified. Bad dimensions return an error wrapping ErrShape.
func (e *Engine) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error {
	if err := checkShape("sgemm", transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc); err != nil {
		return err
	}
	ks := kernels()
	if useTransposingTiles(ks, transA, transB, m, n, k, alpha, lda) {
		e.rowGemm(ks, nil, ks.narrow.trows[n], 16, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return nil
	}
	if useRowTiles(ks, transA, transB, m, n, k, alpha, lda) {
		e.rowGemm(ks, ks.narrow.rowm, nil, 14, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return nil
	}
	if useShallowTiles(ks, transA, transB, m, n, k, alpha, beta) {
		e.shallowGemm(ks, m, n, k, alpha, a, lda, b, ldb, c, ldc)
		return nil
	}
	if useColTiles(ks, transA, transB, m, n, k, alpha, ldc) {
		e.colGemm(ks, transA, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return nil
	}
	if n <= 16 && ks.narrow != nil && narrowTiles {
		ks = ks.narrow
	}
	gemm(e.pool, &e.s, ks.k32, ks.k4, ks.s32, ks.s4, ks.col32, ks.r32, ks.col8, ks.r8, ks.b32, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	return nil
}

// Dgemm is Sgemm in float64.
func (e *Engine) Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) error {
	if err := checkShape("dgemm", transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc); err != nil {
		return err
	}
	ks := kernels()
	gemm(e.pool, &e.d, ks.k64, nil, ks.s64, nil, nil, nil, nil, nil, ks.b64, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	return nil
}

// The default Engine is created on first use so that importing the package starts no goroutines.
var (
	defaultMu     sync.Mutex
	defaultEngine *Engine
)

func lockDefault() *Engine {
	defaultMu.Lock()
	if defaultEngine == nil {
		defaultEngine = New(parallel.New(0))
	}
	return defaultEngine
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C in float32 on a shared default Engine that uses
// GOMAXPROCS workers; see Engine.Sgemm for the meaning of the arguments. Calls from several
// goroutines are serialised.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error {
	e := lockDefault()
	defer defaultMu.Unlock()
	return e.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm is Sgemm in float64.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) error {
	e := lockDefault()
	defer defaultMu.Unlock()
	return e.Dgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// checkShape validates the arguments with the same rules as the reference BLAS (and gonum):
// a leading dimension is at least max(1, row length) even for an empty matrix, and a slice must
// reach the last element of its matrix but need not extend to a full final row.
func checkShape(op string, transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("gemm: %s: negative dimension m=%d n=%d k=%d: %w", op, m, n, k, ErrShape)
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	if err := checkMatrix(op, "a", rowsA, colsA, la, lda); err != nil {
		return err
	}
	if err := checkMatrix(op, "b", rowsB, colsB, lb, ldb); err != nil {
		return err
	}
	return checkMatrix(op, "c", m, n, lc, ldc)
}

func checkMatrix(op, name string, rows, cols, length, ld int) error {
	if ld < max(1, cols) {
		return fmt.Errorf("gemm: %s: ld%s=%d smaller than its %d columns: %w", op, name, ld, cols, ErrShape)
	}
	if rows == 0 || cols == 0 {
		return nil
	}
	if need := (rows-1)*ld + cols; length < need {
		return fmt.Errorf("gemm: %s: len(%s)=%d, need %d for %d×%d with ld %d: %w", op, name, length, need, rows, cols, ld, ErrShape)
	}
	return nil
}
