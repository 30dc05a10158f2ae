// One Adam / AdamW step on the GPU, fused and in place: one kernel running the CPU's per-element
// update (cpu/optim_update.h, shared with cpu/adam.cc; the bias corrections in double on the
// host), so the GPU's parameters and moments are the CPU's bits.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cpu/optim_update.h"

namespace convnet {
namespace cuda {

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor* max_exp_avg_sq, const AdamOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* m = exp_avg.f32();
  float* v = exp_avg_sq.f32();
  float* v_max = max_exp_avg_sq ? max_exp_avg_sq->f32() : nullptr;
  const optim::AdamScalars s = optim::adam_scalars(o);
  for_each("adamStep", param.numel(), [=] __device__(int64_t i) {
    optim::adam_update(s, p + i, g[i], m + i, v + i, v_max ? v_max + i : nullptr);
  });
}

}  // namespace cuda
}  // namespace convnet
