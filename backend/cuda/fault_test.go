//go:build gpu

package cuda

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
)

// faultTestEnv must be 1 for TestFaultNamesItsKernel to run: the fault it causes poisons the CUDA
// context for the rest of the process, so it runs only in a process of its own
// (scripts/gpu-check.sh runs it so, last).
const faultTestEnv = "GOTRAIN_CUDA_FAULT_TEST"

// TestFaultNamesItsKernel makes a kernel write through an address no allocation has, with the
// device waiting after every launch (GOTRAIN_CUDA_SYNC's mode), and checks that the error names
// the kernel, its grid and block and its parameters, the bad address and the size among them.
func TestFaultNamesItsKernel(t *testing.T) {
	if os.Getenv(faultTestEnv) != "1" {
		t.Skipf("it poisons this process's CUDA context: run it alone with %s=1", faultTestEnv)
	}
	d, err := Open(0)
	require.NoError(t, err)
	d.syncEach = true
	const n = 1 << 20
	require.NoError(t, d.enter("test"))
	d.args.reset().ptr(0x10).float(backend.Float32, 1).i64(n)
	err = d.launch("Fill", kFill, backend.Float32, d.grid(n), blockSize)
	d.leave()
	require.Error(t, err, "a write through address 0x10 must fault")
	t.Log(err)
	msg := err.Error()
	for _, want := range []string{"fill_f32", fmt.Sprintf("grid %dx1", d.grid(n)), fmt.Sprintf("block %dx1", blockSize),
		"0x10", fmt.Sprint(n), syncEnv} {
		assert.Contains(t, msg, want)
	}
}
