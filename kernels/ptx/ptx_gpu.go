//go:build gpu

package ptx

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.ptx
var files embed.FS

// Modules returns the PTX text of every kernel family, keyed by the .cu file's base name
// ("activation", "optim", ...).
func Modules() (map[string]string, error) {
	names, err := fs.Glob(files, "*.ptx")
	if err != nil {
		return nil, fmt.Errorf("ptx: listing the embedded PTX: %w", err)
	}
	sort.Strings(names)
	out := make(map[string]string, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("ptx: reading %s: %w", n, err)
		}
		out[strings.TrimSuffix(n, ".ptx")] = string(b)
	}
	return out, nil
}
