package cpu_test

import (
	"fmt"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/kernels"
	"github.com/stretchr/testify/require"
)

// BenchmarkSplit times cheap and costly elementwise ops at the sizes of a training step (a
// batch of 128 or 1024 times a layer of 256 or 1024) on a device of 1 and of 2 workers: where
// 2 workers do not beat 1, the op should not be split (the grains of cpu.go).
func BenchmarkSplit(b *testing.B) {
	adam, _ := optimStep(b, "adam", 10)
	ops := []struct {
		name string
		run  func(dev backend.Device, bs []backend.Buffer, n int) error
	}{
		{"relu", func(dev backend.Device, bs []backend.Buffer, n int) error {
			return dev.Activation(kernels.ReLU, 0, bs[1], bs[0])
		}},
		{"sigmoid", func(dev backend.Device, bs []backend.Buffer, n int) error {
			return dev.Activation(kernels.Sigmoid, 0, bs[1], bs[0])
		}},
		{"gelu", func(dev backend.Device, bs []backend.Buffer, n int) error {
			return dev.Activation(kernels.GELU, 0, bs[1], bs[0])
		}},
		{"bias-add", func(dev backend.Device, bs []backend.Buffer, n int) error {
			return dev.BiasAdd(bs[1], bs[0], bs[2], n/256, 256)
		}},
		{"adam", func(dev backend.Device, bs []backend.Buffer, n int) error {
			return dev.OptimizerStep(adam, bs[:1], bs[1:2], [][]backend.Buffer{bs[2:3], bs[3:4]})
		}},
	}
	for _, op := range ops {
		for _, n := range []int{1 << 15, 1 << 16, 1 << 17, 1 << 18, 1 << 20} {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/n%d/w%d", op.name, n, workers), func(b *testing.B) {
					dev, err := cpu.New(workers)
					require.NoError(b, err)
					defer dev.Close()
					bs := buffers(b, dev, n, n, n, n)
					if op.name == "bias-add" {
						bs[2] = buffers(b, dev, 256)[0]
					}
					write(b, dev, bs[0], n, 1, normalFill)
					require.NoError(b, op.run(dev, bs, n))
					b.ResetTimer()
					for range b.N {
						if err := op.run(dev, bs, n); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
