// ELU (Clevert et al. 2015): y = x for x > 0, alpha * (exp(x) - 1) otherwise.
// Backward: dx = dy for x > 0, dy * (y + alpha) = dy * alpha * exp(x) otherwise.
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

}  // namespace

void elu_forward(const Tensor& x, float alpha, const Tensor& y) {
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for(y.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) { elu_range(px + begin, alpha, py + begin, end - begin); });
}

void elu_backward(const Tensor& dy, const Tensor& x, const Tensor& y, float alpha, const Tensor& dx) {
  const float *pdy = dy.f32(), *px = x.f32(), *py = y.f32();
  float* pdx = dx.f32();
  parallel_for(dx.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) {
    elu_backward_range(pdy + begin, px + begin, py + begin, alpha, pdx + begin, end - begin);
  });
}

}  // namespace cpu
}  // namespace convnet
