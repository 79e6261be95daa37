//go:build gpu

package cuda

import "github.com/gotrain/gotrain/backend"

func init() {
	gpuExecs.Register(backend.OpChannelBias, func(d *Device, c *backend.Call, b []*Buffer) error {
		a := c.Attrs.(*backend.ChannelAttrs)
		if b[0].n == 0 {
			return nil
		}
		d.args.reset().ptr(b[0].addr()).ptr(b[1].addr()).ptr(b[2].addr()).i64(a.Outer).i64(a.Channels).i64(a.Inner)
		return d.launch("channel_bias", kChannelBias, b[0].dt, d.grid(b[0].n), blockSize)
	})
	gpuExecs.Register(backend.OpChannelSum, func(d *Device, c *backend.Call, b []*Buffer) error {
		a := c.Attrs.(*backend.ChannelAttrs)
		if a.Channels == 0 {
			return nil
		}
		d.args.reset().ptr(b[0].addr()).ptr(b[1].addr()).i64(a.Outer).i64(a.Channels).i64(a.Inner)
		return d.launch("channel_sum", kChannelSum, b[0].dt, min(a.Channels, d.maxGrid), blockSize)
	})
}
