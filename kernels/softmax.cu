// softmax.cu: softmax and log-softmax over the rows of a row-major [rows, cols] matrix, forward
// and backward (from the forward output y). The GPU twin of kernels/softmax.go: the row maximum is
// subtracted first (NaN-propagating, so a NaN anywhere makes its row NaN), exp and the row sums
// are in double, and for float32 the softmax is rounded twice exactly as the twin does it
// (exp(x-m) is stored in dst, then scaled by 1/Σ).
//
// Narrow rows (cols <= 32, such as 10 classes) get a warp per row, eight rows per 256-thread
// block; wide rows get a block per row. Both are one template over a "team" (common.cuh), and
// both are correct for any cols (the tests run each path on both kinds of rows). Every element is
// read and written by the one thread that owns its column, so dst may be x (and dx may be y or dy).
//
// Benchmark: go test -tags gpu -run xxx -bench 'Softmax' ./backend/cuda/ on a GPU host.
#include "common.cuh"

template <typename T, typename Team>
__device__ __forceinline__ void softmax_row(const Team& team, bool log_, T* dst, const T* x, i64 cols) {
  double m = MaxOp::identity();
  for (i64 j = team.rank; j < cols; j += team.size()) m = go_max(m, (double)x[j]);
  m = team.max(m);
  double s = 0;
  if (log_) {
    for (i64 j = team.rank; j < cols; j += team.size()) s += exp((double)x[j] - m);
    const double lse = log(team.sum(s));
    for (i64 j = team.rank; j < cols; j += team.size()) dst[j] = (T)(((double)x[j] - m) - lse);
    return;
  }
  for (i64 j = team.rank; j < cols; j += team.size()) {
    const double e = exp((double)x[j] - m);
    dst[j] = (T)e;
    s += e;
  }
  const double inv = 1.0 / team.sum(s);
  for (i64 j = team.rank; j < cols; j += team.size()) dst[j] = (T)((double)dst[j] * inv);
}

template <typename T, typename Team>
__device__ __forceinline__ void softmax_grad_row(const Team& team, bool log_, T* dx, const T* y, const T* dy, i64 cols) {
  double s = 0;
  if (log_) {
    for (i64 j = team.rank; j < cols; j += team.size()) s += (double)dy[j];
    s = team.sum(s);
    for (i64 j = team.rank; j < cols; j += team.size()) dx[j] = (T)((double)dy[j] - exp((double)y[j]) * s);
    return;
  }
  for (i64 j = team.rank; j < cols; j += team.size()) s += (double)dy[j] * (double)y[j];
  s = team.sum(s);
  for (i64 j = team.rank; j < cols; j += team.size()) dx[j] = (T)((double)y[j] * ((double)dy[j] - s));
}

// Warp kernels: warp w of block b takes rows b·wpb + w, then strides by gridDim.x·wpb. The row
// index is the same for the whole warp, so the shuffles always have all 32 lanes.
#define WARP_ROWS(row, rows)                                                               \
  const i64 wpb = blockDim.x >> 5;                                                         \
  const WarpTeam team = {(int)(threadIdx.x & 31)};                                         \
  for (i64 row = (i64)blockIdx.x * wpb + (threadIdx.x >> 5); row < (rows); row += (i64)gridDim.x * wpb)

#define BLOCK_ROWS(row, rows)                  \
  __shared__ double sh[32];                    \
  const BlockTeam team = {(int)threadIdx.x, sh}; \
  for (i64 row = blockIdx.x; row < (rows); row += gridDim.x)

#define SOFTMAX_KERNELS(T, sfx)                                                                                   \
  extern "C" __global__ void softmax_warp_##sfx(i64 log_, T* dst, const T* x, i64 rows, i64 cols) {                \
    WARP_ROWS(r, rows) softmax_row<T>(team, log_ != 0, dst + r * cols, x + r * cols, cols);                        \
  }                                                                                                                \
  extern "C" __global__ void softmax_block_##sfx(i64 log_, T* dst, const T* x, i64 rows, i64 cols) {               \
    BLOCK_ROWS(r, rows) softmax_row<T>(team, log_ != 0, dst + r * cols, x + r * cols, cols);                       \
  }                                                                                                                \
  extern "C" __global__ void softmax_grad_warp_##sfx(i64 log_, T* dx, const T* y, const T* dy, i64 rows, i64 cols) {  \
    WARP_ROWS(r, rows) softmax_grad_row<T>(team, log_ != 0, dx + r * cols, y + r * cols, dy + r * cols, cols);        \
  }                                                                                                                \
  extern "C" __global__ void softmax_grad_block_##sfx(i64 log_, T* dx, const T* y, const T* dy, i64 rows, i64 cols) { \
    BLOCK_ROWS(r, rows) softmax_grad_row<T>(team, log_ != 0, dx + r * cols, y + r * cols, dy + r * cols, cols);       \
  }
BOTH(SOFTMAX_KERNELS)
