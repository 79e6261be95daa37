package serve

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateReadme = flag.Bool("readme", false, "also write the browser test's screenshots to the repository's testdata/readme/serve-*.png")

// browserEnv, set to 1 (by .ci/run), makes a missing browser a failure instead of a skip.
const browserEnv = "GOTRAIN_BROWSER_TESTS"

// findBrowser looks for Chromium (Debian's package installs /usr/bin/chromium) or Chrome.
func findBrowser() string {
	for _, n := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if n == "" {
			continue
		}
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts headless Chromium with a fresh profile and without the background
// connections a closed network refuses.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := findBrowser()
	if exe == "" {
		msg := "no Chromium or Chrome found (apt-get install -y chromium, or set CHROMIUM to its path)"
		if os.Getenv(browserEnv) == "1" {
			t.Fatalf("%s, and %s=1 says the browser tests must run", msg, browserEnv)
		}
		t.Skipf("%s: skipping the browser tests; set %s=1 to make this a failure", msg, browserEnv)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1360, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelC()
		cancelA()
	})
	// Start the browser now (without a deadline: it would stop the browser), so one that
	// cannot start fails here, naming it.
	require.NoError(t, chromedp.Do(ctx), "starting %s", exe)
	return ctx
}

// artifacts is where screenshots go: $GOTRAIN_ARTIFACTS, else a temporary folder.
func artifacts(t *testing.T) string {
	dir := os.Getenv("GOTRAIN_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, "serve")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Logf("screenshots: %s", dir)
	return dir
}

// screenshot saves the page; with -readme, the views the README shows are copied there too.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Sleep(150*time.Millisecond)))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
	if *updateReadme && (name == "runs.png" || name == "sweep.png" || name == "study.png") {
		require.NoError(t, os.WriteFile(filepath.Join("..", "..", "..", "..", "testdata", "readme", "serve-"+name), png, 0o644))
	}
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	for {
		ok, err := chromedp.Run(wctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		select {
		case <-wctx.Done():
			dump, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 2000)`))
			t.Fatalf("timed out waiting for %s (%s); last error %v; page:\n%s", what, expr, err, dump)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(t, err, "%s", expr)
	return v
}

// TestBrowser drives the page in headless Chromium over a tree of real runs (copied from
// testdata/tree) plus a run the test keeps writing: the listing, two runs overlaid, the live
// run growing without a reload, a run deleted meanwhile, the sweep table sorting and
// filtering, the study's pruned trials, and a screenshot of each view.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	ctx := newBrowser(t)
	shots := artifacts(t)
	root := copyTree(t)
	runs := filepath.Join(root, "runs")
	// A live run: the first 100 steps of a real one; more are appended while the page is open.
	src, err := os.ReadFile(filepath.Join(runs, "adam-1e-3", "steps.jsonl"))
	require.NoError(t, err)
	lines := strings.SplitAfter(string(src), "\n")
	live := filepath.Join(runs, "live")
	require.NoError(t, os.MkdirAll(live, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(live, "options.json"), []byte(`{"epochs": "5", "lr": "0.002"}`+"\n"), 0o644))
	appendFile(t, filepath.Join(live, "steps.jsonl"), strings.Join(lines[:100], ""))
	// Per-layer diagnostics in the trainer's format (gotrain train -diagnostics-every), on one
	// finished run.
	var diag strings.Builder
	for s := 10; s <= 390; s += 10 {
		fmt.Fprintf(&diag, `{"epoch":1,"step":%d,"batch":128,"params":[{"name":"w1","kind":"weight","shape":"784x64","grad_norm":%g},{"name":"w2","kind":"weight","shape":"64x64","grad_norm":%g},{"name":"w3","kind":"weight","shape":"64x10","grad_norm":%g}],`+
			`"layers":[{"name":"h1","act":"relu","shape":"64","mean":0.3,"dead":%g,"dead_rule":"y = 0 for every example of the batch"}]}`+"\n",
			s, 0.02+0.3/float64(s), 0.05+0.5/float64(s), 0.1+1/float64(s), float64(s)/1000)
	}
	require.NoError(t, os.WriteFile(filepath.Join(runs, "momentum-0.05", "diagnostics.jsonl"), []byte(diag.String()), 0o644))
	// The test itself writes into runs/; the server must write nowhere.
	unwritten := func() []string {
		return append(snapshot(t, filepath.Join(root, "sweeps")), snapshot(t, filepath.Join(root, "studies"))...)
	}
	before := unwritten()

	_, ts := newTestServer(t, runs, filepath.Join(root, "sweeps"), filepath.Join(root, "studies"))

	t.Run("the page lists the runs, the sweep and the study", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1360, 900), chromedp.Navigate(ts.URL+"/")))
		waitJS(t, ctx, "the listing", `document.querySelectorAll("#list .item").length >= 15`)
		names := evalJS[[]string](t, ctx, `[...document.querySelectorAll("#list .item .name")].map(e => e.textContent)`)
		for _, want := range []string{"adam-1e-3", "adamw-cosine", "momentum-0.05", "live", "optimizers", "mnist-tpe", "trial-0003"} {
			assert.Contains(t, names, want)
		}
		assert.Equal(t, filepath.Join(root, "sweeps", "optimizers"), evalJS[string](t, ctx, `document.querySelector('#list .item[data-kind="sweep"]').title`),
			"the full path on hover")
		assert.Equal(t, "live", evalJS[string](t, ctx, `document.querySelector('#list .item[data-id="0/live"] .badge').textContent`))
		assert.Equal(t, "done", evalJS[string](t, ctx, `document.querySelector('#list .item[data-id="0/adam-1e-3"] .badge').textContent`))
		// Mark the document: a reload would lose the mark.
		evalJS[bool](t, ctx, `window.__noReload = true`)
	})

	t.Run("selecting two runs overlays both curves and their options", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`#list .item[data-id="0/adam-1e-3"] input`)),
			chromedp.Click(chromedp.CSS(`#list .item[data-id="0/adamw-cosine"] input`))))
		waitJS(t, ctx, "two runs in the loss chart", `(document.querySelector('[data-chart="s:loss"]')||{dataset:{}}).dataset.runs === "2"`)
		// Both runs' curves reach their last step (395), and the lr chart shows the cosine decay.
		assert.Equal(t, "395", evalJS[string](t, ctx, `document.querySelector('[data-chart="s:loss"]').dataset.maxX`))
		assert.Equal(t, "2", evalJS[string](t, ctx, `document.querySelector('[data-chart="s:lr"]').dataset.runs`))
		diff := evalJS[[]string](t, ctx, `[...document.querySelectorAll('#options tr.diff')].map(r => r.dataset.option)`)
		assert.ElementsMatch(t, []string{"lr", "optimizer", "schedule", "schedule-interval"}, diff, "options that differ")
		same := evalJS[[]string](t, ctx, `[...document.querySelectorAll('#options tbody tr:not(.diff)')].map(r => r.dataset.option)`)
		assert.Equal(t, []string{"epochs"}, same)
		screenshot(t, ctx, shots, "runs.png")

		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name="xaxis"][value="epoch"]`))))
		waitJS(t, ctx, "epoch charts", `(document.querySelector('[data-chart="e:train_acc,eval_acc"]')||{dataset:{}}).dataset.runs === "2"`)
		assert.Equal(t, "5", evalJS[string](t, ctx, `document.querySelector('[data-chart="e:train_acc,eval_acc"]').dataset.maxX`))
		screenshot(t, ctx, shots, "runs-epoch.png")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name="xaxis"][value="step"]`))))
	})

	t.Run("a run still training grows while the page is open", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#list .item[data-id="0/live"] input`))))
		waitJS(t, ctx, "the live run's first 100 steps", `document.querySelector('#legend [data-id="0/live"]').textContent.includes("(100 steps)")`)
		// Append in pieces, the last one a torn line completed later, as a buffered writer does.
		for i := 100; i < 250; i += 50 {
			appendFile(t, filepath.Join(live, "steps.jsonl"), strings.Join(lines[i:i+50], ""))
			want := fmt.Sprint(i + 50)
			waitJS(t, ctx, "step "+want+" on the page", `document.querySelector('#legend [data-id="0/live"]').textContent.includes("(`+want+` steps)")`)
		}
		torn := lines[250]
		appendFile(t, filepath.Join(live, "steps.jsonl"), torn[:len(torn)/2])
		time.Sleep(300 * time.Millisecond)
		assert.Contains(t, evalJS[string](t, ctx, `document.querySelector('#legend [data-id="0/live"]').textContent`), "(250 steps)", "a torn line is not a step")
		appendFile(t, filepath.Join(live, "steps.jsonl"), torn[len(torn)/2:])
		waitJS(t, ctx, "the completed line", `document.querySelector('#legend [data-id="0/live"]').textContent.includes("(251 steps)")`)
		assert.True(t, evalJS[bool](t, ctx, `window.__noReload === true`), "the page was reloaded")
		screenshot(t, ctx, shots, "live.png")
	})

	t.Run("per-layer diagnostics show where recorded", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#list .item[data-id="0/momentum-0.05"] input`))))
		waitJS(t, ctx, "the diagnostics panel", `!document.getElementById("diag").hidden && (document.querySelector('#diag [data-chart^="d:"]')||{dataset:{}}).dataset.series === "3"`)
		assert.Equal(t, "grad_norm", evalJS[string](t, ctx, `document.getElementById("diag-metric").value`))
		screenshot(t, ctx, shots, "diagnostics.png")
	})

	t.Run("a run deleted meanwhile leaves the page", func(t *testing.T) {
		require.NoError(t, os.RemoveAll(live))
		waitJS(t, ctx, "the live run gone", `!document.querySelector('#list .item[data-id="0/live"]') && !document.querySelector('#legend [data-id="0/live"]')`)
		waitJS(t, ctx, "the other runs still drawn", `document.querySelector('[data-chart="s:loss"]').dataset.runs === "3"`)
	})

	t.Run("the sweep table sorts and filters", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#list .item[data-kind="sweep"]`))))
		waitJS(t, ctx, "the sweep's 9 rows", `document.querySelectorAll("#grid tbody tr").length === 9`)
		col := func(name string) []string {
			return evalJS[[]string](t, ctx, `(() => { const j = [...document.querySelectorAll("#grid thead tr:first-child th")].findIndex(h => h.dataset.col === "`+name+`");
				return [...document.querySelectorAll("#grid tbody tr")].map(r => r.children[j].textContent); })()`)
		}
		assert.Equal(t, []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}, col("rank"), "sweep.csv order first")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#grid th[data-col="lr"]`))))
		assert.Equal(t, []string{"0.001", "0.001", "0.001", "0.01", "0.01", "0.01", "0.1", "0.1", "0.1"}, col("lr"))
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#grid th[data-col="best_eval_acc"]`))))
		acc := col("best_eval_acc")
		assert.Equal(t, []string{"0.936", "0.935", "0.9185", "0.884", "0.8575", "0.7925", "0.781", "0.3795", "0.308"}, acc, "best first")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#grid th[data-col="best_eval_acc"]`))))
		assert.Equal(t, "0.308", col("best_eval_acc")[0], "a second click reverses")
		require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#grid input[data-col="optimizer"]`), "adam")))
		waitJS(t, ctx, "3 adam rows", `document.querySelectorAll("#grid tbody tr").length === 3`)
		assert.Equal(t, "3", evalJS[string](t, ctx, `document.querySelector("#pcoords svg").dataset.rows`))
		setFilter := func(col, v string) {
			evalJS[bool](t, ctx, `(() => { const i = document.querySelector('#grid input[data-col="`+col+`"]'); i.value = "`+v+`";
				i.dispatchEvent(new Event("input")); return true; })()`)
		}
		setFilter("optimizer", "")
		setFilter("best_eval_acc", ">0.9")
		waitJS(t, ctx, "3 rows above 0.9", `document.querySelectorAll("#grid tbody tr").length === 3`)
		setFilter("best_eval_acc", "")
		waitJS(t, ctx, "all rows back", `document.querySelectorAll("#grid tbody tr").length === 9`)
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#grid th[data-col="best_eval_acc"]`))))
		assert.Equal(t, "9", evalJS[string](t, ctx, `document.querySelector("#inter svg").dataset.curves`), "every run's curve matched")
		assert.ElementsMatch(t, []string{"lr", "optimizer"}, evalJS[[]string](t, ctx, `[...document.querySelectorAll("#importance rect[data-param]")].map(r => r.dataset.param)`),
			"the parameters that vary")
		screenshot(t, ctx, shots, "sweep.png")
	})

	t.Run("the study marks pruned trials with their reason", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#list .item[data-kind="study"]`))))
		waitJS(t, ctx, "the study's 10 trials", `document.querySelectorAll("#grid tbody tr").length === 10`)
		assert.Equal(t, 6, evalJS[int](t, ctx, `document.querySelectorAll("#grid tbody tr.pruned").length`))
		reasons := evalJS[[]string](t, ctx, `[...document.querySelectorAll("#inter g.pruned title")].map(e => e.textContent)`)
		require.Len(t, reasons, 6)
		assert.Contains(t, reasons[0], "median rule at epoch 1")
		assert.Equal(t, "10", evalJS[string](t, ctx, `document.querySelector("#inter svg").dataset.curves`))
		screenshot(t, ctx, shots, "study.png")
	})

	assert.Equal(t, before, unwritten(), "the server wrote into a folder it serves")
}
