package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/models/csvdata"
	"github.com/gotrain/gotrain/models/mnist"
)

// dataset is a loaded training set and the set evaluated after each epoch (a validation split,
// the MNIST test set, or nothing).
type dataset struct {
	train, eval *train.Dataset
	evalName    string // "validation", "test" or ""
	source      string
	classes     []string
}

// loadData reads the data the options name and splits off a validation set when asked.
func loadData(o *options) (*dataset, error) {
	if o.csv != "" {
		return loadCSV(o)
	}
	var tr, te *mnist.Dataset
	var err error
	ds := &dataset{}
	if o.data == "" {
		tr, te, err = mnist.Embedded()
		ds.source = "built-in MNIST subset"
	} else {
		tr, te, err = mnist.LoadDir(o.data)
		ds.source = "MNIST from " + o.data
	}
	if err != nil {
		return nil, fmt.Errorf("-data: %w", err)
	}
	for i := 0; i < mnist.Classes; i++ {
		ds.classes = append(ds.classes, fmt.Sprint(i))
	}
	if ds.train, err = train.Classification(tr.X, tr.Labels, tr.Features, tr.Classes); err != nil {
		return nil, err
	}
	if ds.eval, err = train.Classification(te.X, te.Labels, te.Features, te.Classes); err != nil {
		return nil, err
	}
	ds.evalName = "test"
	if o.valSplit > 0 {
		ds.train, ds.eval = splitDataset(ds.train, o.valSplit, o.seed)
		ds.evalName = "validation"
	}
	return ds, nil
}

func loadCSV(o *options) (*dataset, error) {
	t, err := csvdata.Load(o.csv, csvdata.Options{Label: o.label})
	if err != nil {
		return nil, fmt.Errorf("-csv: %w", err)
	}
	ds := &dataset{source: fmt.Sprintf("CSV %s (%d rows, %d features, %d classes)", o.csv, t.N, t.Features, t.Classes), classes: t.ClassNames}
	var trT, valT *csvdata.Table = t, nil
	if o.valSplit > 0 {
		if trT, valT, err = t.Split(o.valSplit, o.seed); err != nil {
			return nil, fmt.Errorf("-val-split: %w", err)
		}
	}
	// Standardise on the training rows only, then apply the same statistics to validation.
	mean, std := trT.Standardize()
	classes := t.Classes
	if o.loss == "bce-logits" || o.loss == "bce" {
		classes = 1
	}
	if ds.train, err = train.Classification(trT.X, trT.Labels, trT.Features, classes); err != nil {
		return nil, fmt.Errorf("-csv: %w", err)
	}
	if valT != nil {
		if err := valT.ApplyStandardize(mean, std); err != nil {
			return nil, err
		}
		if ds.eval, err = train.Classification(valT.X, valT.Labels, valT.Features, classes); err != nil {
			return nil, fmt.Errorf("-csv: %w", err)
		}
		ds.evalName = "validation"
	}
	return ds, nil
}

// splitDataset holds out a seeded random fraction of d (copying rows, so the result owns them).
func splitDataset(d *train.Dataset, frac float64, seed uint64) (*train.Dataset, *train.Dataset) {
	perm := rand.New(rand.NewPCG(seed, 0x51a7)).Perm(d.N)
	nVal := max(1, int(frac*float64(d.N)))
	take := func(idx []int) *train.Dataset {
		out := &train.Dataset{N: len(idx), Features: d.Features, Outputs: d.Outputs,
			X: make([]float32, 0, len(idx)*d.Features), Y: make([]float32, 0, len(idx)*d.Outputs)}
		for _, i := range idx {
			out.X = append(out.X, d.X[i*d.Features:(i+1)*d.Features]...)
			out.Y = append(out.Y, d.Y[i*d.Outputs:(i+1)*d.Outputs]...)
		}
		return out
	}
	return take(perm[nVal:]), take(perm[:nVal])
}

// checkFits says, before training, whether the model's widths fit the data.
func checkFits(s *setup, ds *dataset) error {
	if s.spec.Inputs != ds.train.Features {
		return fmt.Errorf("-model %v: the input width %d does not match the data's %d features", s.spec, s.spec.Inputs, ds.train.Features)
	}
	if s.spec.Outputs() != ds.train.Outputs {
		return fmt.Errorf("-model %v: the output width %d does not match the data's %d classes (%s)", s.spec, s.spec.Outputs(), ds.train.Outputs, ds.source)
	}
	return nil
}
