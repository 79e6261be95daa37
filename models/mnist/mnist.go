// Package mnist loads the MNIST handwritten-digit set from its IDX files into
// flat float32 rows, ready to feed a Gorgonia graph.
//
// The files are treated as untrusted input: headers are checked before
// anything is allocated, every malformed file is an error wrapping ErrFormat
// that says what is wrong and where, and no input makes the package panic.
// A 10,000/2,000-image subset of the real data is compiled in (Embedded), so
// tests and examples run anywhere without a download; the subset is rebuilt by
// `go generate` (see internal/gen).
package mnist

//go:generate go run ./internal/gen -out embedded

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gotrain/gotrain/kernels"
)

// Geometry of MNIST. The loader accepts other IDX image sizes, but labels
// are always checked against Classes.
const (
	// Classes is the number of digit classes, 0 to 9.
	Classes = 10
	// Rows and Cols are the MNIST image side lengths.
	Rows, Cols = 28, 28
)

// Dataset is a labelled set of images flattened to rows. X is one contiguous
// slice rather than [][]float32 so that a minibatch is a subslice that can be
// handed to a tensor without copying.
type Dataset struct {
	X                    []float32 // N*Features pixel values scaled to [0,1], row-major
	Pixels               []uint8   // or the bytes as read: X[i] = float32(Pixels[i])/255 (see LoadDirPixels)
	Labels               []uint8   // N class labels in [0, Classes)
	N, Features, Classes int       // Classes = 10 for MNIST
	Rows, Cols           int       // image geometry (28, 28); Features = Rows*Cols
}

// Subset returns items [lo, hi) of d, sharing its memory, so that carving a
// validation split off the training set costs nothing. The slices are capped
// at hi, so appending to the subset cannot overwrite the items after it.
// d must be valid (see Validate). Bounds outside 0 <= lo <= hi <= d.N panic, exactly as the slice expression
// d.Labels[lo:hi] would: they are a bug in the caller, not bad input.
func (d *Dataset) Subset(lo, hi int) *Dataset {
	if lo < 0 || hi < lo || hi > d.N {
		panic(fmt.Sprintf("mnist: Subset(%d, %d) out of range for a dataset of %d items", lo, hi, d.N))
	}
	f := d.Features
	s := *d
	if d.X != nil {
		s.X = d.X[lo*f : hi*f : hi*f]
	}
	if d.Pixels != nil {
		s.Pixels = d.Pixels[lo*f : hi*f : hi*f]
	}
	s.Labels = d.Labels[lo:hi:hi]
	s.N = hi - lo
	return &s
}

// Validate checks that d is internally consistent: the slice lengths agree
// with N, Features and the geometry, and every label is below Classes. The
// loaders always return valid datasets; Validate is for datasets built or
// modified by hand, before a bad length turns into an index panic deep in
// training. It does not scan X, which the loaders fill from bytes and so
// keep in [0,1] by construction.
func (d *Dataset) Validate() error {
	switch {
	case d.N < 0 || d.Features < 1 || d.Classes < 1 || d.Classes > 256:
		return fmt.Errorf("mnist: dataset has N=%d, Features=%d, Classes=%d; want N >= 0, Features >= 1, 1 <= Classes <= 256: %w",
			d.N, d.Features, d.Classes, ErrFormat)
	case d.Rows*d.Cols != d.Features:
		return fmt.Errorf("mnist: dataset geometry %d×%d does not match Features=%d: %w", d.Rows, d.Cols, d.Features, ErrFormat)
	case d.X == nil && d.Pixels == nil && d.N > 0:
		return fmt.Errorf("mnist: dataset of %d items has neither X nor Pixels: %w", d.N, ErrFormat)
	case d.X != nil && len(d.X) != d.N*d.Features:
		return fmt.Errorf("mnist: dataset has len(X)=%d, want N*Features=%d*%d=%d: %w",
			len(d.X), d.N, d.Features, d.N*d.Features, ErrFormat)
	case d.Pixels != nil && len(d.Pixels) != d.N*d.Features:
		return fmt.Errorf("mnist: dataset has len(Pixels)=%d, want N*Features=%d*%d=%d: %w",
			len(d.Pixels), d.N, d.Features, d.N*d.Features, ErrFormat)
	case len(d.Labels) != d.N:
		return fmt.Errorf("mnist: dataset has len(Labels)=%d, want N=%d: %w", len(d.Labels), d.N, ErrFormat)
	}
	for i, l := range d.Labels {
		if int(l) >= d.Classes {
			return fmt.Errorf("mnist: dataset label %d at index %d not in [0,%d): %w", l, i, d.Classes, ErrFormat)
		}
	}
	return nil
}

// Load reads an image file and its label file, raw or gzipped, into a
// Dataset. Errors name the file they concern.
func Load(imagesPath, labelsPath string) (*Dataset, error) {
	return loadPair(osOpen, imagesPath, labelsPath, true)
}

// Standard file names, as distributed. LoadDir also accepts each with ".gz".
const (
	trainImagesName = "train-images-idx3-ubyte"
	trainLabelsName = "train-labels-idx1-ubyte"
	testImagesName  = "t10k-images-idx3-ubyte"
	testLabelsName  = "t10k-labels-idx1-ubyte"
)

// LoadDir loads the training and test sets from dir, which holds the four
// files under their standard names (train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte),
// each either raw or with a ".gz" suffix; raw wins when both are present,
// since it is faster to read. A missing file is an error wrapping
// fs.ErrNotExist that lists the names looked for, so a user who renamed the
// files sees what is expected.
func LoadDir(dir string) (train, test *Dataset, err error) { return loadDir(dir, true) }

// LoadDirPixels is LoadDir keeping the pixels as the bytes they are stored as (Pixels, with X
// nil): a quarter of the memory (full MNIST: 55 MB instead of 220 MB), for a consumer that widens
// them batch by batch (kernels.PixelsToUnit gives X's values bit for bit).
func LoadDirPixels(dir string) (train, test *Dataset, err error) { return loadDir(dir, false) }

func loadDir(dir string, floats bool) (train, test *Dataset, err error) {
	var paths [4]string
	for i, name := range []string{trainImagesName, trainLabelsName, testImagesName, testLabelsName} {
		if paths[i], err = findFile(dir, name); err != nil {
			return nil, nil, err
		}
	}
	if train, err = loadPair(osOpen, paths[0], paths[1], floats); err != nil {
		return nil, nil, err
	}
	if test, err = loadPair(osOpen, paths[2], paths[3], floats); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// findFile returns the path of name or name.gz in dir.
func findFile(dir, name string) (string, error) {
	candidates := []string{name, name + ".gz"}
	for _, c := range candidates {
		p := filepath.Join(dir, c)
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.Mode().IsRegular():
			return p, nil
		case err == nil:
			return "", fmt.Errorf("mnist: %s is not a regular file", p)
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("mnist: %w", err)
		}
	}
	return "", fmt.Errorf("mnist: no %s in %s (looked for %s and %s): %w",
		name, dir, candidates[0], candidates[1], fs.ErrNotExist)
}

//go:embed embedded/*.gz
var embedded embed.FS

// Embedded returns the compiled-in subset of real MNIST: the first 10,000
// training and first 2,000 test images with their labels, about 2 MB of
// gzip. It exists so that tests, examples and smoke runs need neither network
// nor module cache. Each call decodes afresh and returns datasets the caller
// owns and may modify.
func Embedded() (train, test *Dataset, err error) { return embeddedSets(true) }

// EmbeddedPixels is Embedded with the pixels as bytes (Pixels, X nil), as LoadDirPixels.
func EmbeddedPixels() (train, test *Dataset, err error) { return embeddedSets(false) }

func embeddedSets(floats bool) (train, test *Dataset, err error) {
	open := func(name string) (io.ReadCloser, error) { return embedded.Open(name) }
	if train, err = loadPair(open, "embedded/"+trainImagesName+".gz", "embedded/"+trainLabelsName+".gz", floats); err != nil {
		return nil, nil, err
	}
	if test, err = loadPair(open, "embedded/"+testImagesName+".gz", "embedded/"+testLabelsName+".gz", floats); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// opener abstracts os.Open and embed.FS.Open so that Load and Embedded share
// one code path.
type opener func(name string) (io.ReadCloser, error)

func osOpen(name string) (io.ReadCloser, error) { return os.Open(name) }

func loadPair(open opener, imagesPath, labelsPath string, floats bool) (*Dataset, error) {
	im, err := readFile(open, imagesPath, readImages)
	if err != nil {
		return nil, err
	}
	labels, err := readFile(open, labelsPath, readLabels)
	if err != nil {
		return nil, err
	}
	if im.N != len(labels) {
		return nil, fmt.Errorf("mnist: %s has %d images but %s has %d labels: %w",
			imagesPath, im.N, labelsPath, len(labels), ErrFormat)
	}
	d := &Dataset{
		Labels:   labels,
		N:        im.N,
		Features: im.Rows * im.Cols,
		Classes:  Classes,
		Rows:     im.Rows,
		Cols:     im.Cols,
	}
	if floats {
		d.X = toFloat(im.Pixels)
	} else {
		d.Pixels = im.Pixels
	}
	return d, nil
}

func readFile[T any](open opener, path string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := open(path)
	if err != nil {
		return zero, fmt.Errorf("mnist: %w", err) // *fs.PathError already names the file
	}
	defer f.Close()
	v, err := read(f)
	if err != nil {
		return zero, fmt.Errorf("mnist: %s: %w", path, err)
	}
	return v, nil
}

// toFloat scales bytes to [0,1], float32(b)/255 each (kernels.PixelsToUnit, which the trainer
// also uses to widen a dataset held as bytes, so the two give the same values).
func toFloat(pixels []uint8) []float32 {
	x := make([]float32, len(pixels))
	_ = kernels.PixelsToUnit(x, pixels) // the lengths are equal
	return x
}
