// ELU (Clevert et al. 2015): y = x for x > 0, alpha * (exp(x) - 1) otherwise.
// Backward: dx = dy for x > 0, dy * (y + alpha) = dy * alpha * exp(x) otherwise.
#include <cmath>

#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"

namespace convnet {
namespace cpu {

void elu_forward(const Tensor& x, float alpha, const Tensor& y) {
  const float* px = x.f32();
  pointwise(y, [=](int64_t i) { return px[i] > 0.0f ? px[i] : alpha * std::expm1(px[i]); });
}

void elu_backward(const Tensor& dy, const Tensor& x, const Tensor& y, float alpha, const Tensor& dx) {
  const float *pdy = dy.f32(), *px = x.f32(), *py = y.f32();
  pointwise(dx, [=](int64_t i) { return px[i] > 0.0f ? pdy[i] : pdy[i] * (py[i] + alpha); });
}

}  // namespace cpu
}  // namespace convnet
