// Tanh on the GPU (cpu/tanh.cc). Forward: cuDNN's TANH. Backward: our own kernel,
// dx = dy * (1 - y^2) from y alone, the CPU's expression: the op gets only dy and y (the CPU's
// signature), and cuDNN does not document whether cudnnActivationBackward reads x or y for it.
// y * y is rounded on its own (__fmul_rn: no FMA contraction), as the CPU computes it.
#include "cuda/cuda_ops.h"
#include "cuda/cudnn_activation.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void tanh_forward(const Tensor& x, const Tensor& y) {
  cudnn_activation_forward("tanh", decl::CUDNN_ACTIVATION_TANH, 0.0, x, y);
}

void tanh_backward(const Tensor& dy, const Tensor& y, const Tensor& dx) {
  const float *pdy = dy.f32(), *py = y.f32();
  float* pdx = dx.f32();
  for_each("tanh backward", dx.numel(), [=] __device__(int64_t i) { pdx[i] = pdy[i] * (1.0f - __fmul_rn(py[i], py[i])); });
}

}  // namespace cuda
}  // namespace convnet
