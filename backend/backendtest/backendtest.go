// Package backendtest is the conformance suite every backend.Device must pass, in the spirit of
// gonum's blas/testblas: one exported TestX(t, dev) per op family, so that each backend's test
// file is a list of one-line wrappers:
//
//	func TestGemm(t *testing.T) { backendtest.TestGemm(t, newDevice(t)) }
//
// Every test runs on Float32 and Float64 buffers, draws fresh seeded random inputs of odd and
// empty sizes, poisons outputs with NaN before each call so unwritten elements show, checks that
// inputs were not modified, and compares against this package's own float64 reference (never the
// kernels package's twins, which are what the CPU backend runs) with |got-want| <= atol +
// rtol·|want|, reporting the first bad index. Ops with a backward are also checked against central
// differences through the device in float64.
package backendtest

import (
	"testing"

	"github.com/gotrain/gotrain/backend"
)

// Test is one conformance test of the suite.
type Test struct {
	Name string
	Fn   func(t *testing.T, dev backend.Device)
}

// Tests lists every conformance test, in the order Run runs them.
func Tests() []Test {
	return []Test{
		{"AllocWriteRead", TestAllocWriteRead},
		{"Views", TestViews},
		{"ReadScalars", TestReadScalars},
		{"Fill", TestFill},
		{"Copy", TestCopy},
		{"Scale", TestScale},
		{"Unary", TestUnary},
		{"Binary", TestBinary},
		{"Broadcast", TestBroadcast},
		{"Sum", TestSum},
		{"BiasAdd", TestBiasAdd},
		{"Gemm", TestGemm},
		{"Activation", TestActivation},
		{"ActivationGrad", TestActivationGrad},
		{"Softmax", TestSoftmax},
		{"SoftmaxGrad", TestSoftmaxGrad},
		{"Loss", TestLoss},
		{"LossGrad", TestLossGrad},
		{"CountCorrect", TestCountCorrect},
		{"OptimizerStep", TestOptimizerStep},
		{"SumSquares", TestSumSquares},
		{"Clamp", TestClamp},
		{"Conv2D", TestConv2D},
		{"ChannelOps", TestChannelOps},
		{"Pool2D", TestPool2D},
		{"Dropout", TestDropout},
		{"BatchNorm", TestBatchNorm},
		{"Errors", TestErrors},
		{"RunErrors", TestRunErrors},
		{"TrainingCurve", TestTrainingCurve},
		{"OracleGradients", TestOracleGradients},
		{"OracleSGD", TestOracleSGD},
		{"OracleConvPool", TestOracleConvPool},
		{"Diagnostics", TestDiagnostics},
	}
}

// Run runs every test of the suite on dev as subtests. Devices are not safe for concurrent use,
// so the subtests run one after another.
func Run(t *testing.T, dev backend.Device) {
	for _, tc := range Tests() {
		t.Run(tc.Name, func(t *testing.T) { tc.Fn(t, dev) })
	}
}
