package train

import "fmt"

// Dataset is a set of examples with dense targets.
type Dataset struct {
	X        []float32 // N×Features, row-major
	Y        []float32 // N×Outputs targets (one-hot rows for classification)
	N        int
	Features int
	Outputs  int
}

// Classification builds a Dataset from class labels, one-hot encoding them. With classes == 1
// the labels must be 0 or 1 and become a single binary target.
func Classification(x []float32, labels []uint8, features, classes int) (*Dataset, error) {
	n := len(labels)
	if features <= 0 || classes <= 0 || len(x) != n*features {
		return nil, fmt.Errorf("train: %d inputs of %d features need %d values, have %d (classes %d): %w",
			n, features, n*features, len(x), classes, ErrInvalid)
	}
	width := classes
	y := make([]float32, n*width)
	for i, l := range labels {
		switch {
		case classes == 1 && l <= 1:
			y[i] = float32(l)
		case classes > 1 && int(l) < classes:
			y[i*width+int(l)] = 1
		default:
			return nil, fmt.Errorf("train: label %d at example %d is out of range for %d classes: %w", l, i, classes, ErrInvalid)
		}
	}
	return &Dataset{X: x, Y: y, N: n, Features: features, Outputs: width}, nil
}

// Validate checks the lengths.
func (d *Dataset) Validate() error {
	if d == nil || d.N <= 0 || d.Features <= 0 || d.Outputs <= 0 {
		return fmt.Errorf("train: empty dataset or non-positive sizes: %w", ErrInvalid)
	}
	if len(d.X) != d.N*d.Features || len(d.Y) != d.N*d.Outputs {
		return fmt.Errorf("train: dataset has %d inputs and %d targets for %d examples of %d features and %d outputs: %w",
			len(d.X), len(d.Y), d.N, d.Features, d.Outputs, ErrInvalid)
	}
	return nil
}

func (t *Trainer) checkData(ds *Dataset, what string) error {
	if err := ds.Validate(); err != nil {
		return fmt.Errorf("train: %s set: %w", what, err)
	}
	if ds.Features != t.cfg.Spec.Inputs || ds.Outputs != t.cfg.Spec.Outputs() {
		return fmt.Errorf("train: %s set has %d features and %d outputs, model %v wants %d and %d: %w",
			what, ds.Features, ds.Outputs, t.cfg.Spec, t.cfg.Spec.Inputs, t.cfg.Spec.Outputs(), ErrInvalid)
	}
	return nil
}
