// batchnorm.cu: batch normalisation over the channels of x viewed as [N, C, inner]
// (kernels/batchnorm.go's BatchNorm), one block per channel (grid-stride over channels), every
// sum in double with the block reduction of common.cuh (a fixed tree: the bits do not depend on
// timing, though the order differs from the twin's loop).
//
//   bn_fwd: training: the channel's mean, then its biased variance (two passes), the running
//     statistics updated by thread 0 (the unbiased variance for running_var), y = T(x·scale +
//     shift) with scale = γ/√(σ²+eps), shift = β − μ·scale. Evaluation: μ, σ² are the running
//     statistics.
//   bn_grad_input: dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)) in training (the statistics
//     recomputed from x), γ·invstd·dy in evaluation.
//   bn_grad_gamma: dγ = Σ dy·x̂.
//
// Benchmark: go test -tags gpu -run xxx -bench 'BatchNorm' ./backend/cuda/ on a GPU host.
#include "common.cuh"

// channel_sum_of sums f(n, i) over the channel's M = N·inner elements, the result in every thread.
template <typename F>
__device__ __forceinline__ double channel_reduce(i64 N, i64 inner, double* sh, F f) {
  double acc = 0;
  for (i64 e = threadIdx.x; e < N * inner; e += blockDim.x) acc += f(e / inner, e % inner);
  return block_reduce(acc, SumOp(), sh);
}

template <typename T>
__device__ __forceinline__ void bn_stats(const T* x, const T* rm, const T* rv, i64 c, i64 N, i64 C, i64 inner, double eps,
                                         bool train, double* sh, double& mean, double& var, double& invstd) {
  if (!train) {
    mean = (double)rm[c];
    var = (double)rv[c];
  } else {
    const double m = (double)(N * inner);
    mean = channel_reduce(N, inner, sh, [&](i64 n, i64 i) { return (double)x[(n * C + c) * inner + i]; }) / m;
    var = channel_reduce(N, inner, sh, [&](i64 n, i64 i) {
            const double d = (double)x[(n * C + c) * inner + i] - mean;
            return d * d;
          }) / m;
  }
  invstd = 1.0 / sqrt(var + eps);
}

template <typename T>
__device__ __forceinline__ void bn_fwd_body(T* y, const T* x, const T* gamma, const T* beta, T* rm, T* rv, i64 N, i64 C,
                                            i64 inner, double eps, double mom, i64 train) {
  __shared__ double sh[32];
  for (i64 c = blockIdx.x; c < C; c += gridDim.x) {
    double mean, var, invstd;
    bn_stats(x, rm, rv, c, N, C, inner, eps, train != 0, sh, mean, var, invstd);
    const double scale = (double)gamma[c] * invstd, shift = (double)beta[c] - mean * scale;
    for (i64 e = threadIdx.x; e < N * inner; e += blockDim.x) {
      const i64 k = (e / inner * C + c) * inner + e % inner;
      y[k] = (T)((double)x[k] * scale + shift);
    }
    __syncthreads();  // every thread has read rm[c], rv[c] (evaluation) before they change
    if (train && threadIdx.x == 0) {
      const double m = (double)(N * inner);
      rm[c] = (T)((1 - mom) * (double)rm[c] + mom * mean);
      rv[c] = (T)((1 - mom) * (double)rv[c] + mom * var * m / (m - 1));
    }
  }
}

template <typename T>
__device__ __forceinline__ void bn_grad_input_body(T* dx, const T* x, const T* gamma, const T* rm, const T* rv, const T* dy,
                                                   i64 N, i64 C, i64 inner, double eps, i64 train) {
  __shared__ double sh[32];
  for (i64 c = blockIdx.x; c < C; c += gridDim.x) {
    double mean, var, invstd;
    bn_stats(x, rm, rv, c, N, C, inner, eps, train != 0, sh, mean, var, invstd);
    const double g = (double)gamma[c] * invstd, m = (double)(N * inner);
    double mdy = 0, mdyx = 0;
    if (train) {
      mdy = channel_reduce(N, inner, sh, [&](i64 n, i64 i) { return (double)dy[(n * C + c) * inner + i]; }) / m;
      mdyx = channel_reduce(N, inner, sh, [&](i64 n, i64 i) {
               const i64 k = (n * C + c) * inner + i;
               return (double)dy[k] * (((double)x[k] - mean) * invstd);
             }) / m;
    }
    for (i64 e = threadIdx.x; e < N * inner; e += blockDim.x) {
      const i64 k = (e / inner * C + c) * inner + e % inner;
      if (!train) {
        dx[k] = (T)((double)dy[k] * g);
      } else {
        const double xh = ((double)x[k] - mean) * invstd;
        dx[k] = (T)(g * ((double)dy[k] - mdy - xh * mdyx));
      }
    }
    __syncthreads();
  }
}

template <typename T>
__device__ __forceinline__ void bn_grad_gamma_body(T* dg, const T* x, const T* rm, const T* rv, const T* dy, i64 N, i64 C,
                                                   i64 inner, double eps, i64 train) {
  __shared__ double sh[32];
  for (i64 c = blockIdx.x; c < C; c += gridDim.x) {
    double mean, var, invstd;
    bn_stats(x, rm, rv, c, N, C, inner, eps, train != 0, sh, mean, var, invstd);
    const double s = channel_reduce(N, inner, sh, [&](i64 n, i64 i) {
      const i64 k = (n * C + c) * inner + i;
      return (double)dy[k] * (((double)x[k] - mean) * invstd);
    });
    if (threadIdx.x == 0) dg[c] = (T)s;
    __syncthreads();
  }
}

#define BN_KERNELS(T, sfx)                                                                                             \
  extern "C" __global__ void bn_fwd_##sfx(T* y, const T* x, const T* gamma, const T* beta, T* rm, T* rv, i64 N, i64 C, \
                                          i64 inner, double eps, double mom, i64 train) {                              \
    bn_fwd_body<T>(y, x, gamma, beta, rm, rv, N, C, inner, eps, mom, train);                                           \
  }                                                                                                                    \
  extern "C" __global__ void bn_grad_input_##sfx(T* dx, const T* x, const T* gamma, const T* rm, const T* rv,          \
                                                 const T* dy, i64 N, i64 C, i64 inner, double eps, i64 train) {        \
    bn_grad_input_body<T>(dx, x, gamma, rm, rv, dy, N, C, inner, eps, train);                                          \
  }                                                                                                                    \
  extern "C" __global__ void bn_grad_gamma_##sfx(T* dg, const T* x, const T* rm, const T* rv, const T* dy, i64 N,      \
                                                 i64 C, i64 inner, double eps, i64 train) {                            \
    bn_grad_gamma_body<T>(dg, x, rm, rv, dy, N, C, inner, eps, train);                                                 \
  }
BOTH(BN_KERNELS)
