package cpu

import (
	"sync"
	"sync/atomic"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu/gemm"
	"github.com/gotrain/gotrain/kernels"
)

// The convolution runs im2col (kernels.Im2col) and the blocked GEMM of package gemm image by
// image: y_n = w · col(x_n), dcol = wᵀ · dy_n then col2im, dw = Σ_n dy_n · col(x_n)ᵀ. A batch is
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

func convChunksRange[T kernels.Float](t *convTask, ws *convWS, colp *[]T, partp *[]T, out, a, b []T, lo, hi int) {
	g := &t.g
	k, p := g.K(), g.P()
	xs, ys := g.C*g.H*g.W, g.OutC*p
	eng := ws.eng
	if !t.serialGemm {
		eng = t.d.gemm
	}
	point := g.IsPointwise()
	if !point {
		*colp = grow(*colp, k*p)
	}
	col := *colp
	for ch := lo; ch < hi; ch++ {
		n0, n1 := ch*t.per, min((ch+1)*t.per, g.N)
		for n := n0; n < n1; n++ {
			switch t.kind {
			case convForward:
				x, y, w := a[n*xs:(n+1)*xs], out[n*ys:(n+1)*ys], b
				src := x
				if !point {
					t.fail(kernels.Im2col(*g, col, x))
					src = col
				}
				t.fail(gemmT(eng, false, false, g.OutC, p, k, w, k, src, p, 0, y, p))
			case convData:
				dy, dx, w := a[n*ys:(n+1)*ys], out[n*xs:(n+1)*xs], b
				if point {
					t.fail(gemmT(eng, true, false, k, p, g.OutC, w, k, dy, p, 0, dx, p))
					continue
				}
				t.fail(gemmT(eng, true, false, k, p, g.OutC, w, k, dy, p, 0, col, p))
				t.fail(kernels.Col2im(*g, dx, col))
			case convFilter:
				x, dy := a[n*xs:(n+1)*xs], b[n*ys:(n+1)*ys]
				part := (*partp)[ch*g.WLen() : (ch+1)*g.WLen()]
				src := x
				if !point {
					t.fail(kernels.Im2col(*g, col, x))
					src = col
				}
				var beta T
				if n > n0 {
					beta = 1
				}
				t.fail(gemmT(eng, false, true, g.OutC, k, p, dy, p, src, p, beta, part, k))
			}
		}
	}
}
