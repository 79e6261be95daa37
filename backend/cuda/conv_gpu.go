//go:build gpu

package cuda

import (
	"fmt"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// The convolution on the GPU: chunks of images with the images side by side along the columns
// ("layout B", conv.cu), so each chunk is one im2col, one cuBLAS product over all its images
// and one axis swap, whatever the batch size.
//
//	forward:  col = im2col(x), y' [OutC, nb·P] = w · col, y = swap01(y')
//	input:    dy' = swap01(dy), dcol = wᵀ · dy', dx = col2im(dcol)
//	filter:   col = im2col(x), dy' = swap01(dy), dw (+)= dy' · colᵀ (beta 1 after the first chunk)

func init() {
	gpuExecs.Register(backend.OpConv2D, func(d *Device, c *backend.Call, b []*Buffer) error {
		return d.conv(0, c.Attrs.(*kernels.Conv2D), b[0], b[1], b[2])
	})
	gpuExecs.Register(backend.OpConv2DGradInput, func(d *Device, c *backend.Call, b []*Buffer) error {
		return d.conv(1, c.Attrs.(*kernels.Conv2D), b[0], b[1], b[2])
	})
	gpuExecs.Register(backend.OpConv2DGradFilter, func(d *Device, c *backend.Call, b []*Buffer) error {
		return d.conv(2, c.Attrs.(*kernels.Conv2D), b[0], b[1], b[2])
	})
}

// conv runs kind 0 (forward: out y, a x, b w), 1 (input gradient: out dx, a dy, b w) or 2 (filter
// gradient: out dw, a x, b dy).
func (d *Device) conv(kind int, g *kernels.Conv2D, out, a, b *Buffer) error {
	op := [...]string{"conv2d", "conv2d_grad_input", "conv2d_grad_filter"}[kind]
	dt, size := out.dt, int64(out.dt.Size())
	k, p := g.K(), g.P()
	nb := convChunk(*g, int(size))
	colBytes := int64(k) * int64(nb) * int64(p) * size
	ws, err := d.workspace(op, colBytes+int64(g.OutC)*int64(nb)*int64(p)*size)
	if err != nil {
		return err
	}
	col, tmp := ws, ws+uint64(colBytes)
	xs, ys := int64(g.C*g.H*g.W)*size, int64(g.OutC*p)*size
	geo := [...]int{pack2(g.H, g.W), pack2(g.KH, g.KW), pack2(g.StrideH, g.StrideW), pack2(g.PadH, g.PadW), pack2(g.DilH, g.DilW),
		pack2(g.OutH(), g.OutW())}
	for n0 := 0; n0 < g.N; n0 += nb {
		cnt := min(nb, g.N-n0)
		cols := cnt * p // the columns of this chunk's matrices
		im2col := func(x uint64) error {
			d.args.reset().ptr(col).ptr(x).i64(cnt).i64(g.C)
			for _, v := range geo {
				d.args.i64(v)
			}
			d.args.i64(p).i64(cols)
			return d.launch(op, kIm2col, dt, d.grid(k*cols), blockSize)
		}
		swap := func(dst, src uint64, A, B int) error {
			d.args.reset().ptr(dst).ptr(src).i64(A).i64(B).i64(p)
			return d.launch(op, kSwap01, dt, d.grid(A*B*p), blockSize)
		}
		switch kind {
		case 0:
			if err := im2col(a.addr() + uint64(int64(n0)*xs)); err != nil {
				return err
			}
			if err := d.blas.gemm(dt, rowMajorGemm(false, false, g.OutC, cols, k), 1, col, b.addr(), 0, tmp); err != nil {
				return fmt.Errorf("cuda: %s: %w", op, err)
			}
			if err := swap(out.addr()+uint64(int64(n0)*ys), tmp, g.OutC, cnt); err != nil {
				return err
			}
		case 1:
			if err := swap(tmp, a.addr()+uint64(int64(n0)*ys), cnt, g.OutC); err != nil {
				return err
			}
			if err := d.blas.gemm(dt, rowMajorGemm(true, false, k, cols, g.OutC), 1, tmp, b.addr(), 0, col); err != nil {
				return fmt.Errorf("cuda: %s: %w", op, err)
			}
			d.args.reset().ptr(out.addr() + uint64(int64(n0)*xs)).ptr(col).i64(cnt).i64(g.C)
			for _, v := range geo {
				d.args.i64(v)
			}
			d.args.i64(p).i64(cols)
			if err := d.launch(op, kCol2im, dt, d.grid(cnt*g.C*g.H*g.W), blockSize); err != nil {
				return err
			}
		case 2:
			if err := im2col(a.addr() + uint64(int64(n0)*xs)); err != nil {
				return err
			}
			if err := swap(tmp, b.addr()+uint64(int64(n0)*ys), cnt, g.OutC); err != nil {
				return err
			}
			beta := 0.0
			if n0 > 0 {
				beta = 1
			}
			if err := d.blas.gemm(dt, rowMajorGemm(false, true, g.OutC, k, cols), 1, col, tmp, beta, out.addr()); err != nil {
				return fmt.Errorf("cuda: %s: %w", op, err)
			}
		}
	}
	return nil
}
