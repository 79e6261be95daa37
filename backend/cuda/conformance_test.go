//go:build gpu

package cuda_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest"
	"github.com/gotrain/gotrain/backend/cuda"
)

// newDevice opens GPU 0, closed when the test ends.
func newDevice(t testing.TB) backend.Device {
	t.Helper()
	dev, err := cuda.Open(0)
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

// TestEveryConformanceTestHasAWrapper keeps the list above complete: the suite's names must all
// be wrapped here (Tests() may grow).
func TestEveryConformanceTestHasAWrapper(t *testing.T) {
	wrapped := map[string]bool{"AllocWriteRead": true, "ReadScalars": true, "Fill": true, "Copy": true, "Scale": true, "Unary": true,
		"Binary": true, "Broadcast": true, "Sum": true, "BiasAdd": true, "Gemm": true, "Activation": true,
		"ActivationGrad": true, "Softmax": true, "SoftmaxGrad": true, "Loss": true, "LossGrad": true,
		"CountCorrect": true, "OptimizerStep": true, "SumSquares": true, "Clamp": true, "Errors": true,
		"TrainingCurve": true, "OracleGradients": true, "OracleSGD": true, "Conv2D": true, "ChannelOps": true,
		"Pool2D": true, "Dropout": true, "BatchNorm": true, "RunErrors": true, "OracleConvPool": true, "Diagnostics": true}
	for _, tc := range backendtest.Tests() {
		require.True(t, wrapped[tc.Name], "backendtest.%s has no wrapper in conformance_test.go", tc.Name)
	}
}

// TestOpenThroughTheRegistry checks that backend.Open("cuda") gives this device and names the GPU.
func TestOpenThroughTheRegistry(t *testing.T) {
	dev, err := backend.Open("cuda")
	require.NoError(t, err)
	defer dev.Close()
	require.Equal(t, "cuda", dev.Name())
	t.Log(dev.Describe())
	require.Contains(t, dev.Describe(), "cuda: ")
}
