// pool.cu: 2-D max and average pooling (kernels/pool.go's Pool2D) over planes = N·C planes.
//
//   pool_fwd: one thread per output; a max window is Go's max of its elements inside the image
//     (NaN if one is NaN, +0 over −0), an average sums them in double in row-major order and
//     divides by the kernel area (by the elements inside with flag 2).
//   pool_bwd: one thread per input element (a gather: no atomics, a fixed order): it visits the
//     windows that contain it in row-major window order and adds dy/div (average) or dy when the
//     window's argmax, recomputed as kernels.maxBackward does (the first element of the largest
//     order key), is this element (max), in T, the order kernels.PoolBackward's scatter adds
//     them, so the two agree bit for bit.
//
// Flags: 1 average (else max), 2 exclude the padding from the average's divisor. Geometry pairs
// are packed (a << 32) | b: hw = (H, W), k = (KH, KW), s = stride, p = padding, o = (OH, OW).
//
// Benchmark: go test -tags gpu -run xxx -bench 'Pool' ./backend/cuda/ on a GPU host.
#include "common.cuh"

struct PoolGeom {
  i64 H, W, KH, KW, SH, SW, PH, PW, OH, OW;
  bool avg, exclude;
  __device__ PoolGeom(i64 hw, i64 k, i64 s, i64 p, i64 o, i64 flags)
      : H(hw >> 32), W(hw & 0xffffffffLL), KH(k >> 32), KW(k & 0xffffffffLL), SH(s >> 32), SW(s & 0xffffffffLL),
        PH(p >> 32), PW(p & 0xffffffffLL), OH(o >> 32), OW(o & 0xffffffffLL), avg(flags & 1), exclude(flags & 2) {}
  // window clips window (i, j) to the image and returns the average's divisor.
  __device__ __forceinline__ double window(i64 i, i64 j, i64& h0, i64& h1, i64& w0, i64& w1) const {
    const i64 hs = i * SH - PH, ws = j * SW - PW;
    h0 = hs > 0 ? hs : 0;
    h1 = hs + KH < H ? hs + KH : H;
    w0 = ws > 0 ? ws : 0;
    w1 = ws + KW < W ? ws + KW : W;
    return exclude ? (double)((h1 - h0) * (w1 - w0)) : (double)(KH * KW);
  }
};

// okey is kernels/pool.go's order key: the bits turned from sign-magnitude to two's complement,
// ordered as the floats (−0 below +0, positive NaNs above +Inf, negative ones below −Inf).
__device__ __forceinline__ i64 okey(float v) {
  const int b = __float_as_int(v);
  return (i64)(b ^ ((b >> 31) & 0x7fffffff));
}
__device__ __forceinline__ i64 okey(double v) {
  const i64 b = __double_as_longlong(v);
  return b ^ ((b >> 63) & 0x7fffffffffffffffLL);
}

// pool_max is the window's value: Go's max over its elements (NaN if one is NaN, +0 over −0).
template <typename T>
__device__ __forceinline__ T pool_max(const PoolGeom& g, const T* plane, i64 i, i64 j) {
  i64 h0, h1, w0, w1;
  g.window(i, j, h0, h1, w0, w1);
  T m = plane[h0 * g.W + w0];
  for (i64 h = h0; h < h1; h++)
    for (i64 w = w0; w < w1; w++) m = go_max(m, plane[h * g.W + w]);
  return m;
}

// pool_argmax is the window's first element of the largest order key, as kernels.maxBackward.
template <typename T>
__device__ __forceinline__ i64 pool_argmax(const PoolGeom& g, const T* plane, i64 i, i64 j) {
  i64 h0, h1, w0, w1;
  g.window(i, j, h0, h1, w0, w1);
  i64 best = h0 * g.W + w0, bk = okey(plane[best]);
  for (i64 h = h0; h < h1; h++)
    for (i64 w = w0; w < w1; w++) {
      const i64 k = okey(plane[h * g.W + w]);
      if (k > bk) bk = k, best = h * g.W + w;
    }
  return best;
}

template <typename T>
__device__ __forceinline__ void pool_fwd_body(T* y, const T* x, i64 planes, i64 hw, i64 k, i64 s, i64 p, i64 o, i64 flags) {
  const PoolGeom g(hw, k, s, p, o, flags);
  GRID_STRIDE(idx, planes * g.OH * g.OW) {
    const i64 j = idx % g.OW, i = (idx / g.OW) % g.OH, pl = idx / g.OW / g.OH;
    const T* plane = x + pl * g.H * g.W;
    if (!g.avg) {
      y[idx] = pool_max(g, plane, i, j);
      continue;
    }
    i64 h0, h1, w0, w1;
    const double div = g.window(i, j, h0, h1, w0, w1);
    double acc = 0;
    for (i64 h = h0; h < h1; h++)
      for (i64 w = w0; w < w1; w++) acc += (double)plane[h * g.W + w];
    y[idx] = (T)(acc / div);
  }
}

template <typename T>
__device__ __forceinline__ void pool_bwd_body(T* dx, const T* x, const T* dy, i64 planes, i64 hw, i64 k, i64 s, i64 p,
                                              i64 o, i64 flags) {
  const PoolGeom g(hw, k, s, p, o, flags);
  GRID_STRIDE(idx, planes * g.H * g.W) {
    const i64 w = idx % g.W, h = (idx / g.W) % g.H, pl = idx / g.W / g.H;
    const T* plane = x + pl * g.H * g.W;
    const T* up = dy + pl * g.OH * g.OW;
    // Windows i with i·SH − PH ≤ h < i·SH − PH + KH, likewise j.
    i64 i0 = h + g.PH - g.KH + 1, j0 = w + g.PW - g.KW + 1;
    i0 = i0 > 0 ? (i0 + g.SH - 1) / g.SH : 0;
    j0 = j0 > 0 ? (j0 + g.SW - 1) / g.SW : 0;
    i64 i1 = (h + g.PH) / g.SH + 1, j1 = (w + g.PW) / g.SW + 1;
    i1 = i1 < g.OH ? i1 : g.OH;
    j1 = j1 < g.OW ? j1 : g.OW;
    T acc = 0;
    for (i64 i = i0; i < i1; i++)
      for (i64 j = j0; j < j1; j++) {
        if (g.avg) {
          i64 h0, h1, w0, w1;
          const double div = g.window(i, j, h0, h1, w0, w1);
          acc += up[i * g.OW + j] / (T)div;
        } else if (pool_argmax(g, plane, i, j) == h * g.W + w) {
          acc += up[i * g.OW + j];
        }
      }
    dx[idx] = acc;
  }
}

#define POOL_KERNELS(T, sfx)                                                                                        \
  extern "C" __global__ void pool_fwd_##sfx(T* y, const T* x, i64 planes, i64 hw, i64 k, i64 s, i64 p, i64 o,       \
                                            i64 flags) {                                                            \
    pool_fwd_body<T>(y, x, planes, hw, k, s, p, o, flags);                                                          \
  }                                                                                                                 \
  extern "C" __global__ void pool_bwd_##sfx(T* dx, const T* x, const T* dy, i64 planes, i64 hw, i64 k, i64 s, i64 p, \
                                            i64 o, i64 flags) {                                                     \
    pool_bwd_body<T>(dx, x, dy, planes, hw, k, s, p, o, flags);                                                     \
  }
BOTH(POOL_KERNELS)
