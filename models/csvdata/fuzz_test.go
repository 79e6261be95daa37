package csvdata

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzRead checks the contract for untrusted input: no panic; every
// rejection wraps ErrFormat (a bytes.Reader never fails) and names the file,
// or wraps ErrInvalid for options that make no sense; every acceptance is a
// valid table within the limits, with finite features and sorted distinct
// class names. It also checks a round trip: writing the table back out as
// CSV and reading that gives the same table, so the parser cannot silently
// drop, invent or reorder values. Split and Standardize must then work on
// the table. The seed corpus lives in testdata/fuzz and runs in every
// `go test`.
func FuzzRead(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, label string, header, comma, maxRows uint8) {
		o := Options{
			Label:   label,
			Header:  HeaderMode(header % 4), // 3 is out of range, to exercise the check
			Comma:   []rune{0, ',', ';', '\t', '|'}[int(comma)%5],
			MaxRows: int(maxRows),
		}
		tab, err := Read(bytes.NewReader(data), "fuzz.csv", o)
		if err != nil {
			switch {
			case errors.Is(err, ErrInvalid):
			case !errors.Is(err, ErrFormat):
				t.Fatalf("error wraps neither ErrFormat nor ErrInvalid: %v", err)
			case !strings.HasPrefix(err.Error(), "csvdata: fuzz.csv: "):
				t.Fatalf("format error does not name the file: %v", err)
			}
			return
		}
		checkTable(t, tab, o)

		checkRoundTrip(t, tab)

		tr, val, err := tab.Split(0.5, 1)
		if err != nil || tr.N+val.N != tab.N || (tab.N >= 2 && (tr.N == 0 || val.N == 0)) {
			t.Fatalf("split of %d rows: %d and %d rows, err %v", tab.N, tr.N, val.N, err)
		}
		mean, std := tr.Standardize()
		if err := val.ApplyStandardize(mean, std); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("ApplyStandardize: %v", err)
		}
		for i, v := range tr.X {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("standardized value %d is %v", i, v)
			}
		}
	})
}

// checkTable checks what every accepted table must satisfy.
func checkTable(t *testing.T, tab *Table, o Options) {
	t.Helper()
	if err := tab.Validate(); err != nil {
		t.Fatalf("accepted an invalid table: %v", err)
	}
	limit := o.MaxRows
	if limit == 0 {
		limit = DefaultMaxRows
	}
	if tab.N < 1 || tab.N > limit {
		t.Fatalf("accepted %d rows with a limit of %d", tab.N, limit)
	}
	if tab.FeatureNames == nil || tab.ClassNames == nil {
		t.Fatalf("accepted a table without names")
	}
	for i, v := range tab.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("accepted value %v at %d", v, i)
		}
	}
	for i, name := range tab.ClassNames {
		if name == "" || (i > 0 && name == tab.ClassNames[i-1]) {
			t.Fatalf("class names %q are empty or repeated", tab.ClassNames)
		}
	}
	seen := make([]bool, tab.Classes)
	for _, l := range tab.Labels {
		seen[l] = true
	}
	if slices.Contains(seen, false) {
		t.Fatalf("a class has no rows: names %q, labels %v", tab.ClassNames, tab.Labels)
	}
}

// checkRoundTrip writes tab back out as CSV and checks that reading it gives
// the same values, labels and classes.
//
// A class name holding "\r\n" is skipped: encoding/csv cannot write one. Its
// reader drops a CR before every LF, even inside quotes, so it turns a quoted
// "\r\r\n" in the file into "\r\n" (the fuzzer's first find), and reading
// that back gives "\n". The loader keeps what encoding/csv returns.
func checkRoundTrip(t *testing.T, tab *Table) {
	t.Helper()
	for _, name := range tab.ClassNames {
		if strings.Contains(name, "\r\n") {
			return
		}
	}
	again, err := Read(bytes.NewReader(writeCSV(t, tab)), "again.csv", Options{Header: Yes})
	if err != nil {
		t.Fatalf("reading the table back: %v", err)
	}
	if !slices.Equal(again.X, tab.X) || !slices.Equal(again.Labels, tab.Labels) || !slices.Equal(again.ClassNames, tab.ClassNames) {
		t.Fatalf("round trip changed the table:\n got %v %v %q\nwant %v %v %q",
			again.X, again.Labels, again.ClassNames, tab.X, tab.Labels, tab.ClassNames)
	}
}

// writeCSV writes tab as CSV with a header of plain names and the label last,
// each feature in the shortest form that reads back as the same float32.
func writeCSV(t *testing.T, tab *Table) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	rec := make([]string, tab.Features+1)
	for j := range tab.Features {
		rec[j] = "f" + strconv.Itoa(j)
	}
	rec[tab.Features] = "label"
	_ = w.Write(rec)
	for i := range tab.N {
		for j := range tab.Features {
			rec[j] = strconv.FormatFloat(float64(tab.X[i*tab.Features+j]), 'g', -1, 32)
		}
		rec[tab.Features] = tab.ClassNames[tab.Labels[i]]
		_ = w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatalf("writing CSV: %v", err)
	}
	return b.Bytes()
}
