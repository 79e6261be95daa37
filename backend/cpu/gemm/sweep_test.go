package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// TestSweepIsTileByTile checks that one call of an in-place kernel over n tiles (the driver's
// sweep) writes exactly the bits of n calls of one tile each, for the column and row kernels of
// both tile heights, with B packed (micro-panels nr·k apart) and read in place (nr apart), beta
// zero (C starts as NaN, which must not leak) and not, and leaves every element outside the
// tiles alone.
func TestSweepIsTileByTile(t *testing.T) {
	var sets []*kernelSet
	for _, l := range cpufeat.Supported() {
		if ks := asmKernels(l); ks != nil && ks.col32 != nil {
			sets = append(sets, ks)
		}
	}
	if len(sets) == 0 {
		t.Skip("no level with in-place kernels on this CPU")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, ks := range sets {
		nr := ks.b32.nr
		kerns := []struct {
			name string
			mr   int
			col  bool
			kern inPlaceKernel[float32]
		}{{"col14", ks.b32.mr, true, ks.col32}, {"row14", ks.b32.mr, false, ks.r32}, {"col8", 8, true, ks.col8}, {"row8", 8, false, ks.r8}}
		for _, kn := range kerns {
			for _, k := range []int{1, 3, 5, 256} {
				for _, n := range []int{1, 2, 5} {
					for _, packedB := range []bool{true, false} {
						for _, beta := range []float32{0, 0.75} {
							name := fmt.Sprintf("%s k=%d n=%d packedB=%v beta=%v", kn.name, k, n, packedB, beta)
							t.Run(name, func(t *testing.T) {
								sweepMatchesTiles(t, rng, kn.kern, kn.mr, nr, kn.col, k, n, packedB, beta)
							})
						}
					}
				}
			}
		}
	}
}

func sweepMatchesTiles(t *testing.T, rng *rand.Rand, kern inPlaceKernel[float32], mr, nr int, col bool, k, n int, packedB bool, beta float32) {
	// A: column kernels read (i, p) at p*lda+i, row kernels at i*lda+p; lda is wider than needed.
	lda := mr + 3
	if !col {
		lda = k + 3
	}
	a := randSlice[float32](rng, max(k*lda, mr*lda))
	ldb, bstep := nr, nr*k
	if !packedB {
		ldb, bstep = n*nr+7, nr
	}
	b := randSlice[float32](rng, (n-1)*bstep+(k-1)*ldb+nr)
	ldc := n*nr + 5
	c1 := randSlice[float32](rng, mr*ldc)
	if beta == 0 {
		for i := range c1 {
			c1[i] = float32(math.NaN())
		}
	}
	c2 := append([]float32(nil), c1...)
	kern(k, &a[0], &b[0], &c1[0], ldc, lda, ldb, bstep, n, 1.25, beta)
	for j := range n {
		kern(k, &a[0], &b[j*bstep], &c2[j*nr], ldc, lda, ldb, 0, 1, 1.25, beta)
	}
	for i := range c1 {
		inTile := i%ldc < n*nr
		b1, b2 := math.Float32bits(c1[i]), math.Float32bits(c2[i])
		require.Equalf(t, b2, b1, "C[%d] (row %d, column %d): sweep %v, tile by tile %v", i, i/ldc, i%ldc, c1[i], c2[i])
		if inTile {
			require.Falsef(t, math.IsNaN(float64(c1[i])), "C[%d] is NaN: the old C leaked", i)
		}
	}
}

// TestSweepChangesNoProduct runs products at the AVX-512 and AVX2 levels with and without the
// sweeps (sweepTiles: the in-place kernels' rows of tiles, the AVX2 kernels' column panels) on
// the conformance shapes, every transpose and the paths of configs, float32 and (at AVX2, whose
// float64 kernel sweeps too) float64, and requires the same bits: the sweep is a change of speed
// only.
func TestSweepChangesNoProduct(t *testing.T) {
	if cpufeat.Detected() < cpufeat.AVX2 {
		t.Skip("no AVX2 on this CPU: no kernel sweeps")
	}
	for ci, cfg := range configs() {
		if cfg.level != cpufeat.AVX512 && cfg.level != cpufeat.AVX2 {
			continue
		}
		t.Run(cfg.name, func(t *testing.T) {
			e := setConfig(t, cfg)
			t.Cleanup(func() { sweepTiles = true })
			rng := rand.New(rand.NewPCG(7, uint64(ci)))
			for _, s := range testShapes() {
				m, n, k := s[0], s[1], s[2]
				if m*n*k < 4096 {
					continue
				}
				for tr := range 4 {
					transA, transB := tr&1 != 0, tr&2 != 0
					a, lda, b, ldb := productOperands(rng, transA, transB, m, n, k)
					c0 := randSlice[float32](rng, m*n)
					var got [2][]float32
					for i, sw := range []bool{false, true} {
						sweepTiles = sw
						got[i] = append([]float32(nil), c0...)
						require.NoError(t, e.Sgemm(transA, transB, m, n, k, 0.75, a, lda, b, ldb, 0.5, got[i], n))
					}
					for i := range got[0] {
						require.Equalf(t, math.Float32bits(got[0][i]), math.Float32bits(got[1][i]),
							"m=%d n=%d k=%d transA=%v transB=%v: C[%d] %v with the sweep, %v without", m, n, k, transA, transB, i, got[1][i], got[0][i])
					}
					if cfg.level != cpufeat.AVX2 {
						continue
					}
					a64, b64, c64 := widen(a), widen(b), widen(c0)
					var got64 [2][]float64
					for i, sw := range []bool{false, true} {
						sweepTiles = sw
						got64[i] = append([]float64(nil), c64...)
						require.NoError(t, e.Dgemm(transA, transB, m, n, k, 0.75, a64, lda, b64, ldb, 0.5, got64[i], n))
					}
					for i := range got64[0] {
						require.Equalf(t, math.Float64bits(got64[0][i]), math.Float64bits(got64[1][i]),
							"float64 m=%d n=%d k=%d transA=%v transB=%v: C[%d] %v with the sweep, %v without", m, n, k, transA, transB, i, got64[1][i], got64[0][i])
					}
				}
			}
		})
	}
}

// TestTailTilesChangeNoProduct checks that the AVX2 level's 4-row tail panels (tailPlan) give
// the bits of the 6-row panels alone, with a ragged last one, for every product of the
// conformance shapes with beta 0 or 1 (all that training runs), at every worker count; with
// another beta it stays within the products' tolerance (the ragged tile rounds beta·C before the
// sum, a full tile fuses it).
func TestTailTilesChangeNoProduct(t *testing.T) {
	if cpufeat.Detected() < cpufeat.AVX2 {
		t.Skip("no AVX2 on this CPU: the tail tiles are not used")
	}
	for ci, cfg := range configs() {
		if cfg.level != cpufeat.AVX2 {
			continue
		}
		t.Run(cfg.name, func(t *testing.T) {
			e := setConfig(t, cfg)
			t.Cleanup(func() { tailTiles = true })
			rng := rand.New(rand.NewPCG(8, uint64(ci)))
			for _, s := range append(testShapes(), [3]int{128, 40, 300}, [3]int{130, 17, 9}, [3]int{784, 33, 40}) {
				m, n, k := s[0], s[1], s[2]
				if m%6 == 0 || m%6 == 5 || n == 0 || k == 0 || m*n*k > 1<<20 {
					continue // no tail panels, nothing to multiply, or large (the extras below)
				}
				for tr := range 4 {
					transA, transB := tr&1 != 0, tr&2 != 0
					a, lda, b, ldb := productOperands(rng, transA, transB, m, n, k)
					c0 := randSlice[float32](rng, m*n)
					for _, ab := range [][2]float32{{1, 0}, {0.75, 1}, {1, 0.5}} {
						var got [2][]float32
						for i, tail := range []bool{false, true} {
							tailTiles = tail
							got[i] = append([]float32(nil), c0...)
							require.NoError(t, e.Sgemm(transA, transB, m, n, k, ab[0], a, lda, b, ldb, ab[1], got[i], n))
						}
						for i := range got[0] {
							w, g := got[0][i], got[1][i]
							if ab[1] == 0 || ab[1] == 1 {
								require.Equalf(t, math.Float32bits(w), math.Float32bits(g),
									"m=%d n=%d k=%d transA=%v transB=%v alpha=%v beta=%v: C[%d] %v with tail tiles, %v without", m, n, k, transA, transB, ab[0], ab[1], i, g, w)
								continue
							}
							require.InDeltaf(t, w, g, 1e-5*(1+math.Abs(float64(w))), "m=%d n=%d k=%d beta=%v: C[%d]", m, n, k, ab[1], i)
						}
					}
				}
			}
		})
	}
}

// productOperands returns random A and B of a product with their tight leading dimensions.
func productOperands(rng *rand.Rand, transA, transB bool, m, n, k int) (a []float32, lda int, b []float32, ldb int) {
	lda, ldb = k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	return randSlice[float32](rng, m*k), lda, randSlice[float32](rng, k*n), ldb
}

// BenchmarkSweep times each product of both MLPs at the AVX-512 level on one locked thread
// with one kernel call per row of tiles (the sweep) against one call per tile, alternating the
// two in every iteration and reporting both rates per CPU second and their ratio: the MXCSR
// writes and call overheads the sweep saves, measured beside their baseline in one process.
func BenchmarkSweep(b *testing.B) {
	if cpufeat.Detected() < cpufeat.AVX512 {
		b.Skip("no AVX-512 on this CPU")
	}
	for _, s := range append(append([]shape(nil), mlpShapes[:7]...), bigShapes...) {
		a, lda, bm, ldb, c := operands[float32](s)
		b.Run(s.name, func(b *testing.B) {
			useLevel(b, cpufeat.AVX512)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			defer func() { sweepTiles = true }()
			e := &Engine{}
			var cpu [2]time.Duration
			for b.Loop() {
				for i, sw := range []bool{false, true} {
					sweepTiles = sw
					c0 := threadCPU()
					if err := e.Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n); err != nil {
						b.Fatal(err)
					}
					cpu[i] += threadCPU() - c0
				}
			}
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
			b.ReportMetric(flops/cpu[0].Seconds()/1e9, "tiles-GFLOP/s")
			b.ReportMetric(flops/cpu[1].Seconds()/1e9, "sweep-GFLOP/s")
			b.ReportMetric(cpu[0].Seconds()/cpu[1].Seconds(), "speedup")
		})
	}
}

// TestNarrowTilesChangeNoProduct checks that the AVX-512 14×16 tiles of the products of at most
// 16 columns give the bits of the 14×32 tiles, for every product of the conformance shapes with
// n <= 16 and of the MLP's and LeNet's narrow shapes, all four transposes, beta 0 and not, in
// every AVX-512 configuration (serial, two or three workers, tiny blocks, B in place or packed).
func TestNarrowTilesChangeNoProduct(t *testing.T) {
	if cpufeat.Detected() < cpufeat.AVX512 {
		t.Skip("no AVX-512 on this CPU: the narrow tiles are not used")
	}
	shapes := [][3]int{{128, 10, 256}, {256, 10, 128}, {150, 16, 408}, {16, 16, 204}, {1000, 10, 256}, {300, 13, 1100}}
	for _, s := range testShapes() {
		if s[1] <= 16 && s[0]*s[1]*s[2] > 0 {
			shapes = append(shapes, s)
		}
	}
	for ci, cfg := range configs() {
		if cfg.level != cpufeat.AVX512 {
			continue
		}
		t.Run(cfg.name, func(t *testing.T) {
			e := setConfig(t, cfg)
			t.Cleanup(func() { narrowTiles = true })
			rng := rand.New(rand.NewPCG(9, uint64(ci)))
			for _, s := range shapes {
				m, n, k := s[0], s[1], s[2]
				for tr := range 4 {
					transA, transB := tr&1 != 0, tr&2 != 0
					a, lda, b, ldb := productOperands(rng, transA, transB, m, n, k)
					c0 := randSlice[float32](rng, m*n)
					for _, beta := range []float32{0, 0.5} {
						var got [2][]float32
						for i, narrow := range []bool{false, true} {
							narrowTiles = narrow
							got[i] = append([]float32(nil), c0...)
							require.NoError(t, e.Sgemm(transA, transB, m, n, k, 0.75, a, lda, b, ldb, beta, got[i], n))
						}
						for i := range got[0] {
							require.Equalf(t, math.Float32bits(got[0][i]), math.Float32bits(got[1][i]),
								"m=%d n=%d k=%d transA=%v transB=%v beta=%v: C[%d] %v with 14×16 tiles, %v with 14×32",
								m, n, k, transA, transB, beta, i, got[1][i], got[0][i])
						}
					}
				}
			}
		})
	}
}

// widen converts float32 operands to float64 for the float64 kernels' checks.
func widen(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}
