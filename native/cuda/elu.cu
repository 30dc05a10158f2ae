// ELU on the GPU (cpu/elu.cc). Forward: cuDNN's ELU with alpha as the descriptor's coef (our own
// kernel for alpha < 0, which PyTorch allows and cuDNN does not document). Backward: our own
// kernel, dx = x > 0 ? dy : dy * (y + alpha), not cudnnActivationBackward: cuDNN does not
// document which side of the kink it takes at x = 0 (PyTorch and the CPU: dy * alpha) nor what a
// NaN input gives (here NaN, as on the CPU); this kernel is the CPU's expression.
#include "cuda/cuda_ops.h"
#include "cuda/cudnn_activation.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void elu_forward(const Tensor& x, float alpha, const Tensor& y) {
  if (alpha >= 0.0f) return cudnn_activation_forward("elu", decl::CUDNN_ACTIVATION_ELU, alpha, x, y);
  const float* px = x.f32();
  float* py = y.f32();
  for_each("elu", y.numel(), [=] __device__(int64_t i) {
    const float v = px[i];
    py[i] = v > 0.0f ? v : alpha * expm1f(v);
  });
}

void elu_backward(const Tensor& dy, const Tensor& x, const Tensor& y, float alpha, const Tensor& dx) {
  const float *pdy = dy.f32(), *px = x.f32(), *py = y.f32();
  float* pdx = dx.f32();
  for_each("elu backward", dx.numel(),
           [=] __device__(int64_t i) { pdx[i] = px[i] > 0.0f ? pdy[i] : pdy[i] * (py[i] + alpha); });
}

}  // namespace cuda
}  // namespace convnet
