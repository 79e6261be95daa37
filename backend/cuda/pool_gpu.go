//go:build gpu

package cuda

import (
	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

func init() {
	gpuExecs.Register(backend.OpPool2D, func(d *Device, c *backend.Call, b []*Buffer) error {
		g := c.Attrs.(*kernels.Pool2D)
		d.args.reset().ptr(b[0].addr()).ptr(b[1].addr()).i64(g.Planes())
		for _, v := range poolParams(*g) {
			d.args.i64(v)
		}
		return d.launch("pool2d", kPoolFwd, b[0].dt, d.grid(g.YLen()), blockSize)
	})
	gpuExecs.Register(backend.OpPool2DGrad, func(d *Device, c *backend.Call, b []*Buffer) error {
		g := c.Attrs.(*kernels.Pool2D)
		d.args.reset().ptr(b[0].addr()).ptr(b[1].addr()).ptr(b[2].addr()).i64(g.Planes())
		for _, v := range poolParams(*g) {
			d.args.i64(v)
		}
		return d.launch("pool2d_grad", kPoolBwd, b[0].dt, d.grid(g.XLen()), blockSize)
	})
}
