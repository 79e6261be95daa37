package cuda

import (
	"errors"
	"fmt"
	"math/bits"
)

// errBadFree is returned by allocator.put for a pointer the allocator did not hand out, or one
// already returned: a programming error in the device, which must not corrupt the free lists.
var errBadFree = errors.New("cuda: allocator: free of a block that is not in use")

// sizeClass rounds a request up to the block size the allocator hands out: multiples of 512 bytes
// up to 1 MiB (small buffers: biases, losses, batch activations), above that four classes per
// power of two (p, 1.25p, 1.5p, 1.75p), so no block is more than 25% larger than asked for.
// Zero and negative requests need no memory.
func sizeClass(bytes int64) int64 {
	const small, quantum = 1 << 20, 512
	switch {
	case bytes <= 0:
		return 0
	case bytes <= small:
		return (bytes + quantum - 1) / quantum * quantum
	}
	step := int64(1) << (bits.Len64(uint64(bytes-1)) - 3) // a quarter of the largest power of two below bytes
	return (bytes + step - 1) / step * step
}

// allocator is a caching allocator over a raw alloc/free pair (cuMemAlloc and cuMemFree on the
// device; fakes in tests). Freed blocks go to a free list per size class and are handed out again
// for any request of that class, so a program that allocates the same shapes again (a training
// step, a second plan) stops calling alloc. It is not safe for concurrent use (the device is not).
type allocator struct {
	alloc func(bytes int64) (uint64, error)
	free  func(ptr uint64) error
	// isOOM reports whether an alloc error means out of memory: then the cached blocks are
	// released and the alloc is tried once more.
	isOOM func(error) bool
	// beforeTrim, when set, runs before trim frees cached blocks (the device waits for its
	// stream there): a block on a free list may still be read by queued work, which is harmless
	// while the block is only handed out again on the same stream, but cuMemFree must not pull
	// memory from under a kernel that has not run yet.
	beforeTrim func() error

	cache  map[int64][]uint64 // free blocks by size class
	blocks map[uint64]block   // every block obtained from alloc and not yet freed
	stats  allocStats
}

type block struct {
	class  int64
	cached bool // on a free list
}

// allocStats counts what the allocator did; tests use it to check that a steady state calls
// alloc no more.
type allocStats struct {
	InUse, Cached int64 // bytes handed out, bytes on free lists
	Allocs, Frees int   // calls of the raw alloc and free
	Hits          int   // requests served from a free list
}

func newAllocator(alloc func(int64) (uint64, error), free func(uint64) error, isOOM func(error) bool) *allocator {
	return &allocator{alloc: alloc, free: free, isOOM: isOOM, cache: map[int64][]uint64{}, blocks: map[uint64]block{}}
}

// get returns a block of at least bytes bytes and its size class (pass both back to put). A
// request of 0 bytes returns pointer 0 and class 0 and costs nothing.
func (a *allocator) get(bytes int64) (ptr uint64, class int64, err error) {
	class = sizeClass(bytes)
	if class == 0 {
		return 0, 0, nil
	}
	if l := a.cache[class]; len(l) > 0 {
		ptr = l[len(l)-1]
		a.cache[class] = l[:len(l)-1]
		a.blocks[ptr] = block{class: class}
		a.stats.Cached -= class
		a.stats.InUse += class
		a.stats.Hits++
		return ptr, class, nil
	}
	ptr, err = a.alloc(class)
	if err != nil && a.isOOM != nil && a.isOOM(err) && a.stats.Cached > 0 {
		if terr := a.trim(); terr != nil {
			return 0, class, errors.Join(err, terr)
		}
		ptr, err = a.alloc(class)
	}
	if err != nil {
		return 0, class, err
	}
	a.stats.Allocs++
	a.blocks[ptr] = block{class: class}
	a.stats.InUse += class
	return ptr, class, nil
}

// put returns a block to its free list. Pointer 0 (an empty buffer) is ignored.
func (a *allocator) put(ptr uint64, class int64) error {
	if ptr == 0 {
		return nil
	}
	b, ok := a.blocks[ptr]
	if !ok || b.cached || b.class != class {
		return fmt.Errorf("%w (pointer %#x, class %d)", errBadFree, ptr, class)
	}
	a.blocks[ptr] = block{class: class, cached: true}
	a.cache[class] = append(a.cache[class], ptr)
	a.stats.InUse -= class
	a.stats.Cached += class
	return nil
}

// trim frees every cached block (not the ones in use), returning the first error.
func (a *allocator) trim() error {
	if a.beforeTrim != nil && len(a.cache) > 0 {
		if err := a.beforeTrim(); err != nil {
			return err
		}
	}
	var first error
	for class, l := range a.cache {
		for _, ptr := range l {
			if err := a.free(ptr); err != nil && first == nil {
				first = err
			}
			a.stats.Frees++
			a.stats.Cached -= class
			delete(a.blocks, ptr)
		}
		delete(a.cache, class)
	}
	return first
}

// releaseAll frees every block, cached or in use (the device is closing), returning the first
// error.
func (a *allocator) releaseAll() error {
	first := a.trim()
	for ptr, b := range a.blocks {
		if err := a.free(ptr); err != nil && first == nil {
			first = err
		}
		a.stats.Frees++
		a.stats.InUse -= b.class
		delete(a.blocks, ptr)
	}
	return first
}
