package mnist

import (
	"bytes"
	"errors"
	"testing"
)

// The fuzz targets check the contract for untrusted input: no panic, every
// rejection wraps ErrFormat (a bytes.Reader never fails, so no error is I/O),
// and every acceptance is consistent with its header. For raw input they
// also check the round trip: re-encoding what was read gives the input back,
// so the parser cannot silently skip or invent bytes. The seed corpus lives
// in testdata/fuzz and runs in every `go test`.

func FuzzReadImages(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := ReadImages(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		if im.N > MaxItems || im.Rows*im.Cols > MaxImagePixels || len(im.Pixels) != im.N*im.Rows*im.Cols {
			t.Fatalf("accepted inconsistent images: N=%d %d×%d, %d pixels", im.N, im.Rows, im.Cols, len(im.Pixels))
		}
		if !isGzip(data) && !bytes.Equal(encodeImages(im), data) {
			t.Fatalf("re-encoding %d bytes of input gave different bytes", len(data))
		}
	})
}

func FuzzReadLabels(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		labels, err := ReadLabels(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		for i, l := range labels {
			if l >= Classes {
				t.Fatalf("accepted label %d at index %d", l, i)
			}
		}
		if !isGzip(data) && !bytes.Equal(encodeLabels(labels), data) {
			t.Fatalf("re-encoding %d bytes of input gave different bytes", len(data))
		}
	})
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }
