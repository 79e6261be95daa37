package gemm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// TestColumnTilesChangeNoProduct: every product of 1 to 15 columns with B not transposed gives
// the same bits on the column tiles as on the 14×16 tiles (colTiles off), in every AVX-512
// configuration (serial, tiny blocks whose kc slices cross k, 2 and 3 workers), for A stored
// either way, leading dimensions past the rows, every row count from 1 to 33 (each row of a
// 32-row tile is the last one stored in some product) and larger ones, alpha and beta values that round, beta ±0 over a C holding
// NaNs (which it must not read) and 1, and operands whose products and C values are subnormal
// (the kernels run under FTZ/DAZ; the 14×16 tiles' merge with beta does not).
//
// At AVX2 also with maxPanelK under most depths, so that beta ±0 takes the panels of one slice
// too.
func TestColumnTilesChangeNoProduct(t *testing.T) {
	panelK := maxPanelK
	t.Cleanup(func() { rowTiles, transposingTiles, maxPanelK = true, true, panelK })
	rowTiles, transposingTiles = false, false // A not transposed would take them
	requireSameProducts(t, "column tiles", func(on bool) { colTiles = on }, func() { colTiles = true })
	maxPanelK = 8
	requireSameProducts(t, "column tiles, AVX2 panels of a slice", func(on bool) { colTiles = on }, func() { colTiles = true })
}

// TestRowTilesChangeNoProduct: the masked row tiles give the bits of the 14×16 tiles, and of the
// column tiles where those took the product (the transposing tiles off, which would take every
// product of 16 rows or more).
func TestRowTilesChangeNoProduct(t *testing.T) {
	t.Cleanup(func() { transposingTiles = true })
	transposingTiles = false
	requireSameProducts(t, "row tiles", func(on bool) { rowTiles = on }, func() { rowTiles = true })
	requireSameProducts(t, "row tiles against column tiles", func(on bool) { rowTiles, colTiles = on, !on }, func() { rowTiles, colTiles = true, true })
}

// TestTransposingTilesChangeNoProduct: the transposing tiles give the bits of the 14×16 tiles,
// of the masked row tiles and of the column tiles, each where it would take the product, with
// transposingDepth as it is and with every depth taken (so that every width meets every tail of
// k).
func TestTransposingTilesChangeNoProduct(t *testing.T) {
	depth := transposingDepth
	t.Cleanup(func() { rowTiles, colTiles, transposingDepth = true, true, depth })
	set := func(on bool) { transposingTiles = on }
	reset := func() { transposingTiles = true }
	for _, every := range []bool{false, true} {
		transposingDepth = depth
		if every {
			transposingDepth = [16]int{}
		}
		rowTiles, colTiles = true, true
		requireSameProducts(t, "transposing tiles against row tiles", set, reset)
		rowTiles = false
		requireSameProducts(t, "transposing tiles against column tiles", set, reset)
		colTiles = false
		requireSameProducts(t, "transposing tiles against 14×16 tiles", set, reset)
	}
}

// requireSameProducts runs products of 1 to 15 columns, A transposed or not, with set(false)
// and set(true), and requires the same bits of C (and C past its rows untouched).
func requireSameProducts(t *testing.T, what string, set func(on bool), reset func()) {
	var ms []int
	for m := 1; m <= 33; m++ {
		ms = append(ms, m)
	}
	ms = append(ms, 48, 64, 100, 128)
	ks := []int{1, 3, 7, 16, 256, 300}
	var ps []product
	for n := 1; n < 16; n++ {
		for mi, m := range ms {
			k := ks[(mi+n)%len(ks)]
			for _, transA := range []bool{false, true} {
				ps = append(ps, product{transA, false, m, n, k})
			}
		}
	}
	requireSameBits(t, what, set, reset, ps)
}

// product is one product's transposes and dimensions.
type product struct {
	transA, transB bool
	m, n, k        int
}

// requireSameBits runs the products with set(false) and set(true), in every AVX-512
// configuration, with leading dimensions past the rows, alpha and beta values that round, beta
// ±0 over a C holding NaNs (which it must not read) and 1, and operands whose products and C
// values are subnormal, and requires the same bits of C (and C past its rows untouched).
func requireSameBits(t *testing.T, what string, set func(on bool), reset func(), ps []product) {
	if cpufeat.Detected() < cpufeat.AVX2 {
		t.Skip("no AVX2 on this CPU: the tiles are not used")
	}
	t.Cleanup(reset)
	for ci, cfg := range configs() {
		if cfg.level != cpufeat.AVX512 && cfg.level != cpufeat.AVX2 { // AVX2 has the column tiles only
			continue
		}
		t.Run(cfg.name, func(t *testing.T) {
			e := setConfig(t, cfg)
			rng := rand.New(rand.NewPCG(31, uint64(ci)))
			for _, p := range ps {
				transA, transB, m, n, k := p.transA, p.transB, p.m, p.n, p.k
				lda, ldb, ldc := k+3, n+2, n+1
				if transA {
					lda = m + 5
				}
				if transB {
					ldb = k + 2
				}
				rowsA, rowsB := m, k
				if transA {
					rowsA = k
				}
				if transB {
					rowsB = n
				}
				a, b := randSlice[float32](rng, rowsA*lda), randSlice[float32](rng, rowsB*ldb)
				for i := 0; i < len(a); i += 7 {
					a[i] *= 1e-20 // products of 1e-40: subnormal
				}
				for i := 0; i < len(b); i += 5 {
					b[i] *= 1e-19
				}
				c0 := randSlice[float32](rng, m*ldc)
				for i := 0; i < len(c0); i += 3 {
					c0[i] *= 1e-39
				}
				for _, sc := range [][2]float32{{1, 0}, {0.75, 0.3}, {-2, 1}, {0.1, -1.7}, {1.5, float32(math.Copysign(0, -1))}} {
					alpha, beta := sc[0], sc[1]
					start := append([]float32(nil), c0...)
					if beta == 0 {
						for i := range start {
							start[i] = float32(math.NaN())
						}
					}
					var got [2][]float32
					for i, on := range []bool{false, true} {
						set(on)
						got[i] = append([]float32(nil), start...)
						require.NoError(t, e.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, got[i], ldc))
					}
					for i := range got[0] {
						if i%ldc >= n { // past a row of C: untouched
							require.Equal(t, math.Float32bits(start[i]), math.Float32bits(got[1][i]), "C[%d] past its row", i)
							continue
						}
						if math.Float32bits(got[0][i]) != math.Float32bits(got[1][i]) {
							require.Failf(t, "bits differ", "%s: m=%d n=%d k=%d transA=%v transB=%v alpha=%v beta=%v: C[%d] (row %d, column %d) %v (%#08x) on, %v (%#08x) off",
								what, m, n, k, transA, transB, alpha, beta, i, i/ldc, i%ldc, got[1][i], math.Float32bits(got[1][i]), got[0][i], math.Float32bits(got[0][i]))
						}
					}
				}
			}
		})
	}
}

// takenCase is one row of a table of products and whether a tile family's use function takes
// them.
type takenCase struct {
	transA, transB bool
	m, n, k        int
	alpha          float32
	want           bool
	why            string
}

// TestRowTilesTaken: useRowTiles accepts the float32 products of 9 to 15 columns, at least 14
// rows, A and B not transposed (at AVX-512), nothing else. Sgemm asks useTransposingTiles first,
// which takes those of 16 rows or more and deep enough (TestTransposingTilesTaken).
func TestRowTilesTaken(t *testing.T) {
	if cpufeat.Detected() < cpufeat.AVX512 {
		t.Skip("no AVX-512 on this CPU: the row tiles are not used")
	}
	useLevel(t, cpufeat.AVX512)
	ks := kernels()
	old := aliasedRowsInPlace
	defer func() { aliasedRowsInPlace = old }()
	aliasedRowsInPlace = true // the table: an L1 of 12 ways (lda = k)
	for _, c := range []takenCase{
		{false, false, 128, 10, 256, 1, true, "the 10-class layer's forward pass"},
		{false, false, 1024, 10, 1024, 1, true, "the same at batch 1024"},
		{false, false, 14, 9, 1, 1, true, "one tile, 9 columns"},
		{false, false, 100, 15, 7, 0.5, true, "15 columns"},
		{false, false, 128, 8, 256, 1, false, "8 columns: the column tiles are faster"},
		{false, false, 128, 16, 256, 1, false, "16 columns: the 14×16 tiles keep every lane"},
		{false, false, 13, 10, 256, 1, false, "fewer rows than a tile"},
		{true, false, 256, 10, 128, 1, false, "A transposed: the column tiles read it in place"},
		{false, true, 128, 10, 256, 1, false, "B transposed"},
		{false, false, 128, 10, 256, 0, false, "alpha 0: C is only scaled"},
	} {
		require.Equal(t, c.want, useRowTiles(ks, c.transA, c.transB, c.m, c.n, c.k, c.alpha, c.k), c.why)
	}
	// A's rows 1024 floats apart collide in an L1 of fewer than 12 ways: there the column tiles,
	// which pack A, take the product.
	aliasedRowsInPlace = false
	require.False(t, useRowTiles(ks, false, false, 1024, 10, 1024, 1, 1024), "rows that collide, small L1")
	require.True(t, useRowTiles(ks, false, false, 128, 10, 256, 1, 256), "rows that do not collide, small L1")
	aliasedRowsInPlace = true
	require.True(t, useRowTiles(ks, false, false, 1024, 10, 1024, 1, 1024), "rows that collide, 12 ways")
	useLevel(t, cpufeat.AVX2)
	require.False(t, useRowTiles(kernels(), false, false, 128, 10, 256, 1, 256), "AVX2 has no row tiles")
}

// TestTransposingTilesTaken: the products that take the transposing tiles are the float32 ones
// of 1 to 15 columns and at least 16 rows, A and B not transposed (at AVX-512), from 9 columns
// on only as deep as transposingDepth asks or with A's rows colliding in L1, nothing else.
func TestTransposingTilesTaken(t *testing.T) {
	if cpufeat.Detected() < cpufeat.AVX512 {
		t.Skip("no AVX-512 on this CPU: the transposing tiles are not used")
	}
	useLevel(t, cpufeat.AVX512)
	ks := kernels()
	old := aliasedRowsInPlace
	defer func() { aliasedRowsInPlace = old }()
	for _, c := range []struct {
		transA, transB bool
		m, n, k, lda   int
		alpha          float32
		inPlace        bool // aliasedRowsInPlace: an L1 of 12 ways or more
		want           bool
		why            string
	}{
		{false, false, 128, 10, 256, 256, 1, true, true, "the 10-class layer's forward pass"},
		{false, false, 1024, 10, 1024, 1024, 1, false, true, "the same at batch 1024, rows that collide"},
		{false, false, 1024, 15, 16, 1024, 1, false, true, "rows that collide, shallow and 15 columns"},
		{false, false, 16, 1, 1, 1, 1, true, true, "one tile, one column, one step of k"},
		{false, false, 100, 8, 3, 3, 0.5, true, true, "8 columns, shallow: A is not packed"},
		{false, false, 128, 10, 47, 47, 1, true, false, "10 columns, shallower than 48: the row tiles"},
		{false, false, 128, 10, 48, 48, 1, true, true, "10 columns, 48 deep"},
		{false, false, 128, 14, 127, 127, 1, true, false, "14 columns, shallower than 128"},
		{false, false, 128, 14, 128, 128, 1, true, true, "14 columns, 128 deep"},
		{false, false, 128, 15, 1024, 1024, 1, true, false, "15 columns, rows apart: the row tiles at every depth"},
		{false, false, 15, 10, 256, 256, 1, true, false, "fewer rows than a tile"},
		{false, false, 128, 16, 256, 256, 1, true, false, "16 columns: the 14×16 tiles keep every lane"},
		{true, false, 256, 10, 128, 256, 1, true, false, "A transposed: the column tiles read it in place"},
		{false, true, 128, 10, 256, 256, 1, true, false, "B transposed"},
		{false, false, 128, 10, 256, 256, 0, true, false, "alpha 0: C is only scaled"},
		{false, false, 128, 10, 0, 1, 1, true, false, "k 0: C is only scaled"},
	} {
		aliasedRowsInPlace = c.inPlace
		require.Equal(t, c.want, useTransposingTiles(ks, c.transA, c.transB, c.m, c.n, c.k, c.alpha, c.lda), c.why)
	}
	useLevel(t, cpufeat.AVX2)
	require.False(t, useTransposingTiles(kernels(), false, false, 128, 10, 256, 1, 256), "AVX2 has no transposing tiles")
}

// TestColumnTilesTaken: useColTiles accepts the float32 products of 1 to 15 columns with B not
// transposed (at AVX-512), with A transposed or at most 11 columns, nothing else (Sgemm asks
// useTransposingTiles and useRowTiles first, which take A not transposed from 16 rows on (9
// columns or more only deep enough), and from 9 columns and 14 rows on:
// TestTransposingTilesTaken, TestRowTilesTaken); and a fresh
// Engine takes one whose A is transposed.
func TestColumnTilesTaken(t *testing.T) {
	if cpufeat.Detected() < cpufeat.AVX512 {
		t.Skip("no AVX-512 on this CPU: the AVX-512 column tiles are not used")
	}
	useLevel(t, cpufeat.AVX512)
	ks := kernels()
	for _, c := range []takenCase{
		{true, false, 256, 10, 128, 1, true, "the 10-class layer's weight gradient"},
		{true, false, 128, 15, 256, 1, true, "15 columns, A transposed"},
		{false, false, 128, 8, 256, 1, true, "8 columns, A packed"},
		{false, false, 128, 10, 256, 1, true, "the 10-class layer's forward pass, A packed"},
		{false, false, 128, 11, 256, 1, true, "11 columns, A packed"},
		{false, false, 128, 12, 256, 1, false, "12 columns: A would be packed, the 14×16 tiles as fast"},
		{true, false, 128, 16, 256, 1, false, "16 columns: the 14×16 tiles keep every lane"},
		{true, true, 128, 10, 256, 1, false, "B transposed"},
		{true, false, 128, 10, 256, 0, false, "alpha 0 only scales C"},
		{true, false, 128, 10, 0, 1, false, "k 0 only scales C"},
	} {
		require.Equal(t, c.want, useColTiles(ks, c.transA, c.transB, c.m, c.n, c.k, c.alpha, c.n), c.why)
	}
	var e Engine // a fresh Engine whose first product has A transposed (no packing buffer yet)
	a, b, c := make([]float32, 256*128), make([]float32, 256*10), make([]float32, 128*10)
	require.NoError(t, e.Sgemm(true, false, 128, 10, 256, 1, a, 128, b, 10, 0, c, 10))
}

// TestColumnTilesTakenAVX2: at AVX2 useColTiles accepts the float32 products of 1 to 15 columns
// with B not transposed, A either way (its 16-row tiles pack A always), nothing else; and a
// fresh Engine runs both kinds.
func TestColumnTilesTakenAVX2(t *testing.T) {
	if cpufeat.Detected() < cpufeat.AVX2 {
		t.Skip("no AVX2 on this CPU: the column tiles are not used")
	}
	useLevel(t, cpufeat.AVX2)
	ks := kernels()
	for _, c := range []takenCase{
		{true, false, 256, 10, 128, 1, true, "the 10-class layer's weight gradient"},
		{false, false, 128, 10, 256, 1, true, "the 10-class layer's forward pass"},
		{false, false, 128, 15, 256, 1, true, "15 columns, A packed"},
		{true, false, 1, 1, 1, 1, true, "one element"},
		{false, false, 128, 16, 256, 1, false, "16 columns: the 6×16 tiles keep every lane"},
		{false, true, 128, 10, 256, 1, false, "B transposed"},
		{false, false, 128, 10, 256, 0, false, "alpha 0 only scales C"},
	} {
		require.Equal(t, c.want, useColTiles(ks, c.transA, c.transB, c.m, c.n, c.k, c.alpha, c.n), c.why)
	}
	var e Engine
	a, b, c := make([]float32, 256*128), make([]float32, 256*10), make([]float32, 128*10)
	require.NoError(t, e.Sgemm(false, false, 128, 10, 256, 1, a, 256, b, 10, 0, c, 10))
	require.NoError(t, e.Sgemm(true, false, 128, 10, 256, 1, a, 128, b, 10, 0, c, 10))
}

// TestAliasedRowsInPlaceChangeNoProduct: a non-transposed A whose rows alias in L1 (leading
// dimensions at and near multiples of 4 KiB) gives the same products read in place as packed
// (see requirePackingChangesNoProduct).
func TestAliasedRowsInPlaceChangeNoProduct(t *testing.T) {
	requirePackingChangesNoProduct(t, 41, false, [][4]int{{128, 256, 1024, 1024}, {100, 70, 600, 1024}, {30, 33, 300, 2048 + 16}, {257, 40, 513, 1024 - 8}},
		func(m, k, lda int) { require.True(t, rowsCollide(lda, 4), "lda %d collides", lda) },
		func(inPlace bool) (restore func()) {
			old := aliasedRowsInPlace
			aliasedRowsInPlace = inPlace
			return func() { aliasedRowsInPlace = old }
		})
}

// TestLargeTransposedAPackedChangesNoProduct: a transposed A larger than transAInPlaceLimit gives
// the same products packed as read in place (see requirePackingChangesNoProduct).
func TestLargeTransposedAPackedChangesNoProduct(t *testing.T) {
	limit := transAInPlaceLimit
	requirePackingChangesNoProduct(t, 43, true, [][4]int{{300, 64, 1000, 300}, {131, 40, 2100, 140}},
		func(m, k, lda int) { require.Greater(t, m*k, limit, "the default packs A") },
		func(inPlace bool) (restore func()) {
			if inPlace {
				transAInPlaceLimit = 1 << 40
			}
			return func() { transAInPlaceLimit = limit }
		})
}

// requirePackingChangesNoProduct runs the products of shapes (m, n, k, lda; A transposed or not)
// in every AVX-512 configuration (serially, with tiny blocks, on 3 workers) with A packed and read
// in place (set chooses), after check has accepted each shape, and wants the same bits for beta 0
// and 1, the only ones training uses (a layer's product, a gradient accumulated). Other betas
// agree within float32 rounding only: packed, a last panel of fewer than 14 rows goes through
// the scratch tile, whose Go merge rounds beta·C before adding it, where the 8-row tiles of the
// in-place path update C inside the kernel with one FMA.
func requirePackingChangesNoProduct(t *testing.T, seed uint64, transA bool, shapes [][4]int, check func(m, k, lda int), set func(inPlace bool) (restore func())) {
	if cpufeat.Detected() < cpufeat.AVX512 {
		t.Skip("no AVX-512 on this CPU: A is never read in place")
	}
	for ci, cfg := range configs() {
		if cfg.level != cpufeat.AVX512 {
			continue
		}
		t.Run(cfg.name, func(t *testing.T) {
			e := setConfig(t, cfg)
			rng := rand.New(rand.NewPCG(seed, uint64(ci)))
			for _, s := range shapes {
				m, n, k, lda := s[0], s[1], s[2], s[3]
				check(m, k, lda)
				rowsA := m
				if transA {
					rowsA = k
				}
				a, b := randSlice[float32](rng, rowsA*lda), randSlice[float32](rng, k*n)
				c0 := randSlice[float32](rng, m*n)
				for _, beta := range []float32{0, 1, 0.3} {
					var got [2][]float32
					for i, inPlace := range []bool{false, true} {
						restore := set(inPlace)
						got[i] = append([]float32(nil), c0...)
						err := e.Sgemm(transA, false, m, n, k, 0.7, a, lda, b, n, beta, got[i], n)
						restore()
						require.NoError(t, err)
					}
					for i := range got[0] {
						if beta != 0 && beta != 1 {
							require.InDelta(t, got[0][i], got[1][i], 1e-5*float64(k), "m=%d n=%d k=%d lda=%d beta=%v: C[%d]", m, n, k, lda, beta, i)
							continue
						}
						if math.Float32bits(got[0][i]) != math.Float32bits(got[1][i]) {
							require.Failf(t, "bits differ", "m=%d n=%d k=%d lda=%d beta=%v: C[%d] %v in place, %v packed", m, n, k, lda, beta, i, got[1][i], got[0][i])
						}
					}
				}
			}
		})
	}
}

// TestAliasedRowsInPlaceFollowsTheL1: aliased rows of A are read in place on an L1 of 12 ways or
// more, or of unknown associativity, and packed on fewer; the default is this CPU's.
func TestAliasedRowsInPlaceFollowsTheL1(t *testing.T) {
	for ways, want := range map[int]bool{0: true, 4: false, 8: false, 11: false, 12: true, 16: true, 1 << 10: true} {
		require.Equal(t, want, aliasedRowsInPlaceFor(ways), "%d ways", ways)
	}
	require.Equal(t, aliasedRowsInPlaceFor(cpufeat.L1DataWays()), aliasedRowsInPlace)
	// Only rows a page or more apart collide: rows of 10 or 25 floats share lines.
	for lda, want := range map[int]bool{10: false, 25: false, 64: false, 256: false, 784: false, 960: false, 962: true, 1016: true, 1024: true, 1088: false, 2064: true, 4096: true} {
		require.Equal(t, want, rowsCollide(lda, 4), "lda %d", lda)
	}
	t.Logf("L1 data cache: %d ways; aliased rows of A in place: %v", cpufeat.L1DataWays(), aliasedRowsInPlace)
}

// TestSliceSumsKeepSubnormals: the sums of a product's kc slices are added without FTZ/DAZ,
// as the 14×16 tiles' driver adds each slice into C, also where a kernel keeps them in registers
// or on its stack (the transposing and column tiles). Each row of op(A) has one element in each
// of three slices: 1.5e-38 and -1.3e-38, whose sum is the subnormal 2e-39 (FTZ would flush
// it), then 2e-38 in even rows (DAZ would read the running sum as 0: 2e-38 instead of 2.2e-38)
// and 0 in odd ones (2e-39 is the result). Random products rarely make a sum of slices subnormal, so
// requireSameProducts alone did not see the slice sums added under FTZ.
func TestSliceSumsKeepSubnormals(t *testing.T) {
	first, second, third := float32(1.5e-38), float32(-1.3e-38), float32(2e-38)
	sum := second + first
	for _, v := range []float32{first, second, third} {
		require.GreaterOrEqual(t, math.Abs(float64(v)), 0x1p-126, "each product must be normal")
	}
	require.Less(t, math.Abs(float64(sum)), 0x1p-126, "the sum of the first two slices must be subnormal")
	want := [2]float32{third + sum, 0 + sum}
	for _, cfg := range configs() {
		t.Run(cfg.name, func(t *testing.T) {
			e := setConfig(t, cfg)
			ks := kernels()
			kc := blocksFor(ks.b32).kc
			if ks.narrow != nil {
				kc = blocksFor(ks.narrow.b32).kc
			}
			for _, transA := range []bool{false, true} {
				for _, n := range []int{4, 10} {
					m, k := 48, 3*kc
					lda := k + 3
					if transA {
						lda = m + 5
					}
					a := make([]float32, max(m, k)*lda)
					at := func(i, p int) *float32 { // op(A)[i, p]
						if transA {
							return &a[p*lda+i]
						}
						return &a[i*lda+p]
					}
					for i := range m {
						*at(i, 0), *at(i, kc) = first, second
						if i%2 == 0 {
							*at(i, 2*kc) = third
						}
					}
					b := make([]float32, k*n)
					for i := range b {
						b[i] = 1
					}
					c := make([]float32, m*n)
					require.NoError(t, e.Sgemm(transA, false, m, n, k, 1, a, lda, b, n, 0, c, n))
					for i, v := range c {
						w := want[i/n%2]
						if math.Float32bits(v) != math.Float32bits(w) {
							require.Failf(t, "a sum of slices flushed", "transA=%v m=%d n=%d k=%d (slices of %d): C[%d, %d] = %v (%#08x), want %v (%#08x)",
								transA, m, n, k, kc, i/n, i%n, v, math.Float32bits(v), w, math.Float32bits(w))
						}
					}
				}
			}
		})
	}
}
