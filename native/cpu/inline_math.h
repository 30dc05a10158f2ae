// expm1 and exp for x <= 0, tanh, sigmoid, log1p on [0, 1] and softplus, written so that a loop
// calling them vectorises (no branches, no library call): ELU's negative side (elu.cc), tanh
// (tanh.cc), SiLU, Mish and softplus (silu.cc, ...) use them inside loops compiled for AVX2 and
// AVX-512 (simd_clones.h). std::expm1 and std::tanh are scalar calls per element:
// ELU ran at 0.07x PyTorch's speed on [8, 96, 55, 55], tanh at 0.13x.
//
// Accuracy against float64 over every float (native/cpu/inline_math_selftest.cc; the same bounds
// with the FMA contraction of the AVX2 and AVX-512 clones, within 0.05 ulp):
//   expm1_nonpositive on [-88, 0]: at most 0.88 ulp;
//   tanh_value: at most 0.85 ulp for |x| < 0.55, 1.51 ulp above (0.6 ulp above 2, where
//   tanh's backward 1 - y^2 is most sensitive to y);
//   log1p_unit on [0, 1]: at most 0.86 ulp; on [-104, 104] (subnormal results included)
//   softplus_value at most 1.64 ulp, sigmoid_value 2.40.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace convnet {
namespace cpu {

// Forced inline: GCC keeps a plain inline function out of line in the Haswell clones (another
// target), a call per element in a loop that should be vector code (simd_clones.h).
#define CONVNET_MATH_INLINE inline __attribute__((always_inline))

// exp(x) = s * (1 + m) and expm1(x) = s * m + (s - 1) for x <= 0, with s = 2^k, m = expm1(r),
// x = k ln2 + r, |r| <= ln2 / 2 (fdlibm's method, as Sleef's). m is r's Taylor series to r^8
// (truncation below 1e-8 relative on that interval), so for k = 0 (|x| < 0.35) expm1 is the
// series itself and stays accurate relative to x near 0, where exp(x) - 1 would cancel.
// x <= -88 (and -inf) is taken as -88, where s = +0: exp gives 0 and expm1 -1, as they round in
// float (subnormal exps are flushed: callers only add them to 1). x > 0 (lanes a vector loop
// computes but does not use) is taken as 0, NaN as -88: callers select those out. (NaN as NaN,
// with k then forced to 0, made GCC evaluate the polynomial twice, on r and on x, in the vector
// loops: ELU's forward [8, 96, 55, 55] at 1 thread, session 49.)
struct ExpParts {
  float s, m;
};

// exp(x) = 2^k (1 + m) for x already in [-104, 0]: k (a whole number, as a float) and m.
struct ExpReduced {
  float k, m;
};

// expm1(r) for |r| <= ln2 / 2: the Taylor series to r^8.
CONVNET_MATH_INLINE float expm1_reduced(float r) {
  float p = 1.0f / 40320;
  p = p * r + 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  return r + (r * r) * p;
}

CONVNET_MATH_INLINE ExpReduced exp_reduce(float xc) {
  // k = round(x / ln2) by the 1.5 * 2^23 trick (exact for |k| < 2^22; no float-to-int rounding call)
  const float kf = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  // r = x - k ln2 in two steps (ln2's high part has 12 zero low bits, so k * hi is exact)
  const float r = (xc - kf * 0.693145751953125f) - kf * 1.428606765330187e-6f;
  return {kf, expm1_reduced(r)};
}

// 2^k from its bits, for a whole k in [-127, 127] (k = -127 gives the bits of +0).
CONVNET_MATH_INLINE float pow2_of(float kf) {
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(kf) + 127) << 23;
  float s;
  std::memcpy(&s, &bits, sizeof s);
  return s;
}

CONVNET_MATH_INLINE ExpParts exp_parts(float x) {
  const float xc = x >= -88.0f ? (x > 0.0f ? 0.0f : x) : -88.0f;  // NaN: -88 (comparisons are false)
  const ExpReduced e = exp_reduce(xc);
  return {pow2_of(e.k), e.m};
}

// 2^k (1 + m) for a whole k in [-150, 0], subnormal results included (built as 2^(k + 64) 2^-64
// below 2^-126, so that the one rounding is the last multiply's).
CONVNET_MATH_INLINE float pow2_scaled(float kf, float m) {
  const bool tiny = kf < -126.0f;
  const float s = pow2_of(tiny ? kf + 64.0f : kf);
  return (s * m + s) * (tiny ? 0x1p-64f : 1.0f);
}

// exp(x) for x <= 0, subnormal results included: exp_parts's accuracy down to -87, then the one
// rounding to a subnormal; 0 below -104 and for -inf. x > 0 is taken as 0, NaN as -104: callers
// select those out.
CONVNET_MATH_INLINE float exp_nonpositive(float x) {
  const float xc = x >= -104.0f ? (x > 0.0f ? 0.0f : x) : -104.0f;
  const ExpReduced e = exp_reduce(xc);
  return pow2_scaled(e.k, e.m);
}

// 2^x for x <= 0, subnormal results included: x = k + f with k = round(x) and f exact, 2^f =
// exp(f ln2) with one rounding in f ln2 (|f ln2| <= 0.35, so within ~0.6 ulp). exp_nonpositive(x
// ln2) would round x ln2 itself, an error that grows with |x| (30 ulp at x = -99). 0 below -150
// and for -inf; x > 0 is taken as 0, NaN as -150: callers select those out.
CONVNET_MATH_INLINE float exp2_nonpositive(float x) {
  const float xc = x >= -150.0f ? (x > 0.0f ? 0.0f : x) : -150.0f;
  const float kf = (xc + 12582912.0f) - 12582912.0f;
  return pow2_scaled(kf, expm1_reduced((xc - kf) * 0.693147180559945309f));
}

// expm1(x) for x <= 0; x = -0 and NaN are returned as they are.
CONVNET_MATH_INLINE float expm1_nonpositive(float x) {
  const ExpParts e = exp_parts(x);
  const float result = e.s * e.m + (e.s - 1.0f);
  return x < 0.0f ? result : x;
}

// P(v^2) with erf(v) = v P(v^2) for |v| < 1/2 (elementwise.cc's erf and erfc, gelu.cc), explicit FMAs.
CONVNET_MATH_INLINE float erf_small_poly(float v2) {
  float p = -7.706719334e-04f;
  p = __builtin_fmaf(p, v2, 5.201227963e-03f);
  p = __builtin_fmaf(p, v2, -2.686333843e-02f);
  p = __builtin_fmaf(p, v2, 1.128377616e-01f);
  p = __builtin_fmaf(p, v2, -3.761263788e-01f);
  return __builtin_fmaf(p, v2, 1.128379226e+00f);
}

// tanh(x): for |x| < 0.55 x + x^3 P(x^2) (P of degree 4, fitted for relative error 1e-9 on that
// interval); above, 1 - 2e / (1 + e) with e = exp(-2|x|), which has no cancellation there; the
// sign copied from x. tanh(+-inf) = +-1, tanh(-0) = -0, NaN is returned as it is.
CONVNET_MATH_INLINE float tanh_value(float x) {
  const float a = __builtin_fabsf(x);  // builtins: std::fabs is a function GCC may keep out of line in a clone
  const float z = a * a;
  float q = -0.006270988378673792f;
  q = q * z + 0.02106943167746067f;
  q = q * z - 0.05385177955031395f;
  q = q * z + 0.13332581520080566f;
  q = q * z - 0.33333316445350647f;
  const float small = a + (a * z) * q;
  const ExpParts p = exp_parts(-2.0f * a);
  const float e = p.s * p.m + p.s;
  const float large = 1.0f - 2.0f * e / (1.0f + e);
  const float y = __builtin_copysignf(a < 0.55f ? small : large, x);
  return x == x ? y : x + x;  // NaN (quieted, as arithmetic on it would): exp_parts took it as -88
}

// exp(-|x|) in [0, 1], for the stable forms of sigmoid and softplus. NaN gives a number: callers
// select NaN back in.
CONVNET_MATH_INLINE float exp_neg_abs(float x) { return exp_nonpositive(-__builtin_fabsf(x)); }

// sigmoid(x) = 1 / (1 + exp(-x)), as (x >= 0 ? 1 : e) / (1 + e) with e = exp(-|x|), which never
// overflows (vec::sigmoid's form). NaN stays NaN.
CONVNET_MATH_INLINE float sigmoid_value(float x) {
  const float e = exp_neg_abs(x);
  const float y = (x >= 0.0f ? 1.0f : e) / (1.0f + e);
  return x == x ? y : x + x;
}

// log1p(e) for e in [0, 1] (softplus's tail, log1p(exp(-|x|))): u = 1 + e rounded, u = 2^k (1 + f)
// with f in [sqrt(1/2) - 1, sqrt(2) - 1) (k is 0 or 1; f is exact), log1p(f) by fdlibm's logf
// (s = f / (2 + f) and its polynomial in s^2), plus the error of the rounding of u, (e - (u - 1)) / u,
// as fdlibm's log1p adds it. Not for e outside [0, 1] (u - 1 and f are exact only there).
CONVNET_MATH_INLINE float log1p_unit(float e) {
  const float u = 1.0f + e;
  const bool upper = u > 1.41421356f;
  const float k = upper ? 1.0f : 0.0f;
  const float f = (upper ? 0.5f * u : u) - 1.0f;
  const float c = (e - (u - 1.0f)) / u;
  const float s = f / (2.0f + f);
  const float z = s * s, w = z * z;
  const float r = z * (0.66666662693f + w * 0.28498786688f) + w * (0.40000972152f + w * 0.24279078841f);
  const float hfsq = 0.5f * f * f;
  return k * 0.693145751953125f - ((hfsq - (s * (hfsq + r) + (k * 1.428606765330187e-6f + c))) - f);
}

// softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): no overflow, and x itself to
// float precision past x = 17. softplus(-inf) = 0, softplus(+inf) = +inf, NaN stays NaN.
CONVNET_MATH_INLINE float softplus_value(float x) {
  const float y = (x > 0.0f ? x : 0.0f) + log1p_unit(exp_neg_abs(x));
  return x == x ? y : x + x;
}

// log(v) in float64 for a float v, as a vector loop can call it (log2, log10 and xlogy in
// elementwise.cc): v = 2^e m with m in [sqrt(1/2), sqrt(2)) (subnormals scaled by 2^23 first),
// log(m) = 2 atanh(s) with s = (m - 1) / (m + 1), |s| <= 0.1716, by its series to s^13 (the next
// term is below 1.3e-12 relative), and e ln2 added in float64. Within 1e-12 relative of log(v),
// so a float result from it is correctly rounded but within 2^-40 of a tie, and whole where the
// answer is (log10(1000) = 3, log2(2^-149) = -149, log(1) = 0). log(+-0) = -inf, log(v < 0) =
// NaN, log(+inf) = +inf, NaN stays NaN.
CONVNET_MATH_INLINE double log_double(float v) {
  const bool subnormal = v < 0x1p-126f;
  const float scaled = subnormal ? v * 0x1p23f : v;
  int32_t bits;
  std::memcpy(&bits, &scaled, sizeof bits);
  const int32_t offset = bits - 0x3f3504f3;  // 0x3f3504f3 is sqrt(1/2)'s bits
  const int32_t mbits = (offset & 0x7fffff) + 0x3f3504f3;
  float m;
  std::memcpy(&m, &mbits, sizeof m);
  const double e = static_cast<double>((offset >> 23) - (subnormal ? 23 : 0));
  const double dm = m;
  const double s = (dm - 1.0) / (dm + 1.0), z = s * s;
  const double p = z * (1.0 / 3 + z * (1.0 / 5 + z * (1.0 / 7 + z * (1.0 / 9 + z * (1.0 / 11 + z * (1.0 / 13))))));
  const double r = e * 0.693147180559945309417 + (2.0 * s + 2.0 * s * p);
  const bool regular = (v > 0.0f) & (v < __builtin_inff());
  return regular ? r : (v == 0.0f ? -__builtin_inf() : (v < 0.0f ? __builtin_nan("") : static_cast<double>(v)));
}

}  // namespace cpu
}  // namespace convnet
