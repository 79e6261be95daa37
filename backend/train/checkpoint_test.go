package train_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the checkpoint fuzz seed corpus under testdata/")

// TestMain doubles as the checkpoint-writer helper process of TestACheckpointWriteKilledAtAnyPoint.
func TestMain(m *testing.M) {
	if path := os.Getenv("GOTRAIN_CHECKPOINT_WRITER"); path != "" {
		writeForever(path)
		return
	}
	os.Exit(m.Run())
}

// writeForever saves checkpoints whose every parameter equals the step number, so a reader can
// tell a consistent file from a torn one.
func writeForever(path string) {
	for i := 1; ; i++ {
		if err := train.SaveCheckpoint(path, fakeState(i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
	}
}

func fakeState(step int) *train.State {
	p := make([]float32, 50_000) // big enough that a write takes a while
	for i := range p {
		p[i] = float32(step)
	}
	return &train.State{Spec: "4-2", Loss: "softmax-ce", Shapes: [][]int{{len(p)}}, Params: [][]float32{p}, Step: step}
}

type runConfig struct {
	schedule optim.Schedule
	interval optim.Interval
	plateau  bool
	epochs   int
	stop     func() bool
}

func resumeTrainer(t *testing.T, rc runConfig) *train.Trainer {
	s, err := models.ParseSpec("8-12-3", kernels.Tanh, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	opt := optim.MustNamed("adam", 0.01)
	var p *optim.Plateau
	if rc.plateau {
		p = optim.NewPlateau()
		p.Patience = 0
	}
	cfg := train.Config{Model: s, Device: newDevice(t), Optimizer: opt, BatchSize: 16,
		Epochs: rc.epochs, Seed: 5, Scheduler: scheduler(t, opt, rc.schedule, rc.interval, p), ShouldStop: rc.stop}
	tr, err := train.New(cfg)
	require.NoError(t, err)
	t.Cleanup(tr.Close)
	return tr
}

// TestAnInterruptedRunResumesBitForBit interrupts a run mid-epoch, saves a checkpoint, loads it
// into a fresh trainer and finishes: the weights must equal those of a run never stopped.
func TestAnInterruptedRunResumesBitForBit(t *testing.T) {
	data, test := blobs(t, 203, 8, 3, 21), blobs(t, 50, 8, 3, 22)
	cases := []struct {
		name string
		rc   runConfig
		stop int // stop after this many steps (203 rows / 16 = 13 steps per epoch)
	}{
		{"mid-epoch with a per-batch cosine schedule", runConfig{schedule: optim.Cosine{TMax: 39}, interval: optim.PerBatch, epochs: 3}, 17},
		{"mid-epoch with a plateau rule", runConfig{plateau: true, epochs: 3}, 20},
		{"at an epoch boundary with a per-epoch step schedule", runConfig{schedule: optim.Step{Size: 1, Gamma: 0.5}, epochs: 3}, 13},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref := resumeTrainer(t, c.rc)
			refHist, err := ref.Fit(data, test)
			require.NoError(t, err)
			want, err := ref.Params()
			require.NoError(t, err)

			steps := 0
			rc := c.rc
			rc.stop = func() bool { steps++; return steps >= c.stop }
			a := resumeTrainer(t, rc)
			_, err = a.Fit(data, test)
			require.ErrorIs(t, err, train.ErrInterrupted)
			st, err := a.Snapshot()
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), "run.ckpt")
			require.NoError(t, train.SaveCheckpoint(path, st))

			loaded, err := train.LoadCheckpoint(path)
			require.NoError(t, err)
			b := resumeTrainer(t, c.rc)
			require.NoError(t, b.Restore(loaded))
			hist, err := b.Fit(data, test)
			require.NoError(t, err)
			got, err := b.Params()
			require.NoError(t, err)
			for i := range want {
				for j := range want[i] {
					require.Equal(t, math.Float32bits(want[i][j]), math.Float32bits(got[i][j]), "tensor %d element %d", i, j)
				}
			}
			require.Len(t, hist, len(refHist))
			for i := range hist {
				assert.Equal(t, refHist[i].TrainLoss, hist[i].TrainLoss, "epoch %d train loss", i+1)
				assert.Equal(t, refHist[i].TestAcc, hist[i].TestAcc, "epoch %d test accuracy", i+1)
			}
		})
	}
}

func validCheckpoint(t testing.TB) []byte {
	var buf bytes.Buffer
	dir := t.TempDir()
	path := filepath.Join(dir, "c.ckpt")
	st := &train.State{Spec: "2-2", Loss: "softmax-ce", Shapes: [][]int{{2, 2}, {2}}, Params: [][]float32{{1, 2, 3, 4}, {5, 6}}, Step: 3,
		Optimizer: optim.State{Name: "sgd", Steps: 3, LRs: []float64{0.1}, DefaultLR: 0.1, MuProduct: []float64{1}}}
	require.NoError(t, train.SaveCheckpoint(path, st))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	buf.Write(b)
	return buf.Bytes()
}

func TestBadCheckpointsAreErrorsThatSayWhy(t *testing.T) {
	good := validCheckpoint(t)
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"an empty file", nil, "truncated header: 0 of 20"},
		{"another file type", mutate(func(b []byte) []byte { copy(b, "PK\x03\x04zip!"); return b }), "not a gotrain checkpoint"},
		{"a newer format version", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 2); return b }), "format version 2"},
		{"a huge declared length", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[12:], 1<<40); return b }), "limit"},
		{"a truncated payload", good[:len(good)/2], "truncated: the header promises"},
		{"a truncated checksum", good[:len(good)-5], "truncated checksum"},
		{"a flipped payload byte", mutate(func(b []byte) []byte { b[40] ^= 0x10; return b }), "checksum mismatch"},
		{"trailing bytes", append(append([]byte(nil), good...), 0), "trailing bytes"},
	}
	for _, c := range cases {
		t.Run(c.name+" is rejected", func(t *testing.T) {
			_, err := train.ReadCheckpoint(bytes.NewReader(c.data), "test.ckpt")
			require.ErrorIs(t, err, train.ErrCheckpoint)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), "test.ckpt")
		})
	}
	st, err := train.ReadCheckpoint(bytes.NewReader(good), "good")
	require.NoError(t, err)
	assert.Equal(t, 3, st.Step)
}

// TestTheDataSectionRoundTripsAndIsChecked saves a checkpoint with the preprocessing of its data,
// reads it back, and refuses inconsistent data sections and parameters that do not fill their
// shapes.
func TestTheDataSectionRoundTripsAndIsChecked(t *testing.T) {
	dir := t.TempDir()
	base := func() *train.State {
		return &train.State{Spec: "2-2", Loss: "softmax-ce", Shapes: [][]int{{2, 2}, {2}}, Params: [][]float32{{1, 2, 3, 4}, {5, 6}},
			Data: &train.DataInfo{Version: train.DataInfoVersion, Source: "csv", Label: "species", Features: []string{"a", "b"},
				Mean: []float32{1, 2}, Std: []float32{0.5, 3}, Classes: []string{"setosa", "virginica"}}}
	}
	path := filepath.Join(dir, "good.ckpt")
	require.NoError(t, train.SaveCheckpoint(path, base()))
	st, err := train.LoadCheckpoint(path)
	require.NoError(t, err)
	assert.Equal(t, base().Data, st.Data)

	cases := []struct {
		name   string
		change func(*train.State)
		want   string
	}{
		{"a newer data section", func(s *train.State) { s.Data.Version = 2 }, "version 2"},
		{"means without as many stds", func(s *train.State) { s.Data.Std = s.Data.Std[:1] }, "2 means for 1 standard deviations"},
		{"a zero std", func(s *train.State) { s.Data.Std[1] = 0 }, "feature 1 has mean 2 and standard deviation 0"},
		{"a NaN mean", func(s *train.State) { s.Data.Mean[0] = float32(math.NaN()) }, "feature 0 has mean NaN"},
		{"a class named twice", func(s *train.State) { s.Data.Classes[1] = "setosa" }, `class "setosa" is named twice`},
		{"fewer values than the shape", func(s *train.State) { s.Params[0] = s.Params[0][:3] }, "parameter 0 has shape [2 2] but 3 values"},
		{"a shape that overflows", func(s *train.State) { s.Shapes[0] = []int{1 << 40, 1 << 40} }, "parameter 0 has shape"},
	}
	for _, c := range cases {
		t.Run(c.name+" is refused", func(t *testing.T) {
			st := base()
			c.change(st)
			p := filepath.Join(dir, "bad.ckpt")
			require.NoError(t, train.SaveCheckpoint(p, st))
			_, err := train.LoadCheckpoint(p)
			require.ErrorIs(t, err, train.ErrCheckpoint)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err = train.LoadCheckpointMax(path, 100)
	require.ErrorIs(t, err, train.ErrCheckpoint)
	assert.Contains(t, err.Error(), "limit 100")
}

// TestACheckpointFromBeforeTheDataSectionStillLoads reads the fuzz corpus's valid seed, written
// by the build that introduced the format, before State had a Data field.
func TestACheckpointFromBeforeTheDataSectionStillLoads(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzReadCheckpoint", "valid"))
	require.NoError(t, err)
	_, quoted, ok := bytes.Cut(raw, []byte("[]byte("))
	require.True(t, ok)
	b, err := strconv.Unquote(string(bytes.TrimSuffix(bytes.TrimSpace(quoted), []byte(")"))))
	require.NoError(t, err)
	st, err := train.ReadCheckpoint(bytes.NewReader([]byte(b)), "old.ckpt")
	require.NoError(t, err)
	assert.Nil(t, st.Data)
	assert.Equal(t, 3, st.Step)
}

func TestACheckpointOfAnotherRunIsRefused(t *testing.T) {
	data := blobs(t, 64, 8, 3, 23)
	a := resumeTrainer(t, runConfig{epochs: 1})
	_, err := a.Fit(data, nil)
	require.NoError(t, err)
	st, err := a.Snapshot()
	require.NoError(t, err)

	s, err := models.ParseSpec("8-10-3", kernels.Tanh, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	other, err := train.New(train.Config{Model: s, Device: newDevice(t), Optimizer: optim.MustNamed("adam", 0.01), BatchSize: 16, Seed: 5})
	require.NoError(t, err)
	defer other.Close()
	err = other.Restore(st)
	require.ErrorIs(t, err, train.ErrCheckpoint)
	assert.Contains(t, err.Error(), "model is 8-12:tanh-3")

	sgd := resumeTrainer(t, runConfig{epochs: 1})
	st.Optimizer.Name = "sgd"
	require.ErrorIs(t, sgd.Restore(st), train.ErrCheckpoint)
}

// TestACheckpointWriteKilledAtAnyPoint runs a helper process that saves checkpoints in a loop,
// kills it with SIGKILL at random moments, and checks that the file under the checkpoint's name
// always loads and is consistent: the old checkpoint or the new one, never a torn one.
func TestACheckpointWriteKilledAtAnyPoint(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 25 helper processes; skipped in -short mode")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, "run.ckpt")
	rng := rand.New(rand.NewPCG(7, 7))
	lastStep := 0
	for round := 0; round < 25; round++ {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "GOTRAIN_CHECKPOINT_WRITER="+path)
		require.NoError(t, cmd.Start())
		if lastStep == 0 {
			// Until one save has landed, wait for it (fsync can take seconds on a slow disk), so
			// that later kills always have an old checkpoint to keep.
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if _, err := os.Stat(path); err == nil {
					break
				}
			}
		}
		time.Sleep(time.Duration(5+rng.IntN(60)) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		st, err := train.LoadCheckpoint(path)
		require.NoError(t, err, "round %d", round)
		for _, v := range st.Params[0] {
			require.Equal(t, float32(st.Step), v, "round %d: a parameter from another save", round)
		}
		lastStep = st.Step
	}
	require.NotZero(t, lastStep, "no round got as far as a saved checkpoint")
	t.Logf("last consistent checkpoint after the final kill: step %d", lastStep)
}

// FuzzReadCheckpoint: no input may panic, hang or allocate without bound; every error wraps
// ErrCheckpoint. The seed corpus (testdata/fuzz/FuzzReadCheckpoint) runs in every go test.
func FuzzReadCheckpoint(f *testing.F) {
	good := validCheckpoint(f)
	if *updateCorpus {
		dir := filepath.Join("testdata", "fuzz", "FuzzReadCheckpoint")
		require.NoError(f, os.MkdirAll(dir, 0o755))
		seeds := map[string][]byte{"valid": good, "truncated": good[:len(good)/2], "header-only": good[:20],
			"flipped": append(append([]byte(nil), good[:40]...), append([]byte{good[40] ^ 1}, good[41:]...)...)}
		for name, b := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
			require.NoError(f, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
		}
	}
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := train.ReadCheckpoint(bytes.NewReader(b), "fuzz")
		if err != nil {
			require.ErrorIs(t, err, train.ErrCheckpoint)
			return
		}
		require.Equal(t, len(st.Shapes), len(st.Params))
	})
}

// TestAConvNetWithBatchNormAndDropoutResumesBitForBit interrupts a convolutional network with
// batch normalisation (running statistics are state, in the checkpoint) and dropout (masks keyed
// by the seed and the step) mid-epoch, and finishes it from the checkpoint file in a fresh
// trainer: weights and running statistics must equal the uninterrupted run's bit for bit.
func TestAConvNetWithBatchNormAndDropoutResumesBitForBit(t *testing.T) {
	m, err := models.ParseModel("1x6x6-conv(4,3,pad=1):none-bn-relu-maxpool(2)-dropout(0.3)-12:none-bn-relu-dropout(0.2)-3", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	data, test := blobs(t, 90, 36, 3, 41), blobs(t, 30, 36, 3, 42)
	data.Shape, test.Shape = []int{1, 6, 6}, []int{1, 6, 6}
	newTr := func(stop func() bool) *train.Trainer {
		tr, err := train.New(train.Config{Model: m, Device: newDevice(t), Optimizer: optim.MustNamed("adam", 0.01), BatchSize: 16,
			Epochs: 3, Seed: 9, ShouldStop: stop})
		require.NoError(t, err)
		t.Cleanup(tr.Close)
		return tr
	}
	ref := newTr(nil)
	_, err = ref.Fit(data, test)
	require.NoError(t, err)
	wantP, err := ref.Params()
	require.NoError(t, err)
	wantS, err := ref.State()
	require.NoError(t, err)
	require.Len(t, wantS, 4, "two batch norms: a running mean and variance each")
	assert.NotEqual(t, make([]float32, len(wantS[0])), wantS[0], "the running mean moved")

	n := 0
	a := newTr(func() bool { n++; return n >= 8 }) // 6 steps per epoch: stop inside the second
	_, err = a.Fit(data, test)
	require.ErrorIs(t, err, train.ErrInterrupted)
	st, err := a.Snapshot()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "cnn.ckpt")
	require.NoError(t, train.SaveCheckpoint(path, st))
	loaded, err := train.LoadCheckpoint(path)
	require.NoError(t, err)
	require.Len(t, loaded.Running, 4)

	b := newTr(nil)
	require.NoError(t, b.Restore(loaded))
	_, err = b.Fit(data, test)
	require.NoError(t, err)
	gotP, err := b.Params()
	require.NoError(t, err)
	gotS, err := b.State()
	require.NoError(t, err)
	for i := range wantP {
		for j := range wantP[i] {
			require.Equal(t, math.Float32bits(wantP[i][j]), math.Float32bits(gotP[i][j]), "parameter %d element %d", i, j)
		}
	}
	for i := range wantS {
		for j := range wantS[i] {
			require.Equal(t, math.Float32bits(wantS[i][j]), math.Float32bits(gotS[i][j]), "state %d element %d", i, j)
		}
	}

	// A checkpoint without the running statistics is refused, naming them.
	bad := *loaded
	bad.Running = nil
	c := newTr(nil)
	err = c.Restore(&bad)
	require.ErrorIs(t, err, train.ErrCheckpoint)
	assert.Contains(t, err.Error(), "running statistics")
}

// TestAModelOfImagesRefusesDataOfAnotherShape checks the trainer's own check: a network of
// 1x6x6 images takes neither rows of 36 features without a shape nor 4x3x3 examples.
func TestAModelOfImagesRefusesDataOfAnotherShape(t *testing.T) {
	m, err := models.ParseModel("1x6x6-conv(2,3)-3", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	tr, err := train.New(train.Config{Model: m, Device: newDevice(t), Optimizer: optim.MustNamed("sgd", 0.1), BatchSize: 4, Epochs: 1, Seed: 1})
	require.NoError(t, err)
	defer tr.Close()
	rows := blobs(t, 12, 36, 3, 1)
	_, err = tr.Fit(rows, nil)
	require.ErrorIs(t, err, train.ErrInvalid)
	assert.Contains(t, err.Error(), "no image shape")
	rows.Shape = []int{4, 3, 3}
	_, err = tr.Fit(rows, nil)
	require.ErrorIs(t, err, train.ErrInvalid)
	assert.Contains(t, err.Error(), "[4 3 3]")
	rows.Shape = []int{1, 6, 6}
	_, err = tr.Fit(rows, nil)
	require.NoError(t, err)
}
