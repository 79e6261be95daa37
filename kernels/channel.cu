// channel.cu: per-channel ops over x viewed as [outer, C, inner] (kernels/channel.go): a
// convolution's bias and its gradient, batch normalisation's dβ.
//
//   channel_bias: y[o,c,i] = x[o,c,i] + b[c], in T, one thread per element.
//   channel_sum: dst[c] = Σ_{o,i} x[o,c,i] in double, one block per channel (grid-stride), the
//     block reduction of common.cuh (a fixed tree), rounded once.
//
// Benchmark: go test -tags gpu -run xxx -bench 'Channel' ./backend/cuda/ on a GPU host.
#include "common.cuh"

template <typename T>
__device__ __forceinline__ void channel_sum_body(T* dst, const T* x, i64 outer, i64 C, i64 inner) {
  __shared__ double sh[32];
  for (i64 c = blockIdx.x; c < C; c += gridDim.x) {
    double acc = 0;
    for (i64 e = threadIdx.x; e < outer * inner; e += blockDim.x) acc += (double)x[(e / inner * C + c) * inner + e % inner];
    acc = block_reduce(acc, SumOp(), sh);
    if (threadIdx.x == 0) dst[c] = (T)acc;
  }
}

#define CHANNEL_KERNELS(T, sfx)                                                                                   \
  extern "C" __global__ void channel_bias_##sfx(T* y, const T* x, const T* b, i64 outer, i64 C, i64 inner) {     \
    GRID_STRIDE(i, outer * C * inner) y[i] = x[i] + b[(i / inner) % C];                                           \
  }                                                                                                               \
  extern "C" __global__ void channel_sum_##sfx(T* dst, const T* x, i64 outer, i64 C, i64 inner) {                \
    channel_sum_body<T>(dst, x, outer, C, inner);                                                                 \
  }
BOTH(CHANNEL_KERNELS)
