// Kullback-Leibler divergence, PyTorch's F.kl_div: x holds log-probabilities, the target
// probabilities (or log-probabilities with log_target), elementwise
//   l = xlogy(t, t) - t * x         (xlogy(0, y) = 0, so 0 log 0 = 0)
//   l = exp(t) * (t - x)            (log_target)
// None keeps the elementwise values; Sum adds them; Mean divides by the number of elements
// (PyTorch's default, which is not the KL divergence); BatchMean divides by x.shape[0] (the KL
// divergence per sample: the one to use).
//
// Backward: d l / d x = -t (or -exp(t)); d l / d t = log t + 1 - x (or exp(t) (t - x + 1)).
// At t = 0 the target gradient is NaN, as PyTorch's (xlogy's derivative there is t / t).
#include <cmath>
#include <limits>

#include "cpu/loss_common.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kBlock = 4096;  // see Note [deterministic loss sums]
constexpr int64_t kChunk = 256;   // elements per vectorised step (a stack buffer)

// l[i] for i < n, in float (as PyTorch) with vec_math's exp and log.
void pointwise_loss(const float* x, const float* t, bool log_target, float* l, int64_t n) {
  if (log_target) {
    vec::exp(t, l, n);
    for (int64_t i = 0; i < n; ++i) l[i] *= t[i] - x[i];
    return;
  }
  vec::log(t, l, n);
  // xlogy: 0 where t == 0 (log gave -inf); a NaN t stays NaN through t * log t
  for (int64_t i = 0; i < n; ++i) l[i] = (t[i] == 0.0f ? 0.0f : t[i] * l[i]) - t[i] * x[i];
}

double denominator_of(Reduction reduction, const Tensor& x) {
  if (reduction == Reduction::Mean) return static_cast<double>(x.numel());
  if (reduction == Reduction::BatchMean) return x.dim() > 0 ? static_cast<double>(x.shape[0]) : 1.0;
  return 1.0;
}

}  // namespace

void kl_div_forward(const Tensor& x, const Tensor& target, bool log_target, Reduction reduction, const Tensor& loss) {
  const int64_t n = x.numel();
  const float *px = x.f32(), *pt = target.f32();
  float* out = loss.f32();
  if (reduction == Reduction::None) {
    parallel_for(n, kBlock, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i += kChunk) pointwise_loss(px + i, pt + i, log_target, out + i, std::min(kChunk, end - i));
    });
    return;
  }
  std::vector<double> block_sums((n + kBlock - 1) / kBlock);
  parallel_for(static_cast<int64_t>(block_sums.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      float l[kChunk];
      double s = 0.0;
      for (int64_t i = b * kBlock, stop = std::min(n, i + kBlock); i < stop; i += kChunk) {
        const int64_t len = std::min(kChunk, stop - i);
        pointwise_loss(px + i, pt + i, log_target, l, len);
        s += vec::sum(l, len);
      }
      block_sums[b] = s;
    }
  });
  write_loss(reduction, block_sums, denominator_of(reduction, x), loss);
}

void kl_div_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, bool log_target, Reduction reduction,
                     const Tensor& dx, const Tensor& dtarget) {
  const int64_t n = x.numel();
  const float *px = x.f32(), *pt = target.f32();
  float* pdx = dx.f32();
  float* pdt = has(dtarget) ? dtarget.f32() : nullptr;
  const GradScale scale(reduction, dloss, denominator_of(reduction, x));
  // The common case, a reduced loss and no target gradient, is a plain scaled copy.
  if (!scale.per_sample && !pdt && !log_target) {
    const float factor = static_cast<float>(-scale.factor);
    parallel_for(n, kBlock, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) pdx[i] = pt[i] * factor;
    });
    return;
  }
  parallel_for(n, kBlock, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double g = scale(i), t = pt[i];
      const double p = log_target ? std::exp(t) : t;
      pdx[i] = static_cast<float>(-p * g);
      if (!pdt) continue;
      if (log_target) {
        pdt[i] = static_cast<float>(g * p * (t - px[i] + 1.0));
      } else {
        pdt[i] = t == 0.0 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(g * (std::log(t) + 1.0 - px[i]));
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
