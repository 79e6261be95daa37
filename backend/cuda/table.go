package cuda

import (
	"errors"
	"fmt"
	"unsafe"
)

// chunkElems is the number of elements of one multi-tensor chunk: large enough that a block's
// work dwarfs its start-up, small enough that a model of a few large tensors still spreads over
// every SM. It is a multiple of every vector width (4 float32, 2 float64), so chunks of an aligned
// tensor start aligned.
const chunkElems = 1 << 15

// mtTable builds the multi-tensor table the optimizer and SumSquares kernels walk (layout in
// kernels/ptx/common.cuh): for each tensor its length and nptr device pointers, then for each
// chunk of chunkElems elements (the last of a tensor shorter) its tensor index and element
// offset. Empty tensors get an entry but no chunk. A builder is reused from call to call, so
// building a table allocates nothing once its slices have grown.
type mtTable struct {
	nptr, chunk int
	tensors     []uint64
	chunks      []uint64
	words       []uint64
}

// reset starts a table of tensors with nptr pointers each, cut into chunks of chunk elements.
func (t *mtTable) reset(nptr, chunk int) {
	t.nptr, t.chunk = nptr, chunk
	t.tensors, t.chunks = t.tensors[:0], t.chunks[:0]
}

// add appends a tensor of n elements; ptrs must hold nptr pointers.
func (t *mtTable) add(n int, ptrs ...uint64) error {
	if len(ptrs) != t.nptr || n < 0 || t.chunk <= 0 {
		return fmt.Errorf("cuda: multi-tensor table: %d pointers for a table of %d, length %d, chunk %d: %w",
			len(ptrs), t.nptr, n, t.chunk, errTable)
	}
	idx := uint64(t.ntensors())
	t.tensors = append(t.tensors, uint64(n))
	t.tensors = append(t.tensors, ptrs...)
	for off := 0; off < n; off += t.chunk {
		t.chunks = append(t.chunks, idx, uint64(off))
	}
	return nil
}

func (t *mtTable) ntensors() int { return len(t.tensors) / (1 + t.nptr) }

// nchunks is the number of chunks added so far.
func (t *mtTable) nchunks() int { return len(t.chunks) / 2 }

// finish returns the table's words (valid until the next reset) and the word index at which the
// chunk list starts.
func (t *mtTable) finish() (words []uint64, chunksAt int) {
	t.words = append(append(t.words[:0], t.tensors...), t.chunks...)
	return t.words, len(t.tensors)
}

var errTable = errors.New("invalid multi-tensor table")

// tableCache keeps device copies of tables, keyed by their content: a training step passes the
// same parameters, gradients and state every time, so after the first step its table is found
// here and nothing is uploaded. A table holds only pointers and lengths, so an entry stays
// correct even after the buffers it names are freed (it is simply no longer asked for). Least
// recently used entries are released past max.
type tableCache struct {
	upload  func(words []uint64) (ptr uint64, err error)
	release func(ptr uint64)
	max     int

	entries map[string]*tableEntry
	tick    uint64
	uploads int // for tests
}

type tableEntry struct {
	ptr  uint64
	used uint64
}

func newTableCache(max int, upload func([]uint64) (uint64, error), release func(uint64)) *tableCache {
	return &tableCache{upload: upload, release: release, max: max, entries: map[string]*tableEntry{}}
}

// get returns the device address of a copy of words, uploading it on a miss. An empty table is
// address 0.
func (c *tableCache) get(words []uint64) (uint64, error) {
	if len(words) == 0 {
		return 0, nil
	}
	key := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	c.tick++
	if e, ok := c.entries[string(key)]; ok { // a map index with string(bytes) does not allocate
		e.used = c.tick
		return e.ptr, nil
	}
	for len(c.entries) >= max(c.max, 1) {
		var oldest string
		var oe *tableEntry
		for k, e := range c.entries {
			if oe == nil || e.used < oe.used {
				oldest, oe = k, e
			}
		}
		c.release(oe.ptr)
		delete(c.entries, oldest)
	}
	ptr, err := c.upload(words)
	if err != nil {
		return 0, err
	}
	c.uploads++
	c.entries[string(key)] = &tableEntry{ptr: ptr, used: c.tick}
	return ptr, nil
}

// clear releases every entry.
func (c *tableCache) clear() {
	for k, e := range c.entries {
		c.release(e.ptr)
		delete(c.entries, k)
	}
}
