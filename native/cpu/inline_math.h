// expm1 for x <= 0 and tanh, written so that a loop calling them vectorises (no branches, no
// library call): ELU's negative side (elu.cc) and tanh (tanh.cc) use them inside loops compiled
// for AVX2 and AVX-512 (simd_clones.h). std::expm1 and std::tanh are scalar calls per element:
// ELU ran at 0.07x PyTorch's speed on [8, 96, 55, 55], tanh at 0.13x.
//
// Accuracy against float64 over every float (native/cpu/inline_math_selftest.cc; the same bounds
// with the FMA contraction of the AVX2 and AVX-512 clones, within 0.05 ulp):
//   expm1_nonpositive on [-88, 0]: at most 0.88 ulp;
//   tanh_value: at most 0.85 ulp for |x| < 0.55, 1.51 ulp above (0.6 ulp above 2, where
//   tanh's backward 1 - y^2 is most sensitive to y).
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

CONVNET_MATH_INLINE ExpParts exp_parts(float x) {
  const float xc = x >= -88.0f ? (x > 0.0f ? 0.0f : x) : -88.0f;  // NaN: -88 (comparisons are false)
  // k = round(x / ln2) by the 1.5 * 2^23 trick (exact for |k| < 2^22; no float-to-int rounding call)
  const float kf = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  // r = x - k ln2 in two steps (ln2's high part has 12 zero low bits, so k * hi is exact)
  const float r = (xc - kf * 0.693145751953125f) - kf * 1.428606765330187e-6f;
  float p = 1.0f / 40320;
  p = p * r + 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  // 2^k from its bits; k >= -127 here (k = -127 gives the bits of +0)
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(kf) + 127) << 23;
  float s;
  std::memcpy(&s, &bits, sizeof s);
  return {s, r + (r * r) * p};
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

}  // namespace cpu
}  // namespace convnet
