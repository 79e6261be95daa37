package cpu

import (
	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// Dropout splits the elements over the cores; the mask of an element depends only on its index,
// the layer, the seed and the step (kernels.DropoutForward), never on the split.

func init() {
	for _, op := range []*backend.Op{backend.OpDropout, backend.OpDropoutGrad} {
		execs.Register(op, func(d *Device, c *backend.Call, b []*Buffer) error {
			return d.split(c, b, dropoutRange, b[0].Len(), elemGrain/4)
		})
	}
}

func dropoutRange(t *rangeTask, lo, hi int) {
	p, y, x := *t.c.Attrs.(*kernels.Dropout), t.ops[0], t.ops[1]
	seed, step := t.c.Seed(), t.c.Step()
	if y.isF64() {
		t.fail(kernels.DropoutForward(p, seed, step, y.F64[lo:hi], x.F64[lo:hi], lo))
	} else {
		t.fail(kernels.DropoutForward(p, seed, step, y.F32[lo:hi], x.F32[lo:hi], lo))
	}
}
