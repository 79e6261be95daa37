package serve

import (
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A kind recognises one type of folder and reads it. Discovery asks each kind in turn (kinds,
// first match wins) about every folder below the roots; a new kind (diagnostics of their own,
// a study stored another way) is one more implementation in that list, and the API, the
// listing and the live updates need no change.
type kind interface {
	// Name is the kind's name in the API: "run", "sweep", "study".
	Name() string
	// Detect reports whether a folder holding these entries is of this kind.
	Detect(entries map[string]fs.DirEntry) bool
	// Container reports whether items found below such a folder are its members (a sweep's runs,
	// a study's trials); discovery stops below any other kind.
	Container() bool
	// Summary reads what the listing shows; it runs again only when the item's files change.
	Summary(s *Server, it *Item) Summary
	// Detail answers /api/detail for one item of this kind.
	Detail(s *Server, it *Item, q detailQuery) (any, error)
}

// kinds in the order discovery tries them.
var kinds = []kind{studyKind{}, sweepKind{}, runKind{}}

// Item is one run, sweep or study found below a root, as /api/items lists it.
type Item struct {
	ID       string    `json:"id"`   // "<root index>/<path below the root>": stable while the folder stays
	Kind     string    `json:"kind"` // a kind's Name
	Name     string    `json:"name"` // the folder as the user would type it: root path joined with the path below
	Parent   string    `json:"parent,omitempty"`
	Members  []string  `json:"members,omitempty"`
	Files    []string  `json:"files"`
	Modified time.Time `json:"modified"` // newest file in the folder (members included for containers)
	Version  string    `json:"version"`  // changes whenever a file of the item (or of a member) changes
	Summary

	kind  kind
	root  *readRoot
	rootN int
	rel   string // "." for the root itself
	stats map[string]fs.FileInfo
}

// Summary is what the listing shows of an item.
type Summary struct {
	Status  string             `json:"status"` // live (written to in the last liveWindow), else the kind's own: done, stopped, empty
	Steps   int                `json:"steps,omitempty"`
	Epochs  int                `json:"epochs,omitempty"`
	Rows    int                `json:"rows,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"` // finite values only
	Options map[string]string  `json:"options,omitempty"`
	Note    string             `json:"note,omitempty"`

	base string // the status when not live, as the kind judged it from the files
}

// liveWindow is how recently a metric file must have changed for its run to count as in
// progress. Runs flush steps.jsonl every epoch and every 4 KB of steps, so a quiet minute means
// the run stopped (or is very slow). A lock file, once runs write one, would say it exactly.
const liveWindow = time.Minute

// Limits of one scan, so a root that holds a whole disk cannot stall the server.
const (
	maxDepth = 8
	maxDirs  = 50000
)

// catalog is the result of one scan.
type catalog struct {
	at    time.Time
	items []*Item
	byID  map[string]*Item
	sig   uint64 // of every item's id, version and status: a change means the listing changed
}

// scan walks every root and detects items. Summaries are reused from the previous scan for
// items whose files did not change.
func (s *Server) scan(prev *catalog) *catalog {
	now := time.Now()
	c := &catalog{at: now, byID: map[string]*Item{}}
	dirs := 0
	for n, r := range s.roots {
		if _, err := r.open(); err != nil {
			continue
		}
		var walk func(rel string, depth int, parent *Item)
		walk = func(rel string, depth int, parent *Item) {
			if dirs >= maxDirs {
				return
			}
			dirs++
			list, err := r.ReadDir(rel)
			if err != nil {
				return // deleted meanwhile, or unreadable: not an item
			}
			entries := make(map[string]fs.DirEntry, len(list))
			for _, e := range list {
				entries[e.Name()] = e
			}
			var it *Item
			for _, k := range kinds {
				if k.Detect(entries) {
					it = s.newItem(k, r, n, rel, list, parent)
					c.items = append(c.items, it)
					c.byID[it.ID] = it
					break
				}
			}
			if it != nil && !it.kind.Container() {
				return
			}
			if it != nil {
				parent = it
			}
			if depth >= maxDepth {
				return
			}
			for _, e := range list {
				// Symbolic links are not followed (they could leave the tree, or loop), nor hidden folders.
				if e.IsDir() && e.Type()&fs.ModeSymlink == 0 && !strings.HasPrefix(e.Name(), ".") {
					walk(path.Join(rel, e.Name()), depth+1, parent)
				}
			}
		}
		walk(".", 0, nil)
	}
	// Containers change when a member does: fold members' versions in, deepest first.
	for i := len(c.items) - 1; i >= 0; i-- {
		it := c.items[i]
		if it.Parent == "" {
			continue
		}
		p := c.byID[it.Parent]
		p.Members = append(p.Members, it.ID)
		h := fnv.New64a()
		h.Write([]byte(p.Version + it.Version))
		p.Version = strconv.FormatUint(h.Sum64(), 36)
		if it.Modified.After(p.Modified) {
			p.Modified = it.Modified
		}
	}
	for _, it := range c.items {
		sort.Strings(it.Members)
	}
	for _, it := range c.items {
		if old := prev.get(it.ID); old != nil && old.Version == it.Version && old.kind == it.kind {
			it.Summary = old.Summary
		} else {
			it.Summary = it.kind.Summary(s, it)
		}
	}
	// Members follow their container in the list: deepest first, a container sees them judged.
	for i := len(c.items) - 1; i >= 0; i-- {
		c.items[i].Status = status(c.items[i], now, c)
	}
	sig := fnv.New64a()
	for _, it := range c.items {
		sig.Write([]byte(it.ID + "\x00" + it.Version + "\x00" + it.Status + "\x00"))
	}
	c.sig = sig.Sum64()
	s.store.forget(c)
	return c
}

func (c *catalog) get(id string) *Item {
	if c == nil {
		return nil
	}
	return c.byID[id]
}

// newItem records a detected folder and the stats of its files (its version).
func (s *Server) newItem(k kind, r *readRoot, n int, rel string, list []fs.DirEntry, parent *Item) *Item {
	name := r.path
	if rel != "." {
		name = path.Join(strings.TrimSuffix(r.path, "/"), rel)
	}
	it := &Item{ID: strconv.Itoa(n) + "/" + rel, Kind: k.Name(), Name: name, kind: k, root: r, rootN: n, rel: rel,
		stats: map[string]fs.FileInfo{}, Files: []string{}}
	if parent != nil {
		it.Parent = parent.ID
	}
	h := fnv.New64a()
	for _, e := range list {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		it.stats[e.Name()] = info
		it.Files = append(it.Files, e.Name())
		if info.ModTime().After(it.Modified) {
			it.Modified = info.ModTime()
		}
		h.Write([]byte(e.Name()))
		h.Write([]byte(strconv.FormatInt(info.Size(), 10) + "," + strconv.FormatInt(info.ModTime().UnixNano(), 10) + ";"))
	}
	it.Version = strconv.FormatUint(h.Sum64(), 36)
	return it
}

// file is the path below the root of one of the item's files.
func (it *Item) file(name string) string { return path.Join(it.rel, name) }

// status says whether an item is in progress. It is computed at every scan, since time alone
// turns a live run into a stopped one.
func status(it *Item, now time.Time, c *catalog) string {
	live := false
	switch it.Kind {
	case "run":
		for _, f := range []string{"steps.jsonl", "epochs.jsonl", "diagnostics.jsonl"} {
			if st := it.stats[f]; st != nil && now.Sub(st.ModTime()) < liveWindow {
				live = true
			}
		}
	default:
		live = now.Sub(it.Modified) < liveWindow
		for _, m := range it.Members {
			if mi := c.byID[m]; mi != nil && mi.Status == "live" {
				live = true
			}
		}
	}
	switch {
	case live:
		return "live"
	case it.base != "":
		return it.base
	}
	return "stopped"
}
