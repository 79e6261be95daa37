package cpu

import (
	"sync"
	"sync/atomic"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu/gemm"
	"github.com/gotrain/gotrain/kernels"
)

// The convolution runs im2col and the blocked GEMM of package gemm by blocks (convBlockElems and
// kernels.IsWide say why and how): for unit strides, the full-width column matrices of a few
// whole (padded) images side by side (kernels.Im2colWide), but for the float32 passes where the
// full width costs more than it saves (convCompactData, convCompactForward: the compact matrix);
// otherwise those of a few whole images (kernels.Im2colRows), or of a large image's output rows.
// For the columns of one block,
// y = w · col(x), dcol = wᵀ · dy then col2im, dw += dy · col(x)ᵀ. A batch is cut into at most
// convChunks chunks of whole images; the cores take chunks, each with its own serial GEMM engine
// and buffers, because the products of small images (LeNet's 16×544 from a depth of 150 for a
// block of four) are too small to split. The filter gradient of each chunk goes to its own
// partial sum, and the partials are added in chunk order in float64: the chunks depend only on
// N, so the bits of every result are the same for any number of cores. A batch of fewer images
// than cores runs on the calling goroutine with the device's parallel GEMM instead.

func init() {
	execs.Register(backend.OpConv2D, func(d *Device, c *backend.Call, b []*Buffer) error {
		return d.conv(convForward, c.Attrs.(*kernels.Conv2D), b[0], b[1], b[2])
	})
	execs.Register(backend.OpConv2DGradInput, func(d *Device, c *backend.Call, b []*Buffer) error {
		return d.conv(convData, c.Attrs.(*kernels.Conv2D), b[0], b[1], b[2])
	})
	execs.Register(backend.OpConv2DGradFilter, func(d *Device, c *backend.Call, b []*Buffer) error {
		return d.conv(convFilter, c.Attrs.(*kernels.Conv2D), b[0], b[1], b[2])
	})
}

// convChunks bounds the chunks of a batch (and so the partial filter gradients kept). A variable
// so that tests can make chunks of many images.
var convChunks = 16

type convKind uint8

const (
	convForward convKind = iota // out = y, a = x, b = w
	convData                    // out = dx, a = dy, b = w
	convFilter                  // out = dw, a = x, b = dy
)

// convWS is one goroutine's scratch: a serial GEMM engine and the blocks' buffers. It only grows.
type convWS struct {
	eng *gemm.Engine
	s32 convScratch[float32]
	s64 convScratch[float64]
}

// convTask is the device's one long-lived convolution in flight (see job for why long-lived).
type convTask struct {
	d          *Device
	kind       convKind
	g          kernels.Conv2D
	out, a, b  *Buffer
	per        int // images per chunk
	ws         []convWS
	next       atomic.Int32
	serialGemm bool
	partT      bool      // the partial filter gradients are transposed, [K, OutC] (see filterT)
	part32     []float32 // convChunks partial filter gradients
	part64     []float64
	mu         sync.Mutex
	err        error
}

func (t *convTask) fail(err error) {
	if err != nil {
		t.mu.Lock()
		if t.err == nil {
			t.err = err
		}
		t.mu.Unlock()
	}
}

// Range runs chunks [lo, hi).
func (t *convTask) Range(lo, hi int) {
	ws := &t.ws[t.next.Add(1)-1]
	if t.out.isF64() {
		convChunksRange(t, ws, &ws.s64, &t.part64, t.out.F64, t.a.F64, t.b.F64, lo, hi)
	} else {
		convChunksRange(t, ws, &ws.s32, &t.part32, t.out.F32, t.a.F32, t.b.F32, lo, hi)
	}
}

func newConvTask() any { return &convTask{} }

func (d *Device) conv(kind convKind, g *kernels.Conv2D, out, a, b *Buffer) error {
	t := d.opState(backend.OpConv2D, newConvTask).(*convTask)
	t.d, t.kind, t.g, t.out, t.a, t.b = d, kind, *g, out, a, b
	workers := d.pool.Workers()
	if len(t.ws) < workers {
		t.ws = make([]convWS, workers)
		for i := range t.ws {
			t.ws[i].eng = gemm.New(nil)
		}
	}
	chunks := min(g.N, convChunks)
	t.per = (g.N + chunks - 1) / chunks
	chunks = (g.N + t.per - 1) / t.per
	t.next.Store(0)
	t.err = nil
	if kind == convFilter {
		if out.isF64() {
			t.part64 = grow(t.part64, chunks*g.WLen())
		} else {
			t.part32 = grow(t.part32, chunks*g.WLen())
		}
	}
	t.partT = kind == convFilter && filterT && !g.IsPointwise() && convWideBlock(g) > 0 && g.K() > g.OutC
	t.serialGemm = g.N >= workers
	if t.serialGemm {
		d.pool.Run(t, chunks, 1)
	} else {
		t.Range(0, chunks) // on this goroutine, each product split over the cores
	}
	if t.err == nil && kind == convFilter {
		rows := 1 // the partials' layout: [OutC, K], or [K, OutC] transposed
		if t.partT {
			rows = g.OutC
		}
		if out.isF64() {
			sumParts(out.F64, t.part64, chunks, rows)
		} else {
			sumParts(out.F32, t.part32, chunks, rows)
		}
	}
	t.out, t.a, t.b = nil, nil, nil
	return t.err
}

func grow[T kernels.Float](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// sumParts sets dst to the sum of the chunks partials of len(dst) elements each, in chunk order,
// in float64. rows > 1 reads the partials transposed, [len(dst)/rows, rows] each: dst[o·K + j] =
// Σ_c parts[c][j·rows + o] (see filterT); rows = 1 is the same layout as dst.
func sumParts[T kernels.Float](dst, parts []T, chunks, rows int) {
	n := len(dst)
	cols := n / rows
	for o := range rows {
		for j := range cols {
			var s float64
			for c := 0; c < chunks; c++ {
				s += float64(parts[c*n+j*rows+o])
			}
			dst[o*cols+j] = T(s)
		}
	}
}

// filterT computes a full-width filter gradient transposed where the filter is deeper than it
// has outputs (K > OutC): dwᵀ = col(x) · dyᵀ, whose B is the output gradients (OutC rows) rather
// than the column matrix (K rows), the operand a transposed-B product packs. LeNet conv2 packed
// 150 rows a block this way instead of 16. The FMAs are the same products in the same order over
// the block's columns (a·b = b·a), so the bits are the same. A variable so that tests can compare.
var filterT = true

// gemmT runs one product on e (float32 or float64 by T).
func gemmT[T kernels.Float](e *gemm.Engine, transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) error {
	switch a := any(a).(type) {
	case []float32:
		return e.Sgemm(transA, transB, m, n, k, 1, a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		return e.Dgemm(transA, transB, m, n, k, 1, a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
	return nil
}

// convBlockElems bounds a block of the column matrix (elements), which stays in L2 between
// im2col writing it and the product reading it (and, for the input gradient, between the product
// and col2im), instead of the whole matrix, K times the image, going to memory and back. Where an
// image's column matrix is larger, its output rows are taken in blocks; where several fit, the
// column matrices of that many images lie side by side and one product covers them, because the
// per-image products of small images (LeNet's second layer: 16×100 from a depth of 150) are too
// small for the GEMM's tiles and call overhead. A variable so that tests can force small blocks.
var convBlockElems = 64 << 10

// convBlock returns the images and the output rows of one block for g: several whole images
// where two or more fit in convBlockElems, else one image's rows in blocks of about the same
// size, each within convBlockElems where one output row fits.
func convBlock(g *kernels.Conv2D) (imgs, rows int) {
	oh, rowElems := g.OutH(), g.K()*g.OutW()
	if imgs := convBlockElems / max(1, rowElems*oh); imgs >= 2 {
		return imgs, oh
	}
	rows = max(1, min(oh, convBlockElems/max(1, rowElems)))
	blocks := (oh + rows - 1) / rows
	return 1, (oh + blocks - 1) / blocks
}

// convScratch is one goroutine's scratch of one element type: the column matrix of a block, the
// block's outputs (or output gradients) laid side by side as the product reads them, and its
// padded images (or their gradients) for the full-width matrix.
type convScratch[T kernels.Float] struct {
	col, ys, xp []T
}

// convWide enables the full-width column matrix (kernels.IsWide says when it applies and why it
// pays). A variable so that tests can run the other paths on the same geometries.
var convWide = true

// convWideBlock returns the images of one full-width block for g, or 0 where the full-width
// matrix is not used: a geometry it does not apply to, or an image whose full-width matrix is
// far larger than a block (the row blocks keep their scratch within the block there).
func convWideBlock(g *kernels.Conv2D) int {
	if !convWide || !g.IsWide() {
		return 0
	}
	per := g.K() * g.WideP()
	if per > 4*convBlockElems {
		return 0
	}
	return max(1, convBlockElems/per)
}

// convColAlign is the width of the GEMM's widest micro-panel (AVX-512: 32 float32 columns).
const convColAlign = 32

// wideLD is the leading dimension of a full-width block of cnt images of np columns, rounded up
// to whole micro-panels.
func wideLD(cnt, np int) int { return (cnt*np + convColAlign - 1) / convColAlign * convColAlign }

// convWideImages runs one full-width block of cnt images from image n0: their full-width column
// matrices side by side (leading dimension cnt·WideP) and one product for them all. The forward
// pass keeps the valid columns of the product; the gradients are fed the output gradients with
// zeros at the columns past each output row, so those columns add nothing.
func convWideImages[T kernels.Float](t *convTask, eng *gemm.Engine, sc *convScratch[T], part []T, beta T, out, a, b []T, n0, cnt int) {
	g := &t.g
	k, p, oh, ow := g.K(), g.P(), g.OutH(), g.OutW()
	xs, ys := g.C*g.H*g.W, g.OutC*p
	wp, np := g.PadW2(), g.WideP()
	ps := g.C * g.PadH2() * wp
	pad := g.PadH != 0 || g.PadW != 0
	ld := cnt * np
	if t.kind != convFilter {
		// Whole micro-panels: the forward product and the input gradient's then read B where it
		// lies and pack no ragged last panel (LeNet's conv2: 150 rows of 24 columns, 17% of its
		// forward pass). The columns past cnt·np are computed from whatever the buffers hold and
		// dropped. Only n grows, so the results are the same bits; the filter gradient keeps
		// cnt·np, its depth, whose kc slices would otherwise move.
		ld = wideLD(cnt, np)
	}
	col, yb := sc.col[:k*ld], sc.ys[:g.OutC*ld]
	// padded returns image m's input padded (the input itself without padding).
	padded := func(m int, x []T) []T {
		img := x[(n0+m)*xs : (n0+m+1)*xs]
		if !pad {
			return img
		}
		xp := sc.xp[m*ps : (m+1)*ps]
		t.fail(kernels.PadImage(*g, xp, img))
		return xp
	}
	// wideDy lays the images' output gradients out in yb, row o, image m's column i·Wp + j, with
	// zeros at j ≥ OW (the last row has exactly OW columns): one call per image for its OutC
	// channels (a call per channel was 8% of LeNet conv2's input gradient on the Xeon).
	wideDy := func(dy []T) {
		for m := range cnt {
			t.fail(kernels.WidenPlanes(yb[m*np:], dy[(n0+m)*ys:(n0+m+1)*ys], g.OutC, oh, ow, wp, ld, p))
		}
	}
	switch t.kind {
	case convForward:
		for m := range cnt {
			t.fail(kernels.Im2colWide(*g, col[m*np:], ld, padded(m, a)))
		}
		t.fail(gemmT(eng, false, false, g.OutC, ld, k, b, k, col, ld, 0, yb, ld))
		for m := range cnt {
			t.fail(kernels.NarrowPlanes(out[(n0+m)*ys:(n0+m+1)*ys], yb[m*np:], g.OutC, oh, ow, wp, p, ld))
		}
	case convData:
		wideDy(a)
		t.fail(gemmT(eng, true, false, k, ld, g.OutC, b, k, yb, ld, 0, col, ld))
		for m := range cnt {
			col2imImage(t, sc, out[(n0+m)*xs:(n0+m+1)*xs], col[m*np:], ld, m, false)
		}
	case convFilter:
		for m := range cnt {
			t.fail(kernels.Im2colWide(*g, col[m*np:], ld, padded(m, a)))
		}
		wideDy(b)
		if t.partT {
			t.fail(gemmT(eng, false, true, k, g.OutC, ld, col, ld, yb, ld, beta, part, g.OutC))
		} else {
			t.fail(gemmT(eng, false, true, g.OutC, k, ld, yb, ld, col, ld, beta, part, k))
		}
	}
}

// convCompactData runs the float32 input gradient of the full-width geometries on the compact
// column matrix where kernels.Col2imPaddedVectors says its col2im runs in vector registers: the
// full width's product computes (WideP/P − 1) more columns (LeNet conv2: 36%), and at a depth of
// OutC (16) that product is bound by writing its output. The same bits as the full width
// (kernels.Col2imPadded). A variable so that tests can compare.
var convCompactData = true

// convCompactForward runs the float32 forward pass of the full-width geometries with a shallow
// filter (K <= convCompactForwardK) one image at a time on the compact column matrix
// (kernels.Im2colPadded), so that the product writes the image's output where it lies. At such
// depths the product is bound by writing its output, and the full width's product writes
// OutC·WideP elements into a block that a copy then narrows into the output (cnn conv1: 12.8 MB
// a batch, 43% of the pass's time), where im2col of the compact matrix copies K·P short rows.
// The same bits: the same products in the same order. A variable so that tests can compare.
var convCompactForward = true

// convCompactForwardK is the deepest filter the forward pass takes compact. Measured on the Xeon
// (BenchmarkConv, conv/gemm): the first layers, K = 9 (cnn) and 25 (lenet5), 0.68 -> 1.02 and
// 0.82 -> 1.00; the second, K = 150 and 288, 1.33 -> 0.72 and 1.9 -> 1.7 (their products are
// bound by the FMAs, and the compact matrix's short rows cost more to copy than the full width's
// narrowing).
const convCompactForwardK = 32

// convCompactForwardImage runs the forward pass of image n on its compact column matrix.
func convCompactForwardImage[T kernels.Float](t *convTask, eng *gemm.Engine, sc *convScratch[T], out, a, b []T, n int) {
	g := &t.g
	k, p := g.K(), g.P()
	xs, ys := g.C*g.H*g.W, g.OutC*p
	x := a[n*xs : (n+1)*xs]
	if g.PadH != 0 || g.PadW != 0 {
		xp := sc.xp[:g.C*g.PadH2()*g.PadW2()]
		t.fail(kernels.PadImage(*g, xp, x))
		x = xp
	}
	col := sc.col[:k*p]
	t.fail(kernels.Im2colPadded(*g, col, p, x))
	t.fail(gemmT(eng, false, false, g.OutC, p, k, b, k, col, p, 0, out[n*ys:(n+1)*ys], p))
}

// convCompactImages runs the input gradient of one block of cnt images from image n0 on their
// compact column matrices side by side (leading dimension cnt·P rounded up to whole micro-panels,
// as convWideImages does): the output gradients copied into the product's [OutC, cnt·P] matrix
// one call per image, one product, then each image's col2im into its (padded) gradient.
func convCompactImages[T kernels.Float](t *convTask, eng *gemm.Engine, sc *convScratch[T], out, a, b []T, n0, cnt int) {
	g := &t.g
	k, p := g.K(), g.P()
	xs, ys := g.C*g.H*g.W, g.OutC*p
	ld := wideLD(cnt, p)
	col, yb := sc.col[:k*ld], sc.ys[:g.OutC*ld]
	for m := range cnt {
		t.fail(kernels.WidenPlanes(yb[m*p:], a[(n0+m)*ys:(n0+m+1)*ys], g.OutC, 1, p, p, ld, p))
	}
	t.fail(gemmT(eng, true, false, k, ld, g.OutC, b, k, yb, ld, 0, col, ld))
	for m := range cnt {
		col2imImage(t, sc, out[(n0+m)*xs:(n0+m+1)*xs], col[m*p:], ld, m, true)
	}
}

// col2imImage sets dx, the gradient of image m of a block, from its column matrix col (ld
// apart): the full-width one (kernels.Col2imWide) or, compact, the compact one
// (kernels.Col2imPadded). Both add into a padded image: dx itself without padding, else the
// image's padded scratch, then cropped into dx.
func col2imImage[T kernels.Float](t *convTask, sc *convScratch[T], dx, col []T, ld, m int, compact bool) {
	g := &t.g
	pad := g.PadH != 0 || g.PadW != 0
	dst := dx
	if pad {
		ps := g.C * g.PadH2() * g.PadW2()
		dst = sc.xp[m*ps : (m+1)*ps]
	}
	clear(dst)
	if compact {
		t.fail(kernels.Col2imPadded(*g, dst, col, ld))
	} else {
		t.fail(kernels.Col2imWide(*g, dst, col, ld))
	}
	if pad {
		t.fail(kernels.CropImage(*g, dx, dst))
	}
}

func convChunksRange[T kernels.Float](t *convTask, ws *convWS, sc *convScratch[T], partp *[]T, out, a, b []T, lo, hi int) {
	g := &t.g
	eng := ws.eng
	if !t.serialGemm {
		eng = t.d.gemm
	}
	if g.IsPointwise() {
		convPointwise(t, eng, partp, out, a, b, lo, hi)
		return
	}
	// A block is imgs images full width, else imgs images side by side or one image's rows.
	imgs, rows := convWideBlock(g), 0
	wide := imgs > 0
	_, f32 := any(out).([]float32)
	compact := wide && t.kind == convData && f32 && convCompactData && kernels.Col2imPaddedVectors(*g)
	compactFwd := wide && t.kind == convForward && f32 && convCompactForward && g.K() <= convCompactForwardK && kernels.Im2colPaddedVectors(*g)
	if wide {
		// The full width's blocks, or the compact matrix's: cols columns of K rows (and the
		// output block's OutC rows), and a padded copy per image.
		cols := wideLD(imgs, g.WideP())
		switch {
		case compactFwd: // one image, its output written where it lies
			imgs, cols = 1, g.P()
		case compact:
			imgs = max(1, convBlockElems/(g.K()*g.P()))
			cols = wideLD(imgs, g.P())
		}
		sc.col = grow(sc.col, g.K()*cols)
		if !compactFwd {
			sc.ys = grow(sc.ys, g.OutC*cols)
		}
		if g.PadH != 0 || g.PadW != 0 {
			sc.xp = grow(sc.xp, imgs*g.C*g.PadH2()*g.PadW2())
		}
	} else {
		imgs, rows = convBlock(g)
		sc.col = grow(sc.col, g.K()*imgs*rows*g.OutW())
		if imgs > 1 {
			sc.ys = grow(sc.ys, g.OutC*imgs*g.P())
		}
	}
	for ch := lo; ch < hi; ch++ {
		n0, n1 := ch*t.per, min((ch+1)*t.per, g.N)
		var part []T
		if t.kind == convFilter {
			part = (*partp)[ch*g.WLen() : (ch+1)*g.WLen()]
		}
		var beta T // 0 for the chunk's first filter-gradient product, 1 after
		for nb := n0; nb < n1; nb += imgs {
			switch cnt := min(imgs, n1-nb); {
			case compactFwd:
				convCompactForwardImage(t, eng, sc, out, a, b, nb)
			case compact:
				convCompactImages(t, eng, sc, out, a, b, nb, cnt)
			case wide:
				convWideImages(t, eng, sc, part, beta, out, a, b, nb, cnt)
			case cnt > 1:
				convImages(t, eng, sc, part, beta, out, a, b, nb, cnt)
			default:
				convRows(t, eng, sc, part, beta, out, a, b, nb, rows)
			}
			beta = 1
		}
	}
}

// convRows runs image n in blocks of rows output rows.
func convRows[T kernels.Float](t *convTask, eng *gemm.Engine, sc *convScratch[T], part []T, beta T, out, a, b []T, n, rows int) {
	g := &t.g
	k, p, oh, ow := g.K(), g.P(), g.OutH(), g.OutW()
	xs, ys := g.C*g.H*g.W, g.OutC*p
	if t.kind == convData {
		clear(out[n*xs : (n+1)*xs])
	}
	for i0 := 0; i0 < oh; i0 += rows {
		i1 := min(i0+rows, oh)
		w := (i1 - i0) * ow
		col := sc.col[:k*w]
		// The block's columns of y, dy: rows of OutC, p apart.
		at := n*ys + i0*ow
		switch t.kind {
		case convForward:
			t.fail(kernels.Im2colRows(*g, col, w, a[n*xs:(n+1)*xs], i0, i1))
			t.fail(gemmT(eng, false, false, g.OutC, w, k, b, k, col, w, 0, out[at:(n+1)*ys], p))
		case convData:
			t.fail(gemmT(eng, true, false, k, w, g.OutC, b, k, a[at:(n+1)*ys], p, 0, col, w))
			t.fail(kernels.Col2imRows(*g, out[n*xs:(n+1)*xs], col, w, i0, i1))
		case convFilter:
			t.fail(kernels.Im2colRows(*g, col, w, a[n*xs:(n+1)*xs], i0, i1))
			t.fail(gemmT(eng, false, true, g.OutC, k, w, b[at:(n+1)*ys], p, col, w, beta, part, k))
			beta = 1
		}
	}
}

// convImages runs one block of cnt whole images from image n0: their column matrices side by side
// (leading dimension cnt·P) and one product for them all, the outputs (or output gradients) of
// the images copied between their NCHW places and the [OutC, cnt·P] matrix of the product.
func convImages[T kernels.Float](t *convTask, eng *gemm.Engine, sc *convScratch[T], part []T, beta T, out, a, b []T, n0, cnt int) {
	g := &t.g
	k, p, oh := g.K(), g.P(), g.OutH()
	xs, ys := g.C*g.H*g.W, g.OutC*p
	ld := cnt * p
	col, yb := sc.col[:k*ld], sc.ys[:g.OutC*ld]
	// gather copies the images' (output-gradient) channels from src into yb, scatter back.
	gather := func(src []T) {
		for m := range cnt {
			for o := range g.OutC {
				copy(yb[o*ld+m*p:][:p], src[(n0+m)*ys+o*p:][:p])
			}
		}
	}
	switch t.kind {
	case convForward:
		for m := range cnt {
			t.fail(kernels.Im2colRows(*g, col[m*p:], ld, a[(n0+m)*xs:(n0+m+1)*xs], 0, oh))
		}
		t.fail(gemmT(eng, false, false, g.OutC, ld, k, b, k, col, ld, 0, yb, ld))
		for m := range cnt {
			for o := range g.OutC {
				copy(out[(n0+m)*ys+o*p:][:p], yb[o*ld+m*p:][:p])
			}
		}
	case convData:
		gather(a)
		t.fail(gemmT(eng, true, false, k, ld, g.OutC, b, k, yb, ld, 0, col, ld))
		for m := range cnt {
			dx := out[(n0+m)*xs : (n0+m+1)*xs]
			clear(dx)
			t.fail(kernels.Col2imRows(*g, dx, col[m*p:], ld, 0, oh))
		}
	case convFilter:
		for m := range cnt {
			t.fail(kernels.Im2colRows(*g, col[m*p:], ld, a[(n0+m)*xs:(n0+m+1)*xs], 0, oh))
		}
		gather(b)
		t.fail(gemmT(eng, false, true, g.OutC, k, ld, yb, ld, col, ld, beta, part, k))
	}
}

// convPointwise runs chunks [lo, hi) of a 1×1 convolution: an image is its own column matrix.
func convPointwise[T kernels.Float](t *convTask, eng *gemm.Engine, partp *[]T, out, a, b []T, lo, hi int) {
	g := &t.g
	k, p := g.K(), g.P()
	xs, ys := g.C*g.H*g.W, g.OutC*p
	for ch := lo; ch < hi; ch++ {
		n0, n1 := ch*t.per, min((ch+1)*t.per, g.N)
		for n := n0; n < n1; n++ {
			switch t.kind {
			case convForward:
				t.fail(gemmT(eng, false, false, g.OutC, p, k, b, k, a[n*xs:(n+1)*xs], p, 0, out[n*ys:(n+1)*ys], p))
			case convData:
				t.fail(gemmT(eng, true, false, k, p, g.OutC, b, k, a[n*ys:(n+1)*ys], p, 0, out[n*xs:(n+1)*xs], p))
			case convFilter:
				var beta T
				if n > n0 {
					beta = 1
				}
				part := (*partp)[ch*g.WLen() : (ch+1)*g.WLen()]
				t.fail(gemmT(eng, false, true, g.OutC, k, p, b[n*ys:(n+1)*ys], p, a[n*xs:(n+1)*xs], p, beta, part, k))
			}
		}
	}
}
