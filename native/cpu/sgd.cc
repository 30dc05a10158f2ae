// One SGD step, fused and in place, exactly PyTorch's torch.optim.SGD (1.13, single tensor):
//   g = grad + weight_decay * param                       (when weight_decay != 0)
//   buf = g on the first step, else momentum * buf + (1 - dampening) * g   (when momentum != 0)
//   g = g + momentum * buf (nesterov) or buf
//   param = param - lr * g
// Every element is independent, so any thread count gives the same bits.
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/optim_update.h"

namespace convnet {
namespace cpu {

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor* momentum_buffer, const SgdOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* buf = momentum_buffer ? momentum_buffer->f32() : nullptr;
  const optim::SgdScalars s = optim::sgd_scalars(o);
  parallel_for(param.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) optim::sgd_update(s, p + i, g[i], buf ? buf + i : nullptr);
  });
}

}  // namespace cpu
}  // namespace convnet
