package gemm

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// TestShallowTilesChangeNoProduct: the shallow tiles give the bits of the 14×32 tiles (and the
// 8-row ones of their row plan) for every depth from 1 to 16, widths with and without a ragged
// last block of 16 columns, and row counts that leave every remainder of 8 (the products with
// beta ±0; the others stay on the 14×32 tiles).
func TestShallowTilesChangeNoProduct(t *testing.T) {
	var ps []product
	for k := 1; k <= 16; k++ {
		for ni, n := range []int{16, 17, 31, 32, 47, 256} {
			for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 23, 40, 128} {
				if (m+ni+k)%3 == 0 || n <= 32 { // the wide ones for a third of the rows
					ps = append(ps, product{false, true, m, n, k})
				}
			}
		}
	}
	requireSameBits(t, "shallow tiles", func(on bool) { shallowTiles = on }, func() { shallowTiles = true }, ps)
}

// TestShallowTilesTaken: the products that take the shallow tiles are the float32 ones with A not
// transposed and B transposed, of depth 1 to 16 and at least 16 columns (at AVX-512), nothing
// else.
func TestShallowTilesTaken(t *testing.T) {
	if cpufeat.Detected() < cpufeat.AVX512 {
		t.Skip("no AVX-512 on this CPU: the shallow tiles are not used")
	}
	useLevel(t, cpufeat.AVX512)
	ks := kernels()
	for _, c := range []takenCase{
		{false, true, 128, 256, 10, 1, true, "the 10-class layer's input gradient"},
		{false, true, 1024, 1024, 10, 1, true, "the same at batch 1024"},
		{false, true, 1, 16, 1, 1, true, "one row, one block, depth 1"},
		{false, true, 128, 256, 16, 1, true, "depth 16"},
		{false, true, 128, 256, 17, 1, false, "depth 17: op(B)'s rows would not fit in registers"},
		{false, true, 128, 15, 10, 1, false, "fewer columns than a block"},
		{false, false, 128, 256, 10, 1, false, "B not transposed"},
		{true, true, 128, 256, 10, 1, false, "A transposed"},
		{false, true, 128, 256, 10, 0, false, "alpha 0: C is only scaled"},
	} {
		require.Equal(t, c.want, useShallowTiles(ks, c.transA, c.transB, c.m, c.n, c.k, c.alpha, 0), c.why)
	}
	require.True(t, useShallowTiles(ks, false, true, 128, 256, 10, 1, float32(math.Copysign(0, -1))), "beta -0")
	require.False(t, useShallowTiles(ks, false, true, 128, 256, 10, 1, 1), "beta 1: the 14×32 tiles' ragged tiles merge in Go")
	useLevel(t, cpufeat.AVX2)
	require.False(t, useShallowTiles(kernels(), false, true, 128, 256, 10, 1, 0), "AVX2 has no shallow tiles")
}
