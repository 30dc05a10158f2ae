// Sigmoid: y = 1 / (1 + exp(-x)), written to avoid overflow for large |x|.
// Backward: dx = dy * y * (1 - y).
#include <cmath>

#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"

namespace convnet {
namespace cpu {

void sigmoid_forward(const Tensor& x, const Tensor& y) {
  const float* px = x.f32();
  pointwise(y, [=](int64_t i) {
    const float v = px[i];
    if (v >= 0.0f) return 1.0f / (1.0f + std::exp(-v));
    const float e = std::exp(v);
    return e / (1.0f + e);
  });
}

void sigmoid_backward(const Tensor& dy, const Tensor& y, const Tensor& dx) {
  const float *pdy = dy.f32(), *py = y.f32();
  pointwise(dx, [=](int64_t i) { return pdy[i] * py[i] * (1.0f - py[i]); });
}

}  // namespace cpu
}  // namespace convnet
