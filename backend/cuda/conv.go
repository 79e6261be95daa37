package cuda

import "github.com/gotrain/gotrain/kernels"

// The convolution's kernels (kernels/conv.cu) and its chunking, pure Go so that the table test
// and the chunk test run on any machine; the executor is conv_gpu.go.
var (
	kIm2col = defKernel("conv", "im2col", "ppiiiiiiiiii")
	kCol2im = defKernel("conv", "col2im", "ppiiiiiiiiii")
	kSwap01 = defKernel("conv", "swap01", "ppiii")
)

// convWorkspaceBytes bounds the workspace of a convolution: the column matrix and the
// channel-major copy of y or dy of one chunk of images. A chunk of one image may exceed it.
const convWorkspaceBytes = 256 << 20

// convChunk returns the images per chunk of g: as many as fit in convWorkspaceBytes with elements
// of size bytes, at least one, at most N.
func convChunk(g kernels.Conv2D, size int) int {
	per := int64(g.K()+g.OutC) * int64(g.P()) * int64(size)
	n := int(convWorkspaceBytes / max(per, 1))
	return min(max(n, 1), g.N)
}

// pack2 packs two geometry values into one kernel parameter, (a << 32) | b, as the kernels of
// conv.cu and pool.cu unpack them.
func pack2(a, b int) int { return a<<32 | b }
