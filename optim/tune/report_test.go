package tune

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheReportRanksAndExplains(t *testing.T) {
	st := runStudy(t, testConfig(t, "tpe:startup=6", "asha", 16), 2, nil)
	trials, err := st.Trials(context.Background())
	require.NoError(t, err)
	ranked := Rank(st.Cfg, trials)
	best := Best(st.Cfg, trials)
	require.NotNil(t, best)
	assert.Equal(t, best, ranked[0])
	for _, tr := range trials {
		if tr.State == Complete {
			assert.GreaterOrEqual(t, best.Value, tr.Value)
		}
	}
	c := Count(st.Cfg, trials)
	assert.Equal(t, 16, c.Complete+c.Pruned)
	assert.Greater(t, c.Pruned, 0)

	var tab bytes.Buffer
	require.NoError(t, WriteTable(&tab, st.Cfg, trials, 0))
	lines := strings.Split(strings.TrimSpace(tab.String()), "\n")
	require.Len(t, lines, 17)
	assert.Contains(t, lines[0], "optimizer")
	assert.Contains(t, lines[1], "complete")
	assert.Contains(t, tab.String(), "asha rung 0 (epoch 1): value")

	var b bytes.Buffer
	require.NoError(t, WriteCSV(&b, st.Cfg, trials, func(k int) string { return fmt.Sprintf("trials/%04d", k) }))
	rows, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 17)
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, r := range rows[1:] {
		if r[col["state"]] == "pruned" {
			assert.Equal(t, "asha", r[col["prune_rule"]])
			assert.NotEmpty(t, r[col["prune_threshold"]])
			assert.NotEmpty(t, r[col["prune_peers"]])
			assert.Contains(t, r[col["pruned_reason"]], "asha rung 0")
		}
		assert.Equal(t, fmt.Sprintf("trials/%04s", r[col["trial"]]), r[col["run_dir"]])
		if r[col["optimizer"]] != "sgd" {
			assert.Empty(t, r[col["momentum"]], "an inactive parameter has no value")
		}
	}
}
