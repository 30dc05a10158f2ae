// The exhaustive accuracy check of cpu/vec_math.h: exp and log of every one of the 2^32 floats
// on each path this CPU can run, against float64, printing the largest error in ulps (the
// figures quoted in vec_math.h). Not part of the addon (about a minute per path):
//   g++ -O2 -std=c++17 -Inative native/cpu/vec_math.cc native/cpu/vec_math_selftest.cc -o /tmp/vec_math_selftest
//   /tmp/vec_math_selftest
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "cpu/vec_math.h"

using namespace convnet::cpu;

// |got - ref| in units of the float spacing at ref (2^-149 below the normal range); 0 when got
// is ref rounded to float (this covers the infinities and 0), huge for a wrong special value.
static double ulp_error(float got, double ref) {
  if (std::isnan(ref)) return std::isnan(got) ? 0 : 1e9;
  if (got == static_cast<float>(ref)) return 0;
  if (!std::isfinite(got)) return 1e9;
  const double a = std::fabs(ref);
  int e;
  std::frexp(a, &e);  // a in [2^(e-1), 2^e)
  const double ulp = a < std::ldexp(1.0, -126) ? std::ldexp(1.0, -149) : std::ldexp(1.0, e - 24);
  return std::fabs(got - ref) / ulp;
}

int main() {
  const int64_t block = 1 << 20;
  std::vector<float> x(block), y_exp(block), y_log(block);
  int failures = 0;
  for (const char* path : {"avx512", "avx2", "portable"}) {
    if (!vec::force_path(path)) {
      std::printf("%-9s skipped: this CPU cannot run it\n", path);
      continue;
    }
    double worst_exp = 0, worst_log = 0;
    float at_exp = 0, at_log = 0;
    for (uint64_t start = 0; start < (uint64_t{1} << 32); start += block) {
      for (int64_t i = 0; i < block; ++i) {
        const uint32_t bits = static_cast<uint32_t>(start + i);
        std::memcpy(&x[i], &bits, 4);
      }
      vec::exp(x.data(), y_exp.data(), block);
      vec::log(x.data(), y_log.data(), block);
      for (int64_t i = 0; i < block; ++i) {
        const double e = ulp_error(y_exp[i], std::exp(static_cast<double>(x[i])));
        const double l = ulp_error(y_log[i], std::log(static_cast<double>(x[i])));
        if (e > worst_exp) worst_exp = e, at_exp = x[i];
        if (l > worst_log) worst_log = l, at_log = x[i];
      }
    }
    std::printf("%-9s exp: max %.3f ulp (at x = %.9g)   log: max %.3f ulp (at x = %.9g)\n", path, worst_exp, at_exp,
                worst_log, at_log);
    failures += worst_exp > 1.3 || worst_log > 1.0;
  }
  vec::force_path(nullptr);
  return failures ? 1 : 0;
}
