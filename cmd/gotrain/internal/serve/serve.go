// Package serve is the web page of gotrain serve: it lists the runs, sweeps and studies found
// below some folders and draws them, live, from the files training already writes (no second
// store, and nothing is ever written into those folders).
//
// The page and its chart library are embedded, so the binary needs nothing from the network.
// Every file is read through an os.Root per folder, which refuses names that leave the tree
// (.., absolute paths, symbolic links out), and only GET and HEAD are answered.
package serve

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed assets
var assets embed.FS

// Config says what to serve.
type Config struct {
	// Dirs are the folders to look in.
	Dirs []string
	// Required says every folder must exist now (folders named on the command line, where a
	// missing one is a typo); otherwise (the defaults runs/, sweeps/ and studies/) a folder may
	// appear later and is looked for at every scan.
	Required bool
	// Poll is how often the folders are looked at again while a page is open (default 500 ms).
	Poll time.Duration
	// MaxValues bounds the values kept in memory across all read files (default 64 million:
	// 256 MB of float32); the least recently used files are read again when needed.
	MaxValues int
	// Hosts, when set, are the only Host header values accepted (besides the listener's own
	// address), which stops a web page elsewhere from reading this one through DNS rebinding.
	// Leave it nil when serving on a non-loopback address, where the name is not known.
	Hosts []string
}

// Server answers the page, its API and the files below its folders.
type Server struct {
	roots []*readRoot
	poll  time.Duration
	hosts map[string]bool
	store *store

	scanMu sync.Mutex // one scan at a time
	mu     sync.Mutex // guards cat
	cat    *catalog

	hub     hub
	closing chan struct{}
	close   sync.Once
}

// New checks the folders and makes a server for them.
func New(cfg Config) (*Server, error) {
	if len(cfg.Dirs) == 0 {
		return nil, errors.New("serve: no folders to serve")
	}
	s := &Server{poll: cfg.Poll, closing: make(chan struct{})}
	if s.poll <= 0 {
		s.poll = 500 * time.Millisecond
	}
	limit := cfg.MaxValues
	if limit <= 0 {
		limit = 64 << 20
	}
	s.store = newStore(limit)
	for _, d := range cfg.Dirs {
		r := &readRoot{path: d}
		if _, err := r.open(); err != nil && cfg.Required {
			return nil, fmt.Errorf("serve: %w", err)
		}
		s.roots = append(s.roots, r)
	}
	if cfg.Hosts != nil {
		s.hosts = map[string]bool{}
		for _, h := range cfg.Hosts {
			s.hosts[strings.ToLower(h)] = true
		}
	}
	s.hub.subs = map[chan event]bool{}
	return s, nil
}

// Close ends the live-update streams, so an http.Server's Shutdown does not wait on them.
func (s *Server) Close() { s.close.Do(func() { close(s.closing) }) }

// catalog returns a scan no older than maxAge.
func (s *Server) catalog(maxAge time.Duration) *catalog {
	s.mu.Lock()
	c := s.cat
	s.mu.Unlock()
	if c != nil && time.Since(c.at) < maxAge {
		return c
	}
	s.scanMu.Lock()
	defer s.scanMu.Unlock()
	s.mu.Lock()
	c = s.cat
	s.mu.Unlock()
	if c != nil && time.Since(c.at) < maxAge {
		return c // another request scanned meanwhile
	}
	c = s.scan(c)
	s.mu.Lock()
	s.cat = c
	s.mu.Unlock()
	return c
}

// lookup finds an item of the current scan.
func (s *Server) lookup(id string) *Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cat.get(id)
}

// Handler is the whole site: the page, /api/ and /files/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", s.page)
	mux.HandleFunc("/assets/{name}", s.asset)
	mux.HandleFunc("/api/items", s.items)
	mux.HandleFunc("/api/detail", s.detail)
	mux.HandleFunc("/api/events", s.events)
	mux.HandleFunc("/files/{root}/{name...}", s.file)
	return s.guard(mux)
}

// csp allows the page's own scripts, styles, images and API calls, and nothing else: the page
// needs nothing from elsewhere, so an injected script or an outside request has nowhere to go.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// guard refuses methods other than GET and HEAD, foreign Host headers, and sets the headers
// every answer carries.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", csp)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "only GET and HEAD: this server reads and never changes anything", http.StatusMethodNotAllowed)
			return
		}
		if s.hosts != nil && !s.hostAllowed(r) {
			http.Error(w, "unknown Host header: open the address gotrain serve printed", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) hostAllowed(r *http.Request) bool {
	host := strings.ToLower(r.Host)
	if s.hosts[host] {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if s.hosts[host] || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, err := assets.ReadFile("assets/" + name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", contentType(name))
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

// contentType names a file's type from its extension; unknown types are plain bytes to save,
// never something a browser would guess at (nosniff stops it guessing).
func contentType(name string) string {
	switch path.Ext(name) {
	case ".csv", ".jsonl", ".txt", ".log", ".md":
		return "text/plain; charset=utf-8"
	case ".json":
		return "application/json"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); strings.HasPrefix(t, "image/") {
		return t
	}
	return "application/octet-stream"
}

func writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding the answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}

// rootInfo describes one served folder.
type rootInfo struct {
	Index  int    `json:"index"`
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
}

// items answers the listing: every item, newest first within each kind.
func (s *Server) items(w http.ResponseWriter, r *http.Request) {
	c := s.catalog(s.poll)
	out := struct {
		Roots []rootInfo `json:"roots"`
		Items []*Item    `json:"items"`
		Time  time.Time  `json:"time"`
	}{Items: c.items, Time: c.at}
	if out.Items == nil {
		out.Items = []*Item{}
	}
	for i, root := range s.roots {
		_, err := root.current()
		out.Roots = append(out.Roots, rootInfo{Index: i, Path: root.path, Exists: err == nil})
	}
	writeJSON(w, r, out)
}

// detail answers /api/detail?id=A&id=B: each item drawn as its kind draws it. Unknown ids
// (deleted meanwhile) are listed in missing, not an error, so a page survives a deletion.
func (s *Server) detail(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	q, err := parseQuery(qv.Get, func(k string) []string { return qv[k] })
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ids := qv["id"]
	if len(ids) > 50 {
		http.Error(w, fmt.Sprintf("%d ids: at most 50 at once", len(ids)), http.StatusBadRequest)
		return
	}
	c := s.catalog(s.poll)
	out := struct {
		Items   []any    `json:"items"`
		Missing []string `json:"missing"`
	}{Items: []any{}, Missing: []string{}}
	type result struct {
		v   any
		err error
	}
	res := make([]result, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		it := c.get(id)
		if it == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := it.kind.Detail(s, it, q)
			res[i] = result{v, err}
		}()
	}
	wg.Wait()
	for i, id := range ids {
		switch {
		case c.get(id) == nil:
			out.Missing = append(out.Missing, id)
		case res[i].err != nil:
			http.Error(w, id+": "+res[i].err.Error(), http.StatusInternalServerError)
			return
		default:
			out.Items = append(out.Items, res[i].v)
		}
	}
	writeJSON(w, r, out)
}

// file serves one file below a root: /files/<root index>/<path>. The path must be a plain
// relative path without hidden elements; os.Root refuses whatever would leave the folder.
// Failures all answer 404, so the answer does not tell what exists outside.
func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("root"))
	name := r.PathValue("name")
	if err != nil || n < 0 || n >= len(s.roots) || checkName(name) != nil || hidden(name) {
		http.NotFound(w, r)
		return
	}
	f, err := s.roots[n].Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType(name))
	h.Set("Cache-Control", "no-cache")
	// A file shown on its own runs nothing (an SVG with a script, an HTML file in a run folder).
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	if !strings.HasPrefix(h.Get("Content-Type"), "image/") && !strings.HasPrefix(h.Get("Content-Type"), "text/plain") &&
		h.Get("Content-Type") != "application/json" {
		h.Set("Content-Disposition", "attachment")
	}
	http.ServeContent(w, r, "", info.ModTime(), f)
}

func hidden(name string) bool {
	for _, p := range strings.Split(name, "/") {
		if strings.HasPrefix(p, ".") {
			return true
		}
	}
	return false
}
