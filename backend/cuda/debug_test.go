package cuda

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gotrain/gotrain/backend"
)

func TestSwitchesReadOnAndOff(t *testing.T) {
	for _, v := range []string{"", "0", "false", "off", "no", " FALSE "} {
		assert.False(t, envOn(v), "%q", v)
	}
	for _, v := range []string{"1", "true", "yes", "on"} {
		assert.True(t, envOn(v), "%q", v)
	}
}

func TestALaunchIsDescribedByItsSignature(t *testing.T) {
	var a args
	a.init()
	a.reset().i64(3).f64(0.5).ptr(0x7f0000001000).ptr(0x7f0000002000).i64(1 << 33)
	r := launchRecord{name: "act_fwd", dt: backend.Float32, gx: 4224, gy: 1, bx: 256, by: 1}
	assert.Equal(t, "act_fwd_f32 (grid 4224x1, block 256x1) with (3, 0.5, 0x7f0000001000, 0x7f0000002000, 8589934592)",
		describeLaunch(r, "idppi", a.vals[:a.n]))

	a.reset().ptr(0x10).float(backend.Float32, 1.5).i64(-1)
	r = launchRecord{name: "fill", dt: backend.Float32, gx: 1, gy: 1, bx: 256, by: 1}
	assert.Equal(t, "fill_f32 (grid 1x1, block 256x1) with (0x10, 1.5, -1)", describeLaunch(r, "pti", a.vals[:a.n]),
		"a float32 T is read from the low half")
	a.reset().ptr(0x10).float(backend.Float64, 1.5).i64(7)
	r.dt = backend.Float64
	assert.Equal(t, "fill_f64 (grid 1x1, block 256x1) with (0x10, 1.5, 7)", describeLaunch(r, "pti", a.vals[:a.n]))
	assert.Contains(t, describeLaunch(r, "p", []uint64{1, math.Float64bits(2)}), "(0x1, 0x4000000000000000)",
		"parameters past the signature are shown raw")
}

func TestAFailedWaitSaysWhatWasIssuedLast(t *testing.T) {
	cause := errors.New("CUDA_ERROR_ILLEGAL_ADDRESS")
	last := launchRecord{name: "softmax_warp", dt: backend.Float64, gx: 16, gy: 1, bx: 256, by: 1}
	err := syncError("Read", "cuStreamSynchronize", last, false, cause)
	assert.ErrorIs(t, err, cause)
	assert.Contains(t, err.Error(), "cuda: Read: cuStreamSynchronize: CUDA_ERROR_ILLEGAL_ADDRESS")
	assert.Contains(t, err.Error(), "the last kernel issued was softmax_warp_f64 (grid 16x1, block 256x1)")
	assert.Contains(t, err.Error(), syncEnv+"=1")
	err = syncError("Read", "cuStreamSynchronize", last, true, cause)
	assert.Equal(t, "cuda: Read: cuStreamSynchronize: CUDA_ERROR_ILLEGAL_ADDRESS", err.Error(),
		"with every launch waited for, a failed wait is not a kernel's")
	err = syncError("Sync", "cuStreamSynchronize", launchRecord{}, false, cause)
	assert.Equal(t, "cuda: Sync: cuStreamSynchronize: CUDA_ERROR_ILLEGAL_ADDRESS", err.Error(), "nothing launched yet")
}
