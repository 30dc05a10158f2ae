// Tanh: y = tanh(x). Backward: dx = dy * (1 - y^2).
#include <cmath>

#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"

namespace convnet {
namespace cpu {

void tanh_forward(const Tensor& x, const Tensor& y) {
  const float* px = x.f32();
  pointwise(y, [=](int64_t i) { return std::tanh(px[i]); });
}

void tanh_backward(const Tensor& dy, const Tensor& y, const Tensor& dx) {
  const float *pdy = dy.f32(), *py = y.f32();
  pointwise(dx, [=](int64_t i) { return pdy[i] * (1.0f - py[i] * py[i]); });
}

}  // namespace cpu
}  // namespace convnet
