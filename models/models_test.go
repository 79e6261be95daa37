package models_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"
)

func TestParseSpecReadsWidthsAndActivations(t *testing.T) {
	cases := []struct {
		in, want string
		params   int
	}{
		{"784-10", "784-10", 784*10 + 10},
		{"784-256-256-10", "784-256:relu-256:relu-10", 784*256 + 256 + 256*256 + 256 + 256*10 + 10},
		{" 4-3:tanh-2:swish-1 ", "4-3:tanh-2:silu-1", 4*3 + 3 + 3*2 + 2 + 2 + 1},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%q becomes %q", c.in, c.want), func(t *testing.T) {
			loss := kernels.SoftmaxCrossEntropy
			if c.want[len(c.want)-2:] == "-1" {
				loss = kernels.BCEWithLogits
			}
			s, err := models.ParseSpec(c.in, kernels.ReLU, loss)
			require.NoError(t, err)
			assert.Equal(t, c.want, s.String())
			assert.Equal(t, c.params, s.ParamCount())
			again, err := models.ParseSpec(s.String(), kernels.Sigmoid, loss)
			require.NoError(t, err)
			assert.Equal(t, s, again, "String round-trips whatever the default activation")
		})
	}
}

func TestBadSpecsAreErrorsThatSayWhy(t *testing.T) {
	cases := []struct{ in, want string }{
		{"784", "at least input and output"},
		{"784-x-10", `width "x"`},
		{"784-0-10", `width "0"`},
		{"784-256:cosine-10", `unknown activation "cosine"`},
		{"784:relu-10", "input width takes no activation"},
		{"784-10:relu", "output layer"},
		{"", "at least input and output"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%q is rejected", c.in), func(t *testing.T) {
			_, err := models.ParseSpec(c.in, kernels.ReLU, kernels.SoftmaxCrossEntropy)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err := models.ParseSpec("4-3-2", kernels.ReLU, kernels.BCEWithLogits)
	require.ErrorIs(t, err, models.ErrSpec, "bce-logits needs one output")
}

func TestBuildMakesTheGraphWithGradients(t *testing.T) {
	s, err := models.ParseSpec("5-4-3", kernels.ELU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	m, err := s.Build(7, tensor.Float32, true)
	require.NoError(t, err)
	assert.Equal(t, tensor.Shape{7, 5}, m.X.Shape())
	assert.Equal(t, tensor.Shape{7, 3}, m.Y.Shape())
	assert.Equal(t, tensor.Shape{7, 3}, m.Logits.Shape())
	assert.True(t, m.Loss.IsScalar())
	require.Len(t, m.Grads, 4)
	for i, sh := range s.ParamShapes() {
		assert.Equal(t, tensor.Shape(sh), m.Params[i].Shape())
		assert.Equal(t, tensor.Shape(sh), m.Grads[i].Shape())
	}
	fwd, err := s.Build(7, tensor.Float32, false)
	require.NoError(t, err)
	assert.Nil(t, fwd.Grads)
	_, err = s.Build(0, tensor.Float32, false)
	require.ErrorIs(t, err, models.ErrSpec)
}

func TestInitIsSeededAndScaledPerScheme(t *testing.T) {
	s, err := models.ParseSpec("400-300:relu-200:tanh-10", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	draw := func(scheme models.Init, seed uint64) [][]float64 {
		return s.InitParams(scheme, rand.New(rand.NewPCG(seed, 1)))
	}
	assert.Equal(t, draw(models.InitAuto, 1), draw(models.InitAuto, 1))
	assert.NotEqual(t, draw(models.InitAuto, 1)[0], draw(models.InitAuto, 2)[0])

	p := draw(models.InitAuto, 3)
	// Layer 1 (ReLU): He normal, std sqrt(2/400).
	assert.InDelta(t, math.Sqrt(2.0/400), std(p[0]), 0.02*math.Sqrt(2.0/400))
	// Layer 2 (tanh): Glorot uniform on ±sqrt(6/500), std bound/sqrt(3).
	bound := math.Sqrt(6.0 / 500)
	assert.InDelta(t, bound/math.Sqrt(3), std(p[2]), 0.02*bound)
	for _, v := range p[2] {
		require.LessOrEqual(t, math.Abs(v), bound)
	}
	for _, b := range [][]float64{p[1], p[3], p[5]} {
		assert.Equal(t, make([]float64, len(b)), b, "biases start at zero")
	}
	he := draw(models.InitHe, 3)
	assert.InDelta(t, math.Sqrt(2.0/300), std(he[2]), 0.03*math.Sqrt(2.0/300), "InitHe applies He to the tanh layer too")
}

func TestParseInit(t *testing.T) {
	for in, want := range map[string]models.Init{"": models.InitAuto, "xavier": models.InitGlorot, "Kaiming": models.InitHe} {
		got, err := models.ParseInit(in)
		require.NoError(t, err)
		assert.Equal(t, want, got, in)
	}
	_, err := models.ParseInit("orthogonal")
	require.ErrorIs(t, err, models.ErrSpec)
}

func std(v []float64) float64 {
	var s, ss float64
	for _, x := range v {
		s += x
		ss += x * x
	}
	n := float64(len(v))
	return math.Sqrt(ss/n - (s/n)*(s/n))
}

func ExampleParseSpec() {
	s, err := models.ParseSpec("784-128-64:tanh-10", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s, s.ParamCount(), "parameters")
	// Output: 784-128:relu-64:tanh-10 109386 parameters
}
