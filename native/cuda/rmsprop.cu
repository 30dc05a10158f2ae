// One RMSprop step on the GPU, fused and in place: one kernel running the CPU's per-element
// update (cpu/optim_update.h, shared with cpu/rmsprop.cc, which gives the formulas), so the
// GPU's parameters and state are the CPU's bits.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cpu/optim_update.h"

namespace convnet {
namespace cuda {

void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor* momentum_buffer,
                  const Tensor* grad_avg, const RmspropOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* sq = square_avg.f32();
  float* buf = momentum_buffer ? momentum_buffer->f32() : nullptr;
  float* ga = grad_avg ? grad_avg->f32() : nullptr;
  const optim::RmspropScalars s = optim::rmsprop_scalars(o);
  for_each("rmspropStep", param.numel(), [=] __device__(int64_t i) {
    optim::rmsprop_update(s, p + i, g[i], sq + i, buf ? buf + i : nullptr, ga ? ga + i : nullptr);
  });
}

}  // namespace cuda
}  // namespace convnet
