// activation.cu: every kernels.Activation, forward (dst = f(x)) and backward (dx = dy·f'(x)),
// elementwise over float32 or float64 buffers. The GPU twin of kernels/activation.go: the same
// formulas, evaluated in double as the Go twin does, with the same exact tails (±40 for GELU,
// GELU-tanh and SiLU upwards, -750 for SiLU downwards) so that ±Inf give the limits instead of
// Inf·0 = NaN, and NaN propagating. The backward recomputes f'(x) from x in double (y is not read):
// from a float32 y, σ' = y(1-y) loses most of its digits as y saturates.
//
// The Go twin's exp is its own table method (within 2 ulp of math.Exp) and CUDA's double exp is
// within 1 ulp, so float64 results may differ in the last bits; float32 results are the same
// double value rounded once, and agree to within one float32 rounding.
//
// The activation is a kernel argument: it is the same for every thread, so the switch does not
// diverge. Benchmark: go test -tags gpu -run xxx -bench 'Activation' ./backend/cuda/ (on a GPU
// host, the prebuilt binary: scripts/gpu-check.sh), which reports GB/s beside a device-to-device copy.
#include "common.cuh"

// The Activation constants of kernels/kinds.go.
enum { IDENTITY, SIGMOID, TANH, RELU, LEAKYRELU, ELU, GELU, GELUTANH, SILU, SOFTPLUS };

#define GELU_TAIL 40.0
#define SILU_LOW_TAIL -750.0
#define SQRT_HALF 0.70710678118654752440084436210484903928483593768847
#define INV_SQRT_2PI 0.39894228040143267793994605993438186847585863116493
#define SQRT_2_OVER_PI 0.79788456080286535587989211986876373695171726232986
#define GELU_TANH_C 0.044715
#define TANH_SMALL 0.625

// step is the ReLU-family derivative: 1 for x > 0, neg for x <= 0, NaN for NaN.
__device__ __forceinline__ double step(double x, double neg) {
  if (x > 0) return 1.0;
  if (x <= 0) return neg;
  return x;
}

__device__ __forceinline__ double act_f(int act, double alpha, double f) {
  double e, r, s;
  switch (act) {
    case SIGMOID:
      return sigmoid(f);
    case TANH: {
      if (fabs(f) < TANH_SMALL) return tanh(f);
      logistic(2 * f, e, r, s);
      return copysign((1 - e) * r, f);
    }
    case LEAKYRELU:
      return go_max(f, 0.0) + alpha * go_min(f, 0.0);
    case ELU:
      return f > 0 ? f : alpha * expm1(f);
    case GELU:
      if (f < -GELU_TAIL) return 0;
      return 0.5 * f * erfc(-f * SQRT_HALF);
    case GELUTANH: {
      if (f < -GELU_TAIL) return 0;
      const double u = SQRT_2_OVER_PI * (f + GELU_TANH_C * f * f * f);
      return f * sigmoid(2 * u);
    }
    case SILU:
      if (f < SILU_LOW_TAIL) return 0;
      return f * sigmoid(f);
    case SOFTPLUS: {
      const double m = f < 0 ? 0.0 : f;
      return m + log1p(exp(-fabs(f)));
    }
  }
  return f;  // IDENTITY
}

// act_df returns f'(x).
__device__ __forceinline__ double act_df(int act, double alpha, double x) {
  double e, r, s;
  switch (act) {
    case SIGMOID:
      logistic(x, e, r, s);
      return e * r * r;
    case TANH:
      logistic(2 * x, e, r, s);
      return 4 * e * r * r;
    case RELU:
      return step(x, 0);
    case LEAKYRELU:
      return step(x, alpha);
    case ELU:
      return x > 0 ? 1.0 : alpha * exp(x);  // !(x > 0) includes NaN, which exp keeps
    case GELU:
      if (x > GELU_TAIL) return 1;
      if (x < -GELU_TAIL) return 0;
      return 0.5 * erfc(-x * SQRT_HALF) + x * INV_SQRT_2PI * exp(-0.5 * x * x);
    case GELUTANH: {
      if (x > GELU_TAIL) return 1;
      if (x < -GELU_TAIL) return 0;
      const double x2 = x * x;
      const double z = 2 * SQRT_2_OVER_PI * (x + GELU_TANH_C * x2 * x);
      logistic(z, e, r, s);
      return s + x * 2 * e * r * r * SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_C * x2);
    }
    case SILU:
      if (x > GELU_TAIL) return 1;
      if (x < SILU_LOW_TAIL) return 0;
      logistic(x, e, r, s);
      return s * (1 + x * (signbit(x) ? r : e * r));  // σ(x)·(1 + x·σ(-x))
    case SOFTPLUS:
      return sigmoid(x);
  }
  return 1;  // IDENTITY is handled by the caller (dx = dy exactly, NaN in x ignored)
}

template <typename T>
__device__ __forceinline__ void act_fwd_body(int act, double alpha, T* dst, const T* x, i64 n) {
  if (act == RELU) {
    GRID_STRIDE(i, n) dst[i] = go_max(x[i], (T)0);
    return;
  }
  if (act == ELU) {
    GRID_STRIDE(i, n) {
      const T v = x[i];
      dst[i] = (double)v > 0 ? v : (T)(alpha * expm1((double)v));
    }
    return;
  }
  if (act == IDENTITY) {
    GRID_STRIDE(i, n) dst[i] = x[i];
    return;
  }
  GRID_STRIDE(i, n) dst[i] = (T)act_f(act, alpha, (double)x[i]);
}

template <typename T>
__device__ __forceinline__ void act_bwd_body(int act, double alpha, T* dx, const T* x, const T* dy, i64 n) {
  if (act == IDENTITY) {
    GRID_STRIDE(i, n) dx[i] = dy[i];
    return;
  }
  GRID_STRIDE(i, n) dx[i] = (T)((double)dy[i] * act_df(act, alpha, (double)x[i]));
}

#define ACT_KERNELS(T, sfx)                                                                           \
  extern "C" __global__ void act_fwd_##sfx(i64 act, double alpha, T* dst, const T* x, i64 n) {       \
    act_fwd_body<T>((int)act, alpha, dst, x, n);                                                      \
  }                                                                                                   \
  extern "C" __global__ void act_bwd_##sfx(i64 act, double alpha, T* dx, const T* x, const T* dy, i64 n) { \
    act_bwd_body<T>((int)act, alpha, dx, x, dy, n);                                                   \
  }
BOTH(ACT_KERNELS)
