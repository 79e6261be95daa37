package cuda

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
)

// The PTX types a pointer and a 64-bit integer alike (.u64), so TestKernelSignaturesMatchThePTX
// cannot tell a pointer swapped with a count: the kernel would fault or read garbage on the GPU.
// The .cu sources can. These tests read the kernels' parameter lists from kernels/*.cu, expanding
// the macros that instantiate each kernel for float32 and float64 (BOTH, ACT_KERNELS, ...) with a
// small preprocessor of function-like macros, and compare every launched kernel's signature with
// them, parameter by parameter, in order, by type, naming the parameter on a mismatch.

// cuParam is one kernel parameter as declared in a .cu file, after macro expansion.
type cuParam struct{ name, ctype string }

// cuMacro is a function-like #define.
type cuMacro struct {
	params []string
	body   string
}

var (
	cuDefine  = regexp.MustCompile(`^#\s*define\s+([A-Za-z_]\w*)\(([^)]*)\)\s*(.*)$`)
	cuInclude = regexp.MustCompile(`^#\s*include\s+"([^"]+)"`)
	cuIdent   = regexp.MustCompile(`[A-Za-z_]\w*`)
	cuKernel  = regexp.MustCompile(`extern\s+"C"\s+__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?void\s+([A-Za-z_]\w*)\s*\(([^)]*)\)`)
	cuComment = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`)
)

// readCU returns the function-like macros of a .cu file and the files it includes, and the
// file's text outside preprocessor lines. Continued lines are joined first and comments removed
// after, as the C preprocessor does (so a // inside a continued macro would end it there too).
func readCU(path string, dirs []string, defs map[string]cuMacro) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	src := cuComment.ReplaceAllString(strings.ReplaceAll(string(b), "\\\n", " "), "")
	var rest strings.Builder
	for _, line := range strings.Split(src, "\n") {
		l := strings.TrimSpace(line)
		if m := cuInclude.FindStringSubmatch(l); m != nil {
			found := false
			for _, d := range dirs {
				p := filepath.Join(d, m[1])
				if _, err := os.Stat(p); err == nil {
					if _, err := readCU(p, dirs, defs); err != nil {
						return "", err
					}
					found = true
					break
				}
			}
			if !found {
				return "", fmt.Errorf("%s: #include %q not found in %v", path, m[1], dirs)
			}
			continue
		}
		if m := cuDefine.FindStringSubmatch(l); m != nil {
			var params []string
			for _, p := range strings.Split(m[2], ",") {
				params = append(params, strings.TrimSpace(p))
			}
			defs[m[1]] = cuMacro{params: params, body: m[3]}
			continue
		}
		if strings.HasPrefix(l, "#") {
			continue
		}
		rest.WriteString(line)
		rest.WriteByte('\n')
	}
	return rest.String(), nil
}

// cuArgs splits the text after a macro name's "(" into its arguments and returns them with the
// length consumed through the closing ")", or ok false when the parentheses do not balance.
func cuArgs(s string) (args []string, n int, ok bool) {
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return append(args, strings.TrimSpace(s[start:i])), i + 1, true
			}
			depth--
		case ',':
			if depth == 0 {
				args = append(args, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return nil, 0, false
}

// cuExpand expands every function-like macro invocation in text: parameters replaced by the
// arguments, ## pasted, the result expanded again (a macro is not expanded inside itself).
func cuExpand(text string, defs map[string]cuMacro, active map[string]bool) (string, error) {
	var out strings.Builder
	for len(text) > 0 {
		loc := cuIdent.FindStringIndex(text)
		if loc == nil {
			out.WriteString(text)
			break
		}
		name := text[loc[0]:loc[1]]
		out.WriteString(text[:loc[0]])
		text = text[loc[1]:]
		m, isMacro := defs[name]
		after := strings.TrimLeft(text, " \t\n")
		if !isMacro || active[name] || !strings.HasPrefix(after, "(") {
			out.WriteString(name)
			continue
		}
		args, n, ok := cuArgs(after[1:])
		if !ok {
			return "", fmt.Errorf("unbalanced arguments of %s", name)
		}
		if len(args) != len(m.params) {
			return "", fmt.Errorf("%s takes %d arguments, given %d (%q)", name, len(m.params), len(args), args)
		}
		text = after[1+n:]
		body := cuIdent.ReplaceAllStringFunc(m.body, func(id string) string {
			for i, p := range m.params {
				if id == p {
					return args[i]
				}
			}
			return id
		})
		body = regexp.MustCompile(`\s*##\s*`).ReplaceAllString(body, "")
		active[name] = true
		exp, err := cuExpand(body, defs, active)
		delete(active, name)
		if err != nil {
			return "", fmt.Errorf("in %s: %w", name, err)
		}
		out.WriteString(exp)
	}
	return out.String(), nil
}

// cuKernels returns every extern "C" kernel of the .cu files in dir with its parameters, keyed by
// module (the file's base name) and kernel name.
func cuKernels(dir string) (map[string]map[string][]cuParam, error) {
	srcs, err := filepath.Glob(filepath.Join(dir, "*.cu"))
	if err != nil {
		return nil, err
	}
	out := map[string]map[string][]cuParam{}
	for _, s := range srcs {
		defs := map[string]cuMacro{}
		rest, err := readCU(s, []string{dir, filepath.Join(dir, "ptx")}, defs)
		if err != nil {
			return nil, err
		}
		exp, err := cuExpand(rest, defs, map[string]bool{})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		mod := strings.TrimSuffix(filepath.Base(s), ".cu")
		out[mod] = map[string][]cuParam{}
		for _, m := range cuKernel.FindAllStringSubmatch(exp, -1) {
			var ps []cuParam
			for _, decl := range strings.Split(m[2], ",") {
				decl = strings.Join(strings.Fields(decl), " ")
				if decl == "" || decl == "void" {
					continue
				}
				ids := cuIdent.FindAllStringIndex(decl, -1)
				last := ids[len(ids)-1]
				ps = append(ps, cuParam{name: decl[last[0]:last[1]], ctype: strings.TrimSpace(decl[:last[0]])})
			}
			out[mod][m[1]] = ps
		}
	}
	return out, nil
}

// cuLetters returns the kernelTable letters a parameter of C type ctype may have in the kernel
// instance for dt: p for any pointer, i for a 64-bit integer, t for the element type, d for a
// double. In the float64 instance a T and a double read alike (either letter passes); the float32
// instance tells them apart, and every kernel is checked in both.
func cuLetters(ctype string, dt backend.DType) (string, error) {
	if strings.Contains(ctype, "*") {
		return "p", nil
	}
	switch strings.TrimPrefix(ctype, "const ") {
	case "i64", "long long", "u64", "unsigned long long":
		return "i", nil
	case "float":
		if dt == backend.Float32 {
			return "t", nil
		}
	case "double":
		if dt == backend.Float64 {
			return "td", nil
		}
		return "d", nil
	}
	return "", fmt.Errorf("type %q is not an 8-byte pointer, a 64-bit integer, a double or the element type: Function.Launch passes 8 bytes per parameter", ctype)
}

func TestCUDASourceParserReadsMacroInstances(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "ptx"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ptx", "common.cuh"), []byte("#define BOTH(M) M(float, f32) M(double, f64)\n"), 0o644))
	src := `#include "common.cuh"
// a comment with extern "C" __global__ void nothing(int x)
#define K(T, sfx, name)                                                   \
  extern "C" __global__ void k_##name##_##sfx(T* dst, const T* x, T a,    \
                                              double b, i64 n) { f(x, (n)); }
#define KS(T, sfx) K(T, sfx, one) K(T, sfx, two)
BOTH(KS)
extern "C" __global__ void plain(const u64* tab, i64 n) {}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fam.cu"), []byte(src), 0o644))
	got, err := cuKernels(dir)
	require.NoError(t, err)
	want := []cuParam{{"dst", "float*"}, {"x", "const float*"}, {"a", "float"}, {"b", "double"}, {"n", "i64"}}
	assert.Equal(t, want, got["fam"]["k_one_f32"])
	assert.Equal(t, want, got["fam"]["k_two_f32"])
	assert.Equal(t, []cuParam{{"dst", "double*"}, {"x", "const double*"}, {"a", "double"}, {"b", "double"}, {"n", "i64"}}, got["fam"]["k_two_f64"])
	assert.Equal(t, []cuParam{{"tab", "const u64*"}, {"n", "i64"}}, got["fam"]["plain"])
	assert.Len(t, got["fam"], 5, "the commented-out kernel is not one")
}

// TestKernelSignaturesMatchTheCUDASource checks each launched kernel's signature against its
// parameter list in kernels/*.cu, for both element types.
func TestKernelSignaturesMatchTheCUDASource(t *testing.T) {
	if _, err := os.Stat("../../kernels/ptx/generate.go"); err != nil {
		t.Skip("not run from backend/cuda in the repository (a copied test binary): the .cu files are not here")
	}
	src, err := cuKernels("../../kernels")
	require.NoError(t, err)
	for _, k := range launched(t) {
		for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
			name := k.name + dtypeSuffix(dt)
			ps, ok := src[k.module][name]
			if !assert.True(t, ok, "%s is not a kernel of kernels/%s.cu", name, k.module) {
				continue
			}
			var decl []string
			for _, p := range ps {
				decl = append(decl, p.ctype+" "+p.name)
			}
			if !assert.Len(t, k.params, len(ps), "%s: signature %q, the .cu declares (%s)", name, k.params, strings.Join(decl, ", ")) {
				continue
			}
			for i, p := range ps {
				letters, err := cuLetters(p.ctype, dt)
				if !assert.NoError(t, err, "%s: parameter %d (%s)", name, i, p.name) {
					continue
				}
				assert.True(t, strings.ContainsRune(letters, rune(k.params[i])), "%s: parameter %d (%s %s) wants %q, the signature %q has %q",
					name, i, p.ctype, p.name, letters[:1], k.params, k.params[i])
			}
		}
	}
}
