package plot

import "image/color"

// palette holds the series colours, used in order and then repeated. The first
// seven are Okabe & Ito's colour-blind-safe set (its yellow left out: it
// vanishes on white); the rest are Tableau/D3 category colours picked to
// stay apart from those seven and from each other.
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	{0x00, 0x00, 0x00, 0xFF}, // black
	{0x9C, 0x75, 0x5F, 0xFF}, // Tableau brown
	{0xE1, 0x57, 0x59, 0xFF}, // Tableau red
	{0x59, 0xA1, 0x4F, 0xFF}, // Tableau green
	{0x94, 0x67, 0xBD, 0xFF}, // D3 purple
	{0xBC, 0xBD, 0x22, 0xFF}, // D3 olive
}

// Chrome colours: light enough that data stays in front, never equal to a
// palette colour, so a test can find a series by its exact colour.
var (
	colBackground = color.RGBA{0xFF, 0xFF, 0xFF, 0xFF}
	colGrid       = color.RGBA{0xE4, 0xE4, 0xE4, 0xFF}
	colGridMinor  = color.RGBA{0xF3, 0xF3, 0xF3, 0xFF}
	colAxis       = color.RGBA{0x44, 0x44, 0x44, 0xFF}
	colText       = color.RGBA{0x22, 0x22, 0x22, 0xFF}
	colMarker     = color.RGBA{0x55, 0x55, 0x55, 0xFF}
	colLegendEdge = color.RGBA{0xBB, 0xBB, 0xBB, 0xFF}
	colLabelBack  = color.RGBA{0xFF, 0xFF, 0xFF, 0xFF}
)

// seriesColor is the colour of the i-th series.
func seriesColor(i int) color.RGBA { return palette[i%len(palette)] }

// viridisStops are matplotlib's viridis at 0, 0.1, ..., 1: a sequential colour map whose
// lightness rises evenly and that reads the same to the common colour-vision deficiencies and in
// grey, so a heat map's order of values survives printing and colour blindness.
var viridisStops = []color.RGBA{
	{0x44, 0x01, 0x54, 0xFF}, {0x48, 0x24, 0x75, 0xFF}, {0x41, 0x44, 0x87, 0xFF},
	{0x35, 0x5F, 0x8D, 0xFF}, {0x2A, 0x78, 0x8E, 0xFF}, {0x21, 0x91, 0x8C, 0xFF},
	{0x22, 0xA8, 0x84, 0xFF}, {0x44, 0xBF, 0x70, 0xFF}, {0x7A, 0xD1, 0x51, 0xFF},
	{0xBD, 0xDF, 0x26, 0xFF}, {0xFD, 0xE7, 0x25, 0xFF},
}

// viridis returns the colour at t in [0, 1] (clamped), interpolated between the stops.
func viridis(t float64) color.RGBA {
	if !(t > 0) {
		return viridisStops[0]
	}
	if t >= 1 {
		return viridisStops[len(viridisStops)-1]
	}
	f := t * float64(len(viridisStops)-1)
	i := int(f)
	a, b, u := viridisStops[i], viridisStops[i+1], f-float64(i)
	mix := func(x, y uint8) uint8 { return uint8(float64(x) + u*(float64(y)-float64(x)) + 0.5) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xFF}
}

// colNaN marks missing cells of a heat map: a light grey that no viridis colour comes near.
var colNaN = color.RGBA{0xDD, 0xDD, 0xDD, 0xFF}
