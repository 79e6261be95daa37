// Package ptx holds the PTX that nvcc generates from the CUDA kernels in kernels/*.cu (one module
// per kernel family), committed so that a GPU build needs no nvcc, and embedded into GPU builds by
// ptx_gpu.go (build tag gpu). The PTX targets compute_70: the driver JIT-compiles it for the GPU
// it runs on, Volta through Hopper and later.
//
// Regenerate after editing a .cu file (needs nvcc, see ../../../shared/gpu/README.md):
//
//	go generate ./kernels/ptx
//
// scripts/check-ptx.sh regenerates into a temporary directory and fails if the committed PTX
// differs. common.cuh here is the header every .cu includes.
package ptx

//go:generate bash gen.sh
