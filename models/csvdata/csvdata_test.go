package csvdata

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readString reads text as a file named test.csv.
func readString(text string, o Options) (*Table, error) {
	return Read(strings.NewReader(text), "test.csv", o)
}

// want is the content a well-formed input must give.
type want struct {
	x            []float32
	labels       []uint8
	featureNames []string
	classNames   []string
}

func (w want) check(t *testing.T, got *Table) {
	t.Helper()
	require.NoError(t, got.Validate())
	assert.Equal(t, w.x, got.X, "X")
	assert.Equal(t, w.labels, got.Labels, "Labels")
	assert.Equal(t, w.featureNames, got.FeatureNames, "FeatureNames")
	assert.Equal(t, w.classNames, got.ClassNames, "ClassNames")
	assert.Equal(t, len(w.labels), got.N, "N")
	assert.Equal(t, len(w.featureNames), got.Features, "Features")
	assert.Equal(t, len(w.classNames), got.Classes, "Classes")
}

func TestReadWellFormedInput(t *testing.T) {
	cases := []struct {
		name string
		text string
		o    Options
		want want
	}{
		{"a first row with a word in a feature column is a header",
			"height,width,kind\n1,2,a\n3,4,b\n", Options{},
			want{[]float32{1, 2, 3, 4}, []uint8{0, 1}, []string{"height", "width"}, []string{"a", "b"}}},
		{"an all-numeric first row is data and features are named by column index",
			"1,2,0\n3,4,1\n", Options{},
			want{[]float32{1, 2, 3, 4}, []uint8{0, 1}, []string{"col0", "col1"}, []string{"0", "1"}}},
		{"a word in the label column alone does not make the first row a header",
			"1,2,yes\n3,4,no\n", Options{},
			want{[]float32{1, 2, 3, 4}, []uint8{1, 0}, []string{"col0", "col1"}, []string{"no", "yes"}}},
		{"one non-numeric feature field is enough to make a header",
			"1,b,y\n3,4,n\n", Options{},
			want{[]float32{3, 4}, []uint8{0}, []string{"1", "b"}, []string{"n"}}},
		{"Header Yes takes an all-numeric first row as names",
			"10,20,30\n1,2,0\n", Options{Header: Yes},
			want{[]float32{1, 2}, []uint8{0}, []string{"10", "20"}, []string{"0"}}},
		{"Header No takes an all-numeric first row as data",
			"1,2,0\n3,4,1\n", Options{Header: No},
			want{[]float32{1, 2, 3, 4}, []uint8{0, 1}, []string{"col0", "col1"}, []string{"0", "1"}}},
		{"a label given by name is found in the header",
			"species,a,b\nx,1,2\ny,3,4\n", Options{Label: "species"},
			want{[]float32{1, 2, 3, 4}, []uint8{0, 1}, []string{"a", "b"}, []string{"x", "y"}}},
		{"a label given by index may be the first column and features keep file order",
			"0,1.5,2.5\n1,3.5,4.5\n", Options{Label: "0"},
			want{[]float32{1.5, 2.5, 3.5, 4.5}, []uint8{0, 1}, []string{"col1", "col2"}, []string{"0", "1"}}},
		{"a label in the middle column leaves the columns either side as features",
			"a,y,b\n1,cat,2\n3,dog,4\n", Options{Label: "1"},
			want{[]float32{1, 2, 3, 4}, []uint8{0, 1}, []string{"a", "b"}, []string{"cat", "dog"}}},
		{"a decimal label is an index even when a column has that name",
			"2,1,0\n5,6,x\n", Options{Label: "2", Header: Yes},
			want{[]float32{5, 6}, []uint8{0}, []string{"2", "1"}, []string{"x"}}},
		{"an empty header field is named after its column index",
			",a,label\n1,2,p\n", Options{},
			want{[]float32{1, 2}, []uint8{0}, []string{"col0", "a"}, []string{"p"}}},
		{"a UTF-8 byte order mark before the header is dropped",
			"\ufeffa,b,c\n1,2,z\n", Options{},
			want{[]float32{1, 2}, []uint8{0}, []string{"a", "b"}, []string{"z"}}},
		{"a UTF-8 byte order mark before data is dropped",
			"\ufeff1,2,3\n", Options{},
			want{[]float32{1, 2}, []uint8{0}, []string{"col0", "col1"}, []string{"3"}}},
		{"quoted fields may hold the separator, quotes and newlines",
			"\"a,1\",b,c\n\"1\",2,\"x, \"\"y\"\"\nz\"\n", Options{},
			want{[]float32{1, 2}, []uint8{0}, []string{"a,1", "b"}, []string{"x, \"y\"\nz"}}},
		{"semicolons separate fields when Comma is ';' and commas are then text",
			"a;b;c\n1.5;2;x,y\n", Options{Comma: ';'},
			want{[]float32{1.5, 2}, []uint8{0}, []string{"a", "b"}, []string{"x,y"}}},
		{"tabs separate fields when Comma is '\\t'",
			"a\tb\tc\n1\t2\tx\n", Options{Comma: '\t'},
			want{[]float32{1, 2}, []uint8{0}, []string{"a", "b"}, []string{"x"}}},
		{"spaces around values and names are ignored",
			" a , b ,c\n 1 , 2 , x \n", Options{Label: "c"},
			want{[]float32{1, 2}, []uint8{0}, []string{"a", "b"}, []string{"x"}}},
		{"blank lines and CRLF line endings are accepted",
			"a,b,c\r\n\r\n1,2,x\r\n\r\n3,4,y\r\n", Options{},
			want{[]float32{1, 2, 3, 4}, []uint8{0, 1}, []string{"a", "b"}, []string{"x", "y"}}},
		{"a last line without a newline is read",
			"a,b,c\n1,2,x", Options{},
			want{[]float32{1, 2}, []uint8{0}, []string{"a", "b"}, []string{"x"}}},
		{"exponents, signs and hexadecimal floats are numbers",
			"1e3,-2.5E-1,+0x1p-2,c\n", Options{},
			want{[]float32{1000, -0.25, 0.25}, []uint8{0}, []string{"col0", "col1", "col2"}, []string{"c"}}},
		{"a file of exactly MaxRows rows is accepted",
			"1,a\n2,b\n3,c\n", Options{MaxRows: 3},
			want{[]float32{1, 2, 3}, []uint8{0, 1, 2}, []string{"col0"}, []string{"a", "b", "c"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readString(tc.text, tc.o)
			require.NoError(t, err)
			tc.want.check(t, got)
		})
	}
}

func TestReadOrdersClasses(t *testing.T) {
	cases := []struct {
		name   string
		labels []string
		want   []string
	}{
		{"string labels sort lexicographically by bytes",
			[]string{"versicolor", "setosa", "virginica", "Setosa"}, []string{"Setosa", "setosa", "versicolor", "virginica"}},
		{"integer labels sort numerically, so 10 comes after 9",
			[]string{"10", "9", "2", "0"}, []string{"0", "2", "9", "10"}},
		{"negative and fractional labels sort numerically",
			[]string{"1.5", "-3", "0.25", "-0.5"}, []string{"-3", "-0.5", "0.25", "1.5"}},
		{"one non-numeric label makes the order lexicographic",
			[]string{"10", "9", "x"}, []string{"10", "9", "x"}},
		{"a non-finite label counts as text",
			[]string{"10", "9", "NaN"}, []string{"10", "9", "NaN"}},
		{"repeated labels are one class",
			[]string{"b", "a", "b", "b", "a"}, []string{"a", "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			for i, l := range tc.labels {
				fmt.Fprintf(&b, "%d,%s\n", i, l)
			}
			got, err := readString(b.String(), Options{})
			require.NoError(t, err)
			require.NoError(t, got.Validate())
			assert.Equal(t, tc.want, got.ClassNames)
			for i, l := range got.Labels {
				assert.Equal(t, tc.labels[i], got.ClassNames[l], "row %d", i)
			}
		})
	}
}

// rowsOf returns a CSV body of n rows "i,i,class".
func rowsOf(n int, class func(i int) string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%d,%d,%s\n", i, i, class(i))
	}
	return b.String()
}

func TestReadRejectsMalformedInput(t *testing.T) {
	manyNames := "c0,c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13,c14,c15,c16,c17,c18,c19,c20,c21,c22,label\n" +
		strings.Repeat("1,", 23) + "x\n"
	cases := []struct {
		name string
		text string
		o    Options
		want []string
	}{
		{"an empty file is reported as empty", "", Options{},
			[]string{"empty file"}},
		{"a file of blank lines is reported as empty", "\n\n\r\n", Options{},
			[]string{"empty file"}},
		{"a header with no rows after it is reported", "a,b,c\n", Options{},
			[]string{"line 1 is a header, and no data rows follow it"}},
		{"a header after blank lines is reported on its own line", "\n\na,b,c\n", Options{},
			[]string{"line 3 is a header"}},
		{"a short row names its line and both field counts", "a,b,c\n1,2,x\n3,4\n", Options{},
			[]string{"line 3 has 2 fields, want 3 as on line 1"}},
		{"a long row names its line and both field counts", "1,2,x\n3,4,y,5\n", Options{},
			[]string{"line 2 has 4 fields, want 3 as on line 1"}},
		{"a word in a feature column names the line, column, name and value", "a,b,c\n1,2,x\n3,four,y\n", Options{},
			[]string{"line 3, column 1 (\"b\"): value \"four\" is not a number"}},
		{"a word in a feature column without a header names the column index", "1,2,x\n3,four,y\n", Options{},
			[]string{"line 2, column 1: value \"four\" is not a number"}},
		{"Header No makes a header row a bad data row", "a,b,c\n1,2,x\n", Options{Header: No},
			[]string{"line 1, column 0: value \"a\" is not a number"}},
		{"an empty feature value is not a number", "a,b,c\n1,,x\n", Options{},
			[]string{"line 2, column 1 (\"b\"): value \"\" is not a number"}},
		{"NaN is refused with its line and column", "a,b,c\n1,2,x\nNaN,2,x\n", Options{},
			[]string{"line 3, column 0 (\"a\"): value \"NaN\" is not finite"}},
		{"an infinite value is refused", "a,b,c\n1,-Inf,x\n", Options{},
			[]string{"line 2, column 1 (\"b\"): value \"-Inf\" is not finite"}},
		{"a value too large for float32 is refused", "a,b,c\n1e39,1,x\n", Options{},
			[]string{"line 2, column 0 (\"a\"): value \"1e39\" is out of float32 range"}},
		{"a NaN in an all-numeric first row is bad data, not a header", "NaN,1,0\n", Options{},
			[]string{"line 1, column 0: value \"NaN\" is not finite"}},
		{"a long bad value is quoted only in part", "a,b\n" + strings.Repeat("z", 1000) + ",x\n", Options{},
			[]string{"value \"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\"... (1000 bytes) is not a number"}},
		{"a bad value inside a multi-line row names the value's own line", "a,b,c\n\"1\n\",bad,x\n", Options{},
			[]string{"line 3, column 1 (\"b\"): value \"bad\" is not a number"}},
		{"a label name that is not in the header lists the columns", "a,b,species\n1,2,x\n", Options{Label: "Species"},
			[]string{"no label column \"Species\" in the header on line 1; the columns are \"a\", \"b\", \"species\""}},
		{"a long list of columns is cut short", manyNames, Options{Label: "y"},
			[]string{"\"c18\", \"c19\" and 4 more"}},
		{"a label name that appears twice is ambiguous", "y,a,y\n1,2,x\n", Options{Label: "y"},
			[]string{"label column \"y\" is ambiguous", "indices [0 2]"}},
		{"a label index past the last column names the field count", "a,b,c\n1,2,x\n", Options{Label: "3"},
			[]string{"label column index 3 is out of range: line 1 has 3 fields, indexed 0 to 2"}},
		{"a label name with an all-numeric first row says there is no header", "1,2,3\n", Options{Label: "y"},
			[]string{"label column \"y\" is given by name, but line 1 is data"}},
		{"a file with a single column has no features", "label\nx\n", Options{},
			[]string{"line 1 has 1 field; want at least one feature column"}},
		{"an empty label is refused", "a,b,c\n1,2,\n", Options{},
			[]string{"line 2, column 2 (\"c\"): empty label"}},
		{"two spellings of one numeric label are refused", "1,1\n2,1.0\n", Options{},
			[]string{"column 1: labels \"1\" and \"1.0\" are the same number"}},
		{"a 257th distinct label names the count and the limit", rowsOf(300, func(i int) string { return fmt.Sprint("c", i) }), Options{},
			[]string{"line 257, column 2: label \"c256\" is the 257th distinct value; at most 256 classes"}},
		{"one row more than MaxRows is refused at that row", rowsOf(5, func(int) string { return "a" }), Options{MaxRows: 4},
			[]string{"line 5: more than 4 data rows"}},
		{"a bare quote is a parse error naming line and column", "a,b,c\n1,2\"3,x\n", Options{},
			[]string{"parse error on line 2, column 4: bare \" in non-quoted-field"}},
		{"an unterminated quote is a parse error", "a,b,c\n1,2,\"x\n", Options{},
			[]string{"extraneous or missing \" in quoted-field"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readString(tc.text, tc.o)
			require.Error(t, err)
			assert.Nil(t, got)
			assert.ErrorIs(t, err, ErrFormat)
			assert.NotErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), "csvdata: test.csv: ")
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestReadRejectsInvalidOptions(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"a separator other than comma, semicolon or tab is refused", Options{Comma: '|'}, "Comma '|'"},
		{"a header mode out of range is refused", Options{Header: 7}, "Header HeaderMode(7)"},
		{"a negative row limit is refused", Options{MaxRows: -1}, "MaxRows -1 is negative"},
		{"a negative label index is refused", Options{Label: "-1"}, "label column index -1 is negative"},
		{"a label index too large for int is refused", Options{Label: "99999999999999999999"}, "is too large"},
		{"a label name with Header No is refused", Options{Label: "y", Header: No}, "Header is No"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readString("a,b,c\n1,2,x\n", tc.o)
			assert.ErrorIs(t, err, ErrInvalid)
			assert.NotErrorIs(t, err, ErrFormat)
			assert.ErrorContains(t, err, tc.want)

			_, err = Load("testdata/iris.csv", tc.o)
			assert.ErrorIs(t, err, ErrInvalid, "Load checks the options too")
		})
	}
}

// A failing reader is an I/O problem, not a bad file: the caller's error
// must come back without ErrFormat.
func TestReadPassesReaderErrorsThrough(t *testing.T) {
	errDisk := errors.New("disk on fire")
	text := "a,b,c\n1,2,x\n3,4,y\n"
	for _, cut := range []int{0, 2, 7, len(text)} {
		t.Run(fmt.Sprintf("a reader failing after %d bytes returns its error", cut), func(t *testing.T) {
			r := io.MultiReader(strings.NewReader(text[:cut]), iotest.ErrReader(errDisk))
			_, err := Read(r, "test.csv", Options{})
			assert.ErrorIs(t, err, errDisk)
			assert.NotErrorIs(t, err, ErrFormat)
			assert.ErrorContains(t, err, "csvdata: test.csv: ")
		})
	}
	t.Run("a reader returning one byte at a time gives the same table", func(t *testing.T) {
		got, err := Read(iotest.OneByteReader(strings.NewReader(text)), "test.csv", Options{})
		require.NoError(t, err)
		want{[]float32{1, 2, 3, 4}, []uint8{0, 1}, []string{"a", "b"}, []string{"x", "y"}}.check(t, got)
	})
}

// endlessRows is a reader that never ends, counting what it serves.
type endlessRows struct{ served int }

func (e *endlessRows) Read(p []byte) (int, error) {
	const row = "1.5,2.5,a\n"
	n := 0
	for n+len(row) <= len(p) {
		n += copy(p[n:], row)
	}
	if n == 0 {
		n = copy(p, row[:len(p)])
	}
	e.served += n
	return n, nil
}

func TestReadStopsAtMaxRows(t *testing.T) {
	t.Run("an endless file is refused once the row count passes the limit", func(t *testing.T) {
		r := &endlessRows{}
		_, err := Read(r, "endless.csv", Options{MaxRows: 1000})
		require.ErrorIs(t, err, ErrFormat)
		assert.ErrorContains(t, err, "line 1001: more than 1000 data rows")
		// Reading stops at the limit, give or take the read-ahead buffers.
		assert.Less(t, r.served, 1001*10+64<<10, "bytes read")
	})
}

func TestLoad(t *testing.T) {
	t.Run("the Iris sample loads with its header, label and classes", func(t *testing.T) {
		tab, err := Load("testdata/iris.csv", Options{Label: "species"})
		require.NoError(t, err)
		require.NoError(t, tab.Validate())
		assert.Equal(t, 150, tab.N)
		assert.Equal(t, []string{"sepal_length", "sepal_width", "petal_length", "petal_width"}, tab.FeatureNames)
		assert.Equal(t, []string{"setosa", "versicolor", "virginica"}, tab.ClassNames)
		assert.Equal(t, []float32{5.1, 3.5, 1.4, 0.2}, tab.X[:4])
		var counts [3]int
		for _, l := range tab.Labels {
			counts[l]++
		}
		assert.Equal(t, [3]int{50, 50, 50}, counts)
	})
	t.Run("a missing file is fs.ErrNotExist, not a format error", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope.csv"), Options{})
		assert.ErrorIs(t, err, fs.ErrNotExist)
		assert.NotErrorIs(t, err, ErrFormat)
		assert.ErrorContains(t, err, "nope.csv")
	})
	t.Run("a format error names the path", func(t *testing.T) {
		_, err := Load("testdata/iris.csv", Options{Label: "Species"})
		assert.ErrorIs(t, err, ErrFormat)
		assert.ErrorContains(t, err, "csvdata: testdata/iris.csv: no label column \"Species\"")
	})
}

// BenchmarkRead reads 10,000 rows of 8 random features and a string label.
func BenchmarkRead(b *testing.B) {
	tab := randomTable(5, 10_000, 8, 5)
	var buf strings.Builder
	buf.WriteString("fa,fb,fc,fd,fe,ff,fg,fh,label\n")
	for i := range tab.N {
		for j := range 8 {
			fmt.Fprintf(&buf, "%g,", tab.X[i*8+j])
		}
		buf.WriteString(tab.ClassNames[tab.Labels[i]] + "\n")
	}
	text := buf.String()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := readString(text, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(tab.N)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
