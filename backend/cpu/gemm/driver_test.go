package gemm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRowPlanCoversEveryRowOnce checks the AVX-512 level's split of a product's rows into 14-row
// panels and then 8-row ones (rowPlan, panelsM, panelRow): the panels tile [0, m) in order, the
// 14-row ones end on a multiple of 14 (or at m), and no plan computes more rows than 14-row panels
// alone; for a deep product (k = 256), from 48 rows an even m computes exactly m rows and an odd
// one m+1; for a shallow one (k = 9) no plan costs more than 14-row panels alone.
func TestRowPlanCoversEveryRowOnce(t *testing.T) {
	require.Equal(t, 32, rowPlan(32, 9), "a 32×9 product stays in 14-row panels")
	require.Equal(t, 112, rowPlan(128, 256), "a batch of 128 is 8 panels of 14 and 2 of 8")
	for m := 1; m <= 1100; m++ {
		require.LessOrEqual(t, planCost(m, rowPlan(m, 9), 9), planCost(m, m, 9), "m=%d k=9", m)
		m14 := rowPlan(m, 256)
		require.True(t, m14 >= 0 && m14 <= m, "m=%d: m14=%d", m, m14)
		require.True(t, m14 == m || m14%14 == 0, "m=%d: m14=%d is not a multiple of 14", m, m14)
		task := &gemmTask[float32]{m: m, m14: m14, blk: blocking{mr: 14}}
		panels := task.panelsM()
		require.Equal(t, 0, task.panelRow(0))
		require.Equal(t, m, task.panelRow(panels), "m=%d", m)
		computed := 0
		for p := range panels {
			lo, hi := task.panelRow(p), task.panelRow(p+1)
			h := task.panelHeight(lo)
			require.True(t, hi > lo && hi-lo <= h, "m=%d: panel %d is rows [%d, %d) of height %d", m, p, lo, hi, h)
			require.True(t, hi-lo == h || hi == m, "m=%d: a short panel %d before the last", m, p)
			computed += h
		}
		only14 := (m + 13) / 14 * 14
		require.LessOrEqual(t, computed, only14, "m=%d: the plan computes more rows than 14-row panels", m)
		if m >= 48 {
			require.Equal(t, m+m%2, computed, "m=%d", m)
		}
	}
}
