package serve

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFlatAgreesWithEncodingJSON(t *testing.T) {
	cases := []struct {
		name, line string
		flat       bool
	}{
		{"a step line as train writes it", `{"acc":0.1328125,"batch":128,"epoch":1,"grad_norm":1.6315137452631732,"loss":2.3483543395996094,"lr":0.001,"skipped":false,"step":1}`, true},
		{"null for a non-finite loss", `{"loss":null,"step":7,"skipped":true}`, true},
		{"spaces, exponents and negatives", ` { "a" : -1.5e-3 , "b":2E+2,"c":0 } `, true},
		{"strings are skipped, escapes and all", `{"name":"w\"1\\","x":3}`, true},
		{"an empty object", `{}`, true},
		{"a nested object", `{"step":1,"layers":{"w1":0.5}}`, false},
		{"an array", `{"step":1,"v":[1,2]}`, false},
		{"an escaped key", `{"a\u0062":1}`, false},
		{"trailing text", `{"a":1} x`, false},
		{"a missing comma", `{"a":1 "b":2}`, false},
		{"a bad number", `{"a":1.2.3}`, false},
		{"not an object", `[1,2]`, false},
		{"a torn line", `{"a":1,"b":`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := map[string]float64{}
			ok := parseFlat([]byte(c.line), func(k []byte, v float64) { got[string(k)] = v })
			require.Equal(t, c.flat, ok)
			if !ok {
				return
			}
			var want map[string]any
			require.NoError(t, json.Unmarshal([]byte(c.line), &want))
			for k, v := range want {
				switch v := v.(type) {
				case float64:
					assert.Equal(t, v, got[k], k)
				case bool:
					assert.Equal(t, map[bool]float64{true: 1, false: 0}[v], got[k], k)
				case nil:
					assert.True(t, math.IsNaN(got[k]), k)
				case string:
					assert.NotContains(t, got, k, "strings are not numbers")
				}
			}
		})
	}
}

// tableOf reads a file of the test's folder through a readRoot, as the server does.
func tableOf(t *testing.T, dir, name string, flatten bool) (*table, *readRoot) {
	t.Helper()
	r := &readRoot{path: dir}
	_, err := r.open()
	require.NoError(t, err)
	tb := newTable(name, flatten)
	require.NoError(t, tb.refresh(r))
	return tb, r
}

func TestTableReadsOnlyWhatWasAppendedAndWholeLinesOnly(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "steps.jsonl")
	var all strings.Builder
	for s := 1; s <= 10; s++ {
		all.WriteString(stepLine(1, s, 1/float64(s), 0.5, 1e-3, 1))
	}
	text := all.String()
	// Written in pieces that cut lines anywhere, as a buffered writer flushes.
	require.NoError(t, os.WriteFile(name, []byte(text[:37]), 0o644))
	tb, r := tableOf(t, dir, "steps.jsonl", false)
	assert.Equal(t, 0, tb.rows, "a torn first line is not a row yet")
	for _, cut := range []int{200, 201, 555, 900, len(text)} {
		appendFile(t, name, text[tb.offset+int64(len(tb.partial)):cut])
		require.NoError(t, tb.refresh(r))
		assert.Equal(t, strings.Count(text[:cut], "\n"), tb.rows, "rows after %d bytes", cut)
	}
	assert.Equal(t, int64(len(text)), tb.offset)
	assert.Equal(t, 0, tb.bad)
	for i, v := range tb.col("step") {
		assert.Equal(t, float32(i+1), v)
	}
	assert.Equal(t, float32(0.25), tb.col("loss")[3])

	// The bytes already read are not read again: an edit inside them (same size) goes unseen,
	// which is what incremental reading means for files that are only ever appended to.
	b, _ := os.ReadFile(name)
	copy(b[strings.Index(string(b), `"loss":1`)+7:], "9")
	require.NoError(t, os.WriteFile(name, b, 0o644))
	require.NoError(t, tb.refresh(r))
	assert.Equal(t, float32(1), tb.col("loss")[0], "reread bytes it had already consumed")
	assert.Equal(t, 0, tb.resets)
}

func TestTableStartsOverWhenTheFileShrinksOrIsReplaced(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "steps.jsonl")
	lines := ""
	for s := 1; s <= 6; s++ {
		lines += stepLine(1, s, 1, 1, 1, 1)
	}
	require.NoError(t, os.WriteFile(name, []byte(lines), 0o644))
	tb, r := tableOf(t, dir, "steps.jsonl", false)
	require.Equal(t, 6, tb.rows)

	// A resumed run cuts its log back to the checkpoint's step.
	cut := strings.Join(strings.SplitAfter(lines, "\n")[:3], "")
	require.NoError(t, os.Truncate(name, int64(len(cut))))
	require.NoError(t, tb.refresh(r))
	assert.Equal(t, 3, tb.rows)
	assert.Equal(t, 1, tb.resets)

	// A new file of the same name (written and renamed over): read from its start.
	other := filepath.Join(dir, "new")
	require.NoError(t, os.WriteFile(other, []byte(stepLine(1, 42, 1, 1, 1, 1)+stepLine(1, 43, 1, 1, 1, 1)+stepLine(1, 44, 1, 1, 1, 1)+stepLine(1, 45, 1, 1, 1, 1)), 0o644))
	require.NoError(t, os.Rename(other, name))
	require.NoError(t, tb.refresh(r))
	assert.Equal(t, []float32{42, 43, 44, 45}, tb.col("step"))

	require.NoError(t, os.Remove(name))
	require.NoError(t, tb.refresh(r))
	assert.Equal(t, 0, tb.rows, "a deleted file has no rows")
}

func TestTableSkipsMalformedAndOverlongLines(t *testing.T) {
	dir := t.TempDir()
	text := stepLine(1, 1, 1, 1, 1, 1) + "not json\n" + `{"step":2,"loss":` + "\n" + "\n" +
		`{"step":3,"extra":{"nested":1},"loss":0.5}` + "\n" + `{"step":` + strings.Repeat("1", maxLine+10) + "}\n" +
		`{"step":4,"loss":0.25,"new":7}` + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.jsonl"), []byte(text), 0o644))
	tb, _ := tableOf(t, dir, "s.jsonl", false)
	assert.Equal(t, 3, tb.bad, "garbage, a torn line and an overlong line")
	assert.Equal(t, []float32{1, 3, 4}, tb.col("step"))
	assert.Equal(t, float32(0.5), tb.col("loss")[1], "a nested value does not lose the line's numbers")
	// A column first seen late is NaN before it.
	require.Len(t, tb.col("new"), 3)
	assert.True(t, math.IsNaN(float64(tb.col("new")[0])))
	assert.Equal(t, float32(7), tb.col("new")[2])
	for k, c := range tb.index {
		c := tb.colv[c]
		assert.Len(t, c, tb.rows, k)
	}
}

func TestDiagnosticsShapesBecomeLayerColumns(t *testing.T) {
	// The diagnostics format is not fixed yet (issue 15): each plausible shape gives the same
	// columns, "<layer>.<metric>" beside step.
	shapes := map[string]string{
		"an array of named layers": `{"step":10,"layers":[{"name":"w1","grad_norm":0.5},{"name":"w2","grad_norm":0.25}]}`,
		"an object keyed by layer": `{"step":10,"layers":{"w1":{"grad_norm":0.5},"w2":{"grad_norm":0.25}}}`,
		"one line per layer":       `{"step":10,"layer":"w1","grad_norm":0.5}` + "\n" + `{"step":10,"layer":"w2","grad_norm":0.25}`,
	}
	for name, text := range shapes {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "diagnostics.jsonl"), []byte(text+"\n"), 0o644))
			tb, _ := tableOf(t, dir, "diagnostics.jsonl", true)
			var w1, w2 string
			for _, k := range tb.order {
				switch {
				case strings.HasSuffix(k, "w1.grad_norm"):
					w1 = k
				case strings.HasSuffix(k, "w2.grad_norm"):
					w2 = k
				}
			}
			require.NotEmpty(t, w1, "columns %v", tb.order)
			require.NotEmpty(t, w2, "columns %v", tb.order)
			assert.Contains(t, tb.order, "step")
			finiteOf := func(c []float32) (out []float32) {
				for _, v := range c {
					if finite(v) {
						out = append(out, v)
					}
				}
				return out
			}
			assert.Equal(t, []float32{0.5}, finiteOf(tb.col(w1)))
			assert.Equal(t, []float32{0.25}, finiteOf(tb.col(w2)))
		})
	}
}

func TestLastLineReadsTheTail(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat(stepLine(1, 1, 1, 1, 1, 1), 500) + stepLine(2, 501, 1, 1, 1, 1) + `{"step":50` // torn end
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s"), []byte(long), 0o644))
	r := &readRoot{path: dir}
	_, err := r.open()
	require.NoError(t, err)
	last, err := lastLine(r, "s")
	require.NoError(t, err)
	assert.Contains(t, string(last), `"step":501`)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "one"), []byte(`{"step":1}`+"\n"), 0o644))
	last, err = lastLine(r, "one")
	require.NoError(t, err)
	assert.Equal(t, `{"step":1}`, string(last))
}

// FuzzParseFlat checks the fast path against encoding/json: whatever it accepts is a JSON
// object whose numbers, booleans and nulls it reads as encoding/json does.
//
//	go test -run xxx -fuzz FuzzParseFlat ./cmd/gotrain/internal/serve/
func FuzzParseFlat(f *testing.F) {
	for _, s := range []string{stepLine(1, 2, 0.5, 0.25, 1e-3, 1), `{"a":null,"b":true,"c":"x\"y"}`, `{}`, `{"a":-1e-7}`, `{"a":1,"a":2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got := map[string]float64{}
		if !parseFlat([]byte(line), func(k []byte, v float64) { got[string(k)] = v }) {
			return
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(line), &want); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", line, err)
		}
		for k, v := range want {
			switch v := v.(type) {
			case float64:
				if got[k] != v {
					t.Fatalf("%q: %s = %v, encoding/json reads %v", line, k, got[k], v)
				}
			case nil:
				if !math.IsNaN(got[k]) {
					t.Fatalf("%q: %s = %v for null", line, k, got[k])
				}
			}
		}
	})
}
