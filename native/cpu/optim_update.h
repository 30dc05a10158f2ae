// The per-element updates of the fused optimizer steps, written once for both devices: the CPU
// loops (cpu/sgd.cc, cpu/adam.cc) and the GPU kernels (cuda/sgd.cu, cuda/adam.cu) call these,
// so the two compute the same formulas in the same order (PyTorch 1.13's single-tensor SGD and
// Adam; each file's comment gives them). Every product and sum rounds on its own (rn_*): nvcc
// would otherwise contract a * b + c into one FMA and the GPU would differ in the last bit; the
// CPU build (x86-64 without -march) never contracts.
#pragma once
#include <cmath>

#include "core/philox.h"  // CONVNET_HD
#include "cpu/nn_ops.h"

namespace convnet {
namespace optim {

CONVNET_HD inline float rn_mul(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
CONVNET_HD inline float rn_add(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
CONVNET_HD inline float rn_div(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
CONVNET_HD inline float rn_sqrt(float a) {
#ifdef __CUDA_ARCH__
  return __fsqrt_rn(a);
#else
  return std::sqrt(a);
#endif
}

// SGD's scalars, in float as the kernels use them.
struct SgdScalars {
  float lr, weight_decay, momentum, keep;  // keep = 1 - dampening
  bool nesterov, first_step;
};
inline SgdScalars sgd_scalars(const SgdOptions& o) {
  return {static_cast<float>(o.lr), static_cast<float>(o.weight_decay), static_cast<float>(o.momentum),
          static_cast<float>(1.0 - o.dampening), o.nesterov, o.first_step};
}

// One element: p -= lr * (g + wd * p, through the momentum buffer when there is one).
CONVNET_HD inline void sgd_update(const SgdScalars& s, float* p, float g, float* buf) {
  float d = g;
  if (s.weight_decay != 0.0f) d = rn_add(d, rn_mul(s.weight_decay, *p));
  if (buf) {
    *buf = s.first_step ? d : rn_add(rn_mul(s.momentum, *buf), rn_mul(s.keep, d));
    d = s.nesterov ? rn_add(d, rn_mul(s.momentum, *buf)) : *buf;
  }
  *p = rn_add(*p, -rn_mul(s.lr, d));
}

// Adam's scalars: the bias corrections in double, as Python computes them, then float.
struct AdamScalars {
  float step_size, bias_correction2_sqrt, beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay, decay;
  bool decoupled;
};
inline AdamScalars adam_scalars(const AdamOptions& o) {
  const double t = static_cast<double>(o.step);
  return {static_cast<float>(o.lr / (1.0 - std::pow(o.beta1, t))),
          static_cast<float>(std::sqrt(1.0 - std::pow(o.beta2, t))),
          static_cast<float>(o.beta1),
          static_cast<float>(o.beta2),
          static_cast<float>(1.0 - o.beta1),
          static_cast<float>(1.0 - o.beta2),
          static_cast<float>(o.eps),
          static_cast<float>(o.weight_decay),
          static_cast<float>(1.0 - o.lr * o.weight_decay),
          o.decoupled};
}

// One element of Adam / AdamW (v_max: amsgrad's running maximum, or null).
CONVNET_HD inline void adam_update(const AdamScalars& s, float* p, float g, float* m, float* v, float* v_max) {
  float d = g;
  float w = *p;
  if (s.decoupled) {
    if (s.weight_decay != 0.0f) w = rn_mul(w, s.decay);
  } else if (s.weight_decay != 0.0f) {
    d = rn_add(d, rn_mul(s.weight_decay, w));
  }
  const float mi = rn_add(rn_mul(*m, s.beta1), rn_mul(s.one_minus_beta1, d));
  const float vi = rn_add(rn_mul(*v, s.beta2), rn_mul(rn_mul(s.one_minus_beta2, d), d));
  *m = mi;
  *v = vi;
  float second = vi;
  if (v_max) {
    *v_max = *v_max > vi ? *v_max : vi;
    second = *v_max;
  }
  const float denom = rn_add(rn_div(rn_sqrt(second), s.bias_correction2_sqrt), s.eps);
  *p = rn_add(w, -rn_mul(s.step_size, rn_div(mi, denom)));
}

}  // namespace optim
}  // namespace convnet
