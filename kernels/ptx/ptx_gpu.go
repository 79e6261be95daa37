//go:build gpu

package ptx

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.ptx *.fatbin
var files embed.FS

// Modules returns the PTX text of every kernel family, keyed by the .cu file's base name
// ("activation", "optim", ...).
func Modules() (map[string]string, error) { return read(".ptx") }

// Fatbins returns the fatbin of every kernel family (the same PTX and sm_90 machine code, see
// gen.sh), keyed like Modules. cuModuleLoadData takes a fatbin as it takes PTX: on an sm_90 GPU
// the driver loads the machine code, elsewhere it JIT-compiles the PTX inside.
func Fatbins() (map[string]string, error) { return read(".fatbin") }

func read(ext string) (map[string]string, error) {
	names, err := fs.Glob(files, "*"+ext)
	if err != nil {
		return nil, fmt.Errorf("ptx: listing the embedded %s files: %w", ext, err)
	}
	sort.Strings(names)
	out := make(map[string]string, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("ptx: reading %s: %w", n, err)
		}
		out[strings.TrimSuffix(n, ext)] = string(b)
	}
	return out, nil
}
