package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// An output directory (a training run, a sweep, a range test) is never overwritten unless asked:
// a directory that holds a previous output is refused unless -overwrite (or, for a run,
// -resume) says what to do with it; a default name is made unique when it is created; and a
// lock file makes a second process that wants the same directory fail at once, naming the
// first. Nothing in the directory is touched until every check, the data's included, has passed.

// lockFile is the name of the lock in every output directory.
const lockFile = ".lock"

// outDir describes a command's output directory.
type outDir struct {
	flag      string   // the option that names it: "-run-dir" or "-out"
	path      string   // "" for a fresh default name under parent
	parent    string   // where default names go: "runs", "sweeps", "lrfind"
	what      string   // "run", "sweep", "range test"
	ours      []string // the files the command writes, which -overwrite replaces
	overwrite bool     // the previous output's files may be replaced
	resume    bool     // the output in path is continued
}

// inspect lists what path holds: the command's own files and anything else (the lock and
// temporary checkpoint files do not count).
func (d *outDir) inspect() (exists bool, ours, others []string, err error) {
	st, err := os.Stat(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil, nil, nil
	}
	if err != nil {
		return false, nil, nil, fmt.Errorf("%s: %w", d.flag, err)
	}
	if !st.IsDir() {
		return true, nil, nil, fmt.Errorf("%s %s: is a file; want a directory", d.flag, d.path)
	}
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return true, nil, nil, fmt.Errorf("%s: %w", d.flag, err)
	}
	own := map[string]bool{}
	for _, n := range d.ours {
		own[n] = true
	}
	for _, e := range entries {
		switch n := e.Name(); {
		case n == lockFile, strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp-"): // ours, left by a crash mid-write
		case own[n]:
			ours = append(ours, n)
		default:
			others = append(others, n)
		}
	}
	return true, ours, others, nil
}

// check refuses a directory that may not be written: it holds a previous output and neither
// -overwrite nor -resume was given, or it is in use by another process.
func (d *outDir) check() error { return d.verify(true) }

// verify is check; peek says whether to look at the lock (not when this process holds it).
func (d *outDir) verify(peek bool) error {
	if d.path == "" {
		return nil
	}
	exists, ours, others, err := d.inspect()
	if err != nil {
		return err
	}
	if !exists {
		if d.resume {
			return fmt.Errorf("-resume %s: no such run directory", d.path)
		}
		return nil
	}
	if peek {
		if err := peekLock(d.path, d.flag); err != nil {
			return err
		}
	}
	switch {
	case d.resume || d.overwrite:
		return nil
	case len(ours) > 0:
		how := "continue it with -resume " + d.path + ", or replace it with -overwrite"
		if d.what != "run" {
			how = "choose another " + d.flag + ", or replace it with -overwrite"
		}
		return fmt.Errorf("%s %s already holds a %s (%s); %s", d.flag, d.path, d.what, listNames(ours), how)
	case len(others) > 0:
		return fmt.Errorf("%s %s is not empty (it holds %s) and holds no gotrain %s; choose another directory, or give -overwrite to write into it anyway",
			d.flag, d.path, listNames(others), d.what)
	}
	return nil
}

// take makes the directory this process's: it creates it (a default name is made unique by
// creating it, retrying with a suffix while the name exists), locks it, checks it again under
// the lock (another process may have written it meanwhile), and with -overwrite removes the
// previous output's files. Call it only when every other check has passed.
func (d *outDir) take() (*dirLock, error) {
	if d.path == "" {
		if err := os.MkdirAll(d.parent, 0o755); err != nil {
			return nil, fmt.Errorf("%s: %w", d.flag, err)
		}
		base := filepath.Join(d.parent, time.Now().Format("20060102-150405"))
		for i := 1; ; i++ {
			p := base
			if i > 1 {
				p = base + "-" + strconv.Itoa(i)
			}
			err := os.Mkdir(p, 0o755)
			if err == nil {
				d.path = p
				break
			}
			if !errors.Is(err, fs.ErrExist) || i == 1000 {
				return nil, fmt.Errorf("creating the %s directory %s: %w", d.what, p, err)
			}
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(d.path), 0o755); err != nil {
			return nil, fmt.Errorf("%s %s: %w", d.flag, d.path, err)
		}
		if err := os.Mkdir(d.path, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s %s: %w", d.flag, d.path, err)
		}
	}
	lock, err := lockDir(d.path, d.flag)
	if err != nil {
		return nil, err
	}
	if err := d.verify(false); err != nil {
		lock.release()
		return nil, err
	}
	if d.overwrite && !d.resume {
		_, ours, _, err := d.inspect()
		if err != nil {
			lock.release()
			return nil, err
		}
		for _, n := range ours {
			if err := os.Remove(filepath.Join(d.path, n)); err != nil {
				lock.release()
				return nil, fmt.Errorf("-overwrite: %w", err)
			}
		}
	}
	return lock, nil
}

func listNames(names []string) string {
	sort.Strings(names)
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
	}
	return strings.Join(names, ", ")
}

// holder describes this process for the lock file: what a second process reports.
func holder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("pid %d on %s since %s (%s)", os.Getpid(), host, time.Now().Format(time.RFC3339), strings.Join(os.Args, " "))
}

// holderOf returns the holder description that read returns, reading again for up to 100 ms
// while it is empty: the process that takes a lock writes its description just after, so one
// refused in between would otherwise name no one.
func holderOf(read func() string) string {
	deadline := time.Now().Add(100 * time.Millisecond)
	for {
		who := strings.TrimSpace(read())
		if who != "" || time.Now().After(deadline) {
			return who
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// lockHeld is the error of a directory in use.
func lockHeld(flagName, dir, who string) error {
	who = strings.TrimSpace(who)
	if who == "" {
		who = "another process"
	}
	return fmt.Errorf("%s %s is in use by %s; wait for it to finish or choose another directory", flagName, dir, who)
}
