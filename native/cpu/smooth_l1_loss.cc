// Smooth L1 (Fast R-CNN's box regression loss) and Huber losses, per element, as PyTorch's
// kernels (lib/nn/functional/loss.ts reduces the loss): with z = |x - t|,
//   smooth L1:  l = 0.5 z^2 / beta where z < beta, z - 0.5 beta elsewhere (beta > 0);
//   Huber:      l = 0.5 z^2 where z < delta, delta (z - 0.5 delta) elsewhere;
// and the backward, g = dl scale (dl one value, or one per element; scale 1 / N for 'mean'):
//   smooth L1:  dx = -g below -beta, g above beta, g d / beta between (d = x - t);
//   Huber:      dx = -g delta below -delta, g delta above delta, g d between;
//   dt = -dx.
// One pass each way: composed from sub, abs, minimum, mul and scale they took six forward and
// about ten backward (3.7x PyTorch's time on [300, 250]). NaN gives NaN. Elements are computed
// on their own, in pieces of whole vectors, so the thread count changes no bits.
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void smooth_l1_range(const float* __restrict x, const float* __restrict t, float beta, bool huber, float* __restrict l, int64_t n) {
  const float half_beta = 0.5f * beta;
  if (huber) {
    for (int64_t i = 0; i < n; ++i) {
      const float z = __builtin_fabsf(x[i] - t[i]);
      l[i] = z < beta ? 0.5f * z * z : beta * (z - half_beta);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float z = __builtin_fabsf(x[i] - t[i]);
      l[i] = z < beta ? 0.5f * z * z / beta : z - half_beta;
    }
  }
}

// dx and/or dt (either may be null). dl: one value (dl_step 0) or one per element (dl_step 1).
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void smooth_l1_backward_range(const float* __restrict dl, int64_t dl_step, const float* __restrict x, const float* __restrict t,
                              float beta, bool huber, float scale, float* __restrict dx, float* __restrict dt, int64_t n) {
  // Huber's gradient is smooth L1's times delta (= beta): g d inside, g delta outside.
  const float inside = huber ? 1.0f : 1.0f / beta, outside = huber ? beta : 1.0f;
  for (int64_t i = 0; i < n; ++i) {
    const float d = x[i] - t[i];
    const float g = dl[i * dl_step] * scale;
    const float r = d < -beta ? -g * outside : (d > beta ? g * outside : g * d * inside);
    if (dx) dx[i] = r;
    if (dt) dt[i] = -r;
  }
}

}  // namespace

void smooth_l1_loss_forward(const Tensor& x, const Tensor& target, float beta, bool huber, const Tensor& loss) {
  const float *px = x.f32(), *pt = target.f32();
  float* pl = loss.f32();
  parallel_for_elements(loss.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) {
    smooth_l1_range(px + begin, pt + begin, beta, huber, pl + begin, end - begin);
  });
}

void smooth_l1_loss_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, float beta, bool huber, float scale,
                             const Tensor& dx, const Tensor& dtarget) {
  const float *pdl = dloss.f32(), *px = x.f32(), *pt = target.f32();
  float* pdx = dx.storage() ? dx.f32() : nullptr;
  float* pdt = dtarget.storage() ? dtarget.f32() : nullptr;
  const int64_t dl_step = dloss.numel() == 1 ? 0 : 1;
  parallel_for_elements(x.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) {
    smooth_l1_backward_range(pdl + begin * dl_step, dl_step, px + begin, pt + begin, beta, huber, scale, pdx ? pdx + begin : nullptr,
                             pdt ? pdt + begin : nullptr, end - begin);
  });
}

}  // namespace cpu
}  // namespace convnet
