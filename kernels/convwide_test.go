package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// col2imWideRowByRow is Col2imWide as it was before the rows of one (c, p) were fused: each row
// of col added to its run of the plane in turn, float32 with the bias add's vector loop. The
// fused loop must give its bits.
func col2imWideRowByRow[T Float](g Conv2D, dxp, col []T, ld int) {
	wp, plane, n := g.PadW2(), g.PadH2()*g.PadW2(), g.WideP()
	row := 0
	for c := 0; c < g.C; c++ {
		for p := 0; p < g.KH; p++ {
			for q := 0; q < g.KW; q++ {
				d, s := dxp[c*plane+p*g.DilH*wp+q:][:n], col[row*ld:][:n]
				row++
				if d32, ok := any(d).([]float32); ok {
					addRow32(d32, d32, any(s).([]float32))
					continue
				}
				for j := range d {
					d[j] += s[j]
				}
			}
		}
	}
}

// TestCol2imWideAddsRowByRowsBits: on geometries whose runs are shorter than, equal to and
// longer than the kernel width (no interior, an interior below one vector, vectors and tails),
// with dilated rows and a leading dimension past WideP, the fused loop gives the row-by-row
// loop's bits at every level for float32 (values that round differently in another order), and
// for float64.
func TestCol2imWideAddsRowByRowsBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	geoms := []Conv2D{
		{C: 6, H: 14, W: 14, OutC: 16, KH: 5, KW: 5},                  // LeNet's second layer: runs of 136
		{C: 1, H: 28, W: 28, OutC: 6, KH: 5, KW: 5, PadH: 2, PadW: 2}, // its first
		{C: 2, H: 5, W: 5, OutC: 1, KH: 5, KW: 5},                     // one output: n = 1 < KW−1
		{C: 1, H: 3, W: 9, OutC: 1, KH: 3, KW: 9},                     // n = 1, a row as wide as the kernel
		{C: 3, H: 2, W: 7, OutC: 1, KH: 2, KW: 3, DilH: 1},            // n = 5: interior 3, no vector
		{C: 2, H: 6, W: 11, OutC: 1, KH: 3, KW: 1, PadH: 1, DilH: 2},  // pointwise width, dilated rows
		{C: 3, H: 9, W: 10, OutC: 1, KH: 3, KW: 4, PadH: 3, PadW: 2, DilH: 2},
		{C: 1, H: 1, W: 40, OutC: 1, KH: 1, KW: 7}, // one row: n = 34
	}
	for w := 3; w <= 24; w++ { // one row of every length: every remainder of a vector
		geoms = append(geoms, Conv2D{C: 2, H: 1, W: w, OutC: 1, KH: 1, KW: 3})
	}
	for _, g := range geoms {
		g.N, g.StrideH, g.StrideW, g.DilW = 1, 1, 1, 1
		if g.DilH == 0 {
			g.DilH = 1
		}
		require.NoError(t, g.Validate(), "%v", g)
		for _, extra := range []int{0, 5} {
			ld := g.WideP() + extra
			t.Run(fmt.Sprintf("%v/ld+%d", g, extra), func(t *testing.T) {
				col := make([]float32, g.K()*ld)
				for i := range col {
					col[i] = float32(rng.NormFloat64() * 3)
				}
				base := make([]float32, g.C*g.PadH2()*g.PadW2())
				for i := range base {
					base[i] = float32(rng.NormFloat64())
				}
				want := append([]float32(nil), base...)
				col2imWideRowByRow(g, want, col, ld)
				for _, l := range cpufeat.Supported() {
					got := append([]float32(nil), base...)
					withLevel(t, l, func() { require.NoError(t, Col2imWide(g, got, col, ld)) })
					requireSameBits32(t, want, got, "dxp at "+l.String())
				}
				col64, base64 := make([]float64, len(col)), make([]float64, len(base))
				for i, v := range col {
					col64[i] = float64(v) / 3
				}
				for i, v := range base {
					base64[i] = float64(v) / 7
				}
				want64, got64 := append([]float64(nil), base64...), append([]float64(nil), base64...)
				col2imWideRowByRow(g, want64, col64, ld)
				require.NoError(t, Col2imWide(g, got64, col64, ld))
				require.Equal(t, want64, got64, "float64")
			})
		}
	}
}

// BenchmarkCol2imWide: the fused loop against the row-by-row one, alternating in one loop (so
// that a shared machine's load falls on both alike), for one image of LeNet's second layer and
// of the first; fused/rows is the ratio of their times.
func BenchmarkCol2imWide(b *testing.B) {
	for _, g := range []Conv2D{
		{N: 1, C: 6, H: 14, W: 14, OutC: 16, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1},
		{N: 1, C: 1, H: 28, W: 28, OutC: 6, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 1, DilW: 1},
	} {
		b.Run(g.String(), func(b *testing.B) {
			ld := g.WideP()
			col, dxp := make([]float32, g.K()*ld), make([]float32, g.C*g.PadH2()*g.PadW2())
			for i := range col {
				col[i] = float32(i%17) * 0.25
			}
			var rows, fused time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				col2imWideRowByRow(g, dxp, col, ld)
				t1 := time.Now()
				if err := Col2imWide(g, dxp, col, ld); err != nil {
					b.Fatal(err)
				}
				rows, fused = rows+t1.Sub(t0), fused+time.Since(t1)
			}
			b.ReportMetric(float64(rows.Nanoseconds())/float64(b.N), "rows-ns")
			b.ReportMetric(float64(fused.Nanoseconds())/float64(b.N), "fused-ns")
			b.ReportMetric(float64(fused)/float64(rows), "fused/rows")
		})
	}
}

// TestNarrowAndWidenRowsAreTheLoops: at every level, for float32 (with NaN payloads, which a
// move must keep) and float64, on rows 0-5 of 0-40 columns at strides up to 5 past them and at
// every misalignment, NarrowRows and WidenRows write exactly what the plain loops write, and
// nothing past the last element they own; bad arguments are refused.
func TestNarrowAndWidenRowsAreTheLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 17))
	sentinel := math.Float32frombits(0x7fc0beef)
	for _, l := range cpufeat.Supported() {
		for rows := 0; rows <= 5; rows++ {
			for cols := 0; cols <= 40; cols++ {
				for _, gap := range []int{0, 1, 2, 5} {
					stride, off := cols+gap, rng.IntN(8)
					wide := make([]float32, off+max(0, (rows-1)*stride+cols)+9)[off:]
					narrow := make([]float32, off+rows*cols+9)[off:]
					for i := range wide {
						wide[i] = math.Float32frombits(rng.Uint32()) // any bits, NaNs included
					}
					for i := range narrow {
						narrow[i] = math.Float32frombits(rng.Uint32())
					}
					// NarrowRows: wide -> narrow.
					want, got := slices.Repeat([]float32{sentinel}, len(narrow)), slices.Repeat([]float32{sentinel}, len(narrow))
					for i := range rows {
						for j := range cols {
							want[i*cols+j] = wide[i*stride+j]
						}
					}
					withLevel(t, l, func() { require.NoError(t, NarrowRows(got, wide, rows, cols, stride)) })
					requireSameBits32(t, want, got, fmt.Sprintf("%v NarrowRows %dx%d stride %d", l, rows, cols, stride))
					// WidenRows: narrow -> wide.
					want, got = slices.Repeat([]float32{sentinel}, len(wide)), slices.Repeat([]float32{sentinel}, len(wide))
					for i := range rows {
						for j := range stride {
							switch {
							case j < cols:
								want[i*stride+j] = narrow[i*cols+j]
							case i < rows-1:
								want[i*stride+j] = 0
							}
						}
					}
					withLevel(t, l, func() { require.NoError(t, WidenRows(got, narrow, rows, cols, stride)) })
					requireSameBits32(t, want, got, fmt.Sprintf("%v WidenRows %dx%d stride %d", l, rows, cols, stride))
				}
			}
		}
	}
	w64, n64 := []float64{1, 2, 9, 3, 4, 9, 5, 6}, make([]float64, 6)
	require.NoError(t, NarrowRows(n64, w64, 3, 2, 3))
	require.Equal(t, []float64{1, 2, 3, 4, 5, 6}, n64)
	back := slices.Repeat([]float64{7}, 8)
	require.NoError(t, WidenRows(back, n64, 3, 2, 3))
	require.Equal(t, []float64{1, 2, 0, 3, 4, 0, 5, 6}, back)
	require.ErrorIs(t, NarrowRows(n64[:5], w64, 3, 2, 3), ErrInvalid, "dst too short")
	require.ErrorIs(t, NarrowRows(n64, w64[:7], 3, 2, 3), ErrInvalid, "src too short")
	require.ErrorIs(t, NarrowRows(n64, w64, 3, 4, 3), ErrInvalid, "stride under cols")
	require.ErrorIs(t, WidenRows(back[:7], n64, 3, 2, 3), ErrInvalid, "dst too short")
	require.ErrorIs(t, WidenRows(back, n64[:5], 3, 2, 3), ErrInvalid, "src too short")
}

// TestNarrowAndWidenPlanesAreTheLoops: at every level, for float32 (any bits, NaN payloads
// included, which a move must keep), on 0-3 planes of 0-4 rows of 0-40 columns with gaps of 0-5
// and plane strides at and past the plane's extent, NarrowPlanes and WidenPlanes write exactly
// what the plain loops write, and nothing else (a sentinel everywhere else); bad arguments are
// refused.
func TestNarrowAndWidenPlanesAreTheLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 19))
	sentinel := math.Float32frombits(0x7fc0beef)
	random := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = math.Float32frombits(rng.Uint32())
		}
		return s
	}
	for _, l := range cpufeat.Supported() {
		for planes := 0; planes <= 3; planes++ {
			for rows := 0; rows <= 4; rows++ {
				for cols := 0; cols <= 40; cols += 1 + cols/8 {
					for _, gap := range []int{0, 1, 2, 5} {
						stride := cols + gap
						wideExt, narrowExt := max(0, (rows-1)*stride+cols), rows*cols
						widePlane, narrowPlane := wideExt+rng.IntN(4), narrowExt+rng.IntN(4)
						wide := random(planes*widePlane + 7)
						narrow := random(planes*narrowPlane + 7)
						what := fmt.Sprintf("%v %d planes %dx%d gap %d", l, planes, rows, cols, gap)

						want, got := slices.Repeat([]float32{sentinel}, len(narrow)), slices.Repeat([]float32{sentinel}, len(narrow))
						for p := range planes {
							for i := range rows {
								for j := range cols {
									want[p*narrowPlane+i*cols+j] = wide[p*widePlane+i*stride+j]
								}
							}
						}
						withLevel(t, l, func() {
							require.NoError(t, NarrowPlanes(got, wide, planes, rows, cols, stride, narrowPlane, widePlane))
						})
						requireSameBits32(t, want, got, "NarrowPlanes "+what)

						want, got = slices.Repeat([]float32{sentinel}, len(wide)), slices.Repeat([]float32{sentinel}, len(wide))
						for p := range planes {
							for i := range rows {
								for j := range stride {
									switch {
									case j < cols:
										want[p*widePlane+i*stride+j] = narrow[p*narrowPlane+i*cols+j]
									case i < rows-1:
										want[p*widePlane+i*stride+j] = 0
									}
								}
							}
						}
						withLevel(t, l, func() {
							require.NoError(t, WidenPlanes(got, narrow, planes, rows, cols, stride, widePlane, narrowPlane))
						})
						requireSameBits32(t, want, got, "WidenPlanes "+what)
					}
				}
			}
		}
	}
	w, n := make([]float32, 2*9), make([]float32, 2*6)
	require.NoError(t, NarrowPlanes(n, w, 2, 3, 2, 3, 6, 9))
	require.ErrorIs(t, NarrowPlanes(n[:11], w, 2, 3, 2, 3, 6, 9), ErrInvalid, "dst too short for the last plane")
	require.ErrorIs(t, NarrowPlanes(n, w[:16], 2, 3, 2, 3, 6, 9), ErrInvalid, "src too short for the last plane")
	require.ErrorIs(t, NarrowPlanes(n, w, -1, 3, 2, 3, 6, 9), ErrInvalid, "negative planes")
	require.ErrorIs(t, NarrowPlanes(n, w, 2, 3, 2, 3, -6, 9), ErrInvalid, "negative plane stride")
	require.ErrorIs(t, WidenPlanes(w[:16], n, 2, 3, 2, 3, 9, 6), ErrInvalid, "dst too short for the last plane")
	require.ErrorIs(t, WidenPlanes(w, n[:11], 2, 3, 2, 3, 9, 6), ErrInvalid, "src too short for the last plane")
	require.ErrorIs(t, WidenPlanes(w, n, 2, 3, 4, 3, 9, 6), ErrInvalid, "stride under cols")
	n64 := make([]float64, 4)
	require.NoError(t, NarrowPlanes(n64, []float64{1, 2, 9, 3, 4, 9}, 2, 1, 2, 3, 2, 3))
	require.Equal(t, []float64{1, 2, 3, 4}, n64)
}

// TestCol2imPaddedIsCol2imWide: on geometries with padded rows narrower than, as wide as and
// wider than 16 lanes (the vector loop and the Go loop), dilated rows, output heights that leave
// every remainder of the four-row loop, and a leading dimension past P, Col2imPadded of the
// compact column matrix gives at every level the bits Col2imWide gives for the same matrix laid
// out full width with zeros at the columns past each output row; and, into a gradient holding
// signed zeros and NaN payloads, the Go loop's bits (the masked lanes of the vector loop keep
// their value). float64 too; bad arguments are refused.
func TestCol2imPaddedIsCol2imWide(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 19))
	geoms := []Conv2D{
		{C: 6, H: 14, W: 14, OutC: 16, KH: 5, KW: 5},                  // LeNet's second layer: rows of 14
		{C: 4, H: 14, W: 14, OutC: 8, KH: 3, KW: 3, PadH: 1, PadW: 1}, // cnn's: 16
		{C: 1, H: 28, W: 28, OutC: 6, KH: 5, KW: 5, PadH: 2, PadW: 2}, // LeNet's first: 32, in Go
		{C: 2, H: 5, W: 5, OutC: 1, KH: 5, KW: 5},                     // one output
		{C: 1, H: 3, W: 9, OutC: 1, KH: 3, KW: 9},                     // a row as wide as the kernel
		{C: 2, H: 6, W: 11, OutC: 1, KH: 3, KW: 1, PadH: 1, DilH: 2},  // pointwise width, dilated rows
		{C: 3, H: 9, W: 10, OutC: 1, KH: 3, KW: 4, PadH: 3, PadW: 2, DilH: 2},
		{C: 2, H: 1, W: 16, OutC: 1, KH: 1, KW: 16},
		{C: 1, H: 2, W: 17, OutC: 1, KH: 2, KW: 2}, // 17 lanes: the Go loop
	}
	for h := 1; h <= 9; h++ { // every remainder of the four-row loop
		geoms = append(geoms, Conv2D{C: 2, H: h + 2, W: 7, OutC: 1, KH: 3, KW: 2, PadW: 1})
	}
	for _, g := range geoms {
		g.N, g.StrideH, g.StrideW, g.DilW = 1, 1, 1, 1
		if g.DilH == 0 {
			g.DilH = 1
		}
		require.NoError(t, g.Validate(), "%v", g)
		for _, extra := range []int{0, 5} {
			ld := g.P() + extra
			t.Run(fmt.Sprintf("%v/ld+%d", g, extra), func(t *testing.T) {
				oh, ow, wp, k := g.OutH(), g.OutW(), g.PadW2(), g.K()
				col := make([]float32, k*ld)
				for i := range col {
					col[i] = float32(rng.NormFloat64() * 3)
				}
				wld := g.WideP() + extra
				wide := make([]float32, k*wld) // col full width, zeros past each output row
				for r := range k {
					for i := range oh {
						copy(wide[r*wld+i*wp:][:ow], col[r*ld+i*ow:][:ow])
					}
				}
				base := make([]float32, g.C*g.PadH2()*wp)
				for i := range base {
					base[i] = float32(rng.NormFloat64())
				}
				want := append([]float32(nil), base...)
				require.NoError(t, Col2imWide(g, want, wide, wld))
				special := append([]float32(nil), base...) // signed zeros and NaN payloads
				for i := 0; i < len(special); i += 3 {
					special[i] = float32(math.Copysign(0, -1))
				}
				for i := 1; i < len(special); i += 7 {
					special[i] = math.Float32frombits(0x7fc00000 | uint32(i))
				}
				wantSpecial := append([]float32(nil), special...)
				withLevel(t, cpufeat.Generic, func() { require.NoError(t, Col2imPadded(g, wantSpecial, col, ld)) })
				for _, l := range cpufeat.Supported() {
					got := append([]float32(nil), base...)
					gotSpecial := append([]float32(nil), special...)
					withLevel(t, l, func() {
						require.NoError(t, Col2imPadded(g, got, col, ld))
						require.NoError(t, Col2imPadded(g, gotSpecial, col, ld))
					})
					requireSameBits32(t, want, got, "dxp at "+l.String())
					requireSameBits32(t, wantSpecial, gotSpecial, "dxp with signed zeros and NaNs at "+l.String())
				}
				col64, wide64, base64 := make([]float64, len(col)), make([]float64, len(wide)), make([]float64, len(base))
				for i, v := range col {
					col64[i] = float64(v) / 3
				}
				for i, v := range wide {
					wide64[i] = float64(v) / 3
				}
				for i, v := range base {
					base64[i] = float64(v) / 7
				}
				want64, got64 := append([]float64(nil), base64...), append([]float64(nil), base64...)
				require.NoError(t, Col2imWide(g, want64, wide64, wld))
				require.NoError(t, Col2imPadded(g, got64, col64, ld))
				require.Equal(t, want64, got64, "float64")
				require.ErrorIs(t, Col2imPadded(g, got64, col64[:len(col64)-extra-1], ld), ErrInvalid, "a short column matrix")
				require.ErrorIs(t, Col2imPadded(g, got64[1:], col64, ld), ErrInvalid, "a short padded image")
				require.ErrorIs(t, Col2imPadded(g, got64, col64, g.P()-1), ErrInvalid, "a leading dimension under P")
			})
		}
	}
	g := Conv2D{N: 1, C: 1, H: 9, W: 9, OutC: 1, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1}
	require.ErrorIs(t, Col2imPadded(g, make([]float32, 81), make([]float32, 9*16), 16), ErrInvalid, "stride 2")
}

// BenchmarkCol2imPadded: Col2imPadded of one image's compact column matrix against Col2imWide of
// its full-width one (the work each input-gradient path does after its product), alternating in
// one loop, for LeNet's second layer and the cnn preset's; padded/wide is the ratio of their times.
func BenchmarkCol2imPadded(b *testing.B) {
	for _, g := range []Conv2D{
		{N: 1, C: 6, H: 14, W: 14, OutC: 16, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1},
		{N: 1, C: 32, H: 14, W: 14, OutC: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1},
	} {
		b.Run(g.String(), func(b *testing.B) {
			ld, wld := g.P()*4, g.WideP()*3 // a block of four images, of three full width
			col, wide, dxp := make([]float32, g.K()*ld), make([]float32, g.K()*wld), make([]float32, g.C*g.PadH2()*g.PadW2())
			for i := range col {
				col[i] = float32(i%17) * 0.25
			}
			for i := range wide {
				wide[i] = float32(i%13) * 0.25
			}
			var padded, full time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if err := Col2imPadded(g, dxp, col, ld); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := Col2imWide(g, dxp, wide, wld); err != nil {
					b.Fatal(err)
				}
				padded, full = padded+t1.Sub(t0), full+time.Since(t1)
			}
			b.ReportMetric(float64(padded.Nanoseconds())/float64(b.N), "padded-ns")
			b.ReportMetric(float64(full.Nanoseconds())/float64(b.N), "wide-ns")
			b.ReportMetric(float64(padded)/float64(full), "padded/wide")
		})
	}
}

// TestIm2colPaddedIsIm2colRows: on geometries with output rows shorter than, as long as and
// longer than 16 lanes, padding, dilated rows and a leading dimension past P, Im2colPadded of the
// padded image writes at every level exactly Im2colRows' matrix of the image (float32 with NaN
// payloads, which a move keeps; float64), and nothing past each row's P columns; bad arguments
// are refused.
func TestIm2colPaddedIsIm2colRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	sentinel := math.Float32frombits(0x7fc0beef)
	geoms := []Conv2D{
		{C: 1, H: 28, W: 28, OutC: 32, KH: 3, KW: 3, PadH: 1, PadW: 1}, // cnn's first layer
		{C: 1, H: 28, W: 28, OutC: 6, KH: 5, KW: 5, PadH: 2, PadW: 2},  // lenet5's
		{C: 6, H: 14, W: 14, OutC: 16, KH: 5, KW: 5},
		{C: 3, H: 9, W: 10, OutC: 1, KH: 3, KW: 4, PadH: 3, PadW: 2, DilH: 2},
		{C: 2, H: 5, W: 5, OutC: 1, KH: 5, KW: 5}, // one output
		{C: 2, H: 3, W: 40, OutC: 1, KH: 1, KW: 7, PadW: 3},
	}
	for _, g := range geoms {
		g.N, g.StrideH, g.StrideW, g.DilW = 1, 1, 1, 1
		if g.DilH == 0 {
			g.DilH = 1
		}
		require.NoError(t, g.Validate(), "%v", g)
		for _, extra := range []int{0, 5} {
			ld := g.P() + extra
			t.Run(fmt.Sprintf("%v/ld+%d", g, extra), func(t *testing.T) {
				x := make([]float32, g.C*g.H*g.W)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				for i := 3; i < len(x); i += 11 {
					x[i] = math.Float32frombits(0x7fc00000 | uint32(i))
				}
				xp := make([]float32, g.C*g.PadH2()*g.PadW2())
				require.NoError(t, PadImage(g, xp, x))
				want := make([]float32, g.K()*ld)
				for i := range want {
					want[i] = sentinel
				}
				require.NoError(t, Im2colRows(g, want, ld, x, 0, g.OutH()))
				for _, l := range cpufeat.Supported() {
					got := make([]float32, len(want))
					for i := range got {
						got[i] = sentinel
					}
					withLevel(t, l, func() { require.NoError(t, Im2colPadded(g, got, ld, xp)) })
					requireSameBits32(t, want, got, "col at "+l.String())
				}
				x64, xp64 := make([]float64, len(x)), make([]float64, len(xp))
				for i, v := range x {
					x64[i] = float64(v) / 3
				}
				require.NoError(t, PadImage(g, xp64, x64))
				want64, got64 := make([]float64, len(want)), make([]float64, len(want))
				require.NoError(t, Im2colRows(g, want64, ld, x64, 0, g.OutH()))
				require.NoError(t, Im2colPadded(g, got64, ld, xp64))
				for i := range want64 {
					require.Equal(t, math.Float64bits(want64[i]), math.Float64bits(got64[i]), "float64 col[%d]", i)
				}
				require.ErrorIs(t, Im2colPadded(g, got64[:len(got64)-extra-1], ld, xp64), ErrInvalid, "a short column matrix")
				require.ErrorIs(t, Im2colPadded(g, got64, ld, xp64[1:]), ErrInvalid, "a short padded image")
				require.ErrorIs(t, Im2colPadded(g, got64, g.P()-1, xp64), ErrInvalid, "a leading dimension under P")
			})
		}
	}
	g := Conv2D{N: 1, C: 1, H: 9, W: 9, OutC: 1, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1}
	require.ErrorIs(t, Im2colPadded(g, make([]float32, 9*16), 16, make([]float32, 81)), ErrInvalid, "stride 2")
}

// TestPadAndCropImageAreTheLoops: at every level, for float32 images holding NaN payloads (which
// a move keeps), PadImage writes every element of the padded image (a sentinel left anywhere
// fails) exactly as the plain loops do, and CropImage gives back the image; on geometries with
// padding in one direction, both, none, and wider than a row of 16 lanes.
func TestPadAndCropImageAreTheLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 23))
	sentinel := math.Float32frombits(0x7fc0beef)
	for _, g := range []Conv2D{
		{C: 32, H: 14, W: 14, PadH: 1, PadW: 1}, // cnn's second layer
		{C: 1, H: 28, W: 28, PadH: 2, PadW: 2},  // lenet5's first
		{C: 3, H: 5, W: 7, PadH: 3, PadW: 0},
		{C: 2, H: 4, W: 9, PadH: 0, PadW: 2},
		{C: 2, H: 3, W: 3, PadH: 0, PadW: 0},
		{C: 2, H: 2, W: 40, PadH: 1, PadW: 5},
	} {
		g.N, g.OutC, g.KH, g.KW, g.StrideH, g.StrideW, g.DilH, g.DilW = 1, 1, 1, 1, 1, 1, 1, 1
		x := make([]float32, g.C*g.H*g.W)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
			if i%9 == 4 {
				x[i] = math.Float32frombits(0x7fc00000 | uint32(i))
			}
		}
		hp, wp := g.PadH2(), g.PadW2()
		want := make([]float32, g.C*hp*wp) // the loops' padded image
		for c := range g.C {
			for i := range g.H {
				copy(want[c*hp*wp+(g.PadH+i)*wp+g.PadW:][:g.W], x[c*g.H*g.W+i*g.W:][:g.W])
			}
		}
		for _, l := range cpufeat.Supported() {
			xp := make([]float32, len(want))
			for i := range xp {
				xp[i] = sentinel
			}
			back := make([]float32, len(x))
			withLevel(t, l, func() {
				require.NoError(t, PadImage(g, xp, x))
				require.NoError(t, CropImage(g, back, xp))
			})
			requireSameBits32(t, want, xp, fmt.Sprintf("%v padded at %v", g, l))
			requireSameBits32(t, x, back, fmt.Sprintf("%v cropped at %v", g, l))
		}
	}
}
