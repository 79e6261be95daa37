package main

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSizesFromInputAreCheckedBeforeAnythingIsAllocated is class 1 of issue 12: every size that
// comes from input (model widths, batch rows, config, data and checkpoint files) is checked
// against a named limit before it is allocated, and the message names the size, the limit and
// the variable that raises it. Non-regular files are refused before they are opened.
func TestSizesFromInputAreCheckedBeforeAnythingIsAllocated(t *testing.T) {
	fx := runs(t)
	tmp := t.TempDir()
	fifo := filepath.Join(tmp, "fifo")
	haveFifo := mkfifo(t, fifo) // false where the OS has no named pipes in the file system
	bigConfig := writeFile(t, "big.json", `{"model": "784-16-10", "epochs": 1, "progress": "none"}`)

	// A valid checkpoint whose model is absurdly large: only its parameter list is small.
	hugeSpec := filepath.Join(tmp, "huge.ckpt")
	require.NoError(t, train.SaveCheckpoint(hugeSpec, &train.State{Spec: "784-1000000000-10", Loss: "softmax-ce",
		Shapes: [][]int{{1}}, Params: [][]float32{{0}}}))
	// MNIST files whose image header claims 2^24+1 images.
	idx := filepath.Join(tmp, "idx")
	require.NoError(t, os.Mkdir(idx, 0o755))
	head := make([]byte, 16)
	binary.BigEndian.PutUint32(head[0:], 0x803)
	binary.BigEndian.PutUint32(head[4:], 1<<24+1)
	binary.BigEndian.PutUint32(head[8:], 28)
	binary.BigEndian.PutUint32(head[12:], 28)
	for _, n := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		require.NoError(t, os.WriteFile(filepath.Join(idx, n), head, 0o644))
	}
	noCkpt := t.TempDir()
	nanCkpt := filepath.Join(tmp, "nan.ckpt")
	require.NoError(t, train.SaveCheckpoint(nanCkpt, &train.State{Spec: "2-2", Loss: "softmax-ce", Shapes: [][]int{{2, 2}, {2}},
		Params: [][]float32{{1, 2, float32(math.NaN()), 4}, {0, 0}}}))

	cases := []cliCase{
		{name: "a model of 8e11 parameters", args: quick(t, "-model", "784-1000000000-10"), code: 1,
			want: []string{"784-1000000000:relu-10 has 7.95e+11 parameters", "parameters limit of 1.07e+09", "GOTRAIN_MAX_PARAMS=795000000010"}},
		{name: "widths whose product overflows an int64", args: quick(t, "-model", "99999999999-99999999999-99999999999-10"), code: 1,
			want: []string{"parameters", "GOTRAIN_MAX_PARAMS"}},
		{name: "a huge sweep model", args: []string{"sweep", "-model", "784-1000000000-10", "-out", newRunDir(t)}, code: 1, want: []string{"7.95e+11 parameters"}},
		{name: "a huge lr-find model", args: []string{"lr-find", "-model", "784-1000000000-10", "-out", newRunDir(t)}, code: 1, want: []string{"7.95e+11 parameters"}},
		{name: "a model over a lowered parameter limit", args: quick(t, "-model", "784-4096-10"), env: map[string]string{"GOTRAIN_MAX_PARAMS": "1M"}, code: 1,
			want: []string{"has 3.26e+06 parameters", "limit of 1.05e+06"}},
		{name: "a model over the memory limit", args: quick(t, "-model", "784-20000-10"), env: map[string]string{"GOTRAIN_MAX_MEMORY": "64M"}, code: 1,
			want: []string{"needs about", "memory limit of 64 MiB", "GOTRAIN_MAX_MEMORY="}},
		{name: "activations of a huge batch over the memory limit", args: quick(t, "-model", "784-64-10", "-batch", "10000"),
			env: map[string]string{"GOTRAIN_MAX_MEMORY": "120M"}, code: 1, want: []string{"with batch 10000", "memory limit of 120 MiB"}},
		{name: "the same model with a small batch fits the same limit", args: quick(t, "-model", "784-64-10", "-batch", "128"),
			env: map[string]string{"GOTRAIN_MAX_MEMORY": "120M"}, code: 0},
		{name: "-config /dev/zero", args: quick(t, "-config", "/dev/zero"), code: 1, want: []string{"-config /dev/zero: is a device; want a regular file"}},
		{name: "-config a directory", args: quick(t, "-config", tmp), code: 1, want: []string{"is a directory"}},
		{name: "-config over the config limit", args: quick(t, "-config", bigConfig), env: map[string]string{"GOTRAIN_MAX_CONFIG_BYTES": "16"}, code: 1,
			want: []string{"big.json is 55 bytes", "config file size limit of 16 bytes", "GOTRAIN_MAX_CONFIG_BYTES=55"}},
		{name: "-csv /dev/zero", args: quick(t, "-csv", "/dev/zero", "-model", "4-3"), code: 1, want: []string{"-csv /dev/zero: is a device"}},
		{name: "-csv over the CSV limit", args: quick(t, "-csv", irisCSV, "-model", "4-3"), env: map[string]string{"GOTRAIN_MAX_CSV_BYTES": "1K"}, code: 1,
			want: []string{"iris.csv is", "CSV file size limit of 1 KiB", "GOTRAIN_MAX_CSV_BYTES="}},
		{name: "an IDX header claiming 2^24+1 images", args: quick(t, "-data", idx), code: 1, want: []string{"claims 16777217 images, more than the limit"}},
		{name: "eval -checkpoint /dev/zero", args: []string{"eval", "-checkpoint", "/dev/zero"}, code: 1, want: []string{"is a device"}},
		{name: "eval -checkpoint a directory without one", args: []string{"eval", "-checkpoint", noCkpt}, code: 1, want: []string{"a directory without a checkpoint.ckpt"}},
		{name: "eval -checkpoint over the checkpoint limit", args: []string{"eval", "-checkpoint", fx.mnist}, env: map[string]string{"GOTRAIN_MAX_CHECKPOINT_BYTES": "1K"},
			code: 1, want: []string{"checkpoint file size limit of 1 KiB", "GOTRAIN_MAX_CHECKPOINT_BYTES="}},
		{name: "eval of a checkpoint whose model is absurd", args: []string{"eval", "-checkpoint", hugeSpec}, code: 1,
			want: []string{"huge.ckpt: its model 784-1000000000:identity-10 has 7.95e+11 parameters"}},
		{name: "eval of a checkpoint with a NaN weight", args: []string{"eval", "-checkpoint", nanCkpt}, code: 1,
			want: []string{"parameter 0 (shape [2 2]) holds NaN at element 2"}},
		{name: "-resume with options.json over the config limit", args: []string{"train", "-resume", fx.mnist, "-epochs", "3"},
			env: map[string]string{"GOTRAIN_MAX_CONFIG_BYTES": "8"}, code: 1, want: []string{"options.json is", "GOTRAIN_MAX_CONFIG_BYTES"}},
		{name: "a negative limit", args: quick(t), env: map[string]string{"GOTRAIN_MAX_PARAMS": "-5"}, code: 1,
			want: []string{`GOTRAIN_MAX_PARAMS="-5": not positive`}},
		{name: "a limit that is not a size", args: quick(t), env: map[string]string{"GOTRAIN_MAX_MEMORY": "12Q"}, code: 1, want: []string{"not a size"}},
	}
	if haveFifo {
		cases = append(cases,
			cliCase{name: "-config a named pipe", args: quick(t, "-config", fifo), code: 1, want: []string{"is a named pipe"}},
			cliCase{name: "-csv a named pipe", args: quick(t, "-csv", fifo, "-model", "4-3"), code: 1, want: []string{"is a named pipe"}},
			cliCase{name: "eval -checkpoint a named pipe", args: []string{"eval", "-checkpoint", fifo}, code: 1, want: []string{"is a named pipe"}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t) })
	}
}

// TestModelFootprintCountsParametersWithoutOverflow checks the estimate against a hand count.
func TestModelFootprintCountsParametersWithoutOverflow(t *testing.T) {
	s, err := (&options{model: "784-256-256-10", activation: "relu", loss: "softmax-ce", init: "auto", optimizer: "adam", lr: 1e-3,
		interval: "epoch", schedule: "constant", epochs: 1, batch: 1, evalBatch: 1, onNonFinite: "stop", device: "cpu"}).validate(0)
	require.NoError(t, err)
	params, bytes := modelFootprint(s.model, 128, 1000)
	assert.Equal(t, float64(784*256+256+256*256+256+256*10+10), params)
	assert.Greater(t, bytes, 4*5*params, "at least weights, gradients and three state tensors")
	assert.True(t, strings.HasPrefix(suggest(3.5*(1<<30), true), "4G"))
}
