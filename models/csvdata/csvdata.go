// Package csvdata loads a classification data set from a CSV file: numeric
// feature columns and one label column, into flat float32 rows and uint8
// class indices, ready for training:
//
//	t, err := csvdata.Load("iris.csv", csvdata.Options{Label: "species"})
//	...
//	ds, err := train.Classification(t.X, t.Labels, t.Features, t.Classes)
//
// Files are treated as untrusted input. Every malformed file is an error
// wrapping ErrFormat that names the file and the line, and for a bad value the
// column and the value; no input makes the package panic. Rows are streamed
// and memory grows with the rows actually read, never with a count taken on
// trust, and a file with more than Options.MaxRows rows is refused as soon as
// the count passes the limit.
package csvdata

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ErrFormat is wrapped by every error that blames the data rather than the
// reader or the options: ragged rows, values that are not finite numbers, a
// missing label column, too many classes or rows, broken quoting. Callers
// test for it with errors.Is to tell a bad file from an I/O failure, which is
// returned without it.
var ErrFormat = errors.New("malformed CSV data")

// ErrInvalid is wrapped by errors that blame the caller's arguments: Options
// that make no sense on their own, a split fraction out of range, a table
// whose lengths disagree.
var ErrInvalid = errors.New("csvdata: invalid argument")

// Limits.
const (
	// DefaultMaxRows is the row limit when Options.MaxRows is zero.
	DefaultMaxRows = 10_000_000
	// MaxClasses is the most distinct labels a file may have: Labels are
	// uint8. A label column with more is usually a regression target or an
	// ID, which this package does not load.
	MaxClasses = 256
)

// HeaderMode says whether the first row holds column names.
type HeaderMode uint8

// The header modes.
const (
	// Auto takes the first row as a header when any of its fields outside
	// the label column is not a number. A label given by name needs a header,
	// so then every field of the first row counts.
	Auto HeaderMode = iota
	// Yes: the first row is a header.
	Yes
	// No: the first row is data, and features are named "col0", "col1", ...
	// after their column index in the file.
	No
)

// String returns the mode's name.
func (h HeaderMode) String() string {
	switch h {
	case Auto:
		return "Auto"
	case Yes:
		return "Yes"
	case No:
		return "No"
	}
	return fmt.Sprintf("HeaderMode(%d)", uint8(h))
}

// Options configure Read and Load. The zero value reads a comma-separated
// file, detects the header and takes the last column as the label.
type Options struct {
	// Label is the label column: a header name, or a 0-based column index
	// written in decimal ("4"). A decimal string is always an index, even when
	// a column is named "4"; "" means the last column.
	Label string
	// Header says whether the first row is a header (default Auto).
	Header HeaderMode
	// Comma is the field separator: ',' (the default when zero), ';' or '\t'.
	Comma rune
	// MaxRows is the most data rows a file may have (DefaultMaxRows when
	// zero). It guards against a file far larger than intended: the rows are
	// not preallocated, so a low limit saves memory only by failing early.
	MaxRows int
}

// Table is a labelled data set read from a CSV file. X is one contiguous
// slice rather than [][]float32 so that it can go into a tensor, or into
// train.Classification, without copying.
type Table struct {
	X      []float32 // N×Features feature values, row-major, all finite
	Labels []uint8   // N class indices in [0, Classes), indexing ClassNames

	N, Features, Classes int

	// FeatureNames holds the feature columns' names in file order: from the
	// header, or "col<i>" with i the column's index in the file when there is
	// no header or a header field is empty.
	FeatureNames []string
	// ClassNames holds the distinct label values, sorted: in numeric order
	// when every one is a number (so "2" comes before "10"), else
	// lexicographically by bytes.
	ClassNames []string
}

// Load reads the CSV file at path; see Read. Errors name the path.
func Load(path string, o Options) (*Table, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("csvdata: %w", err) // *fs.PathError already names the file
	}
	defer f.Close()
	return read(f, path, o)
}

// Read reads a CSV table from r. Name is used in errors only (a file name,
// or a description such as "<stdin>").
//
// Every data row must have as many fields as the first row. Features must be
// numbers that are finite as float32 (surrounding spaces are allowed); labels
// may be any non-empty text, and become class indices into ClassNames.
// Quoting follows RFC 4180 (encoding/csv), blank lines are skipped, and a
// leading UTF-8 byte order mark is dropped.
func Read(r io.Reader, name string, o Options) (*Table, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	return read(r, name, o)
}

// check validates the options that can be judged without the file.
func (o Options) check() error {
	switch o.Comma {
	case 0, ',', ';', '\t':
	default:
		return fmt.Errorf("csvdata: Comma %q is not one of ',', ';', '\\t': %w", o.Comma, ErrInvalid)
	}
	if o.Header > No {
		return fmt.Errorf("csvdata: Header %v is not Auto, Yes or No: %w", o.Header, ErrInvalid)
	}
	if o.MaxRows < 0 {
		return fmt.Errorf("csvdata: MaxRows %d is negative: %w", o.MaxRows, ErrInvalid)
	}
	idx, isIndex, err := o.labelIndex()
	switch {
	case err != nil:
		return fmt.Errorf("csvdata: label column index %s is too large: %w", o.Label, ErrInvalid)
	case isIndex && idx < 0:
		return fmt.Errorf("csvdata: label column index %d is negative; leave Label empty for the last column: %w", idx, ErrInvalid)
	case o.Label != "" && !isIndex && o.Header == No:
		return fmt.Errorf("csvdata: label column %q is given by name, but Header is No; give its index: %w", o.Label, ErrInvalid)
	}
	return nil
}

// labelIndex parses Label as a column index; isIndex is false when it is a
// name (or empty).
func (o Options) labelIndex() (idx int, isIndex bool, err error) {
	idx, err = strconv.Atoi(o.Label)
	switch {
	case err == nil:
		return idx, true, nil
	case errors.Is(err, strconv.ErrRange):
		return 0, true, err
	}
	return 0, false, nil
}

// utf8BOM is what Excel and Notepad put before a UTF-8 CSV file.
var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// parser holds the state of one Read.
type parser struct {
	name    string
	maxRows int
	cr      *csv.Reader

	ncols     int      // fields per row, from the first row
	firstLine int      // line of the first row, for ragged-row errors
	label     int      // label column index
	header    []string // trimmed header fields, nil without a header

	n       int
	x       []float32
	labels  []uint8 // provisional: indices into names, in order of first appearance
	classes map[string]uint8
	names   []string
}

func read(r io.Reader, name string, o Options) (*Table, error) {
	br := bufio.NewReader(r)
	switch b, err := br.Peek(len(utf8BOM)); {
	case bytes.Equal(b, utf8BOM):
		_, _ = br.Discard(len(utf8BOM))
	case err != nil && err != io.EOF:
		return nil, fmt.Errorf("csvdata: %s: %w", name, err)
	}
	cr := csv.NewReader(br)
	if o.Comma != 0 {
		cr.Comma = o.Comma
	}
	cr.FieldsPerRecord = -1 // ragged rows get our own message, which names both counts
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	p := &parser{name: name, maxRows: o.MaxRows, cr: cr, classes: make(map[string]uint8)}
	if p.maxRows == 0 {
		p.maxRows = DefaultMaxRows
	}

	rec, err := cr.Read()
	if err == io.EOF {
		return nil, p.errorf("empty file: want a header or a data row")
	}
	if err != nil {
		return nil, p.readErr(err)
	}
	if err := p.first(rec, o); err != nil {
		return nil, err
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, p.readErr(err)
		}
		if err := p.row(rec); err != nil {
			return nil, err
		}
	}
	if p.n == 0 {
		return nil, p.errorf("line %d is a header, and no data rows follow it", p.firstLine)
	}
	return p.table()
}

// first sets up the columns from the first row, and reads it as data unless
// it is a header.
func (p *parser) first(rec []string, o Options) error {
	p.ncols = len(rec)
	p.firstLine, _ = p.cr.FieldPos(0)
	idx, isIndex, _ := o.labelIndex() // o.check has ruled out the errors
	byName := o.Label != "" && !isIndex
	switch {
	case o.Label == "":
		p.label = p.ncols - 1
	case isIndex && idx >= p.ncols:
		return p.errorf("label column index %d is out of range: line %d has %d fields, indexed 0 to %d",
			idx, p.firstLine, p.ncols, p.ncols-1)
	case isIndex:
		p.label = idx
	}
	if p.ncols < 2 {
		return p.errorf("line %d has %d field; want at least one feature column besides the label", p.firstLine, p.ncols)
	}

	var isHeader bool
	switch o.Header {
	case Yes:
		isHeader = true
	case No:
		isHeader = false
	default:
		skip := p.label
		if byName {
			skip = -1
		}
		for i, f := range rec {
			if i != skip && !looksNumeric(f) {
				isHeader = true
				break
			}
		}
	}
	if !isHeader {
		if byName {
			return p.errorf("label column %q is given by name, but line %d is data, not a header (every field is a number); set Header to Yes or give the label's index",
				o.Label, p.firstLine)
		}
		return p.row(rec)
	}

	p.header = make([]string, len(rec))
	for i, f := range rec {
		p.header[i] = strings.Clone(strings.TrimSpace(f)) // rec is reused, and fields pin the whole line
	}
	if byName {
		var found []int
		for i, h := range p.header {
			if h == o.Label {
				found = append(found, i)
			}
		}
		switch len(found) {
		case 0:
			return p.errorf("no label column %q in the header on line %d; the columns are %s",
				o.Label, p.firstLine, quoteList(p.header, 20))
		case 1:
			p.label = found[0]
		default:
			return p.errorf("label column %q is ambiguous: the header on line %d has it at indices %v",
				o.Label, p.firstLine, found)
		}
	}
	return nil
}

// row reads one data row.
func (p *parser) row(rec []string) error {
	line, _ := p.cr.FieldPos(0)
	if len(rec) != p.ncols {
		return p.errorf("line %d has %d fields, want %d as on line %d", line, len(rec), p.ncols, p.firstLine)
	}
	if p.n == p.maxRows {
		return p.errorf("line %d: more than %d data rows (Options.MaxRows)", line, p.maxRows)
	}
	for i, f := range rec {
		if i == p.label {
			continue
		}
		v, problem := parseFeature(f)
		if problem != "" {
			l, _ := p.cr.FieldPos(i)
			return p.errorf("line %d, %s: value %s %s", l, p.column(i), quoteValue(f), problem)
		}
		p.x = append(p.x, v)
	}
	s := strings.TrimSpace(rec[p.label])
	id, ok := p.classes[s]
	if !ok {
		l, _ := p.cr.FieldPos(p.label)
		if s == "" {
			return p.errorf("line %d, %s: empty label", l, p.column(p.label))
		}
		if len(p.names) == MaxClasses {
			return p.errorf("line %d, %s: label %s is the %dth distinct value; at most %d classes are supported",
				l, p.column(p.label), quoteValue(s), MaxClasses+1, MaxClasses)
		}
		id = uint8(len(p.names))
		s = strings.Clone(s)
		p.classes[s] = id
		p.names = append(p.names, s)
	}
	p.labels = append(p.labels, id)
	p.n++
	return nil
}

// table sorts the classes and renumbers the labels to match.
func (p *parser) table() (*Table, error) {
	order, err := p.sortClasses()
	if err != nil {
		return nil, err
	}
	var remap [MaxClasses]uint8
	names := make([]string, len(order))
	for newID, oldID := range order {
		remap[oldID] = uint8(newID)
		names[newID] = p.names[oldID]
	}
	for i, l := range p.labels {
		p.labels[i] = remap[l]
	}
	t := &Table{
		X:            slices.Clip(p.x),
		Labels:       slices.Clip(p.labels),
		N:            p.n,
		Features:     p.ncols - 1,
		Classes:      len(names),
		FeatureNames: make([]string, 0, p.ncols-1),
		ClassNames:   names,
	}
	for i := range p.ncols {
		if i == p.label {
			continue
		}
		name := ""
		if p.header != nil {
			name = p.header[i]
		}
		if name == "" {
			name = "col" + strconv.Itoa(i)
		}
		t.FeatureNames = append(t.FeatureNames, name)
	}
	return t, nil
}

// sortClasses returns the provisional class indices in sorted order. Two
// spellings of one number ("1" and "1.0") would be two classes that sort as
// equals, which is almost certainly a mistake in the file, so it is an error.
func (p *parser) sortClasses() ([]int, error) {
	order := make([]int, len(p.names))
	for i := range order {
		order[i] = i
	}
	values := make([]float64, len(p.names))
	numeric := true
	for i, s := range p.names {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			numeric = false
			break
		}
		values[i] = v
	}
	if !numeric {
		slices.SortFunc(order, func(a, b int) int { return strings.Compare(p.names[a], p.names[b]) })
		return order, nil
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := compareFloat(values[a], values[b]); c != 0 {
			return c
		}
		return strings.Compare(p.names[a], p.names[b])
	})
	for i := 1; i < len(order); i++ {
		a, b := order[i-1], order[i]
		if values[a] == values[b] {
			return nil, p.errorf("%s: labels %s and %s are the same number; write each class one way",
				p.column(p.label), quoteValue(p.names[a]), quoteValue(p.names[b]))
		}
	}
	return order, nil
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseFeature parses a feature value, returning what is wrong with it if
// anything.
func parseFeature(s string) (float32, string) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, "is out of float32 range"
	case err != nil:
		return 0, "is not a number"
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, "is not finite"
	}
	return float32(v), ""
}

// looksNumeric says whether a first-row field reads as data rather than as a
// column name. Out-of-range and non-finite numbers count as data, so that the
// row is then rejected for its value rather than mistaken for a header.
func looksNumeric(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

// column describes column i for an error message.
func (p *parser) column(i int) string {
	if p.header != nil && p.header[i] != "" {
		return fmt.Sprintf("column %d (%s)", i, quoteValue(p.header[i]))
	}
	return fmt.Sprintf("column %d", i)
}

// errorf returns a format error naming the file.
func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("csvdata: %s: %s: %w", p.name, fmt.Sprintf(format, args...), ErrFormat)
}

// readErr classifies an error from the csv reader: its *csv.ParseError
// (broken quoting) blames the file and already names the line and column;
// anything else came from the caller's reader and is passed on without
// ErrFormat.
func (p *parser) readErr(err error) error {
	if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
		return fmt.Errorf("csvdata: %s: %w: %w", p.name, err, ErrFormat)
	}
	return fmt.Errorf("csvdata: %s: %w", p.name, err)
}

// maxQuoted bounds how much of a value an error message quotes: a bad field
// can be a whole binary file.
const maxQuoted = 40

func quoteValue(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(strings.ToValidUTF8(s[:maxQuoted], "")) + fmt.Sprintf("... (%d bytes)", len(s))
}

// quoteList quotes up to max names, saying how many more there are.
func quoteList(names []string, max int) string {
	var b strings.Builder
	for i, n := range names {
		if i == max {
			fmt.Fprintf(&b, " and %d more", len(names)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteValue(n))
	}
	return b.String()
}
