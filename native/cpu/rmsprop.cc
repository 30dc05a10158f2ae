// One RMSprop step, fused and in place, in the order of PyTorch 1.13's single-tensor RMSprop
// (Hinton's lecture 6e; centered: Graves 2013):
//   g = grad + weight_decay * param
//   square_avg = alpha * square_avg + (1 - alpha) * g * g
//   centered:  grad_avg = alpha * grad_avg + (1 - alpha) * g;  avg = sqrt(square_avg - grad_avg^2) + eps
//   else:      avg = sqrt(square_avg) + eps
//   momentum:  buf = momentum * buf + g / avg;  param -= lr * buf
//   else:      param -= lr * g / avg
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/optim_update.h"

namespace convnet {
namespace cpu {

void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor* momentum_buffer,
                  const Tensor* grad_avg, const RmspropOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* sq = square_avg.f32();
  float* buf = momentum_buffer ? momentum_buffer->f32() : nullptr;
  float* ga = grad_avg ? grad_avg->f32() : nullptr;
  const optim::RmspropScalars s = optim::rmsprop_scalars(o);
  parallel_for(param.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) optim::rmsprop_update(s, p + i, g[i], sq + i, buf ? buf + i : nullptr, ga ? ga + i : nullptr);
  });
}

}  // namespace cpu
}  // namespace convnet
