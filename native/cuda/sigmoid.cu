// Sigmoid on the GPU (cpu/sigmoid.cc). Forward: cuDNN's SIGMOID. Backward: our own kernel,
// dx = dy * y * (1 - y) from y alone, the CPU's expression: the op gets only dy and y (the CPU's
// signature), and cuDNN does not document whether cudnnActivationBackward reads x or y for it.
#include "cuda/cuda_ops.h"
#include "cuda/cudnn_activation.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void sigmoid_forward(const Tensor& x, const Tensor& y) {
  cudnn_activation_forward("sigmoid", decl::CUDNN_ACTIVATION_SIGMOID, 0.0, x, y);
}

void sigmoid_backward(const Tensor& dy, const Tensor& y, const Tensor& dx) {
  const float *pdy = dy.f32(), *py = y.f32();
  float* pdx = dx.f32();
  for_each("sigmoid backward", dx.numel(), [=] __device__(int64_t i) { pdx[i] = pdy[i] * py[i] * (1.0f - py[i]); });
}

}  // namespace cuda
}  // namespace convnet
