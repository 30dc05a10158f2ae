// Binary cross-entropy of probabilities, per element (lib/nn/functional/loss.ts weights and
// reduces it), as PyTorch's binary_cross_entropy:
//   l  = (t - 1) max(log1p(-x), -100) - t max(log(x), -100)   (the logs clamped: x = 0 or 1 gives at most 100)
//   dx = dl (x - t) / max(x (1 - x), 1e-12)
//   dt = dl (log1p(-x) - log(x))                                (±inf at x = 0 and 1, as PyTorch's -logit(x))
// An element of x outside [0, 1] or NaN fails the op (E_ARG, naming the first such position),
// as PyTorch checks its input. The check is folded into both kernels, so x is not copied: the
// loss (forward) and the gradients (backward) are failed outputs (Note [failed outputs],
// core/storage.h), and so is everything computed from them. Each element is computed on its
// own, and the position reported is the first, so results do not depend on the thread count.
//
// The logs are vec::log's (SIMD, within 0.83 ulp) over blocks of the row: glibc's scalar logf
// and log1pf made the forward 3x slower than the ops it replaced. log1p(-x) is Goldberg's
// log(u) * (-x) / (u - 1) with u = 1 - x rounded (exact where u is 1: -x), which keeps
// log1p's accuracy for tiny x where log(1 - x) alone would round to 0.
//
// The loops around the logs are cloned for AVX2 / AVX-512 (simd_clones.h) and built without
// trapping math, so that GCC vectorises their selects and divisions (a lane it throws away may
// divide by 0) and the range check (a compare with NaN): compiled for SSE with traps, the
// scalar glue took 55% of the forward (`node dist/bench/run.js loss --threads 2`, [256, 1000]
// forward + backward: 0.89 -> 0.40 ms, 1.06x -> 2.35x PyTorch's speed on a Zen 4).
// Contraction is off, so (t - 1) a - t b rounds the same in every clone: the same bits on every CPU.
#include <algorithm>
#include <atomic>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/loss_common.h"
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {
namespace {

#define CONVNET_BCE_KERNEL __attribute__((optimize("no-trapping-math", "fp-contract=off"))) CONVNET_SIMD_CLONES

constexpr int64_t kBlock = 256;

// Whether every x[i], i < n, is in [0, 1] (NaN is not). No early exit, so it vectorises.
CONVNET_BCE_KERNEL bool all_in_unit_interval(const float* __restrict x, int64_t n) {
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) bad |= !(x[i] >= 0.0f && x[i] <= 1.0f);
  return bad == 0;
}

CONVNET_BCE_KERNEL void one_minus(const float* __restrict x, float* __restrict u, int64_t m) {
  for (int64_t j = 0; j < m; ++j) u[j] = 1.0f - x[j];
}

// l1x[j] holds log(u[j]) on entry, log1p(-x[j]) on return (Goldberg's correction).
CONVNET_BCE_KERNEL void log1p_from_log(const float* __restrict x, const float* __restrict u, float* __restrict l1x,
                                       int64_t m) {
  for (int64_t j = 0; j < m; ++j) l1x[j] = u[j] == 1.0f ? -x[j] : l1x[j] * (-x[j] / (u[j] - 1.0f));
}

// log(x[i]) and log1p(-x[i]) for i < m (m <= kBlock), through vec::log.
void logs(const float* x, int64_t m, float* log_x, float* log1p_neg_x) {
  float u[kBlock];
  one_minus(x, u, m);
  vec::log(x, log_x, m);
  vec::log(u, log1p_neg_x, m);
  log1p_from_log(x, u, log1p_neg_x, m);
}

// std::max is not inlined into a function with its own optimize attribute (GCC refuses to
// inline across differing options), so the clamps are written out as std::max(a, -100) is.
CONVNET_BCE_KERNEL void loss_block(const float* __restrict t, const float* __restrict lx, const float* __restrict l1x,
                                   float* __restrict l, int64_t m) {
  for (int64_t j = 0; j < m; ++j) {
    const float a = l1x[j] < -100.0f ? -100.0f : l1x[j], b = lx[j] < -100.0f ? -100.0f : lx[j];
    l[j] = (t[j] - 1.0f) * a - t[j] * b;
  }
}

CONVNET_BCE_KERNEL void input_grad(const float* __restrict dl, const float* __restrict x, const float* __restrict t,
                                   float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float p = v * (1.0f - v);
    dx[i] = dl[i] * (v - t[i]) / (p < 1e-12f ? 1e-12f : p);
  }
}

CONVNET_BCE_KERNEL void target_grad(const float* __restrict dl, const float* __restrict lx, const float* __restrict l1x,
                                    float* __restrict dt, int64_t m) {
  for (int64_t j = 0; j < m; ++j) dt[j] = dl[j] * (l1x[j] - lx[j]);
}

// Runs body(begin, end) over [0, n) and then fails at the first element of x outside [0, 1],
// if any (a range with one looks for its first; the smallest index over all ranges wins).
template <typename Body>
void checked_pointwise(const float* px, int64_t n, Body body) {
  std::atomic<int64_t> first_bad{n};
  parallel_for_elements(n, kPointwiseGrain, [&](int64_t begin, int64_t end) {
    body(begin, end);
    if (all_in_unit_interval(px + begin, end - begin)) return;
    int64_t i = begin;
    while (px[i] >= 0.0f && px[i] <= 1.0f) ++i;  // stops: [begin, end) has one
    int64_t seen = first_bad.load();
    while (i < seen && !first_bad.compare_exchange_weak(seen, i)) {
    }
  });
  const int64_t bad = first_bad.load();
  if (bad < n) {
    fail("E_ARG", "an element of `input` is ", px[bad], " (at position ", bad,
         "): expected probabilities in [0, 1] (apply sigmoid first, or use binaryCrossEntropyWithLogits)");
  }
}

}  // namespace

void binary_cross_entropy_forward(const Tensor& x, const Tensor& target, const Tensor& loss) {
  const float *px = x.f32(), *pt = target.f32();
  float* pl = loss.f32();
  checked_pointwise(px, x.numel(), [&](int64_t begin, int64_t end) {
    float lx[kBlock], l1x[kBlock];
    for (int64_t b = begin; b < end; b += kBlock) {
      const int64_t m = std::min(kBlock, end - b);
      logs(px + b, m, lx, l1x);
      loss_block(pt + b, lx, l1x, pl + b, m);
    }
  });
}

void binary_cross_entropy_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, const Tensor& dx,
                                   const Tensor& dtarget) {
  const float *pdl = dloss.f32(), *px = x.f32(), *pt = target.f32();
  float* pdx = has(dx) ? dx.f32() : nullptr;
  float* pdt = has(dtarget) ? dtarget.f32() : nullptr;
  checked_pointwise(px, x.numel(), [&](int64_t begin, int64_t end) {
    if (pdx) input_grad(pdl + begin, px + begin, pt + begin, pdx + begin, end - begin);
    if (pdt) {
      float lx[kBlock], l1x[kBlock];
      for (int64_t b = begin; b < end; b += kBlock) {
        const int64_t m = std::min(kBlock, end - b);
        logs(px + b, m, lx, l1x);
        target_grad(pdl + b, lx, l1x, pdt + b, m);
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
