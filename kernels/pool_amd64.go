//go:build amd64 && !purego

package kernels

// The 2×2 max pooling loops of pool512_amd64.s (see maxPlane and maxBackward2x2f32).

// maxPool2x2F32 is maxPlane's 2×2 loop for float32: oh rows of ow windows, input rows w apart.
//
//go:noescape
func maxPool2x2F32(out, plane *float32, oh, ow, w int)

// maxPool2x2BackF32 is maxBackward2x2f32's window loop: it writes the 2·oh rows of 2·ow elements
// of d (w apart) that are in a window, and nothing else.
//
//go:noescape
func maxPool2x2BackF32(d, plane, up *float32, oh, ow, w int)
