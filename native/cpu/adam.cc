// One Adam / AdamW step, fused and in place, in the order of PyTorch 1.13's single-tensor
// Adam (Kingma & Ba 2015; AdamW: Loshchilov & Hutter 2019, decoupled weight decay):
//   AdamW:  param *= 1 - lr * weight_decay          Adam: g = grad + weight_decay * param
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   v_max = max(v_max, v)                            (amsgrad; then v_max replaces v below)
//   param -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// The bias corrections are computed once per step in double, as Python does.
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/optim_update.h"

namespace convnet {
namespace cpu {

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor* max_exp_avg_sq, const AdamOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* m = exp_avg.f32();
  float* v = exp_avg_sq.f32();
  float* v_max = max_exp_avg_sq ? max_exp_avg_sq->f32() : nullptr;
  const optim::AdamScalars s = optim::adam_scalars(o);
  parallel_for(param.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) optim::adam_update(s, p + i, g[i], m + i, v + i, v_max ? v_max + i : nullptr);
  });
}

}  // namespace cpu
}  // namespace convnet
