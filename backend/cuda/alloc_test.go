package cuda

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSizeClassRoundsUpWithBoundedWaste(t *testing.T) {
	assert.Equal(t, int64(0), sizeClass(0), "zero bytes")
	assert.Equal(t, int64(0), sizeClass(-5), "negative bytes")
	assert.Equal(t, int64(512), sizeClass(1), "one byte")
	assert.Equal(t, int64(512), sizeClass(512))
	assert.Equal(t, int64(1024), sizeClass(513))
	assert.Equal(t, int64(1<<20), sizeClass(1<<20), "1 MiB is the last small class")
	assert.Equal(t, int64(1<<20+1<<18), sizeClass(1<<20+1), "past 1 MiB, quarter steps")
	assert.Equal(t, int64(3<<29), sizeClass(3<<29-100))
	prev := int64(0)
	for _, n := range []int64{1, 7, 511, 4096, 100003, 1<<20 - 1, 1<<20 + 7, 5 << 20, 123456789, 1 << 33, 1<<33 + 1, 3 << 34} {
		c := sizeClass(n)
		assert.GreaterOrEqual(t, c, n, "class of %d", n)
		assert.Equal(t, c, sizeClass(c), "a class is its own class (%d)", n)
		assert.GreaterOrEqual(t, c, prev, "classes grow with the request (%d)", n)
		assert.Zero(t, c%512, "class of %d is a multiple of 512", n)
		if n > 1<<20 {
			assert.LessOrEqual(t, float64(c-n), 0.25*float64(n), "waste for %d", n)
		}
		prev = c
	}
}

// fakeMemory is a device heap for the allocator's tests: pointers count up, capacity is limited.
type fakeMemory struct {
	next, capacity, used int64
	live                 map[uint64]int64
	allocs, frees        int
}

var errFakeOOM = errors.New("fake: out of memory")

func newFakeMemory(capacity int64) *fakeMemory {
	return &fakeMemory{next: 1 << 12, capacity: capacity, live: map[uint64]int64{}}
}

func (m *fakeMemory) alloc(n int64) (uint64, error) {
	if m.used+n > m.capacity {
		return 0, errFakeOOM
	}
	p := uint64(m.next)
	m.next += n + 256
	m.used += n
	m.live[p] = n
	m.allocs++
	return p, nil
}

func (m *fakeMemory) free(p uint64) error {
	n, ok := m.live[p]
	if !ok {
		return fmt.Errorf("fake: free of %#x, which is not allocated", p)
	}
	delete(m.live, p)
	m.used -= n
	m.frees++
	return nil
}

func newTestAllocator(m *fakeMemory) *allocator {
	return newAllocator(m.alloc, m.free, func(err error) bool { return errors.Is(err, errFakeOOM) })
}

func TestAllocatorReusesFreedBlocksOfTheSameClass(t *testing.T) {
	m := newFakeMemory(1 << 30)
	a := newTestAllocator(m)
	p1, c1, err := a.get(1000)
	require.NoError(t, err)
	require.NoError(t, a.put(p1, c1))
	p2, c2, err := a.get(900) // same 1024-byte class
	require.NoError(t, err)
	assert.Equal(t, p1, p2, "the freed block is handed out again")
	assert.Equal(t, c1, c2)
	assert.Equal(t, 1, m.allocs, "one raw allocation")
	assert.Equal(t, 1, a.stats.Hits)
	p3, _, err := a.get(5000) // another class
	require.NoError(t, err)
	assert.NotEqual(t, p2, p3)
	assert.Equal(t, 2, m.allocs)
}

func TestAllocatorSteadyStateCallsAllocNoMore(t *testing.T) {
	m := newFakeMemory(1 << 34)
	a := newTestAllocator(m)
	sizes := []int64{4, 4, 1024, 128 * 784 * 4, 256 * 4, 784 * 256 * 4, 40, 7, 3 << 22}
	step := func() {
		ptrs := make([]uint64, len(sizes))
		classes := make([]int64, len(sizes))
		for i, n := range sizes {
			var err error
			ptrs[i], classes[i], err = a.get(n)
			require.NoError(t, err)
		}
		for i := range ptrs {
			require.NoError(t, a.put(ptrs[i], classes[i]))
		}
	}
	step()
	after := m.allocs
	for range 10 {
		step()
	}
	assert.Equal(t, after, m.allocs, "no raw allocation after the first step")
	assert.Zero(t, a.stats.InUse, "everything was returned")
	assert.Equal(t, m.used, a.stats.Cached, "the cache holds what the fake handed out")
}

func TestAllocatorReleasesItsCacheAndRetriesWhenOutOfMemory(t *testing.T) {
	m := newFakeMemory(4 << 20)
	a := newTestAllocator(m)
	p, c, err := a.get(3 << 20)
	require.NoError(t, err)
	require.NoError(t, a.put(p, c)) // cached: 3 MiB of 4 held
	q, _, err := a.get(2 << 20)     // another class: only fits once the cache is released
	require.NoError(t, err, "the retry after trimming the cache succeeds")
	assert.NotZero(t, q)
	assert.Equal(t, 1, m.frees, "the cached block was freed")
	assert.Zero(t, a.stats.Cached)

	_, _, err = a.get(3 << 20) // does not fit even with an empty cache
	require.Error(t, err)
	assert.ErrorIs(t, err, errFakeOOM)
}

// TestAllocatorWaitsBeforeItFreesCachedBlocks checks that trimming the cache (on out of memory)
// first runs beforeTrim (the device waits for its stream: a cached block may still be read by
// queued work), and that a failed wait frees nothing.
func TestAllocatorWaitsBeforeItFreesCachedBlocks(t *testing.T) {
	m := newFakeMemory(4 << 20)
	a := newTestAllocator(m)
	var waits, freesAtWait []int
	a.beforeTrim = func() error {
		waits = append(waits, 1)
		freesAtWait = append(freesAtWait, m.frees)
		return nil
	}
	p, c, err := a.get(3 << 20)
	require.NoError(t, err)
	require.NoError(t, a.put(p, c))
	_, _, err = a.get(2 << 20) // out of memory: trims, so waits first
	require.NoError(t, err)
	assert.Len(t, waits, 1, "one wait before the cached blocks are freed")
	assert.Equal(t, []int{0}, freesAtWait, "the wait comes before any free")
	assert.Equal(t, 1, m.frees)

	_, _, err = a.get(3 << 20) // out of memory with nothing cached: nothing to trim, no wait
	require.Error(t, err)
	assert.Len(t, waits, 1, "no wait when nothing is cached")

	b := newTestAllocator(newFakeMemory(4 << 20))
	errWait := errors.New("sticky error")
	b.beforeTrim = func() error { return errWait }
	q, qc, err := b.get(3 << 20)
	require.NoError(t, err)
	require.NoError(t, b.put(q, qc))
	_, _, err = b.get(2 << 20)
	assert.ErrorIs(t, err, errWait, "a failed wait is reported")
	assert.ErrorIs(t, err, errFakeOOM, "with the out-of-memory error")
	assert.Equal(t, int64(3<<20), b.stats.Cached, "and nothing was freed")
}

func TestAllocatorRefusesBadFrees(t *testing.T) {
	a := newTestAllocator(newFakeMemory(1 << 20))
	p, c, err := a.get(100)
	require.NoError(t, err)
	assert.ErrorIs(t, a.put(p+8, c), errBadFree, "a pointer it did not hand out")
	assert.ErrorIs(t, a.put(p, c*2), errBadFree, "the wrong class")
	require.NoError(t, a.put(p, c))
	assert.ErrorIs(t, a.put(p, c), errBadFree, "a double free")
	assert.NoError(t, a.put(0, 0), "an empty buffer")
	q, _, err := a.get(100)
	require.NoError(t, err)
	assert.Equal(t, p, q, "the double free did not put the block on the list twice")
	r, _, err := a.get(100)
	require.NoError(t, err)
	assert.NotEqual(t, q, r)
}

func TestAllocatorZeroBytesCostNothing(t *testing.T) {
	m := newFakeMemory(1 << 20)
	a := newTestAllocator(m)
	p, c, err := a.get(0)
	require.NoError(t, err)
	assert.Zero(t, p)
	assert.Zero(t, c)
	assert.Zero(t, m.allocs)
}

func TestAllocatorReleaseAllFreesEveryBlockOnce(t *testing.T) {
	m := newFakeMemory(1 << 30)
	a := newTestAllocator(m)
	var kept []uint64
	for i, n := range []int64{10, 10, 5000, 1 << 21, 777} {
		p, c, err := a.get(n)
		require.NoError(t, err)
		if i%2 == 0 {
			require.NoError(t, a.put(p, c))
		} else {
			kept = append(kept, p)
		}
	}
	require.NotEmpty(t, kept)
	require.NoError(t, a.releaseAll())
	assert.Empty(t, m.live, "every raw block was freed")
	assert.Equal(t, m.allocs, m.frees)
	assert.Zero(t, a.stats.InUse)
	assert.Zero(t, a.stats.Cached)
}
