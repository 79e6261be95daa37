package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
)

func evalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ckpt := fs.String("checkpoint", "", "checkpoint file, or a run directory holding checkpoint.ckpt (required)")
	data := fs.String("data", "", "directory with MNIST IDX files; empty: the built-in subset")
	csvPath := fs.String("csv", "", "CSV file to evaluate on (instead of MNIST); the same preprocessing as training applies only to MNIST")
	label := fs.String("label", "", "CSV label column: a header name or a 0-based index (default: the last column)")
	split := fs.String("split", "test", "which MNIST split to evaluate: test or train")
	device := fs.String("device", "cpu", "device: cpu or cuda")
	batch := fs.Int("batch", 1000, "evaluation batch size")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gotrain eval -checkpoint PATH [flags]\n\nReports loss, accuracy and the confusion matrix of a checkpoint on a dataset.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var none string
	if err := parseFlags(fs, args, &none); err != nil {
		return err
	}
	if *ckpt == "" {
		return fmt.Errorf("%w: -checkpoint is required", errUsage)
	}
	if *split != "test" && *split != "train" {
		return fmt.Errorf("-split %q: want test or train", *split)
	}
	if *batch < 1 {
		return fmt.Errorf("-batch %d: want at least 1", *batch)
	}
	path := *ckpt
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, checkpointFile)
	}
	state, err := train.LoadCheckpoint(path)
	if err != nil {
		return fmt.Errorf("-checkpoint: %w", err)
	}
	loss, err := kernels.ParseLoss(state.Loss)
	if err != nil {
		return fmt.Errorf("-checkpoint %s: %w", path, err)
	}
	spec, err := models.ParseSpec(state.Spec, kernels.Identity, loss)
	if err != nil {
		return fmt.Errorf("-checkpoint %s: its model: %w", path, err)
	}
	o := options{data: *data, csv: *csvPath, label: *label, loss: state.Loss, seed: state.Seed}
	ds, err := loadData(&o)
	if err != nil {
		return err
	}
	set, name := ds.eval, ds.evalName
	if *split == "train" || set == nil {
		set, name = ds.train, "train"
	}
	if set.Features != spec.Inputs || set.Outputs != spec.Outputs() {
		return fmt.Errorf("the checkpoint's model %v wants %d features and %d outputs; %s has %d and %d",
			spec, spec.Inputs, spec.Outputs(), ds.source, set.Features, set.Outputs)
	}
	dev, err := openDevice(*device, 0)
	if err != nil {
		return err
	}
	defer dev.Close()
	tr, err := train.New(train.Config{Spec: spec, Device: dev, Optimizer: optim.MustNamed("sgd", 0), BatchSize: 1, EvalBatch: *batch, Seed: state.Seed})
	if err != nil {
		return err
	}
	defer tr.Close()
	if err := tr.SetParams(state.Params); err != nil {
		return fmt.Errorf("-checkpoint %s: %w", path, err)
	}
	l, acc, err := tr.Evaluate(set)
	if err != nil {
		return err
	}
	conf, err := tr.Confusion(set)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checkpoint: %s (model %v, epoch %d, step %d)\n", path, spec, state.Epoch, state.Step)
	fmt.Fprintf(stdout, "data: %s, %s split, %d examples\n", ds.source, name, set.N)
	fmt.Fprintf(stdout, "loss %.4f  accuracy %.2f%%\n\n", l, 100*acc)
	writeConfusion(stdout, conf, ds.classes)
	return nil
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
