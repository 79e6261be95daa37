package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChartFormatNamesTheChartFiles(t *testing.T) {
	dir := t.TempDir()
	code, _, errS := runCLI(t, context.Background(), append([]string{"train", "-run-dir", dir, "-chart-format", "svg"}, small...)...)
	require.Equal(t, 0, code, errS)
	b, err := os.ReadFile(filepath.Join(dir, "chart.svg"))
	require.NoError(t, err)
	assert.Contains(t, string(b[:200]), "<svg")
	_, err = os.Stat(filepath.Join(dir, "chart.png"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no PNG besides")

	lr := t.TempDir()
	code, out, errS := runCLI(t, context.Background(), "lr-find", "-model", "784-16-10", "-optimizer", "sgd", "-steps", "30", "-out", lr, "-chart-format", "pdf")
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, filepath.Join(lr, "lrfind.pdf"))
	b, err = os.ReadFile(filepath.Join(lr, "lrfind.pdf"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), "%PDF-"))
}

func TestChartName(t *testing.T) {
	assert.Equal(t, "chart.svg", chartName("chart.png", "svg"))
	assert.Equal(t, "loss.pdf", chartName("loss", "pdf"))
}
