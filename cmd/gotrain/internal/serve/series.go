package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"sort"
	"strconv"
	"sync"
	"unsafe"
)

// maxLine bounds one JSON line; a longer one is counted as malformed and skipped, so a file of
// garbage without newlines cannot make the server buffer it whole.
const maxLine = 1 << 20

// table is the numeric content of a JSON-lines file, one column per key, read incrementally:
// each refresh reads only the bytes appended since the last one (by byte offset), so a
// 10,000-step steps.jsonl that grows by a line is not re-read, and a large file is never held
// as text. Values are float32: enough for a chart, and half the memory of float64.
type table struct {
	mu sync.Mutex

	name    string // the file's path below its root
	flatten bool   // nested objects become dotted keys (diagnostics); flat files take the fast path

	info     fs.FileInfo    // of the file as last read, to notice replacement
	offset   int64          // bytes consumed (complete lines)
	partial  []byte         // an incomplete last line, kept until its newline arrives
	skipping bool           // inside an overlong line, dropping bytes up to its newline
	order    []string       // keys in order of first appearance
	index    map[string]int // key -> position in order and colv
	colv     [][]float32    // the columns, in order
	rows     int
	bad      int   // malformed lines skipped
	used     int64 // last access, for eviction (the catalogue's clock)
	seen     []int // per column, the row it was last set in (scratch for a line)
	resets   int   // times the file shrank or was replaced and reading started over
}

func newTable(name string, flatten bool) *table {
	return &table{name: name, flatten: flatten, index: map[string]int{}}
}

// col is the column of a key, nil if the file has none.
func (t *table) col(key string) []float32 {
	if i, ok := t.index[key]; ok {
		return t.colv[i]
	}
	return nil
}

// errTooLarge refuses files that would not fit the store's limits.
var errTooLarge = errors.New("file too large")

// refresh brings the table up to date with the file below root. A file that shrank or was
// replaced (another inode) is read again from the start: a resumed run may cut its logs back.
func (t *table) refresh(root *readRoot) error {
	info, err := root.Stat(t.name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			t.reset(nil)
			return nil
		}
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", t.name)
	}
	consumed := t.offset + int64(len(t.partial))
	if t.info != nil && (!os.SameFile(t.info, info) || info.Size() < consumed) {
		t.reset(info)
		consumed = 0
	}
	t.info = info
	if info.Size() == consumed {
		return nil
	}
	f, err := root.Open(t.name)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(consumed, io.SeekStart); err != nil {
		return err
	}
	// Read up to the size seen by Stat only: bytes written meanwhile wait for the next refresh,
	// so offset always matches a size we observed.
	r := io.LimitReader(f, info.Size()-consumed)
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			t.consume(buf[:n])
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (t *table) reset(info fs.FileInfo) {
	if t.rows > 0 || t.offset > 0 {
		t.resets++
	}
	t.info, t.offset, t.partial, t.skipping = info, 0, nil, false
	t.index, t.colv, t.order, t.rows, t.bad, t.seen = map[string]int{}, nil, nil, 0, 0, nil
}

// consume parses the complete lines in b (with any partial line kept from before).
func (t *table) consume(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if t.skipping {
			if i < 0 {
				t.offset += int64(len(b))
				return
			}
			t.offset += int64(i + 1)
			t.skipping = false
			b = b[i+1:]
			continue
		}
		if i < 0 {
			if len(t.partial)+len(b) > maxLine {
				// An overlong line: count it once and drop bytes up to its newline.
				t.bad++
				t.skipping = true
				t.offset += int64(len(t.partial) + len(b))
				t.partial = nil
				return
			}
			t.partial = append(t.partial, b...)
			return
		}
		line := b[:i]
		if len(t.partial) > 0 {
			line = append(t.partial, line...)
		}
		t.offset += int64(len(line) + 1)
		t.partial = nil
		t.line(line)
		b = b[i+1:]
	}
}

// line adds one JSON object as a row. Blank lines are ignored; anything that is not an object
// is counted as malformed.
func (t *table) line(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	if len(line) > maxLine {
		t.bad++
		return
	}
	t.rows++
	// Diagnostics name their layers in strings, which the flat parser skips: they take the general one.
	if t.flatten || !parseFlat(line, t.set) {
		// Undo what the fast path set for this row and take the general parser.
		t.unsetRow()
		if !t.parseGeneral(line) {
			t.unsetRow()
			t.rows--
			t.bad++
			return
		}
	}
	// Pad columns this line did not mention.
	for i := range t.colv {
		if t.seen[i] != t.rows {
			t.colv[i] = append(t.colv[i], float32(math.NaN()))
		}
	}
}

// unsetRow removes values the current row had already set (a line found malformed midway).
func (t *table) unsetRow() {
	for i, c := range t.colv {
		if t.seen[i] == t.rows {
			t.colv[i] = c[:len(c)-1]
			t.seen[i] = 0
		}
	}
}

// set stores one value of the current row; a key seen twice in a line keeps the last value.
// Looking the key up with string(key) does not allocate; only a new key is copied.
func (t *table) set(key []byte, v float64) {
	i, ok := t.index[string(key)]
	if !ok {
		k := string(key)
		c := make([]float32, t.rows-1, max(t.rows, 16))
		for j := range c {
			c[j] = float32(math.NaN())
		}
		i = len(t.order)
		t.order = append(t.order, k)
		t.index[k] = i
		t.colv = append(t.colv, c)
		t.seen = append(t.seen, 0)
	}
	if t.seen[i] == t.rows {
		t.colv[i][len(t.colv[i])-1] = float32(v)
		return
	}
	t.seen[i] = t.rows
	t.colv[i] = append(t.colv[i], float32(v))
}

// parseGeneral handles any JSON object: nested objects become dotted keys ("layers.w1.grad_norm"),
// and an array of objects that name themselves ("name", "layer" or "param") is keyed by that name,
// so the per-layer shapes a diagnostics file may take all end up as columns.
func (t *table) parseGeneral(line []byte) bool {
	var v map[string]any
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	if err := d.Decode(&v); err != nil || d.More() {
		return false
	}
	if !t.flatten {
		// A flat file with an odd line (a nested value): keep its top-level numbers.
		for k, x := range v {
			if f, ok := number(x); ok {
				t.set([]byte(k), f)
			}
		}
		return true
	}
	var walk func(prefix string, x any)
	walk = func(prefix string, x any) {
		switch x := x.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			// A flat record naming its layer ({"layer":"w1","grad_norm":..}) keys its numbers by the layer.
			if name := recordName(x); name != "" && prefix == "" {
				prefix = name
			}
			for _, k := range keys {
				walk(join(prefix, k), x[k])
			}
		case []any:
			for i, e := range x {
				seg := strconv.Itoa(i)
				if m, ok := e.(map[string]any); ok {
					if n := recordName(m); n != "" {
						seg = n
					}
				}
				walk(join(prefix, seg), e)
			}
		default:
			if f, ok := number(x); ok {
				t.set([]byte(prefix), f)
			}
		}
	}
	walk("", v)
	return true
}

// topLevel are keys that stay undotted when a record names its layer: they locate the row.
var topLevel = map[string]bool{"step": true, "epoch": true, "time": true}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	if i := bytes.LastIndexByte([]byte(prefix), '.'); i < 0 && topLevel[k] {
		return k
	}
	return prefix + "." + k
}

// recordName is the name an element of a per-layer array gives itself.
func recordName(m map[string]any) string {
	for _, k := range []string{"name", "layer", "param"} {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func number(x any) (float64, bool) {
	switch x := x.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case nil:
		return math.NaN(), true
	}
	return 0, false
}

// parseFlat is the fast path for the flat objects runs write ({"step":1,"loss":2.3,...}): it
// calls set for every number, boolean (1 or 0) and null (NaN) and skips strings. It reports false
// for anything else (a nested value, bad syntax), and the caller takes the general parser.
func parseFlat(b []byte, set func(key []byte, v float64)) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		ks := i + 1
		i = ks
		for i < len(b) && b[i] != '"' {
			if b[i] == '\\' || b[i] < 0x20 || b[i] >= 0x80 {
				return false // escapes, control bytes, non-ASCII: encoding/json's rules apply
			}
			i++
		}
		if i >= len(b) {
			return false
		}
		key := b[ks:i]
		i = skipSpace(b, i+1)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return false
		}
		switch c := b[i]; {
		case c == '"':
			i++
			for i < len(b) && b[i] != '"' {
				if b[i] < 0x20 {
					return false // JSON forbids raw control bytes in strings
				}
				if b[i] == '\\' {
					n := escapeLen(b[i+1:])
					if n == 0 {
						return false
					}
					i += n
				}
				i++
			}
			if i >= len(b) {
				return false
			}
			i++
		case c == 't' && bytes.HasPrefix(b[i:], []byte("true")):
			set(key, 1)
			i += 4
		case c == 'f' && bytes.HasPrefix(b[i:], []byte("false")):
			set(key, 0)
			i += 5
		case c == 'n' && bytes.HasPrefix(b[i:], []byte("null")):
			set(key, math.NaN())
			i += 4
		case c == '-' || (c >= '0' && c <= '9'):
			s := i
			for i < len(b) && (b[i] == '-' || b[i] == '+' || b[i] == '.' || b[i] == 'e' || b[i] == 'E' || (b[i] >= '0' && b[i] <= '9')) {
				i++
			}
			// strconv copies the text into any error it returns, so it may read the bytes in place.
			if !jsonNumber(b[s:i]) {
				return false // strconv takes more than JSON allows (01, -.5, 1.)
			}
			v, err := strconv.ParseFloat(unsafe.String(&b[s], i-s), 64)
			if err != nil {
				return false
			}
			set(key, v)
		default:
			return false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return skipSpace(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return false
		}
		i = skipSpace(b, i+1)
	}
}

// escapeLen is the length of a valid JSON escape after its backslash (\n, \u00e9), 0 if invalid.
func escapeLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	switch b[0] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 1
	case 'u':
		if len(b) < 5 {
			return 0
		}
		for _, c := range b[1:5] {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return 0
			}
		}
		return 5
	}
	return 0
}

// jsonNumber reports whether b is a number as JSON writes it:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumber(b []byte) bool {
	i := 0
	digits := func() int {
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - s
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}
