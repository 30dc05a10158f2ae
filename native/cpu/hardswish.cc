// Hard sigmoid and hard swish (MobileNetV3), PyTorch's CPU kernels in one pass each way (they were
// four to six composed ops: hard swish 0.41x PyTorch's speed on [32, 196, 1536]). CPU only: the
// GPU composes them (lib/nn/functional/activation.ts).
//
//   hardsigmoid(x) = min(max(x + 3, 0), 6) / 6;  gradient dy (1/6) on (-3, 3), 0 elsewhere (and NaN);
//   hardswish(x) = x min(max(x + 3, 0), 6) / 6;  gradient 0 below -3, dy (x / 3 + 1/2) on [-3, 3],
//   dy above (and for NaN), as PyTorch's branches. NaN stays NaN forward (the max and min keep it).
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

// min(max(x + 3, 0), 6) with std::max / std::min's NaN rule (a NaN first argument is returned).
inline __attribute__((always_inline)) float relu6_of_shifted(float v) {
  const float a = v + 3.0f;
  const float b = a < 0.0f ? 0.0f : a;
  return 6.0f < b ? 6.0f : b;
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void hardsigmoid_range(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = relu6_of_shifted(x[i]) / 6.0f;
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void hardsigmoid_backward_range(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > -3.0f && x[i] < 3.0f ? dy[i] * (1.0f / 6.0f) : 0.0f;  // PyTorch's one_sixth
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void hardswish_range(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * relu6_of_shifted(x[i]) / 6.0f;
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void hardswish_backward_range(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i], d = dy[i];
    const float middle = d * (v / 3.0f + 0.5f);
    dx[i] = v < -3.0f ? 0.0f : (v <= 3.0f ? middle : d);
  }
}

}  // namespace

void hardsigmoid_forward(const Tensor& x, const Tensor& y) { each_pointwise_range(x, y, hardsigmoid_range); }

void hardsigmoid_backward(const Tensor& dy, const Tensor& x, const Tensor& dx) {
  each_pointwise_range(dy, x, dx, hardsigmoid_backward_range);
}

void hardswish_forward(const Tensor& x, const Tensor& y) { each_pointwise_range(x, y, hardswish_range); }

void hardswish_backward(const Tensor& dy, const Tensor& x, const Tensor& dx) { each_pointwise_range(dy, x, dx, hardswish_backward_range); }

}  // namespace cpu
}  // namespace convnet
