package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPathsWritesAChartAndEveryPath(t *testing.T) {
	dir := t.TempDir()
	code, out, errS := runCLI(t, context.Background(), "paths", "-function", "quadratic", "-optimizers", "sgd,adam",
		"-lr", "adam=0.2", "-steps", "25", "-start", "-4,1.5", "-out", dir)
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "sgd       lr 0.18")
	assert.Contains(t, out, "adam      lr 0.2 ")
	assert.Contains(t, out, "distance to the minimum")

	f, err := os.Open(filepath.Join(dir, "quadratic.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+2*26, "a header, then the start and 25 steps per optimizer")
	assert.Equal(t, []string{"optimizer", "lr", "step", "x", "y", "f"}, rows[0])
	for _, r := range []int{1, 27} {
		assert.Equal(t, "0", rows[r][2])
		assert.Equal(t, "-4", rows[r][3], "every path starts where asked")
		assert.Equal(t, "1.5", rows[r][4])
	}
	for _, r := range rows[1:] {
		for _, c := range r[3:] {
			v, err := strconv.ParseFloat(c, 64)
			require.NoError(t, err)
			require.False(t, v != v, "finite")
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "quadratic.png"))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, 900, img.Bounds().Dx())
}

func TestPathsChartInEveryFormat(t *testing.T) {
	for _, format := range []string{"png", "svg", "pdf"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			code, _, errS := runCLI(t, context.Background(), "paths", "-function", "rosenbrock", "-steps", "150", "-chart-format", format, "-out", dir)
			require.Equal(t, 0, code, errS)
			b, err := os.ReadFile(filepath.Join(dir, "rosenbrock."+format))
			require.NoError(t, err)
			switch format {
			case "png":
				_, err = png.Decode(bytes.NewReader(b))
				require.NoError(t, err)
			case "svg":
				dec := xml.NewDecoder(bytes.NewReader(b))
				for err == nil {
					_, err = dec.Token()
				}
				require.ErrorIs(t, err, io.EOF)
			case "pdf":
				assert.True(t, bytes.HasPrefix(b, []byte("%PDF-")))
				assert.True(t, bytes.HasSuffix(bytes.TrimSpace(b), []byte("%%EOF")))
			}
		})
	}
}

func TestPathsRefusesBadFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-function", "himmelblau"}, `unknown function "himmelblau"`},
		{[]string{"-optimizers", "sgd,adamz"}, `unknown optimizer "adamz"`},
		{[]string{"-optimizers", ","}, "names no optimizer"},
		{[]string{"-optimizers", "sgd", "-lr", "adam=0.1"}, "adam is not among the optimizers"},
		{[]string{"-optimizers", "adam", "-lr", "adam=-1"}, `rate "-1": want a number > 0`},
		{[]string{"-lr", "fast"}, `rate "fast"`},
		{[]string{"-start", "1"}, `"1": want two finite numbers x,y`},
		{[]string{"-start", "NaN,1"}, "want two finite numbers"},
		{[]string{"-steps", "-3"}, "-steps -3: want 1 to 1000000"},
		{[]string{"-function", "saddle", "-start", "1,1", "-lr", "0.1", "-chart-format", "svg", "-optimizers", "lion", "-function", "beale"}, "-function beale given twice"},
		{[]string{"-chart-format", "gif"}, `format "gif"`},
	} {
		t.Run(tt.want, func(t *testing.T) {
			args := append([]string{"paths", "-out", t.TempDir()}, tt.args...)
			code, _, errS := runCLI(t, context.Background(), args...)
			assert.NotEqual(t, 0, code)
			assert.Contains(t, errS, tt.want)
		})
	}
}
