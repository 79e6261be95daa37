//go:build !gpu

// This file is the stand-in for the NVIDIA GPU backend, compiled without the gpu build tag: it
// registers the "cuda" name so that asking for it gives a clear error that says how to get GPU
// support, instead of "no such device". The package documentation is in doc.go.

package cuda

import (
	"fmt"

	"github.com/gotrain/gotrain/backend"
)

func init() {
	backend.Register("cuda", func() (backend.Device, error) {
		return nil, fmt.Errorf("cuda: this binary was built without GPU support; rebuild with "+
			"`go build -tags gpu ./cmd/gotrain` on a machine with the CUDA toolkit (see the README), "+
			"or use -device cpu: %w", backend.ErrNoDevice)
	})
}
