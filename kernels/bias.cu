// bias.cu: the shape ops of backend.Device. BiasAdd: dst[r,c] = x[r,c] + bias[c] (in T, as the
// CPU does). Broadcast: dst [outer, mid, inner] = src [outer, 1, inner] repeated mid times. Sum:
// dst [outer, inner] = Σ_mid src [outer, mid, inner] accumulated in double (the bias gradient is
// Sum with outer = 1, mid = rows, inner = cols), an empty middle axis giving 0.
//
// Sum runs blocks of TX×TY = 256 threads (blockDim.x = TX): TX consecutive inner indices of one
// outer index, TY threads splitting the middle axis, then a tree over TY in shared memory. TX is
// the smallest power of two >= inner, at most 32, so a row sum (inner = 1) puts all 256 threads on
// one output and a bias gradient reads whole 128-byte lines. The tree has a fixed shape, so the
// bits do not depend on timing. gridDim.y strides over outer (it is capped at 65535).
//
// Benchmark: go test -tags gpu -run xxx -bench 'BiasAdd|Sum' ./backend/cuda/ on a GPU host.
#include "common.cuh"

template <typename T>
__device__ __forceinline__ void sum_body(T* dst, const T* src, i64 outer, i64 mid, i64 inner) {
  __shared__ double sh[256];
  const int tx = threadIdx.x, ty = threadIdx.y, TX = blockDim.x, TY = blockDim.y;
  const i64 i = (i64)blockIdx.x * TX + tx;
  for (i64 o = blockIdx.y; o < outer; o += gridDim.y) {
    double acc = 0;
    if (i < inner)
      for (i64 m = ty; m < mid; m += TY) acc += (double)src[(o * mid + m) * inner + i];
    sh[ty * TX + tx] = acc;
    __syncthreads();
    for (int s = TY >> 1; s > 0; s >>= 1) {
      if (ty < s) sh[ty * TX + tx] += sh[(ty + s) * TX + tx];
      __syncthreads();
    }
    if (ty == 0 && i < inner) dst[o * inner + i] = (T)sh[tx];
  }
}

#define BIAS_KERNELS(T, sfx)                                                                          \
  extern "C" __global__ void bias_add_##sfx(T* dst, const T* x, const T* bias, i64 rows, i64 cols) {  \
    GRID_STRIDE(i, rows * cols) dst[i] = x[i] + bias[i % cols];                                       \
  }                                                                                                   \
  extern "C" __global__ void broadcast_##sfx(T* dst, const T* src, i64 outer, i64 mid, i64 inner) {   \
    GRID_STRIDE(i, outer * mid * inner) {                                                             \
      const i64 k = i % inner, o = i / inner / mid;                                                   \
      dst[i] = src[o * inner + k];                                                                    \
    }                                                                                                 \
  }                                                                                                   \
  extern "C" __global__ void sum_mid_##sfx(T* dst, const T* src, i64 outer, i64 mid, i64 inner) {     \
    sum_body<T>(dst, src, outer, mid, inner);                                                         \
  }
BOTH(BIAS_KERNELS)
