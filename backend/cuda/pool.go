package cuda

import "github.com/gotrain/gotrain/kernels"

// The pooling kernels (kernels/pool.cu); the executor is pool_gpu.go.
var (
	kPoolFwd = defKernel("pool", "pool_fwd", "ppiiiiiii")
	kPoolBwd = defKernel("pool", "pool_bwd", "pppiiiiiii")
)

// poolParams are pool.cu's packed geometry parameters (hw, k, s, p, o) and flags.
func poolParams(g kernels.Pool2D) [6]int {
	flags := 0
	if g.Kind == kernels.AvgPool {
		flags |= 1
	}
	if g.ExcludePad {
		flags |= 2
	}
	return [6]int{pack2(g.H, g.W), pack2(g.KH, g.KW), pack2(g.StrideH, g.StrideW), pack2(g.PadH, g.PadW),
		pack2(g.OutH(), g.OutW()), flags}
}
