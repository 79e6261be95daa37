package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
)

// evalFlags are eval's options.
type evalFlags struct {
	ckpt, data, csv, label, split, device string
	batch                                 int
}

const evalIntro = `Usage: gotrain eval -checkpoint PATH [flags]

Reports loss, accuracy and the confusion matrix of a checkpoint on a dataset, prepared as the
model's training data was: the same feature standardisation and the same class numbering (a
file that lacks some classes evaluates; a label the model never saw is an error).
Ctrl-C (SIGINT) or SIGTERM stops it.
`

func newEvalCommand() (*command, *evalFlags) {
	c := newCommand("eval", evalIntro)
	var f evalFlags
	c.strOrEmpty(&f.ckpt, "checkpoint", "", "checkpoint file, or a run directory holding checkpoint.ckpt (required)")
	c.strOrEmpty(&f.data, "data", "", "directory with MNIST IDX files; empty: the built-in subset")
	c.strOrEmpty(&f.csv, "csv", "", "CSV file to evaluate on (instead of MNIST), with the same columns as the training file")
	c.strOrEmpty(&f.label, "label", "", "CSV label column: a header name or a 0-based index (default: the training run's)")
	c.str(&f.split, "split", "test", "which MNIST split to evaluate: test or train")
	c.str(&f.device, "device", "cpu", "device: cpu or cuda")
	c.int(&f.batch, "batch", 1000, "evaluation batch size")
	return c, &f
}

func evalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, f := newEvalCommand()
	if err := c.parse(args, stderr); err != nil {
		return err
	}
	if f.ckpt == "" {
		return usagef("-checkpoint is required: a checkpoint file, or a run directory holding %s", checkpointFile)
	}
	if _, err := checkApplies(c.explicit, []*runFacts{{csv: f.csv != "", evalSet: true, defActs: 1}}); err != nil {
		return err
	}
	if f.data != "" && f.csv != "" {
		return usagef("-data %s and -csv %s: give one data source, not both", f.data, f.csv)
	}
	if f.split != "test" && f.split != "train" {
		return fmt.Errorf("-split %q: want test or train", f.split)
	}
	if f.batch < 1 {
		return fmt.Errorf("-batch %d: want at least 1", f.batch)
	}
	if f.device != "cpu" && f.device != "cuda" {
		return fmt.Errorf("-device %q: want cpu or cuda", f.device)
	}
	path := f.ckpt
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, checkpointFile)
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("-checkpoint %s: a directory without a %s", f.ckpt, checkpointFile)
		}
	}
	state, err := loadCheckpointFile("-checkpoint", path)
	if err != nil {
		return err
	}
	loss, err := kernels.ParseLoss(state.Loss)
	if err != nil {
		return fmt.Errorf("-checkpoint %s: %w", path, err)
	}
	spec, err := models.ParseModel(state.Spec, kernels.Identity, loss)
	if err != nil {
		return fmt.Errorf("-checkpoint %s: its model: %w", path, err)
	}
	// The model comes from the file: check its size before anything is built from it.
	if err := checkModel("-checkpoint "+path+": its model", spec, 0, 0, 0); err != nil {
		return err
	}
	if shapes := models.Shapes(spec.Params()); !slices.EqualFunc(shapes, state.Shapes, slices.Equal[[]int]) {
		return fmt.Errorf("-checkpoint %s: its parameter shapes %v are not those of its model %v (%v)", path, state.Shapes, spec, shapes)
	}
	for i, p := range state.Params {
		for j, v := range p {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("-checkpoint %s: parameter %d (shape %v) holds %v at element %d; a model with non-finite weights cannot be evaluated", path, i, state.Shapes[i], v, j)
			}
		}
	}
	ed, err := loadEvalData(f.data, f.csv, f.label, f.split, state.Data, spec.Outputs(), path)
	if err != nil {
		return err
	}
	set := ed.set
	if err := modelFits("-checkpoint "+path+": its model", spec, set, ed.source, len(ed.classes)); err != nil {
		return err
	}
	if err := checkModel("-checkpoint "+path+": its model", spec, 1, min(f.batch, set.N), 4*float64(set.N)*float64(set.Features+set.Outputs)); err != nil {
		return err
	}
	dev, err := openDevice(f.device, 0)
	if err != nil {
		return err
	}
	defer dev.Close()
	tr, err := train.New(train.Config{Model: spec, Device: dev, Optimizer: optim.MustNamed("sgd", 0), BatchSize: 1, EvalBatch: f.batch, Seed: state.Seed})
	if err != nil {
		return err
	}
	defer tr.Close()
	if err := tr.SetParams(state.Params); err != nil {
		return fmt.Errorf("-checkpoint %s: %w", path, err)
	}
	if err := tr.SetState(state.Running); err != nil {
		return fmt.Errorf("-checkpoint %s: %w", path, err)
	}
	l, acc, conf, err := evaluate(ctx, tr, set, f.batch)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checkpoint: %s (model %v, epoch %d, step %d)\n", path, spec, state.Epoch, state.Step)
	if ed.name != "" {
		fmt.Fprintf(stdout, "data: %s, %s split, %d examples\n", ed.source, ed.name, set.N)
	} else {
		fmt.Fprintf(stdout, "data: %s\n", ed.source)
	}
	fmt.Fprintf(stdout, "loss %.4f  accuracy %.2f%%\n\n", l, 100*acc)
	writeConfusion(stdout, conf, ed.classes)
	return nil
}

// evaluate computes the loss, the accuracy and the confusion matrix in chunks of whole
// evaluation batches, checking between chunks whether a signal asked to stop (a large file
// takes a while).
func evaluate(ctx context.Context, tr *train.Trainer, set *train.Dataset, batch int) (loss, acc float64, conf [][]int, err error) {
	chunk := batch * 16
	var sum float64
	correct := 0
	for lo := 0; lo < set.N; lo += chunk {
		if ctx.Err() != nil {
			return 0, 0, nil, interruptedf("interrupted after %d of %d examples; eval writes nothing, so nothing was saved", lo, set.N)
		}
		hi := min(lo+chunk, set.N)
		part := &train.Dataset{Y: set.Y[lo*set.Outputs : hi*set.Outputs],
			N: hi - lo, Features: set.Features, Outputs: set.Outputs, Shape: set.Shape}
		if set.Pixels != nil {
			part.Pixels = set.Pixels[lo*set.Features : hi*set.Features]
		} else {
			part.X = set.X[lo*set.Features : hi*set.Features]
		}
		l, a, err := tr.Evaluate(part)
		if err != nil {
			return 0, 0, nil, err
		}
		c, err := tr.Confusion(part)
		if err != nil {
			return 0, 0, nil, err
		}
		sum += l * float64(part.N)
		correct += int(a*float64(part.N) + 0.5)
		if conf == nil {
			conf = c
		} else {
			for i := range c {
				for j := range c[i] {
					conf[i][j] += c[i][j]
				}
			}
		}
	}
	return sum / float64(set.N), float64(correct) / float64(set.N), conf, nil
}

// writeConfusion prints counts[target][predicted] with per-class recall.
func writeConfusion(w io.Writer, counts [][]int, names []string) {
	if len(names) != len(counts) {
		names = make([]string, len(counts))
		for i := range names {
			names[i] = fmt.Sprint(i)
		}
	}
	width := 6
	for _, n := range names {
		width = max(width, len(n)+1)
	}
	fmt.Fprintf(w, "confusion matrix (rows: true class, columns: predicted)\n%*s", width, "")
	for _, n := range names {
		fmt.Fprintf(w, "%*s", width, n)
	}
	fmt.Fprintf(w, "%*s\n", 9, "recall")
	for i, row := range counts {
		fmt.Fprintf(w, "%*s", width, names[i])
		total := 0
		for _, c := range row {
			fmt.Fprintf(w, "%*d", width, c)
			total += c
		}
		if total > 0 {
			fmt.Fprintf(w, "%8.1f%%\n", 100*float64(row[i])/float64(total))
		} else {
			fmt.Fprintf(w, "%9s\n", "-")
		}
	}
	fmt.Fprintln(w, strings.Repeat("-", width*(len(names)+1)+9))
}
