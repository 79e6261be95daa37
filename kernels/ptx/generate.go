// Package ptx holds the code that nvcc generates from the CUDA kernels in kernels/*.cu (one module
// per kernel family), committed so that a GPU build needs no CUDA compiler, and embedded into GPU
// builds by ptx_gpu.go (build tag gpu): for each family its PTX for compute_70, which the driver
// JIT-compiles for the GPU it runs on, Volta through Hopper and later, and a fatbin of that PTX
// with sm_90 machine code, which the device loads so that an H100 or H200 compiles nothing when it
// opens (kernels/NOTES-loading.md says why).
//
// Regenerate after editing a .cu file (needs nvcc, ptxas and fatbinary:
// scripts/install-cuda-toolkit.sh):
//
//	go generate ./kernels/ptx
//
// scripts/check-ptx.sh regenerates into a temporary directory and fails if anything committed
// differs, and checks every kernel's registers, stack, spills and shared memory with ptxas.
// common.cuh here is the header every .cu includes.
package ptx

//go:generate bash gen.sh
