package cpu

import (
	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// Pooling splits the N·C planes over the cores; each plane is one goroutine's, so the bits do
// not depend on the split.

func init() {
	execs.Register(backend.OpPool2D, func(d *Device, c *backend.Call, b []*Buffer) error {
		g := c.Attrs.(*kernels.Pool2D)
		return d.split(c, b, poolForwardRange, g.Planes(), max(1, rowGrain/max(1, g.H*g.W)))
	})
	execs.Register(backend.OpPool2DGrad, func(d *Device, c *backend.Call, b []*Buffer) error {
		g := c.Attrs.(*kernels.Pool2D)
		return d.split(c, b, poolBackwardRange, g.Planes(), max(1, rowGrain/max(1, g.H*g.W)))
	})
}

func poolForwardRange(t *rangeTask, lo, hi int) {
	g, y, x := *t.c.Attrs.(*kernels.Pool2D), t.ops[0], t.ops[1]
	if y.isF64() {
		t.fail(kernels.PoolForward(g, y.F64, x.F64, lo, hi))
	} else {
		t.fail(kernels.PoolForward(g, y.F32, x.F32, lo, hi))
	}
}

func poolBackwardRange(t *rangeTask, lo, hi int) {
	g, dx, x, dy := *t.c.Attrs.(*kernels.Pool2D), t.ops[0], t.ops[1], t.ops[2]
	if dx.isF64() {
		t.fail(kernels.PoolBackward(g, dx.F64, x.F64, dy.F64, lo, hi))
	} else {
		t.fail(kernels.PoolBackward(g, dx.F32, x.F32, dy.F32, lo, hi))
	}
}
