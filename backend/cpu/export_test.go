package cpu

// SetConvBlockElems sets the bound on a convolution's column-matrix block (convBlockElems) and
// returns a function that restores it, so that tests can run every convolution one output row
// per block.
func SetConvBlockElems(n int) (restore func()) {
	old := convBlockElems
	convBlockElems = n
	return func() { convBlockElems = old }
}

// SetConvChunks sets the bound on a batch's chunks (convChunks) and returns a function that
// restores it.
func SetConvChunks(n int) (restore func()) {
	old := convChunks
	convChunks = n
	return func() { convChunks = old }
}

// SetConvWide turns the full-width column matrix on or off (convWide) and returns a function that
// restores it.
func SetConvWide(on bool) (restore func()) {
	old := convWide
	convWide = on
	return func() { convWide = old }
}

// SetFilterT turns the transposed filter gradient (filterT) on or off and returns a function that
// restores it.
func SetFilterT(on bool) (restore func()) {
	old := filterT
	filterT = on
	return func() { filterT = old }
}

// SetConvCompactData turns the input gradient on the compact column matrix (convCompactData) on
// or off and returns a function that restores it.
func SetConvCompactData(on bool) (restore func()) {
	old := convCompactData
	convCompactData = on
	return func() { convCompactData = old }
}

// SetConvCompactForward turns the forward pass on the compact column matrix (convCompactForward)
// on or off and returns a function that restores it.
func SetConvCompactForward(on bool) (restore func()) {
	old := convCompactForward
	convCompactForward = on
	return func() { convCompactForward = old }
}
