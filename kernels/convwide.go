package kernels

import (
	"fmt"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// The full-width column matrix. For a convolution with unit strides and unit horizontal dilation
// the column matrix can be built from whole runs of the (padded) image instead of output rows:
// compute the output at every column of the padded width Wp = W + 2·PadW, not only the OW valid
// ones, and row (c, p, q) of the matrix is one contiguous run of padded plane c starting at
// p·DilH·Wp + q. The product then does (WideP/P − 1) more work, 7-36% at MNIST's shapes, and
// im2col becomes K long copies instead of K·OH short ones (the short copies cost more than the
// product at LeNet's sizes); col2im becomes K long additions. Columns j ≥ OW of an output row are
// not outputs: the device drops them from the forward product and feeds zeros there to the
// gradients, whose products then add nothing from them.

// IsWide reports whether g can use the full-width column matrix: unit strides and unit
// horizontal dilation.
func (g Conv2D) IsWide() bool { return g.StrideH == 1 && g.StrideW == 1 && g.DilW == 1 }

// PadH2 and PadW2 are the padded image's height and width, H + 2·PadH and W + 2·PadW.
func (g Conv2D) PadH2() int { return g.H + 2*g.PadH }

// PadW2 is W + 2·PadW.
func (g Conv2D) PadW2() int { return g.W + 2*g.PadW }

// WideP is the number of columns of one image's full-width column matrix: OH rows of the padded
// width, less the last row's KW−1 columns past the last output (which would read past the plane).
func (g Conv2D) WideP() int { return g.OutH()*g.PadW2() - (g.KW - 1) }

// PadImage copies one image x [C, H, W] into xp [C, H+2·PadH, W+2·PadW] with zeros around it.
func PadImage[T Float](g Conv2D, xp, x []T) error {
	if err := g.checkPadded("PadImage", "x", "xp", len(x), len(xp)); err != nil {
		return err
	}
	hp, wp := g.PadH2(), g.PadW2()
	if d32, ok := any(xp).([]float32); ok && level() >= cpufeat.AVX512 {
		// One call of the planes' masked moves for the whole image (a copy per row was a
		// memmove call for 14 or 28 floats): the rows, with the gap zeros between them (a row's
		// right pad and the next row's left pad), then the borders that call does not reach.
		first := g.PadH*wp + g.PadW // the first interior element of a plane
		copyPlanes512(&d32[first], &any(x).([]float32)[0], g.C, g.H, g.W, wp, g.W, wp-g.W, hp*wp, g.H*g.W)
		for c := range g.C {
			plane := d32[c*hp*wp : (c+1)*hp*wp]
			clear(plane[:first])
			clear(plane[first+(g.H-1)*wp+g.W:])
		}
		return nil
	}
	for c := 0; c < g.C; c++ {
		dst := xp[c*hp*wp : (c+1)*hp*wp]
		src := x[c*g.H*g.W : (c+1)*g.H*g.W]
		clear(dst[:g.PadH*wp])
		clear(dst[(g.PadH+g.H)*wp:])
		for i := 0; i < g.H; i++ {
			row := dst[(g.PadH+i)*wp : (g.PadH+i+1)*wp]
			clear(row[:g.PadW])
			copy(row[g.PadW:g.PadW+g.W], src[i*g.W:(i+1)*g.W])
			clear(row[g.PadW+g.W:])
		}
	}
	return nil
}

// CropImage sets one image dx [C, H, W] to the interior of dxp [C, H+2·PadH, W+2·PadW]: the
// adjoint of PadImage.
func CropImage[T Float](g Conv2D, dx, dxp []T) error {
	if err := g.checkPadded("CropImage", "dx", "dxp", len(dx), len(dxp)); err != nil {
		return err
	}
	hp, wp := g.PadH2(), g.PadW2()
	if d32, ok := any(dx).([]float32); ok && level() >= cpufeat.AVX512 {
		// The interior rows of every plane in one call of the planes' masked moves.
		copyPlanes512(&d32[0], &any(dxp).([]float32)[g.PadH*wp+g.PadW], g.C, g.H, g.W, g.W, wp, 0, g.H*g.W, hp*wp)
		return nil
	}
	for c := 0; c < g.C; c++ {
		src := dxp[c*hp*wp : (c+1)*hp*wp]
		dst := dx[c*g.H*g.W : (c+1)*g.H*g.W]
		for i := 0; i < g.H; i++ {
			copy(dst[i*g.W:(i+1)*g.W], src[(g.PadH+i)*wp+g.PadW:])
		}
	}
	return nil
}

// checkPadded checks one image of n elements and its padded copy of np.
func (g Conv2D) checkPadded(op, name, pname string, n, np int) error {
	if n != g.C*g.H*g.W || np != g.C*g.PadH2()*g.PadW2() {
		return fmt.Errorf("kernels: %s: %s has %d elements, %s %d, for one image of %v: %w", op, name, n, pname, np, g, ErrInvalid)
	}
	return nil
}

// checkWide checks the arguments of the functions between a padded image (lxp elements) and a
// column matrix of K rows of cols columns (lcol elements, rows ld apart): the full width's
// (WideP columns) or the compact one's (P), for the geometries IsWide takes.
func (g Conv2D) checkWide(op string, lxp, lcol, ld, cols int) error {
	if !g.IsWide() {
		return fmt.Errorf("kernels: %s: %v has a stride or a horizontal dilation above 1: %w", op, g, ErrInvalid)
	}
	if ld < cols || lxp != g.C*g.PadH2()*g.PadW2() || lcol < (g.K()-1)*ld+cols {
		return fmt.Errorf("kernels: %s: padded image has %d elements, col %d with leading dimension %d, for one image of %v (%d columns): %w",
			op, lxp, lcol, ld, g, cols, ErrInvalid)
	}
	return nil
}

// Im2colWide writes the full-width column matrix of one padded image xp (PadImage) into the
// C·KH·KW rows of col, ld apart, each WideP long: row (c, p, q), column i·Wp + j holds
// xp[c, i + p·DilH, j + q].
func Im2colWide[T Float](g Conv2D, col []T, ld int, xp []T) error {
	if err := g.checkWide("Im2colWide", len(xp), len(col), ld, g.WideP()); err != nil {
		return err
	}
	wp, plane, n := g.PadW2(), g.PadH2()*g.PadW2(), g.WideP()
	row := 0
	for c := 0; c < g.C; c++ {
		src := xp[c*plane : (c+1)*plane]
		for p := 0; p < g.KH; p++ {
			for q := 0; q < g.KW; q++ {
				off := p*g.DilH*wp + q
				copy(col[row*ld:row*ld+n], src[off:off+n])
				row++
			}
		}
	}
	return nil
}

// Col2imWide adds to the padded image gradient dxp the adjoint of Im2colWide: each row of col
// (ld apart) is added to the run of its plane that Im2colWide read it from. Each element receives
// its terms in the order of the rows, (c, p, q) ascending, one rounding each, whatever the level.
//
// The KW rows of one (c, p) are added together: element t of the run at c·plane + p·DilH·Wp takes
// col row (c, p, q) at t − q for every q that reaches it, so that it is loaded and stored once
// instead of KW times. Row by row, each row's loads overlapped the previous row's stores one
// element over (likely stalling on store forwarding), and at LeNet's second layer that loop took
// about a fifth of the input gradient's time on the Xeon; in one pass it takes 0.58-0.72x the
// time on Zen 2 (BenchmarkCol2imWide).
func Col2imWide[T Float](g Conv2D, dxp, col []T, ld int) error {
	if err := g.checkWide("Col2imWide", len(dxp), len(col), ld, g.WideP()); err != nil {
		return err
	}
	wp, plane, n := g.PadW2(), g.PadH2()*g.PadW2(), g.WideP()
	run := n + g.KW - 1 // elements of the plane that one (c, p) reaches
	row := 0
	for c := 0; c < g.C; c++ {
		for p := 0; p < g.KH; p++ {
			off := c*plane + p*g.DilH*wp
			col2imWideRows(dxp[off:off+run], col[row*ld:], n, g.KW, ld)
			row += g.KW
		}
	}
	return nil
}

// Im2colPadded writes the compact column matrix of one padded image xp (PadImage), Im2colRows'
// layout for the whole image: row (c, p, q) of col (ld apart), column i·OW + j holds
// xp[c, i + p·DilH, j + q], for the geometries IsWide takes. The KW rows of one (c, p) are one
// NarrowPlanes call (planes one element apart in xp). With it the forward product can write an
// image's output where it lies, where the full width's product writes OutC·WideP elements that
// a copy then narrows (see Im2colPaddedVectors).
func Im2colPadded[T Float](g Conv2D, col []T, ld int, xp []T) error {
	if err := g.checkWide("Im2colPadded", len(xp), len(col), ld, g.P()); err != nil {
		return err
	}
	wp, plane := g.PadW2(), g.PadH2()*g.PadW2()
	for c := range g.C {
		for pr := range g.KH {
			r := (c*g.KH + pr) * g.KW
			if err := NarrowPlanes(col[r*ld:], xp[c*plane+pr*g.DilH*wp:], g.KW, g.OutH(), g.OutW(), wp, ld, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// Im2colPaddedVectors reports whether Im2colPadded copies float32 rows in vector registers on
// this machine (AVX-512: NarrowPlanes' masked moves) for g.
func Im2colPaddedVectors(g Conv2D) bool { return g.IsWide() && level() >= cpufeat.AVX512 }

// Col2imPadded adds to the padded image gradient dxp the adjoint of the column matrix of one whole
// image as Im2colRows lays it out (K rows, ld apart, each P = OH·OW long, no full-width
// columns), for the geometries IsWide takes: dxp[c, i + p·DilH, t] += col[(c, p, q), i·OW + t − q]
// for every output row i and every 0 <= t − q < OW, in ascending (p, q). Those are Col2imRows'
// and Col2imWide's additions in their order (the full width's other terms are zeros, which add
// nothing), so the bits are theirs. It lets the input gradient's product skip the full width's
// (WideP/P − 1) more columns (LeNet conv2: 36%) where Col2imPaddedVectors says the rows are
// assembled in vector registers: one padded row of at most 16 lanes from KW shifted, masked rows
// of col, loaded and stored once per kernel row instead of a scalar loop over short runs.
func Col2imPadded[T Float](g Conv2D, dxp, col []T, ld int) error {
	if err := g.checkWide("Col2imPadded", len(dxp), len(col), ld, g.P()); err != nil {
		return err
	}
	wp, oh, ow := g.PadW2(), g.OutH(), g.OutW()
	if d32, ok := any(dxp).([]float32); ok && Col2imPaddedVectors(g) {
		plane, dstep := g.PadH2()*wp, g.DilH*wp
		col2imPadded512(&d32[0], &any(col).([]float32)[0], g.C, g.KH, g.KW, oh, ow, wp, ld,
			g.KW*ld-oh*ow, dstep-oh*wp, plane-g.KH*dstep, 1<<wp-1, 1<<ow-1)
		return nil
	}
	plane := g.PadH2() * wp
	for c := range g.C {
		for pr := range g.KH {
			rows := col[(c*g.KH+pr)*g.KW*ld:]
			for i := range oh {
				d := dxp[c*plane+(i+pr*g.DilH)*wp:][:wp]
				for t := range d {
					acc := d[t]
					for q := max(0, t-ow+1); q <= min(g.KW-1, t); q++ {
						acc += rows[q*ld+i*ow+t-q]
					}
					d[t] = acc
				}
			}
		}
	}
	return nil
}

// Col2imPaddedVectors reports whether Col2imPadded assembles float32 rows in vector registers for
// g on this machine: AVX-512 (masked loads that skip each shifted row's missing lanes) and padded
// rows of at most 16 lanes (LeNet's second layer: 14; cnn's: 16).
func Col2imPaddedVectors(g Conv2D) bool {
	return g.IsWide() && g.PadW2() <= 16 && level() >= cpufeat.AVX512
}

// col2imWideRows adds rows q < kw of s (ld apart, n long) into d, row q at d[q:]: d[t] +=
// s[q·ld + t − q] in ascending q, for every t < n + kw − 1 = len(d). Every row reaches d[t] for
// kw−1 <= t < n: there the float32 loop runs in assembly (the same additions in the same order).
func col2imWideRows[T Float](d, s []T, n, kw, ld int) {
	lo, done := kw-1, kw-1 // d[lo:done] is added by the assembly
	if d32, ok := any(d).([]float32); ok && n > lo {
		done += col2imRows32(d32[lo:n], any(s).([]float32)[lo:], kw, ld-1)
	}
	col2imEdge(d, s, 0, lo, n, kw, ld)
	col2imEdge(d, s, done, len(d), n, kw, ld)
}

// col2imEdge is col2imWideRows for t0 <= t < t1, each t from the rows that reach it.
func col2imEdge[T Float](d, s []T, t0, t1, n, kw, ld int) {
	for t := t0; t < t1; t++ {
		acc := d[t]
		for q := max(0, t-n+1); q <= min(kw-1, t); q++ {
			acc += s[q*(ld-1)+t]
		}
		d[t] = acc
	}
}

// NarrowRows copies rows rows of cols elements, srcStride apart in src, to dst back to back:
// dst[i·cols + j] = src[i·srcStride + j]. It drops the full-width columns j >= OW of a product's
// output rows (srcStride = Wp): short rows, which a copy call per row spent most of its time
// calling (cnn's first layer: 28 floats a row, 40% of its forward pass).
func NarrowRows[T Float](dst, src []T, rows, cols, srcStride int) error {
	if err := checkNarrow("NarrowRows", len(dst), len(src), rows, cols, srcStride); err != nil {
		return err
	}
	if rows == 0 || cols == 0 {
		return nil
	}
	if d32, ok := any(dst).([]float32); ok && level() >= cpufeat.AVX2 {
		copyRowsAVX2(&d32[0], &any(src).([]float32)[0], rows, cols, cols, srcStride, 0)
		return nil
	}
	for i := range rows {
		copy(dst[i*cols:(i+1)*cols], src[i*srcStride:])
	}
	return nil
}

// WidenRows is NarrowRows' adjoint: it copies rows rows of cols elements, back to back in src,
// to rows dstStride apart in dst, dst[i·dstStride + j] = src[i·cols + j], and sets the gap
// between them, dst[i·dstStride + j] for cols <= j < dstStride and i < rows−1, to zero (the
// last row ends at its cols-th element). It lays output gradients out at the full width.
func WidenRows[T Float](dst, src []T, rows, cols, dstStride int) error {
	if err := checkWiden("WidenRows", len(dst), len(src), rows, cols, dstStride); err != nil {
		return err
	}
	if rows == 0 {
		return nil
	}
	if d32, ok := any(dst).([]float32); ok && level() >= cpufeat.AVX2 {
		copyRowsAVX2(&d32[0], &any(src).([]float32)[0], rows, cols, dstStride, cols, dstStride-cols)
		return nil
	}
	for i := range rows {
		r := dst[i*dstStride:]
		copy(r[:cols], src[i*cols:(i+1)*cols])
		if i < rows-1 {
			clear(r[cols:dstStride])
		}
	}
	return nil
}

// checkNarrow checks NarrowRows' arguments: rows rows of cols, srcStride apart, from src into dst.
func checkNarrow(op string, ldst, lsrc, rows, cols, srcStride int) error {
	if rows < 0 || cols < 0 || srcStride < cols || ldst < rows*cols || rows > 0 && lsrc < (rows-1)*srcStride+cols {
		return fmt.Errorf("kernels: %s: %d rows of %d, %d apart, from %d elements into %d: %w", op, rows, cols, srcStride, lsrc, ldst, ErrInvalid)
	}
	return nil
}

// checkWiden checks WidenRows' arguments: rows rows of cols from src into dst, dstStride apart.
func checkWiden(op string, ldst, lsrc, rows, cols, dstStride int) error {
	if rows < 0 || cols < 0 || dstStride < cols || lsrc < rows*cols || rows > 0 && ldst < (rows-1)*dstStride+cols {
		return fmt.Errorf("kernels: %s: %d rows of %d from %d elements into %d, %d apart: %w", op, rows, cols, lsrc, ldst, dstStride, ErrInvalid)
	}
	return nil
}

// checkPlanes checks what NarrowPlanes and WidenPlanes need beyond the row checks of their last
// plane, which reaches furthest: a count and plane strides that are not negative, and a last
// plane that starts inside both slices. It returns the lengths left from the last plane's start.
func checkPlanes(op string, ldst, lsrc, planes, dstPlane, srcPlane int) (int, int, error) {
	if planes < 0 || dstPlane < 0 || srcPlane < 0 || planes > 0 && ((planes-1)*dstPlane > ldst || (planes-1)*srcPlane > lsrc) {
		return 0, 0, fmt.Errorf("kernels: %s: %d planes, %d and %d apart, in %d and %d elements: %w", op, planes, dstPlane, srcPlane, ldst, lsrc, ErrInvalid)
	}
	last := max(planes-1, 0)
	return ldst - last*dstPlane, lsrc - last*srcPlane, nil
}

// NarrowPlanes is NarrowRows for planes planes at once, plane i from src[i·srcPlane:] to
// dst[i·dstPlane:] in ascending i: the OutC channels of one image, which a NarrowRows call each
// spent much of their time calling.
func NarrowPlanes[T Float](dst, src []T, planes, rows, cols, srcStride, dstPlane, srcPlane int) error {
	ld, ls, err := checkPlanes("NarrowPlanes", len(dst), len(src), planes, dstPlane, srcPlane)
	if err == nil && planes > 0 {
		err = checkNarrow("NarrowPlanes", ld, ls, rows, cols, srcStride)
	}
	if err != nil || planes == 0 || rows == 0 || cols == 0 {
		return err
	}
	if d32, ok := any(dst).([]float32); ok && level() >= cpufeat.AVX512 {
		copyPlanes512(&d32[0], &any(src).([]float32)[0], planes, rows, cols, cols, srcStride, 0, dstPlane, srcPlane)
		return nil
	}
	for i := range planes {
		_ = NarrowRows(dst[i*dstPlane:], src[i*srcPlane:], rows, cols, srcStride)
	}
	return nil
}

// WidenPlanes is WidenRows for planes planes at once, plane i from src[i·srcPlane:] to
// dst[i·dstPlane:] in ascending i: an image's output gradients laid out at the full width, one
// call instead of one per channel.
func WidenPlanes[T Float](dst, src []T, planes, rows, cols, dstStride, dstPlane, srcPlane int) error {
	ld, ls, err := checkPlanes("WidenPlanes", len(dst), len(src), planes, dstPlane, srcPlane)
	if err == nil && planes > 0 {
		err = checkWiden("WidenPlanes", ld, ls, rows, cols, dstStride)
	}
	if err != nil || planes == 0 || rows == 0 {
		return err
	}
	if d32, ok := any(dst).([]float32); ok && level() >= cpufeat.AVX512 {
		copyPlanes512(&d32[0], &any(src).([]float32)[0], planes, rows, cols, dstStride, cols, dstStride-cols, dstPlane, srcPlane)
		return nil
	}
	for i := range planes {
		_ = WidenRows(dst[i*dstPlane:], src[i*srcPlane:], rows, cols, dstStride)
	}
	return nil
}
