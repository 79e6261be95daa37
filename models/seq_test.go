package models_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
)

func TestParseModelReadsLayersAndRoundTrips(t *testing.T) {
	cases := []struct {
		in, canon string
		params    [][]int
		state     int
	}{
		{"1x28x28-conv(8,3)-maxpool(2)-10",
			"1x28x28-conv(8,3):relu-maxpool(2)-10",
			[][]int{{8, 1, 3, 3}, {8}, {8 * 13 * 13, 10}, {10}}, 0},
		{"1x28x28-conv(6,5,pad=2):tanh-avgpool(2)-conv(16,5,bias=0):none-bn-relu-maxpool(2,stride=1)-flatten-dropout(0.5)-84:none-bn-relu-10",
			"1x28x28-conv(6,5,pad=2):tanh-avgpool(2)-conv(16,5,bias=0):none-bn-relu-maxpool(2,stride=1)-flatten-dropout(0.5)-84:none-bn-relu-10",
			[][]int{{6, 1, 5, 5}, {6}, {16, 6, 5, 5}, {16}, {16}, {16 * 9 * 9, 84}, {84}, {84}, {84}, {84, 10}, {10}}, 4},
		{"3x8x8-conv(4,3,stride=2,pad=1,dilation=2)-leakyrelu(0.2)-16:gelu-2",
			"3x8x8-conv(4,3,stride=2,pad=1,dilation=2):relu-leakyrelu(0.2)-16:gelu-2",
			[][]int{{4, 3, 3, 3}, {4}, {4 * 3 * 3, 16}, {16}, {16, 2}, {2}}, 0},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			m, err := models.ParseModel(c.in, kernels.ReLU, kernels.SoftmaxCrossEntropy)
			require.NoError(t, err)
			assert.Equal(t, c.canon, m.String())
			assert.Equal(t, c.params, models.Shapes(m.Params()))
			again, err := models.ParseModel(m.String(), kernels.Identity, kernels.SoftmaxCrossEntropy)
			require.NoError(t, err, "the canonical form parses whatever the default activation")
			assert.Equal(t, m, again)
			for _, training := range []bool{true, false} {
				g, err := m.Build(3, tensor.Float64, training)
				require.NoError(t, err)
				assert.Equal(t, tensor.Shape{3, m.Outputs()}, g.Logits.Shape())
				assert.Len(t, g.State, c.state, "running mean and variance per batch norm")
				assert.Equal(t, training, g.Grads != nil)
			}
		})
	}
}

func TestParseModelKeepsTheMLPGrammar(t *testing.T) {
	m, err := models.ParseModel("784-256:tanh-10", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	spec, ok := m.(models.Spec)
	require.True(t, ok, "dense widths give a Spec, whose trajectories are recorded")
	assert.Equal(t, "784-256:tanh-10", spec.String())
}

func TestPresetsBuild(t *testing.T) {
	for name := range models.Presets {
		t.Run(name, func(t *testing.T) {
			m, err := models.ParseModel(name, kernels.ReLU, kernels.SoftmaxCrossEntropy)
			require.NoError(t, err)
			assert.Equal(t, []int{1, 28, 28}, m.InputShape())
			assert.Equal(t, 10, m.Outputs())
			_, err = m.Build(2, tensor.Float32, true)
			require.NoError(t, err)
		})
	}
}

func TestBadModelsAreErrorsThatSayWhy(t *testing.T) {
	cases := map[string]string{
		"1x28x28":                                   "at least an output layer",
		"0x28x28-10":                                "positive integers",
		"1x28x28-conv(8)-10":                        "positional arguments",
		"1x28x28-conv(8,3,stride=0)-10":             "stride",
		"1x28x28-conv(8,3,pads=1)-10":               "unknown option",
		"1x28x28-conv(8,3,pad=1,pad=2)-10":          "given twice",
		"1x28x28-conv(8,30)-10":                     "conv",
		"1x28x28-maxpool(2,pad=2)-10":               "pad",
		"1x28x28-dropout(1)-10":                     "p 1",
		"1x28x28-dropout(x)-10":                     "not a number",
		"1x28x28-conv(8,3)-maxpool(2)":              "output width",
		"1x28x28-conv(8,3)-10:relu":                 "takes no activation",
		"1x28x28-wibble-10":                         "not a layer",
		"1x28x28-maxpool(2):relu-10":                "activation suffix",
		"784-conv(8,3)-10":                          "[C, H, W] images",
		"1x28x28-conv(8,3,bias=2)-10":               "bias=0 or bias=1",
		"1x28x28-conv(8,3-10":                       "unclosed",
		"1x28x28-bn(3)-10":                          "no arguments",
		"1x28x28-flatten-maxpool(2)-10":             "images",
		"1x28x28-conv(8,3):nope-10":                 "nope",
		"1x4x4-maxpool(2)-maxpool(2)-maxpool(2)-10": "maxpool",
	}
	for in, why := range cases {
		_, err := models.ParseModel(in, kernels.ReLU, kernels.SoftmaxCrossEntropy)
		require.ErrorIs(t, err, models.ErrSpec, in)
		assert.Contains(t, err.Error(), why, in)
	}
}

// TestSeqInitUsesFansAndKinds checks the initial values' scale per kind: He-normal convolution
// weights before a ReLU have variance 2/fan_in with fan_in = in·kh·kw, batch-norm gains start
// at 1 and shifts at 0, and the same seed gives the same values.
func TestSeqInitUsesFansAndKinds(t *testing.T) {
	m, err := models.ParseModel("4x16x16-conv(64,3):none-bn-relu-10", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	a := m.InitParams(models.InitAuto, rand.New(rand.NewPCG(1, 2)))
	b := m.InitParams(models.InitAuto, rand.New(rand.NewPCG(1, 2)))
	assert.Equal(t, a, b)
	names := []string{}
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"conv1.w", "conv1.b", "bn1.gamma", "bn1.beta", "fc1.w", "fc1.b"}, names)
	var sum2 float64
	for _, v := range a[0] {
		sum2 += v * v
	}
	variance := sum2 / float64(len(a[0]))
	assert.InDelta(t, 2.0/(4*3*3), variance, 0.1*2.0/(4*3*3), "He variance with fan-in 36 (ReLU after the batch norm)")
	for _, v := range a[2] {
		require.Equal(t, 1.0, v, "gamma")
	}
	for _, v := range append(a[1], a[3]...) {
		require.Equal(t, 0.0, v, "biases")
	}
	assert.False(t, math.IsNaN(a[4][0]))
}
