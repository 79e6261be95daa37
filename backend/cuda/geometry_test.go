package cuda

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
)

// sizes are the element, row and chunk counts the geometry is checked at: the edges of a block,
// a warp and the 32-bit range, and on to 2^40 (4 TiB of float32, past any GPU).
var geometrySizes = []int64{0, 1, 7, 31, 32, 33, 255, 256, 257, 1 << 15, 1<<15 + 1, 1 << 20, 1<<31 - 1, 1 << 31,
	1<<32 + 1, 1 << 36, 1<<36 + 31, 1 << 40}

// geometryGrids are device maxGrid values (32 blocks per SM): one SM, a V100 (80 SMs), an A100
// (108), an H100/H200 (132), and the most a grid may have.
var geometryGrids = []int{32, 80 * 32, 108 * 32, 132 * 32, maxGridX}

func TestLaunchLimitsAreChecked(t *testing.T) {
	require.NoError(t, dims{1, 1, 256, 1}.check())
	require.NoError(t, dims{maxGridX, maxGridY, 32, 32}.check())
	for _, bad := range []dims{{0, 1, 256, 1}, {maxGridX + 1, 1, 256, 1}, {1, 0, 256, 1}, {1, maxGridY + 1, 256, 1},
		{1, 1, 2048, 1}, {1, 1, 64, 32}, {1, 1, 0, 1}, {1, 1, 100, 1}} {
		assert.Error(t, bad.check(), "%+v", bad)
	}
}

// TestGridStrideLaunchesStayInsideTheLimits checks the launches of the kernels that stride over
// their work (elements, rows, partial sums, chunks): a legal grid of at least one block, at most
// the limit asked for, and as many blocks as the work has when that is fewer.
func TestGridStrideLaunchesStayInsideTheLimits(t *testing.T) {
	for _, limit := range geometryGrids {
		for _, n := range geometrySizes {
			cases := []struct {
				what string
				g    dims
				per  int64 // items per block
				max  int   // the grid's cap
			}{
				{"elementwise", elemDims(n, limit), blockSize, limit},
				{"rows, a warp each", rowDims(n, true, limit), warpsPerBlk, limit},
				{"rows, a block each", rowDims(n, false, limit), 1, limit},
				{"cross-entropy partial sums", partialDims(n, warpsPerBlk), warpsPerBlk, maxPartials},
				{"elementwise partial sums", partialDims(n, blockSize), blockSize, maxPartials},
				{"optimizer chunks", tableDims(n, limit), 1, limit},
				{"sum-of-squares chunks", tableDims(n, maxPartials), 1, maxPartials},
			}
			for _, c := range cases {
				name := fmt.Sprintf("%s over %d with at most %d blocks", c.what, n, c.max)
				require.NoError(t, c.g.check(), name)
				assert.LessOrEqual(t, c.g.gx, c.max, name)
				want := max(1, min((n+c.per-1)/c.per, int64(c.max)))
				assert.Equal(t, want, int64(c.g.gx), name+": blocks")
				assert.Equal(t, blockSize, c.g.bx*c.g.by, name+": threads")
			}
		}
	}
	g := finalizeDims()
	require.NoError(t, g.check())
	assert.Equal(t, 1, g.gx*g.gy, "one block adds the partials in a fixed order")
}

// TestPartialSumsFitTheScratch: a reduction's first kernel writes one double per block into the
// scratch of maxPartials, and ReadScalars gathers up to maxPartials scalars into it.
func TestPartialSumsFitTheScratch(t *testing.T) {
	for _, n := range geometrySizes {
		for _, per := range []int{1, warpsPerBlk, blockSize} {
			assert.LessOrEqual(t, partialDims(n, per).gx, maxPartials, "%d items, %d per block", n, per)
		}
		assert.LessOrEqual(t, tableDims(n, maxPartials).gx, maxPartials, "%d chunks", n)
	}
}

// TestSumCoversTheInnerAxis: sum_mid does not stride along x, so its grid must cover the inner
// axis; the outer axis is strided along y.
func TestSumCoversTheInnerAxis(t *testing.T) {
	for _, outer := range geometrySizes {
		for _, inner := range geometrySizes {
			g, err := sumDims(outer, inner)
			name := fmt.Sprintf("[%d, mid, %d]", outer, inner)
			if inner > int64(maxGridX)*32 {
				assert.ErrorIs(t, err, backend.ErrUnsupported, name)
				continue
			}
			require.NoError(t, err, name)
			require.NoError(t, g.check(), name)
			assert.GreaterOrEqual(t, int64(g.gx)*int64(g.bx), inner, name+": the blocks cover the inner axis")
			assert.Equal(t, blockSize, g.bx*g.by, name+": the kernel's shared array holds blockSize partial sums")
			assert.Equal(t, int(max(1, min(outer, maxGridY))), g.gy, name)
		}
	}
	_, err := sumDims(1, int64(maxGridX)*32+1)
	assert.ErrorIs(t, err, backend.ErrUnsupported, "the first inner axis one launch cannot cover")
}

// TestChunkTablesCoverEveryElementAtLargeSizes builds the table of tensors up to 2^40 elements
// (with chunks large enough to keep the table small; the arithmetic is the one the device's
// chunkElems uses) and checks that the chunks tile each tensor exactly, as table_chunk in
// common.cuh reads them.
func TestChunkTablesCoverEveryElementAtLargeSizes(t *testing.T) {
	for _, chunk := range []int64{chunkElems, 1 << 30} {
		for _, n := range geometrySizes {
			if chunkCount(n, chunk) > 1<<16 {
				continue // a table of 2^16 chunks is enough to check the arithmetic
			}
			var tb mtTable
			tb.reset(1, int(chunk))
			require.NoError(t, tb.add(int(n), 0x1000))
			words, at := tb.finish()
			require.Equal(t, chunkCount(n, chunk), int64(tb.nchunks()), "%d elements in chunks of %d", n, chunk)
			var covered int64
			for c := 0; c < tb.nchunks(); c++ {
				off := int64(words[at+2*c+1])
				length := min(int64(words[0])-off, chunk) // table_chunk's len
				require.Equal(t, covered, off, "chunk %d of %d elements starts where the last ended", c, n)
				require.Positive(t, length)
				covered += length
			}
			assert.Equal(t, n, covered, "%d elements in chunks of %d", n, chunk)
		}
	}
	assert.Equal(t, int64(1<<25), chunkCount(1<<40, chunkElems), "a 2^40-element tensor's chunks")
	assert.LessOrEqual(t, tableDims(chunkCount(1<<40, chunkElems), maxGridX).gx, maxGridX)
}

// TestGemmDimensionsFitCublasInts: cuBLAS takes C ints; a dimension past 2^31-1 is refused rather
// than wrapped.
func TestGemmDimensionsFitCublasInts(t *testing.T) {
	require.NoError(t, rowMajorGemm(false, false, 128, 256, 784).check())
	require.NoError(t, rowMajorGemm(true, true, math.MaxInt32, 1, 1).check())
	for _, c := range []struct{ m, n, k int }{{1 << 31, 1, 1}, {1, 1 << 31, 1}, {1, 1, 1<<32 + 5}, {1, 1 << 40, 1}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				err := rowMajorGemm(ta, tb, c.m, c.n, c.k).check()
				assert.ErrorIs(t, err, backend.ErrUnsupported, "m %d n %d k %d", c.m, c.n, c.k)
			}
		}
	}
}
