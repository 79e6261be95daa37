package kernels

import "fmt"

// Conv2D is the geometry of a 2-D convolution with PyTorch's Conv2d semantics (groups = 1): an
// input batch x [N, C, H, W], weights w [OutC, C, KH, KW], output y [N, OutC, OH, OW] with
//
//	y[n,o,i,j] = Σ_{c,p,q} w[o,c,p,q] · x[n, c, i·StrideH − PadH + p·DilH, j·StrideW − PadW + q·DilW]
//
// where positions outside the image read as zero (padding), and
// OH = ⌊(H + 2·PadH − DilH·(KH−1) − 1) / StrideH⌋ + 1 (OW likewise). Padding may exceed half the
// kernel, as in PyTorch. A bias is a separate per-channel op (ChannelBiasAdd).
//
// The computation is im2col: for each image, Im2col lays the receptive fields out as the columns
// of a [C·KH·KW, OH·OW] matrix, so the convolution is one matrix product w[OutC, C·KH·KW] · col;
// the gradient of the input is Col2im of wᵀ·dy, and the gradient of the weights is
// Σ_n dy_n · col_nᵀ. The devices do the products on their GEMM.
type Conv2D struct {
	N, C, H, W       int
	OutC             int
	KH, KW           int
	StrideH, StrideW int
	PadH, PadW       int
	DilH, DilW       int
}

// OutH is the output height.
func (g Conv2D) OutH() int { return (g.H+2*g.PadH-g.DilH*(g.KH-1)-1)/g.StrideH + 1 }

// OutW is the output width.
func (g Conv2D) OutW() int { return (g.W+2*g.PadW-g.DilW*(g.KW-1)-1)/g.StrideW + 1 }

// K is the depth of the product: C·KH·KW, the rows of an image's column matrix.
func (g Conv2D) K() int { return g.C * g.KH * g.KW }

// P is the number of output positions of one image: OH·OW, the columns of its column matrix.
func (g Conv2D) P() int { return g.OutH() * g.OutW() }

// XLen, WLen and YLen are the element counts of the input, weight and output tensors.
func (g Conv2D) XLen() int { return g.N * g.C * g.H * g.W }

// WLen is OutC·C·KH·KW.
func (g Conv2D) WLen() int { return g.OutC * g.K() }

// YLen is N·OutC·OH·OW.
func (g Conv2D) YLen() int { return g.N * g.OutC * g.P() }

// FLOPs is the multiply-add count of the forward pass times two (the same for each of the two
// gradients).
func (g Conv2D) FLOPs() float64 {
	return 2 * float64(g.N) * float64(g.OutC) * float64(g.P()) * float64(g.K())
}

// String reads like PyTorch's repr.
func (g Conv2D) String() string {
	return fmt.Sprintf("conv2d(%dx%dx%dx%d -> %d, kernel %dx%d, stride %dx%d, padding %dx%d, dilation %dx%d)",
		g.N, g.C, g.H, g.W, g.OutC, g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW, g.DilH, g.DilW)
}

// Validate checks the geometry: positive sizes, kernels, strides and dilations, non-negative
// padding, and a dilated kernel that fits in the padded input (PyTorch's "kernel size can't be
// greater than actual input size").
func (g Conv2D) Validate() error {
	switch {
	case g.N <= 0 || g.C <= 0 || g.H <= 0 || g.W <= 0 || g.OutC <= 0:
		return fmt.Errorf("kernels: %v: sizes must be positive: %w", g, ErrInvalid)
	case g.KH <= 0 || g.KW <= 0:
		return fmt.Errorf("kernels: %v: kernel must be positive: %w", g, ErrInvalid)
	case g.StrideH <= 0 || g.StrideW <= 0:
		return fmt.Errorf("kernels: %v: stride must be positive: %w", g, ErrInvalid)
	case g.DilH <= 0 || g.DilW <= 0:
		return fmt.Errorf("kernels: %v: dilation must be positive: %w", g, ErrInvalid)
	case g.PadH < 0 || g.PadW < 0:
		return fmt.Errorf("kernels: %v: padding must be non-negative: %w", g, ErrInvalid)
	case g.H+2*g.PadH < g.DilH*(g.KH-1)+1 || g.W+2*g.PadW < g.DilW*(g.KW-1)+1:
		return fmt.Errorf("kernels: %v: the dilated kernel (%dx%d) is larger than the padded input (%dx%d): %w", g,
			g.DilH*(g.KH-1)+1, g.DilW*(g.KW-1)+1, g.H+2*g.PadH, g.W+2*g.PadW, ErrInvalid)
	}
	return nil
}

// validRange returns the output positions [lo, hi) of one axis whose input position
// o·stride − pad + k·dil lies in [0, size): the part of a column matrix row that is not padding.
func validRange(size, out, stride, pad, off int) (lo, hi int) {
	// o·stride ≥ pad − off  and  o·stride ≤ size − 1 + pad − off.
	a := pad - off
	if a > 0 {
		lo = (a + stride - 1) / stride
	}
	b := size - 1 + pad - off
	if b < 0 {
		return 0, 0
	}
	hi = min(out, b/stride+1)
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// Im2col writes the column matrix of one image x [C, H, W] into col [C·KH·KW, OH·OW]: row
// (c, p, q), column (i, j) holds x[c, i·StrideH − PadH + p·DilH, j·StrideW − PadW + q·DilW], or 0
// in the padding. Rows are written with contiguous copies when the stride is 1.
func Im2col[T Float](g Conv2D, col, x []T) error {
	if len(x) != g.C*g.H*g.W || len(col) != g.K()*g.P() {
		return fmt.Errorf("kernels: Im2col: x has %d elements, col %d, for one image of %v: %w", len(x), len(col), g, ErrInvalid)
	}
	im2colRows(g, col, g.P(), x, 0, g.OutH())
	return nil
}

// Im2colRows writes the columns of output rows [i0, i1) of Im2col's matrix into the C·KH·KW rows
// of col, ld apart, each (i1−i0)·OW long: a block of the column matrix small enough to stay in
// cache while a product reads it, where the whole matrix (K times the image) would go to memory
// and back. With ld a multiple of OH·OW, the column matrices of several images can lie side by
// side, so that one product covers them all.
func Im2colRows[T Float](g Conv2D, col []T, ld int, x []T, i0, i1 int) error {
	if err := g.checkRows("Im2colRows", len(x), len(col), ld, i0, i1); err != nil {
		return err
	}
	im2colRows(g, col, ld, x, i0, i1)
	return nil
}

// checkRows checks one image and a block of output rows [i0, i1) with its column matrix.
func (g Conv2D) checkRows(op string, lx, lcol, ld, i0, i1 int) error {
	if i0 < 0 || i1 > g.OutH() || i0 >= i1 {
		return fmt.Errorf("kernels: %s: output rows [%d, %d) are not a block of the %d rows of %v: %w", op, i0, i1, g.OutH(), g, ErrInvalid)
	}
	bw := (i1 - i0) * g.OutW()
	if ld < bw {
		return fmt.Errorf("kernels: %s: leading dimension %d is less than the %d columns of rows [%d, %d) of %v: %w", op, ld, bw, i0, i1, g, ErrInvalid)
	}
	if lx != g.C*g.H*g.W || lcol < (g.K()-1)*ld+bw {
		return fmt.Errorf("kernels: %s: image has %d elements, col %d, for rows [%d, %d) of one image of %v with leading dimension %d: %w", op, lx, lcol, i0, i1, g, ld, ErrInvalid)
	}
	return nil
}

// blockRows returns the output rows [lo, hi) of [i0, i1) whose input row, for kernel row offset
// off, lies in the image (an empty range at i0 if none).
func (g Conv2D) blockRows(i0, i1, off int) (lo, hi int) {
	lo, hi = validRange(g.H, g.OutH(), g.StrideH, g.PadH, off)
	lo, hi = max(lo, i0), min(hi, i1)
	if lo >= hi {
		return i0, i0
	}
	return lo, hi
}

func im2colRows[T Float](g Conv2D, col []T, ld int, x []T, i0, i1 int) {
	ow := g.OutW()
	bw := (i1 - i0) * ow // the width of a block row
	row := 0
	for c := 0; c < g.C; c++ {
		plane := x[c*g.H*g.W : (c+1)*g.H*g.W]
		for p := 0; p < g.KH; p++ {
			ilo, ihi := g.blockRows(i0, i1, p*g.DilH)
			for q := 0; q < g.KW; q++ {
				jlo, jhi := validRange(g.W, ow, g.StrideW, g.PadW, q*g.DilW)
				dst := col[row*ld : row*ld+bw]
				row++
				clear(dst[:(ilo-i0)*ow])
				clear(dst[(ihi-i0)*ow:])
				if g.StrideH == 1 && g.StrideW == 1 && g.DilH == 1 && ow == g.W && ilo < ihi {
					sameWidthRows(dst[(ilo-i0)*ow:(ihi-i0)*ow], plane, (ilo-g.PadH+p)*g.W+q*g.DilW-g.PadW, ow, jlo, jhi)
					continue
				}
				if g.StrideW == 1 && jlo < jhi && ilo < ihi {
					unitStrideRows(dst[(ilo-i0)*ow:(ihi-i0)*ow], plane[(ilo*g.StrideH-g.PadH+p*g.DilH)*g.W+jlo-g.PadW+q*g.DilW:], ow, jlo, jhi, g.StrideH*g.W)
					continue
				}
				for i := ilo; i < ihi; i++ {
					d := dst[(i-i0)*ow : (i-i0+1)*ow]
					for j := range d[:jlo] {
						d[j] = 0
					}
					for j := jhi; j < len(d); j++ {
						d[j] = 0
					}
					if jlo >= jhi {
						continue
					}
					src := plane[(i*g.StrideH-g.PadH+p*g.DilH)*g.W:]
					x0 := jlo*g.StrideW - g.PadW + q*g.DilW
					for j := jlo; j < jhi; j++ {
						d[j] = src[x0]
						x0 += g.StrideW
					}
				}
			}
		}
	}
}

// unitStrideRows fills the rows of one column-matrix row for a unit horizontal stride: each
// output row of w elements takes columns [jlo, jhi) from a run of the image starting at src (the
// run of the next row step elements on) and zeros elsewhere. Output rows are short (28 or fewer
// elements in an MNIST network), so the loops are written to keep their bounds checks out of
// the inner loop, and a loop beats memmove's call.
func unitStrideRows[T Float](d, src []T, w, jlo, jhi, step int) {
	n := jhi - jlo
	for len(d) >= w {
		r := d[:w:w]
		for j := range r[:jlo] {
			r[j] = 0
		}
		t, s := r[jlo:jhi], src[:n]
		for j := range t {
			t[j] = s[j]
		}
		for j := jhi; j < w; j++ {
			r[j] = 0
		}
		d = d[w:]
		if len(d) == 0 {
			break
		}
		src = src[step:]
	}
}

// sameWidthRows fills the rows of one column-matrix row whose output width equals the image's
// (stride 1, a "same" padding such as LeNet's first layer): the rows are then one contiguous run
// of the plane starting at s0 (negative when it starts in the padding), copied at once, after
// which the columns outside [jlo, jhi) of each row, which the run wrapped into from neighbouring
// image rows (or which lie beyond the plane), are zeroed.
func sameWidthRows[T Float](d, plane []T, s0, w, jlo, jhi int) {
	lo, hi := 0, len(d)
	if s0 < 0 {
		lo = -s0
	}
	if s0+hi > len(plane) {
		hi = len(plane) - s0
	}
	if lo < hi {
		copy(d[lo:hi], plane[s0+lo:s0+hi])
	}
	if jlo == 0 && jhi == w {
		return
	}
	for r := 0; r+w <= len(d); r += w {
		row := d[r : r+w]
		for j := range row[:jlo] {
			row[j] = 0
		}
		for j := jhi; j < w; j++ {
			row[j] = 0
		}
	}
}

// Col2im is the adjoint of Im2col: it sets dx [C, H, W] of one image to the sum, over every
// column-matrix entry, of the entry at the input position Im2col read it from (padding entries
// are dropped). The sums run row by row of col, in a fixed order.
func Col2im[T Float](g Conv2D, dx, col []T) error {
	if len(dx) != g.C*g.H*g.W || len(col) != g.K()*g.P() {
		return fmt.Errorf("kernels: Col2im: dx has %d elements, col %d, for one image of %v: %w", len(dx), len(col), g, ErrInvalid)
	}
	clear(dx)
	col2imRows(g, dx, col, g.P(), 0, g.OutH())
	return nil
}

// Col2imRows adds to dx the adjoint of Im2colRows for output rows [i0, i1) (col's rows ld
// apart): dx is not cleared, so that the blocks of an image can be added one after another.
func Col2imRows[T Float](g Conv2D, dx, col []T, ld int, i0, i1 int) error {
	if err := g.checkRows("Col2imRows", len(dx), len(col), ld, i0, i1); err != nil {
		return err
	}
	col2imRows(g, dx, col, ld, i0, i1)
	return nil
}

func col2imRows[T Float](g Conv2D, dx, col []T, ld int, i0, i1 int) {
	ow := g.OutW()
	bw := (i1 - i0) * ow
	row := 0
	for c := 0; c < g.C; c++ {
		plane := dx[c*g.H*g.W : (c+1)*g.H*g.W]
		for p := 0; p < g.KH; p++ {
			ilo, ihi := g.blockRows(i0, i1, p*g.DilH)
			for q := 0; q < g.KW; q++ {
				jlo, jhi := validRange(g.W, ow, g.StrideW, g.PadW, q*g.DilW)
				src := col[row*ld : row*ld+bw]
				row++
				if jlo >= jhi {
					continue
				}
				if g.StrideW == 1 && ilo < ihi {
					addUnitStrideRows(plane[(ilo*g.StrideH-g.PadH+p*g.DilH)*g.W+jlo-g.PadW+q*g.DilW:], src[(ilo-i0)*ow:(ihi-i0)*ow], ow, jlo, jhi, g.StrideH*g.W)
					continue
				}
				for i := ilo; i < ihi; i++ {
					s := src[(i-i0)*ow+jlo : (i-i0)*ow+jhi]
					dst := plane[(i*g.StrideH-g.PadH+p*g.DilH)*g.W:]
					x0 := jlo*g.StrideW - g.PadW + q*g.DilW
					for _, v := range s {
						dst[x0] += v
						x0 += g.StrideW
					}
				}
			}
		}
	}
}

// addUnitStrideRows is unitStrideRows' adjoint: it adds columns [jlo, jhi) of each w-element row
// of src to the run of dx at dst (the next row's run step elements on).
func addUnitStrideRows[T Float](dst, src []T, w, jlo, jhi, step int) {
	n := jhi - jlo
	for len(src) >= w {
		s, d := src[jlo:jhi], dst[:n]
		for j := range d {
			d[j] += s[j]
		}
		src = src[w:]
		if len(src) == 0 {
			break
		}
		dst = dst[step:]
	}
}

// IsPointwise reports whether an image's column matrix is the image itself (a 1×1 kernel with
// stride 1 and no padding): the devices then skip im2col and col2im.
func (g Conv2D) IsPointwise() bool {
	return g.KH == 1 && g.KW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0
}

func (g Conv2D) checkLens(op string, lens ...[2]int) error {
	if err := g.Validate(); err != nil {
		return err
	}
	for _, l := range lens {
		if l[0] != l[1] {
			return fmt.Errorf("kernels: %s: a tensor has %d elements, want %d, for %v: %w", op, l[0], l[1], g, ErrInvalid)
		}
	}
	return nil
}

// The whole-batch twins below are the serial reference: im2col and a plain product accumulated
// in float64. The CPU device runs Im2col and Col2im with its own blocked GEMM instead; Gorgonia's
// TapeMachine runs these (through package models/nn) and the tests compare against them.

// Conv2DForward sets y = conv(x, w).
func Conv2DForward[T Float](g Conv2D, y, x, w []T) error {
	if err := g.checkLens("Conv2DForward", [2]int{len(y), g.YLen()}, [2]int{len(x), g.XLen()}, [2]int{len(w), g.WLen()}); err != nil {
		return err
	}
	k, p := g.K(), g.P()
	col := make([]T, k*p)
	xs, ys := g.C*g.H*g.W, g.OutC*p
	for n := 0; n < g.N; n++ {
		if err := Im2col(g, col, x[n*xs:(n+1)*xs]); err != nil {
			return err
		}
		yn := y[n*ys : (n+1)*ys]
		for o := 0; o < g.OutC; o++ {
			wo := w[o*k : (o+1)*k]
			for j := 0; j < p; j++ {
				var s float64
				for r, wv := range wo {
					s += float64(wv) * float64(col[r*p+j])
				}
				yn[o*p+j] = T(s)
			}
		}
	}
	return nil
}

// Conv2DBackwardData sets dx = ∂⟨dy, conv(x, w)⟩/∂x: col2im of wᵀ·dy per image.
func Conv2DBackwardData[T Float](g Conv2D, dx, dy, w []T) error {
	if err := g.checkLens("Conv2DBackwardData", [2]int{len(dx), g.XLen()}, [2]int{len(dy), g.YLen()}, [2]int{len(w), g.WLen()}); err != nil {
		return err
	}
	k, p := g.K(), g.P()
	col := make([]T, k*p)
	xs, ys := g.C*g.H*g.W, g.OutC*p
	for n := 0; n < g.N; n++ {
		dyn := dy[n*ys : (n+1)*ys]
		for r := 0; r < k; r++ {
			for j := 0; j < p; j++ {
				var s float64
				for o := 0; o < g.OutC; o++ {
					s += float64(w[o*k+r]) * float64(dyn[o*p+j])
				}
				col[r*p+j] = T(s)
			}
		}
		if err := Col2im(g, dx[n*xs:(n+1)*xs], col); err != nil {
			return err
		}
	}
	return nil
}

// Conv2DBackwardFilter sets dw = ∂⟨dy, conv(x, w)⟩/∂w = Σ_n dy_n · col(x_n)ᵀ, accumulated in
// float64 over the whole batch.
func Conv2DBackwardFilter[T Float](g Conv2D, dw, x, dy []T) error {
	if err := g.checkLens("Conv2DBackwardFilter", [2]int{len(dw), g.WLen()}, [2]int{len(x), g.XLen()}, [2]int{len(dy), g.YLen()}); err != nil {
		return err
	}
	k, p := g.K(), g.P()
	col := make([]T, k*p)
	acc := make([]float64, g.OutC*k)
	xs, ys := g.C*g.H*g.W, g.OutC*p
	for n := 0; n < g.N; n++ {
		if err := Im2col(g, col, x[n*xs:(n+1)*xs]); err != nil {
			return err
		}
		dyn := dy[n*ys : (n+1)*ys]
		for o := 0; o < g.OutC; o++ {
			d := dyn[o*p : (o+1)*p]
			for r := 0; r < k; r++ {
				var s float64
				for j, v := range d {
					s += float64(v) * float64(col[r*p+j])
				}
				acc[o*k+r] += s
			}
		}
	}
	for i, v := range acc {
		dw[i] = T(v)
	}
	return nil
}
