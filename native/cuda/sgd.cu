// One SGD step on the GPU, fused and in place: one kernel, the CPU's formulas in the CPU's
// order (cpu/sgd.cc, PyTorch 1.13's torch.optim.SGD). Every operation is rounded on its own
// (strided.cuh: fmul/fadd, never an FMA), so the GPU's parameters are the CPU's bits.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor* momentum_buffer, const SgdOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* buf = momentum_buffer ? momentum_buffer->f32() : nullptr;
  const float lr = static_cast<float>(o.lr), wd = static_cast<float>(o.weight_decay);
  const float momentum = static_cast<float>(o.momentum), keep = static_cast<float>(1.0 - o.dampening);
  const bool nesterov = o.nesterov, first_step = o.first_step;
  for_each("sgdStep", param.numel(), [=] __device__(int64_t i) {
    float d = g[i];
    if (wd != 0.0f) d = fadd(d, fmul(wd, p[i]));
    if (buf) {
      const float b = first_step ? d : fadd(fmul(momentum, buf[i]), fmul(keep, d));
      buf[i] = b;
      d = nesterov ? fadd(d, fmul(momentum, b)) : b;
    }
    p[i] = fsub(p[i], fmul(lr, d));
  });
}

}  // namespace cuda
}  // namespace convnet
