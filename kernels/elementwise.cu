// elementwise.cu: the elementwise ops of backend.Device that are not activations: Fill, Scale,
// Clamp, Unary (every backend.UnaryOp) and Binary (every backend.BinaryOp, either operand
// broadcast from length 1 by a stride of 0). Each computes exactly what the CPU backend's
// backend/cpu/jobs.go computes: arithmetic that the CPU does in T is done in T here (neg, square,
// cube, inverse, + - * /, comparisons, scale, clamp), and the libm functions are evaluated in
// double and rounded once (exp, log, sqrt, log1p, expm1, pow). Max and Min follow Go's math.Max
// and math.Min: an infinity of the right sign wins over NaN, otherwise NaN propagates, and the
// sign of zero is respected. Clamp keeps NaN. Copy is a cuMemcpyDtoDAsync, not a kernel.
//
// All run in place (dst the same buffer as an input): each element is read before it is written,
// by the same thread. Benchmark: go test -tags gpu -run xxx -bench 'Elementwise' ./backend/cuda/.
#include "common.cuh"

// backend.UnaryOp and backend.BinaryOp values (both start at 1).
enum { NEG = 1, EXP, LOG, SQUARE, SQRT, ABS, SIGN, INVERSE, LOG1P, EXPM1, CUBE };
enum { ADD = 1, SUB, MUL, DIV, POW, MAX, MIN, GT, GE, LT, LE, EQ, NE };

template <typename T>
__device__ __forceinline__ T unary_op(int op, T v) {
  const double f = (double)v;
  switch (op) {
    case NEG: return -v;
    case EXP: return (T)exp(f);
    case LOG: return (T)log(f);
    case SQUARE: return v * v;
    case SQRT: return (T)sqrt(f);
    case ABS: return (T)fabs(f);
    case SIGN: return f > 0 ? (T)1 : f < 0 ? (T)-1 : v;  // keeps ±0 and NaN
    case INVERSE: return (T)1 / v;
    case LOG1P: return (T)log1p(f);
    case EXPM1: return (T)expm1(f);
    case CUBE: return v * v * v;
  }
  return v;
}

// math_max and math_min are Go's math.Max and math.Min.
__device__ __forceinline__ double math_max(double x, double y) {
  if (isinf(x) && x > 0 || isinf(y) && y > 0) return x > 0 && isinf(x) ? x : y;
  if (x != x || y != y) return x != x ? x : y;
  if (x == 0 && x == y) return signbit(x) ? y : x;
  return x > y ? x : y;
}

__device__ __forceinline__ double math_min(double x, double y) {
  if (isinf(x) && x < 0 || isinf(y) && y < 0) return x < 0 && isinf(x) ? x : y;
  if (x != x || y != y) return x != x ? x : y;
  if (x == 0 && x == y) return signbit(x) ? x : y;
  return x < y ? x : y;
}

template <typename T>
__device__ __forceinline__ T binary_op(int op, T a, T b) {
  switch (op) {
    case ADD: return a + b;
    case SUB: return a - b;
    case MUL: return a * b;
    case DIV: return a / b;
    case POW: return (T)pow((double)a, (double)b);
    case MAX: return (T)math_max((double)a, (double)b);
    case MIN: return (T)math_min((double)a, (double)b);
    case GT: return a > b ? (T)1 : (T)0;
    case GE: return a >= b ? (T)1 : (T)0;
    case LT: return a < b ? (T)1 : (T)0;
    case LE: return a <= b ? (T)1 : (T)0;
    case EQ: return a == b ? (T)1 : (T)0;
    case NE: return a != b ? (T)1 : (T)0;
  }
  return a;
}

template <typename T>
__device__ __forceinline__ void unary_body(int op, T* dst, const T* x, i64 n) {
  // The common cheap ops get a loop without the switch inside.
  if (op == NEG) {
    GRID_STRIDE(i, n) dst[i] = -x[i];
    return;
  }
  GRID_STRIDE(i, n) dst[i] = unary_op<T>(op, x[i]);
}

template <typename T>
__device__ __forceinline__ void binary_body(int op, T* dst, const T* a, i64 sa, const T* b, i64 sb, i64 n) {
  if (op == ADD && sa == 1 && sb == 1) {
    GRID_STRIDE(i, n) dst[i] = a[i] + b[i];
    return;
  }
  if (op == MUL && sa == 1 && sb == 1) {
    GRID_STRIDE(i, n) dst[i] = a[i] * b[i];
    return;
  }
  GRID_STRIDE(i, n) dst[i] = binary_op<T>(op, a[i * sa], b[i * sb]);
}

template <typename T>
__device__ __forceinline__ void clamp_body(T* dst, const T* x, T lo, T hi, i64 n) {
  GRID_STRIDE(i, n) {
    T v = x[i];
    if (v < lo) v = lo;
    else if (v > hi) v = hi;
    dst[i] = v;
  }
}

// Scalars of type T arrive as 8-byte kernel parameters: a float32 as its bits in the low half
// (the launcher packs it so), which is where a 4-byte parameter is read from.
#define ELEMENTWISE_KERNELS(T, sfx)                                                                        \
  extern "C" __global__ void fill_##sfx(T* dst, T v, i64 n) { GRID_STRIDE(i, n) dst[i] = v; }              \
  extern "C" __global__ void scale_##sfx(T* dst, const T* x, T alpha, i64 n) {                             \
    GRID_STRIDE(i, n) dst[i] = alpha * x[i];                                                               \
  }                                                                                                        \
  extern "C" __global__ void clamp_##sfx(T* dst, const T* x, T lo, T hi, i64 n) { clamp_body<T>(dst, x, lo, hi, n); } \
  extern "C" __global__ void unary_##sfx(i64 op, T* dst, const T* x, i64 n) { unary_body<T>((int)op, dst, x, n); } \
  extern "C" __global__ void binary_##sfx(i64 op, T* dst, const T* a, i64 sa, const T* b, i64 sb, i64 n) {  \
    binary_body<T>((int)op, dst, a, sa, b, sb, n);                                                         \
  }
BOTH(ELEMENTWISE_KERNELS)
