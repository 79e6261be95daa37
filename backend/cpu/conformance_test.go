package cpu_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest"
	"github.com/gotrain/gotrain/backend/cpu"
)

// newDevice opens a CPU device with the default number of workers, closed when the test ends.
func newDevice(t *testing.T) backend.Device { return newDeviceWorkers(t, 0) }

func newDeviceWorkers(t *testing.T, workers int) backend.Device {
	t.Helper()
	dev, err := cpu.New(workers)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, dev.Close()) })
	return dev
}

func TestAllocWriteRead(t *testing.T)  { backendtest.TestAllocWriteRead(t, newDevice(t)) }
func TestViews(t *testing.T)           { backendtest.TestViews(t, newDevice(t)) }
func TestReadScalars(t *testing.T)     { backendtest.TestReadScalars(t, newDevice(t)) }
func TestFill(t *testing.T)            { backendtest.TestFill(t, newDevice(t)) }
func TestCopy(t *testing.T)            { backendtest.TestCopy(t, newDevice(t)) }
func TestScale(t *testing.T)           { backendtest.TestScale(t, newDevice(t)) }
func TestUnary(t *testing.T)           { backendtest.TestUnary(t, newDevice(t)) }
func TestBinary(t *testing.T)          { backendtest.TestBinary(t, newDevice(t)) }
func TestBroadcast(t *testing.T)       { backendtest.TestBroadcast(t, newDevice(t)) }
func TestSum(t *testing.T)             { backendtest.TestSum(t, newDevice(t)) }
func TestBiasAdd(t *testing.T)         { backendtest.TestBiasAdd(t, newDevice(t)) }
func TestGemm(t *testing.T)            { backendtest.TestGemm(t, newDevice(t)) }
func TestActivation(t *testing.T)      { backendtest.TestActivation(t, newDevice(t)) }
func TestActivationGrad(t *testing.T)  { backendtest.TestActivationGrad(t, newDevice(t)) }
func TestSoftmax(t *testing.T)         { backendtest.TestSoftmax(t, newDevice(t)) }
func TestSoftmaxGrad(t *testing.T)     { backendtest.TestSoftmaxGrad(t, newDevice(t)) }
func TestLoss(t *testing.T)            { backendtest.TestLoss(t, newDevice(t)) }
func TestLossGrad(t *testing.T)        { backendtest.TestLossGrad(t, newDevice(t)) }
func TestCountCorrect(t *testing.T)    { backendtest.TestCountCorrect(t, newDevice(t)) }
func TestOptimizerStep(t *testing.T)   { backendtest.TestOptimizerStep(t, newDevice(t)) }
func TestSumSquares(t *testing.T)      { backendtest.TestSumSquares(t, newDevice(t)) }
func TestClamp(t *testing.T)           { backendtest.TestClamp(t, newDevice(t)) }
func TestConv2D(t *testing.T)          { backendtest.TestConv2D(t, newDevice(t)) }
func TestChannelOps(t *testing.T)      { backendtest.TestChannelOps(t, newDevice(t)) }
func TestPool2D(t *testing.T)          { backendtest.TestPool2D(t, newDevice(t)) }
func TestDropout(t *testing.T)         { backendtest.TestDropout(t, newDevice(t)) }
func TestBatchNorm(t *testing.T)       { backendtest.TestBatchNorm(t, newDevice(t)) }
func TestErrors(t *testing.T)          { backendtest.TestErrors(t, newDevice(t)) }
func TestRunErrors(t *testing.T)       { backendtest.TestRunErrors(t, newDevice(t)) }
func TestTrainingCurve(t *testing.T)   { backendtest.TestTrainingCurve(t, newDevice(t)) }
func TestOracleGradients(t *testing.T) { backendtest.TestOracleGradients(t, newDevice(t)) }
func TestOracleSGD(t *testing.T)       { backendtest.TestOracleSGD(t, newDevice(t)) }
func TestOracleConvPool(t *testing.T)  { backendtest.TestOracleConvPool(t, newDevice(t)) }
func TestDiagnostics(t *testing.T)     { backendtest.TestDiagnostics(t, newDevice(t)) }

// TestConformanceWorkers runs the whole suite on one goroutine and on an odd number of workers, so
// that serial and split code paths both conform.
func TestConformanceWorkers(t *testing.T) {
	for _, w := range []int{1, 3} {
		t.Run(map[int]string{1: "one worker", 3: "three workers"}[w], func(t *testing.T) {
			backendtest.Run(t, newDeviceWorkers(t, w))
		})
	}
}

// TestConv2DBlocks runs the convolution tests with other blocks than the default (which holds
// many whole images of the suite's sizes, full-width where the geometry allows): one output row
// per block, so that the blocked im2col, col2im and the filter gradient's accumulation over
// blocks are checked on every geometry; two images of the 37-image case per block in chunks of
// ten, without the full-width matrix, so that blocks of images follow one another and a block of
// one ends the chunk; and the same with full-width blocks of two.
func TestConv2DBlocks(t *testing.T) {
	for _, c := range []struct {
		elems, chunks int
		wide          bool
	}{{1, 16, true}, {2 * 3 * 3 * 3 * 9 * 9, 4, false}, {2 * 3 * 3 * 3 * (9*11 - 2), 4, true}} {
		t.Run(fmt.Sprintf("blocks of %d elements, %d chunks, full width %v", c.elems, c.chunks, c.wide), func(t *testing.T) {
			defer cpu.SetConvBlockElems(c.elems)()
			defer cpu.SetConvChunks(c.chunks)()
			defer cpu.SetConvWide(c.wide)()
			for _, w := range []int{1, 3} {
				dev := newDeviceWorkers(t, w)
				backendtest.TestConv2D(t, dev)
				backendtest.TestOracleConvPool(t, dev)
			}
		})
	}
}
