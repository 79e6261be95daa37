// dropout.cu: inverted dropout with the counter-based Philox4x32-10 mask of kernels/dropout.go.
//
//   dropout: y[i] = x[i]·m with m = scale when the 24-bit draw of element i is >= thr, else 0.
//     Element i uses word i mod 4 of Philox4x32-10 at counter (i/4, step low, step high, stream)
//     under key (seed low, seed high): integer arithmetic only, so every device draws the
//     twin's mask bit for bit; one thread per Philox block of four elements. The backward pass
//     is the same kernel applied to dy.
//
// Benchmark: go test -tags gpu -run xxx -bench 'Dropout' ./backend/cuda/ on a GPU host.
#include "common.cuh"

struct U4 {
  unsigned int v[4];
};

__device__ __forceinline__ U4 philox4x32_10(unsigned int c0, unsigned int c1, unsigned int c2, unsigned int c3, unsigned int k0,
                                            unsigned int k1) {
#pragma unroll
  for (int r = 0; r < 10; r++) {
    const unsigned int lo0 = 0xD2511F53u * c0, hi0 = __umulhi(0xD2511F53u, c0);
    const unsigned int lo1 = 0xCD9E8D57u * c2, hi1 = __umulhi(0xCD9E8D57u, c2);
    const unsigned int n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0, c1 = lo1, c2 = n2, c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  U4 out;
  out.v[0] = c0, out.v[1] = c1, out.v[2] = c2, out.v[3] = c3;
  return out;
}

template <typename T>
__device__ __forceinline__ void dropout_body(T* y, const T* x, i64 n, i64 thr, T scale, i64 seed, i64 step, i64 stream) {
  const u64 sd = (u64)seed, st = (u64)step;
  GRID_STRIDE(b, (n + 3) / 4) {
    const U4 r = philox4x32_10((unsigned int)b, (unsigned int)st, (unsigned int)(st >> 32), (unsigned int)stream,
                               (unsigned int)sd, (unsigned int)(sd >> 32));
#pragma unroll
    for (int w = 0; w < 4; w++) {
      const i64 i = 4 * b + w;
      if (i < n) y[i] = x[i] * ((i64)(r.v[w] >> 8) >= thr ? scale : (T)0);
    }
  }
}

#define DROPOUT_KERNELS(T, sfx)                                                                                       \
  extern "C" __global__ void dropout_##sfx(T* y, const T* x, i64 n, i64 thr, T scale, i64 seed, i64 step, i64 stream) { \
    dropout_body<T>(y, x, n, thr, scale, seed, step, stream);                                                         \
  }
BOTH(DROPOUT_KERNELS)
