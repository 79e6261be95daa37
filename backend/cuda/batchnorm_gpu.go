//go:build gpu

package cuda

import (
	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// One block per channel (up to the grid limit, then grid-stride).

func init() {
	gpuExecs.Register(backend.OpBatchNorm, func(d *Device, c *backend.Call, b []*Buffer) error {
		bn := c.Attrs.(*kernels.BatchNorm)
		d.args.reset()
		for _, x := range b {
			d.args.ptr(x.addr())
		}
		d.args.i64(bn.N).i64(bn.C).i64(bn.Inner).f64(bn.Eps).f64(bn.Momentum).i64(b2i(bn.Train))
		return d.launch("batchnorm", kBNFwd, b[0].dt, min(bn.C, d.maxGrid), blockSize)
	})
	gpuExecs.Register(backend.OpBatchNormGradInput, func(d *Device, c *backend.Call, b []*Buffer) error {
		bn := c.Attrs.(*kernels.BatchNorm)
		d.args.reset()
		for _, x := range b {
			d.args.ptr(x.addr())
		}
		d.args.i64(bn.N).i64(bn.C).i64(bn.Inner).f64(bn.Eps).i64(b2i(bn.Train))
		return d.launch("batchnorm_grad_input", kBNGradInput, b[0].dt, min(bn.C, d.maxGrid), blockSize)
	})
	gpuExecs.Register(backend.OpBatchNormGradGamma, func(d *Device, c *backend.Call, b []*Buffer) error {
		bn := c.Attrs.(*kernels.BatchNorm)
		d.args.reset()
		for _, x := range b {
			d.args.ptr(x.addr())
		}
		d.args.i64(bn.N).i64(bn.C).i64(bn.Inner).f64(bn.Eps).i64(b2i(bn.Train))
		return d.launch("batchnorm_grad_gamma", kBNGradGamma, b[0].dt, min(bn.C, d.maxGrid), blockSize)
	})
}
