// conv.cu: the pieces of a 2-D convolution (kernels/conv.go's Conv2D) around cuBLAS products.
// The device works on a chunk of nb images at a time, with the images side by side along the
// columns of every matrix ("layout B", [rows, nb·P] with P = OH·OW):
//
//   im2col:  col[r·sk + n·sn + q] for r = (c, p, q') < C·KH·KW, n < nb, q < P: the input element
//            the receptive field of output q of image n reads through kernel tap r, 0 in the
//            padding (kernels.Im2col's entries, in layout B with sn = P, sk = nb·P).
//   col2im:  dx[n, c, h, w] = Σ over the taps (kh, kw) that read (h, w), in row-major tap order,
//            of the column entry: the adjoint of im2col as a gather, one thread per input
//            element, summed in T in the order kernels.Col2im's scatter adds them, so the two
//            agree bit for bit.
//   swap01:  dst[b, a, q] = src[a, b, q]: exchanges the two outer axes of [A, B, Q] (the image
//            and channel axes between NCHW and layout B).
//
// Forward: y' = w·col then swap01; input gradient: dy' = swap01(dy), dcol = wᵀ·dy', col2im;
// weight gradient: dw += dy'·colᵀ over the chunks (backend/cuda/conv_gpu.go).
//
// Geometry pairs are packed two to a parameter, (a << 32) | b, to stay within the launcher's 16
// parameters: hw = (H, W), k = (KH, KW), s = stride, p = padding, d = dilation, o = (OH, OW).
//
// Benchmark: go test -tags gpu -run xxx -bench 'Conv' ./backend/cuda/ on a GPU host.
#include "common.cuh"

__device__ __forceinline__ i64 hi32(i64 v) { return v >> 32; }
__device__ __forceinline__ i64 lo32(i64 v) { return v & 0xffffffffLL; }

template <typename T>
__device__ __forceinline__ void im2col_body(T* col, const T* x, i64 nb, i64 C, i64 hw, i64 k, i64 s, i64 p, i64 d, i64 o,
                                            i64 sn, i64 sk) {
  const i64 H = hi32(hw), W = lo32(hw), KH = hi32(k), KW = lo32(k), SH = hi32(s), SW = lo32(s);
  const i64 PH = hi32(p), PW = lo32(p), DH = hi32(d), DW = lo32(d), OH = hi32(o), OW = lo32(o);
  const i64 P = OH * OW, K = C * KH * KW;
  GRID_STRIDE(idx, nb * K * P) {
    const i64 q = idx % P, r = (idx / P) % K, n = idx / P / K;
    const i64 kw = r % KW, kh = (r / KW) % KH, c = r / KW / KH;
    const i64 i = q / OW, j = q % OW;
    const i64 h = i * SH - PH + kh * DH, w = j * SW - PW + kw * DW;
    T v = 0;
    if (h >= 0 && h < H && w >= 0 && w < W) v = x[((n * C + c) * H + h) * W + w];
    col[r * sk + n * sn + q] = v;
  }
}

template <typename T>
__device__ __forceinline__ void col2im_body(T* dx, const T* col, i64 nb, i64 C, i64 hw, i64 k, i64 s, i64 p, i64 d, i64 o,
                                            i64 sn, i64 sk) {
  const i64 H = hi32(hw), W = lo32(hw), KH = hi32(k), KW = lo32(k), SH = hi32(s), SW = lo32(s);
  const i64 PH = hi32(p), PW = lo32(p), DH = hi32(d), DW = lo32(d), OH = hi32(o), OW = lo32(o);
  GRID_STRIDE(idx, nb * C * H * W) {
    const i64 w = idx % W, h = (idx / W) % H, c = (idx / W / H) % C, n = idx / W / H / C;
    T acc = 0;
    for (i64 kh = 0; kh < KH; kh++) {
      const i64 ti = h + PH - kh * DH;  // i·SH
      if (ti < 0 || ti % SH != 0 || ti / SH >= OH) continue;
      const i64 i = ti / SH;
      for (i64 kw = 0; kw < KW; kw++) {
        const i64 tj = w + PW - kw * DW;
        if (tj < 0 || tj % SW != 0 || tj / SW >= OW) continue;
        const i64 r = (c * KH + kh) * KW + kw;
        acc += col[r * sk + n * sn + i * OW + tj / SW];
      }
    }
    dx[idx] = acc;
  }
}

template <typename T>
__device__ __forceinline__ void swap01_body(T* dst, const T* src, i64 A, i64 B, i64 Q) {
  GRID_STRIDE(idx, A * B * Q) {
    const i64 q = idx % Q, b = (idx / Q) % B, a = idx / Q / B;
    dst[(b * A + a) * Q + q] = src[idx];
  }
}

#define CONV_KERNELS(T, sfx)                                                                                     \
  extern "C" __global__ void im2col_##sfx(T* col, const T* x, i64 nb, i64 C, i64 hw, i64 k, i64 s, i64 p, i64 d, \
                                          i64 o, i64 sn, i64 sk) {                                               \
    im2col_body<T>(col, x, nb, C, hw, k, s, p, d, o, sn, sk);                                                    \
  }                                                                                                              \
  extern "C" __global__ void col2im_##sfx(T* dx, const T* col, i64 nb, i64 C, i64 hw, i64 k, i64 s, i64 p, i64 d, \
                                          i64 o, i64 sn, i64 sk) {                                               \
    col2im_body<T>(dx, col, nb, C, hw, k, s, p, d, o, sn, sk);                                                   \
  }                                                                                                              \
  extern "C" __global__ void swap01_##sfx(T* dst, const T* src, i64 A, i64 B, i64 Q) { swap01_body<T>(dst, src, A, B, Q); }
BOTH(CONV_KERNELS)
