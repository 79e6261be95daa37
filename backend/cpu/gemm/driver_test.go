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
		computed := requirePanelsTile(t, &gemmTask[float32]{m: m, m14: m14, tailMR: 8, blk: blocking{mr: 14}})
		only14 := (m + 13) / 14 * 14
		require.LessOrEqual(t, computed, only14, "m=%d: the plan computes more rows than 14-row panels", m)
		if m >= 48 {
			require.Equal(t, m+m%2, computed, "m=%d", m)
		}
	}
}

// requirePanelsTile checks that the row panels of task tile [0, m) in order, each as high as
// panelHeight says and only the last one short, and returns the rows they compute.
func requirePanelsTile(t *testing.T, task *gemmTask[float32]) int {
	t.Helper()
	m := task.m
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
	return computed
}

// TestTailPlanCoversEveryRowOnce checks the AVX2 level's split into 6-row panels and then at
// most two 4-row ones (tailPlan): the panels tile [0, m), the 6-row ones end on a multiple of 6,
// and the plan computes exactly m rows for an even m from 4, at most 3 more otherwise (one 4-row
// panel for the last row of 1 mod 6), never more than 6-row panels alone.
func TestTailPlanCoversEveryRowOnce(t *testing.T) {
	require.Equal(t, 120, tailPlan(128), "a batch of 128 is 20 panels of 6 and 2 of 4")
	require.Equal(t, 1020, tailPlan(1024))
	require.Equal(t, 252, tailPlan(256))
	require.Equal(t, 780, tailPlan(784))
	for m := 1; m <= 1100; m++ {
		m14 := tailPlan(m)
		require.True(t, m14 >= 0 && m14 <= m && m14%6 == 0 || m14 == m, "m=%d: m14=%d", m, m14)
		require.LessOrEqual(t, m-m14, 8, "m=%d: more than two 4-row panels", m)
		computed := requirePanelsTile(t, &gemmTask[float32]{m: m, m14: m14, tailMR: 4, blk: blocking{mr: 6}})
		require.LessOrEqual(t, computed, (m+5)/6*6, "m=%d: the plan computes more rows than 6-row panels", m)
		switch {
		case m%2 == 0 && m >= 4:
			require.Equal(t, m, computed, "m=%d", m)
		default:
			require.LessOrEqual(t, computed, m+3, "m=%d", m)
		}
	}
}
