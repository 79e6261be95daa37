package cuda

import (
	"fmt"
	"math"

	"github.com/gotrain/gotrain/backend"
)

// colMajorGemm is one cuBLAS (column-major) GEMM call: C = alpha·op(A)·op(B) + beta·C with C
// m×n, op(A) m×k, op(B) k×n, and A, B, C the column-major matrices at the given leading
// dimensions. swap says that cuBLAS's A is the caller's B and cuBLAS's B the caller's A.
type colMajorGemm struct {
	transA, transB bool // CUBLAS_OP_T for cuBLAS's A and B
	m, n, k        int
	lda, ldb, ldc  int
	swap           bool
}

// rowMajorGemm maps backend.Device's row-major Gemm (C m×n = op(A)·op(B), A stored k×m when
// transA, B stored n×k when transB) to one column-major call. A row-major r×c matrix is the
// column-major c×r matrix of the same memory, its transpose, so C^T = op(B)^T·op(A)^T is a
// column-major product of n×k by k×m with the operands swapped: B's memory read as column-major
// is B^T (= op(B)^T when B is not transposed: no op) with leading dimension n, or op(B) when it
// is (so it takes CUBLAS_OP_T, leading dimension k); likewise A with m and k. Leading dimensions
// are at least 1, as cuBLAS requires even for empty matrices.
func rowMajorGemm(transA, transB bool, m, n, k int) colMajorGemm {
	g := colMajorGemm{transA: transB, transB: transA, m: n, n: m, k: k, swap: true, ldc: max(n, 1)}
	g.lda, g.ldb = n, k
	if transB {
		g.lda = k
	}
	if transA {
		g.ldb = m
	}
	g.lda, g.ldb = max(g.lda, 1), max(g.ldb, 1)
	return g
}

// check reports a product cuBLAS cannot take: its dimensions and leading dimensions are C ints,
// so a dimension past 2^31-1 (a 2^31-element row: 8 GiB of float32, which a large GPU holds) would
// wrap to a wrong, maybe positive, number and compute on the wrong shape.
func (g colMajorGemm) check() error {
	for _, v := range [...]struct {
		name string
		v    int
	}{{"m", g.m}, {"n", g.n}, {"k", g.k}, {"lda", g.lda}, {"ldb", g.ldb}, {"ldc", g.ldc}} {
		if v.v < 0 || v.v > math.MaxInt32 {
			return fmt.Errorf("cuBLAS %s = %d is outside the 32-bit int its API takes: %w", v.name, v.v, backend.ErrUnsupported)
		}
	}
	return nil
}
