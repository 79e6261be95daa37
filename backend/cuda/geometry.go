package cuda

import (
	"fmt"

	"github.com/gotrain/gotrain/backend"
)

// Launch geometry: every grid and block the device launches comes from one of these pure
// functions, so geometry_test.go can check them on any machine, for sizes up to 2^40 elements,
// against the limits of the hardware; a launch outside them fails on the GPU (cuLaunchKernel's
// CUDA_ERROR_INVALID_VALUE) or, worse, covers less than the data.

// CUDA's limits from compute capability 3.0 through 9.0 (the CUDA C++ Programming Guide's table
// of technical specifications).
const (
	maxGridX        = 1<<31 - 1 // blocks along x
	maxBlockThreads = 1024      // threads per block (x·y·z), and along x or y
	warpSize        = 32
)

// dims is one launch's grid (gx×gy blocks) and block (bx×by threads).
type dims struct{ gx, gy, bx, by int }

// check reports a launch the hardware refuses, and blocks that are not whole warps: the warp
// and block reductions (common.cuh) assume whole warps.
func (g dims) check() error {
	switch {
	case g.gx < 1 || g.gx > maxGridX:
		return fmt.Errorf("grid x %d outside [1, %d]", g.gx, maxGridX)
	case g.gy < 1 || g.gy > maxGridY:
		return fmt.Errorf("grid y %d outside [1, %d]", g.gy, maxGridY)
	case g.bx < 1 || g.by < 1 || g.bx > maxBlockThreads || g.by > maxBlockThreads || g.bx*g.by > maxBlockThreads:
		return fmt.Errorf("block %dx%d outside the %d threads of a block", g.bx, g.by, maxBlockThreads)
	case g.bx*g.by%warpSize != 0:
		return fmt.Errorf("block %dx%d is not a whole number of warps", g.bx, g.by)
	}
	return nil
}

// elemDims is the launch of a grid-stride kernel over n elements (every elementwise, activation
// and shape kernel but Sum): enough blocks of blockSize threads to give each thread one element,
// at most maxGrid (a few blocks per SM; the loop strides over the rest), at least one.
func elemDims(n int64, maxGrid int) dims {
	return dims{gridFor(n, blockSize, maxGrid), 1, blockSize, 1}
}

// rowDims is the launch of a row-wise kernel over rows rows: a warp per row (narrow) or a block
// per row, the rows past the grid taken by the grid-stride loop over rows.
func rowDims(rows int64, narrow bool, maxGrid int) dims {
	if narrow {
		return dims{gridFor(rows, warpsPerBlk, maxGrid), 1, blockSize, 1}
	}
	return dims{gridFor(rows, 1, maxGrid), 1, blockSize, 1}
}

// sumDims is the launch of sum_mid over [outer, mid, inner] (bias.cu): blocks of tx×ty =
// blockSize threads (the kernel's shared array holds blockSize doubles), enough blocks along x to
// cover the inner axis (the kernel does not stride along x) and up to maxGridY along y, the outer
// axis strided by gridDim.y. An inner axis wider than maxGridX·32 elements (2^36, 256 GiB of
// float32, more than any GPU holds) is an error rather than a launch that misses elements.
func sumDims(outer, inner int64) (dims, error) {
	tx, ty := sumShape(int(inner))
	gx := (inner + int64(tx) - 1) / int64(tx)
	if gx > maxGridX {
		return dims{}, fmt.Errorf("an inner axis of %d elements needs %d blocks along x, more than %d: %w", inner, gx, maxGridX, backend.ErrUnsupported)
	}
	return dims{int(max(gx, 1)), int(max(1, min(outer, maxGridY))), tx, ty}, nil
}

// partialDims is the launch of a reduction's first kernel over items items (rows, elements or
// chunks), per of them per block: one partial sum per block into the scratch of maxPartials
// doubles, so at most maxPartials blocks, the kernel striding over the rest. The second kernel,
// reduce_finalize, is finalizeDims and adds gx partials.
func partialDims(items int64, per int) dims {
	return dims{gridFor(items, per, maxPartials), 1, blockSize, 1}
}

// finalizeDims is reduce_finalize's launch: one block, whose threads stride over the partials.
func finalizeDims() dims { return dims{1, 1, blockSize, 1} }

// chunkCount is the number of chunks of chunk elements a tensor of n elements takes in a
// multi-tensor table (the last one shorter), none for an empty tensor.
func chunkCount(n, chunk int64) int64 { return (n + chunk - 1) / chunk }

// tableDims is the launch of a multi-tensor kernel over nchunks chunks: a block per chunk, at most
// limit (maxGrid for the optimizer, maxPartials for SumSquares, whose blocks each write a partial
// sum), the blocks striding over the rest.
func tableDims(nchunks int64, limit int) dims {
	return dims{gridFor(nchunks, 1, limit), 1, blockSize, 1}
}
