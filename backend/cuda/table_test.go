package cuda

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMultiTensorTableCoversEveryElementOnce(t *testing.T) {
	sizes := []int{7, 1, 0, 33, 1000, 100003, 65536}
	for _, chunk := range []int{4, 1000, chunkElems} {
		t.Run(fmt.Sprintf("chunks of %d", chunk), func(t *testing.T) {
			var tb mtTable
			tb.reset(3, chunk)
			for i, n := range sizes {
				require.NoError(t, tb.add(n, uint64(0x1000*(i+1)), uint64(0x2000*(i+1)), uint64(0x3000*(i+1))))
			}
			words, at := tb.finish()
			require.Equal(t, len(sizes)*4, at, "tensor entries come first, 1+nptr words each")
			for i, n := range sizes {
				e := words[i*4 : i*4+4]
				assert.Equal(t, []uint64{uint64(n), uint64(0x1000 * (i + 1)), uint64(0x2000 * (i + 1)), uint64(0x3000 * (i + 1))}, e, "entry %d", i)
			}
			chunks := words[at:]
			require.Equal(t, 2*tb.nchunks(), len(chunks))
			covered := make([][]int, len(sizes))
			for i := range covered {
				covered[i] = make([]int, sizes[i])
			}
			for c := 0; c < tb.nchunks(); c++ {
				ti, off := int(chunks[2*c]), int(chunks[2*c+1])
				require.Less(t, ti, len(sizes))
				assert.Zero(t, off%chunk, "chunk %d offset %d is a multiple of the chunk", c, off)
				n := sizes[ti]
				require.Less(t, off, n, "chunk %d starts inside its tensor", c)
				for j := off; j < min(off+chunk, n); j++ {
					covered[ti][j]++
				}
			}
			for i, cov := range covered {
				for j, k := range cov {
					if !assert.Equal(t, 1, k, "tensor %d element %d covered %d times", i, j, k) {
						return
					}
				}
			}
		})
	}
}

func TestMultiTensorTableRefusesWrongPointerCounts(t *testing.T) {
	var tb mtTable
	tb.reset(2, chunkElems)
	assert.ErrorIs(t, tb.add(5, 1), errTable)
	assert.ErrorIs(t, tb.add(5, 1, 2, 3), errTable)
	assert.ErrorIs(t, tb.add(-1, 1, 2), errTable)
	assert.NoError(t, tb.add(5, 1, 2))
}

func TestMultiTensorTableIsRebuiltWithoutAllocating(t *testing.T) {
	var tb mtTable
	build := func() {
		tb.reset(4, chunkElems)
		for i, n := range []int{200704, 256, 65536, 256, 2560, 10} {
			_ = tb.add(n, uint64(i), uint64(i+1), uint64(i+2), uint64(i+3))
		}
		tb.finish()
	}
	build()
	assert.Zero(t, testing.AllocsPerRun(100, build))
}

func TestTableCacheUploadsEachTableOnce(t *testing.T) {
	next := uint64(0x100)
	live := map[uint64]bool{}
	c := newTableCache(2, func(w []uint64) (uint64, error) {
		next += 0x100
		live[next] = true
		return next, nil
	}, func(p uint64) {
		require.True(t, live[p], "release of %#x, which is not live", p)
		delete(live, p)
	})
	a, b, d := []uint64{1, 2, 3}, []uint64{1, 2, 4}, []uint64{9}
	pa, err := c.get(a)
	require.NoError(t, err)
	pa2, err := c.get(append([]uint64(nil), a...)) // equal content, another slice
	require.NoError(t, err)
	assert.Equal(t, pa, pa2, "a table of the same content is found")
	assert.Equal(t, 1, c.uploads)
	pb, err := c.get(b)
	require.NoError(t, err)
	assert.NotEqual(t, pa, pb)
	_, err = c.get(a) // a is now the most recently used
	require.NoError(t, err)
	_, err = c.get(d) // evicts b
	require.NoError(t, err)
	assert.Equal(t, 3, c.uploads)
	assert.Len(t, live, 2)
	assert.False(t, live[pb], "the least recently used table was released")
	p0, err := c.get(nil)
	require.NoError(t, err)
	assert.Zero(t, p0, "an empty table needs no upload")
	hits := testing.AllocsPerRun(100, func() { _, _ = c.get(a) })
	assert.Zero(t, hits, "a hit allocates nothing")
	c.clear()
	assert.Empty(t, live)
}
