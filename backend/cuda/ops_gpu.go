//go:build gpu

package cuda

import (
	"fmt"

	"gorgonia.org/cu"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// Every op checks its arguments first (the same errors as the CPU backend), returns at once when
// there is nothing to compute, and then issues its kernels on the stream without waiting.

// Gemm runs on cuBLAS: the row-major product is one column-major call (rowMajorGemm). An empty
// inner dimension or alpha == 0 leaves C = beta·C, computed here (Fill for beta == 0, so a NaN in
// C is ignored as the interface requires).
func (d *Device) Gemm(transA, transB bool, m, n, k int, alpha float64, a, b backend.Buffer, beta float64, c backend.Buffer) error {
	ops, err := d.operands("Gemm", "a, b, c", a, b, c)
	if err != nil {
		return err
	}
	ab, bb, cb := ops[0], ops[1], ops[2]
	if err := backend.CheckGemm(dev, m, n, k, ab, bb, cb); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	if err := d.enter("Gemm"); err != nil {
		return err
	}
	defer d.leave()
	if k == 0 || alpha == 0 {
		if beta == 0 {
			return d.fill("Gemm", cb, 0)
		}
		if beta == 1 {
			return nil
		}
		return d.scale("Gemm", cb, cb, beta)
	}
	g := rowMajorGemm(transA, transB, m, n, k)
	if err := d.blas.gemm(cb.dt, g, alpha, bb.addr(), ab.addr(), beta, cb.addr()); err != nil {
		return fmt.Errorf("cuda: Gemm: %w", err)
	}
	return nil
}

func (d *Device) fill(op string, b *Buffer, v float64) error {
	if b.n == 0 {
		return nil
	}
	d.args.reset().ptr(b.addr()).float(b.dt, v).i64(b.n)
	return d.launch(op, kFill, b.dt, d.grid(b.n), blockSize)
}

func (d *Device) scale(op string, dst, x *Buffer, alpha float64) error {
	if dst.n == 0 {
		return nil
	}
	d.args.reset().ptr(dst.addr()).ptr(x.addr()).float(dst.dt, alpha).i64(dst.n)
	return d.launch(op, kScale, dst.dt, d.grid(dst.n), blockSize)
}

// Fill sets every element to v (rounded to the dtype).
func (d *Device) Fill(dst backend.Buffer, v float64) error {
	ops, err := d.operands("Fill", "dst", dst)
	if err != nil {
		return err
	}
	if ops[0].n == 0 {
		return nil
	}
	if err := d.enter("Fill"); err != nil {
		return err
	}
	defer d.leave()
	return d.fill("Fill", ops[0], v)
}

// Copy copies src into dst with cuMemcpyDtoDAsync.
func (d *Device) Copy(dst, src backend.Buffer) error {
	ops, err := d.operands("Copy", "dst, src", dst, src)
	if err != nil {
		return err
	}
	if err := backend.CheckSameLen(dev, "Copy", "src", ops[0], ops[1]); err != nil {
		return err
	}
	if ops[0].n == 0 || ops[0].ptr == ops[1].ptr {
		return nil
	}
	if err := d.enter("Copy"); err != nil {
		return err
	}
	defer d.leave()
	if err := cu.MemcpyDtoDAsync(ops[0].ptr, ops[1].ptr, ops[0].bytes(), d.stream); err != nil {
		return fmt.Errorf("cuda: Copy: cuMemcpyDtoDAsync(%d bytes): %w", ops[0].bytes(), err)
	}
	return nil
}

// Scale computes dst = alpha·x, alpha rounded to the dtype first (as the CPU backend does).
func (d *Device) Scale(dst, x backend.Buffer, alpha float64) error {
	ops, err := d.operands("Scale", "dst, x", dst, x)
	if err != nil {
		return err
	}
	if err := backend.CheckSameLen(dev, "Scale", "x", ops[0], ops[1]); err != nil {
		return err
	}
	if ops[0].n == 0 {
		return nil
	}
	if err := d.enter("Scale"); err != nil {
		return err
	}
	defer d.leave()
	return d.scale("Scale", ops[0], ops[1], alpha)
}

// Unary computes dst = op(x).
func (d *Device) Unary(op backend.UnaryOp, dst, x backend.Buffer) error {
	ops, err := d.operands("Unary", "dst, x", dst, x)
	if err != nil {
		return err
	}
	if err := backend.CheckUnary(dev, op, ops[0], ops[1]); err != nil {
		return err
	}
	if ops[0].n == 0 {
		return nil
	}
	if err := d.enter("Unary"); err != nil {
		return err
	}
	defer d.leave()
	o := ops[0]
	d.args.reset().i64(int(op)).ptr(o.addr()).ptr(ops[1].addr()).i64(o.n)
	return d.launch("Unary", kUnary, o.dt, d.grid(o.n), blockSize)
}

// Binary computes dst = op(a, b), a length-1 operand read with stride 0.
func (d *Device) Binary(op backend.BinaryOp, dst, a, b backend.Buffer) error {
	ops, err := d.operands("Binary", "dst, a, b", dst, a, b)
	if err != nil {
		return err
	}
	if err := backend.CheckBinary(dev, op, ops[0], ops[1], ops[2]); err != nil {
		return err
	}
	n := ops[0].n
	if n == 0 {
		return nil
	}
	if err := d.enter("Binary"); err != nil {
		return err
	}
	defer d.leave()
	stride := func(b *Buffer) int {
		if b.n == n {
			return 1
		}
		return 0
	}
	d.args.reset().i64(int(op)).ptr(ops[0].addr()).ptr(ops[1].addr()).i64(stride(ops[1])).ptr(ops[2].addr()).i64(stride(ops[2])).i64(n)
	return d.launch("Binary", kBinary, ops[0].dt, d.grid(n), blockSize)
}

// Broadcast repeats src [outer,1,inner] into dst [outer,mid,inner].
func (d *Device) Broadcast(dst, src backend.Buffer, outer, mid, inner int) error {
	ops, err := d.operands("Broadcast", "dst, src", dst, src)
	if err != nil {
		return err
	}
	if err := backend.CheckBroadcast(dev, ops[0], ops[1], outer, mid, inner); err != nil {
		return err
	}
	if ops[0].n == 0 {
		return nil
	}
	if err := d.enter("Broadcast"); err != nil {
		return err
	}
	defer d.leave()
	d.args.reset().ptr(ops[0].addr()).ptr(ops[1].addr()).i64(outer).i64(mid).i64(inner)
	return d.launch("Broadcast", kBroadcast, ops[0].dt, d.grid(ops[0].n), blockSize)
}

// Sum reduces src [outer,mid,inner] over mid into dst [outer,inner], in double.
func (d *Device) Sum(dst, src backend.Buffer, outer, mid, inner int) error {
	ops, err := d.operands("Sum", "dst, src", dst, src)
	if err != nil {
		return err
	}
	if err := backend.CheckSum(dev, ops[0], ops[1], outer, mid, inner); err != nil {
		return err
	}
	if ops[0].n == 0 {
		return nil
	}
	if err := d.enter("Sum"); err != nil {
		return err
	}
	defer d.leave()
	g, err := sumDims(int64(outer), int64(inner))
	if err != nil {
		return fmt.Errorf("cuda: Sum: %w", err)
	}
	d.args.reset().ptr(ops[0].addr()).ptr(ops[1].addr()).i64(outer).i64(mid).i64(inner)
	return d.launch2("Sum", kSumMid, ops[0].dt, g.gx, g.gy, g.bx, g.by)
}

// BiasAdd computes dst[r,c] = x[r,c] + bias[c].
func (d *Device) BiasAdd(dst, x, bias backend.Buffer, rows, cols int) error {
	ops, err := d.operands("BiasAdd", "dst, x, bias", dst, x, bias)
	if err != nil {
		return err
	}
	if err := backend.CheckBiasAdd(dev, ops[0], ops[1], ops[2], rows, cols); err != nil {
		return err
	}
	if rows*cols == 0 {
		return nil
	}
	if err := d.enter("BiasAdd"); err != nil {
		return err
	}
	defer d.leave()
	d.args.reset().ptr(ops[0].addr()).ptr(ops[1].addr()).ptr(ops[2].addr()).i64(rows).i64(cols)
	return d.launch("BiasAdd", kBiasAdd, ops[0].dt, d.grid(rows*cols), blockSize)
}

// Activation computes dst = f(x).
func (d *Device) Activation(act kernels.Activation, alpha float64, dst, x backend.Buffer) error {
	ops, err := d.operands("Activation", "dst, x", dst, x)
	if err != nil {
		return err
	}
	if err := backend.CheckActivation(dev, act, ops[0], ops[1]); err != nil {
		return err
	}
	if ops[0].n == 0 {
		return nil
	}
	if err := d.enter("Activation"); err != nil {
		return err
	}
	defer d.leave()
	d.args.reset().i64(int(act)).f64(alpha).ptr(ops[0].addr()).ptr(ops[1].addr()).i64(ops[0].n)
	return d.launch("Activation", kActFwd, ops[0].dt, d.grid(ops[0].n), blockSize)
}

// ActivationGrad computes dx = dy·f'(x); y is checked but not read (f' is recomputed from x).
func (d *Device) ActivationGrad(act kernels.Activation, alpha float64, dx, x, y, dy backend.Buffer) error {
	ops, err := d.operands("ActivationGrad", "dx, x, y, dy", dx, x, y, dy)
	if err != nil {
		return err
	}
	if err := backend.CheckActivationGrad(dev, act, ops[0], ops[1], ops[2], ops[3]); err != nil {
		return err
	}
	n := ops[0].n
	if n == 0 {
		return nil
	}
	if err := d.enter("ActivationGrad"); err != nil {
		return err
	}
	defer d.leave()
	d.args.reset().i64(int(act)).f64(alpha).ptr(ops[0].addr()).ptr(ops[1].addr()).ptr(ops[3].addr()).i64(n)
	return d.launch("ActivationGrad", kActBwd, ops[0].dt, d.grid(n), blockSize)
}

// narrow says whether rows of cols elements get a warp each (else a block each).
func (d *Device) narrow(cols int) bool {
	switch d.rowPath {
	case 1:
		return true
	case 2:
		return false
	}
	return cols <= narrowCols
}

// rowLaunch launches a warp-per-row or block-per-row kernel over rows.
func (d *Device) rowLaunch(op string, warp, block kernelID, dt backend.DType, rows, cols int) error {
	k := block
	if d.narrow(cols) {
		k = warp
	}
	g := rowDims(int64(rows), k == warp, d.maxGrid)
	return d.launch2(op, k, dt, g.gx, g.gy, g.bx, g.by)
}

// Softmax computes the (log-)softmax of each row.
func (d *Device) Softmax(log bool, dst, x backend.Buffer, rows, cols int) error {
	ops, err := d.operands("Softmax", "dst, x", dst, x)
	if err != nil {
		return err
	}
	if err := backend.CheckSoftmax(dev, ops[0], ops[1], rows, cols); err != nil {
		return err
	}
	if rows*cols == 0 {
		return nil
	}
	if err := d.enter("Softmax"); err != nil {
		return err
	}
	defer d.leave()
	d.args.reset().i64(b2i(log)).ptr(ops[0].addr()).ptr(ops[1].addr()).i64(rows).i64(cols)
	return d.rowLaunch("Softmax", kSoftmaxWarp, kSoftmaxBlock, ops[0].dt, rows, cols)
}

// SoftmaxGrad computes the (log-)softmax backward from the forward output y.
func (d *Device) SoftmaxGrad(log bool, dx, y, dy backend.Buffer, rows, cols int) error {
	ops, err := d.operands("SoftmaxGrad", "dx, y, dy", dx, y, dy)
	if err != nil {
		return err
	}
	if err := backend.CheckSoftmaxGrad(dev, ops[0], ops[1], ops[2], rows, cols); err != nil {
		return err
	}
	if rows*cols == 0 {
		return nil
	}
	if err := d.enter("SoftmaxGrad"); err != nil {
		return err
	}
	defer d.leave()
	d.args.reset().i64(b2i(log)).ptr(ops[0].addr()).ptr(ops[1].addr()).ptr(ops[2].addr()).i64(rows).i64(cols)
	return d.rowLaunch("SoftmaxGrad", kSoftmaxGradWarp, kSoftmaxGradBlock, ops[0].dt, rows, cols)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// finalize adds the first parts partial sums of the scratch into dst[0] as T(sum/div).
func (d *Device) finalize(op string, dst *Buffer, parts int, div float64) error {
	d.args.reset().ptr(d.scratch.addr()).i64(parts).f64(div).ptr(dst.addr())
	g := finalizeDims()
	return d.launch2(op, kFinalize, dst.dt, g.gx, g.gy, g.bx, g.by)
}

// Loss writes the mean loss into the one-element loss buffer: per-block partial sums, then one
// block adds them (no host round trip).
func (d *Device) Loss(kind kernels.Loss, loss, x, y backend.Buffer, rows, cols int) error {
	ops, err := d.operands("Loss", "loss, x, y", loss, x, y)
	if err != nil {
		return err
	}
	if err := backend.CheckLoss(dev, kind, ops[0], ops[1], ops[2], rows, cols); err != nil {
		return err
	}
	if err := d.enter("Loss"); err != nil {
		return err
	}
	defer d.leave()
	l, xb, yb := ops[0], ops[1], ops[2]
	n := rows * cols
	if n == 0 {
		return d.fill("Loss", l, 0) // the twin's loss of nothing
	}
	var grid int
	if kind == kernels.SoftmaxCrossEntropy {
		grid = partialDims(int64(rows), warpsPerBlk).gx
		d.args.reset().ptr(xb.addr()).ptr(yb.addr()).i64(rows).i64(cols).ptr(d.scratch.addr())
		err = d.launch("Loss", kLossCEPartial, l.dt, grid, blockSize)
	} else {
		grid = partialDims(int64(n), blockSize).gx
		d.args.reset().i64(int(kind)).ptr(xb.addr()).ptr(yb.addr()).i64(n).ptr(d.scratch.addr())
		err = d.launch("Loss", kLossElemPartial, l.dt, grid, blockSize)
	}
	if err != nil {
		return err
	}
	return d.finalize("Loss", l, grid, kernels.LossDivisor(kind, rows, cols))
}

// LossGrad computes dx = dloss·∂loss/∂x, reading dloss on the device.
func (d *Device) LossGrad(kind kernels.Loss, dx, x, y, dloss backend.Buffer, rows, cols int) error {
	ops, err := d.operands("LossGrad", "dx, x, y, dloss", dx, x, y, dloss)
	if err != nil {
		return err
	}
	if err := backend.CheckLossGrad(dev, kind, ops[0], ops[1], ops[2], ops[3], rows, cols); err != nil {
		return err
	}
	n := rows * cols
	if n == 0 {
		return nil
	}
	if err := d.enter("LossGrad"); err != nil {
		return err
	}
	defer d.leave()
	div := kernels.LossDivisor(kind, rows, cols)
	dxb, xb, yb, gb := ops[0], ops[1], ops[2], ops[3]
	if kind == kernels.SoftmaxCrossEntropy {
		d.args.reset().ptr(dxb.addr()).ptr(xb.addr()).ptr(yb.addr()).ptr(gb.addr()).f64(div).i64(rows).i64(cols)
		return d.rowLaunch("LossGrad", kLossCEGradWarp, kLossCEGradBlock, dxb.dt, rows, cols)
	}
	d.args.reset().i64(int(kind)).ptr(dxb.addr()).ptr(xb.addr()).ptr(yb.addr()).ptr(gb.addr()).f64(div).i64(n)
	return d.launch("LossGrad", kLossElemGrad, dxb.dt, d.grid(n), blockSize)
}

// CountCorrect writes the number of rows predicted correctly into the one-element dst.
func (d *Device) CountCorrect(dst, x, y backend.Buffer, rows, cols int) error {
	ops, err := d.operands("CountCorrect", "dst, x, y", dst, x, y)
	if err != nil {
		return err
	}
	if err := backend.CheckCountCorrect(dev, ops[0], ops[1], ops[2], rows, cols); err != nil {
		return err
	}
	if err := d.enter("CountCorrect"); err != nil {
		return err
	}
	defer d.leave()
	if rows == 0 || cols == 0 {
		return d.fill("CountCorrect", ops[0], 0)
	}
	grid := partialDims(int64(rows), warpsPerBlk).gx
	d.args.reset().ptr(ops[1].addr()).ptr(ops[2].addr()).i64(rows).i64(cols).ptr(d.scratch.addr())
	if err := d.launch("CountCorrect", kCountCorrectPartial, ops[0].dt, grid, blockSize); err != nil {
		return err
	}
	return d.finalize("CountCorrect", ops[0], grid, 1)
}

// SumSquares writes Σx² over every buffer of xs into the one-element dst, accumulated in double
// by one multi-tensor kernel.
func (d *Device) SumSquares(dst backend.Buffer, xs []backend.Buffer) error {
	ops, err := d.operands("SumSquares", "dst", dst)
	if err != nil {
		return err
	}
	if err := backend.CheckSumSquaresDst(dev, ops[0]); err != nil {
		return err
	}
	out := ops[0]
	d.table.reset(1, chunkElems)
	for i, x := range xs {
		xb, err := d.buf("SumSquares", "xs", i, x)
		if err != nil {
			return err
		}
		if xb.dt != out.dt {
			return fmt.Errorf("cuda: SumSquares: xs[%d] is %v, dst is %v: %w", i, xb.dt, out.dt, backend.ErrDType)
		}
		if xb.n > 0 {
			_ = d.table.add(xb.n, xb.addr()) // one pointer, as reset said: cannot fail
		}
	}
	if err := d.enter("SumSquares"); err != nil {
		return err
	}
	defer d.leave()
	words, at := d.table.finish()
	nchunks := d.table.nchunks()
	if nchunks == 0 {
		return d.fill("SumSquares", out, 0)
	}
	tab, err := d.tables.get(words)
	if err != nil {
		return fmt.Errorf("cuda: SumSquares: %w", err)
	}
	grid := tableDims(int64(nchunks), maxPartials).gx
	d.args.reset().ptr(tab).i64(at).i64(nchunks).i64(chunkElems).ptr(d.scratch.addr())
	if err := d.launch("SumSquares", kSumSqPartial, out.dt, grid, blockSize); err != nil {
		return err
	}
	return d.finalize("SumSquares", out, grid, 1)
}

// Clamp computes dst = min(max(x, lo), hi), NaN staying NaN.
func (d *Device) Clamp(dst, x backend.Buffer, lo, hi float64) error {
	ops, err := d.operands("Clamp", "dst, x", dst, x)
	if err != nil {
		return err
	}
	if err := backend.CheckClamp(dev, ops[0], ops[1], lo, hi); err != nil {
		return err
	}
	if ops[0].n == 0 {
		return nil
	}
	if err := d.enter("Clamp"); err != nil {
		return err
	}
	defer d.leave()
	o := ops[0]
	d.args.reset().ptr(o.addr()).ptr(ops[1].addr()).float(o.dt, lo).float(o.dt, hi).i64(o.n)
	return d.launch("Clamp", kClamp, o.dt, d.grid(o.n), blockSize)
}

// OptimizerStep applies one step of h.Rule to every parameter with one multi-tensor launch per
// dtype present (one, in training): the kernel optim_<rule> reads h's flags and scalars as they
// are. Everything is checked before anything is issued, so a bad list never leaves a half-applied
// step.
func (d *Device) OptimizerStep(h *kernels.Step, params, grads []backend.Buffer, state [][]backend.Buffer) error {
	if d.closed {
		return fmt.Errorf("cuda: OptimizerStep: %w", backend.ErrClosed)
	}
	if err := backend.CheckStepLists(dev, h, params, grads, state); err != nil {
		return err
	}
	want := h.States
	d.tensors[0], d.tensors[1] = d.tensors[0][:0], d.tensors[1][:0]
	for i, p := range params {
		pb, err := d.buf("OptimizerStep", "params", i, p)
		if err != nil {
			return err
		}
		if err := d.sameShape(pb, -1, i, grads[i]); err != nil {
			return err
		}
		for k := range state {
			if err := d.sameShape(pb, k, i, state[k][i]); err != nil {
				return err
			}
		}
		if pb.n > 0 {
			d.tensors[dtypeIndex(pb.dt)] = append(d.tensors[dtypeIndex(pb.dt)], i)
		}
	}
	var zero [kernels.MaxStates]int
	if err := kernels.CheckUpdate(h, 0, 0, zero[:want]); err != nil {
		return fmt.Errorf("cuda: OptimizerStep: %w", err)
	}
	ok, err := d.optimFunctions(h.Rule)
	if err != nil {
		return err
	}
	if len(d.tensors[0])+len(d.tensors[1]) == 0 {
		return nil
	}
	if err := d.enter("OptimizerStep"); err != nil {
		return err
	}
	defer d.leave()
	var ptrs [2 + kernels.MaxStates]uint64
	for di, dt := range []backend.DType{backend.Float32, backend.Float64} {
		idx := d.tensors[di]
		if len(idx) == 0 {
			continue
		}
		d.table.reset(2+want, chunkElems)
		for _, i := range idx {
			ptrs[0], ptrs[1] = params[i].(*Buffer).addr(), grads[i].(*Buffer).addr()
			for k := range state {
				ptrs[2+k] = state[k][i].(*Buffer).addr()
			}
			_ = d.table.add(params[i].Len(), ptrs[:2+want]...) // 2+want pointers, as reset said
		}
		words, at := d.table.finish()
		nchunks := d.table.nchunks()
		tab, err := d.tables.get(words)
		if err != nil {
			return fmt.Errorf("cuda: OptimizerStep: %w", err)
		}
		d.args.reset().ptr(tab).i64(2 + want).i64(at).i64(nchunks).i64(chunkElems).i64(int(h.Flags))
		for _, v := range h.S {
			d.args.f64(v)
		}
		if err := d.launchFn("OptimizerStep", ok.name, dt, optimSig, ok.fns[dtypeIndex(dt)], tableDims(int64(nchunks), d.maxGrid).gx, 1, blockSize, 1); err != nil {
			return err
		}
	}
	return nil
}

// sameShape checks that b (grads[idx] for k < 0, else state[k][idx]) is a live buffer of this
// device with p's dtype and length. The name is only formatted on error, so the check allocates
// nothing.
func (d *Device) sameShape(p *Buffer, k, idx int, b backend.Buffer) error {
	name := func() string {
		if k < 0 {
			return "grads"
		}
		return fmt.Sprintf("state[%d]", k)
	}
	cb, ok := b.(*Buffer)
	if !ok || cb == nil || cb.dev != d || cb.dead() {
		_, err := d.buf("OptimizerStep", name(), idx, b)
		return err
	}
	if cb.dt != p.dt {
		return fmt.Errorf("cuda: OptimizerStep: %s[%d] is %v, the parameter is %v: %w", name(), idx, cb.dt, p.dt, backend.ErrDType)
	}
	if cb.n != p.n {
		return lenErr("OptimizerStep", fmt.Sprintf("%s[%d]", name(), idx), cb.n, p.n)
	}
	return nil
}

// gpuExecs holds the CUDA executors of registered ops; each op file (conv_gpu.go, ...) adds its
// own in an init function.
var gpuExecs backend.Executors[*Device, *Buffer]

// Run executes a call of a registered op: this device's executor for it, else the op's Via
// composition of the typed methods. The executor runs between enter and leave.
func (d *Device) Run(c *backend.Call) error {
	if err := backend.CheckCall(dev, c); err != nil {
		return err
	}
	f := gpuExecs.Lookup(c.Op)
	if f == nil {
		if via := c.Op.Via(); via != nil {
			if err := c.Op.Check(dev, c); err != nil {
				return err
			}
			return via(d, c)
		}
		return backend.Unsupported(dev, c.Op)
	}
	ops, err := d.operands(c.Op.Name(), c.Op.OperandList(), c.Bufs...)
	if err != nil {
		return err
	}
	if err := c.Op.Check(dev, c); err != nil {
		return err
	}
	if err := d.enter(c.Op.Name()); err != nil {
		return err
	}
	defer d.leave()
	return f(d, c, ops)
}
