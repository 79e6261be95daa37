package train_test

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/models/mnist"
	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// residentBytes reads this process's resident set size from /proc.
func residentBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm on this system: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	require.NoError(t, err)
	return pages * int64(os.Getpagesize())
}

// TestTwentyEpochsKeepMemoryAndGoroutinesFlat trains the MNIST MLP for 20 epochs on the built-in
// data and checks that, after the first epoch (which compiles the plans and allocates every
// buffer), resident memory stays within a small margin and no goroutine is leaked.
func TestTwentyEpochsKeepMemoryAndGoroutinesFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("20 epochs of MNIST; skipped in -short mode")
	}
	tr0, te0, err := mnist.Embedded()
	require.NoError(t, err)
	data, err := train.Classification(tr0.X[:4000*784], tr0.Labels[:4000], 784, 10)
	require.NoError(t, err)
	test, err := train.Classification(te0.X, te0.Labels, 784, 10)
	require.NoError(t, err)
	spec, err := models.ParseSpec("784-256-256-10", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	goroutines := runtime.NumGoroutine()
	var rss []int64
	var grs []int
	tr, err := train.New(train.Config{Model: spec, Device: newDevice(t), Optimizer: optim.MustNamed("adam", 1e-3), BatchSize: 128, Epochs: 20, Seed: 1,
		OnEpoch: func(train.EpochMetrics) error {
			runtime.GC()
			rss = append(rss, residentBytes(t))
			grs = append(grs, runtime.NumGoroutine())
			return nil
		}})
	require.NoError(t, err)
	hist, err := tr.Fit(data, test)
	require.NoError(t, err)
	tr.Close()
	require.Len(t, rss, 20)
	peak := rss[0]
	for _, r := range rss[1:] {
		peak = max(peak, r)
	}
	t.Logf("resident MiB after each epoch: %v", mib(rss))
	t.Logf("goroutines after each epoch: %v (before training: %d)", grs, goroutines)
	t.Logf("final test accuracy %.2f%%", 100*hist[19].TestAcc)
	// Margin: the GC may keep a little more or less heap between epochs; a leak per step would
	// grow by far more than 8 MiB over 19 epochs of 32 steps.
	assert.LessOrEqual(t, peak-rss[0], int64(8<<20), "resident memory grew after the first epoch")
	for i, g := range grs {
		assert.Equal(t, grs[0], g, "goroutines after epoch %d", i+1)
	}
}

func mib(v []int64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatFloat(float64(x)/(1<<20), 'f', 1, 64)
	}
	return out
}
