package cuda

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smokeFamilies are the kernel families (kernels/*.cu) that TestSmoke (smoke_test.go, GPU only)
// launches once each. The test below keeps the list complete on any machine, so a new family
// cannot reach a GPU host without a launch in the smoke test.
var smokeFamilies = []string{"activation", "bias", "elementwise", "loss", "optim", "reduce", "softmax",
	"batchnorm", "channel", "conv", "dropout", "pool"}

func TestSmokeTestLaunchesEveryKernelFamily(t *testing.T) {
	if _, err := os.Stat("../../kernels/ptx/generate.go"); err != nil {
		t.Skip("not run from backend/cuda in the repository (a copied test binary): the .cu files are not here")
	}
	srcs, err := filepath.Glob("../../kernels/*.cu")
	require.NoError(t, err)
	require.NotEmpty(t, srcs)
	var fams []string
	for _, s := range srcs {
		fams = append(fams, strings.TrimSuffix(filepath.Base(s), ".cu"))
	}
	slices.Sort(fams)
	got := slices.Clone(smokeFamilies)
	slices.Sort(got)
	assert.Equal(t, fams, got, "smokeFamilies (and TestSmoke's launches in smoke_test.go) against kernels/*.cu")
}
