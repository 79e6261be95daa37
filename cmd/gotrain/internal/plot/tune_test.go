package plot

import (
	"bytes"
	"image/color"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParallelChartDrawsEachLineInItsScoreColour(t *testing.T) {
	c := &ParallelChart{Title: "trials", ScoreLabel: "acc",
		Axes:  []ParallelAxis{{Name: "lr", Lo: 1e-4, Hi: 1, Log: true}, {Name: "opt", Choices: []string{"sgd", "adam"}}, {Name: "m", Lo: 0, Hi: 1}},
		Lines: []ParallelLine{{Values: []float64{1e-3, 0, 0.5}, Score: 0.9}, {Values: []float64{0.1, 1, math.NaN()}, Score: 0.5}}}
	img, err := c.Render()
	require.NoError(t, err)
	count := func(col color.RGBA) int {
		n := 0
		for y := 0; y < img.Rect.Dy(); y++ {
			for x := 0; x < img.Rect.Dx(); x++ {
				if img.RGBAAt(x, y) == col {
					n++
				}
			}
		}
		return n
	}
	assert.Greater(t, count(scoreColor(1)), 100, "the best line")
	assert.Greater(t, count(scoreColor(0)), 50, "the worst line")
	for _, f := range Formats() {
		var b bytes.Buffer
		require.NoError(t, Write(&b, f, c), f)
		assert.Greater(t, b.Len(), 100, f)
	}

	_, err = (&ParallelChart{Axes: c.Axes[:1]}).Render()
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = (&ParallelChart{Axes: c.Axes, Lines: []ParallelLine{{Values: []float64{1}}}}).Render()
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = (&ParallelChart{Axes: c.Axes, Lines: []ParallelLine{{Values: []float64{1, 0, 0}, Score: math.NaN()}}}).Render()
	assert.ErrorIs(t, err, ErrNoData)
}

func TestBarChartBarsAreProportional(t *testing.T) {
	c := &BarChart{Title: "importance", Labels: []string{"lr", "batch"}, Values: []float64{0.8, 0.2}}
	img, err := c.Render()
	require.NoError(t, err)
	// Each bar's length in its row: the first is four times the second.
	widths := map[int]int{}
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		n := 0
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if img.RGBAAt(x, y) == seriesColor(0) {
				n++
			}
		}
		if n > 0 {
			widths[n]++
		}
	}
	require.Len(t, widths, 2)
	var ws []int
	for w := range widths {
		ws = append(ws, w)
	}
	big, small := max(ws[0], ws[1]), min(ws[0], ws[1])
	assert.InDelta(t, 4, float64(big)/float64(small), 0.05)
	for _, bad := range []*BarChart{{Labels: []string{"a"}}, {Labels: []string{"a"}, Values: []float64{-1}}, {Labels: []string{"a"}, Values: []float64{math.Inf(1)}}} {
		_, err := bad.Render()
		assert.ErrorIs(t, err, ErrInvalid)
	}
}
