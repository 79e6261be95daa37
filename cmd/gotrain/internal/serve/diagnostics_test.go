package serve

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trainerDiagnostics are two lines as gotrain train -diagnostics-every writes them (shortened to
// one weight, one bias and two layers).
const trainerDiagnostics = `{"epoch":1,"step":1,"batch":128,"params":[{"name":"w1","kind":"weight","shape":"784x64","grad_norm":0.404,"weight_norm":10.89,"update_norm":0.18,"update_ratio":0.0166},{"name":"b1","kind":"bias","shape":"64","grad_norm":0.0367,"weight_norm":0,"update_norm":0.008}],"layers":[{"name":"h1","act":"sigmoid","shape":"64","mean":0.503,"std":0.113,"saturated":0,"saturated_rule":"y < 0.01 or y > 0.99"},{"name":"h2","act":"relu","shape":"64","mean":0.3,"std":0.5,"dead":0.25,"dead_rule":"y = 0 for every example of the batch"}]}
{"epoch":1,"step":10,"batch":128,"params":[{"name":"w1","kind":"weight","shape":"784x64","grad_norm":0.3,"weight_norm":10.9,"update_norm":0.1,"update_ratio":0.0092},{"name":"b1","kind":"bias","shape":"64","grad_norm":0.03,"weight_norm":0.02,"update_norm":0.008,"update_ratio":0.4}],"layers":[{"name":"h1","act":"sigmoid","shape":"64","mean":0.5,"std":0.12,"saturated":0.01,"saturated_rule":"y < 0.01 or y > 0.99"},{"name":"h2","act":"relu","shape":"64","mean":0.31,"std":0.52,"dead":0.2,"dead_rule":"y = 0 for every example of the batch"}]}
`

func TestTheTrainersDiagnosticsShowPerLayer(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "diag")
	writeRun(t, run, 20, 10, 1, map[string]string{"diagnostics-every": "10"})
	require.NoError(t, os.WriteFile(filepath.Join(run, "diagnostics.jsonl"), []byte(trainerDiagnostics), 0o644))
	_, ts := newTestServer(t, dir)
	var d struct {
		Items []struct {
			Diag struct {
				Rows   int                              `json:"rows"`
				Series map[string]map[string][]*float64 `json:"series"`
			} `json:"diagnostics"`
			DiagKeys []string `json:"diagnostics_metrics"`
		} `json:"items"`
	}
	getJSON(t, ts.URL+"/api/detail?id=0/diag&diag=grad_norm", &d)
	require.Len(t, d.Items, 1)
	it := d.Items[0]
	assert.Equal(t, []string{"dead", "grad_norm", "mean", "saturated", "std", "update_norm", "update_ratio", "weight_norm"}, it.DiagKeys,
		"every measurement, and neither the batch size nor the shapes and rules (strings)")
	assert.Equal(t, 2, it.Diag.Rows)
	var keys []string
	for k := range it.Diag.Series {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"params.w1.grad_norm", "params.b1.grad_norm"}, keys, "one curve per parameter")
	d.Items = nil
	getJSON(t, ts.URL+"/api/detail?id=0/diag&diag=dead", &d)
	assert.Len(t, d.Items[0].Diag.Series, 1, "the one layer with a dead rule")
	assert.Contains(t, d.Items[0].Diag.Series, "layers.h2.dead")
}
