package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/models/csvdata"
	"github.com/gotrain/gotrain/models/mnist"
)

// dataset is a loaded training set and the set evaluated after each epoch (a validation split,
// the MNIST test set, or nothing), with how it was prepared.
type dataset struct {
	train, eval *train.Dataset
	evalName    string // "validation", "test" or ""
	source      string
	classes     []string
	// info is the preprocessing, saved in checkpoints so that eval applies the same.
	info *train.DataInfo
}

// binaryLoss says whether a loss takes one output (0 or 1) rather than one per class.
func binaryLoss(loss string) bool { return loss == "bce-logits" || loss == "bce" }

// loadData reads the training data the options name, checks that it can train a classifier,
// splits off a validation set when asked, and records its preprocessing.
func loadData(o *options) (*dataset, error) {
	if o.csv != "" {
		return loadCSV(o)
	}
	var tr, te *mnist.Dataset
	var err error
	ds := &dataset{}
	if o.data == "" {
		tr, te, err = mnist.EmbeddedPixels()
		ds.source = "built-in MNIST subset"
	} else {
		if err := isDir("-data", o.data, "the MNIST files"); err != nil {
			return nil, err
		}
		tr, te, err = mnist.LoadDirPixels(o.data)
		ds.source = "MNIST from " + o.data
	}
	if err != nil {
		return nil, fmt.Errorf("-data: %w", err)
	}
	for i := 0; i < mnist.Classes; i++ {
		ds.classes = append(ds.classes, strconv.Itoa(i))
	}
	ds.info = &train.DataInfo{Version: train.DataInfoVersion, Source: "mnist", Classes: ds.classes}
	if binaryLoss(o.loss) {
		return nil, fmt.Errorf("-loss %s is for two classes; MNIST has %d (use softmax-ce)", o.loss, mnist.Classes)
	}
	if err := checkDataMemory(ds.source, tr.N+te.N, tr.Features, mnist.Classes); err != nil {
		return nil, err
	}
	if err := checkTrainingLabels(ds.source+" training set", tr.Labels, ds.classes); err != nil {
		return nil, err
	}
	if ds.train, err = train.ClassificationPixels(tr.Pixels, tr.Labels, tr.Features, tr.Classes); err != nil {
		return nil, err
	}
	ds.train.Shape = []int{1, tr.Rows, tr.Cols}
	if te.N > 0 {
		if ds.eval, err = train.ClassificationPixels(te.Pixels, te.Labels, te.Features, te.Classes); err != nil {
			return nil, err
		}
		ds.eval.Shape = []int{1, te.Rows, te.Cols}
		ds.evalName = "test"
	}
	if o.valSplit > 0 {
		var labels []uint8
		if ds.train, ds.eval, labels, err = splitDataset(ds.train, tr.Labels, o.valSplit, o.seed); err != nil {
			return nil, err
		}
		ds.evalName = "validation"
		if err := checkTrainingLabels(ds.source+" training split", labels, ds.classes); err != nil {
			return nil, err
		}
	}
	if ds.eval == nil {
		return nil, fmt.Errorf("-data %s: the test set is empty; give -val-split to evaluate on part of the training set", o.data)
	}
	return ds, nil
}

// isDir checks that path is a directory, naming what it is otherwise; want says what the
// directory should hold.
func isDir(flagName, path, want string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: no such directory", flagName, path)
	case err != nil:
		return fmt.Errorf("%s: %w", flagName, err)
	case !st.IsDir():
		return fmt.Errorf("%s %s: is a file; want a directory holding %s", flagName, path, want)
	}
	return nil
}

// checkDataMemory refuses data whose float32 inputs and one-hot targets would not fit the
// memory limit, before the targets are allocated.
func checkDataMemory(source string, rows, features, outputs int) error {
	return checkLimit(limMemory, fmt.Sprintf("%s (%d rows of %d features and %d outputs)", source, rows, features, outputs),
		4*float64(rows)*float64(features+outputs))
}

// checkTrainingLabels refuses training data a classifier cannot learn from: fewer than two
// rows, or a single class, on which any accuracy reported would be meaningless.
func checkTrainingLabels(what string, labels []uint8, names []string) error {
	if len(labels) < 2 {
		return fmt.Errorf("%s has %d row(s); training needs at least 2", what, len(labels))
	}
	first := labels[0]
	for _, l := range labels[1:] {
		if l != first {
			return nil
		}
	}
	name := strconv.Itoa(int(first))
	if int(first) < len(names) {
		name = names[first]
	}
	return fmt.Errorf("%s: every one of its %d rows has the label %q; a classifier needs at least two classes", what, len(labels), name)
}

// readCSV reads a CSV file within the size limit; the file must be regular (a named pipe or
// /dev/zero would otherwise be read without end).
func readCSV(path, label string) (*csvdata.Table, error) {
	f, lim, err := openRegular("-csv", path, limCSV)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := csvdata.Read(&boundedReader{r: f, left: lim, path: path}, path, csvdata.Options{Label: label})
	if err != nil {
		var big *tooBig
		if errors.As(err, &big) {
			return nil, checkLimit(limCSV, "-csv "+path, float64(lim)+1)
		}
		return nil, fmt.Errorf("-csv: %w", err)
	}
	return t, nil
}

// boundedReader fails, rather than ending early, when a file grows past the limit while it is
// read: io.LimitReader would quietly drop the rows beyond it.
type boundedReader struct {
	r    io.Reader
	left int64
	path string
}

type tooBig struct{}

func (*tooBig) Error() string { return "the file grew past the size limit while it was read" }

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, &tooBig{}
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, &tooBig{}
	}
	return n, err
}

func loadCSV(o *options) (*dataset, error) {
	t, err := readCSV(o.csv, o.label)
	if err != nil {
		return nil, err
	}
	ds := &dataset{source: fmt.Sprintf("CSV %s (%d rows, %d features, %d classes)", o.csv, t.N, t.Features, t.Classes), classes: t.ClassNames}
	classes := t.Classes
	if binaryLoss(o.loss) {
		if t.Classes != 2 {
			return nil, fmt.Errorf("-loss %s is for two classes; -csv %s has %d (%s)", o.loss, o.csv, t.Classes, strings.Join(t.ClassNames, ", "))
		}
		classes = 1
	}
	if err := checkDataMemory("-csv "+o.csv, t.N, t.Features, classes); err != nil {
		return nil, err
	}
	var trT, valT *csvdata.Table = t, nil
	if o.valSplit > 0 {
		if t.N < 3 {
			return nil, fmt.Errorf("-val-split %v: -csv %s has %d rows; a validation split needs at least 3 (2 to train on)", o.valSplit, o.csv, t.N)
		}
		if trT, valT, err = t.Split(o.valSplit, o.seed); err != nil {
			return nil, fmt.Errorf("-val-split: %w", err)
		}
		if valT.N == 0 {
			return nil, fmt.Errorf("-val-split %v: the validation split of -csv %s would be empty", o.valSplit, o.csv)
		}
	}
	what := "-csv " + o.csv
	if valT != nil {
		what += " without its validation split"
	}
	if err := checkTrainingLabels(what, trT.Labels, t.ClassNames); err != nil {
		return nil, err
	}
	// Standardise on the training rows only, then apply the same statistics to validation.
	mean, std := trT.Standardize()
	ds.info = &train.DataInfo{Version: train.DataInfoVersion, Source: "csv", Label: o.label, Features: t.FeatureNames,
		Mean: mean, Std: std, Classes: t.ClassNames}
	if ds.train, err = train.Classification(trT.X, trT.Labels, trT.Features, classes); err != nil {
		return nil, fmt.Errorf("-csv: %w", err)
	}
	if valT != nil {
		if err := valT.ApplyStandardize(mean, std); err != nil {
			return nil, fmt.Errorf("-csv %s: the validation split: %w", o.csv, err)
		}
		if ds.eval, err = train.Classification(valT.X, valT.Labels, valT.Features, classes); err != nil {
			return nil, fmt.Errorf("-csv: %w", err)
		}
		ds.evalName = "validation"
	}
	return ds, nil
}

// takeRows copies rows idx (of width w) of src into a new slice, in that order.
func takeRows[T any](src []T, idx []int, w int) []T {
	out := make([]T, 0, len(idx)*w)
	for _, i := range idx {
		out = append(out, src[i*w:(i+1)*w]...)
	}
	return out
}

// splitDataset holds out a seeded random fraction of d (copying rows, so the result owns them),
// and returns the training part's labels.
func splitDataset(d *train.Dataset, labels []uint8, frac float64, seed uint64) (*train.Dataset, *train.Dataset, []uint8, error) {
	perm := rand.New(rand.NewPCG(seed, 0x51a7)).Perm(d.N)
	nVal := max(1, int(frac*float64(d.N)))
	if d.N-nVal < 2 {
		return nil, nil, nil, fmt.Errorf("-val-split %v: holding out %d of %d rows leaves %d to train on; training needs at least 2", frac, nVal, d.N, d.N-nVal)
	}
	take := func(idx []int) *train.Dataset {
		out := &train.Dataset{N: len(idx), Features: d.Features, Outputs: d.Outputs, Shape: d.Shape,
			Y: takeRows(d.Y, idx, d.Outputs)}
		if d.Pixels != nil {
			out.Pixels = takeRows(d.Pixels, idx, d.Features)
		} else {
			out.X = takeRows(d.X, idx, d.Features)
		}
		return out
	}
	trainLabels := make([]uint8, 0, d.N-nVal)
	for _, i := range perm[nVal:] {
		trainLabels = append(trainLabels, labels[i])
	}
	return take(perm[nVal:]), take(perm[:nVal]), trainLabels, nil
}

// checkFits says, before training, whether the model's input and outputs fit the data.
func checkFits(s *setup, ds *dataset) error {
	return modelFits("-model", s.model, ds.train, ds.source, len(ds.classes))
}

// modelFits says whether examples of set (from source, with classes classes) go into m: the
// input shape (a model of images needs examples of that shape) and the output width.
func modelFits(flagName string, m models.Model, set *train.Dataset, source string, classes int) error {
	in := m.InputShape()
	switch n := prodInts(in); {
	case len(in) == 1 && n != set.Features:
		return fmt.Errorf("%s %v: the input width %d does not match the data's %d features (%s)", flagName, m, n, set.Features, source)
	case len(in) > 1 && (n != set.Features || set.Shape == nil || !slices.Equal(in, set.Shape)):
		what := fmt.Sprintf("rows of %d features with no image shape", set.Features)
		if set.Shape != nil {
			what = fmt.Sprintf("examples of shape %s (%d values)", shapeText(set.Shape), set.Features)
		}
		return fmt.Errorf("%s %v: the model takes images of shape %s (%d values), the data (%s) has %s", flagName, m, shapeText(in), n, source, what)
	case m.Outputs() != set.Outputs:
		what := fmt.Sprintf("%d classes", classes)
		if set.Outputs == 1 {
			what = "1 output (two classes under " + m.LossKind().String() + ")"
		}
		return fmt.Errorf("%s %v: the output width %d does not match the data's %s (%s)", flagName, m, m.Outputs(), what, source)
	}
	if err := train.Fits(set, m); err != nil { // what the trainer will check: kept in step with it
		return fmt.Errorf("%s: %w (%s)", flagName, err, source)
	}
	return nil
}

func prodInts(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// shapeText writes a shape as the -model grammar does: 784, or 1x28x28.
func shapeText(s []int) string {
	p := make([]string, len(s))
	for i, d := range s {
		p[i] = strconv.Itoa(d)
	}
	return strings.Join(p, "x")
}

// sameData says how the data of a resumed run differs from the data it was trained on.
func sameData(old, now *train.DataInfo) error {
	if old == nil || now == nil {
		return nil // a checkpoint from before the data section: nothing to compare
	}
	differ := func(what string, a, b any) error {
		return fmt.Errorf("the data is not the data the run was trained on: %s was %v, is now %v", what, a, b)
	}
	switch {
	case old.Source != now.Source:
		return differ("the source", old.Source, now.Source)
	case !slices.Equal(old.Classes, now.Classes):
		return differ("the classes", old.Classes, now.Classes)
	case !slices.Equal(old.Features, now.Features):
		return differ("the features", old.Features, now.Features)
	}
	for j := range old.Mean {
		if j >= len(now.Mean) || math.Float32bits(old.Mean[j]) != math.Float32bits(now.Mean[j]) || math.Float32bits(old.Std[j]) != math.Float32bits(now.Std[j]) {
			return differ(fmt.Sprintf("feature %d's mean and std", j), fmt.Sprint(old.Mean[j], old.Std[j]), fmt.Sprint(now.Mean[min(j, len(now.Mean)-1)], now.Std[min(j, len(now.Std)-1)]))
		}
	}
	return nil
}

// evalData reads the data a checkpoint is evaluated on and prepares it as its training data
// was: the same standardisation and the same class numbering, so a file that lacks a class
// evaluates, and a label the model never saw is an error naming it.
type evalData struct {
	set     *train.Dataset
	name    string // the split
	source  string
	classes []string
}

func loadEvalData(dataDir, csvPath, label, split string, info *train.DataInfo, outputs int, ckpt string) (*evalData, error) {
	trainedOn := "MNIST"
	if info != nil && info.Source == "csv" {
		trainedOn = "a CSV file"
	}
	if csvPath == "" {
		if info != nil && info.Source == "csv" {
			return nil, fmt.Errorf("-checkpoint %s was trained on a CSV file (features %s); evaluate it with -csv FILE", ckpt, strings.Join(info.Features, ", "))
		}
		var tr, te *mnist.Dataset
		var err error
		ed := &evalData{source: "built-in MNIST subset"}
		if dataDir == "" {
			tr, te, err = mnist.EmbeddedPixels()
		} else {
			if err := isDir("-data", dataDir, "the MNIST files"); err != nil {
				return nil, err
			}
			tr, te, err = mnist.LoadDirPixels(dataDir)
			ed.source = "MNIST from " + dataDir
		}
		if err != nil {
			return nil, fmt.Errorf("-data: %w", err)
		}
		for i := 0; i < mnist.Classes; i++ {
			ed.classes = append(ed.classes, strconv.Itoa(i))
		}
		d, name := te, "test"
		if split == "train" {
			d, name = tr, "train"
		}
		if d.N == 0 {
			return nil, fmt.Errorf("-data: the %s split of %s is empty", name, ed.source)
		}
		if err := checkDataMemory(ed.source, d.N, d.Features, mnist.Classes); err != nil {
			return nil, err
		}
		if ed.set, err = train.ClassificationPixels(d.Pixels, d.Labels, d.Features, d.Classes); err != nil {
			return nil, err
		}
		ed.set.Shape = []int{1, d.Rows, d.Cols}
		ed.name = name
		return ed, nil
	}
	switch {
	case info == nil:
		return nil, fmt.Errorf("-checkpoint %s predates the data section: it does not say how its training data was standardised or numbered, so it cannot be evaluated on a CSV file; train it again", ckpt)
	case info.Source != "csv":
		return nil, fmt.Errorf("-checkpoint %s was trained on %s, not on a CSV file; evaluate it without -csv", ckpt, trainedOn)
	}
	if label == "" {
		label = info.Label
	}
	t, err := readCSV(csvPath, label)
	if err != nil {
		return nil, err
	}
	if len(info.Features) > 0 && t.Features != len(info.Features) {
		return nil, fmt.Errorf("-csv %s has %d features (%s); the checkpoint's model was trained on %d (%s)", csvPath, t.Features,
			strings.Join(t.FeatureNames, ", "), len(info.Features), strings.Join(info.Features, ", "))
	}
	if named(info.Features) && named(t.FeatureNames) && !slices.Equal(info.Features, t.FeatureNames) {
		return nil, fmt.Errorf("-csv %s has the features %s; the model was trained on %s, in that order", csvPath,
			strings.Join(t.FeatureNames, ", "), strings.Join(info.Features, ", "))
	}
	index := make(map[string]uint8, len(info.Classes))
	numeric := make(map[float64]uint8, len(info.Classes)) // numeric labels match by value: "1" is "1.0"
	for i, c := range info.Classes {
		index[c] = uint8(i)
		if v, err := strconv.ParseFloat(c, 64); err == nil && numeric != nil {
			numeric[v] = uint8(i)
		} else {
			numeric = nil
		}
	}
	remap := make([]uint8, len(t.ClassNames))
	for i, c := range t.ClassNames {
		j, ok := index[c]
		if v, err := strconv.ParseFloat(c, 64); !ok && err == nil && numeric != nil {
			j, ok = numeric[v]
		}
		if !ok {
			return nil, fmt.Errorf("-csv %s: label %q was not seen in training; the model knows %s", csvPath, c, strings.Join(quoteAll(info.Classes), ", "))
		}
		remap[i] = j
	}
	for i, l := range t.Labels {
		t.Labels[i] = remap[l]
	}
	t.Classes, t.ClassNames = len(info.Classes), info.Classes
	if len(info.Mean) > 0 {
		if err := t.ApplyStandardize(info.Mean, info.Std); err != nil {
			return nil, fmt.Errorf("-csv %s: standardising with the training statistics: %w", csvPath, err)
		}
	}
	if err := checkDataMemory("-csv "+csvPath, t.N, t.Features, outputs); err != nil {
		return nil, err
	}
	classes := len(info.Classes)
	if outputs == 1 {
		classes = 1
	}
	set, err := train.Classification(t.X, t.Labels, t.Features, classes)
	if err != nil {
		return nil, fmt.Errorf("-csv %s: %w", csvPath, err)
	}
	return &evalData{set: set, source: fmt.Sprintf("CSV %s, all %d rows", csvPath, t.N), classes: info.Classes}, nil
}

// named says whether feature names came from a header, not made up as col0, col1, ...
func named(names []string) bool {
	for _, n := range names {
		digits, ok := strings.CutPrefix(n, "col")
		if _, err := strconv.Atoi(digits); !ok || err != nil {
			return true
		}
	}
	return false
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}
