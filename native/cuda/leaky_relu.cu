// Leaky ReLU on the GPU (cpu/leaky_relu.cc): cuDNN has no leaky ReLU in its legacy API, so both
// directions are our own kernels, written as the CPU's v * (x > 0 ? 1 : slope) (one product: the
// same bits, -0 and NaN included).
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void leaky_relu_forward(const Tensor& x, float slope, const Tensor& y) {
  const float* px = x.f32();
  float* py = y.f32();
  for_each("leakyRelu", y.numel(), [=] __device__(int64_t i) {
    const float v = px[i];
    py[i] = v * (v > 0.0f ? 1.0f : slope);
  });
}

void leaky_relu_backward(const Tensor& dy, const Tensor& x, float slope, const Tensor& dx) {
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdx = dx.f32();
  for_each("leakyRelu backward", dx.numel(),
           [=] __device__(int64_t i) { pdx[i] = pdy[i] * (px[i] > 0.0f ? 1.0f : slope); });
}

}  // namespace cuda
}  // namespace convnet
