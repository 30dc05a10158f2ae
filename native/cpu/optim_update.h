// The per-element updates of the fused optimizer steps, PyTorch 1.13's single-tensor SGD, Adam,
// RMSprop and Adagrad (each file's comment gives the formula). The GPU kernels (cuda/sgd.cu,
// adam.cu, rmsprop.cu, adagrad.cu) call these; the CPU loops (cpu/ of the same names) repeat them
// with the options' branches lifted out of the loop, so that they vectorise, with the same
// operations in the same order: a change here is a change there too. test/optim-steps.test.ts
// checks every option combination of the CPU bit for bit against the formula, and
// test/cuda-ops.test.ts the GPU against the CPU. Every product and sum rounds on its own (rn_*):
// nvcc would otherwise contract a * b + c into one FMA and the GPU would differ in the last bit;
// the CPU build (x86-64 without -march) has no FMA, and the CPU loops' AVX2/AVX-512 clones
// (adam.cc, rmsprop.cc, adagrad.cc) are compiled with contraction off.
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

// RMSprop's scalars, in float as the kernels use them.
struct RmspropScalars {
  float lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
  bool centered;
};
inline RmspropScalars rmsprop_scalars(const RmspropOptions& o) {
  return {static_cast<float>(o.lr),           static_cast<float>(o.alpha), static_cast<float>(1.0 - o.alpha),
          static_cast<float>(o.eps),          static_cast<float>(o.weight_decay), static_cast<float>(o.momentum),
          o.centered};
}

// One element of RMSprop, in the order of PyTorch's tensor calls (addcmul(a, b, c, value=v) is
// a + (v * b) * c there, addcdiv a + (v * b) / c). buf and g_avg are null when not used.
CONVNET_HD inline void rmsprop_update(const RmspropScalars& s, float* p, float g, float* sq, float* buf, float* g_avg) {
  float d = g;
  if (s.weight_decay != 0.0f) d = rn_add(d, rn_mul(s.weight_decay, *p));
  const float sqi = rn_add(rn_mul(*sq, s.alpha), rn_mul(rn_mul(s.one_minus_alpha, d), d));
  *sq = sqi;
  float avg;
  if (g_avg) {
    const float ga = rn_add(rn_mul(*g_avg, s.alpha), rn_mul(s.one_minus_alpha, d));
    *g_avg = ga;
    avg = rn_sqrt(rn_add(sqi, rn_mul(-ga, ga)));  // can be NaN when rounding makes it negative, as PyTorch's
  } else {
    avg = rn_sqrt(sqi);
  }
  avg = rn_add(avg, s.eps);
  if (buf) {
    *buf = rn_add(rn_mul(*buf, s.momentum), rn_div(d, avg));
    *p = rn_add(*p, rn_mul(-s.lr, *buf));
  } else {
    *p = rn_add(*p, rn_div(rn_mul(-s.lr, d), avg));
  }
}

// Adagrad's scalars: the decayed learning rate in double, as Python computes it, then float.
struct AdagradScalars {
  float clr, weight_decay, eps;
};
inline AdagradScalars adagrad_scalars(const AdagradOptions& o) {
  return {static_cast<float>(o.lr / (1.0 + static_cast<double>(o.step - 1) * o.lr_decay)), static_cast<float>(o.weight_decay),
          static_cast<float>(o.eps)};
}

// One element of Adagrad: sum += g * g; p -= clr * g / (sqrt(sum) + eps).
CONVNET_HD inline void adagrad_update(const AdagradScalars& s, float* p, float g, float* sum) {
  float d = g;
  if (s.weight_decay != 0.0f) d = rn_add(d, rn_mul(s.weight_decay, *p));
  const float si = rn_add(*sum, rn_mul(d, d));
  *sum = si;
  *p = rn_add(*p, rn_div(rn_mul(-s.clr, d), rn_add(rn_sqrt(si), s.eps)));
}

}  // namespace optim
}  // namespace convnet
