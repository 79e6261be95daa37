package train

import (
	"fmt"
	"slices"

	"github.com/gotrain/gotrain/models"
)

// Dataset is a set of examples with dense targets.
type Dataset struct {
	X []float32 // N×Features, row-major
	// Pixels, set instead of X, holds the examples as 8-bit pixels (N×Features bytes,
	// row-major), each standing for float32(b)/255: MNIST as stored, in a quarter of X's memory
	// (full MNIST: 55 MB instead of 220 MB). The trainer widens each batch as it copies it, to
	// the same values (kernels.PixelsToUnit).
	Pixels   []uint8
	Y        []float32 // N×Outputs targets (one-hot rows for classification)
	N        int
	Features int
	Outputs  int
	// Shape is one example's shape when it has one ([1, 28, 28] for MNIST digits; its product
	// is Features); nil means rows of Features values without structure.
	Shape []int
}

// Classification builds a Dataset from class labels, one-hot encoding them. With classes == 1
// the labels must be 0 or 1 and become a single binary target.
func Classification(x []float32, labels []uint8, features, classes int) (*Dataset, error) {
	ds, err := oneHot(len(x), labels, features, classes)
	if err != nil {
		return nil, err
	}
	ds.X = x
	return ds, nil
}

// ClassificationPixels is Classification for examples of 8-bit pixels (see Dataset.Pixels).
func ClassificationPixels(pixels []uint8, labels []uint8, features, classes int) (*Dataset, error) {
	ds, err := oneHot(len(pixels), labels, features, classes)
	if err != nil {
		return nil, err
	}
	ds.Pixels = pixels
	return ds, nil
}

// oneHot checks nx input values against the labels and returns a Dataset with its targets.
func oneHot(nx int, labels []uint8, features, classes int) (*Dataset, error) {
	n := len(labels)
	if features <= 0 || classes <= 0 || nx != n*features {
		return nil, fmt.Errorf("train: %d inputs of %d features need %d values, have %d (classes %d): %w",
			n, features, n*features, nx, classes, ErrInvalid)
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
	return &Dataset{Y: y, N: n, Features: features, Outputs: width}, nil
}

// Validate checks the lengths.
func (d *Dataset) Validate() error {
	if d == nil || d.N <= 0 || d.Features <= 0 || d.Outputs <= 0 {
		return fmt.Errorf("train: empty dataset or non-positive sizes: %w", ErrInvalid)
	}
	if d.X != nil && d.Pixels != nil {
		return fmt.Errorf("train: dataset has both X and Pixels; set one: %w", ErrInvalid)
	}
	nx := len(d.X)
	if d.Pixels != nil {
		nx = len(d.Pixels)
	}
	if nx != d.N*d.Features || len(d.Y) != d.N*d.Outputs {
		return fmt.Errorf("train: dataset has %d inputs and %d targets for %d examples of %d features and %d outputs: %w",
			nx, len(d.Y), d.N, d.Features, d.Outputs, ErrInvalid)
	}
	if d.Shape != nil && (prod(d.Shape) != d.Features || slices.ContainsFunc(d.Shape, func(n int) bool { return n <= 0 })) {
		return fmt.Errorf("train: dataset examples of shape %v for %d features: %w", d.Shape, d.Features, ErrInvalid)
	}
	return nil
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Fits says whether examples of ds can go into m, and why not: the same number of values and
// of outputs, and for a model of images ([C, H, W]) examples of that shape. A dense model takes
// any examples of its width (an image's pixels as features).
func Fits(ds *Dataset, m models.Model) error {
	in := m.InputShape()
	switch {
	case ds.Features != prod(in):
		shape := fmt.Sprint(ds.Features, " features")
		if ds.Shape != nil {
			shape = fmt.Sprintf("examples of shape %v (%d values)", ds.Shape, ds.Features)
		}
		return fmt.Errorf("the model %v takes examples of shape %v (%d values), the data has %s: %w", m, in, prod(in), shape, ErrInvalid)
	case len(in) > 1 && ds.Shape == nil:
		return fmt.Errorf("the model %v takes images of shape %v, the data's examples are rows of %d features with no image shape: %w",
			m, in, ds.Features, ErrInvalid)
	case len(in) > 1 && !slices.Equal(ds.Shape, in):
		return fmt.Errorf("the model %v takes images of shape %v, the data's are %v: %w", m, in, ds.Shape, ErrInvalid)
	case ds.Outputs != m.Outputs():
		return fmt.Errorf("the model %v has %d outputs, the data has targets of %d: %w", m, m.Outputs(), ds.Outputs, ErrInvalid)
	}
	return nil
}

func (t *Trainer) checkData(ds *Dataset, what string) error {
	if err := ds.Validate(); err != nil {
		return fmt.Errorf("train: %s set: %w", what, err)
	}
	if err := Fits(ds, t.cfg.Model); err != nil {
		return fmt.Errorf("train: %s set: %w", what, err)
	}
	return nil
}
