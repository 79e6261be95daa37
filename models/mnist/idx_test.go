package mnist

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadImagesRoundTrip(t *testing.T) {
	big := randomImages(3, 5, 1024, 1024) // 5 MiB: past firstChunk, so the buffer must grow
	cases := []struct {
		name string
		im   *Images
		wrap func(io.Reader) io.Reader
	}{
		{"a few MNIST-sized images read back unchanged", randomImages(1, 5, 28, 28), nil},
		{"non-square images keep rows and cols apart", randomImages(2, 3, 2, 7), nil},
		{"a header with zero images gives an empty set", &Images{Pixels: []uint8{}, N: 0, Rows: 28, Cols: 28}, nil},
		{"a reader that returns one byte at a time still gives every image", randomImages(4, 4, 5, 3), iotest.OneByteReader},
		{"a reader that returns half of each request still gives every image", randomImages(5, 4, 28, 28), iotest.HalfReader},
		{"a payload larger than the first allocation grows the buffer", big, nil},
	}
	for _, tc := range cases {
		for _, compressed := range []bool{false, true} {
			name := tc.name + " from a raw stream"
			b := encodeImages(tc.im)
			if compressed {
				name = tc.name + " from a gzip stream"
				b = gz(t, b)
			}
			t.Run(name, func(t *testing.T) {
				var r io.Reader = bytes.NewReader(b)
				if tc.wrap != nil {
					r = tc.wrap(r)
				}
				got, err := ReadImages(r)
				require.NoError(t, err)
				assert.Equal(t, tc.im.N, got.N)
				assert.Equal(t, tc.im.Rows, got.Rows)
				assert.Equal(t, tc.im.Cols, got.Cols)
				assert.True(t, bytes.Equal(tc.im.Pixels, got.Pixels), "pixels differ")
			})
		}
	}
}

func TestReadLabelsRoundTrip(t *testing.T) {
	cases := []struct {
		name   string
		labels []uint8
	}{
		{"every class reads back unchanged", []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"many random labels read back unchanged", randomLabels(1, 10000)},
		{"a header with zero labels gives an empty slice", []uint8{}},
	}
	for _, tc := range cases {
		for _, compressed := range []bool{false, true} {
			name := tc.name + " from a raw stream"
			b := encodeLabels(tc.labels)
			if compressed {
				name = tc.name + " from a gzip stream"
				b = gz(t, b)
			}
			t.Run(name, func(t *testing.T) {
				got, err := ReadLabels(bytes.NewReader(b))
				require.NoError(t, err)
				assert.Equal(t, tc.labels, got)
			})
		}
	}
}

// malformedCase is an input that must be rejected with ErrFormat and a
// message containing each of want.
type malformedCase struct {
	name string
	data []byte
	want []string
}

func TestReadImagesRejectsMalformedInput(t *testing.T) {
	valid := encodeImages(randomImages(7, 3, 2, 2)) // 16-byte header + 12 pixels
	validGz := gz(t, valid)
	badCRC := bytes.Clone(validGz)
	badCRC[len(badCRC)-8] ^= 0xff // first byte of the CRC-32 trailer
	cases := []malformedCase{
		{"an empty file is reported as empty", nil,
			[]string{"empty input", "16-byte IDX image header"}},
		{"a file shorter than the header says how much header it got", valid[:10],
			[]string{"truncated header", "want 16 bytes", "got 10"}},
		{"a file holding only the magic says how much header it got", valid[:4],
			[]string{"truncated header", "want 16 bytes", "got 4"}},
		{"a swapped label file shorter than an image header is reported as swapped", encodeLabels([]uint8{1, 2}),
			[]string{"marks a label file"}},
		{"a file that is not IDX reports the bad magic", append(header(0x12345678, 1, 1, 1), 0),
			[]string{"bad magic 0x12345678", "byte offset 0", "want 0x00000803"}},
		{"a label file passed as images says so", encodeLabels([]uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2}),
			[]string{"marks a label file", "want image file"}},
		{"two dimensions instead of three are reported", append(header(0x00000802, 1, 4), 1, 2, 3, 4),
			[]string{"has 2 dimensions, want 3"}},
		{"a non-byte element type is reported", append(header(0x00000d03, 1, 1, 1), 0, 0, 0, 0),
			[]string{"element type 0x0d", "want unsigned byte"}},
		{"the largest count a header can hold is refused before allocating", header(imagesMagic, 0xffffffff, 28, 28),
			[]string{"claims 4294967295 images", "limit 16777216"}},
		{"a huge image size is refused before allocating", header(imagesMagic, 1, 2000, 2000),
			[]string{"2000×2000", "limit of 1048576 pixels"}},
		{"a zero-sized image is refused", header(imagesMagic, 5, 0, 28),
			[]string{"0×28", "at least 1"}},
		{"counts within each limit but a huge total are refused", header(imagesMagic, MaxItems, 28, 28),
			[]string{"13153337344 bytes in all", "limit 1073741824"}},
		{"truncated pixel data says how much was wanted and got", valid[:21],
			[]string{"truncated: want 12 bytes of image data", "byte offset 16", "got 5"}},
		{"a header with no data at all is truncated data", valid[:16],
			[]string{"truncated: want 12 bytes of image data", "got 0"}},
		{"bytes after the last image are refused", append(bytes.Clone(valid), 0),
			[]string{"unexpected data after the last item", "byte offset 28"}},
		{"a truncated gzip stream is truncated data", validGz[:len(validGz)-10],
			[]string{"(decompressed)"}},
		{"a gzip stream with a bad checksum is refused", badCRC,
			[]string{"gzip: invalid checksum"}},
		{"a bare gzip magic is a bad gzip header", []byte{0x1f, 0x8b},
			[]string{"gzip header"}},
		{"gzip of an empty file is reported as empty", gz(t, nil),
			[]string{"empty input"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			im, err := ReadImages(bytes.NewReader(tc.data))
			require.Error(t, err)
			assert.Nil(t, im)
			assert.ErrorIs(t, err, ErrFormat)
			assert.Contains(t, err.Error(), "mnist: read images: ")
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestReadLabelsRejectsMalformedInput(t *testing.T) {
	valid := encodeLabels([]uint8{3, 1, 4, 1, 5})
	cases := []malformedCase{
		{"an empty file is reported as empty", nil,
			[]string{"empty input", "8-byte IDX label header"}},
		{"a file shorter than the header says how much header it got", valid[:6],
			[]string{"truncated header", "want 8 bytes", "got 6"}},
		{"a file that is not IDX reports the bad magic", []byte("PK\x03\x04 not idx"),
			[]string{"bad magic 0x504b0304", "want 0x00000801"}},
		{"an image file passed as labels says so", encodeImages(randomImages(1, 1, 2, 2)),
			[]string{"marks an image file", "want label file"}},
		{"two dimensions instead of one are reported", append(header(0x00000802, 1, 1), 1),
			[]string{"has 2 dimensions, want 1"}},
		{"the largest count a header can hold is refused before allocating", header(labelsMagic, 0xffffffff),
			[]string{"claims 4294967295 labels", "limit 16777216"}},
		{"truncated label data says how much was wanted and got", valid[:10],
			[]string{"truncated: want 5 bytes of label data", "byte offset 8", "got 2"}},
		{"a label of 10 names its index and offset", encodeLabels([]uint8{0, 9, 10, 1}),
			[]string{"label 10 at index 2", "byte offset 10", "not in [0,10)"}},
		{"a label of 255 names its index", encodeLabels([]uint8{255}),
			[]string{"label 255 at index 0"}},
		{"bytes after the last label are refused", append(bytes.Clone(valid), 7),
			[]string{"unexpected data after the last item", "byte offset 13"}},
		{"a truncated gzip stream is refused", gz(t, valid)[:20],
			nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			labels, err := ReadLabels(bytes.NewReader(tc.data))
			require.Error(t, err)
			assert.Nil(t, labels)
			assert.ErrorIs(t, err, ErrFormat)
			assert.Contains(t, err.Error(), "mnist: read labels: ")
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// A failing reader is an I/O problem, not a bad file: the caller's error must
// come back as is, without ErrFormat, even from under gzip.
func TestReadPassesReaderErrorsThrough(t *testing.T) {
	errDisk := errors.New("disk on fire")
	images := encodeImages(randomImages(1, 4, 28, 28))
	cases := []struct {
		name string
		data []byte
		cut  int
	}{
		{"a reader failing before any byte", images, 0},
		{"a reader failing inside the header", images, 9},
		{"a reader failing inside the pixel data", images, 100},
		{"a reader failing inside a gzip stream", gz(t, images), 40},
	}
	for _, tc := range cases {
		t.Run(tc.name+" returns the reader's error", func(t *testing.T) {
			r := io.MultiReader(bytes.NewReader(tc.data[:tc.cut]), iotest.ErrReader(errDisk))
			_, err := ReadImages(r)
			assert.ErrorIs(t, err, errDisk)
			assert.NotErrorIs(t, err, ErrFormat)
		})
	}
}

// Gzip is detected by its magic, not by whether the bytes look compressed:
// a stored (level 0) member holds the IDX bytes verbatim after a gzip header.
func TestReadImagesDetectsGzipByMagic(t *testing.T) {
	raw := encodeImages(randomImages(9, 2, 3, 3))
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	require.NoError(t, err)
	_, err = zw.Write(raw)
	require.NoError(t, err)
	require.NoError(t, zw.Close())

	t.Run("an uncompressed gzip member is still gunzipped", func(t *testing.T) {
		im, err := ReadImages(bytes.NewReader(buf.Bytes()))
		require.NoError(t, err)
		assert.Equal(t, raw[16:], im.Pixels)
	})
}
