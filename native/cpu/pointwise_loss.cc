// The losses of one value per element pair, as PyTorch's kernels (lib/nn/functional/loss.ts
// reduces the loss): with d = x - t and z = |d|,
//   MSE:        l = d^2;
//   L1:         l = z;
//   smooth L1:  l = 0.5 z^2 / beta where z < beta, z - 0.5 beta elsewhere (Fast R-CNN's box loss);
//   Huber:      l = 0.5 z^2 where z < delta, delta (z - 0.5 delta) elsewhere (beta holds delta);
//   BCE of logits: l = max(x, 0) - x t + log1p(exp(-|x|)) (stable for any x; (1 - t) x for x > 0);
//     with a weight p_j per class (the last axis: pos_weight), PyTorch's
//     l = (1 - t) x + (1 + (p - 1) t) softplus(-x);
//   soft margin: l = softplus(-t x) (target +-1);
// and the backward, g = dl scale (dl one value, or one per element; scale 1 / N for 'mean'):
//   MSE:        dx = 2 d g;
//   L1:         dx = sign(d) g (0 at d = 0);
//   smooth L1:  dx = -g below -beta, g above beta, g d / beta between;
//   Huber:      dx = -g delta below -delta, g delta above delta, g d between;
//   (these four: dt = -dx)
//   BCE of logits: dx = (sigmoid(x) - t) g, dt = -x g;
//     with p: dx = ((1 - t) - (1 + (p - 1) t) sigmoid(-x)) g, dt = ((p - 1) softplus(-x) - x) g;
//   soft margin: with s = sigmoid(-t x), dx = -t s g, dt = -x s g.
// One pass each way: composed from sub, square or abs, minimum, mul, exp, log and scale they took
// two to seven passes forward and three to ten backward (MSE forward + backward 2.1x PyTorch's
// time on [64,3,64,64], smooth L1 3.7x on [300, 250], BCE of logits 2.6x on [256, 1000], soft
// margin 6x, BCE of logits with pos_weight 2x). NaN gives
// NaN. Elements are computed on their own, in pieces of whole vectors, so the thread count
// changes no bits.
#include <algorithm>

#include "cpu/inline_math.h"
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void loss_range(PointwiseLoss kind, const float* __restrict x, const float* __restrict t, float beta, float* __restrict l, int64_t n) {
  const float half_beta = 0.5f * beta;
  switch (kind) {
    case PointwiseLoss::Mse:
      for (int64_t i = 0; i < n; ++i) l[i] = (x[i] - t[i]) * (x[i] - t[i]);
      return;
    case PointwiseLoss::L1:
      for (int64_t i = 0; i < n; ++i) l[i] = __builtin_fabsf(x[i] - t[i]);
      return;
    case PointwiseLoss::SmoothL1:
      for (int64_t i = 0; i < n; ++i) {
        const float z = __builtin_fabsf(x[i] - t[i]);
        l[i] = z < beta ? 0.5f * z * z / beta : z - half_beta;
      }
      return;
    case PointwiseLoss::Huber:
      for (int64_t i = 0; i < n; ++i) {
        const float z = __builtin_fabsf(x[i] - t[i]);
        l[i] = z < beta ? 0.5f * z * z : beta * (z - half_beta);
      }
      return;
    case PointwiseLoss::BceWithLogits:
      for (int64_t i = 0; i < n; ++i) {
        // (1 - t) x for x > 0, -t x otherwise: max(x, 0) - x t, without its inf - inf at x = +inf
        // (PyTorch gives +inf there).
        const float v = x[i];
        const float r = (v > 0.0f ? (1.0f - t[i]) * v : -(v * t[i])) + log1p_unit(exp_neg_abs(v));
        l[i] = v == v ? r : v + v;
      }
      return;
    case PointwiseLoss::SoftMargin:
      for (int64_t i = 0; i < n; ++i) l[i] = softplus_value(-(t[i] * x[i]));
      return;
  }
}

// BCE of logits with a weight per class, for elements [0, n) with p[i] the weight of element i's class.
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void pos_weight_range(const float* __restrict x, const float* __restrict t, const float* __restrict p, float* __restrict l, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    l[i] = (1.0f - t[i]) * v + (1.0f + (p[i] - 1.0f) * t[i]) * softplus_value(-v);
  }
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void pos_weight_backward_range(const float* __restrict dl, int64_t dl_step, const float* __restrict x, const float* __restrict t,
                               const float* __restrict p, float scale, float* __restrict dx, float* __restrict dt, int64_t n) {
  if (dx) {
    for (int64_t i = 0; i < n; ++i) {
      dx[i] = ((1.0f - t[i]) - (1.0f + (p[i] - 1.0f) * t[i]) * sigmoid_value(-x[i])) * (dl[i * dl_step] * scale);
    }
  }
  if (dt) {
    for (int64_t i = 0; i < n; ++i) dt[i] = ((p[i] - 1.0f) * softplus_value(-x[i]) - x[i]) * (dl[i * dl_step] * scale);
  }
}

// Calls f(begin, end, weights) on blocks of [begin, end) with weights[i] the class weight of
// element begin + i. The weights are laid out in a buffer rather than the range cut at row ends:
// blocks then start at multiples of 16 as parallel_for_elements' pieces do (Note [pieces of
// whole vectors]), so that no element's rounding depends on the thread count.
template <typename Block>
void each_weighted_block(int64_t begin, int64_t end, const float* class_weight, int64_t classes, const Block& f) {
  constexpr int64_t kBlock = 1024;
  alignas(64) float weights[kBlock];
  int64_t j = begin % classes;
  for (int64_t b = begin; b < end; b += kBlock) {
    const int64_t n = std::min(kBlock, end - b);
    for (int64_t i = 0; i < n; ++i) {
      weights[i] = class_weight[j];
      if (++j == classes) j = 0;
    }
    f(b, b + n, weights);
  }
}

// dx[i] = r(i) and/or dt[i] = -r(i) for i < n (either may be null), inlined into each clone.
template <typename Gradient>
inline __attribute__((always_inline)) void write_gradients(const Gradient& r, float* __restrict dx, float* __restrict dt, int64_t n) {
  if (dx && dt) {
    for (int64_t i = 0; i < n; ++i) {
      const float v = r(i);
      dx[i] = v;
      dt[i] = -v;
    }
  } else if (dx) {
    for (int64_t i = 0; i < n; ++i) dx[i] = r(i);
  } else {
    for (int64_t i = 0; i < n; ++i) dt[i] = -r(i);
  }
}

// dl: one value (dl_step 0) or one per element (dl_step 1). (Not a template over the kind picked
// through function pointers: GCC 12 gave only one of those instances its target clones, the
// others ran the baseline, scalar.)
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void backward_range(PointwiseLoss kind, const float* __restrict dl, int64_t dl_step, const float* __restrict x,
                    const float* __restrict t, float beta, float scale, float* __restrict dx, float* __restrict dt, int64_t n) {
  switch (kind) {
    case PointwiseLoss::Mse:
      return write_gradients([&](int64_t i) __attribute__((always_inline)) { return 2.0f * (x[i] - t[i]) * (dl[i * dl_step] * scale); }, dx, dt, n);
    case PointwiseLoss::L1:
      return write_gradients([&](int64_t i) __attribute__((always_inline)) {
        const float d = x[i] - t[i], g = dl[i * dl_step] * scale;
        return d > 0.0f ? g : (d < 0.0f ? -g : d * g);  // d * g: 0 at 0, NaN at NaN
      }, dx, dt, n);
    case PointwiseLoss::SmoothL1:
      return write_gradients([&](int64_t i) __attribute__((always_inline)) {
        const float d = x[i] - t[i], g = dl[i * dl_step] * scale;
        return d < -beta ? -g : (d > beta ? g : g * d / beta);
      }, dx, dt, n);
    case PointwiseLoss::Huber:
      return write_gradients([&](int64_t i) __attribute__((always_inline)) {
        const float d = x[i] - t[i], g = dl[i * dl_step] * scale;
        return d < -beta ? -g * beta : (d > beta ? g * beta : g * d);
      }, dx, dt, n);
    case PointwiseLoss::BceWithLogits:  // dt is not -dx here
      if (dx) {
        for (int64_t i = 0; i < n; ++i) dx[i] = (sigmoid_value(x[i]) - t[i]) * (dl[i * dl_step] * scale);
      }
      if (dt) {
        for (int64_t i = 0; i < n; ++i) dt[i] = -(x[i] * (dl[i * dl_step] * scale));
      }
      return;
    case PointwiseLoss::SoftMargin:
      if (dx) {
        for (int64_t i = 0; i < n; ++i) dx[i] = -(t[i] * sigmoid_value(-(t[i] * x[i]))) * (dl[i * dl_step] * scale);
      }
      if (dt) {
        for (int64_t i = 0; i < n; ++i) dt[i] = -(x[i] * sigmoid_value(-(t[i] * x[i]))) * (dl[i * dl_step] * scale);
      }
      return;
  }
}

}  // namespace

void pointwise_loss_forward(PointwiseLoss kind, const Tensor& x, const Tensor& target, float beta, const Tensor& pos_weight,
                            const Tensor& loss) {
  const float *px = x.f32(), *pt = target.f32();
  float* pl = loss.f32();
  if (kind == PointwiseLoss::BceWithLogits && pos_weight.storage()) {
    const float* pp = pos_weight.f32();
    const int64_t classes = pos_weight.numel();
    parallel_for_elements(loss.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) {
      each_weighted_block(begin, end, pp, classes, [&](int64_t b, int64_t e, const float* w) { pos_weight_range(px + b, pt + b, w, pl + b, e - b); });
    });
    return;
  }
  parallel_for_elements(loss.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) {
    loss_range(kind, px + begin, pt + begin, beta, pl + begin, end - begin);
  });
}

void pointwise_loss_backward(PointwiseLoss kind, const Tensor& dloss, const Tensor& x, const Tensor& target, float beta,
                             const Tensor& pos_weight, float scale, const Tensor& dx, const Tensor& dtarget) {
  const float *pdl = dloss.f32(), *px = x.f32(), *pt = target.f32();
  float* pdx = dx.storage() ? dx.f32() : nullptr;
  float* pdt = dtarget.storage() ? dtarget.f32() : nullptr;
  if (!pdx && !pdt) return;
  const int64_t dl_step = dloss.numel() == 1 ? 0 : 1;
  if (kind == PointwiseLoss::BceWithLogits && pos_weight.storage()) {
    const float* pp = pos_weight.f32();
    const int64_t classes = pos_weight.numel();
    parallel_for_elements(x.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) {
      each_weighted_block(begin, end, pp, classes, [&](int64_t b, int64_t e, const float* w) {
        pos_weight_backward_range(pdl + b * dl_step, dl_step, px + b, pt + b, w, scale, pdx ? pdx + b : nullptr,
                                  pdt ? pdt + b : nullptr, e - b);
      });
    });
    return;
  }
  parallel_for_elements(x.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) {
    backward_range(kind, pdl + begin * dl_step, dl_step, px + begin, pt + begin, beta, scale, pdx ? pdx + begin : nullptr,
                   pdt ? pdt + begin : nullptr, end - begin);
  });
}

}  // namespace cpu
}  // namespace convnet
