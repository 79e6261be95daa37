package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// copyTree copies testdata/tree (real runs, a real sweep and a study in the guessed format;
// see testdata/README.md) to a temporary folder, with every file dated two hours back so that
// nothing in it counts as live.
func copyTree(t testing.TB) string {
	t.Helper()
	dst := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	err := filepath.WalkDir("testdata/tree", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/tree", p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			return err
		}
		return os.Chtimes(to, old, old)
	})
	require.NoError(t, err)
	return dst
}

// stepLine is one line of steps.jsonl as gotrain train writes it (cmd/gotrain/run.go).
func stepLine(epoch, step int, loss, acc, lr, gn float64) string {
	b, _ := json.Marshal(map[string]any{"epoch": epoch, "step": step, "batch": 128, "loss": loss, "acc": acc,
		"lr": lr, "grad_norm": gn, "skipped": false})
	return string(b) + "\n"
}

// writeRun writes a run directory in train's format: steps steps of a decaying loss, one
// epoch line per stepsPerEpoch steps, options.json with the given options.
func writeRun(t testing.TB, dir string, steps, stepsPerEpoch int, seed uint64, opts map[string]string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	r := rand.New(rand.NewPCG(seed, 1))
	sf, err := os.Create(filepath.Join(dir, "steps.jsonl"))
	require.NoError(t, err)
	ef, err := os.Create(filepath.Join(dir, "epochs.jsonl"))
	require.NoError(t, err)
	buf := make([]byte, 0, 1<<20)
	for s := 1; s <= steps; s++ {
		ep := (s-1)/stepsPerEpoch + 1
		loss := 2.3*math.Exp(-float64(s)/float64(steps/4+1)) + 0.05 + 0.05*r.Float64()
		buf = append(buf, stepLine(ep, s, loss, 1-loss/2.5, 1e-3, 1+r.Float64())...)
		if len(buf) > 900<<10 {
			_, err := sf.Write(buf)
			require.NoError(t, err)
			buf = buf[:0]
		}
		if s%stepsPerEpoch == 0 {
			b, _ := json.Marshal(map[string]any{"epoch": ep, "train_loss": loss, "train_acc": 1 - loss/2.5, "eval_loss": loss * 1.1,
				"eval_acc": 1 - loss/2.4, "lr": 1e-3, "seconds": 1.5, "samples_per_sec": 40000})
			fmt.Fprintln(ef, string(b))
		}
	}
	_, err = sf.Write(buf)
	require.NoError(t, err)
	require.NoError(t, sf.Close())
	require.NoError(t, ef.Close())
	b, _ := json.MarshalIndent(opts, "", "  ")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "options.json"), append(b, '\n'), 0o644))
}

// appendFile appends text to a file, as a run writing its logs does.
func appendFile(t testing.TB, name, text string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(t, err)
	_, err = io.WriteString(f, text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// snapshot records every file's name, size, time and content hash below dir, to prove the
// server wrote nothing.
func snapshot(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v %d %d", p, info.Mode(), info.Size(), info.ModTime().UnixNano())
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			line += " " + hex.EncodeToString(h[:8])
		}
		out = append(out, line)
		return nil
	})
	require.NoError(t, err)
	sort.Strings(out)
	return out
}

// newTestServer serves dirs on an httptest server with fast polling.
func newTestServer(t testing.TB, dirs ...string) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(Config{Dirs: dirs, Required: true, Poll: 100 * time.Millisecond})
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return s, ts
}

// getJSON fetches a URL of the test server and decodes its JSON answer.
func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", url, b)
	require.NoError(t, json.Unmarshal(b, v), "%s", b)
}
