package cpu

import (
	"sync"
	"sync/atomic"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu/gemm"
	"github.com/gotrain/gotrain/kernels"
)

// The convolution runs im2col (kernels.Im2colRows) and the blocked GEMM of package gemm image by
// image, and within an image by blocks of output rows (convBlockElems says why): for the columns
// of one block, y = w · col(x_n), dcol = wᵀ · dy_n then col2im, dw += dy_n · col(x_n)ᵀ. A batch is
// cut into at most convChunks chunks of whole images; the cores take chunks, each with its own
// serial GEMM engine and column buffer, because the per-image products of small images (LeNet's
// 16×150×100) are too small to split. The filter gradient of each chunk goes to its own partial
// sum, and the partials are added in chunk order in float64: the chunks depend only on N, so the
// bits of every result are the same for any number of cores. A batch of fewer images than cores
// runs image by image on the calling goroutine with the device's parallel GEMM instead.

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

// convChunks bounds the chunks of a batch (and so the partial filter gradients kept).
const convChunks = 16

type convKind uint8

const (
	convForward convKind = iota // out = y, a = x, b = w
	convData                    // out = dx, a = dy, b = w
	convFilter                  // out = dw, a = x, b = dy
)

// convWS is one goroutine's scratch: a serial GEMM engine and a column matrix. It only grows.
type convWS struct {
	eng   *gemm.Engine
	col32 []float32
	col64 []float64
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
		convChunksRange(t, ws, &ws.col64, &t.part64, t.out.F64, t.a.F64, t.b.F64, lo, hi)
	} else {
		convChunksRange(t, ws, &ws.col32, &t.part32, t.out.F32, t.a.F32, t.b.F32, lo, hi)
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
	t.serialGemm = g.N >= workers
	if t.serialGemm {
		d.pool.Run(t, chunks, 1)
	} else {
		t.Range(0, chunks) // on this goroutine, each product split over the cores
	}
	if t.err == nil && kind == convFilter {
		if out.isF64() {
			sumParts(out.F64, t.part64, chunks)
		} else {
			sumParts(out.F32, t.part32, chunks)
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
// in float64.
func sumParts[T kernels.Float](dst, parts []T, chunks int) {
	n := len(dst)
	for i := range dst {
		var s float64
		for c := 0; c < chunks; c++ {
			s += float64(parts[c*n+i])
		}
		dst[i] = T(s)
	}
}

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

// convBlockElems bounds a block of the column matrix (elements): the output rows of an image are
// taken in blocks whose column matrix, C·KH·KW rows of a few output rows, stays in L2 between
// im2col writing it and the product reading it (and, for the input gradient, between the product
// and col2im), instead of the whole matrix, K times the image, going to memory and back. A
// variable so that tests can force small blocks.
var convBlockElems = 64 << 10

// convRowBlock returns the output rows per block for g: blocks of about the same size, each
// within convBlockElems where one output row fits.
func convRowBlock(g *kernels.Conv2D) int {
	oh, rowElems := g.OutH(), g.K()*g.OutW()
	rows := max(1, min(oh, convBlockElems/max(1, rowElems)))
	blocks := (oh + rows - 1) / rows
	return (oh + blocks - 1) / blocks
}

func convChunksRange[T kernels.Float](t *convTask, ws *convWS, colp *[]T, partp *[]T, out, a, b []T, lo, hi int) {
	g := &t.g
	k, p, oh, ow := g.K(), g.P(), g.OutH(), g.OutW()
	xs, ys := g.C*g.H*g.W, g.OutC*p
	eng := ws.eng
	if !t.serialGemm {
		eng = t.d.gemm
	}
	if g.IsPointwise() {
		convPointwise(t, eng, partp, out, a, b, lo, hi)
		return
	}
	rows := convRowBlock(g)
	*colp = grow(*colp, k*rows*ow)
	for ch := lo; ch < hi; ch++ {
		n0, n1 := ch*t.per, min((ch+1)*t.per, g.N)
		for n := n0; n < n1; n++ {
			if t.kind == convData {
				clear(out[n*xs : (n+1)*xs])
			}
			for i0 := 0; i0 < oh; i0 += rows {
				i1 := min(i0+rows, oh)
				nb := (i1 - i0) * ow
				col := (*colp)[:k*nb]
				// The block's columns of y, dy: rows of OutC, p apart.
				at := n*ys + i0*ow
				switch t.kind {
				case convForward:
					t.fail(kernels.Im2colRows(*g, col, a[n*xs:(n+1)*xs], i0, i1))
					t.fail(gemmT(eng, false, false, g.OutC, nb, k, b, k, col, nb, 0, out[at:(n+1)*ys], p))
				case convData:
					t.fail(gemmT(eng, true, false, k, nb, g.OutC, b, k, a[at:(n+1)*ys], p, 0, col, nb))
					t.fail(kernels.Col2imRows(*g, out[n*xs:(n+1)*xs], col, i0, i1))
				case convFilter:
					t.fail(kernels.Im2colRows(*g, col, a[n*xs:(n+1)*xs], i0, i1))
					var beta T
					if n > n0 || i0 > 0 {
						beta = 1
					}
					part := (*partp)[ch*g.WLen() : (ch+1)*g.WLen()]
					t.fail(gemmT(eng, false, true, g.OutC, k, nb, b[at:(n+1)*ys], p, col, nb, beta, part, k))
				}
			}
		}
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
