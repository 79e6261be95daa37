package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"go/build"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSubsetIDX(t *testing.T) {
	// 3 items of 2×2, bytes 0..11, plus a header saying so.
	var in bytes.Buffer
	require.NoError(t, binary.Write(&in, binary.BigEndian, []uint32{0x803, 3, 2, 2}))
	in.Write([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})

	t.Run("the first items are copied under a header with the new count", func(t *testing.T) {
		var out bytes.Buffer
		payload, err := subsetIDX(bytes.NewReader(in.Bytes()), &out, 2)
		require.NoError(t, err)
		assert.Equal(t, []byte{0, 1, 2, 3, 4, 5, 6, 7}, payload)
		want := append([]byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2}, payload...)
		assert.Equal(t, want, out.Bytes())
	})
	t.Run("asking for more items than the file has is an error", func(t *testing.T) {
		_, err := subsetIDX(bytes.NewReader(in.Bytes()), io.Discard, 4)
		assert.ErrorContains(t, err, "want 4 items, file has 3")
	})
	t.Run("a non-byte IDX file is an error", func(t *testing.T) {
		_, err := subsetIDX(bytes.NewReader([]byte{0, 0, 0x0d, 1, 0, 0, 0, 0}), io.Discard, 0)
		assert.ErrorContains(t, err, "not an unsigned-byte IDX file")
	})
}

func TestGzipBytesIsDeterministic(t *testing.T) {
	b := bytes.Repeat([]byte("mnist"), 1000)
	z1, err := gzipBytes(b)
	require.NoError(t, err)
	z2, err := gzipBytes(b)
	require.NoError(t, err)
	assert.Equal(t, z1, z2)

	zr, err := gzip.NewReader(bytes.NewReader(z1))
	require.NoError(t, err)
	assert.True(t, zr.ModTime.IsZero(), "no mtime in the header")
	assert.Empty(t, zr.Name, "no file name in the header")
}

// TestEmbeddedIsReproducible regenerates the subset from the module cache
// and checks it matches the committed files byte for byte, so nobody edits
// them by hand or forgets to rerun go generate after changing gen.
func TestEmbeddedIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("regenerating the subset takes seconds; skipped under -short")
	}
	src := moduleCacheSrc()
	if _, err := os.Stat(filepath.Join(src, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("GoMNIST not in the module cache at %s (go mod download %s): %v", src, gomnistModule, err)
	}
	out := t.TempDir()
	require.NoError(t, run(src, out, 10000, 2000, io.Discard))
	for _, name := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		t.Run(name+" matches the committed file", func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(out, name))
			require.NoError(t, err)
			want, err := os.ReadFile(filepath.Join("..", "..", "embedded", name))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, got), "regenerated %s differs from the committed one; run go generate", name)
		})
	}
}

// moduleCacheSrc finds GoMNIST's data without the network, unlike
// defaultSrc, which may download.
func moduleCacheSrc() string {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		cache = filepath.Join(filepath.SplitList(build.Default.GOPATH)[0], "pkg", "mod")
	}
	return filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data")
}
