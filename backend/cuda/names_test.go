package cuda

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/optim"
)

func TestCublasCandidatesTryNewestFirst(t *testing.T) {
	assert.Equal(t, []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"}, cublasCandidates(""))
	got := cublasCandidates("/opt/cuda/lib64/libcublas.so.12")
	assert.Equal(t, "/opt/cuda/lib64/libcublas.so.12", got[0], "the override comes first")
	assert.Equal(t, cublasLibNames, got[1:])
	assert.Equal(t, "CUBLAS_STATUS_INVALID_VALUE", cublasStatusString(7))
	assert.Equal(t, "cublasStatus_t(99)", cublasStatusString(99))
}

// launched lists every kernel the device launches, without its type suffix: kernelTable's, and
// one optimizer kernel per update rule of the registered optimizers.
func launched(t *testing.T) []struct{ module, name, params string } {
	var out []struct{ module, name, params string }
	for _, k := range kernelTable {
		out = append(out, struct{ module, name, params string }{k.module, k.name, k.params})
	}
	seen := map[string]bool{}
	for id, k := range kernelTable {
		require.NotEmpty(t, k.name, "kernel %d has no table entry", id)
	}
	for _, name := range optim.Names() {
		o, err := optim.Defaults(name, 0.01)
		require.NoError(t, err)
		d, err := optim.Describe(o.Name)
		require.NoError(t, err)
		carry := 1.0
		rule := d.Step(o, o.LR, 1, &carry).Rule.Name
		if !seen[rule] {
			seen[rule] = true
			out = append(out, struct{ module, name, params string }{optimModule, "optim_" + rule, optimSig})
		}
	}
	return out
}

// TestKernelTableMatchesThePTX checks every kernel the device looks up against the .entry
// directives of the committed PTX, and that no kernel there is left unused.
func TestKernelTableMatchesThePTX(t *testing.T) {
	entry := regexp.MustCompile(`\.entry\s+([A-Za-z0-9_]+)\(`)
	if _, err := os.Stat("../../kernels/ptx/generate.go"); err != nil {
		t.Skip("not run from backend/cuda in the repository (a copied test binary): the PTX files are not here")
	}
	files, err := filepath.Glob("../../kernels/ptx/*.ptx")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no committed PTX: run go generate ./kernels/ptx")
	entries := map[string]map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		mod := strings.TrimSuffix(filepath.Base(f), ".ptx")
		entries[mod] = map[string]bool{}
		for _, m := range entry.FindAllStringSubmatch(string(b), -1) {
			entries[mod][m[1]] = true
		}
	}
	used := map[string]bool{}
	for _, k := range launched(t) {
		for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
			name := k.name + dtypeSuffix(dt)
			assert.True(t, entries[k.module][name], "%s is not an entry of %s.ptx", name, k.module)
			used[k.module+"/"+name] = true
		}
	}
	for mod, es := range entries {
		for e := range es {
			assert.True(t, used[mod+"/"+e], "%s.ptx has kernel %s that the device never launches", mod, e)
		}
	}
	// Every .cu has its PTX.
	srcs, err := filepath.Glob("../../kernels/*.cu")
	require.NoError(t, err)
	for _, s := range srcs {
		_, ok := entries[strings.TrimSuffix(filepath.Base(s), ".cu")]
		assert.True(t, ok, "%s has no committed PTX", s)
	}
}

// TestKernelSignaturesMatchThePTX checks each kernelTable signature against the parameter list
// of the kernel's .entry in the committed PTX, for both element types: a parameter added, dropped,
// reordered or retyped in a .cu shows here, not as garbage or a fault on the GPU. In PTX, pointers
// (p) and long longs (i) are both .u64, doubles .f64 (d), and T is .f32 in NAME_f32 and .f64 in
// NAME_f64; TestKernelSignaturesMatchTheCUDASource tells p from i.
func TestKernelSignaturesMatchThePTX(t *testing.T) {
	if _, err := os.Stat("../../kernels/ptx/generate.go"); err != nil {
		t.Skip("not run from backend/cuda in the repository (a copied test binary): the PTX files are not here")
	}
	entry := regexp.MustCompile(`(?s)\.entry\s+([A-Za-z0-9_]+)\((.*?)\)`)
	param := regexp.MustCompile(`\.param\s+\.(\w+)\s`)
	params := map[string][]string{} // module/kernel -> PTX parameter types
	files, err := filepath.Glob("../../kernels/ptx/*.ptx")
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		mod := strings.TrimSuffix(filepath.Base(f), ".ptx")
		for _, m := range entry.FindAllStringSubmatch(string(b), -1) {
			var types []string
			for _, p := range param.FindAllStringSubmatch(m[2], -1) {
				types = append(types, p[1])
			}
			params[mod+"/"+m[1]] = types
		}
	}
	for _, k := range launched(t) {
		for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
			name := k.name + dtypeSuffix(dt)
			got, ok := params[k.module+"/"+name]
			if !assert.True(t, ok, "%s is not an entry of %s.ptx", name, k.module) {
				continue
			}
			want := make([]string, len(k.params))
			for i, c := range k.params {
				switch c {
				case 'p', 'i':
					want[i] = "u64"
				case 'd':
					want[i] = "f64"
				case 't':
					want[i] = map[backend.DType]string{backend.Float32: "f32", backend.Float64: "f64"}[dt]
				default:
					t.Fatalf("%s: signature %q has the unknown letter %q", name, k.params, c)
				}
			}
			assert.Equal(t, want, got, "%s: signature %q against the PTX's parameters", name, k.params)
			assert.LessOrEqual(t, len(k.params), maxArgs, "%s has more parameters than args holds", name)
		}
	}
}

func TestLaunchShapes(t *testing.T) {
	assert.Equal(t, 1, gridFor(0, 256, 100), "at least one block")
	assert.Equal(t, 1, gridFor(256, 256, 100))
	assert.Equal(t, 2, gridFor(257, 256, 100))
	assert.Equal(t, 100, gridFor(1<<40, 256, 100), "capped")
	for _, c := range []struct{ inner, tx int }{{1, 1}, {2, 2}, {3, 4}, {10, 16}, {32, 32}, {33, 32}, {40009, 32}} {
		tx, ty := sumShape(c.inner)
		assert.Equal(t, c.tx, tx, "inner %d", c.inner)
		assert.Equal(t, blockSize, tx*ty)
	}
}

func TestOOMErrorSaysWhatWasAskedAndWhatIsFree(t *testing.T) {
	cause := errors.New("OutOfMemory")
	err := oomError("Alloc", 3<<30, 1<<30, 80<<30, 2<<30, cause)
	assert.ErrorIs(t, err, backend.ErrOutOfMemory)
	assert.ErrorIs(t, err, cause)
	assert.Contains(t, err.Error(), "3221225472 bytes")
	assert.Contains(t, err.Error(), "1073741824 bytes free")
}
