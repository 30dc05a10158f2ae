// ELU (Clevert et al. 2015): y = x for x > 0, alpha * (exp(x) - 1) otherwise.
// Backward: dx = dy for x > 0, dy * (y + alpha) = dy * alpha * exp(x) otherwise.
//
// And ELU scaled, PyTorch's elu kernel with its scale and input_scale, for SELU (Klambauer et al.
// 2017: alpha 1.6733, scale 1.0507) and CELU (Barron 2017: alpha, input_scale 1 / alpha):
//   y = scale x for x > 0, scale alpha expm1(input_scale x) otherwise;
//   dx = dy scale for x > 0, dy scale alpha input_scale exp(input_scale x) otherwise, from x.
// One pass each way where elu and a scaling took two (CELU three) and four backward.
//
// Both loops are cloned for AVX2 / AVX-512 (simd_clones.h) and vectorise: expm1 comes from
// cpu/inline_math.h (std::expm1, a scalar call per element, ran at 0.07x PyTorch's speed), the
// branches are selects. The backward is written dy * (x > 0 ? 1 : y + alpha): exact where the
// factor is 1, so the same bits as the two-way form. Without trapping math: GCC vectorises these
// selects for AVX2 only then (it did for AVX-512 either way).
#include "core/thread_pool.h"
#include "cpu/inline_math.h"
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void elu_range(const float* __restrict x, float alpha, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float negative = alpha * expm1_nonpositive(v);  // v itself for NaN
    y[i] = v > 0.0f ? v : negative;
  }
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void elu_backward_range(const float* __restrict dy, const float* __restrict x, const float* __restrict y, float alpha,
                        float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float factor = x[i] > 0.0f ? 1.0f : y[i] + alpha;
    dx[i] = dy[i] * factor;
  }
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void scaled_elu_range(const float* __restrict x, ScaledElu e, float* __restrict y, int64_t n) {
  const float negative_scale = e.scale * e.alpha;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float negative = negative_scale * expm1_nonpositive(v * e.input_scale);  // NaN for NaN
    y[i] = v > 0.0f ? e.scale * v : negative;
  }
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void scaled_elu_backward_range(const float* __restrict dy, const float* __restrict x, ScaledElu e, float* __restrict dx,
                               int64_t n) {
  const float negative_scale = e.scale * e.alpha * e.input_scale;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float factor = v > 0.0f ? e.scale : negative_scale * exp_nonpositive(v * e.input_scale);
    dx[i] = v == v ? dy[i] * factor : v + v;
  }
}

}  // namespace

void scaled_elu_forward(const Tensor& x, ScaledElu e, const Tensor& y) {
  each_pointwise_range(x, y, [e](const float* px, float* py, int64_t n) { scaled_elu_range(px, e, py, n); });
}

void scaled_elu_backward(const Tensor& dy, const Tensor& x, ScaledElu e, const Tensor& dx) {
  each_pointwise_range(dy, x, dx, [e](const float* pdy, const float* px, float* pdx, int64_t n) {
    scaled_elu_backward_range(pdy, px, e, pdx, n);
  });
}

void elu_forward(const Tensor& x, float alpha, const Tensor& y) {
  each_pointwise_range(x, y, [alpha](const float* px, float* py, int64_t n) { elu_range(px, alpha, py, n); });
}

void elu_backward(const Tensor& dy, const Tensor& x, const Tensor& y, float alpha, const Tensor& dx) {
  const float *pdy = dy.f32(), *px = x.f32(), *py = y.f32();
  float* pdx = dx.f32();
  parallel_for_elements(dx.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) {
    elu_backward_range(pdy + begin, px + begin, py + begin, alpha, pdx + begin, end - begin);
  });
}

}  // namespace cpu
}  // namespace convnet
