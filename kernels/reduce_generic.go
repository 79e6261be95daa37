//go:build !amd64 || purego

package kernels

// Stubs: level() is Generic without assembly, so these are never called.

func addRow512(dst, x, b *float32, n int)             {}
func addRowAVX2(dst, x, b *float32, n int)            {}
func col2imRowsAVX2(d, s *float32, n, kw, stride int) {}
func col2imPadded512(d, s *float32, planes, kh, kw, oh, ow, wp, ld, sNext, dNext, cNext, rowMask, runMask int) {
}
func pixelsAVX2(dst *float32, src *uint8, n int)                                {}
func copyRowsAVX2(dst, src *float32, rows, cols, dstStride, srcStride, gap int) {}
func copyPlanes512(dst, src *float32, planes, rows, cols, dstStride, srcStride, gap, dstPlane, srcPlane int) {
}
func sumColumns512(dst, src *float32, rows, cols, ld int)            {}
func sumColumnsAVX2(dst, src *float32, rows, cols, ld int)           {}
func sumSquares512(x *float32, n int, s *[16]float64)                {}
func sumSquaresAVX2(x *float32, n int, s *[16]float64)               {}
func channelBias512(dst, x, b *float32, outer, channels, inner int)  {}
func channelBiasAVX2(dst, x, b *float32, outer, channels, inner int) {}
