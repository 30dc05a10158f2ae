// One Adam / AdamW step on the GPU, fused and in place: one kernel, the CPU's formulas in the
// CPU's order (cpu/adam.cc, PyTorch 1.13's single-tensor Adam). The bias corrections are
// computed on the host in double exactly as the CPU does, and every float operation in the
// kernel is rounded on its own (strided.cuh: no FMA; sqrt and division are IEEE), so the GPU's
// parameters and moments are the CPU's bits.
#include <cmath>

#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {

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
  const bool decoupled = o.decoupled;
  for_each("adamStep", param.numel(), [=] __device__(int64_t i) {
    float d = g[i];
    float w = p[i];
    if (decoupled) {
      if (wd != 0.0f) w = fmul(w, decay);
    } else if (wd != 0.0f) {
      d = fadd(d, fmul(wd, w));
    }
    const float mi = fadd(fmul(m[i], beta1), fmul(one_minus_beta1, d));
    const float vi = fadd(fmul(v[i], beta2), fmul(fmul(one_minus_beta2, d), d));
    m[i] = mi;
    v[i] = vi;
    float second = vi;
    if (v_max) {
      const float vm = v_max[i] > vi ? v_max[i] : vi;
      v_max[i] = vm;
      second = vm;
    }
    const float denom = fadd(fdiv(__fsqrt_rn(second), bias_correction2_sqrt), eps);
    p[i] = fsub(w, fmul(step_size, fdiv(mi, denom)));
  });
}

}  // namespace cuda
}  // namespace convnet
