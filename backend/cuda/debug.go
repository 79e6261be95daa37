package cuda

import (
	"fmt"
	"math"
	"strings"

	"github.com/gotrain/gotrain/backend"
)

// Environment switches of the device, read once when a device opens.
const (
	// syncEnv, when on, makes the device wait for every kernel and cuBLAS call as it is issued and
	// return the first failure as an error that names the kernel, its grid and block and its
	// parameters (the sizes among them). Off, the device waits once per training step (Read,
	// ReadScalars, Sync), and a fault there can only say which kernel was issued last. It costs a
	// host round trip per launch: for finding a fault, not for training.
	syncEnv = "GOTRAIN_CUDA_SYNC"
	// ptxEnv, when on, loads each kernel family's PTX instead of its fatbin, so that the driver
	// JIT-compiles it even on an sm_90 GPU (the path every other GPU takes): to test that path or
	// to rule out the committed machine code.
	ptxEnv = "GOTRAIN_CUDA_PTX"
)

// envOn reads a switch: unset, empty, "0", "false" and "off" are off, anything else on.
func envOn(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "off", "no":
		return false
	}
	return true
}

// launchRecord is what a device remembers of the kernel it issued last, without formatting
// anything (launching must not allocate): the kernel's base name (a constant of kernelTable or of
// the optimizer table), its dtype and its launch shape.
type launchRecord struct {
	name           string
	dt             backend.DType
	gx, gy, bx, by int
}

func (r launchRecord) String() string {
	if r.name == "" {
		return "none"
	}
	return fmt.Sprintf("%s%s (grid %dx%d, block %dx%d)", r.name, dtypeSuffix(r.dt), r.gx, r.gy, r.bx, r.by)
}

// describeLaunch names a launch for an error: the kernel, its grid and block, and its parameters
// as packed, read by their signature letters (pointers in hex, integers, and doubles and T
// scalars as numbers), so the sizes a kernel was given appear beside the addresses.
func describeLaunch(r launchRecord, sig string, vals []uint64) string {
	var b strings.Builder
	b.WriteString(r.String())
	b.WriteString(" with (")
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		letter := byte('?')
		if i < len(sig) {
			letter = sig[i]
		}
		switch {
		case letter == 'p':
			fmt.Fprintf(&b, "%#x", v)
		case letter == 'i':
			fmt.Fprintf(&b, "%d", int64(v))
		case letter == 'd' || letter == 't' && r.dt == backend.Float64:
			fmt.Fprintf(&b, "%g", math.Float64frombits(v))
		case letter == 't':
			fmt.Fprintf(&b, "%g", math.Float32frombits(uint32(v)))
		default:
			fmt.Fprintf(&b, "%#x", v)
		}
	}
	b.WriteString(")")
	return b.String()
}

// syncError is a failed wait's error: with syncEach off, the failure belongs to some operation
// issued since the last wait, so it says which kernel was issued last and how to find the one
// that failed.
func syncError(op, call string, last launchRecord, syncEach bool, err error) error {
	if syncEach || last.name == "" {
		return fmt.Errorf("cuda: %s: %s: %w", op, call, err)
	}
	return fmt.Errorf("cuda: %s: %s: %w (reported by the wait, for an operation issued before it; the last kernel issued was %v; run with %s=1 to name the one that failed)",
		op, call, err, last, syncEnv)
}
