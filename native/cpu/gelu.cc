// GELU (Hendrycks & Gimpel 2016), as torch.nn.functional.gelu, in one pass each way (it was five
// composed ops, 0.58x PyTorch's speed on [32, 196, 1536]). CPU only: the GPU composes it
// (lib/nn/functional/activation.ts).
//
// Exact:  y = x Phi(x);  dx = dy (Phi(x) + x phi(x)),  phi(x) = exp(-x^2/2) / sqrt(2 pi).
//   Phi(x) = erfc(|x|/sqrt2) / 2 for x <= 0 and 1 - erfc(|x|/sqrt2) / 2 above: never PyTorch's
//   1 + erf(x/sqrt2), which cancels below x = -3 (its erf is also only good to 1.5e-7 absolute,
//   so its GELU is off by 2x at x = -5). Here
//     erfc(|x|/sqrt2) = t Q(t) exp(-x^2/2),  t = 1 / (1 + 0.35 |x|),
//   Q of degree 8 fitted for relative error 3e-8 (scripts/gelu_fit.py); exp(-x^2/2) is fdlibm's
//   range reduction on x^2 split exactly by an FMA (x^2 = h + l), so that rounding x^2 (~5e-6
//   relative at |x| = 13) does not reach the result. Q's chain and the exp's do not depend on
//   each other, so a vector loop runs them side by side; the backward gets the density from the
//   same exp. Within 3.37 ulp (2^-23 of the value) of float64 over every float of [-14, 7] (a
//   one-off sweep, bench/JOURNAL.md session 64; 3.78 before Q went to Horner's order; the
//   test's sweep and gelu_fit.py's emulation re-check it), the worst near 0 where erfc's slope
//   turns t's rounding into ~2.3x that; the gradient within 4.2 of its terms' size
//   (test/nn-gelu-hardswish.test.ts). Past |x| = 13.15 erfc(|x|/sqrt2) and |x| phi(x) are taken
//   as 0: y = x or -0, the density 0 (so +-inf give PyTorch's NaN gradient).
//   This replaced Numerical Recipes' t exp(-a^2 + P(t)) with the exponent in two floats (within
//   3.8 ulp, a dependent chain of ~110 cycles a vector), JOURNAL.md session 50. The forward has
//   an AVX-512 form in intrinsics (below): the loop is bound by the FMA units, and vscalefps
//   does the scaling by 2^k in one instruction.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/thread_pool.h"
#include "cpu/cpu_features.h"
#include "cpu/inline_math.h"
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CONVNET_GELU_AVX512 1
#include <immintrin.h>
#else
#define CONVNET_GELU_AVX512 0
#endif

namespace convnet {
namespace cpu {
namespace {

constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kSqrt2OverPi = 0.79788456080286536f;  // PyTorch's kBeta (M_SQRT2 * M_2_SQRTPI * 0.5)
constexpr float kKappa = 0.044715f;

// scripts/gelu_fit.py
constexpr float kQ = 0.35f;
constexpr float kQc[] = {-5.822784081e-02f, 2.876264751e-01f, -5.107611418e-01f, 3.175698221e-01f, -4.567107558e-02f,
                         2.107777148e-01f, 2.397278249e-01f, 2.797148824e-01f, 2.792433202e-01f};  // t^8 .. t^0
constexpr float kEc[] = {1.380880829e-03f, 8.371496573e-03f, 4.166866839e-02f, 1.666649729e-01f, 4.999999106e-01f};  // r^6 .. r^2
constexpr float kAbsXMax = 13.15f;  // beyond, erfc(|x|/sqrt2) < 2e-39 and |x| phi(x) < 2e-37 are taken as 0 (2^k stays normal)

// The parts of Phi(-|x|) = erfc(|x|/sqrt2) / 2 = t Q(t)/2 exp(-x^2/2), x clamped to 13.15 (NaN
// taken as 13.15: callers keep NaN through x): exp(-x^2/2) = s (1 + m), s = 2^k, and tq = t Q(t)/2
// (Q's coefficients halved, exactly, so that the halving costs no multiply). Q in Horner's order:
// 8 FMAs, where Estrin's order (a shorter chain) took 11 operations; the loops are bound by the
// FMA units' throughput, not by latency, so Horner's was 6% faster (and no less accurate).
struct GaussParts {
  float tq, s, m;
};

CONVNET_MATH_INLINE float half_q(float t) {
  float q = 0.5f * kQc[0];
  q = __builtin_fmaf(q, t, 0.5f * kQc[1]);
  q = __builtin_fmaf(q, t, 0.5f * kQc[2]);
  q = __builtin_fmaf(q, t, 0.5f * kQc[3]);
  q = __builtin_fmaf(q, t, 0.5f * kQc[4]);
  q = __builtin_fmaf(q, t, 0.5f * kQc[5]);
  q = __builtin_fmaf(q, t, 0.5f * kQc[6]);
  q = __builtin_fmaf(q, t, 0.5f * kQc[7]);
  return __builtin_fmaf(q, t, 0.5f * kQc[8]);
}

CONVNET_MATH_INLINE GaussParts gauss_parts(float x) {
  const float ax = __builtin_fabsf(x) < kAbsXMax ? __builtin_fabsf(x) : kAbsXMax;
  const float t = 1.0f / __builtin_fmaf(kQ, ax, 1.0f);
  // -x^2/2 = -(h + l)/2 = k ln2 + r, |r| <= ln2/2; k >= -125 for |x| <= 13.15
  const float h = ax * ax, l = __builtin_fmaf(ax, ax, -h);
  const float kf = __builtin_fmaf(h, -0.5f * 1.44269504088896341f, 12582912.0f) - 12582912.0f;
  float r = __builtin_fmaf(-kf, 0.693145751953125f, -0.5f * h);  // ln2's high part: k times it is exact
  r = __builtin_fmaf(-kf, 1.428606765330187e-6f, r);
  r = __builtin_fmaf(-0.5f, l, r);
  const float r2 = r * r;
  const float e = __builtin_fmaf(__builtin_fmaf(kEc[0], r2, __builtin_fmaf(kEc[1], r, kEc[2])), r2, __builtin_fmaf(kEc[3], r, kEc[4]));
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(kf) + 127) << 23;
  float s;
  std::memcpy(&s, &bits, sizeof s);
  return {t * half_q(t), s, __builtin_fmaf(e, r2, r)};
}

// y = x Phi(x): x - x Phi(-x) above 0, in one rounding (x clamped: +inf times a 0 lower tail
// would be NaN), else x Phi(-|x|).
CONVNET_MATH_INLINE float gelu_from_lower(float v, float lower) {
  return v > 0.0f ? __builtin_fmaf(-(v < kAbsXMax ? v : kAbsXMax), lower, v) : v * lower;
}

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math")))
void exact_forward_range(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const GaussParts g = gauss_parts(v);
    const float tqs = g.tq * g.s;
    y[i] = gelu_from_lower(v, __builtin_fabsf(v) < kAbsXMax ? __builtin_fmaf(tqs, g.m, tqs) : 0.0f);
  }
}

#if CONVNET_GELU_AVX512
// The forward again in AVX-512 intrinsics: the same steps, but k = round(-x^2/2 log2(e)) by
// vrndscaleps and the scaling by 2^k by vscalefps (one instruction where the portable form takes
// four: convert, add the bias, shift, multiply), the tail of the row by masked loads and stores.
// [8, 96, 55, 55] at 2 threads on a Zen 4 (AVX-512 on 256-bit units): 0.63 ms against the
// cloned loop's 0.72 and PyTorch's 0.78 (bench/JOURNAL.md, session 64).
#define CONVNET_GELU_AVX512_FN __attribute__((target("avx512f"))) static
// GCC 12 warns, wrongly, that the _mm512_undefined_ps() inside its own intrinsics is used
// uninitialized (GCC bug 105593), as in gemm.cc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
__attribute__((target("avx512f"), always_inline)) static inline __m512 exact_forward16(__m512 v) {
  const __m512 absmax = _mm512_set1_ps(kAbsXMax);
  const __m512 av = _mm512_abs_ps(v);
  const __m512 ax = _mm512_min_ps(av, absmax);  // NaN: 13.15 (vminps gives its second operand)
  const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(kQ), ax, _mm512_set1_ps(1.0f)));
  __m512 q = _mm512_set1_ps(0.5f * kQc[0]);
  for (int i = 1; i < 9; ++i) q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(0.5f * kQc[i]));
  const __m512 h = _mm512_mul_ps(ax, ax), l = _mm512_fmsub_ps(ax, ax, h);
  const __m512 kf = _mm512_roundscale_ps(_mm512_mul_ps(h, _mm512_set1_ps(-0.5f * 1.44269504088896341f)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(kf, _mm512_set1_ps(0.693145751953125f), _mm512_mul_ps(_mm512_set1_ps(-0.5f), h));
  r = _mm512_fnmadd_ps(kf, _mm512_set1_ps(1.428606765330187e-6f), r);
  r = _mm512_fmadd_ps(_mm512_set1_ps(-0.5f), l, r);
  const __m512 r2 = _mm512_mul_ps(r, r);
  const __m512 e = _mm512_fmadd_ps(
      _mm512_fmadd_ps(_mm512_set1_ps(kEc[0]), r2, _mm512_fmadd_ps(_mm512_set1_ps(kEc[1]), r, _mm512_set1_ps(kEc[2]))), r2,
      _mm512_fmadd_ps(_mm512_set1_ps(kEc[3]), r, _mm512_set1_ps(kEc[4])));
  const __m512 m = _mm512_fmadd_ps(e, r2, r);
  const __m512 tq = _mm512_mul_ps(t, q);
  const __mmask16 inside = _mm512_cmp_ps_mask(av, absmax, _CMP_LT_OQ);
  const __m512 lower = _mm512_maskz_scalef_ps(inside, _mm512_fmadd_ps(tq, m, tq), kf);  // Phi(-|v|), 0 outside
  const __mmask16 positive = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
  const __m512 below = _mm512_mul_ps(v, lower);
  const __m512 above = _mm512_fnmadd_ps(_mm512_min_ps(v, absmax), lower, v);
  return _mm512_mask_mov_ps(below, positive, above);
}

CONVNET_GELU_AVX512_FN void exact_forward_avx512(const float* __restrict x, float* __restrict y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exact_forward16(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 rest = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, rest, exact_forward16(_mm512_maskz_loadu_ps(rest, x + i)));
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // CONVNET_GELU_AVX512

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math")))
void exact_backward_range(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const GaussParts g = gauss_parts(v);
    const bool inside = __builtin_fabsf(v) < kAbsXMax;
    const float density = inside ? __builtin_fmaf(g.s, g.m, g.s) : 0.0f;  // exp(-v^2/2)
    const float lower = g.tq * density;                                    // Phi(-|v|)
    const float cdf = v > 0.0f ? 1.0f - lower : lower;
    dx[i] = dy[i] * __builtin_fmaf(v * kInvSqrt2Pi, density, cdf);
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
#if CONVNET_GELU_AVX512
  if (!tanh_form && cpu_has_avx512()) return each_pointwise_range(x, y, exact_forward_avx512);
#endif
  each_pointwise_range(x, y, tanh_form ? tanh_forward_range : exact_forward_range);
}

void gelu_backward(const Tensor& dy, const Tensor& x, bool tanh_form, const Tensor& dx) {
  each_pointwise_range(dy, x, dx, tanh_form ? tanh_backward_range : exact_backward_range);
}

}  // namespace cpu
}  // namespace convnet
