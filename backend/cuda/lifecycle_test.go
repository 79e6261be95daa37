//go:build gpu

package cuda_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
)

// TestTheTrainingStepAllocatesNothingOnTheGPU is backend/train's allocation test on the device:
// once the plan is compiled, a step (upload, forward, backward, the optimizer's launch, the
// read-back of loss, correct count and gradient norm) allocates no Go memory, the launch
// bookkeeping of GOTRAIN_CUDA_SYNC included (it is off here).
func TestTheTrainingStepAllocatesNothingOnTheGPU(t *testing.T) {
	for _, opt := range []string{"adam", "momentum"} {
		t.Run(opt, func(t *testing.T) {
			spec, err := models.ParseSpec("32-64-64-10", kernels.ReLU, kernels.SoftmaxCrossEntropy)
			require.NoError(t, err)
			tr, err := train.New(train.Config{Model: spec, Device: newDevice(t), Optimizer: optim.MustNamed(opt, 1e-3), BatchSize: 64, Seed: 1})
			require.NoError(t, err)
			defer tr.Close()
			data := blobs(t, 256, 32, 10, 6)
			idx := make([]int, 64)
			for i := range idx {
				idx[i] = i
			}
			_, _, err = tr.TrainStep(data, idx) // compiles the plan, uploads the tables
			require.NoError(t, err)
			allocs := testing.AllocsPerRun(20, func() {
				if _, _, err := tr.TrainStep(data, idx); err != nil {
					t.Fatal(err)
				}
			})
			assert.Zero(t, allocs)
		})
	}
}
