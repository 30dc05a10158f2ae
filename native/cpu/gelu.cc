// GELU (Hendrycks & Gimpel 2016), as torch.nn.functional.gelu, in one pass each way (it was five
// composed ops, 0.58x PyTorch's speed on [32, 196, 1536]). CPU only: the GPU composes it
// (lib/nn/functional/activation.ts).
//
// Exact:  y = x Phi(x) = x/2 erfc(z), z = -x/sqrt2;  dx = dy (Phi(x) + x phi(x)), phi(x) = exp(-z^2) / sqrt(2 pi).
//   erfc(z) rather than PyTorch's 1 + erf(x/sqrt2), which cancels for x below about -3 (its erf
//   is also only good to 1.5e-7 absolute). erfc(a), a = |z| >= 1/2, is Numerical Recipes' erfcc
//   (Chebyshev in t = 1 / (1 + a/2), fractional error under 1.2e-7): t exp(-a^2 + P(t)), the
//   exponent carried in two floats (a^2 split by an FMA, the sum by TwoSum) so that its rounding,
//   ~4e-6 at a = 10, does not reach the result; erfc(-a) = 2 - erfc(a); below 1/2, 1 - erf(z) by
//   inline_math.h's erf_small_poly. z is not a float: z = zh + zl (zl the product's rounding error,
//   an FMA, plus x times sqrt(1/2)'s own), and zl enters the exponent as -2 zh zl (and erf's
//   slope below 1/2): without it erfc's sensitivity 2z turned zh's half ulp into ~25 ulp at x = -7.
//   Within 3.8 ulp of float64 over test/nn-gelu-hardswish.test.ts's sweep, the gradient within
//   2.4 ulp of its terms' size. The cost of that: ~110 instructions a vector of 8 (AVX2), where
//   PyTorch's erf (Abramowitz-Stegun 7.1.26, 1.5e-7 absolute) takes about 40; on [8, 96, 55, 55]
//   at 2 threads 3.3 ms against PyTorch's 1.05 (a first version, elementwise.cc's erfc chained
//   through block passes, 4.8; five composed ops before that). The tanh form is the fast one.
#include <cmath>

#include "core/thread_pool.h"
#include "cpu/inline_math.h"
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

constexpr float kSqrtHalf = 0.70710678118654752f;
const float kSqrtHalfLow = static_cast<float>(0.70710678118654752440 - static_cast<double>(kSqrtHalf));
constexpr float kTwoOverSqrtPi = 1.12837916709551257f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kSqrt2OverPi = 0.79788456080286536f;  // PyTorch's kBeta (M_SQRT2 * M_2_SQRTPI * 0.5)
constexpr float kKappa = 0.044715f;

// erfc(z) and what the gradient needs of it, for z = zh + zl.
struct Erfc {
  float value;       // erfc(z)
  float sq, l, zlo;  // zh^2 = sq + l (an FMA), and zlo = -2 zh zl: exp(-z^2) ~ exp(-sq) (1 - l + zlo)
};

CONVNET_MATH_INLINE Erfc erfc_split(float zh, float zl) {
  const float a = __builtin_fabsf(zh) < 10.0f ? __builtin_fabsf(zh) : 10.0f;  // NaN: 10 (callers keep NaN through x)
  zl = __builtin_fabsf(zh) < 10.0f ? zl : 0.0f;                              // and no NaN from an infinite zh
  // erfc(a) = t exp(-a^2 + P(t)), a >= 1/2 (the lanes under 1/2 take the series below)
  const float t = 1.0f / (1.0f + 0.5f * a);
  float p = 0.17087277f;
  p = __builtin_fmaf(p, t, -0.82215223f);
  p = __builtin_fmaf(p, t, 1.48851587f);
  p = __builtin_fmaf(p, t, -1.13520398f);
  p = __builtin_fmaf(p, t, 0.27886807f);
  p = __builtin_fmaf(p, t, -0.18628806f);
  p = __builtin_fmaf(p, t, 0.09678418f);
  p = __builtin_fmaf(p, t, 0.37409196f);
  p = __builtin_fmaf(p, t, 1.00002368f);
  p = __builtin_fmaf(p, t, -1.26551223f);
  const float sq = a * a, l = __builtin_fmaf(a, a, -sq);  // a^2 = sq + l exactly
  const float s = p - sq, back = s - p;                    // TwoSum(p, -sq) = s + err
  const float err = (p - (s - back)) + (-sq - back);
  const float zlo = -2.0f * __builtin_copysignf(a, zh) * zl;  // zh itself: inf * 0 for an infinite x
  const ExpParts e = exp_parts(s);
  const float tail = t * ((e.s * e.m + e.s) * (1.0f + ((err - l) + zlo)));
  // erf(zh + zl) below 1/2: zh P(zh^2) (inline_math.h) plus zl times its slope
  const float v2 = zh * zh;
  const float small = 1.0f - (zh * erf_small_poly(v2) + zl * (kTwoOverSqrtPi * (1.0f - v2)));
  const float value = a < 0.5f ? small : (zh > 0.0f ? tail : 2.0f - tail);
  return {value, sq, l, zlo};
}

// z = -x / sqrt2 as zh + zl.
CONVNET_MATH_INLINE Erfc gelu_erfc(float x) {
  const float v = -x, zh = v * kSqrtHalf;
  return erfc_split(zh, __builtin_fmaf(v, kSqrtHalf, -zh) + v * kSqrtHalfLow);
}

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math")))
void exact_forward_range(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = (0.5f * x[i]) * gelu_erfc(x[i]).value;
}

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math")))
void exact_backward_range(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const Erfc c = gelu_erfc(x[i]);
    const ExpParts g = exp_parts(-c.sq);  // exp(-sq); past sq = 88 it is 0, as the density is in float
    const float pdf = kInvSqrt2Pi * ((g.s * g.m + g.s) * (1.0f - c.l + c.zlo));
    dx[i] = dy[i] * (0.5f * c.value + x[i] * pdf);
  }
}

// sigmoid(2u) and 1 - sigmoid(2u) for the tanh form.
struct Sigmoids {
  float s, complement;
};
CONVNET_MATH_INLINE Sigmoids sigmoid_2u(float u) {
  const ExpParts p = exp_parts(-2.0f * __builtin_fabsf(u));  // NaN: taken as -88
  const float big = p.s * p.m + p.s;                            // exp(-|2u|), in [0, 1]
  const float near = 1.0f / (1.0f + big), far = big * near;     // sigmoid(|2u|), sigmoid(-|2u|)
  return u >= 0.0f ? Sigmoids{near, far} : Sigmoids{far, near};
}

CONVNET_MATH_INLINE float tanh_form_u(float v) { return kSqrt2OverPi * (v + kKappa * (v * v * v)); }

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math")))
void tanh_forward_range(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = v * sigmoid_2u(tanh_form_u(v)).s;  // NaN: v * anything
  }
}

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math")))
void tanh_backward_range(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const Sigmoids g = sigmoid_2u(tanh_form_u(v));
    const float du = kSqrt2OverPi * (1.0f + (3.0f * kKappa) * (v * v));
    dx[i] = dy[i] * (g.s + (2.0f * v) * (g.s * g.complement) * du);
  }
}

}  // namespace

void gelu_forward(const Tensor& x, bool tanh_form, const Tensor& y) {
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for(y.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) {
    if (tanh_form) tanh_forward_range(px + begin, py + begin, end - begin);
    else exact_forward_range(px + begin, py + begin, end - begin);
  });
}

void gelu_backward(const Tensor& dy, const Tensor& x, bool tanh_form, const Tensor& dx) {
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdx = dx.f32();
  parallel_for(dx.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) {
    if (tanh_form) tanh_backward_range(pdy + begin, px + begin, pdx + begin, end - begin);
    else exact_backward_range(pdy + begin, px + begin, pdx + begin, end - begin);
  });
}

}  // namespace cpu
}  // namespace convnet
