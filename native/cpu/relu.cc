// ReLU: y = max(x, 0). Backward: dx = dy where y > 0, else 0 (so the gradient at exactly 0 is
// 0, as PyTorch). NaN passes through forward.
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"

namespace convnet {
namespace cpu {

void relu_forward(const Tensor& x, const Tensor& y) {
  const float* px = x.f32();
  pointwise(y, [px](int64_t i) { return px[i] > 0.0f || px[i] != px[i] ? px[i] : 0.0f; });
}

void relu_backward(const Tensor& dy, const Tensor& y, const Tensor& dx) {
  const float *pdy = dy.f32(), *py = y.f32();
  pointwise(dx, [=](int64_t i) { return py[i] > 0.0f ? pdy[i] : 0.0f; });
}

}  // namespace cpu
}  // namespace convnet
