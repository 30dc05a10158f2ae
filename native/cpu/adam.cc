// One Adam / AdamW step, fused and in place, in the order of PyTorch 1.13's single-tensor
// Adam (Kingma & Ba 2015; AdamW: Loshchilov & Hutter 2019, decoupled weight decay):
//   AdamW:  param *= 1 - lr * weight_decay          Adam: g = grad + weight_decay * param
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   v_max = max(v_max, v)                            (amsgrad; then v_max replaces v below)
//   param -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// The bias corrections are computed once per step in double, as Python does.
#include <cmath>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace cpu {

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor* max_exp_avg_sq, const AdamOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* m = exp_avg.f32();
  float* v = exp_avg_sq.f32();
  float* v_max = max_exp_avg_sq ? max_exp_avg_sq->f32() : nullptr;
  const double t = static_cast<double>(o.step);
  const float step_size = static_cast<float>(o.lr / (1.0 - std::pow(o.beta1, t)));
  const float bias_correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(o.beta2, t)));
  const float beta1 = static_cast<float>(o.beta1), beta2 = static_cast<float>(o.beta2);
  const float one_minus_beta1 = static_cast<float>(1.0 - o.beta1), one_minus_beta2 = static_cast<float>(1.0 - o.beta2);
  const float eps = static_cast<float>(o.eps), wd = static_cast<float>(o.weight_decay);
  const float decay = static_cast<float>(1.0 - o.lr * o.weight_decay);
  parallel_for(param.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float d = g[i];
      if (o.decoupled) {
        if (wd != 0.0f) p[i] *= decay;
      } else if (wd != 0.0f) {
        d += wd * p[i];
      }
      m[i] = m[i] * beta1 + one_minus_beta1 * d;
      v[i] = v[i] * beta2 + one_minus_beta2 * d * d;
      float second = v[i];
      if (v_max) {
        v_max[i] = v_max[i] > v[i] ? v_max[i] : v[i];
        second = v_max[i];
      }
      const float denom = std::sqrt(second) / bias_correction2_sqrt + eps;
      p[i] -= step_size * (m[i] / denom);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
