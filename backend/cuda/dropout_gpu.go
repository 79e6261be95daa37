//go:build gpu

package cuda

import (
	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

func init() {
	for _, op := range []*backend.Op{backend.OpDropout, backend.OpDropoutGrad} {
		gpuExecs.Register(op, func(d *Device, c *backend.Call, b []*Buffer) error {
			p := c.Attrs.(*kernels.Dropout)
			n := b[0].n
			if n == 0 {
				return nil
			}
			d.args.reset().ptr(b[0].addr()).ptr(b[1].addr()).i64(n).i64(int(p.Threshold())).float(b[0].dt, p.Scale()).
				i64(int(c.Seed())).i64(int(c.Step())).i64(int(p.Stream))
			return d.launch(c.Op.Name(), kDropout, b[0].dt, d.grid((n+3)/4), blockSize)
		})
	}
}
