package serve

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type itemsAnswer struct {
	Roots []rootInfo `json:"roots"`
	Items []struct {
		ID       string             `json:"id"`
		Kind     string             `json:"kind"`
		Name     string             `json:"name"`
		Parent   string             `json:"parent"`
		Members  []string           `json:"members"`
		Status   string             `json:"status"`
		Steps    int                `json:"steps"`
		Epochs   int                `json:"epochs"`
		Rows     int                `json:"rows"`
		Metrics  map[string]float64 `json:"metrics"`
		Options  map[string]string  `json:"options"`
		Modified time.Time          `json:"modified"`
	} `json:"items"`
}

type detailAnswer struct {
	Items []struct {
		ID      string            `json:"id"`
		Kind    string            `json:"kind"`
		Options map[string]string `json:"options"`
		Steps   struct {
			Rows   int                              `json:"rows"`
			Series map[string]map[string][]*float64 `json:"series"`
		} `json:"steps"`
		Epochs struct {
			Rows   int                              `json:"rows"`
			Series map[string]map[string][]*float64 `json:"series"`
		} `json:"epochs"`
		DiagKeys []string `json:"diagnostics_metrics"`
		// grids
		Columns    []gridColumn `json:"columns"`
		Rows       [][]any      `json:"rows"`
		RowItems   []string     `json:"row_items"`
		Importance []importance `json:"importance"`
		Curves     []gridCurve  `json:"curves"`
	} `json:"items"`
	Missing []string `json:"missing"`
}

func TestTheListingFindsRunsSweepsAndStudies(t *testing.T) {
	root := copyTree(t)
	_, ts := newTestServer(t, filepath.Join(root, "runs"), filepath.Join(root, "sweeps"), filepath.Join(root, "studies"))
	var a itemsAnswer
	getJSON(t, ts.URL+"/api/items", &a)
	kinds := map[string]int{}
	byID := map[string]int{}
	for i, it := range a.Items {
		kinds[it.Kind]++
		byID[it.ID] = i
	}
	assert.Equal(t, map[string]int{"run": 13, "sweep": 1, "study": 1}, kinds, "3 runs, and a study of 10 trials")
	run := a.Items[byID["0/adam-1e-3"]]
	assert.Equal(t, 395, run.Steps)
	assert.Equal(t, 5, run.Epochs)
	assert.Equal(t, "done", run.Status, "5 of 5 epochs, written two hours ago")
	assert.Equal(t, map[string]string{"epochs": "5"}, run.Options)
	assert.InDelta(t, 0.9395, run.Metrics["best_eval_acc"], 1e-6)
	study := a.Items[byID["2/mnist-tpe"]]
	assert.Equal(t, 10, study.Rows)
	assert.Equal(t, 6.0, study.Metrics["pruned"])
	assert.Len(t, study.Members, 10)
	assert.Equal(t, "2/mnist-tpe", a.Items[byID["2/mnist-tpe/trial-0003"]].Parent)
	sweep := a.Items[byID["1/optimizers"]]
	assert.Equal(t, 9, sweep.Rows)
	assert.InDelta(t, 0.936, sweep.Metrics["best_eval_acc"], 1e-9)
}

func TestARunsDetailIsDownsampledAndComplete(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, filepath.Join(dir, "long"), 10000, 1000, 1, map[string]string{"epochs": "10", "lr": "0.01"})
	_, ts := newTestServer(t, dir)
	var d detailAnswer
	getJSON(t, ts.URL+"/api/detail?id=0/long&points=500&smooth=0.9", &d)
	require.Len(t, d.Items, 1)
	r := d.Items[0]
	assert.Equal(t, 10000, r.Steps.Rows)
	loss := r.Steps.Series["loss"]
	assert.LessOrEqual(t, len(loss["x"]), 2*500+2)
	assert.Greater(t, len(loss["x"]), 500)
	assert.Len(t, loss["s"], len(loss["x"]), "smoothed values at the same steps")
	assert.Equal(t, 1.0, *loss["x"][0])
	assert.Equal(t, 10000.0, *loss["x"][len(loss["x"])-1])
	assert.ElementsMatch(t, []string{"loss", "acc", "lr", "grad_norm"}, keys(r.Steps.Series))
	assert.Equal(t, 10, r.Epochs.Rows)
	assert.Len(t, r.Epochs.Series["eval_acc"]["y"], 10)
	assert.Equal(t, "0.01", r.Options["lr"])

	var only detailAnswer
	getJSON(t, ts.URL+"/api/detail?id=0/long&m=lr", &only)
	assert.Equal(t, []string{"lr"}, keys(only.Items[0].Steps.Series))

	for _, bad := range []string{"points=0", "points=x", "smooth=1", "smooth=-0.1", "smooth=NaN"} {
		resp, err := http.Get(ts.URL + "/api/detail?id=0/long&" + bad)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, bad)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestASweepDetailMatchesCurvesToRows(t *testing.T) {
	root := copyTree(t)
	_, ts := newTestServer(t, filepath.Join(root, "sweeps"))
	var d detailAnswer
	getJSON(t, ts.URL+"/api/detail?id=0/optimizers", &d)
	g := d.Items[0]
	require.Len(t, g.Rows, 9)
	roles := map[string]string{}
	for _, c := range g.Columns {
		roles[c.Name] = c.Role
	}
	assert.Equal(t, "param", roles["lr"])
	assert.Equal(t, "param", roles["optimizer"])
	assert.Equal(t, "objective", roles["best_eval_acc"])
	assert.Equal(t, "metric", roles["final_train_loss"])
	require.Len(t, g.Curves, 9)
	lr, opt := colIndex(g.Columns, "lr"), colIndex(g.Columns, "optimizer")
	for _, c := range g.Curves {
		require.GreaterOrEqual(t, c.Row, 0, "%q matched no row", c.Name)
		row := g.Rows[c.Row]
		assert.Contains(t, c.Name, row[opt].(string))
		_, rate, _ := strings.Cut(c.Name, "lr=")
		assert.True(t, cellEquals(row[lr], rate), "%q is row %v", c.Name, row)
		assert.Len(t, c.X, 3)
	}
	var names []string
	for _, im := range g.Importance {
		names = append(names, im.Param)
		assert.True(t, im.Value >= 0 && im.Value <= 1, "%v", im)
	}
	assert.ElementsMatch(t, []string{"lr", "optimizer"}, names, "only what varies")
}

func TestAStudyDetailRanksTrialsAndExplainsPruning(t *testing.T) {
	root := copyTree(t)
	_, ts := newTestServer(t, filepath.Join(root, "studies"))
	var d detailAnswer
	getJSON(t, ts.URL+"/api/detail?id=0/mnist-tpe", &d)
	g := d.Items[0]
	require.Len(t, g.Rows, 10)
	val, st, num, why := colIndex(g.Columns, "value"), colIndex(g.Columns, "state"), colIndex(g.Columns, "trial"), colIndex(g.Columns, "pruned_reason")
	for i := 1; i < len(g.Rows); i++ {
		assert.GreaterOrEqual(t, g.Rows[i-1][val].(float64), g.Rows[i][val].(float64), "maximized: best first")
	}
	pruned := 0
	for i, r := range g.Rows {
		assert.Equal(t, fmt.Sprintf("0/mnist-tpe/trial-%04d", int(r[num].(float64))), g.RowItems[i], "each trial's run directory")
		if r[st] == "PRUNED" {
			pruned++
			assert.Contains(t, r[why], "median rule")
		}
	}
	assert.Equal(t, 6, pruned)
	require.Len(t, g.Curves, 10)
	for _, c := range g.Curves {
		if c.State == "PRUNED" {
			assert.Len(t, c.X, 1, "pruned after one epoch")
			assert.Contains(t, c.Reason, "median rule at epoch 1")
		} else {
			assert.Len(t, c.X, 3)
			assert.Empty(t, c.Reason)
		}
	}
}

func TestVarianceImportance(t *testing.T) {
	cols := []gridColumn{{Name: "a", Role: "param"}, {Name: "b", Role: "param"}, {Name: "y", Role: "objective", Numeric: true}}
	total := func(im importance) float64 {
		require.NotNil(t, im.Total, im.Param)
		return *im.Total
	}
	// y depends on a only: a explains everything, alone and with b; b nothing.
	rows := [][]any{{"x", "p", 1.0}, {"x", "q", 1.0}, {"z", "p", 3.0}, {"z", "q", 3.0}}
	imp, skipped := varianceImportance(cols, rows, 2)
	require.Len(t, imp, 2)
	assert.Equal(t, "a", imp[0].Param)
	assert.Equal(t, 1.0, imp[0].Value)
	assert.Equal(t, 1.0, total(imp[0]))
	assert.Equal(t, 0.0, imp[1].Value)
	assert.Equal(t, 0.0, total(imp[1]))
	assert.Empty(t, skipped)

	// Pure interaction (y = a XOR b): neither explains anything alone, each everything with the other.
	rows = [][]any{{"x", "p", 0.0}, {"x", "q", 1.0}, {"z", "p", 1.0}, {"z", "q", 0.0}}
	imp, _ = varianceImportance(cols, rows, 2)
	for _, im := range imp {
		assert.Equal(t, 0.0, im.Value, im.Param)
		assert.Equal(t, 1.0, total(im), im.Param)
	}

	// By hand: y = 1,2,3,6 over a = x,x,z,z and b = p,q,p,q. Mean 3, SS_total 4+1+0+9 = 14.
	// a: group means 1.5 and 4.5, SS_between 2·2.25·2 = 9: alone 9/14. b: means 2 and 4,
	// SS_between 2·1·2 = 4: alone 4/14. a with interactions: 1 − 4/14; b: 1 − 9/14.
	rows = [][]any{{"x", "p", 1.0}, {"x", "q", 2.0}, {"z", "p", 3.0}, {"z", "q", 6.0}}
	imp, _ = varianceImportance(cols, rows, 2)
	require.Len(t, imp, 2)
	assert.Equal(t, "a", imp[0].Param)
	assert.InDelta(t, 9.0/14, imp[0].Value, 1e-12)
	assert.InDelta(t, 1-4.0/14, total(imp[0]), 1e-12)
	assert.InDelta(t, 4.0/14, imp[1].Value, 1e-12)
	assert.InDelta(t, 1-9.0/14, total(imp[1]), 1e-12)

	// A parameter with a value per row says nothing alone; with b constant there is nothing else.
	cols1 := []gridColumn{{Name: "a", Role: "param"}, {Name: "y", Role: "objective", Numeric: true}}
	imp, skipped = varianceImportance(cols1, [][]any{{"x", 1.0}, {"y", 2.0}, {"z", 3.0}}, 1)
	assert.Equal(t, []string{"a"}, skipped)
	assert.Empty(t, imp)
}

func TestLiveUpdatesArriveOverServerSentEvents(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, filepath.Join(dir, "a"), 100, 50, 1, map[string]string{})
	_, ts := newTestServer(t, dir)
	resp, err := http.Get(ts.URL + "/api/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
		close(events)
	}()
	next := func(what string) string {
		select {
		case e := <-events:
			return e
		case <-time.After(3 * time.Second):
			t.Fatalf("no event for %s", what)
		}
		return ""
	}
	// Append a step until an event names the run: the watcher's first look may come after
	// the first append, which it then takes as the state it starts from.
	appended := 100
	var first string
	for first == "" {
		appended++
		appendFile(t, filepath.Join(dir, "a", "steps.jsonl"), stepLine(2, appended, 0.1, 0.9, 1e-3, 1))
		select {
		case first = <-events:
		case <-time.After(500 * time.Millisecond):
			require.Less(t, appended, 110, "no event for appended steps")
		}
	}
	assert.Contains(t, first, `"changed":["0/a"]`)
	var d detailAnswer
	getJSON(t, ts.URL+"/api/detail?id=0/a", &d)
	assert.Equal(t, appended, d.Items[0].Steps.Rows)

	writeRun(t, filepath.Join(dir, "b"), 10, 10, 2, map[string]string{})
	e := next("a new run")
	assert.Contains(t, e, `"items":true`)
	assert.Contains(t, e, `"0/b"`)

	require.NoError(t, os.RemoveAll(filepath.Join(dir, "a")))
	e = next("a deleted run")
	assert.Contains(t, e, `"items":true`)
	assert.Contains(t, e, `"0/a"`)
	getJSON(t, ts.URL+"/api/detail?id=0/a&id=0/b", &d)
	assert.Equal(t, []string{"0/a"}, d.Missing)
	assert.Len(t, d.Items, 1)
}

// rawGet sends a request line exactly as given (no client-side cleaning of the path) and
// returns the status and body.
func rawGet(t *testing.T, addr, method, target string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", method, target, addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNoPathLeavesTheServedFolders(t *testing.T) {
	base := t.TempDir()
	secret := "the secret outside the tree"
	require.NoError(t, os.WriteFile(filepath.Join(base, "secret.txt"), []byte(secret), 0o644))
	root := filepath.Join(base, "runs")
	writeRun(t, filepath.Join(root, "a"), 10, 10, 1, map[string]string{})
	require.NoError(t, os.WriteFile(filepath.Join(root, "a", "note.txt"), []byte("inside"), 0o644))
	// Links out of the tree, a relative and an absolute one, and a folder link; and one inside.
	require.NoError(t, os.Symlink("../../secret.txt", filepath.Join(root, "a", "out.txt")))
	require.NoError(t, os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(root, "a", "abs.txt")))
	require.NoError(t, os.Symlink(base, filepath.Join(root, "up")))
	require.NoError(t, os.Symlink("note.txt", filepath.Join(root, "a", "in.txt")))
	// A run folder that is a link out of the tree is not listed either.
	outside := filepath.Join(base, "elsewhere")
	writeRun(t, outside, 5, 5, 2, map[string]string{})
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "linked")))
	_, ts := newTestServer(t, root)
	addr := strings.TrimPrefix(ts.URL, "http://")
	secretAbs := filepath.Join(base, "secret.txt")

	code, body := rawGet(t, addr, "GET", "/files/0/a/note.txt")
	require.Equal(t, 200, code)
	require.Equal(t, "inside", body)
	code, body = rawGet(t, addr, "GET", "/files/0/a/in.txt")
	assert.Equal(t, 200, code, "a link inside the tree is fine")
	assert.Equal(t, "inside", body)

	attempts := []string{
		"/files/0/../secret.txt",
		"/files/0/a/../../secret.txt",
		"/files/0/%2e%2e/secret.txt",
		"/files/0/%2E%2E/secret.txt",
		"/files/0/a/%2e%2e/%2e%2e/secret.txt",
		"/files/0/%2e%2e%2fsecret.txt",
		"/files/0/a%2f..%2f..%2fsecret.txt",
		"/files/0/%252e%252e/secret.txt",
		"/files/0/%252e%252e%252fsecret.txt",
		"/files/0/..%5csecret.txt",
		"/files/0/" + secretAbs,
		"/files/0/" + url.PathEscape(secretAbs),
		"/files/0//" + secretAbs,
		"/files/0/%2f" + strings.TrimPrefix(secretAbs, "/"),
		"/files/0/a/out.txt",
		"/files/0/a/abs.txt",
		"/files/0/up/secret.txt",
		"/files/0/a/note.txt%00",
		"/files/1/secret.txt",
		"/files/-1/secret.txt",
		"/files/0/.",
		"/files/0/a",
		"/files/0/linked/steps.jsonl",
		"/../secret.txt",
		"/assets/../../secret.txt",
		"/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
		"//" + addr + "/files/0/../secret.txt",
	}
	for _, p := range attempts {
		code, body := rawGet(t, addr, "GET", p)
		assert.NotContains(t, body, secret, "%s gave the secret", p)
		assert.NotEqual(t, 200, code, "%s", p)
	}
	// The API takes only ids of items it listed.
	for _, id := range []string{"0/..", "0/../..", "0/" + base, "0/%2e%2e", "0/up", "0/linked", "0/a/../a", "1/a", "x"} {
		var d detailAnswer
		getJSON(t, ts.URL+"/api/detail?id="+url.QueryEscape(id), &d)
		assert.Equal(t, []string{id}, d.Missing, "id %q", id)
	}
	var a itemsAnswer
	getJSON(t, ts.URL+"/api/items", &a)
	require.Len(t, a.Items, 1, "only the run inside the tree")
	assert.Equal(t, "0/a", a.Items[0].ID)
}

func TestOnlyGETAndHEADAreAnswered(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, filepath.Join(dir, "a"), 10, 10, 1, map[string]string{})
	_, ts := newTestServer(t, dir)
	addr := strings.TrimPrefix(ts.URL, "http://")
	for _, p := range []string{"/", "/api/items", "/api/detail?id=0/a", "/files/0/a/steps.jsonl", "/api/events", "/nowhere"} {
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"} {
			req, err := http.NewRequest(m, ts.URL+p, strings.NewReader("x"))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s %s", m, p)
			assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
		}
		if p != "/api/events" {
			code, _ := rawGet(t, addr, "HEAD", p)
			assert.Contains(t, []int{200, 404}, code, "HEAD %s", p)
		}
	}
}

func TestEveryAnswerCarriesSafeHeaders(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, filepath.Join(dir, "a"), 10, 10, 1, map[string]string{})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a", "x.html"), []byte("<script>alert(1)</script>"), 0o644))
	_, ts := newTestServer(t, dir)
	types := map[string]string{
		"/":                         "text/html; charset=utf-8",
		"/assets/app.js":            "text/javascript; charset=utf-8",
		"/assets/uPlot.iife.min.js": "text/javascript; charset=utf-8",
		"/assets/app.css":           "text/css; charset=utf-8",
		"/api/items":                "application/json",
		"/files/0/a/steps.jsonl":    "text/plain; charset=utf-8",
		"/files/0/a/options.json":   "application/json",
		"/files/0/a/x.html":         "text/html; charset=utf-8",
		"/nowhere":                  "text/plain; charset=utf-8",
	}
	for p, ct := range types {
		resp, err := http.Get(ts.URL + p)
		require.NoError(t, err)
		resp.Body.Close()
		h := resp.Header
		assert.Equal(t, ct, h.Get("Content-Type"), p)
		assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), p)
		assert.Contains(t, h.Get("Content-Security-Policy"), "default-src 'none'", p)
		assert.NotContains(t, h.Get("Content-Security-Policy"), "unsafe-eval", p)
		assert.Equal(t, "DENY", h.Get("X-Frame-Options"), p)
		if strings.HasPrefix(p, "/files/") {
			assert.Contains(t, h.Get("Content-Security-Policy"), "sandbox", "a served file runs nothing: %s", p)
		}
	}
	resp, err := http.Get(ts.URL + "/files/0/a/x.html")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "attachment", resp.Header.Get("Content-Disposition"), "an HTML file is a download, not a page of this origin")
}

func TestAForeignHostIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := New(Config{Dirs: []string{dir}, Required: true, Hosts: []string{"localhost"}})
	require.NoError(t, err)
	h := s.Handler()
	for host, want := range map[string]int{"localhost:7007": 200, "127.0.0.1:7007": 200, "[::1]:7007": 200, "localhost": 200,
		"evil.example:7007": http.StatusMisdirectedRequest, "127.0.0.1.nip.io": http.StatusMisdirectedRequest} {
		req, _ := http.NewRequest("GET", "/api/items", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, want, rec.Code, host)
	}
}

func TestServingNeverWritesIntoTheFolders(t *testing.T) {
	root := copyTree(t)
	writeRun(t, filepath.Join(root, "runs", "long"), 3000, 300, 9, map[string]string{"epochs": "10"})
	require.NoError(t, os.WriteFile(filepath.Join(root, "runs", "long", "diagnostics.jsonl"), []byte(`{"step":1,"layers":{"w1":{"grad_norm":1}}}`+"\n"), 0o644))
	before := snapshot(t, root)
	_, ts := newTestServer(t, filepath.Join(root, "runs"), filepath.Join(root, "sweeps"), filepath.Join(root, "studies"))
	resp, err := http.Get(ts.URL + "/api/events")
	require.NoError(t, err)
	var a itemsAnswer
	getJSON(t, ts.URL+"/api/items", &a)
	for _, it := range a.Items {
		var d detailAnswer
		getJSON(t, ts.URL+"/api/detail?id="+url.QueryEscape(it.ID)+"&smooth=0.5", &d)
		require.Len(t, d.Items, 1, it.ID)
		rawGet(t, strings.TrimPrefix(ts.URL, "http://"), "GET", "/files/"+it.ID+"/epochs.jsonl")
	}
	time.Sleep(300 * time.Millisecond) // a few watcher scans
	resp.Body.Close()
	assert.Equal(t, before, snapshot(t, root))
}

func TestEvictionKeepsAnswersRight(t *testing.T) {
	dir := t.TempDir()
	for i := range 5 {
		writeRun(t, filepath.Join(dir, fmt.Sprint("r", i)), 2000, 500, uint64(i), map[string]string{})
	}
	s, err := New(Config{Dirs: []string{dir}, Required: true, MaxValues: 20000}) // about one run's steps
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for round := 0; round < 2; round++ {
		for i := range 5 {
			var d detailAnswer
			getJSON(t, ts.URL+"/api/detail?id=0/r"+fmt.Sprint(i), &d)
			assert.Equal(t, 2000, d.Items[0].Steps.Rows)
		}
	}
	total := 0
	for _, tb := range s.store.tables {
		total += tb.rows * len(tb.order)
	}
	assert.LessOrEqual(t, total, 20000+2000*8, "within the limit, give or take the table in use")
}

func TestBadFilesAreNotesNotFailures(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "bad-run")
	require.NoError(t, os.MkdirAll(run, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(run, "options.json"), []byte("{"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(run, "steps.jsonl"), []byte("\x00\xff garbage\n[1,2]\n"+stepLine(1, 1, 1, 1, 1, 1)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(run, "epochs.jsonl"), []byte("}}}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(run, "diagnostics.jsonl"), []byte(`{"step":"x","layers":[[[]]]}`+"\n"), 0o644))
	sweep := filepath.Join(dir, "bad-sweep")
	require.NoError(t, os.MkdirAll(sweep, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sweep, "sweep.csv"), []byte("rank,lr\n1,\"0.1\n2,x,y,z\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(sweep, "curves.csv"), []byte("run,epoch\n\"lr=0.1\",one\n"), 0o644))
	study := filepath.Join(dir, "bad-study")
	require.NoError(t, os.MkdirAll(study, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(study, "trials.csv"), []byte("state\nPRUNED\n\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(study, "study.json"), []byte("[]"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(study, "importance.csv"), []byte("lr\n"), 0o644))
	only := filepath.Join(dir, "db-only")
	require.NoError(t, os.MkdirAll(only, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(only, "study.db"), []byte("SQLite format 3\x00"), 0o644))
	_, ts := newTestServer(t, dir)

	var a itemsAnswer
	getJSON(t, ts.URL+"/api/items", &a)
	require.Len(t, a.Items, 4)
	for _, it := range a.Items {
		var d struct {
			Items []struct {
				Notes []string `json:"notes"`
			} `json:"items"`
		}
		getJSON(t, ts.URL+"/api/detail?id="+url.QueryEscape(it.ID), &d)
		require.Len(t, d.Items, 1, it.ID)
		if it.ID == "0/bad-run" {
			assert.NotEmpty(t, d.Items[0].Notes, "a broken options.json is said")
			assert.Equal(t, 1, it.Steps)
		}
	}
	var d detailAnswer
	getJSON(t, ts.URL+"/api/detail?id=0/bad-run", &d)
	assert.Equal(t, 1, d.Items[0].Steps.Rows, "the one good line of steps.jsonl")
}
