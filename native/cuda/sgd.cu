// One SGD step on the GPU, fused and in place: one kernel running the CPU's per-element update
// (cpu/optim_update.h, shared with cpu/sgd.cc), so the GPU's parameters are the CPU's bits.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cpu/optim_update.h"

namespace convnet {
namespace cuda {

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor* momentum_buffer, const SgdOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* buf = momentum_buffer ? momentum_buffer->f32() : nullptr;
  const optim::SgdScalars s = optim::sgd_scalars(o);
  for_each("sgdStep", param.numel(), [=] __device__(int64_t i) { optim::sgd_update(s, p + i, g[i], buf ? buf + i : nullptr); });
}

}  // namespace cuda
}  // namespace convnet
