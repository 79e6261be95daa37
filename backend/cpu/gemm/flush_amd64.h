// The AVX-512 kernels' MXCSR (gemm512_amd64.s, gemm512t_amd64.s): they compute with FTZ and DAZ
// set (gemm512_amd64.s says why).

// FLUSH_ON saves the MXCSR at mxcsr-8(SP) and sets FTZ (bit 15) and DAZ (bit 6); FLUSH_OFF
// restores it. An assembly function cannot be preempted, and signal handlers save and restore
// the MXCSR, so no other code ever runs with these bits.
#define FLUSH_ON \
	STMXCSR mxcsr-8(SP); \
	MOVL mxcsr-8(SP), AX; \
	ORL $0x8040, AX; \
	MOVL AX, mxcsr-4(SP); \
	LDMXCSR mxcsr-4(SP)

#define FLUSH_OFF \
	LDMXCSR mxcsr-8(SP)
