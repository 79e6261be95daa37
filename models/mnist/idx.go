package mnist

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFormat is wrapped by every error that blames the data rather than the
// reader: bad magic, absurd or inconsistent headers, truncation, labels out of
// range, corrupt gzip. Callers test for it with errors.Is to tell a bad file
// from an I/O failure, which is returned unwrapped.
var ErrFormat = errors.New("malformed IDX data")

// Limits on what a header may claim. The files are untrusted, and a header is
// only a promise: we refuse absurd ones before allocating anything, and
// allocate the data incrementally as it arrives, so a short file that claims
// a gigabyte costs only what it actually holds.
const (
	// MaxItems caps the image or label count (full MNIST has 60,000; EMNIST
	// ByClass, the largest IDX set in common use, about 815,000).
	MaxItems = 1 << 24
	// MaxImagePixels caps rows*cols of one image (MNIST: 784).
	MaxImagePixels = 1 << 20
	// MaxImageBytes caps N*rows*cols, the decoded size of an image file, so
	// that a header within the two caps above still cannot ask for 16 TiB.
	MaxImageBytes = 1 << 30
)

// Magic numbers of the IDX format: two zero bytes, the element type (0x08 is
// unsigned byte, the only one MNIST uses) and the number of dimensions.
const (
	imagesMagic = 0x00000803
	labelsMagic = 0x00000801

	imagesHeaderLen = 16 // magic, count, rows, cols
	labelsHeaderLen = 8  // magic, count

	// firstChunk bounds the first allocation for the data, and so what a
	// tiny file with a big header can make us allocate; larger payloads grow
	// by doubling as bytes arrive, which for full MNIST costs about one extra
	// copy of 47 MB (see readPayload).
	firstChunk = 1 << 20
)

// Images is the decoded content of an IDX3 image file: N images of Rows×Cols
// unsigned-byte pixels, kept as bytes (a quarter of float32) until a Dataset
// needs them scaled.
type Images struct {
	Pixels        []uint8 // N*Rows*Cols pixels, image-major then row-major
	N, Rows, Cols int
}

// ReadImages decodes an IDX3 unsigned-byte image file (magic 0x00000803) from
// r. A stream that starts with the gzip magic is gunzipped transparently, so
// the .gz files as distributed need no extra step; byte offsets in errors then
// count decompressed bytes. The stream must end where the header says the data
// ends: trailing bytes are an error, and reading to the end is also what makes
// gzip verify its checksum.
func ReadImages(r io.Reader) (*Images, error) {
	im, err := readImages(r)
	if err != nil {
		return nil, fmt.Errorf("mnist: read images: %w", err)
	}
	return im, nil
}

// ReadLabels decodes an IDX1 unsigned-byte label file (magic 0x00000801) from
// r, with the same gzip detection and end-of-stream check as ReadImages. Every
// label must be below Classes: a label of 10 or more means the file is not
// MNIST (or is corrupt), and would index past the end of a one-hot row later.
func ReadLabels(r io.Reader) ([]uint8, error) {
	labels, err := readLabels(r)
	if err != nil {
		return nil, fmt.Errorf("mnist: read labels: %w", err)
	}
	return labels, nil
}

// readImages is ReadImages without the "mnist: read images" prefix, so Load
// can name the file instead.
func readImages(r io.Reader) (*Images, error) {
	s, err := newStream(r)
	if err != nil {
		return nil, err
	}
	var h [imagesHeaderLen]byte
	if err := s.readHeader(h[:], imagesMagic, "image"); err != nil {
		return nil, err
	}
	n := uint64(binary.BigEndian.Uint32(h[4:]))
	rows := uint64(binary.BigEndian.Uint32(h[8:]))
	cols := uint64(binary.BigEndian.Uint32(h[12:]))
	switch {
	case n > MaxItems:
		return nil, fmt.Errorf("header at byte offset 4 claims %d images, more than the limit %d: %w", n, MaxItems, ErrFormat)
	case rows == 0 || cols == 0:
		return nil, fmt.Errorf("header at byte offset 8 claims %d×%d images; both sides must be at least 1: %w", rows, cols, ErrFormat)
	case rows*cols > MaxImagePixels: // each side < 2^32, so the product fits in uint64
		return nil, fmt.Errorf("header at byte offset 8 claims %d×%d images, more than the limit of %d pixels each: %w", rows, cols, MaxImagePixels, ErrFormat)
	case n*rows*cols > MaxImageBytes: // < 2^24 * 2^20
		return nil, fmt.Errorf("header claims %d images of %d×%d, %d bytes in all, more than the limit %d: %w", n, rows, cols, n*rows*cols, MaxImageBytes, ErrFormat)
	}
	pixels, err := s.readPayload(int(n*rows*cols), "image")
	if err != nil {
		return nil, err
	}
	if err := s.expectEOF(); err != nil {
		return nil, err
	}
	return &Images{Pixels: pixels, N: int(n), Rows: int(rows), Cols: int(cols)}, nil
}

// readLabels is ReadLabels without the prefix; see readImages.
func readLabels(r io.Reader) ([]uint8, error) {
	s, err := newStream(r)
	if err != nil {
		return nil, err
	}
	var h [labelsHeaderLen]byte
	if err := s.readHeader(h[:], labelsMagic, "label"); err != nil {
		return nil, err
	}
	n := uint64(binary.BigEndian.Uint32(h[4:]))
	if n > MaxItems {
		return nil, fmt.Errorf("header at byte offset 4 claims %d labels, more than the limit %d: %w", n, MaxItems, ErrFormat)
	}
	labels, err := s.readPayload(int(n), "label")
	if err != nil {
		return nil, err
	}
	for i, l := range labels {
		if int(l) >= Classes {
			return nil, fmt.Errorf("label %d at index %d (byte offset %d) not in [0,%d): %w", l, i, labelsHeaderLen+i, Classes, ErrFormat)
		}
	}
	if err := s.expectEOF(); err != nil {
		return nil, err
	}
	return labels, nil
}

// checkMagic explains a wrong magic number as specifically as it can, since
// the usual mistakes are swapping the image and label files or passing a file
// that is not IDX at all.
func checkMagic(got, want uint32, kind string) error {
	if got == want {
		return nil
	}
	switch {
	case got == imagesMagic || got == labelsMagic:
		other := map[uint32]string{imagesMagic: "an image", labelsMagic: "a label"}[got]
		return fmt.Errorf("magic 0x%08x marks %s file, want %s file (magic 0x%08x): %w", got, other, kind, want, ErrFormat)
	case got>>16 != 0:
		return fmt.Errorf("bad magic 0x%08x at byte offset 0, want 0x%08x: not an IDX %s file: %w", got, want, kind, ErrFormat)
	case (got>>8)&0xff != 0x08:
		return fmt.Errorf("magic 0x%08x has element type 0x%02x, want unsigned byte (0x08): %w", got, (got>>8)&0xff, ErrFormat)
	default:
		return fmt.Errorf("magic 0x%08x has %d dimensions, want %d for an IDX %s file: %w", got, got&0xff, want&0xff, kind, ErrFormat)
	}
}

// stream reads an IDX file, gunzipped if need be, counting decompressed
// bytes so that errors can give offsets.
type stream struct {
	src *sourceReader // the caller's reader; tells I/O errors from format errors
	r   io.Reader     // src, or a gzip reader on it
	gz  bool
	off int64
}

// sourceReader records the first non-EOF error of the caller's reader. The
// gzip reader reports its own corruption and the underlying reader's failures
// through the same Read; only the latter are I/O errors rather than ErrFormat.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

func newStream(r io.Reader) (*stream, error) {
	src := &sourceReader{r: r}
	br := bufio.NewReaderSize(src, 64<<10)
	magic, err := br.Peek(2)
	if err != nil && src.err != nil {
		return nil, src.err
	}
	s := &stream{src: src, r: br}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, s.wrapErr(fmt.Errorf("gzip header: %w", err))
		}
		s.r, s.gz = zr, true
	}
	return s, nil
}

// wrapErr returns an I/O error of the caller's reader as is, and anything
// else (a gzip complaint) as a format error.
func (s *stream) wrapErr(err error) error {
	if s.src.err != nil {
		return s.src.err
	}
	return fmt.Errorf("%w: %w", err, ErrFormat)
}

// where says which stream the offsets count, since they differ for gzip.
func (s *stream) where() string {
	if s.gz {
		return " (decompressed)"
	}
	return ""
}

// readHeader fills h, checking the magic in its first four bytes before
// reading on: a swapped file is then reported as swapped even when it is
// shorter than the header expected.
func (s *stream) readHeader(h []byte, magic uint32, kind string) error {
	n, err := io.ReadFull(s.r, h[:4])
	if err == nil {
		if err := checkMagic(binary.BigEndian.Uint32(h), magic, kind); err != nil {
			return err
		}
		var m int
		m, err = io.ReadFull(s.r, h[4:])
		n += m
	}
	s.off += int64(n)
	switch {
	case err == nil:
		return nil
	case s.src.err != nil:
		return s.src.err
	case n == 0 && err == io.EOF:
		return fmt.Errorf("empty input: want a %d-byte IDX %s header: %w", len(h), kind, ErrFormat)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return fmt.Errorf("truncated header: want %d bytes of IDX %s header, got %d: %w", len(h), kind, n, ErrFormat)
	default:
		return s.wrapErr(fmt.Errorf("%s header: %w", kind, err))
	}
}

// readPayload reads exactly want bytes. It grows its buffer as data arrives
// rather than trusting the header's size up front; the payload is already
// capped, so the doubling is about not paying for bytes a short file lacks.
func (s *stream) readPayload(want int, kind string) ([]byte, error) {
	start := s.off
	buf := make([]byte, 0, min(want, firstChunk))
	for len(buf) < want {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, min(cap(buf), want-len(buf)))...)[:len(buf)]
		}
		// append may round the capacity up past want; never ask for more.
		n, err := io.ReadFull(s.r, buf[len(buf):min(cap(buf), want)])
		buf = buf[:len(buf)+n]
		s.off += int64(n)
		switch {
		case err == nil:
		case s.src.err != nil:
			return nil, s.src.err
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return nil, fmt.Errorf("truncated: want %d bytes of %s data from byte offset %d%s, got %d: %w: %w",
				want, kind, start, s.where(), len(buf), io.ErrUnexpectedEOF, ErrFormat)
		default:
			return nil, s.wrapErr(fmt.Errorf("%s data at byte offset %d%s: %w", kind, s.off, s.where(), err))
		}
	}
	return buf, nil
}

// expectEOF insists the stream ends here. Extra bytes mean the header and the
// data disagree, and for gzip only reading to the end checks the CRC.
func (s *stream) expectEOF() error {
	var b [1]byte
	n, err := io.ReadFull(s.r, b[:])
	switch {
	case n > 0:
		return fmt.Errorf("unexpected data after the last item at byte offset %d%s: %w", s.off, s.where(), ErrFormat)
	case err == io.EOF:
		return nil
	case s.src.err != nil:
		return s.src.err
	default:
		return s.wrapErr(fmt.Errorf("after byte offset %d%s: %w", s.off, s.where(), err))
	}
}
