// Package cuda is the NVIDIA GPU backend of gotrain: a backend.Device on the CUDA driver API
// (gorgonia.org/cu), with the kernels of kernels/*.cu loaded from the fatbins that kernels/ptx
// embeds (sm_90 machine code and compute_70 PTX) and matrix products on cuBLAS, loaded at run time
// with dlopen.
//
// The device is compiled only with the build tag gpu (never the tag cuda, which switches on
// Gorgonia's own CUDA files); without it, nogpu.go registers "cuda" with an error that says how
// to rebuild. A binary built with the tag needs an NVIDIA driver to start at all: gorgonia.org/cu
// calls cuInit in its package init and exits when that fails.
//
// # Design
//
//   - Threads: every method locks the calling goroutine to its OS thread for the duration of the
//     call and makes the device's (primary) context current on it. A Device may therefore be
//     driven from any goroutine, one at a time as backend.Device requires (the conformance suite
//     calls it from the goroutine of each subtest), at a cost of well under a microsecond per call
//     against the ~3.5 µs of a kernel launch. No goroutine owns the context, so no call pays a
//     channel round trip.
//   - One stream, non-blocking. Every kernel, copy and cuBLAS call is issued on it, so they run in
//     issue order; Read and Sync are the only points where the host waits. Write copies from
//     pageable host memory with cuMemcpyHtoDAsync, which consumes the host slice before it
//     returns, so the caller may reuse the slice at once.
//   - Memory: a caching allocator (allocator in alloc.go) with size-bucketed free lists. Free
//     returns a block to its list and Alloc of the same size class takes it back, so a training
//     step that frees and allocates, or a second plan of the same shapes, calls cuMemAlloc no
//     more; out of memory first releases the cached blocks and retries, then returns an error
//     wrapping backend.ErrOutOfMemory with the requested and the free bytes (cuMemGetInfo).
//   - Reductions (the loss, the correct count, the squared gradient norm) stay on the device:
//     blocks write partial sums in double to a scratch array and one more kernel adds them in a
//     fixed order into the one-element result, so the bits do not depend on timing.
//   - The optimizer runs as one multi-tensor kernel per step (per dtype): a table of (length,
//     pointers) per parameter and a list of chunks (table.go) lives in device memory, cached by
//     content, so a training step uploads nothing once the first step has built its table.
//   - Kernel parameters are passed the way cu's Function.Launch wants them: exactly 8 bytes each,
//     device pointers and int64 as they are, a float32 as its bits in a uint64 (params.go), and
//     checked before each launch against the kernel's signature, which tests compare with the
//     PTX and with the .cu parameter lists.
//   - Loading (module_gpu.go): each kernel family's fatbin, so an sm_90 GPU compiles nothing and
//     others JIT-compile its PTX (kernels/NOTES-loading.md), with the JIT's error and info logs
//     captured into the error of a module the driver refuses. GOTRAIN_CUDA_PTX=1 loads the PTX.
//   - Faults (debug.go): a kernel fault surfaces at the next wait (one per training step), whose
//     error names the kernel issued last. GOTRAIN_CUDA_SYNC=1 waits after every launch and GEMM
//     and names the failing kernel with its grid, block and parameters; off, it costs nothing
//     and allocates nothing.
//   - Launch geometry (geometry.go) is pure functions tested against the hardware's limits.
//   - cuBLAS is loaded with dlopen (libcublas.so.13, .12, .11, then libcublas.so; GOTRAIN_CUBLAS
//     names another), because a binary linked against one major version does not start where
//     only another is installed. Math mode CUBLAS_DEFAULT_MATH: float32 products are true float32
//     (no TF32). Row-major products use the transpose identity C^T = B^T·A^T (gemm.go).
//
// The files without the gpu tag (alloc.go, table.go, params.go, gemm.go, names.go, geometry.go,
// debug.go) are pure Go and are tested on any machine by `go test ./backend/cuda/`; the GPU tests
// run on a GPU host through scripts/gpu-check.sh.
package cuda
