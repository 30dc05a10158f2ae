// One Adagrad step on the GPU, fused and in place: one kernel running the CPU's per-element
// update (cpu/optim_update.h, shared with cpu/adagrad.cc, which gives the formulas; the decayed
// learning rate in double on the host), so the GPU's parameters and sums are the CPU's bits.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cpu/optim_update.h"

namespace convnet {
namespace cuda {

void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& state_sum, const AdagradOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* sum = state_sum.f32();
  const optim::AdagradScalars s = optim::adagrad_scalars(o);
  for_each("adagradStep", param.numel(), [=] __device__(int64_t i) { optim::adagrad_update(s, p + i, g[i], sum + i); });
}

}  // namespace cuda
}  // namespace convnet
