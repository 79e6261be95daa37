package mnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"go/build"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// header encodes big-endian IDX header words, so malformed headers can be
// written as plainly as valid ones.
func header(words ...uint32) []byte {
	b := make([]byte, 4*len(words))
	for i, w := range words {
		binary.BigEndian.PutUint32(b[4*i:], w)
	}
	return b
}

// encodeImages is the writer half of the round trip: an IDX3 image file.
func encodeImages(im *Images) []byte {
	return append(header(imagesMagic, uint32(im.N), uint32(im.Rows), uint32(im.Cols)), im.Pixels...)
}

// encodeLabels writes an IDX1 label file.
func encodeLabels(labels []uint8) []byte {
	return append(header(labelsMagic, uint32(len(labels))), labels...)
}

// gz compresses b as a single gzip member, as the distributed files are.
func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// randomImages draws n images of rows×cols pixels from a seeded source, so
// failures reproduce and no test runs on zeros.
func randomImages(seed uint64, n, rows, cols int) *Images {
	r := rand.New(rand.NewPCG(seed, 1))
	p := make([]uint8, n*rows*cols)
	for i := range p {
		p[i] = uint8(r.UintN(256))
	}
	return &Images{Pixels: p, N: n, Rows: rows, Cols: cols}
}

func randomLabels(seed uint64, n int) []uint8 {
	r := rand.New(rand.NewPCG(seed, 2))
	l := make([]uint8, n)
	for i := range l {
		l[i] = uint8(r.UintN(Classes))
	}
	return l
}

// writeFile writes b to dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// fullMNISTDir returns where the complete MNIST set lives on this machine:
// $MNIST_DIR if set, else GoMNIST's data/ in the module cache. It does not
// run `go mod download`, so tests never touch the network.
func fullMNISTDir() string {
	if d := os.Getenv("MNIST_DIR"); d != "" {
		return d
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := filepath.SplitList(build.Default.GOPATH)
		if len(gopath) == 0 {
			return ""
		}
		cache = filepath.Join(gopath[0], "pkg", "mod")
	}
	return filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data")
}
