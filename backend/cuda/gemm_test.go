package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// colMajorRef is the BLAS definition of GEMM on column-major memory, the way cuBLAS reads it.
func colMajorRef(g colMajorGemm, alpha float64, a, b []float64, beta float64, c []float64) {
	opA := func(i, l int) float64 {
		if g.transA {
			return a[l+i*g.lda]
		}
		return a[i+l*g.lda]
	}
	opB := func(l, j int) float64 {
		if g.transB {
			return b[j+l*g.ldb]
		}
		return b[l+j*g.ldb]
	}
	for j := 0; j < g.n; j++ {
		for i := 0; i < g.m; i++ {
			s := 0.0
			for l := 0; l < g.k; l++ {
				s += opA(i, l) * opB(l, j)
			}
			c[i+j*g.ldc] = alpha*s + beta*c[i+j*g.ldc]
		}
	}
}

// rowMajorRef is backend.Device's Gemm on row-major memory.
func rowMajorRef(transA, transB bool, m, n, k int, alpha float64, a, b []float64, beta float64, c []float64) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for l := 0; l < k; l++ {
				av, bv := a[i*k+l], b[l*n+j]
				if transA {
					av = a[l*m+i]
				}
				if transB {
					bv = b[j*k+l]
				}
				s += av * bv
			}
			c[i*n+j] = alpha*s + beta*c[i*n+j]
		}
	}
}

func TestRowMajorGemmMapsToOneColumnMajorCall(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	draw := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = rng.Float64()*2 - 1
		}
		return out
	}
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 4, 9}, {2, 9, 1}, {0, 3, 2}, {3, 0, 2}, {4, 3, 0}}
	for _, s := range shapes {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			m, n, k := s[0], s[1], s[2]
			t.Run(fmt.Sprintf("m=%d n=%d k=%d transA=%v transB=%v", m, n, k, tr[0], tr[1]), func(t *testing.T) {
				a, b, c := draw(m*k), draw(k*n), draw(m*n)
				want := append([]float64(nil), c...)
				rowMajorRef(tr[0], tr[1], m, n, k, 0.7, a, b, -1.3, want)

				g := rowMajorGemm(tr[0], tr[1], m, n, k)
				require.True(t, g.swap)
				// cuBLAS's argument checks: each leading dimension covers its stored rows.
				rowsA, rowsB := g.m, g.k
				if g.transA {
					rowsA = g.k
				}
				if g.transB {
					rowsB = g.n
				}
				assert.GreaterOrEqual(t, g.lda, max(1, rowsA), "lda")
				assert.GreaterOrEqual(t, g.ldb, max(1, rowsB), "ldb")
				assert.GreaterOrEqual(t, g.ldc, max(1, g.m), "ldc")

				got := append([]float64(nil), c...)
				colMajorRef(g, 0.7, b, a, -1.3, got) // swapped: cuBLAS's A is our B
				for i := range want {
					require.LessOrEqual(t, math.Abs(got[i]-want[i]), 1e-12, "element %d", i)
				}
			})
		}
	}
}
