// Leaky ReLU (Maas et al. 2013): y = max(x, 0) + slope * min(x, 0).
// Backward: dx = dy for x > 0, slope * dy otherwise (PyTorch's convention at 0).
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"

namespace convnet {
namespace cpu {

void leaky_relu_forward(const Tensor& x, float slope, const Tensor& y) {
  const float* px = x.f32();
  pointwise(y, [=](int64_t i) { return px[i] > 0.0f ? px[i] : px[i] * slope; });
}

void leaky_relu_backward(const Tensor& dy, const Tensor& x, float slope, const Tensor& dx) {
  const float *pdy = dy.f32(), *px = x.f32();
  pointwise(dx, [=](int64_t i) { return px[i] > 0.0f ? pdy[i] : pdy[i] * slope; });
}

}  // namespace cpu
}  // namespace convnet
