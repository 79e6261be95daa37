package cpu

import (
	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// Batch normalisation splits the channels over the cores; each channel's statistics are summed
// by one goroutine in a fixed order, so the bits do not depend on the split.

func init() {
	execs.Register(backend.OpBatchNorm, func(d *Device, c *backend.Call, b []*Buffer) error {
		return d.split(c, b, bnForwardRange, c.Attrs.(*kernels.BatchNorm).C, bnGrain(c))
	})
	execs.Register(backend.OpBatchNormGradInput, func(d *Device, c *backend.Call, b []*Buffer) error {
		return d.split(c, b, bnInputRange, c.Attrs.(*kernels.BatchNorm).C, bnGrain(c))
	})
	execs.Register(backend.OpBatchNormGradGamma, func(d *Device, c *backend.Call, b []*Buffer) error {
		return d.split(c, b, bnGammaRange, c.Attrs.(*kernels.BatchNorm).C, bnGrain(c))
	})
	execs.Register(backend.OpBatchNormGradInputGamma, func(d *Device, c *backend.Call, b []*Buffer) error {
		return d.split(c, b, bnInputGammaRange, c.Attrs.(*kernels.BatchNorm).C, bnGrain(c))
	})
}

func bnInputGammaRange(t *rangeTask, lo, hi int) {
	bn, o := *t.c.Attrs.(*kernels.BatchNorm), t.ops
	if o[0].isF64() {
		t.fail(kernels.BatchNormBackwardInputGamma(bn, o[0].F64, o[1].F64, o[2].F64, o[3].F64, o[4].F64, o[5].F64, o[6].F64, lo, hi))
	} else {
		t.fail(kernels.BatchNormBackwardInputGamma(bn, o[0].F32, o[1].F32, o[2].F32, o[3].F32, o[4].F32, o[5].F32, o[6].F32, lo, hi))
	}
}

func bnGrain(c *backend.Call) int { return max(1, rowGrain/max(1, c.Attrs.(*kernels.BatchNorm).M())) }

func bnForwardRange(t *rangeTask, lo, hi int) {
	bn, o := *t.c.Attrs.(*kernels.BatchNorm), t.ops
	if o[0].isF64() {
		t.fail(kernels.BatchNormForward(bn, o[0].F64, o[1].F64, o[2].F64, o[3].F64, o[4].F64, o[5].F64, lo, hi))
	} else {
		t.fail(kernels.BatchNormForward(bn, o[0].F32, o[1].F32, o[2].F32, o[3].F32, o[4].F32, o[5].F32, lo, hi))
	}
}

func bnInputRange(t *rangeTask, lo, hi int) {
	bn, o := *t.c.Attrs.(*kernels.BatchNorm), t.ops
	if o[0].isF64() {
		t.fail(kernels.BatchNormBackwardInput(bn, o[0].F64, o[1].F64, o[2].F64, o[3].F64, o[4].F64, o[5].F64, lo, hi))
	} else {
		t.fail(kernels.BatchNormBackwardInput(bn, o[0].F32, o[1].F32, o[2].F32, o[3].F32, o[4].F32, o[5].F32, lo, hi))
	}
}

func bnGammaRange(t *rangeTask, lo, hi int) {
	bn, o := *t.c.Attrs.(*kernels.BatchNorm), t.ops
	if o[0].isF64() {
		t.fail(kernels.BatchNormBackwardGamma(bn, o[0].F64, o[1].F64, o[2].F64, o[3].F64, o[4].F64, lo, hi))
	} else {
		t.fail(kernels.BatchNormBackwardGamma(bn, o[0].F32, o[1].F32, o[2].F32, o[3].F32, o[4].F32, lo, hi))
	}
}
