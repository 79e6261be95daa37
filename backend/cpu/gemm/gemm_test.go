package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	gonum "gonum.org/v1/gonum/blas/gonum"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
	"github.com/gotrain/gotrain/backend/cpu/parallel"
)

// shape is one product: op(A) is m×k, op(B) is k×n.
type shape struct {
	name           string
	transA, transB bool
	m, n, k        int
}

// mlpShapes are the products of one training step of an MLP 784-256-256-10 at batch 128: the
// forward X·W of each layer, then dX = dY·Wᵀ and dW = Xᵀ·dY of each layer.
var mlpShapes = []shape{
	{"fwd1_128x784x256", false, false, 128, 256, 784},
	{"fwd2_128x256x256", false, false, 128, 256, 256},
	{"fwd3_128x256x10", false, false, 128, 10, 256},
	{"dX1_128x256x784T", false, true, 128, 784, 256},
	{"dW1_784Tx128x256", true, false, 784, 256, 128},
	{"dX2_128x256x256T", false, true, 128, 256, 256},
	{"dW2_256Tx128x256", true, false, 256, 256, 128},
	{"dX3_128x10x256T", false, true, 128, 256, 10},
	{"dW3_256Tx128x10", true, false, 256, 10, 128},
}

// testShapes lists the m, n, k triples the conformance suite runs, each with all four transpose
// combinations: every triple of tiny sizes (empty, single, below and around one tile), then odd
// sizes that cross the tile and cache-block edges (and, with the default blocks, mc=168 and
// kc=256), then the MLP's shapes.
func testShapes() [][3]int {
	var s [][3]int
	tiny := []int{0, 1, 3, 7, 17}
	for _, m := range tiny {
		for _, n := range tiny {
			for _, k := range tiny {
				s = append(s, [3]int{m, n, k})
			}
		}
	}
	s = append(s,
		[3]int{33, 65, 129}, [3]int{129, 33, 65}, [3]int{65, 129, 33},
		[3]int{250, 257, 129}, [3]int{257, 250, 7}, [3]int{1, 257, 250}, [3]int{257, 1, 250},
		[3]int{6, 16, 257}, [3]int{12, 32, 513}, [3]int{169, 17, 3},
	)
	// The MLP's three distinct shapes; the transposes come from the loop over combinations.
	return append(s, [3]int{128, 256, 784}, [3]int{784, 256, 128}, [3]int{128, 10, 256})
}

// scaling is one choice of alpha and beta; beta == 0 cases start C as NaN.
type scaling struct{ alpha, beta float64 }

var scalings = []scaling{{1, 0}, {1, 1}, {0.5, -1.5}, {-2, 0}, {0, 2}, {0, 0}, {1.25, math.Copysign(0, -1)}}

// tolerance returns atol = rtol for a product with inner dimension k. Inputs are uniform in
// [-1, 1], so partial sums grow like sqrt(k) and their rounding errors add up like another
// sqrt(k): the error is about eps*k/3 in the worst elements. Scaling the tolerance with sqrt(k)
// keeps it within 10× of that for every k tested while still far below the O(1) error of any
// indexing bug. float32: 1e-5*sqrt(k); float64: 1e-12*sqrt(k).
func tolerance[T scalar](k int) float64 {
	base := 1e-12
	var zero T
	if _, ok := any(zero).(float32); ok {
		base = 1e-5
	}
	return base * math.Sqrt(float64(max(k, 1)))
}

// randSlice returns n values uniform in [-1, 1).
func randSlice[T scalar](rng *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(2*rng.Float64() - 1)
	}
	return s
}

// call runs the Engine method for T.
func call[T scalar](e *Engine, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) error {
	switch any(alpha).(type) {
	case float32:
		return e.Sgemm(transA, transB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	default:
		return e.Dgemm(transA, transB, m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// reference computes alpha*op(A)*op(B) + beta*C in float64 with the naive triple loop.
func reference[T scalar](transA, transB bool, m, n, k int, alpha float64, a []T, lda int, b []T, ldb int, beta float64, c []T, ldc int) []float64 {
	want := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				var ai, bj T
				if transA {
					ai = a[p*lda+i]
				} else {
					ai = a[i*lda+p]
				}
				if transB {
					bj = b[j*ldb+p]
				} else {
					bj = b[p*ldb+j]
				}
				s += float64(ai) * float64(bj)
			}
			w := alpha * s
			if beta != 0 {
				w += beta * float64(c[i*ldc+j])
			}
			want[i*n+j] = w
		}
	}
	return want
}

// guard is the number of elements past the end of C that are checked to be left alone, and
// the value they hold; the assembly kernels are not bounds-checked.
const guard = 64

var guardValue = -12345.0

// checkProduct runs one product on fresh random inputs and compares it with the reference.
func checkProduct[T scalar](t *testing.T, rng *rand.Rand, e *Engine, transA, transB bool, m, n, k int, sc scaling) {
	t.Helper()
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	// Leading dimensions are padded on some cases so rows are not contiguous, and the slices
	// are exactly as long as the rules require.
	pad := rng.IntN(2) * 3
	lda, ldb, ldc := max(1, colsA)+pad, max(1, colsB)+pad, max(1, n)+pad
	size := func(rows, cols, ld int) int {
		if rows == 0 || cols == 0 {
			return 0
		}
		return (rows-1)*ld + cols
	}
	a := randSlice[T](rng, size(rowsA, colsA, lda))
	b := randSlice[T](rng, size(rowsB, colsB, ldb))
	cFull := randSlice[T](rng, size(m, n, ldc)+guard)
	c := cFull[:size(m, n, ldc)]
	for i := range guard {
		cFull[len(c)+i] = T(guardValue)
	}
	if sc.beta == 0 {
		for i := range c {
			c[i] = T(math.NaN())
		}
	}
	// The padding between rows of C must survive too.
	for i := range c {
		if pad > 0 && i%ldc >= n {
			c[i] = T(guardValue)
		}
	}
	a0, b0 := slices.Clone(a), slices.Clone(b)
	want := reference(transA, transB, m, n, k, sc.alpha, a, lda, b, ldb, sc.beta, c, ldc)

	err := call(e, transA, transB, m, n, k, T(sc.alpha), a, lda, b, ldb, T(sc.beta), c, ldc)
	require.NoError(t, err)

	tol := tolerance[T](k)
	for i := range m {
		for j := range n {
			got, w := float64(c[i*ldc+j]), want[i*n+j]
			if !(math.Abs(got-w) <= tol+tol*math.Abs(w)) {
				require.Failf(t, "wrong element", "C[%d,%d] = %v, want %v (tol %.3g)", i, j, got, w, tol)
			}
		}
	}
	for i, v := range c {
		if i%ldc >= n {
			require.Equalf(t, T(guardValue), v, "padding C[%d] between rows was written", i)
		}
	}
	for i, v := range cFull[len(c):] {
		require.Equalf(t, T(guardValue), v, "element %d past the end of C was written", i)
	}
	assert.Equal(t, a0, a, "A was modified")
	assert.Equal(t, b0, b, "B was modified")
}

// config is one way of running the product code: which level's kernels, which thresholds,
// which blocks.
type config struct {
	name     string
	level    cpufeat.Level
	forced   bool // force the parallel path (given a pool) and tiny cache blocks
	parallel int  // workers in the pool; 0 means a zero Engine
	bInPlace int  // bInPlaceRows for the test (0: the default)
}

// configs runs every level this CPU supports (cpufeat.Supported: the pure-Go kernels, then AVX2,
// then AVX-512) on the default paths, and each assembly level also serially and on 3 workers
// with tiny blocks.
func configs() []config {
	var cs []config
	for _, l := range cpufeat.Supported() {
		cs = append(cs, config{name: l.String() + " kernels, default paths", level: l, parallel: 2})
		if l != cpufeat.Generic {
			cs = append(cs, config{name: l.String() + " kernels, zero Engine (serial) with tiny blocks", level: l, forced: true})
		}
		if l == cpufeat.AVX512 {
			cs = append(cs,
				config{name: "avx512 kernels reading B in place at every size, 2 workers", level: l, parallel: 2, bInPlace: 1 << 30},
				config{name: "avx512 kernels packing B at every size, serial with tiny blocks", level: l, forced: true, bInPlace: -1})
		}
		cs = append(cs, config{name: l.String() + " kernels, parallel on 3 workers with tiny blocks", level: l, forced: true, parallel: 3})
	}
	return cs
}

// useLevel switches the kernels to level l until the test ends.
func useLevel(t testing.TB, l cpufeat.Level) {
	restore, err := cpufeat.Use(l)
	require.NoError(t, err)
	t.Cleanup(restore)
}

// setConfig switches the package's knobs to cfg until the test ends, and returns an Engine.
func setConfig(t *testing.T, cfg config) *Engine {
	par, tiny, bip := parallelLimit, tinyBlocks, bInPlaceRows
	t.Cleanup(func() { parallelLimit, tinyBlocks, bInPlaceRows = par, tiny, bip })
	if cfg.bInPlace != 0 {
		bInPlaceRows = cfg.bInPlace
	}
	useLevel(t, cfg.level)
	if cfg.forced {
		parallelLimit = 0
		tinyBlocks = true
	}
	if cfg.parallel == 0 {
		return &Engine{}
	}
	pool := parallel.New(cfg.parallel)
	t.Cleanup(pool.Close)
	return New(pool)
}

func runConformance[T scalar](t *testing.T) {
	for ci, cfg := range configs() {
		t.Run(cfg.name, func(t *testing.T) {
			e := setConfig(t, cfg)
			rng := rand.New(rand.NewPCG(1, uint64(ci)))
			for si, s := range testShapes() {
				m, n, k := s[0], s[1], s[2]
				for tr := range 4 {
					transA, transB := tr&1 != 0, tr&2 != 0
					// Tiny shapes try every scaling; large ones rotate through them.
					scs := scalings
					if m*n*k > 4096 {
						scs = scalings[(si+tr)%len(scalings):][:1]
					}
					for _, sc := range scs {
						name := fmt.Sprintf("m=%d n=%d k=%d transA=%v transB=%v alpha=%v beta=%v", m, n, k, transA, transB, sc.alpha, sc.beta)
						t.Run(name, func(t *testing.T) {
							checkProduct[T](t, rng, e, transA, transB, m, n, k, sc)
						})
					}
				}
			}
		})
	}
}

func TestSgemmMatchesFloat64Reference(t *testing.T) { runConformance[float32](t) }

func TestDgemmMatchesFloat64Reference(t *testing.T) { runConformance[float64](t) }

// TestKernelsAgree checks each level's assembly micro-kernels against the pure-Go kernel on the
// same tile, directly on packed panels, in the spirit of crypto/sha256's generic-versus-assembly
// test.
func TestKernelsAgree(t *testing.T) {
	levels := cpufeat.Supported()[1:]
	if len(levels) == 0 {
		t.Skip("no assembly kernel on this platform or CPU")
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for _, l := range levels {
		ks := asmKernels(l)
		require.NotNil(t, ks, "level %v", l)
		go32 := func(k int, a, b, c *float32, ldc int, alpha, beta float32) {
			kernelGo(ks.b32.mr, ks.b32.nr, k, a, b, c, ldc, alpha, beta)
		}
		go64 := func(k int, a, b, c *float64, ldc int, alpha, beta float64) {
			kernelGo(ks.b64.mr, ks.b64.nr, k, a, b, c, ldc, alpha, beta)
		}
		for _, k := range []int{1, 2, 3, 4, 5, 8, 31, 256} {
			for _, beta := range []float64{0, 1, -0.5} {
				t.Run(fmt.Sprintf("%v float32 k=%d beta=%v", l, k, beta), func(t *testing.T) {
					kernelsAgree(t, rng, ks.k32, go32, ks.b32, k, beta)
				})
				t.Run(fmt.Sprintf("%v float64 k=%d beta=%v", l, k, beta), func(t *testing.T) {
					kernelsAgree(t, rng, ks.k64, go64, ks.b64, k, beta)
				})
			}
		}
	}
}

func kernelsAgree[T scalar](t *testing.T, rng *rand.Rand, asm, pure microKernel[T], blk blocking, k int, beta float64) {
	ldc := blk.nr + 5 // wider than the tile, so the row stride matters
	a := randSlice[T](rng, blk.mr*k)
	b := randSlice[T](rng, blk.nr*k)
	c1 := randSlice[T](rng, blk.mr*ldc)
	if beta == 0 {
		for i := range c1 {
			c1[i] = T(math.NaN())
		}
	}
	c2 := slices.Clone(c1)
	asm(k, &a[0], &b[0], &c1[0], ldc, 1.5, T(beta))
	pure(k, &a[0], &b[0], &c2[0], ldc, 1.5, T(beta))
	tol := tolerance[T](k)
	for i := range c1 {
		if i%ldc >= blk.nr {
			assert.Truef(t, math.IsNaN(float64(c1[i])) && math.IsNaN(float64(c2[i])) || c1[i] == c2[i], "element %d outside the tile changed", i)
			continue
		}
		assert.InDeltaf(t, float64(c2[i]), float64(c1[i]), tol*(1+math.Abs(float64(c2[i]))), "element %d", i)
	}
}

func TestBadShapesReturnErrShape(t *testing.T) {
	f := make([]float32, 100)
	cases := []struct {
		name           string
		transA, transB bool
		m, n, k        int
		la, lda        int
		lb, ldb        int
		lc, ldc        int
	}{
		{name: "negative m", m: -1, n: 2, k: 2, la: 4, lda: 2, lb: 4, ldb: 2, lc: 4, ldc: 2},
		{name: "negative n", m: 2, n: -1, k: 2, la: 4, lda: 2, lb: 4, ldb: 2, lc: 4, ldc: 2},
		{name: "negative k", m: 2, n: 2, k: -1, la: 4, lda: 2, lb: 4, ldb: 2, lc: 4, ldc: 2},
		{name: "lda below k", m: 2, n: 2, k: 3, la: 6, lda: 2, lb: 6, ldb: 2, lc: 4, ldc: 2},
		{name: "lda below m when A is transposed", transA: true, m: 3, n: 2, k: 2, la: 6, lda: 2, lb: 4, ldb: 2, lc: 6, ldc: 2},
		{name: "ldb below k when B is transposed", transB: true, m: 2, n: 2, k: 3, la: 6, lda: 3, lb: 6, ldb: 2, lc: 4, ldc: 2},
		{name: "ldc below n", m: 2, n: 3, k: 2, la: 4, lda: 2, lb: 6, ldb: 3, lc: 6, ldc: 2},
		{name: "zero lda on an empty matrix", m: 0, n: 2, k: 0, la: 0, lda: 0, lb: 0, ldb: 2, lc: 0, ldc: 2},
		{name: "short A", m: 2, n: 2, k: 2, la: 3, lda: 2, lb: 4, ldb: 2, lc: 4, ldc: 2},
		{name: "short B", m: 2, n: 2, k: 2, la: 4, lda: 2, lb: 3, ldb: 2, lc: 4, ldc: 2},
		{name: "short C", m: 2, n: 2, k: 2, la: 4, lda: 2, lb: 4, ldb: 2, lc: 3, ldc: 2},
		{name: "short C with padded rows", m: 2, n: 2, k: 2, la: 4, lda: 2, lb: 4, ldb: 2, lc: 4, ldc: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, f[:tc.la], tc.lda, f[:tc.lb], tc.ldb, 0, f[:tc.lc], tc.ldc)
			assert.ErrorIs(t, err, ErrShape)
			d := make([]float64, 100)
			err = Dgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, d[:tc.la], tc.lda, d[:tc.lb], tc.ldb, 0, d[:tc.lc], tc.ldc)
			assert.ErrorIs(t, err, ErrShape)
		})
	}
	t.Run("empty products accept nil slices", func(t *testing.T) {
		assert.NoError(t, Sgemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1))
		assert.NoError(t, Sgemm(false, false, 0, 5, 3, 1, nil, 3, make([]float32, 15), 5, 0, nil, 5))
		assert.NoError(t, Dgemm(true, true, 4, 0, 0, 1, nil, 4, nil, 1, 0, nil, 1))
	})
}

// TestSteadyStateDoesNotAllocate runs the MLP products on the package functions and on an
// Engine over a pool: once the buffers have grown, no call allocates.
func TestSteadyStateDoesNotAllocate(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	engines := map[string]*Engine{"default engine": nil, "engine on a 2-worker pool": New(pool)}
	for name, e := range engines {
		for _, s := range mlpShapes {
			t.Run(name+" "+s.name, func(t *testing.T) {
				a, lda, b, ldb, c := operands[float32](s)
				run := func() {
					var err error
					if e == nil {
						err = Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n)
					} else {
						err = e.Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				run()
				assert.Zero(t, testing.AllocsPerRun(20, run))
			})
		}
	}
}

// TestConcurrentPackageCalls lets several goroutines share the default Engine; run with -race.
func TestConcurrentPackageCalls(t *testing.T) {
	s := mlpShapes[1]
	a, lda, b, ldb, _ := operands[float32](s)
	want := make([]float32, s.m*s.n)
	require.NoError(t, Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, want, s.n))
	var wg sync.WaitGroup
	results := make([][]float32, 4)
	for g := range results {
		results[g] = make([]float32, s.m*s.n)
		wg.Go(func() {
			for range 5 {
				if err := Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, results[g], s.n); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for _, got := range results {
		assert.Equal(t, want, got)
	}
}

// operands returns random A and B for s, with their leading dimensions, and a C.
func operands[T scalar](s shape) (a []T, lda int, b []T, ldb int, c []T) {
	rng := rand.New(rand.NewPCG(3, uint64(s.m*s.n*s.k)))
	lda, ldb = s.k, s.n
	if s.transA {
		lda = s.m
	}
	if s.transB {
		ldb = s.k
	}
	return randSlice[T](rng, s.m*s.k), lda, randSlice[T](rng, s.k*s.n), ldb, make([]T, s.m*s.n)
}

var benchShapes = append(append([]shape(nil), mlpShapes[:5]...), shape{"square_512", false, false, 512, 512, 512})

// bigShapes are the products of one training step of the MLP 784-1024-1024-10 at batch 1024
// (forward, input gradient and weight gradient of each layer, the 10-class one last).
var bigShapes = []shape{
	{"fwd1_1024x784x1024", false, false, 1024, 1024, 784},
	{"fwd2_1024x1024x1024", false, false, 1024, 1024, 1024},
	{"dX2_1024x1024x1024T", false, true, 1024, 1024, 1024},
	{"dW1_784Tx1024x1024", true, false, 784, 1024, 1024},
	{"dW2_1024Tx1024x1024", true, false, 1024, 1024, 1024},
	{"fwd3_1024x1024x10", false, false, 1024, 10, 1024},
	{"dX3_1024x10x1024T", false, true, 1024, 1024, 10},
	{"dW3_1024Tx1024x10", true, false, 1024, 10, 1024},
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func reportGFLOPs(b *testing.B, s shape) float64 {
	g := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N) / b.Elapsed().Seconds() / 1e9
	b.ReportMetric(g, "GFLOP/s")
	return g
}

// peaks caches PeakGFLOPS per level and worker count for the benchmarks of one process.
var peaks = map[[2]int]float64{}

// reportPeak reports gflops as a percentage of the measured peak of level l on workers
// goroutines, the limit the product could reach on this machine ("peak%").
func reportPeak(b *testing.B, l cpufeat.Level, workers int, gflops float64) {
	key := [2]int{int(l), workers}
	p, ok := peaks[key]
	if !ok {
		var err error
		p, err = PeakGFLOPS(l, workers, 300*time.Millisecond)
		require.NoError(b, err)
		peaks[key] = p
	}
	b.ReportMetric(100*gflops/p, "peak%")
	b.ReportMetric(p, "peakGFLOP/s")
}

// BenchmarkSgemm compares this package, at the level cpufeat selects (GOTRAIN_CPU forces a
// lower one) on every core, with gonum's pure-Go Sgemm (which also uses every core) on the
// MLP's products and a larger square one. GFLOP/s is beside the fraction of the level's peak.
func BenchmarkSgemm(b *testing.B) {
	workers := runtime.GOMAXPROCS(0)
	for _, s := range benchShapes {
		a, lda, bm, ldb, c := operands[float32](s)
		b.Run(s.name+"/ours", func(b *testing.B) {
			for b.Loop() {
				if err := Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n); err != nil {
					b.Fatal(err)
				}
			}
			reportPeak(b, cpufeat.Current(), workers, reportGFLOPs(b, s))
		})
		b.Run(s.name+"/gonum", func(b *testing.B) {
			for b.Loop() {
				gonum.Implementation{}.Sgemm(trans(s.transA), trans(s.transB), s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
			}
			reportGFLOPs(b, s)
		})
	}
}

// peakSampleRounds bounds the peak loop that BenchmarkSgemmLevels and BenchmarkPeakAfterProduct
// run after a product: 36000 rounds of 28 FMAs, about 0.16 ms at two FMAs a cycle. The loop must
// run at the clock the product ran at, and the clock does not stay there: on the 2-core Xeon
// (family 6 model 167) the loop ran at 161-174 GFLOP/s for the first 2 ms after a 1024³ product
// and 194-201 from 7 ms on, 203-205 alone (BenchmarkPeakAfterProduct). Run for as many flops as
// the product (11 ms), it measured the 1024-wide products against a peak 10-15% faster than the
// one they had; the 128-row products (at most 0.4 ms) were measured in the product's clock before.
const peakSampleRounds = 36000

// BenchmarkPeakAfterProduct shows why the peak loop after a product is kept short: after each
// 1024³ product (one worker, the thread locked) it runs the peak loop in windows of
// peakSampleRounds rounds for about 12 ms and reports the rate of a few windows (w0 right after
// the product, w70 about 11 ms on), beside the product's own rate and, in alone, the loop's rate
// with no product run in that benchmark.
func BenchmarkPeakAfterProduct(b *testing.B) {
	l := cpufeat.Current()
	loop, flopsPerIter := peakLoop(l)
	window := float64(peakSampleRounds) * flopsPerIter
	reported := []int{0, 1, 5, 10, 20, 40, 70}
	b.Run(fmt.Sprintf("%v/alone", l), func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var t time.Duration
		for b.Loop() {
			c0 := threadCPU()
			loop(peakSampleRounds)
			t += threadCPU() - c0
		}
		b.ReportMetric(window*float64(b.N)/t.Seconds()/1e9, "GFLOP/s")
	})
	s := shape{"1024x1024x1024", false, false, 1024, 1024, 1024}
	a, lda, bm, ldb, c := operands[float32](s)
	b.Run(fmt.Sprintf("%v/after_%s", l, s.name), func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		e := New(nil)
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		var inProduct time.Duration
		inWindow := make([]time.Duration, reported[len(reported)-1]+1)
		for b.Loop() {
			c0 := threadCPU()
			if err := e.Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n); err != nil {
				b.Fatal(err)
			}
			c1 := threadCPU()
			inProduct += c1 - c0
			for i := range inWindow {
				loop(peakSampleRounds)
				c2 := threadCPU()
				inWindow[i] += c2 - c1
				c1 = c2
			}
		}
		b.ReportMetric(flops*float64(b.N)/inProduct.Seconds()/1e9, "product-GFLOP/s")
		for _, i := range reported {
			b.ReportMetric(window*float64(b.N)/inWindow[i].Seconds()/1e9, fmt.Sprintf("w%d-GFLOP/s", i))
		}
	})
}

// BenchmarkSgemmLevels runs the products of the two MLPs' training steps (all nine of the small
// one's, the 10-class layer's three included, and the large one's 1024-wide five) at every level
// this CPU supports, on 1 and 2 workers, each beside the peak FMA rate of that level and worker count
// measured in this process: the figures behind the README's GEMM table. On one worker it also
// reports the rate per second of the thread's CPU time against the peak loop run the same way
// ("cpu-peak%"), which the other load of a shared machine does not distort: after every product
// the loop runs on the same locked thread for as many flops, at most peakSampleRounds rounds, and
// the fraction is the ratio of the two rates per CPU second. A peak measured once per process (as
// peak% is) catches the machine at one moment; on the shared 2-core Xeon the load moved the
// one-worker rates by 30% within seconds, and the interleaved fraction varied less than a
// quarter as much.
func BenchmarkSgemmLevels(b *testing.B) {
	for _, l := range cpufeat.Supported() {
		for _, workers := range []int{1, 2} {
			pool := parallel.New(workers)
			e := New(pool)
			for _, s := range append(append([]shape(nil), mlpShapes...), bigShapes...) {
				a, lda, bm, ldb, c := operands[float32](s)
				b.Run(fmt.Sprintf("%v/%s/w%d", l, s.name, workers), func(b *testing.B) {
					useLevel(b, l)
					if workers == 1 {
						runtime.LockOSThread()
						defer runtime.UnlockOSThread()
					}
					loop, flopsPerIter := peakLoop(l)
					flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
					iters := min(peakSampleRounds, max(1, int(flops/flopsPerIter)))
					var inProduct, inPeak time.Duration
					for b.Loop() {
						c0 := threadCPU()
						if err := e.Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n); err != nil {
							b.Fatal(err)
						}
						if workers == 1 {
							c1 := threadCPU()
							loop(iters)
							inProduct += c1 - c0
							inPeak += threadCPU() - c1
						}
					}
					b.StopTimer()
					// One worker: the product's rate per second of its own CPU time (ns/op
					// includes the peak loops; cpu-ns/op is the product alone); two: of wall time.
					if workers == 1 && inProduct > 0 {
						g := flops * float64(b.N) / inProduct.Seconds() / 1e9
						b.ReportMetric(g, "GFLOP/s")
						b.ReportMetric(float64(inProduct.Nanoseconds())/float64(b.N), "cpu-ns/op")
						b.ReportMetric(100*(flops/(float64(iters)*flopsPerIter))*inPeak.Seconds()/inProduct.Seconds(), "cpu-peak%")
						return
					}
					reportPeak(b, l, workers, reportGFLOPs(b, s))
				})
			}
			pool.Close()
		}
	}
}

// BenchmarkDgemm is BenchmarkSgemm in float64, on the first layer and the square product.
func BenchmarkDgemm(b *testing.B) {
	for _, s := range []shape{benchShapes[0], benchShapes[len(benchShapes)-1]} {
		a, lda, bm, ldb, c := operands[float64](s)
		b.Run(s.name+"/ours", func(b *testing.B) {
			for b.Loop() {
				if err := Dgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n); err != nil {
					b.Fatal(err)
				}
			}
			reportGFLOPs(b, s)
		})
		b.Run(s.name+"/gonum", func(b *testing.B) {
			for b.Loop() {
				gonum.Implementation{}.Dgemm(trans(s.transA), trans(s.transB), s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
			}
			reportGFLOPs(b, s)
		})
	}
}

// TestSubnormalInputs: the AVX-512 and AVX2 kernels flush subnormal operands and results to zero
// (for speed; see gemm512_amd64.s and gemm_amd64.s), the pure-Go ones do not; every level stays
// within a subnormal's reach of the float64 reference, the two assembly levels give the same bits
// (they differed where subnormals were involved before the AVX2 kernels flushed too), and the
// flushing does not leak into Go code after a product.
func TestSubnormalInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const m, n, k = 33, 70, 45
	a := randSlice[float32](rng, m*k)
	for i := range a {
		if i%2 == 0 || i < 3*k { // rows 0-2 all subnormal: their C is a sum of subnormal products
			a[i] = math.Float32frombits(rng.Uint32N(1 << 23)) // subnormal
		}
	}
	b := randSlice[float32](rng, k*n)
	want := reference(false, false, m, n, k, 1, a, k, b, n, 0, nil, n)
	byLevel := map[cpufeat.Level][]float32{}
	for _, l := range cpufeat.Supported() {
		t.Run(l.String(), func(t *testing.T) {
			useLevel(t, l)
			c := make([]float32, m*n)
			require.NoError(t, (&Engine{}).Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n))
			byLevel[l] = c
			for i, w := range want {
				tol := 1e-5*math.Sqrt(k)*(1+math.Abs(w)) + 1e-36
				require.InDeltaf(t, w, float64(c[i]), tol, "C[%d]", i)
			}
			tiny := float32(1e-39)
			assert.NotZero(t, tiny*float32(rng.Float64()+1), "Go float32 arithmetic flushes subnormals after a product")
		})
	}
	if x, y := byLevel[cpufeat.AVX2], byLevel[cpufeat.AVX512]; x != nil && y != nil {
		for i := range x {
			require.Equalf(t, math.Float32bits(y[i]), math.Float32bits(x[i]), "C[%d]: AVX2 %v, AVX-512 %v", i, x[i], y[i])
		}
	}
}
