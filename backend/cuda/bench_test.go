//go:build gpu

package cuda

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest"
	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
)

// Benchmarks time the GPU with CUDA events around b.N launches (after one warm-up call) and report
// GB/s of the bytes each op must move, beside BenchmarkCopy, a device-to-device copy of the same
// size in the same process: the bandwidth floor to compare with. Data are a few hundred MB per
// buffer so the L2 cache does not flatter. Correctness is the tests' business (kernels_test.go).
//
//	go test -tags gpu -run xxx -bench . ./backend/cuda/     (or the binary scripts/gpu-build.sh makes)

const benchN = 1 << 26 // 64M elements: 256 MB per float32 buffer

func benchBuffers(b *testing.B, d *Device, dt backend.DType, count, n int) []backend.Buffer {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]backend.Buffer, count)
	host := make([]float32, n)
	for i := range host {
		host[i] = float32(rng.Float64()*2 - 1)
	}
	for i := range out {
		buf, err := d.Alloc(dt, n)
		require.NoError(b, err)
		require.NoError(b, d.Write(buf, host))
		out[i] = buf
	}
	return out
}

// gpuTime runs op once to warm up, then b.N times between CUDA events, and reports GPU time per
// op and the bandwidth of bytesPerOp.
func gpuTime(b *testing.B, d *Device, bytesPerOp int64, op func() error) {
	require.NoError(b, op())
	require.NoError(b, d.Sync())
	tm, err := d.newTimer()
	require.NoError(b, err)
	defer tm.close()
	b.SetBytes(bytesPerOp)
	b.ResetTimer()
	require.NoError(b, tm.begin())
	for i := 0; i < b.N; i++ {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	ms, err := tm.end()
	require.NoError(b, err)
	b.StopTimer()
	sec := ms / 1e3 / float64(b.N)
	b.ReportMetric(sec*1e6, "gpu-us/op")
	b.ReportMetric(float64(bytesPerOp)/sec/1e9, "GB/s")
}

func BenchmarkCopy(b *testing.B) {
	d := openGPU(b)
	bs := benchBuffers(b, d, backend.Float32, 2, benchN)
	gpuTime(b, d, 2*4*benchN, func() error { return d.Copy(bs[1], bs[0]) })
}

func BenchmarkActivation(b *testing.B) {
	d := openGPU(b)
	bs := benchBuffers(b, d, backend.Float32, 3, benchN)
	for _, act := range []kernels.Activation{kernels.Sigmoid, kernels.Tanh, kernels.ReLU, kernels.GELU, kernels.SiLU} {
		b.Run(act.String()+" forward", func(b *testing.B) {
			gpuTime(b, d, 2*4*benchN, func() error { return d.Activation(act, 0, bs[1], bs[0]) })
		})
		b.Run(act.String()+" backward", func(b *testing.B) {
			gpuTime(b, d, 3*4*benchN, func() error { return d.ActivationGrad(act, 0, bs[2], bs[0], bs[1], bs[1]) })
		})
	}
}

// freeAll returns benchmark buffers to the device's cache.
func freeAll(d *Device, bs []backend.Buffer) {
	for _, x := range bs {
		d.Free(x)
	}
}

func BenchmarkSoftmax(b *testing.B) {
	d := openGPU(b)
	for _, cols := range []int{10, 1000} {
		rows := benchN / cols // benchN is not a multiple of cols: the buffers hold rows·cols
		bs := benchBuffers(b, d, backend.Float32, 2, rows*cols)
		b.Run("rows of "+strconv.Itoa(cols), func(b *testing.B) {
			gpuTime(b, d, 2*4*int64(rows*cols), func() error { return d.Softmax(false, bs[1], bs[0], rows, cols) })
		})
		freeAll(d, bs)
	}
}

func BenchmarkLoss(b *testing.B) {
	d := openGPU(b)
	rows, cols := benchN/10, 10
	n := rows * cols // benchN is not a multiple of 10
	bs := benchBuffers(b, d, backend.Float32, 3, n)
	loss, err := d.Alloc(backend.Float32, 1)
	require.NoError(b, err)
	b.Run("softmax cross-entropy forward, rows of 10", func(b *testing.B) {
		gpuTime(b, d, 2*4*int64(n), func() error { return d.Loss(kernels.SoftmaxCrossEntropy, loss, bs[0], bs[1], rows, cols) })
	})
	b.Run("softmax cross-entropy backward, rows of 10", func(b *testing.B) {
		gpuTime(b, d, 3*4*int64(n), func() error {
			return d.LossGrad(kernels.SoftmaxCrossEntropy, bs[2], bs[0], bs[1], loss, rows, cols)
		})
	})
}

func BenchmarkElementwise(b *testing.B) {
	d := openGPU(b)
	bs := benchBuffers(b, d, backend.Float32, 3, benchN)
	b.Run("add", func(b *testing.B) {
		gpuTime(b, d, 3*4*benchN, func() error { return d.Binary(backend.Add, bs[2], bs[0], bs[1]) })
	})
	b.Run("exp", func(b *testing.B) {
		gpuTime(b, d, 2*4*benchN, func() error { return d.Unary(backend.Exp, bs[2], bs[0]) })
	})
}

func BenchmarkSumSquares(b *testing.B) {
	d := openGPU(b)
	bs := benchBuffers(b, d, backend.Float32, 4, benchN/4)
	dst, err := d.Alloc(backend.Float32, 1)
	require.NoError(b, err)
	gpuTime(b, d, 4*benchN, func() error { return d.SumSquares(dst, bs) })
}

func BenchmarkBiasAddAndSum(b *testing.B) {
	d := openGPU(b)
	rows, cols := benchN/256, 256
	bs := benchBuffers(b, d, backend.Float32, 2, benchN)
	bias := benchBuffers(b, d, backend.Float32, 1, cols)[0]
	b.Run("bias add", func(b *testing.B) {
		gpuTime(b, d, 2*4*benchN, func() error { return d.BiasAdd(bs[1], bs[0], bias, rows, cols) })
	})
	b.Run("bias gradient (column sum)", func(b *testing.B) {
		gpuTime(b, d, 4*benchN, func() error { return d.Sum(bias, bs[0], 1, rows, cols) })
	})
}

// BenchmarkOptimizerStep updates 8 tensors of 8M parameters in one launch (7 arrays touched per
// element for Adam: p, g, m, v read, p, m, v written).
func BenchmarkOptimizerStep(b *testing.B) {
	d := openGPU(b)
	const tensors, n = 8, benchN / 8
	cases := []struct {
		name   string
		h      *kernels.Step
		arrays int64
	}{
		{"adam", optimStep(b, "adam", 1e-3, 10), 7},
		{"sgd momentum", optimStep(b, "momentum", 0.1, 10), 5},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ns := c.h.States
			params := benchBuffers(b, d, backend.Float32, tensors, n)
			grads := benchBuffers(b, d, backend.Float32, tensors, n)
			state := make([][]backend.Buffer, ns)
			for k := range state {
				state[k] = benchBuffers(b, d, backend.Float32, tensors, n)
			}
			gpuTime(b, d, c.arrays*4*tensors*n, func() error { return d.OptimizerStep(c.h, params, grads, state) })
			for _, l := range append([][]backend.Buffer{params, grads}, state...) {
				freeAll(d, l)
			}
		})
	}
}

func BenchmarkGemm(b *testing.B) {
	d := openGPU(b)
	const n = 4096
	bs := benchBuffers(b, d, backend.Float32, 3, n*n)
	gpuTime(b, d, 3*4*n*n, func() error { return d.Gemm(false, false, n, n, n, 1, bs[0], bs[1], 0, bs[2]) })
	// GB/s is not the figure of merit here: TFLOP/s is 2n³ / (gpu-us/op · 1e6).
}

// BenchmarkTrainStep times one Adam training step of the MLP 784-256-256-10 (ReLU, softmax
// cross-entropy, batch 128, float32) on the GPU, wall clock (it includes the host's work and the
// step's read-backs), to compare with backend/train's BenchmarkTrainStep on the CPU.
func BenchmarkTrainStep(b *testing.B) {
	d := openGPU(b)
	const batch = 128
	spec, err := models.ParseSpec("784-256-256-10", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(b, err)
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 1024*784)
	labels := make([]uint8, 1024)
	for i := range x {
		x[i] = rng.Float32()
	}
	for i := range labels {
		labels[i] = uint8(rng.IntN(10))
	}
	data, err := train.Classification(x, labels, 784, 10)
	require.NoError(b, err)
	tr, err := train.New(train.Config{Model: spec, Device: d, Optimizer: optim.MustNamed("adam", 1e-3), BatchSize: batch, Seed: 1})
	require.NoError(b, err)
	defer tr.Close()
	step := backendtest.TrainerStep(b, tr, data, backendtest.FirstN(batch))
	step()
	allocs := d.alloc.stats.Allocs
	b.ReportAllocs()
	backendtest.TimeSteps(b, batch, 0, step)
	if d.alloc.stats.Allocs != allocs {
		b.Errorf("cuMemAlloc was called %d times inside the training steps", d.alloc.stats.Allocs-allocs)
	}
}

// optimStep is step t of the named optimizer with PyTorch's defaults at rate lr, as optim
// describes it.
func optimStep(tb testing.TB, name string, lr float64, t int) *kernels.Step {
	o, err := optim.Defaults(name, lr)
	require.NoError(tb, err)
	d, err := optim.Describe(o.Name)
	require.NoError(tb, err)
	carry := 1.0
	var s kernels.Step
	for i := 1; i <= t; i++ {
		s = d.Step(o, lr, i, &carry)
	}
	return &s
}
