// One Adagrad step, fused and in place, in the order of PyTorch 1.13's single-tensor Adagrad
// (Duchi, Hazan and Singer 2011):
//   g = grad + weight_decay * param
//   clr = lr / (1 + (step - 1) * lr_decay)          (in double, once per step, as Python)
//   state_sum += g * g
//   param -= clr * g / (sqrt(state_sum) + eps)
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/optim_update.h"

namespace convnet {
namespace cpu {

void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& state_sum, const AdagradOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* sum = state_sum.f32();
  const optim::AdagradScalars s = optim::adagrad_scalars(o);
  parallel_for(param.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) optim::adagrad_update(s, p + i, g[i], sum + i);
  });
}

}  // namespace cpu
}  // namespace convnet
