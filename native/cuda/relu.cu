// ReLU on the GPU (cpu/relu.cc gives the semantics). Forward: cuDNN's RELU with
// CUDNN_PROPAGATE_NAN (NaN passes through, as on the CPU). Backward: our own one-select kernel,
// dx = y > 0 ? dy : 0, not cudnnActivationBackward: the op gets only dy and y (the CPU's
// signature), and cuDNN documents neither which of x and y its RELU backward reads nor its
// gradient at a NaN (the CPU's is 0: NaN > 0 is false); this kernel gives the CPU's bits.
#include "cuda/cuda_ops.h"
#include "cuda/cudnn_activation.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void relu_forward(const Tensor& x, const Tensor& y) {
  cudnn_activation_forward("relu", decl::CUDNN_ACTIVATION_RELU, 0.0, x, y);
}

void relu_backward(const Tensor& dy, const Tensor& y, const Tensor& dx) {
  const float *pdy = dy.f32(), *py = y.f32();
  float* pdx = dx.f32();
  for_each("relu backward", dx.numel(), [=] __device__(int64_t i) { pdx[i] = py[i] > 0.0f ? pdy[i] : 0.0f; });
}

}  // namespace cuda
}  // namespace convnet
