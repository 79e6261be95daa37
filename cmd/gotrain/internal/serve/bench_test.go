package serve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The benchmark tree: 200 runs of 10,000 steps (1,000 per epoch), as train writes them.
const (
	benchRuns  = 200
	benchSteps = 10000
)

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

// TestMain removes the benchmark tree, which is made once per process (280 MB) and shared by
// the benchmarks.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func benchTree(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "gotrain-serve-bench-")
		if benchErr != nil {
			return
		}
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, benchRuns)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < benchRuns; i += 4 {
					if err := writeBenchRun(filepath.Join(benchDir, fmt.Sprintf("run-%03d", i)), uint64(i)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		benchErr = <-errs
		b.Logf("made %d runs of %d steps in %v", benchRuns, benchSteps, time.Since(start))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

// writeBenchRun writes one run's files with the keys, order and number formatting of
// encoding/json, which train uses.
func writeBenchRun(dir string, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(seed, 7))
	var steps, epochs []byte
	for s := 1; s <= benchSteps; s++ {
		ep := (s-1)/1000 + 1
		loss := 2.3*math.Exp(-float64(s)/3000) + 0.05*r.Float64()
		steps = fmt.Appendf(steps, `{"acc":%s,"batch":128,"epoch":%d,"grad_norm":%s,"loss":%s,"lr":0.001,"skipped":false,"step":%d}`+"\n",
			strconv.FormatFloat(1-loss/2.5, 'g', -1, 64), ep, strconv.FormatFloat(1+r.Float64(), 'g', -1, 64),
			strconv.FormatFloat(loss, 'g', -1, 64), s)
		if s%1000 == 0 {
			epochs = fmt.Appendf(epochs, `{"epoch":%d,"eval_acc":%g,"eval_loss":%g,"lr":0.001,"samples_per_sec":41000.5,"seconds":3.1,"train_acc":%g,"train_loss":%g}`+"\n",
				ep, 1-loss/2.4, loss*1.1, 1-loss/2.5, loss)
		}
	}
	opts := fmt.Sprintf("{\n  \"epochs\": \"10\",\n  \"lr\": \"%g\"\n}\n", 1e-3*float64(1+seed%7))
	for name, b := range map[string][]byte{"steps.jsonl": steps, "epochs.jsonl": epochs, "options.json": []byte(opts)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func serveOnce(b *testing.B, h http.Handler, target string) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	if rec.Code != 200 {
		b.Fatalf("%s: %d %s", target, rec.Code, rec.Body.String())
	}
	return rec.Body.Len()
}

func newBenchServer(b *testing.B, dir string) *Server {
	s, err := New(Config{Dirs: []string{dir}, Required: true})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkServe times the HTTP handlers over 200 runs of 10,000 steps: the listing the page
// opens with (/api/items) and one overlay of 10 runs (/api/detail with 10 ids, 800 buckets,
// smoothing on), each cold (a new server: every file read and parsed) and warm (a server that
// has read them: only stats, and the bytes appended since). The files are in the OS page cache
// in both, having just been written.
//
//	go test -run xxx -bench Serve -count 5 -cpu 2 ./cmd/gotrain/internal/serve/
func BenchmarkServe(b *testing.B) {
	dir := benchTree(b)
	ids := url.Values{}
	for i := 0; i < 10; i++ {
		ids.Add("id", fmt.Sprintf("0/run-%03d", i*17))
	}
	overlay := "/api/detail?" + ids.Encode() + "&points=800&smooth=0.6"

	b.Run("page", func(b *testing.B) {
		h := newBenchServer(b, dir).Handler()
		for b.Loop() {
			serveOnce(b, h, "/")
		}
	})
	b.Run("index/cold", func(b *testing.B) {
		for b.Loop() {
			serveOnce(b, newBenchServer(b, dir).Handler(), "/api/items")
		}
	})
	b.Run("index/warm", func(b *testing.B) {
		s := newBenchServer(b, dir)
		h := s.Handler()
		serveOnce(b, h, "/api/items")
		for b.Loop() {
			// Force a rescan each time, as a page open during training causes.
			s.mu.Lock()
			s.cat.at = time.Time{}
			s.mu.Unlock()
			serveOnce(b, h, "/api/items")
		}
	})
	b.Run("overlay10/cold", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n = serveOnce(b, newBenchServer(b, dir).Handler(), overlay)
		}
		b.ReportMetric(float64(n)/1e3, "kB/answer")
	})
	b.Run("overlay10/warm", func(b *testing.B) {
		h := newBenchServer(b, dir).Handler()
		serveOnce(b, h, overlay)
		for b.Loop() {
			serveOnce(b, h, overlay)
		}
	})
}

// BenchmarkReadSteps reads one run's steps.jsonl (10,000 lines) into columns, beside the
// baseline of decoding each line with encoding/json into a map (what a straightforward reader
// would do) and beside reading the bytes alone.
//
//	go test -run xxx -bench ReadSteps -count 5 ./cmd/gotrain/internal/serve/
func BenchmarkReadSteps(b *testing.B) {
	dir := b.TempDir()
	if err := writeBenchRun(filepath.Join(dir, "r"), 1); err != nil {
		b.Fatal(err)
	}
	r := &readRoot{path: dir}
	if _, err := r.open(); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "r", "steps.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ours", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			t := newTable("r/steps.jsonl", false)
			if err := t.refresh(r); err != nil || t.rows != benchSteps {
				b.Fatal(err, t.rows)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			f, err := r.Open("r/steps.jsonl")
			if err != nil {
				b.Fatal(err)
			}
			sc := bufio.NewScanner(f)
			cols := map[string][]float32{}
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					b.Fatal(err)
				}
				for k, v := range m {
					if x, ok := v.(float64); ok {
						cols[k] = append(cols[k], float32(x))
					}
				}
			}
			f.Close()
		}
	})
	b.Run("read-only", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		buf := make([]byte, 64<<10)
		for b.Loop() {
			f, err := r.Open("r/steps.jsonl")
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := f.Read(buf); err != nil {
					break
				}
			}
			f.Close()
		}
	})
}
