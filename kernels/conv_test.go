package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/kernels"
)

// convCases cover odd sizes, padding beyond half the kernel, strides and dilations above 1,
// 1×1 images and kernels, batch 1, rectangular everything.
var convCases = []kernels.Conv2D{
	{N: 1, C: 1, H: 5, W: 5, OutC: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1},
	{N: 2, C: 3, H: 7, W: 6, OutC: 4, KH: 3, KW: 2, StrideH: 2, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 2},
	{N: 3, C: 2, H: 5, W: 7, OutC: 3, KH: 2, KW: 3, StrideH: 1, StrideW: 3, PadH: 3, PadW: 2, DilH: 2, DilW: 1}, // pad > k/2
	{N: 2, C: 2, H: 1, W: 1, OutC: 3, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1},                   // 1×1 image, pointwise
	{N: 1, C: 3, H: 1, W: 1, OutC: 2, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1}, // 1×1 image, padded
	{N: 2, C: 4, H: 9, W: 8, OutC: 5, KH: 5, KW: 5, StrideH: 3, StrideW: 2, PadH: 2, PadW: 4, DilH: 1, DilW: 1},
	{N: 1, C: 1, H: 6, W: 4, OutC: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 4, PadW: 0, DilH: 3, DilW: 1},
	{N: 2, C: 2, H: 6, W: 7, OutC: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1}, // "same" width
	{N: 1, C: 2, H: 5, W: 6, OutC: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 1, DilW: 2}, // same width, dilated
}

func randn(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

func assertClose(t *testing.T, what string, got, want []float64, atol, rtol float64) {
	t.Helper()
	require.Equal(t, len(want), len(got), what)
	for i := range want {
		if math.Abs(got[i]-want[i]) > atol+rtol*math.Abs(want[i]) || math.IsNaN(got[i]) != math.IsNaN(want[i]) {
			assert.Fail(t, what, "first bad index %d of %d: got %v, want %v", i, len(want), got[i], want[i])
			return
		}
	}
}

func TestConv2DTwinsMatchTheDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, g := range convCases {
		t.Run(g.String(), func(t *testing.T) {
			require.NoError(t, g.Validate())
			x, w, dy := randn(rng, g.XLen()), randn(rng, g.WLen()), randn(rng, g.YLen())
			y := make([]float64, g.YLen())
			require.NoError(t, kernels.Conv2DForward(g, y, x, w))
			wantY, _ := ref.Conv(g, x, w)
			assertClose(t, "y", y, wantY, 1e-13, 1e-13)
			wantDx, wantDw, _ := ref.ConvGrads(g, x, w, dy)
			dx, dw := make([]float64, len(x)), make([]float64, len(w))
			require.NoError(t, kernels.Conv2DBackwardData(g, dx, dy, w))
			require.NoError(t, kernels.Conv2DBackwardFilter(g, dw, x, dy))
			assertClose(t, "dx", dx, wantDx, 1e-13, 1e-13)
			assertClose(t, "dw", dw, wantDw, 1e-13, 1e-13)

			// float32 agrees to float32 accuracy.
			x32, w32 := twinConvert[float32](x), twinConvert[float32](w)
			y32 := make([]float32, g.YLen())
			require.NoError(t, kernels.Conv2DForward(g, y32, x32, w32))
			wantY32, _ := ref.Conv(g, twinFloat64s(x32), twinFloat64s(w32))
			assertClose(t, "y float32", twinFloat64s(y32), wantY32, 1e-5, 1e-5)
		})
	}
}

func TestCol2imIsTheAdjointOfIm2col(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, g := range convCases {
		t.Run(g.String(), func(t *testing.T) {
			x := randn(rng, g.C*g.H*g.W)
			c := randn(rng, g.K()*g.P())
			col := make([]float64, len(c))
			for i := range col {
				col[i] = math.NaN() // every element must be written, padding included
			}
			require.NoError(t, kernels.Im2col(g, col, x))
			back := make([]float64, len(x))
			require.NoError(t, kernels.Col2im(g, back, c))
			lhs, rhs := 0.0, 0.0
			for i := range c {
				lhs += col[i] * c[i]
			}
			for i := range x {
				rhs += x[i] * back[i]
			}
			assert.InDelta(t, lhs, rhs, 1e-12*(1+math.Abs(lhs)))
		})
	}
}

// TestIm2colRowsAreBlocksOfIm2col: the blocks of every split of the output rows are the columns
// of Im2col's matrix, and Col2imRows over the blocks adds up to Col2im (integer-valued entries,
// so that the sums, whose order the blocks change, are exact).
func TestIm2colRowsAreBlocksOfIm2col(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, g := range convCases {
		t.Run(g.String(), func(t *testing.T) {
			oh, ow, k := g.OutH(), g.OutW(), g.K()
			x, c := make([]float64, g.C*g.H*g.W), make([]float64, k*g.P())
			for i := range x {
				x[i] = float64(rng.IntN(19) - 9)
			}
			for i := range c {
				c[i] = float64(rng.IntN(19) - 9)
			}
			full := make([]float64, len(c))
			require.NoError(t, kernels.Im2col(g, full, x))
			want := make([]float64, len(x))
			require.NoError(t, kernels.Col2im(g, want, c))
			for rows := 1; rows <= oh; rows++ {
				back := make([]float64, len(x))
				for i0 := 0; i0 < oh; i0 += rows {
					i1 := min(i0+rows, oh)
					bw := (i1 - i0) * ow
					// Rows one column apart (ld = bw+1), starting one in: the gaps stay NaN.
					col := make([]float64, 1+k*(bw+1))
					for i := range col {
						col[i] = math.NaN() // every element must be written, padding included
					}
					require.NoError(t, kernels.Im2colRows(g, col[1:], bw+1, x, i0, i1))
					blk := make([]float64, k*bw)
					for r := 0; r < k; r++ {
						require.Equal(t, full[r*g.P()+i0*ow:r*g.P()+i1*ow], col[1+r*(bw+1):1+r*(bw+1)+bw], "rows [%d, %d), column-matrix row %d", i0, i1, r)
						require.True(t, math.IsNaN(col[(r+1)*(bw+1)]), "the gap after row %d written", r)
						copy(blk[r*bw:(r+1)*bw], c[r*g.P()+i0*ow:r*g.P()+i1*ow])
					}
					require.NoError(t, kernels.Col2imRows(g, back, blk, bw, i0, i1))
				}
				require.Equal(t, want, back, "Col2imRows in blocks of %d rows", rows)
			}
			require.ErrorIs(t, kernels.Im2colRows(g, full, g.P(), x, 0, oh+1), kernels.ErrInvalid, "rows past the end")
			require.ErrorIs(t, kernels.Col2imRows(g, want, c[:len(c)-1], g.P(), 0, oh), kernels.ErrInvalid, "a short column block")
			require.ErrorIs(t, kernels.Im2colRows(g, full, g.P()-1, x, 0, oh), kernels.ErrInvalid, "a leading dimension under the block's width")
		})
	}
}

func TestConv2DValidateFollowsPyTorch(t *testing.T) {
	ok := kernels.Conv2D{N: 1, C: 1, H: 4, W: 4, OutC: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1}
	require.NoError(t, ok.Validate())
	assert.Equal(t, 2, ok.OutH())
	bad := map[string]func(g *kernels.Conv2D){
		"a zero stride":                         func(g *kernels.Conv2D) { g.StrideH = 0 },
		"a zero dilation":                       func(g *kernels.Conv2D) { g.DilW = 0 },
		"negative padding":                      func(g *kernels.Conv2D) { g.PadW = -1 },
		"a kernel larger than the padded input": func(g *kernels.Conv2D) { g.KH = 5 },
		"a dilated kernel too large":            func(g *kernels.Conv2D) { g.DilH = 2 },
		"no channels":                           func(g *kernels.Conv2D) { g.C = 0 },
	}
	for name, f := range bad {
		t.Run(name+" is an error", func(t *testing.T) {
			g := ok
			f(&g)
			require.ErrorIs(t, g.Validate(), kernels.ErrInvalid)
		})
	}
	pad := ok
	pad.KH, pad.PadH = 5, 1 // 4+2 ≥ 5: fits with padding
	require.NoError(t, pad.Validate())
	y := make([]float64, 3)
	require.ErrorIs(t, kernels.Conv2DForward(ok, y, make([]float64, 16), make([]float64, 9)), kernels.ErrInvalid, "y of the wrong length")
}

func BenchmarkIm2col(b *testing.B) {
	for _, g := range []kernels.Conv2D{
		{N: 1, C: 32, H: 26, W: 26, OutC: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1},
		{N: 1, C: 6, H: 14, W: 14, OutC: 16, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1},
	} {
		b.Run(fmt.Sprintf("%dx%dx%d k%d", g.C, g.H, g.W, g.KH), func(b *testing.B) {
			x := make([]float32, g.C*g.H*g.W)
			col := make([]float32, g.K()*g.P())
			b.SetBytes(int64(4 * len(col)))
			for i := 0; i < b.N; i++ {
				_ = kernels.Im2col(g, col, x)
			}
		})
	}
}

// TestIm2colWideHoldsIm2colsColumns: on every geometry with unit strides and unit horizontal
// dilation, the full-width column matrix of the padded image holds Im2col's columns at the
// valid positions (i, j < OW), and Col2imWide of a matrix that is zero elsewhere, cropped, is
// Col2im (integer-valued entries, so that the sums are exact in any order).
func TestIm2colWideHoldsIm2colsColumns(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	wide := 0
	for _, g := range convCases {
		if !g.IsWide() {
			continue
		}
		wide++
		t.Run(g.String(), func(t *testing.T) {
			oh, ow, k, p, wp, np := g.OutH(), g.OutW(), g.K(), g.P(), g.PadW2(), g.WideP()
			x, c := make([]float64, g.C*g.H*g.W), make([]float64, k*p)
			for i := range x {
				x[i] = float64(rng.IntN(19) - 9)
			}
			for i := range c {
				c[i] = float64(rng.IntN(19) - 9)
			}
			full := make([]float64, k*p)
			require.NoError(t, kernels.Im2col(g, full, x))
			xp := make([]float64, g.C*g.PadH2()*wp)
			require.NoError(t, kernels.PadImage(g, xp, x))
			ld := np + 3
			col := make([]float64, k*ld)
			require.NoError(t, kernels.Im2colWide(g, col, ld, xp))
			cw := make([]float64, k*ld) // c at the valid columns, 0 elsewhere
			for r := 0; r < k; r++ {
				for i := 0; i < oh; i++ {
					for j := 0; j < ow; j++ {
						require.Equal(t, full[r*p+i*ow+j], col[r*ld+i*wp+j], "row %d, output (%d, %d)", r, i, j)
						cw[r*ld+i*wp+j] = c[r*p+i*ow+j]
					}
				}
			}
			want := make([]float64, len(x))
			require.NoError(t, kernels.Col2im(g, want, c))
			dxp := make([]float64, len(xp))
			require.NoError(t, kernels.Col2imWide(g, dxp, cw, ld))
			got := make([]float64, len(x))
			require.NoError(t, kernels.CropImage(g, got, dxp))
			require.Equal(t, want, got)
			require.ErrorIs(t, kernels.Im2colWide(g, col, np-1, xp), kernels.ErrInvalid, "a leading dimension under WideP")
			require.ErrorIs(t, kernels.PadImage(g, xp[1:], x), kernels.ErrInvalid, "a short padded image")
			require.ErrorIs(t, kernels.CropImage(g, got[1:], dxp), kernels.ErrInvalid, "a short image")
		})
	}
	require.GreaterOrEqual(t, wide, 4, "the cases must hold wide geometries")
	g := convCases[1] // stride 2
	require.False(t, g.IsWide())
	require.ErrorIs(t, kernels.Im2colWide(g, make([]float64, 1<<12), g.WideP(), make([]float64, g.C*g.PadH2()*g.PadW2())), kernels.ErrInvalid)
}
