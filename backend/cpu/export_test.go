package cpu

// SetConvBlockElems sets the bound on a convolution's column-matrix block (convBlockElems) and
// returns a function that restores it, so that tests can run every convolution one output row
// per block.
func SetConvBlockElems(n int) (restore func()) {
	old := convBlockElems
	convBlockElems = n
	return func() { convBlockElems = old }
}
