// reduce.cu: reductions to one number that stay on the device.
//
//   sumsq_partial: Σx² over every element of a list of tensors (the squared global gradient
//     norm), accumulated in double. The list is a multi-tensor table (common.cuh) with one pointer
//     per tensor; block b takes chunks b, b + gridDim.x, ... and writes its partial sum. A NaN or
//     Inf anywhere makes the sum non-finite, which is how the trainer detects a bad gradient.
//   count_correct_partial: per row, argmax(x) == argmax(y) (first index of the largest non-NaN
//     value, 0 for an all-NaN row, as backend/cpu's argmax), or x > 0 == y > 0.5 when cols == 1;
//     a warp per row, one partial count per block.
//   reduce_finalize: adds the partials in a fixed order and writes T(sum / div) into dst[0]; the
//     losses of loss.cu use it too. Launch with one block of 256 threads.
//
// Chunks of 16-byte-aligned tensors are read with 16-byte vector loads and a scalar tail.
// Benchmark: go test -tags gpu -run xxx -bench 'SumSquares' ./backend/cuda/ on a GPU host.
#include "common.cuh"

template <typename T>
__device__ __forceinline__ void sumsq_body(const u64* tab, i64 chunks_at, i64 nchunks, i64 chunk, double* partials) {
  __shared__ double sh[32];
  double acc = 0;
  for (i64 c = blockIdx.x; c < nchunks; c += gridDim.x) {
    const Chunk ch = table_chunk(tab, 1, chunks_at, chunk, c);
    const T* x = (const T*)ch.entry[1] + ch.offset;
    i64 done = 0;
    if (aligned16(x)) {
      const i64 nv = ch.len / Pack<T>::N;
      for (i64 v = threadIdx.x; v < nv; v += blockDim.x) {
        const Pack<T> p = ((const Pack<T>*)x)[v];
#pragma unroll
        for (int k = 0; k < Pack<T>::N; k++) acc += (double)p.v[k] * (double)p.v[k];
      }
      done = nv * Pack<T>::N;
    }
    for (i64 i = done + threadIdx.x; i < ch.len; i += blockDim.x) acc += (double)x[i] * (double)x[i];
  }
  acc = block_reduce(acc, SumOp(), sh);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

// better reports whether (a, ia) beats (b, ib) for the argmax: NaN never beats a number, larger
// wins, and ties (NaN against NaN included) go to the smaller index. It is associative, so the
// warp's butterfly gives the serial scan's answer.
__device__ __forceinline__ bool better(double a, i64 ia, double b, i64 ib) {
  const bool an = a != a, bn = b != b;
  if (an != bn) return bn;
  if (!an && a != b) return a > b;
  return ia < ib;
}

template <typename T>
__device__ __forceinline__ i64 warp_argmax(const T* row, i64 cols, int lane) {
  double best = __longlong_as_double(0x7ff8000000000000LL);  // NaN at an index past the row: loses to everything
  i64 bi = cols;
  for (i64 j = lane; j < cols; j += 32) {
    const double v = (double)row[j];
    if (better(v, j, best, bi)) best = v, bi = j;
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const double ob = __shfl_xor_sync(0xffffffffu, best, o);
    const i64 oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (better(ob, oi, best, bi)) best = ob, bi = oi;
  }
  return bi;
}

template <typename T>
__device__ __forceinline__ void count_body(const T* x, const T* y, i64 rows, i64 cols, double* partials) {
  __shared__ double sh[32];
  const i64 wpb = blockDim.x >> 5;
  const int lane = threadIdx.x & 31;
  double acc = 0;
  for (i64 r = (i64)blockIdx.x * wpb + (threadIdx.x >> 5); r < rows; r += (i64)gridDim.x * wpb) {
    bool ok;
    if (cols == 1) {
      ok = (x[r] > (T)0) == (y[r] > (T)0.5);
    } else {
      const i64 ix = warp_argmax(x + r * cols, cols, lane);
      ok = ix == warp_argmax(y + r * cols, cols, lane);
    }
    if (lane == 0 && ok) acc += 1;
  }
  acc = block_reduce(acc, SumOp(), sh);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

#define REDUCE_KERNELS(T, sfx)                                                                            \
  extern "C" __global__ void sumsq_partial_##sfx(const u64* tab, i64 chunks_at, i64 nchunks, i64 chunk,  \
                                                 double* partials) {                                     \
    sumsq_body<T>(tab, chunks_at, nchunks, chunk, partials);                                             \
  }                                                                                                      \
  extern "C" __global__ void count_correct_partial_##sfx(const T* x, const T* y, i64 rows, i64 cols,     \
                                                         double* partials) {                             \
    count_body<T>(x, y, rows, cols, partials);                                                           \
  }                                                                                                      \
  extern "C" __global__ void reduce_finalize_##sfx(const double* partials, i64 n, double div, T* dst) {  \
    finalize_body<T>(partials, n, div, dst);                                                             \
  }
BOTH(REDUCE_KERNELS)
