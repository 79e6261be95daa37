// common.cuh: device helpers shared by every kernels/*.cu family: Go's float semantics (max, min
// and sign-of-zero rules of the builtins and of package math), grid-stride loops, warp and block
// reductions in double, the row "teams" the row-wise kernels are written over, the multi-tensor
// table layout, and the macro that instantiates a kernel for float32 and float64.
//
// It lives beside the generated PTX because only kernels/*.cu are kernel families; gen.sh passes
// -I for this directory. Every kernel is compiled with --fmad=false (see gen.sh) so that a*b+c
// rounds twice, as the Go twins do on amd64: the kernels are memory-bound, so the fused
// multiply-add buys nothing, and without it the fp32 optimizer updates match the twins to the ulp.
#pragma once

typedef long long i64;
typedef unsigned long long u64;

// BOTH instantiates M for the two element types: M(float, f32) M(double, f64). Each kernel family
// writes its body once as a template and a one-line extern "C" wrapper macro, so the PTX entry
// names are plain (act_fwd_f32, act_fwd_f64) and the variants are parameters, never copies.
#define BOTH(M) M(float, f32) M(double, f64)

// Grid-stride loop over [0, n) with 64-bit indices.
#define GRID_STRIDE(i, n) \
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (i64)(n); i += (i64)blockDim.x * gridDim.x)

// go_max and go_min are Go's builtin max and min: a NaN argument gives NaN, and max(-0, +0) = +0,
// min(-0, +0) = -0 (CUDA's fmax and fmin return the other argument for a NaN).
template <typename T>
__device__ __forceinline__ T go_max(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return signbit(a) ? b : a;
  return a > b ? a : b;
}

template <typename T>
__device__ __forceinline__ T go_min(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return signbit(a) ? a : b;
  return a < b ? a : b;
}

// logistic (the twin of kernels/activation.go's) returns e = exp(-|x|), r = 1/(1+e) and s = σ(x) (e·r for x with its sign bit set, r
// otherwise), none of which can overflow.
__device__ __forceinline__ void logistic(double x, double& e, double& r, double& s) {
  e = exp(-fabs(x));
  r = 1.0 / (1.0 + e);
  s = signbit(x) ? e * r : r;
}

__device__ __forceinline__ double sigmoid(double x) {
  double e, r, s;
  logistic(x, e, r, s);
  return s;
}

struct SumOp {
  __device__ __forceinline__ double operator()(double a, double b) const { return a + b; }
  static __device__ __forceinline__ double identity() { return 0.0; }
};

struct MaxOp {
  __device__ __forceinline__ double operator()(double a, double b) const { return go_max(a, b); }
  static __device__ __forceinline__ double identity() { return -__longlong_as_double(0x7ff0000000000000LL); }
};

// warp_reduce combines v over the 32 lanes of a warp with a butterfly, so every lane gets the
// result (and the same bits: each step combines the same two values in both lanes).
template <typename Op>
__device__ __forceinline__ double warp_reduce(double v, Op op) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// block_reduce combines v over the block (blockDim.x a multiple of 32, at most 1024) and returns
// the result in every thread. sh must hold 32 doubles. It starts with a barrier so that calls
// may follow each other without the second overwriting sh while the first is still reading it.
template <typename Op>
__device__ __forceinline__ double block_reduce(double v, Op op, double* sh) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
  v = warp_reduce(v, op);
  __syncthreads();
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  v = lane < nwarps ? sh[lane] : Op::identity();
  return warp_reduce(v, op);
}

// A team is the set of threads that share one row of a row-wise kernel: a warp for narrow rows,
// the whole block for wide ones. rank and size index the row's columns; sum and max reduce over
// the team and give the result to every member.
struct WarpTeam {
  int rank;
  __device__ __forceinline__ int size() const { return 32; }
  __device__ __forceinline__ double sum(double v) const { return warp_reduce(v, SumOp()); }
  __device__ __forceinline__ double max(double v) const { return warp_reduce(v, MaxOp()); }
};

struct BlockTeam {
  int rank;
  double* sh;
  __device__ __forceinline__ int size() const { return blockDim.x; }
  __device__ __forceinline__ double sum(double v) const { return block_reduce(v, SumOp(), sh); }
  __device__ __forceinline__ double max(double v) const { return block_reduce(v, MaxOp(), sh); }
};

// Pack is 16 bytes of T, loaded and stored with one vector instruction when its address is
// 16-byte aligned.
template <typename T>
struct alignas(16) Pack {
  static constexpr int N = 16 / sizeof(T);
  T v[N];
};

__device__ __forceinline__ bool aligned16(const void* p) { return ((u64)p & 15) == 0; }

// Multi-tensor table layout (built by backend/cuda's mtTable, little-endian uint64 words):
//   tensors: ntensors entries of (1 + nptr) words: element count, then nptr device pointers
//   chunks:  nchunks entries of 2 words, starting at word chunks_at: tensor index, element offset
// Every chunk but a tensor's last has chunk elements. Offsets are multiples of chunk, itself a
// multiple of every Pack<T>::N, so a chunk of a 16-byte-aligned tensor is 16-byte aligned.
struct Chunk {
  const u64* entry;  // the tensor's entry: entry[0] = n, entry[1 + k] = pointer k
  i64 offset, len;
};

__device__ __forceinline__ Chunk table_chunk(const u64* tab, i64 nptr, i64 chunks_at, i64 chunk, i64 c) {
  Chunk ch;
  const i64 t = (i64)tab[chunks_at + 2 * c];
  ch.offset = (i64)tab[chunks_at + 2 * c + 1];
  ch.entry = tab + t * (1 + nptr);
  const i64 n = (i64)ch.entry[0];
  ch.len = n - ch.offset < chunk ? n - ch.offset : chunk;
  return ch;
}

// finalize writes dst[0] = T(sum of partials[0:n] / div), summing in a fixed order so the result
// does not depend on timing. Launch with one block.
template <typename T>
__device__ __forceinline__ void finalize_body(const double* partials, i64 n, double div, T* dst) {
  __shared__ double sh[32];
  double acc = 0;
  for (i64 i = threadIdx.x; i < n; i += blockDim.x) acc += partials[i];
  acc = block_reduce(acc, SumOp(), sh);
  if (threadIdx.x == 0) dst[0] = (T)(acc / div);
}
