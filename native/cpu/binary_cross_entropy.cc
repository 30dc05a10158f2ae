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
#include <algorithm>
#include <atomic>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/loss_common.h"
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {
namespace {

bool in_unit_interval(float v) { return v >= 0.0f && v <= 1.0f; }  // false for NaN

constexpr int64_t kBlock = 256;

// log(x[i]) and log1p(-x[i]) for i < m (m <= kBlock), through vec::log.
void logs(const float* x, int64_t m, float* log_x, float* log1p_neg_x) {
  float u[kBlock];
  for (int64_t j = 0; j < m; ++j) u[j] = 1.0f - x[j];
  vec::log(x, log_x, m);
  vec::log(u, log1p_neg_x, m);
  for (int64_t j = 0; j < m; ++j) log1p_neg_x[j] = u[j] == 1.0f ? -x[j] : log1p_neg_x[j] * (-x[j] / (u[j] - 1.0f));
}

// Runs body(begin, end) over [0, n) and then fails at the first element of x outside [0, 1],
// if any (each range stops looking at its first; the smallest index over all ranges wins).
template <typename Body>
void checked_pointwise(const float* px, int64_t n, Body body) {
  std::atomic<int64_t> first_bad{n};
  parallel_for(n, kPointwiseGrain, [&](int64_t begin, int64_t end) {
    body(begin, end);
    for (int64_t i = begin; i < end; ++i) {
      if (!in_unit_interval(px[i])) {
        int64_t seen = first_bad.load();
        while (i < seen && !first_bad.compare_exchange_weak(seen, i)) {
        }
        break;
      }
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
      for (int64_t j = 0; j < m; ++j) {
        const float t = pt[b + j];
        pl[b + j] = (t - 1.0f) * std::max(l1x[j], -100.0f) - t * std::max(lx[j], -100.0f);
      }
    }
  });
}

void binary_cross_entropy_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, const Tensor& dx,
                                   const Tensor& dtarget) {
  const float *pdl = dloss.f32(), *px = x.f32(), *pt = target.f32();
  float* pdx = has(dx) ? dx.f32() : nullptr;
  float* pdt = has(dtarget) ? dtarget.f32() : nullptr;
  checked_pointwise(px, x.numel(), [&](int64_t begin, int64_t end) {
    if (pdx) {
      for (int64_t i = begin; i < end; ++i) {
        const float v = px[i];
        pdx[i] = pdl[i] * (v - pt[i]) / std::max(v * (1.0f - v), 1e-12f);
      }
    }
    if (pdt) {
      float lx[kBlock], l1x[kBlock];
      for (int64_t b = begin; b < end; b += kBlock) {
        const int64_t m = std::min(kBlock, end - b);
        logs(px + b, m, lx, l1x);
        for (int64_t j = 0; j < m; ++j) pdt[b + j] = pdl[b + j] * (l1x[j] - lx[j]);
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
