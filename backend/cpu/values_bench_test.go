package cpu_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/require"
)

// BenchmarkValues times every kernel a training step runs on five classes of input values, to
// find the kernels whose speed depends on the values (issue 19): a diverging or saturating run
// feeds them exactly the extreme classes. Each kernel runs on
//
//	normal    draws of a few units (what a healthy run sees)
//	extreme   half the elements ±1e4 to ±1e30 (saturated activations, diverged logits and weights)
//	denormal  half the elements subnormal (vanishing activations and gradients)
//	tiny      half the elements normal but of 1e-37 to 1e-19 in magnitude, whose products are
//	          subnormal (the gradients of saturated sigmoids, decaying optimizer state)
//	nanInf    a quarter NaN and a quarter ±Inf (a run that has already blown up)
//
// the other elements being normal, mixed at random so that a value-dependent branch
// mispredicts as it would in a real run. Beside ns/op each case reports "x-normal", its time
// over the normal case's, measured just before it in the same process: 1.00 is the goal.
//
//	go test -run xxx -bench Values -benchtime 200ms -count 5 ./backend/cpu/
func BenchmarkValues(b *testing.B) {
	const n = 1 << 18 // elementwise size: 1 MiB per float32 buffer
	for _, k := range valueKernels(n) {
		var normal float64
		for _, c := range valueClasses {
			b.Run(k.name+"/"+c.name, func(b *testing.B) {
				dev, err := cpu.New(0)
				require.NoError(b, err)
				defer dev.Close()
				rng := rand.New(rand.NewPCG(7, uint64(len(k.name))))
				step := k.setup(b, dev, func(s []float32, scale float64) { c.fill(rng, s, scale) })
				require.NoError(b, step()) // warm up (grows buffers, compiles nothing)
				b.ResetTimer()
				for range b.N {
					if err := step(); err != nil {
						b.Fatal(err)
					}
				}
				ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				if c.name == "normal" {
					normal = ns
				} else if normal > 0 {
					b.ReportMetric(ns/normal, "x-normal")
				}
			})
		}
	}
}

// valueClass fills a slice with one class of values; scale is the kernel's normal magnitude.
type valueClass struct {
	name string
	fill func(rng *rand.Rand, s []float32, scale float64)
}

var valueClasses = []valueClass{
	{"normal", func(rng *rand.Rand, s []float32, scale float64) {
		for i := range s {
			s[i] = float32(rng.NormFloat64() * scale)
		}
	}},
	{"extreme", func(rng *rand.Rand, s []float32, scale float64) {
		for i := range s {
			if rng.IntN(2) == 0 {
				s[i] = float32(rng.NormFloat64() * scale)
				continue
			}
			s[i] = float32(math.Copysign(math.Pow(10, 4+26*rng.Float64()), rng.NormFloat64()))
		}
	}},
	{"denormal", func(rng *rand.Rand, s []float32, scale float64) {
		for i := range s {
			if rng.IntN(2) == 0 {
				s[i] = float32(rng.NormFloat64() * scale)
				continue
			}
			s[i] = math.Float32frombits(rng.Uint32N(1<<23) | rng.Uint32N(2)<<31)
		}
	}},
	{"tiny", func(rng *rand.Rand, s []float32, scale float64) {
		for i := range s {
			if rng.IntN(2) == 0 {
				s[i] = float32(rng.NormFloat64() * scale)
				continue
			}
			s[i] = float32(math.Copysign(math.Pow(10, -37+18*rng.Float64()), rng.NormFloat64()))
		}
	}},
	{"nanInf", func(rng *rand.Rand, s []float32, scale float64) {
		for i := range s {
			switch rng.IntN(4) {
			case 0:
				s[i] = float32(math.NaN())
			case 1:
				s[i] = float32(math.Inf(2*rng.IntN(2) - 1))
			default:
				s[i] = float32(rng.NormFloat64() * scale)
			}
		}
	}},
}

// valueKernel prepares one kernel on a device: setup allocates its buffers, fills the input that
// carries the class with fill (the others with normal values) and returns one call.
type valueKernel struct {
	name  string
	setup func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error
}

// buffers allocates float32 buffers of the given lengths.
func buffers(b *testing.B, dev backend.Device, lens ...int) []backend.Buffer {
	out := make([]backend.Buffer, len(lens))
	for i, l := range lens {
		var err error
		out[i], err = dev.Alloc(backend.Float32, l)
		require.NoError(b, err)
	}
	return out
}

// write fills a new host slice of n values with fill and writes it into buf.
func write(b *testing.B, dev backend.Device, buf backend.Buffer, n int, scale float64, fill func([]float32, float64)) {
	s := make([]float32, n)
	fill(s, scale)
	require.NoError(b, dev.Write(buf, s))
}

func normalFill(s []float32, scale float64) {
	valueClasses[0].fill(rand.New(rand.NewPCG(1, 1)), s, scale)
}

func valueKernels(n int) []valueKernel {
	var ks []valueKernel
	// Matrix products at the MLP's second layer (batch 128, 256×256): forward, input gradient,
	// weight gradient; the class is in the left operand.
	for _, g := range []struct {
		name           string
		transA, transB bool
		m, nn, k       int
	}{{"gemm-fwd", false, false, 128, 256, 256}, {"gemm-dX", false, true, 128, 256, 256}, {"gemm-dW", true, false, 256, 256, 128}} {
		ks = append(ks, valueKernel{g.name, func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
			bs := buffers(b, dev, g.m*g.k, g.k*g.nn, g.m*g.nn)
			write(b, dev, bs[0], g.m*g.k, 1, fill)
			write(b, dev, bs[1], g.k*g.nn, 1, normalFill)
			return func() error { return dev.Gemm(g.transA, g.transB, g.m, g.nn, g.k, 1, bs[0], bs[1], 0, bs[2]) }
		}})
	}
	ks = append(ks,
		valueKernel{"bias-add", func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
			bs := buffers(b, dev, n, n, 256)
			write(b, dev, bs[1], n, 3, fill)
			write(b, dev, bs[2], 256, 1, normalFill)
			return func() error { return dev.BiasAdd(bs[0], bs[1], bs[2], n/256, 256) }
		}},
		valueKernel{"sum-rows", func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
			bs := buffers(b, dev, 256, n)
			write(b, dev, bs[1], n, 3, fill)
			return func() error { return dev.Sum(bs[0], bs[1], 1, n/256, 256) }
		}},
		valueKernel{"sum-squares", func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
			bs := buffers(b, dev, 1, n)
			write(b, dev, bs[1], n, 3, fill)
			xs := []backend.Buffer{bs[1]}
			return func() error { return dev.SumSquares(bs[0], xs) }
		}},
	)
	for _, act := range kernels.Activations() {
		ks = append(ks,
			valueKernel{act.String() + "-fwd", func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
				bs := buffers(b, dev, n, n)
				write(b, dev, bs[0], n, 3, fill)
				return func() error { return dev.Activation(act, act.DefaultAlpha(), bs[1], bs[0]) }
			}},
			valueKernel{act.String() + "-bwd", func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
				bs := buffers(b, dev, n, n, n, n)
				write(b, dev, bs[0], n, 3, fill)
				write(b, dev, bs[2], n, 1, normalFill)
				require.NoError(b, dev.Activation(act, act.DefaultAlpha(), bs[1], bs[0]))
				return func() error { return dev.ActivationGrad(act, act.DefaultAlpha(), bs[3], bs[0], bs[1], bs[2]) }
			}},
		)
	}
	const rows, cols = 1 << 14, 10 // a classifier's output layer
	ks = append(ks,
		valueKernel{"softmax-fwd", func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
			bs := buffers(b, dev, rows*cols, rows*cols)
			write(b, dev, bs[0], rows*cols, 3, fill)
			return func() error { return dev.Softmax(false, bs[1], bs[0], rows, cols) }
		}},
		valueKernel{"softmax-fwd-wide", func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
			const wide = 1000 // rows past 16, which the vector loops take in three passes
			m := n / wide * wide
			bs := buffers(b, dev, m, m)
			write(b, dev, bs[0], m, 3, fill)
			return func() error { return dev.Softmax(false, bs[1], bs[0], m/wide, wide) }
		}},
		valueKernel{"softmax-bwd", func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
			bs := buffers(b, dev, rows*cols, rows*cols, rows*cols, rows*cols)
			write(b, dev, bs[0], rows*cols, 3, fill)
			write(b, dev, bs[2], rows*cols, 1, normalFill)
			require.NoError(b, dev.Softmax(false, bs[1], bs[0], rows, cols))
			return func() error { return dev.SoftmaxGrad(false, bs[3], bs[1], bs[2], rows, cols) }
		}},
	)
	for _, loss := range []kernels.Loss{kernels.SoftmaxCrossEntropy, kernels.BCEWithLogits, kernels.MSE} {
		setupLoss := func(b *testing.B, dev backend.Device, fill func([]float32, float64)) []backend.Buffer {
			bs := buffers(b, dev, rows*cols, rows*cols, rows*cols, 1, 1)
			write(b, dev, bs[0], rows*cols, 3, fill)
			y := make([]float32, rows*cols)
			for r := range rows {
				y[r*cols+r%cols] = 1
			}
			require.NoError(b, dev.Write(bs[1], y))
			require.NoError(b, dev.Write(bs[4], []float32{1}))
			return bs
		}
		ks = append(ks,
			valueKernel{loss.String() + "-loss", func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
				bs := setupLoss(b, dev, fill)
				return func() error { return dev.Loss(loss, bs[3], bs[0], bs[1], rows, cols) }
			}},
			valueKernel{loss.String() + "-grad", func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
				bs := setupLoss(b, dev, fill)
				return func() error { return dev.LossGrad(loss, bs[2], bs[0], bs[1], bs[4], rows, cols) }
			}},
		)
	}
	// Batch normalisation in training at 32 images × 32 channels of 16×16 (n elements), the class
	// in x (and so in the batch statistics the gradients read), and the channel sum of β's and a
	// convolution bias's gradient.
	bn := kernels.BatchNorm{N: 32, C: 32, Inner: n / (32 * 32), Eps: 1e-5, Momentum: 0.1, Train: true}
	bnSetup := func(b *testing.B, dev backend.Device, fill func([]float32, float64)) []backend.Buffer {
		bs := buffers(b, dev, n, n, n, n, bn.C, bn.C, bn.C, bn.C, bn.C, bn.C)
		write(b, dev, bs[0], n, 3, fill) // x
		write(b, dev, bs[1], n, 1, normalFill)
		write(b, dev, bs[4], bn.C, 1, normalFill) // γ
		write(b, dev, bs[5], bn.C, 1, normalFill) // β
		require.NoError(b, dev.Run(&backend.Call{Op: backend.OpBatchNorm, Bufs: []backend.Buffer{bs[2], bs[0], bs[4], bs[5], bs[6], bs[7]}, Attrs: &bn}))
		return bs
	}
	for _, op := range []struct {
		name string
		call func(bs []backend.Buffer) *backend.Call
	}{
		{"batchnorm-fwd", func(bs []backend.Buffer) *backend.Call {
			return &backend.Call{Op: backend.OpBatchNorm, Bufs: []backend.Buffer{bs[2], bs[0], bs[4], bs[5], bs[6], bs[7]}, Attrs: &bn}
		}},
		{"batchnorm-grad-input", func(bs []backend.Buffer) *backend.Call {
			return &backend.Call{Op: backend.OpBatchNormGradInput, Bufs: []backend.Buffer{bs[3], bs[0], bs[4], bs[6], bs[7], bs[1]}, Attrs: &bn}
		}},
		{"batchnorm-grad-gamma", func(bs []backend.Buffer) *backend.Call {
			return &backend.Call{Op: backend.OpBatchNormGradGamma, Bufs: []backend.Buffer{bs[8], bs[0], bs[6], bs[7], bs[1]}, Attrs: &bn}
		}},
		{"channel-sum", func(bs []backend.Buffer) *backend.Call {
			return &backend.Call{Op: backend.OpChannelSum, Bufs: []backend.Buffer{bs[9], bs[0]}, Attrs: &backend.ChannelAttrs{Outer: bn.N, Channels: bn.C, Inner: bn.Inner}}
		}},
	} {
		ks = append(ks, valueKernel{op.name, func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
			c := op.call(bnSetup(b, dev, fill))
			return func() error { return dev.Run(c) }
		}})
	}
	ks = append(ks, valueKernel{"count-correct", func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
		bs := buffers(b, dev, 1, rows*cols, rows*cols)
		write(b, dev, bs[1], rows*cols, 3, fill)
		write(b, dev, bs[2], rows*cols, 1, normalFill)
		return func() error { return dev.CountCorrect(bs[0], bs[1], bs[2], rows, cols) }
	}})
	for _, rule := range []struct{ name, opt string }{
		{"sgd", "sgd"}, {"momentum", "momentum"}, {"adam", "adam"}, {"adamw", "adamw"},
		{"rmsprop", "rmsprop"}, {"adagrad", "adagrad"}, {"nadam", "nadam"},
		{"nesterov", "nesterov"}, {"adamax", "adamax"}, {"radam", "radam"}, {"lion", "lion"},
	} {
		ks = append(ks, valueKernel{"step-" + rule.name, func(b *testing.B, dev backend.Device, fill func([]float32, float64)) func() error {
			s, ns := optimStep(b, rule.opt, 10)
			bs := buffers(b, dev, n, n)
			write(b, dev, bs[0], n, 0.1, normalFill)
			write(b, dev, bs[1], n, 0.01, fill)
			state := make([][]backend.Buffer, ns)
			for k := range state {
				state[k] = buffers(b, dev, n)
			}
			params, grads := bs[:1], bs[1:2]
			return func() error { return dev.OptimizerStep(s, params, grads, state) }
		}})
	}
	return ks
}

// optimStep is the device step t of the named optimizer at its defaults (rate: PyTorch's default
// where it has one, else 1e-2) and its number of state tensors.
func optimStep(b testing.TB, name string, t int) (*kernels.Step, int) {
	lr := map[string]float64{"sgd": 0.1, "momentum": 0.1, "adam": 1e-3, "adamw": 1e-3, "nadam": 2e-3}[name]
	if lr == 0 {
		lr = 1e-2
	}
	o, err := optim.Defaults(name, lr)
	require.NoError(b, err)
	d, err := optim.Describe(o.Name)
	require.NoError(b, err)
	carry := 1.0
	s := d.Step(o, lr, t, &carry)
	return &s, len(d.States(o))
}
