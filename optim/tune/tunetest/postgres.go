// Package tunetest starts a throwaway PostgreSQL server for tests of studies that span
// machines, from the server binaries Debian's postgresql package installs.
//
// A test calling Postgres is skipped when no server binaries are found, unless the environment
// sets GOTRAIN_REQUIRE_POSTGRES (CI does), which turns the skip into a failure so the test
// cannot silently stop running.
package tunetest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// RequireEnv is the variable that makes a missing PostgreSQL a failure instead of a skip.
const RequireEnv = "GOTRAIN_REQUIRE_POSTGRES"

// BinDir finds initdb and pg_ctl: pg_config --bindir, else the newest
// /usr/lib/postgresql/*/bin.
func BinDir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl): install Debian's postgresql package")
}

// Postgres starts a server in a temporary folder (data and unix socket both inside it, no TCP
// port) and returns a connection string for it; the server is stopped and the folder removed
// when the test ends. initdb refuses to run as root, so as root the server runs as the
// unprivileged user nobody (through runuser).
func Postgres(t testing.TB) string {
	t.Helper()
	bin, err := BinDir()
	if err != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%v (%s is set, so this test must run)", err, RequireEnv)
		}
		t.Skipf("%v; set %s to make this a failure", err, RequireEnv)
	}
	// Not t.TempDir: its parents are private to this user, and the server may run as another.
	dir, err := os.MkdirTemp("", "gotrain-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var as []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("running as root, and there is no user nobody to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		runuser, err := exec.LookPath("runuser")
		for _, p := range []string{"/usr/sbin/runuser", "/sbin/runuser"} {
			if err != nil {
				if _, serr := os.Stat(p); serr == nil {
					runuser, err = p, nil
				}
			}
		}
		if err != nil {
			t.Fatalf("running as root, and runuser (util-linux) is missing to run PostgreSQL as nobody: %v", err)
		}
		as = []string{runuser, "-u", "nobody", "--"}
	}
	command := func(name string, args ...string) *exec.Cmd {
		argv := append(append(append([]string{}, as...), filepath.Join(bin, name)), args...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		return cmd
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := command(name, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out.String(), log)
		}
	}
	data := filepath.Join(dir, "data")
	run("initdb", "-D", data, "-A", "trust", "-U", "tune", "-E", "UTF8", "--no-sync")
	// A random port only names the socket file (no TCP), and keeps parallel servers' shared
	// memory keys apart.
	port := 20000 + rand.IntN(30000)
	run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o",
		fmt.Sprintf("-k %s -c listen_addresses='' -p %d -c fsync=off -c max_connections=100", dir, port), "start")
	t.Cleanup(func() {
		_ = command("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop").Run()
		os.RemoveAll(dir)
	})
	return fmt.Sprintf("host=%s port=%d user=tune dbname=postgres sslmode=disable", dir, port)
}
