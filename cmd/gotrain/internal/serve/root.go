package serve

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// readRoot is one folder given to serve, opened as an os.Root so that no name, however it is
// spelled or linked, reaches outside it (os.Root refuses "..", absolute names and symbolic links
// that leave the tree). It exposes reads only: nothing in this package can write into a run.
type readRoot struct {
	path string // as given on the command line

	mu   sync.Mutex
	root *os.Root // nil while the folder does not exist
	info fs.FileInfo
}

// errOutside is the answer to a name that is not a plain path below a root.
var errOutside = errors.New("not a path below the served folders")

// open (re)opens the folder; a default folder that does not exist yet stays closed and is looked
// for again at the next scan, and a folder deleted and made again is reopened.
func (r *readRoot) open() (*os.Root, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	info, err := os.Stat(r.path)
	if err != nil {
		r.root, r.info = nil, nil
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", r.path)
	}
	if r.root != nil && os.SameFile(info, r.info) {
		return r.root, nil
	}
	root, err := os.OpenRoot(r.path)
	if err != nil {
		return nil, err
	}
	// The previous handle, if any, is left to the garbage collector: a request may still hold it.
	r.root, r.info = root, info
	return root, nil
}

func (r *readRoot) current() (*os.Root, error) {
	r.mu.Lock()
	root := r.root
	r.mu.Unlock()
	if root == nil {
		return nil, fs.ErrNotExist
	}
	return root, nil
}

// checkName accepts only what fs.ValidPath does (slash-separated, no "." or ".." elements, no
// leading slash) and no backslashes or NUL bytes, so that the name means the same on every system.
func checkName(name string) error {
	if !fs.ValidPath(name) || strings.ContainsAny(name, "\\\x00") {
		return fmt.Errorf("%q: %w", name, errOutside)
	}
	return nil
}

// Open opens a file below the root for reading.
func (r *readRoot) Open(name string) (*os.File, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	root, err := r.current()
	if err != nil {
		return nil, err
	}
	return root.Open(name)
}

// Stat follows symbolic links that stay inside the root.
func (r *readRoot) Stat(name string) (fs.FileInfo, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	root, err := r.current()
	if err != nil {
		return nil, err
	}
	return root.Stat(name)
}

// ReadDir lists a folder below the root; symbolic links are listed as links, not followed.
func (r *readRoot) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	root, err := r.current()
	if err != nil {
		return nil, err
	}
	return fs.ReadDir(root.FS(), name)
}

// ReadFile reads a whole small file, refusing one larger than limit bytes.
func (r *readRoot) ReadFile(name string, limit int64) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes: %w", name, limit, errTooLarge)
	}
	return b, nil
}
