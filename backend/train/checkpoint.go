package train

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gotrain/gotrain/optim"
)

// ErrCheckpoint is wrapped by every error about a checkpoint file's contents: a wrong magic,
// another format version, a checksum mismatch, a truncated file, or a checkpoint of another
// model or optimizer.
var ErrCheckpoint = errors.New("train: bad checkpoint")

// CheckpointVersion is the format version this build writes and reads.
const CheckpointVersion = 1

// The file layout: magic (8 bytes), version (uint32 LE), payload length (uint64 LE), payload
// (gob of State), SHA-256 of the payload (32 bytes). The length and checksum are checked before
// the payload is decoded, so a torn or corrupted file is reported as such and never half-loaded.
var checkpointMagic = [8]byte{'G', 'O', 'T', 'R', 'C', 'K', 'P', 'T'}

// MaxCheckpointBytes is the payload size LoadCheckpoint accepts (a header claiming more is an
// error); LoadCheckpointMax takes another bound.
const MaxCheckpointBytes = 4 << 30

// State is everything needed to continue a run exactly: the weights, the optimizer and schedule
// state, the data-order generator and the position in the current epoch.
type State struct {
	Spec      string  // models.Spec.String() of the model
	Loss      string  // the loss's name
	Shapes    [][]int // parameter shapes
	Seed      uint64
	BatchSize int

	Params [][]float32
	// Running is the model's non-trainable state (batch normalisation's running statistics),
	// in the graph's state order; empty for models without any.
	Running   [][]float32
	Optimizer optim.State
	// BaseLR is the default group's base rate; Scheduler the scheduler's counts, plateau state
	// and rates.
	BaseLR    float64
	Scheduler *optim.SchedulerState
	// Plateau is where checkpoints written before the scheduler existed keep the plateau rule's
	// state (with the rate in Optimizer.DefaultLR); newer ones leave it nil.
	Plateau *optim.PlateauState

	Epoch, Step, Skipped int
	// The current epoch, when the snapshot was taken inside one.
	MidEpoch                bool
	EpochRNG                []byte
	EpochStep               int
	EpochLoss               float64
	EpochCorrect, EpochSeen int
	// RNG is the data-order generator's state at the time of the snapshot.
	RNG     []byte
	History []EpochMetrics
	Saved   time.Time

	// Data says how the training data was prepared, so evaluation and later use prepare new
	// data the same way. The trainer does not know it: whoever loads the data sets it before
	// SaveCheckpoint. It is nil in checkpoints written before it existed (gob leaves a field
	// missing from the file at its zero value, so those still load).
	Data *DataInfo
}

// DataInfoVersion is the version of DataInfo this build writes and reads.
const DataInfoVersion = 1

// DataInfo records the preprocessing of a model's inputs and the meaning of its outputs.
type DataInfo struct {
	// Version is DataInfoVersion when written; ReadCheckpoint refuses a version it does not know.
	Version int
	// Source is the kind of data, e.g. "mnist" or "csv"; Label the label column as it was
	// given for tabular data ("" for the default).
	Source, Label string
	// Features names the input columns in order (empty when the inputs have no names).
	Features []string
	// Mean and Std standardise input j as (x-Mean[j])/Std[j]; both are empty when the inputs
	// were used as loaded.
	Mean, Std []float32
	// Classes names what each output class stands for: Classes[i] is the label value that
	// became class index i.
	Classes []string
}

// Validate checks that d is internally consistent.
func (d *DataInfo) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("train: the data section: %s: %w", fmt.Sprintf(format, a...), ErrCheckpoint)
	}
	switch {
	case d.Version < 1 || d.Version > DataInfoVersion:
		return bad("version %d; this build reads versions 1 to %d", d.Version, DataInfoVersion)
	case len(d.Mean) != len(d.Std):
		return bad("%d means for %d standard deviations", len(d.Mean), len(d.Std))
	case len(d.Mean) > 0 && len(d.Features) > 0 && len(d.Features) != len(d.Mean):
		return bad("%d feature names for %d means", len(d.Features), len(d.Mean))
	}
	for j := range d.Mean {
		m, s := float64(d.Mean[j]), float64(d.Std[j])
		if math.IsNaN(m) || math.IsInf(m, 0) || !(s > 0) || math.IsInf(s, 0) {
			return bad("feature %d has mean %v and standard deviation %v; want finite, and a std > 0", j, m, s)
		}
	}
	seen := make(map[string]bool, len(d.Classes))
	for _, c := range d.Classes {
		if seen[c] {
			return bad("class %q is named twice", c)
		}
		seen[c] = true
	}
	return nil
}

// encodeState writes the framed checkpoint to w.
func encodeState(w io.Writer, s *State) error {
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(s); err != nil {
		return fmt.Errorf("train: encoding the checkpoint: %w", err)
	}
	var head [20]byte
	copy(head[:8], checkpointMagic[:])
	binary.LittleEndian.PutUint32(head[8:12], CheckpointVersion)
	binary.LittleEndian.PutUint64(head[12:20], uint64(payload.Len()))
	sum := sha256.Sum256(payload.Bytes())
	for _, b := range [][]byte{head[:], payload.Bytes(), sum[:]} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// SaveCheckpoint writes s to path atomically: to a temporary file in the same directory, synced,
// then renamed over path (and the directory synced), so a crash at any point leaves either the
// old checkpoint or the new one, never a torn file under path.
func SaveCheckpoint(path string, s *State) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("train: saving checkpoint %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o644); err != nil { // CreateTemp makes 0600; a checkpoint is an ordinary file
		return fmt.Errorf("train: saving checkpoint %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = encodeState(bw, s); err != nil {
		return fmt.Errorf("train: saving checkpoint %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("train: saving checkpoint %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("train: saving checkpoint %s: fsync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("train: saving checkpoint %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("train: saving checkpoint %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // make the rename durable; not all filesystems support it, so errors are ignored
		d.Close()
	}
	return nil
}

// ReadCheckpoint decodes a checkpoint from r; name is used in errors. It verifies the magic, the
// version, the declared length against what is there, and the checksum before decoding, and
// afterwards that every parameter has as many values as its shape says.
func ReadCheckpoint(r io.Reader, name string) (*State, error) {
	return readCheckpoint(r, name, MaxCheckpointBytes)
}

func readCheckpoint(r io.Reader, name string, maxBytes int64) (*State, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("train: checkpoint %s: %s: %w", name, fmt.Sprintf(format, a...), ErrCheckpoint)
	}
	var head [20]byte
	if n, err := io.ReadFull(r, head[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, bad("truncated header: %d of 20 bytes", n)
		}
		return nil, fmt.Errorf("train: checkpoint %s: %w", name, err)
	}
	if !bytes.Equal(head[:8], checkpointMagic[:]) {
		return nil, bad("not a gotrain checkpoint (magic %q)", head[:8])
	}
	if v := binary.LittleEndian.Uint32(head[8:12]); v != CheckpointVersion {
		return nil, bad("format version %d; this build reads version %d", v, CheckpointVersion)
	}
	n := binary.LittleEndian.Uint64(head[12:20])
	if maxBytes < 0 || n > uint64(maxBytes) {
		return nil, bad("header claims a %d-byte payload (limit %d)", n, maxBytes)
	}
	// Read incrementally, so a lying header costs only what the file really holds.
	var payload bytes.Buffer
	got, err := io.CopyN(&payload, r, int64(n))
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, bad("truncated: the header promises %d payload bytes, the file has %d", n, got)
		}
		return nil, fmt.Errorf("train: checkpoint %s: %w", name, err)
	}
	var sum [32]byte
	if k, err := io.ReadFull(r, sum[:]); err != nil {
		return nil, bad("truncated checksum: %d of 32 bytes", k)
	}
	if sha256.Sum256(payload.Bytes()) != sum {
		return nil, bad("checksum mismatch: the file is corrupted")
	}
	if extra, _ := io.CopyN(io.Discard, r, 1); extra != 0 {
		return nil, bad("trailing bytes after the checksum")
	}
	s := new(State)
	if err := gob.NewDecoder(&payload).Decode(s); err != nil {
		return nil, bad("decoding: %v", err)
	}
	if len(s.Shapes) != len(s.Params) {
		return nil, bad("%d parameter shapes for %d parameters", len(s.Shapes), len(s.Params))
	}
	for i, sh := range s.Shapes {
		n := 1
		for _, d := range sh {
			if d <= 0 || n > len(s.Params[i])/d {
				return nil, bad("parameter %d has shape %v but %d values", i, sh, len(s.Params[i]))
			}
			n *= d
		}
		if n != len(s.Params[i]) {
			return nil, bad("parameter %d has shape %v but %d values", i, sh, len(s.Params[i]))
		}
	}
	if s.Data != nil {
		if err := s.Data.Validate(); err != nil {
			return nil, fmt.Errorf("train: checkpoint %s: %w", name, err)
		}
	}
	return s, nil
}

// LoadCheckpoint reads and verifies the checkpoint at path.
func LoadCheckpoint(path string) (*State, error) {
	return LoadCheckpointMax(path, MaxCheckpointBytes)
}

// LoadCheckpointMax is LoadCheckpoint with another bound on the payload size, for a caller
// with its own memory limits.
func LoadCheckpointMax(path string, maxBytes int64) (*State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train: loading checkpoint: %w", err)
	}
	defer f.Close()
	return readCheckpoint(bufio.NewReader(f), path, maxBytes)
}
