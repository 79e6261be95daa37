//go:build amd64 && !purego

package kernels

// The loops of reduce_amd64.s; see reduce.go for what each computes.

// addRowAVX2 sets dst[i] = x[i] + b[i] for i < n, n a multiple of 8.
//
//go:noescape
func addRowAVX2(dst, x, b *float32, n int)

// addRow512 sets dst[i] = x[i] + b[i] for i < n.
//
//go:noescape
func addRow512(dst, x, b *float32, n int)

// sumColumnsAVX2 sets dst[c] = float32(Σ_r float64(src[r*ld+c])) for c < cols (a multiple of 8),
// rows >= 1.
//
//go:noescape
func sumColumnsAVX2(dst, src *float32, rows, cols, ld int)

// sumColumns512 is sumColumnsAVX2 for any cols >= 1.
//
//go:noescape
func sumColumns512(dst, src *float32, rows, cols, ld int)

// sumSquaresAVX2 adds float64(x[i])² into s[i%16] for i < n, n a multiple of 16.
//
//go:noescape
func sumSquaresAVX2(x *float32, n int, s *[16]float64)

// sumSquares512 is sumSquaresAVX2 with AVX-512.
//
//go:noescape
func sumSquares512(x *float32, n int, s *[16]float64)

// col2imRowsAVX2 adds s[t + q·stride] to d[t] in ascending q < kw for t < n, kw >= 1.
//
//go:noescape
func col2imRowsAVX2(d, s *float32, n, kw, stride int)

// col2imPadded512 is Col2imPadded's loop for float32 (col2im512_amd64.s): for planes planes, kh
// kernel rows and oh output rows, the padded row of wp <= 16 lanes (rowMask) at d gets, in
// ascending q < kw, the lanes [q, q+ow) (runMask << q) of the row of s at i·ow − q; then d moves
// on by dNext elements past a kernel row's oh rows and cNext past a plane's kh, s by sNext past a
// kernel row's.
//
//go:noescape
func col2imPadded512(d, s *float32, planes, kh, kw, oh, ow, wp, ld, sNext, dNext, cNext, rowMask, runMask int)

// pixelsAVX2 sets dst[i] = float32(src[i])/255 for i < n, n a multiple of 8.
//
//go:noescape
func pixelsAVX2(dst *float32, src *uint8, n int)

// copyRowsAVX2 copies rows >= 1 rows of cols elements from src (rows srcStride apart) to dst
// (dstStride apart), and writes gap zeros after every row of dst but the last: NarrowRows and
// WidenRows for float32.
//
//go:noescape
func copyRowsAVX2(dst, src *float32, rows, cols, dstStride, srcStride, gap int)

// copyPlanes512 copies planes >= 0 planes of rows rows of cols elements from src (rows srcStride
// apart, planes srcPlane apart) to dst (dstStride, dstPlane), and writes gap zeros after every
// row of dst but a plane's last: NarrowPlanes and WidenPlanes for float32 (copy512_amd64.s).
//
//go:noescape
func copyPlanes512(dst, src *float32, planes, rows, cols, dstStride, srcStride, gap, dstPlane, srcPlane int)

// channelBias512 sets dst[(o·channels+c)·inner+i] = x[...] + b[c] for o < outer, c < channels,
// i < inner (all >= 1): ChannelBiasAdd for float32.
//
//go:noescape
func channelBias512(dst, x, b *float32, outer, channels, inner int)

// channelBiasAVX2 is channelBias512 with AVX2.
//
//go:noescape
func channelBiasAVX2(dst, x, b *float32, outer, channels, inner int)
