// loss.cu: the fused losses of kernels/loss.go, forward and backward, on row-major [rows, cols]
// logits x and targets y. The forward writes one partial sum per block (in double) into a scratch
// array; reduce.cu's reduce_finalize then adds the partials in a fixed order and writes
// T(sum / LossDivisor) into the one-element loss buffer, so the loss never leaves the device and
// the result does not depend on timing.
//
//   softmax cross-entropy: per row -Σ_{y≠0} y·((x-m) - log Σexp(x-m)), m the row max (a target of
//     exactly 0 adds exactly 0, even where log_softmax is -Inf); a warp per row.
//   BCE with logits: Σ max(x,0) - x·y + log1p(exp(-|x|)); MSE: Σ (x-y)²; elementwise.
//
// The backward reads dloss from the device (a one-element buffer) and computes
// scale = dloss / LossDivisor itself, so no host round trip is needed: cross-entropy gives
// scale·(softmax(x)·Σy - y) per row (exp evaluated again rather than stored, as in the twin),
// BCE scale·(σ(x) - y), MSE 2·scale·(x - y). dx may be x or y.
//
// Benchmark: go test -tags gpu -run xxx -bench 'Loss' ./backend/cuda/ on a GPU host.
#include "common.cuh"

enum { SOFTMAX_CE, BCE_LOGITS, MSE };

template <typename T>
__device__ __forceinline__ double ce_row(const WarpTeam& team, const T* x, const T* y, i64 cols) {
  double m = MaxOp::identity();
  for (i64 j = team.rank; j < cols; j += 32) m = go_max(m, (double)x[j]);
  m = team.max(m);
  double s = 0;
  for (i64 j = team.rank; j < cols; j += 32) s += exp((double)x[j] - m);
  const double lse = log(team.sum(s));
  double row = 0;
  for (i64 j = team.rank; j < cols; j += 32) {
    const double t = (double)y[j];
    if (t != 0) row -= t * (((double)x[j] - m) - lse);
  }
  return team.sum(row);
}

// loss_ce_partial: warp w of block b sums the loss of rows b·wpb + w, b·wpb + w + gridDim.x·wpb, ...
template <typename T>
__device__ __forceinline__ void ce_partial_body(const T* x, const T* y, i64 rows, i64 cols, double* partials) {
  __shared__ double sh[32];
  const i64 wpb = blockDim.x >> 5;
  const WarpTeam team = {(int)(threadIdx.x & 31)};
  double acc = 0;
  for (i64 r = (i64)blockIdx.x * wpb + (threadIdx.x >> 5); r < rows; r += (i64)gridDim.x * wpb) {
    const double v = ce_row(team, x + r * cols, y + r * cols, cols);
    if (team.rank == 0) acc += v;
  }
  acc = block_reduce(acc, SumOp(), sh);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

template <typename T>
__device__ __forceinline__ void elem_partial_body(int kind, const T* x, const T* y, i64 n, double* partials) {
  __shared__ double sh[32];
  double acc = 0;
  if (kind == BCE_LOGITS) {
    GRID_STRIDE(i, n) {
      const double f = (double)x[i];
      acc += go_max(f, 0.0) - f * (double)y[i] + log1p(exp(-fabs(f)));
    }
  } else {
    GRID_STRIDE(i, n) {
      const double d = (double)x[i] - (double)y[i];
      acc += d * d;
    }
  }
  acc = block_reduce(acc, SumOp(), sh);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

template <typename T, typename Team>
__device__ __forceinline__ void ce_grad_row(const Team& team, double scale, T* dx, const T* x, const T* y, i64 cols) {
  double m = MaxOp::identity();
  for (i64 j = team.rank; j < cols; j += team.size()) m = go_max(m, (double)x[j]);
  m = team.max(m);
  double s = 0, sy = 0;
  for (i64 j = team.rank; j < cols; j += team.size()) {
    s += exp((double)x[j] - m);
    sy += (double)y[j];
  }
  s = team.sum(s);
  sy = team.sum(sy);
  const double c = sy / s;
  for (i64 j = team.rank; j < cols; j += team.size())
    dx[j] = (T)(scale * (exp((double)x[j] - m) * c - (double)y[j]));
}

template <typename T>
__device__ __forceinline__ void elem_grad_body(int kind, double scale, T* dx, const T* x, const T* y, i64 n) {
  if (kind == BCE_LOGITS) {
    GRID_STRIDE(i, n) dx[i] = (T)(scale * (sigmoid((double)x[i]) - (double)y[i]));
  } else {
    const double s2 = 2 * scale;
    GRID_STRIDE(i, n) dx[i] = (T)(s2 * ((double)x[i] - (double)y[i]));
  }
}

#define LOSS_KERNELS(T, sfx)                                                                                      \
  extern "C" __global__ void loss_ce_partial_##sfx(const T* x, const T* y, i64 rows, i64 cols, double* partials) { \
    ce_partial_body<T>(x, y, rows, cols, partials);                                                               \
  }                                                                                                               \
  extern "C" __global__ void loss_elem_partial_##sfx(i64 kind, const T* x, const T* y, i64 n, double* partials) { \
    elem_partial_body<T>((int)kind, x, y, n, partials);                                                           \
  }                                                                                                               \
  extern "C" __global__ void loss_ce_grad_warp_##sfx(T* dx, const T* x, const T* y, const T* dloss, double div,   \
                                                     i64 rows, i64 cols) {                                        \
    const double scale = (double)dloss[0] / div;                                                                  \
    const i64 wpb = blockDim.x >> 5;                                                                              \
    const WarpTeam team = {(int)(threadIdx.x & 31)};                                                              \
    for (i64 r = (i64)blockIdx.x * wpb + (threadIdx.x >> 5); r < rows; r += (i64)gridDim.x * wpb)                 \
      ce_grad_row<T>(team, scale, dx + r * cols, x + r * cols, y + r * cols, cols);                               \
  }                                                                                                               \
  extern "C" __global__ void loss_ce_grad_block_##sfx(T* dx, const T* x, const T* y, const T* dloss, double div,  \
                                                      i64 rows, i64 cols) {                                       \
    __shared__ double sh[32];                                                                                     \
    const double scale = (double)dloss[0] / div;                                                                  \
    const BlockTeam team = {(int)threadIdx.x, sh};                                                                \
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)                                                            \
      ce_grad_row<T>(team, scale, dx + r * cols, x + r * cols, y + r * cols, cols);                               \
  }                                                                                                               \
  extern "C" __global__ void loss_elem_grad_##sfx(i64 kind, T* dx, const T* x, const T* y, const T* dloss,        \
                                                  double div, i64 n) {                                            \
    elem_grad_body<T>((int)kind, (double)dloss[0] / div, dx, x, y, n);                                            \
  }
BOTH(LOSS_KERNELS)
