package cpu

import (
	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// The bias add splits whole outer rows over the cores; the channel sum splits channels, each
// summed by one goroutine in a fixed order.

func init() {
	execs.Register(backend.OpChannelBias, func(d *Device, c *backend.Call, b []*Buffer) error {
		a := c.Attrs.(*backend.ChannelAttrs)
		return d.split(c, b, channelBiasRange, a.Outer, max(1, elemGrain/max(1, a.Channels*a.Inner)))
	})
	execs.Register(backend.OpChannelSum, func(d *Device, c *backend.Call, b []*Buffer) error {
		a := c.Attrs.(*backend.ChannelAttrs)
		return d.split(c, b, channelSumRange, a.Channels, max(1, rowGrain/max(1, a.Outer*a.Inner)))
	})
}

func channelBiasRange(t *rangeTask, lo, hi int) {
	a, y, x, b := t.c.Attrs.(*backend.ChannelAttrs), t.ops[0], t.ops[1], t.ops[2]
	s, e := lo*a.Channels*a.Inner, hi*a.Channels*a.Inner
	if y.isF64() {
		t.fail(kernels.ChannelBiasAdd(y.F64[s:e], x.F64[s:e], b.F64, hi-lo, a.Channels, a.Inner))
	} else {
		t.fail(kernels.ChannelBiasAdd(y.F32[s:e], x.F32[s:e], b.F32, hi-lo, a.Channels, a.Inner))
	}
}

func channelSumRange(t *rangeTask, lo, hi int) {
	a, dst, x := t.c.Attrs.(*backend.ChannelAttrs), t.ops[0], t.ops[1]
	if dst.isF64() {
		t.fail(kernels.ChannelSumRange(dst.F64, x.F64, a.Outer, a.Channels, a.Inner, lo, hi))
	} else {
		t.fail(kernels.ChannelSumRange(dst.F32, x.F32, a.Outer, a.Channels, a.Inner, lo, hi))
	}
}
