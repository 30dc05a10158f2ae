// special_math.h's shortcuts against the longer forms they replace, counting the float32 results
// that differ (the figures quoted there): erfinv with one Newton step against PyTorch's two over
// every 7th float of (-1, 1) (0 of 304M when written), digamma's recurrence summed as one
// fraction against term by term over every 13th finite float, both signs (1 of 329M, by an ulp).
// Not part of the addon (about 40 s):
//   g++ -O2 -std=c++17 -Inative native/cpu/special_math_selftest.cc -o /tmp/special_math_selftest && /tmp/special_math_selftest
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "cpu/special_math.h"

// special::erfinv and one more Newton step (PyTorch's second).
static double erfinv_two_steps(double y) {
  const double x = convnet::special::erfinv(y);
  if (!std::isfinite(x)) return x;
  return x - (std::erf(x) - y) / (1.12837916709551257390 * std::exp(-x * x));
}

// digamma with its recurrence term by term (PyTorch's calc_digamma, in double).
static double digamma_term_by_term(double x) {
  using convnet::special::kPi;
  if (x == 0) return std::copysign(INFINITY, -x);
  double result = 0;
  if (x < 0) {
    if (x == std::floor(x)) return NAN;
    result = -kPi / std::tan(kPi * (x - std::trunc(x)));
    x = 1 - x;
  }
  while (x < 10) {
    result -= 1 / x;
    x += 1;
  }
  if (x == 10) return result + 2.25175258906672110764;
  double series = 0;
  if (x < 1.0e17) {
    const double z = 1 / (x * x);
    series = z * ((((((8.33333333333333333333E-2 * z - 2.10927960927960927961E-2) * z + 7.57575757575757575758E-3) * z -
                     4.16666666666666666667E-3) * z + 3.96825396825396825397E-3) * z - 8.33333333333333333333E-3) * z +
                  8.33333333333333333333E-2);
  }
  return result + std::log(x) - 0.5 / x - series;
}

int main() {
  long count = 0, differ = 0;
  for (uint32_t bits = 0; bits < 0x3f800000u; bits += 7) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    for (const float v : {f, -f}) {
      const float one = static_cast<float>(convnet::special::erfinv(v)), two = static_cast<float>(erfinv_two_steps(v));
      ++count;
      if (one != two && ++differ <= 5) std::printf("differ at %.9g: %.9g (one step) vs %.9g (two)\n", v, one, two);
    }
  }
  std::printf("erfinv: %ld floats, %ld float32 results differ between one and two Newton steps\n", count, differ);
  long count_d = 0, differ_d = 0;
  for (uint32_t bits = 0; bits < 0x7f800000u; bits += 13) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    for (const float v : {f, -f}) {
      const float one = static_cast<float>(convnet::special::digamma(v)), old = static_cast<float>(digamma_term_by_term(v));
      ++count_d;
      if (one != old && !(one != one && old != old) && ++differ_d <= 5) std::printf("digamma differs at %.9g: %.9g vs %.9g\n", v, one, old);
    }
  }
  std::printf("digamma: %ld floats, %ld float32 results differ between the summed fraction and term by term\n", count_d, differ_d);
  return differ + differ_d <= 1 ? 0 : 1;
}
