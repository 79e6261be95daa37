// The MXCSR bits of the float32 loops that run under flush-to-zero and denormals-are-zero
// (optim_amd64.s, optim512_amd64.s, act_amd64.s, act512_amd64.s; ftz.go says why, and emulates
// them for the Go twins).

// FTZ_ON saves the MXCSR at mxcsr-8(SP) and sets its flush-to-zero (bit 15) and
// denormals-are-zero (bit 6) bits; FTZ_OFF restores it. An assembly function cannot be preempted
// and signal handlers save and restore the MXCSR, so no other code runs with these bits. Clobbers
// AX.
#define FTZ_ON \
	STMXCSR mxcsr-8(SP); \
	MOVL mxcsr-8(SP), AX; \
	ORL $0x8040, AX; \
	MOVL AX, mxcsr-4(SP); \
	LDMXCSR mxcsr-4(SP)

#define FTZ_OFF \
	LDMXCSR mxcsr-8(SP)
