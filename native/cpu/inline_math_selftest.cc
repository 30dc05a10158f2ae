// The accuracy of cpu/inline_math.h against float64, over every float in [-88, 0] for
// expm1_nonpositive, every float in [0, 88] for tanh_value (odd), every float in [0, 1] for
// log1p_unit and every float in [-104, 104] for softplus_value and sigmoid_value, printing the
// largest error in ulps (the figures quoted in inline_math.h). Not part of the addon (minutes):
//   g++ -O2 -std=c++17 -Inative native/cpu/inline_math_selftest.cc -o /tmp/inline_math_selftest && /tmp/inline_math_selftest
//   g++ -O2 -std=c++17 -mavx2 -mfma -Inative native/cpu/inline_math_selftest.cc -o /tmp/inline_math_fma && /tmp/inline_math_fma
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "cpu/inline_math.h"

using convnet::cpu::expm1_nonpositive;
using convnet::cpu::log1p_unit;
using convnet::cpu::sigmoid_value;
using convnet::cpu::softplus_value;
using convnet::cpu::tanh_value;

// |got - ref| in units of the float spacing at ref.
static double ulp_error(float got, double ref) {
  if (got == static_cast<float>(ref)) return 0;
  const double a = std::fabs(ref);
  int e;
  std::frexp(a, &e);
  const double ulp = a < std::ldexp(1.0, -126) ? std::ldexp(1.0, -149) : std::ldexp(1.0, e - 24);
  return std::fabs(got - ref) / ulp;
}

static float from_bits(uint32_t bits) {
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

int main() {
  double worst_e = 0, worst_small = 0, worst_large = 0, worst_above2 = 0;
  float at_e = 0, at_small = 0, at_large = 0;
  for (uint32_t bits = 0x80000000u; bits <= 0xC2B00000u; ++bits) {  // -0 .. -88
    const float x = from_bits(bits);
    const double e = ulp_error(expm1_nonpositive(x), std::expm1(static_cast<double>(x)));
    if (e > worst_e) worst_e = e, at_e = x;
  }
  for (uint32_t bits = 0; bits <= 0x42B00000u; ++bits) {  // 0 .. 88
    const float x = from_bits(bits);
    const double t = ulp_error(tanh_value(x), std::tanh(static_cast<double>(x)));
    if (x < 0.55f && t > worst_small) worst_small = t, at_small = x;
    if (x >= 0.55f && t > worst_large) worst_large = t, at_large = x;
    if (x >= 2.0f && t > worst_above2) worst_above2 = t;
  }
  double worst_log1p = 0, worst_softplus = 0, worst_sigmoid = 0;
  float at_log1p = 0, at_softplus = 0, at_sigmoid = 0;
  for (uint32_t bits = 0; bits <= 0x3F800000u; ++bits) {  // 0 .. 1
    const float e = from_bits(bits);
    const double l = ulp_error(log1p_unit(e), std::log1p(static_cast<double>(e)));
    if (l > worst_log1p) worst_log1p = l, at_log1p = e;
  }
  for (uint32_t bits = 0; bits <= 0x42D00000u; ++bits) {  // +-(0 .. 104)
    for (const float x : {from_bits(bits), -from_bits(bits)}) {
      const double xd = x;
      const double sp = ulp_error(softplus_value(x), xd > 0 ? xd + std::log1p(std::exp(-xd)) : std::log1p(std::exp(xd)));
      if (sp > worst_softplus) worst_softplus = sp, at_softplus = x;
      const double sg = ulp_error(sigmoid_value(x), 1.0 / (1.0 + std::exp(-xd)));
      if (sg > worst_sigmoid) worst_sigmoid = sg, at_sigmoid = x;
    }
  }
  std::printf("log1p on [0, 1]: at most %.2f ulp (at %a)\n", worst_log1p, at_log1p);
  std::printf("softplus on [-104, 104]: at most %.2f ulp (at %a)\n", worst_softplus, at_softplus);
  std::printf("sigmoid on [-104, 104]: at most %.2f ulp (at %a)\n", worst_sigmoid, at_sigmoid);
  std::printf("expm1 on [-88, 0]: at most %.2f ulp (at %a)\n", worst_e, at_e);
  std::printf("tanh on [0, 0.55): at most %.2f ulp (at %a); [0.55, 88]: %.2f ulp (at %a); [2, 88]: %.2f ulp\n", worst_small,
              at_small, worst_large, at_large, worst_above2);
  const float specials[] = {-INFINITY, -1000.0f, -88.0f, -87.9f, -1e-30f, -0.0f, 0.0f, 1e-30f, 88.0f, INFINITY, NAN};
  for (const float x : specials)
    std::printf("x = %g: expm1 %g, tanh %g\n", x, x <= 0 || x != x ? expm1_nonpositive(x) : NAN, tanh_value(x));
  return 0;
}
