// optim.cu: one multi-tensor optimizer step for every update rule (kernels.Rule: SGD with
// momentum, dampening, Nesterov; Adam and AdamW with AMSGrad; RMSProp centered and with momentum;
// Adagrad; NAdam and NAdamW), updating every parameter of a model in one launch. Each rule's
// branch of update() is its Go loop (kernels/optim.go for SGD and Adam, the rule's description
// file in optim/ for the others), operation for operation in T (float32 arithmetic for float32
// buffers, as PyTorch and the Go twin do), and PTX is generated with --fmad=false, so a float32
// step rounds exactly as the twin's on amd64: the remaining difference is none for + - * / and
// sqrt (IEEE in both). Adding a rule: its branch here, its enum entry and its OPTIM_KERNEL line;
// the kernel optim_<name>_<type> is found by the rule's name.
//
// Layout, as PyTorch's multi_tensor_apply and apex: the host builds a table (common.cuh) with,
// per tensor, its length and the pointers p, g, state0, state1, state2 (as many states as
// kernels.StateCount; the table's nptr is 2 + that), then the list of chunks of the concatenated
// tensors. Block b updates chunks b, b + gridDim.x, ...; inside a chunk, 16-byte vector loads and
// stores when every pointer of the tensor is 16-byte aligned (cuMemAlloc's are), then a scalar
// tail, so odd sizes and offsets are correct.
//
// Scalars arrive as doubles, a kernels.Step's S computed once on the host by the optimizer's
// description (1-β in double, then rounded), and are converted to T here as the twin converts
// them; flags are the Step's (kernels.Flag*). The rule is a template parameter (one kernel per rule and type, the switch
// resolved at compile time); the options are uniform branches.
//
// Benchmark: go test -tags gpu -run xxx -bench 'OptimizerStep' ./backend/cuda/ on a GPU host
// (GB/s beside a device-to-device copy; compare with torch_baseline.py's fused Adam in one run).
#include "common.cuh"

enum { RULE_SGD, RULE_ADAM, RULE_RMSPROP, RULE_ADAGRAD, RULE_NADAM, RULE_RADAM, RULE_ADAMAX, RULE_LION };
// Flags: kernels.FlagMomentum, FlagNesterov, FlagFirstStep, FlagAMSGrad, FlagCentered, FlagRectified.
enum { F_MOMENTUM = 1, F_NESTEROV = 2, F_FIRST = 4, F_AMSGRAD = 8, F_CENTERED = 16, F_RECTIFIED = 32 };

// abs_t clears the sign bit, as Go's math.Abs (fabs, not a comparison: -0 and NaN's sign too).
template <typename T>
__device__ __forceinline__ T abs_t(T x);
template <>
__device__ __forceinline__ float abs_t<float>(float x) { return fabsf(x); }
template <>
__device__ __forceinline__ double abs_t<double>(double x) { return fabs(x); }
template <typename T>
__device__ __forceinline__ T sqrt_t(T x);
template <>
__device__ __forceinline__ float sqrt_t<float>(float x) { return sqrtf(x); }  // IEEE: -prec-sqrt is on
template <>
__device__ __forceinline__ double sqrt_t<double>(double x) { return sqrt(x); }

// Hyper holds a kernels.Step's scalars converted to T; each rule's documentation (its Go loop's) says
// what its slots mean.
template <typename T>
struct Hyper {
  T s[10];
  i64 flags;
};

// update applies one step to one element. st[k] is state tensor k (unused ones are dummies).
template <typename T, int RULE>
__device__ __forceinline__ void update(const Hyper<T>& h, T& p, T g, T* st) {
  const i64 f = h.flags;
  if (RULE == RULE_SGD) {
    const T lr = h.s[0], mu = h.s[1], damp = h.s[2], wd = h.s[3], decay = h.s[4];
    if (!(f & F_MOMENTUM)) {
      const T pi = p * decay;
      p = pi - lr * (g + wd * pi);
    } else if (f & F_FIRST) {
      const T pi = p * decay;
      T gi = g + wd * pi;
      st[0] = gi;
      if (f & F_NESTEROV) gi += mu * gi;
      p = pi - lr * gi;
    } else if (f & F_NESTEROV) {
      const T pi = p * decay;
      const T gi = g + wd * pi;
      const T b = mu * st[0] + damp * gi;
      st[0] = b;
      p = pi - lr * (gi + mu * b);
    } else if (wd == (T)0 && decay == (T)1) {  // the twin's branch-free loop, chosen as it chooses
      const T b = mu * st[0] + damp * g;
      st[0] = b;
      p -= lr * b;
    } else {
      const T pi = p * decay;
      const T b = mu * st[0] + damp * (g + wd * pi);
      st[0] = b;
      p = pi - lr * b;
    }
  } else if (RULE == RULE_ADAM) {
    const T b1 = h.s[0], b2 = h.s[1], step = h.s[2], inv_bc2 = h.s[3], eps = h.s[4], wd = h.s[5], decay = h.s[6];
    const T c1 = h.s[7], c2 = h.s[8];
    const T pi = p * decay;
    const T gi = g + wd * pi;
    const T mi = b1 * st[0] + c1 * gi;
    const T vi = b2 * st[1] + c2 * gi * gi;
    st[0] = mi;
    st[1] = vi;
    T vh = vi;
    if (f & F_AMSGRAD) {
      vh = go_max(st[2], vi);
      st[2] = vh;
    }
    p = pi - step * mi / (sqrt_t(vh) * inv_bc2 + eps);
  } else if (RULE == RULE_RMSPROP) {
    const T a = h.s[0], eps = h.s[1], mu = h.s[2], lr = h.s[3], wd = h.s[4], ca = h.s[5];
    const T pi = p;
    const T gi = g + wd * pi;
    T s = a * st[0] + ca * gi * gi;
    st[0] = s;
    if (f & F_CENTERED) {  // the gradient average follows the momentum buffer when there is one
      const bool mom = (f & F_MOMENTUM) != 0;
      const T ga = a * (mom ? st[2] : st[1]) + ca * gi;
      if (mom) st[2] = ga;
      else st[1] = ga;
      s -= ga * ga;
    }
    const T d = sqrt_t(s) + eps;
    if (f & F_MOMENTUM) {
      const T b = mu * st[1] + gi / d;
      st[1] = b;
      p = pi - lr * b;
    } else {
      p = pi - lr * gi / d;
    }
  } else if (RULE == RULE_ADAGRAD) {
    const T lr = h.s[0], eps = h.s[1], wd = h.s[2];
    const T pi = p;
    const T gi = g + wd * pi;
    const T s = st[0] + gi * gi;
    st[0] = s;
    p = pi - lr * gi / (sqrt_t(s) + eps);
  } else if (RULE == RULE_RADAM) {  // optim/radam.go
    const T b1 = h.s[0], b2 = h.s[1], step = h.s[2], sbc2 = h.s[3], eps = h.s[4], wd = h.s[5], decay = h.s[6];
    const T c1 = h.s[7], c2 = h.s[8];
    const T pi = p * decay;
    const T gi = g + wd * pi;
    const T mi = b1 * st[0] + c1 * gi;
    const T vi = b2 * st[1] + c2 * gi * gi;
    st[0] = mi;
    st[1] = vi;
    if (f & F_RECTIFIED) p = pi - step * mi * (sbc2 / (sqrt_t(vi) + eps));
    else p = pi - step * mi;
  } else if (RULE == RULE_ADAMAX) {  // optim/adamax.go
    const T b1 = h.s[0], c1 = h.s[1], b2 = h.s[2], eps = h.s[3], clr = h.s[4], wd = h.s[5];
    const T pi = p;
    const T gi = g + wd * pi;
    const T mi = b1 * st[0] + c1 * gi;
    const T ui = go_max(b2 * st[1], abs_t(gi) + eps);
    st[0] = mi;
    st[1] = ui;
    p = pi - clr * (mi / ui);
  } else if (RULE == RULE_LION) {  // optim/lion.go
    const T b1 = h.s[0], c1 = h.s[1], b2 = h.s[2], c2 = h.s[3], lr = h.s[4], decay = h.s[5];
    T c = b1 * st[0] + c1 * g;
    if (c > (T)0) c = (T)1;
    else if (c < (T)0) c = (T)-1;  // ±0 and NaN stay as they are, as torch.sign
    p = p * decay - lr * c;
    st[0] = b2 * st[0] + c2 * g;
  } else {  // RULE_NADAM
    const T b1 = h.s[0], b2 = h.s[1], eps = h.s[2], inv_bc2 = h.s[3], cg = h.s[4], cm = h.s[5], wd = h.s[6],
            decay = h.s[7], c1 = h.s[8], c2 = h.s[9];
    const T pi = p * decay;
    const T gi = g + wd * pi;
    const T mi = b1 * st[0] + c1 * gi;
    const T vi = b2 * st[1] + c2 * gi * gi;
    st[0] = mi;
    st[1] = vi;
    const T d = sqrt_t(vi * inv_bc2) + eps;
    p = pi - (cg * gi + cm * mi) / d;
  }
}

template <typename T, int RULE>
__device__ __forceinline__ void optim_body(const u64* tab, i64 nptr, i64 chunks_at, i64 nchunks, i64 chunk,
                                           const Hyper<T>& h) {
  // Every loop over the (at most 3) state tensors is unrolled with a guard, so the arrays below
  // are indexed by constants and stay in registers.
  const int nst = (int)nptr - 2;
  constexpr int V = Pack<T>::N;
  for (i64 c = blockIdx.x; c < nchunks; c += gridDim.x) {
    const Chunk ch = table_chunk(tab, nptr, chunks_at, chunk, c);
    T* p = (T*)ch.entry[1] + ch.offset;
    const T* g = (const T*)ch.entry[2] + ch.offset;
    T* s[3] = {nullptr, nullptr, nullptr};
    bool aligned = aligned16(p) && aligned16(g);
#pragma unroll
    for (int k = 0; k < 3; k++)
      if (k < nst) {
        s[k] = (T*)ch.entry[3 + k] + ch.offset;
        aligned = aligned && aligned16(s[k]);
      }
    i64 done = 0;
    if (aligned) {
      const i64 nv = ch.len / V;
      for (i64 v = threadIdx.x; v < nv; v += blockDim.x) {
        Pack<T> pp = ((Pack<T>*)p)[v];
        const Pack<T> gp = ((const Pack<T>*)g)[v];
        Pack<T> sp[3];
#pragma unroll
        for (int k = 0; k < 3; k++)
          if (k < nst) sp[k] = ((Pack<T>*)s[k])[v];
#pragma unroll
        for (int e = 0; e < V; e++) {
          T st[3];
#pragma unroll
          for (int k = 0; k < 3; k++) st[k] = k < nst ? sp[k].v[e] : (T)0;
          update<T, RULE>(h, pp.v[e], gp.v[e], st);
#pragma unroll
          for (int k = 0; k < 3; k++)
            if (k < nst) sp[k].v[e] = st[k];
        }
        ((Pack<T>*)p)[v] = pp;
#pragma unroll
        for (int k = 0; k < 3; k++)
          if (k < nst) ((Pack<T>*)s[k])[v] = sp[k];
      }
      done = nv * V;
    }
    for (i64 i = done + threadIdx.x; i < ch.len; i += blockDim.x) {
      T st[3];
#pragma unroll
      for (int k = 0; k < 3; k++) st[k] = k < nst ? s[k][i] : (T)0;
      T pv = p[i];
      update<T, RULE>(h, pv, g[i], st);
      p[i] = pv;
#pragma unroll
      for (int k = 0; k < 3; k++)
        if (k < nst) s[k][i] = st[k];
    }
  }
}

#define OPTIM_KERNEL(T, sfx, name, RULE)                                                                   \
  extern "C" __global__ void optim_##name##_##sfx(const u64* tab, i64 nptr, i64 chunks_at, i64 nchunks,   \
                                                  i64 chunk, i64 flags, double s0, double s1, double s2,  \
                                                  double s3, double s4, double s5, double s6, double s7,  \
                                                  double s8, double s9) {                                 \
    const Hyper<T> h = {{(T)s0, (T)s1, (T)s2, (T)s3, (T)s4, (T)s5, (T)s6, (T)s7, (T)s8, (T)s9}, flags};   \
    optim_body<T, RULE>(tab, nptr, chunks_at, nchunks, chunk, h);                                          \
  }
#define OPTIM_KERNELS(T, sfx)                   \
  OPTIM_KERNEL(T, sfx, sgd, RULE_SGD)           \
  OPTIM_KERNEL(T, sfx, adam, RULE_ADAM)         \
  OPTIM_KERNEL(T, sfx, rmsprop, RULE_RMSPROP)   \
  OPTIM_KERNEL(T, sfx, adagrad, RULE_ADAGRAD)   \
  OPTIM_KERNEL(T, sfx, nadam, RULE_NADAM)       \
  OPTIM_KERNEL(T, sfx, radam, RULE_RADAM)       \
  OPTIM_KERNEL(T, sfx, adamax, RULE_ADAMAX)     \
  OPTIM_KERNEL(T, sfx, lion, RULE_LION)
BOTH(OPTIM_KERNELS)
