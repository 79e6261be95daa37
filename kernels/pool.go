package kernels

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// PoolKind names a pooling reduction.
type PoolKind uint8

// The pooling kinds.
const (
	// MaxPool takes the largest element of each window (PyTorch's MaxPool2d), NaN when the window
	// holds one, +0 of +0 and −0 (Go's max); the gradient goes to the first element of the
	// window (row-major) equal to it. Where a NaN is the maximum, which element gets the
	// gradient is fixed (maxBackward) but not PyTorch's (the loss is NaN anyway).
	MaxPool PoolKind = iota
	// AvgPool takes the mean of each window (PyTorch's AvgPool2d): by default over the whole
	// window, padding counted as zeros (count_include_pad=True); with ExcludePad over the
	// elements inside the image only.
	AvgPool
)

// String is "max" or "avg".
func (k PoolKind) String() string {
	switch k {
	case MaxPool:
		return "max"
	case AvgPool:
		return "avg"
	}
	return fmt.Sprintf("PoolKind(%d)", uint8(k))
}

// Pool2D is the geometry of a 2-D pooling over NCHW images with PyTorch's semantics (dilation 1,
// ceil_mode False): x [N, C, H, W] to y [N, C, OH, OW], OH = ⌊(H + 2·PadH − KH) / StrideH⌋ + 1,
// windows starting at i·StrideH − PadH. As in PyTorch the padding is at most half the kernel, so
// every window holds at least one element of the image; max pooling never picks padding.
type Pool2D struct {
	Kind             PoolKind
	N, C, H, W       int
	KH, KW           int
	StrideH, StrideW int
	PadH, PadW       int
	// ExcludePad divides an average by the elements inside the image (count_include_pad=False).
	ExcludePad bool
}

// OutH is the output height.
func (g Pool2D) OutH() int { return (g.H+2*g.PadH-g.KH)/g.StrideH + 1 }

// OutW is the output width.
func (g Pool2D) OutW() int { return (g.W+2*g.PadW-g.KW)/g.StrideW + 1 }

// Planes is N·C: the work is split over planes.
func (g Pool2D) Planes() int { return g.N * g.C }

// XLen is N·C·H·W.
func (g Pool2D) XLen() int { return g.N * g.C * g.H * g.W }

// YLen is N·C·OH·OW.
func (g Pool2D) YLen() int { return g.N * g.C * g.OutH() * g.OutW() }

// String reads like PyTorch's repr.
func (g Pool2D) String() string {
	s := fmt.Sprintf("%vpool2d(%dx%dx%dx%d, kernel %dx%d, stride %dx%d, padding %dx%d", g.Kind, g.N, g.C, g.H, g.W,
		g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW)
	if g.Kind == AvgPool && g.ExcludePad {
		s += ", count_include_pad=False"
	}
	return s + ")"
}

// Validate checks the geometry with PyTorch's rules: positive sizes, kernel and stride, padding
// between 0 and half the kernel, a kernel no larger than the padded input.
func (g Pool2D) Validate() error {
	switch {
	case g.Kind != MaxPool && g.Kind != AvgPool:
		return fmt.Errorf("kernels: %v: unknown pooling: %w", g, ErrInvalid)
	case g.N <= 0 || g.C <= 0 || g.H <= 0 || g.W <= 0:
		return fmt.Errorf("kernels: %v: sizes must be positive: %w", g, ErrInvalid)
	case g.KH <= 0 || g.KW <= 0:
		return fmt.Errorf("kernels: %v: kernel must be positive: %w", g, ErrInvalid)
	case g.StrideH <= 0 || g.StrideW <= 0:
		return fmt.Errorf("kernels: %v: stride must be positive: %w", g, ErrInvalid)
	case g.PadH < 0 || g.PadW < 0 || 2*g.PadH > g.KH || 2*g.PadW > g.KW:
		return fmt.Errorf("kernels: %v: padding must be between 0 and half the kernel: %w", g, ErrInvalid)
	case g.H+2*g.PadH < g.KH || g.W+2*g.PadW < g.KW:
		return fmt.Errorf("kernels: %v: the kernel is larger than the padded input (%dx%d): %w", g, g.H+2*g.PadH, g.W+2*g.PadW, ErrInvalid)
	}
	return nil
}

// window returns the rows [h0, h1) and columns [w0, w1) of window (i, j) inside the image, and
// the average's divisor.
func (g Pool2D) window(i, j int) (h0, h1, w0, w1 int, div float64) {
	hs, ws := i*g.StrideH-g.PadH, j*g.StrideW-g.PadW
	h0, h1 = max(hs, 0), min(hs+g.KH, g.H)
	w0, w1 = max(ws, 0), min(ws+g.KW, g.W)
	if g.ExcludePad {
		div = float64((h1 - h0) * (w1 - w0))
	} else {
		// With ceil_mode False a window never reaches past the padding, so PyTorch's divisor
		// (the window clipped to the padded input) is the whole kernel.
		div = float64(g.KH * g.KW)
	}
	return
}

func (g Pool2D) checkRange(op string, p0, p1 int, lens ...[2]int) error {
	if err := g.Validate(); err != nil {
		return err
	}
	for _, l := range lens {
		if l[0] != l[1] {
			return fmt.Errorf("kernels: %s: a tensor has %d elements, want %d, for %v: %w", op, l[0], l[1], g, ErrInvalid)
		}
	}
	if p0 < 0 || p1 > g.Planes() || p0 > p1 {
		return fmt.Errorf("kernels: %s: planes [%d, %d) of %d: %w", op, p0, p1, g.Planes(), ErrInvalid)
	}
	return nil
}

// PoolForward sets y for the planes [p0, p1) of the N·C planes (the CPU device splits the planes
// over its cores). An average is summed in float64 in row-major window order.
func PoolForward[T Float](g Pool2D, y, x []T, p0, p1 int) error {
	if err := g.checkRange("PoolForward", p0, p1, [2]int{len(y), g.YLen()}, [2]int{len(x), g.XLen()}); err != nil {
		return err
	}
	oh, ow, hw := g.OutH(), g.OutW(), g.H*g.W
	for pl := p0; pl < p1; pl++ {
		plane, out := x[pl*hw:(pl+1)*hw], y[pl*oh*ow:(pl+1)*oh*ow]
		if g.Kind == MaxPool {
			maxPlane(g, plane, out)
			continue
		}
		// float32 flushes as FTZ/DAZ would: a subnormal input adds nothing, an average below
		// 2^-126 is a zero of its sign. On the Intel Xeon (family 6 model 167) converting or
		// dividing a subnormal takes a microcode assist, and half-subnormal inputs made the forward
		// and backward passes 2.0-2.5x slower.
		f32 := unsafe.Sizeof(plane[0]) == 4
		if p32, ok := any(plane).([]float32); ok && g.is2x2() {
			avg2x2f32(p32, any(out).([]float32), oh, ow, g.W)
			continue
		}
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				h0, h1, w0, w1, div := g.window(i, j)
				var s float64
				for h := h0; h < h1; h++ {
					for _, v := range plane[h*g.W+w0 : h*g.W+w1] {
						if f32 && zeroOrSubnormal(float32(v)) {
							continue // s starts at +0, and s + ±0 is s: skipping a zero changes nothing
						}
						s += float64(v)
					}
				}
				q := s / div
				if f32 && math.Abs(q) < 0x1p-126 {
					q = math.Copysign(0, q)
				}
				out[i*ow+j] = T(q)
			}
		}
	}
	return nil
}

// maxPlane sets out to the max pooling of one plane: each window's builtin max (NaN when one
// element is NaN; +0 over −0; order-independent), without branches on the data, which on random
// data mispredict about once per element. The 2×2, stride 2 windows of most networks get a loop
// of their own.
func maxPlane[T Float](g Pool2D, plane, out []T) {
	oh, ow, w := g.OutH(), g.OutW(), g.W
	if p32, ok := any(plane).([]float32); ok && g.is2x2() && oh > 0 && ow > 0 && level() >= cpufeat.AVX512 {
		// Sixteen windows a step, Go's max instruction for instruction (pool512_amd64.s).
		_, _ = p32[(2*oh-1)*w+2*ow-1], out[oh*ow-1]
		maxPool2x2F32(&any(out).([]float32)[0], &p32[0], oh, ow, w)
		return
	}
	if g.is2x2() {
		for i := 0; i < oh; i++ {
			r0, r1 := plane[2*i*w:2*i*w+2*ow], plane[(2*i+1)*w:(2*i+1)*w+2*ow]
			o := out[i*ow : (i+1)*ow]
			for j := range o {
				o[j] = max(r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1])
			}
		}
		return
	}
	for i := 0; i < oh; i++ {
		hs := i*g.StrideH - g.PadH
		h0, h1 := max(hs, 0), min(hs+g.KH, g.H)
		for j := 0; j < ow; j++ {
			ws := j*g.StrideW - g.PadW
			w0, w1 := max(ws, 0), min(ws+g.KW, w)
			m := plane[h0*w+w0]
			for h := h0; h < h1; h++ {
				for _, v := range plane[h*w+w0 : h*w+w1] {
					m = max(m, v)
				}
			}
			out[i*ow+j] = m
		}
	}
}

// avg2x2f32 is PoolForward's average over the 2×2 windows of stride 2 without padding of one
// float32 plane: the general loop's float64 sum in its order (row by row, from +0), with the same
// flushing, without the per-window bounds.
func avg2x2f32(plane, out []float32, oh, ow, w int) {
	add := func(s float64, v float32) float64 {
		if zeroOrSubnormal(v) { // adds nothing (see PoolForward)
			return s
		}
		return s + float64(v)
	}
	for i := range oh {
		r0, r1 := plane[2*i*w:2*i*w+2*ow], plane[(2*i+1)*w:(2*i+1)*w+2*ow]
		o := out[i*ow : i*ow+ow]
		for j := range o {
			q := add(add(add(add(0, r0[2*j]), r0[2*j+1]), r1[2*j]), r1[2*j+1]) / 4
			if math.Abs(q) < 0x1p-126 {
				q = math.Copysign(0, q)
			}
			o[j] = float32(q)
		}
	}
}

// avgBackward2x2f32 is PoolBackward's average over the 2×2 windows of stride 2 without padding
// of one float32 plane, d cleared: each element of a window gets +0 + dy/4, the general loop's
// sum, with the same flushing (nothing where dy/4 would be below 2^-126).
func avgBackward2x2f32(up, d []float32, oh, ow, w int) {
	for i := range oh {
		r0, r1 := d[2*i*w:2*i*w+2*ow], d[(2*i+1)*w:(2*i+1)*w+2*ow]
		u := up[i*ow : i*ow+ow]
		for j, g := range u {
			if math.Abs(float64(g)) < 4*0x1p-126 {
				continue
			}
			v := g / 4
			r0[2*j] += v
			r0[2*j+1] += v
			r1[2*j] += v
			r1[2*j+1] += v
		}
	}
}

func (g Pool2D) is2x2() bool {
	return g.KH == 2 && g.KW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.PadH == 0 && g.PadW == 0
}

// maxBackward adds each window's up to d at its argmax, for one plane given as the bits of its
// elements (int32 for float32, int64 for float64). The argmax is taken over order keys, the bits
// turned from sign-magnitude to two's complement, whose integer order is the floats' order (−0
// below +0) with positive NaNs above +Inf and negative NaNs below −Inf: the first maximum of a
// window without NaN, and a fixed element for one with NaN. Integer comparisons with plain
// assignments compile to conditional moves, so there is no data-dependent branch. pool.cu takes
// the same keys.
func maxBackward[T Float, I int32 | int64](g Pool2D, bits []I, up, d []T) {
	sh := I(8*unsafe.Sizeof(I(0)) - 1)
	mask := I(1)<<sh - 1
	key := func(b I) I { return b ^ (b>>sh)&mask }
	oh, ow, w := g.OutH(), g.OutW(), g.W
	if g.is2x2() {
		for i := 0; i < oh; i++ {
			at0, at1 := 2*i*w, (2*i+1)*w
			r0, r1 := bits[at0:at0+2*ow], bits[at1:at1+2*ow]
			u := up[i*ow : (i+1)*ow]
			for j := range u {
				best, at := key(r0[2*j]), at0+2*j
				if k := key(r0[2*j+1]); k > best {
					best, at = k, at0+2*j+1
				}
				if k := key(r1[2*j]); k > best {
					best, at = k, at1+2*j
				}
				if k := key(r1[2*j+1]); k > best {
					at = at1 + 2*j + 1
				}
				d[at] += u[j]
			}
		}
		return
	}
	for i := 0; i < oh; i++ {
		hs := i*g.StrideH - g.PadH
		h0, h1 := max(hs, 0), min(hs+g.KH, g.H)
		for j := 0; j < ow; j++ {
			ws := j*g.StrideW - g.PadW
			w0, w1 := max(ws, 0), min(ws+g.KW, w)
			best, at := key(bits[h0*w+w0]), h0*w+w0
			for h := h0; h < h1; h++ {
				for k := h*w + w0; k < h*w+w1; k++ {
					if kk := key(bits[k]); kk > best {
						best, at = kk, k
					}
				}
			}
			d[at] += up[i*ow+j]
		}
	}
}

// maxBackward2x2f32 is maxBackward's 2×2 loop for float32 written without type parameters, which
// keeps the keys in registers (the generic version spills them through its dictionary). The
// windows do not overlap, so it writes every element of d, the window's gradient at its argmax
// and zeros elsewhere, with no read-modify-write (a scattered += at a data-dependent address
// made this loop three times slower) and no clearing pass first. The gradient is written as
// u + 0, the bits of 0 + u (−0 becomes +0) that the CUDA gather adds up.
func maxBackward2x2f32(bits []int32, up, d []float32, oh, ow, w int) {
	key := func(b int32) int64 { return int64(b ^ (b>>31)&0x7fffffff) }
	i0 := 0
	if oh > 0 && ow > 0 && level() >= cpufeat.AVX512 {
		// Sixteen windows a step with the same keys and selects (pool512_amd64.s); the clearing
		// of the elements in no window below.
		_, _, _ = bits[(2*oh-1)*w+2*ow-1], d[(2*oh-1)*w+2*ow-1], up[oh*ow-1]
		maxPool2x2BackF32(&d[0], (*float32)(unsafe.Pointer(&bits[0])), &up[0], oh, ow, w)
		i0 = oh
	}
	for i := 0; i < i0; i++ {
		if 2*ow < w { // an odd width: the last column is in no window
			d[2*i*w+w-1], d[(2*i+1)*w+w-1] = 0, 0
		}
	}
	for i := i0; i < oh; i++ {
		at0, at1 := 2*i*w, (2*i+1)*w
		r0, r1 := bits[at0:at0+2*ow], bits[at1:at1+2*ow]
		d0, d1 := d[at0:at0+2*ow], d[at1:at1+2*ow]
		u := up[i*ow : (i+1)*ow]
		for j := range u {
			// A select without branches: (best − k) >> 63 is all ones exactly when k > best
			// (int64 keys of int32 bits cannot overflow), and picks the candidate.
			k0, k1, k2, k3 := key(r0[2*j]), key(r0[2*j+1]), key(r1[2*j]), key(r1[2*j+1])
			sel := int64(0)
			best := k0
			m := (best - k1) >> 63
			sel ^= (sel ^ 1) & m
			best = max(best, k1)
			m = (best - k2) >> 63
			sel ^= (sel ^ 2) & m
			best = max(best, k2)
			m = (best - k3) >> 63
			sel ^= (sel ^ 3) & m
			g := int64(math.Float32bits(u[j] + 0))
			// (sel^k − 1) >> 63 is all ones exactly when sel == k.
			d0[2*j] = math.Float32frombits(uint32(g & ((sel - 1) >> 63)))
			d0[2*j+1] = math.Float32frombits(uint32(g & (((sel ^ 1) - 1) >> 63)))
			d1[2*j] = math.Float32frombits(uint32(g & (((sel ^ 2) - 1) >> 63)))
			d1[2*j+1] = math.Float32frombits(uint32(g & (((sel ^ 3) - 1) >> 63)))
		}
		if 2*ow < w { // an odd width: the last column is in no window
			d0[:w][w-1], d1[:w][w-1] = 0, 0
		}
	}
	if 2*oh*w < len(d) { // an odd height: the last row is in no window
		clear(d[2*oh*w:])
	}
}

// PoolBackward sets dx = ∂⟨dy, pool(x)⟩/∂x for the planes [p0, p1): a max window passes dy to its
// argmax (recomputed from x, so nothing is kept from the forward pass), an average window dy/div
// to each of its elements. Each element's contributions are added in row-major window order, the
// order the CUDA kernel's per-element gather uses, so the two agree bit for bit. x is not read
// for average pooling.
func PoolBackward[T Float](g Pool2D, dx, x, dy []T, p0, p1 int) error {
	if err := g.checkRange("PoolBackward", p0, p1, [2]int{len(dx), g.XLen()}, [2]int{len(x), g.XLen()}, [2]int{len(dy), g.YLen()}); err != nil {
		return err
	}
	oh, ow, hw := g.OutH(), g.OutW(), g.H*g.W
	for pl := p0; pl < p1; pl++ {
		plane, d, up := x[pl*hw:(pl+1)*hw], dx[pl*hw:(pl+1)*hw], dy[pl*oh*ow:(pl+1)*oh*ow]
		if g.Kind == MaxPool {
			if b32, ok := any(plane).([]float32); ok && g.is2x2() {
				bits := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(b32))), len(b32))
				maxBackward2x2f32(bits, any(up).([]float32), any(d).([]float32), oh, ow, g.W)
				continue
			}
			clear(d)
			if unsafe.Sizeof(plane[0]) == 4 {
				maxBackward(g, unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(plane))), len(plane)), up, d)
			} else {
				maxBackward(g, unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(plane))), len(plane)), up, d)
			}
			continue
		}
		clear(d)
		f32 := unsafe.Sizeof(plane[0]) == 4
		if d32, ok := any(d).([]float32); ok && g.is2x2() {
			avgBackward2x2f32(any(up).([]float32), d32, oh, ow, g.W)
			continue
		}
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				h0, h1, w0, w1, div := g.window(i, j)
				u := up[i*ow+j]
				if f32 && math.Abs(float64(u)) < div*0x1p-126 { // dy/div below 2^-126, or dy subnormal
					continue // would add a zero of dy's sign: d's elements are +0 or nonzero, unchanged
				}
				v := u / T(div)
				for h := h0; h < h1; h++ {
					row := d[h*g.W+w0 : h*g.W+w1]
					for k := range row {
						row[k] += v
					}
				}
			}
		}
	}
	return nil
}
