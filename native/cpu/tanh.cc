// Tanh: y = tanh(x). Backward: dx = dy * (1 - y^2).
// And tanhshrink: y = x - tanh(x); backward from x, dx = dy tanh(x)^2 (one pass each way; the
// tanh op and a subtraction took two forward and four backward).
//
// Forward: cpu/inline_math.h's tanh_value (at most 1.51 ulp) in a loop cloned for AVX2 / AVX-512
// (simd_clones.h); std::tanh, a scalar call per element, ran at 0.13x PyTorch's speed. Without
// trapping math, or GCC leaves the AVX2 clone scalar (its selects compare with NaN).
#include "core/thread_pool.h"
#include "cpu/inline_math.h"
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void tanh_range(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = tanh_value(x[i]);
}

// dx = dy * (1 - y^2), cloned like the forward.
CONVNET_SIMD_CLONES
void tanh_backward_range(const float* __restrict dy, const float* __restrict y, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void tanhshrink_range(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] - tanh_value(x[i]);
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void tanhshrink_backward_range(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float t = tanh_value(x[i]);
    dx[i] = dy[i] * (t * t);
  }
}

}  // namespace

void tanh_forward(const Tensor& x, const Tensor& y) { each_pointwise_range(x, y, tanh_range); }

void tanh_backward(const Tensor& dy, const Tensor& y, const Tensor& dx) { each_pointwise_range(dy, y, dx, tanh_backward_range); }

void tanhshrink_forward(const Tensor& x, const Tensor& y) { each_pointwise_range(x, y, tanhshrink_range); }

void tanhshrink_backward(const Tensor& dy, const Tensor& x, const Tensor& dx) {
  each_pointwise_range(dy, x, dx, tanhshrink_backward_range);
}

}  // namespace cpu
}  // namespace convnet
