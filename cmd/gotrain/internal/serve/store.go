package serve

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"sync"
)

// store keeps what was read of the files, in memory only (no second store on disk): JSON-lines
// files as incrementally read tables, CSV files whole (they are small), each refreshed when the
// file changes. Tables of items not looked at lately are dropped once the store holds more than
// its limit of values.
type store struct {
	mu     sync.Mutex
	tables map[storeKey]*table
	csvs   map[storeKey]*csvFile
	clock  int64
	limit  int // values (float32) kept at most across tables
}

type storeKey struct {
	root *readRoot
	name string
}

// maxCSV bounds a CSV file read whole.
const maxCSV = 64 << 20

func newStore(limit int) *store {
	return &store{tables: map[storeKey]*table{}, csvs: map[storeKey]*csvFile{}, limit: limit}
}

// table refreshes the JSON-lines file name below root and calls f with its table, locked.
func (s *store) table(root *readRoot, name string, flatten bool, f func(*table) error) error {
	k := storeKey{root, name}
	s.mu.Lock()
	t := s.tables[k]
	if t == nil {
		t = newTable(name, flatten)
		s.tables[k] = t
	}
	s.clock++
	t.used = s.clock
	s.mu.Unlock()

	t.mu.Lock()
	err := t.refresh(root)
	if err == nil {
		err = f(t)
	}
	t.mu.Unlock()
	s.evict()
	return err
}

// evict drops the least recently used tables until the store is within its limit. A table in
// use stays (TryLock fails) and is looked at again next time.
func (s *store) evict() {
	s.mu.Lock()
	defer s.mu.Unlock()
	type entry struct {
		k storeKey
		t *table
		n int
	}
	var all []entry
	total := 0
	for k, t := range s.tables {
		if !t.mu.TryLock() {
			continue
		}
		n := t.rows * len(t.order)
		t.mu.Unlock()
		total += n
		all = append(all, entry{k, t, n})
	}
	if total <= s.limit {
		return
	}
	sort.Slice(all, func(a, b int) bool { return all[a].t.used < all[b].t.used })
	for _, e := range all {
		if total <= s.limit {
			return
		}
		delete(s.tables, e.k)
		total -= e.n
	}
}

// forget drops what belongs to folders that are gone, so deleted runs free their memory.
func (s *store) forget(c *catalog) {
	live := map[*readRoot]map[string]bool{}
	for _, it := range c.items {
		if live[it.root] == nil {
			live[it.root] = map[string]bool{}
		}
		live[it.root][it.rel] = true
	}
	kept := func(k storeKey) bool { return live[k.root][path.Dir(k.name)] }
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.tables {
		if !kept(k) {
			delete(s.tables, k)
		}
	}
	for k := range s.csvs {
		if !kept(k) {
			delete(s.csvs, k)
		}
	}
}

// csvFile is a CSV file read whole, kept until the file changes.
type csvFile struct {
	info    fs.FileInfo
	records [][]string
	err     error
}

// csv returns the records of a CSV file below root (header first), nil if it does not exist.
// Rows may have fewer or more fields than the header (sweep writes what it has).
func (s *store) csv(root *readRoot, name string) ([][]string, error) {
	info, err := root.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	k := storeKey{root, name}
	s.mu.Lock()
	c := s.csvs[k]
	s.mu.Unlock()
	if c != nil && os.SameFile(c.info, info) && c.info.Size() == info.Size() && c.info.ModTime().Equal(info.ModTime()) {
		return c.records, c.err
	}
	b, err := root.ReadFile(name, maxCSV)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	recs, err := r.ReadAll()
	if err != nil {
		// A file being written may end in a torn line: keep the rows before it.
		var pe *csv.ParseError
		if errors.As(err, &pe) && pe.Line > 1 {
			r2 := csv.NewReader(bytes.NewReader(b))
			r2.FieldsPerRecord = -1
			recs = nil
			for {
				rec, e := r2.Read()
				if e != nil {
					break
				}
				recs = append(recs, rec)
			}
			err = nil
		} else {
			err = fmt.Errorf("%s: %w", name, err)
		}
	}
	s.mu.Lock()
	s.csvs[k] = &csvFile{info: info, records: recs, err: err}
	s.mu.Unlock()
	return recs, err
}
