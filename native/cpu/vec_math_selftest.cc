// The exhaustive accuracy check of cpu/vec_math.h: exp, log, sin, cos and expm1 of every one of the 2^32 floats
// on each path this CPU can run, against float64, printing the largest error in ulps (the
// figures quoted in vec_math.h). Not part of the addon (minutes per function and path; sin and
// cos the longest, their float64 references of huge arguments being slow):
//   g++ -O2 -std=c++17 -Inative native/cpu/vec_math.cc native/cpu/cpu_features.cc native/cpu/vec_math_selftest.cc -o /tmp/vec_math_selftest
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

// The largest error of f (a vec_math array function) against ref over every float, in ulps.
struct Worst {
  double ulp = 0;
  float at = 0;
};

int main() {
  const int64_t block = 1 << 20;
  std::vector<float> x(block), y(block);
  struct Fn {
    const char* name;
    void (*f)(const float*, float*, int64_t);
    double (*ref)(double);
    double bound;  // the SIMD paths' (the portable one is glibc's: 1 ulp)
  };
  const Fn fns[] = {
      {"exp", vec::exp, [](double v) { return std::exp(v); }, 1.3},
      {"log", vec::log, [](double v) { return std::log(v); }, 1.0},
      {"sin", vec::sin, [](double v) { return std::sin(v); }, 0.6},
      {"cos", vec::cos, [](double v) { return std::cos(v); }, 0.6},
      {"expm1", vec::expm1, [](double v) { return std::expm1(v); }, 0.64},
  };
  int failures = 0;
  for (const char* path : {"avx512", "avx2", "portable"}) {
    if (!vec::force_path(path)) {
      std::printf("%-9s skipped: this CPU cannot run it\n", path);
      continue;
    }
    for (const Fn& fn : fns) {
      Worst worst;
      for (uint64_t start = 0; start < (uint64_t{1} << 32); start += block) {
        for (int64_t i = 0; i < block; ++i) {
          const uint32_t bits = static_cast<uint32_t>(start + i);
          std::memcpy(&x[i], &bits, 4);
        }
        fn.f(x.data(), y.data(), block);
        for (int64_t i = 0; i < block; ++i) {
          const double e = ulp_error(y[i], fn.ref(static_cast<double>(x[i])));
          if (e > worst.ulp) worst.ulp = e, worst.at = x[i];
        }
      }
      std::printf("%-9s %-6s max %.3f ulp (at x = %.9g)\n", path, fn.name, worst.ulp, worst.at);
      const double bound = std::strcmp(path, "portable") == 0 ? 1.0 : fn.bound;
      failures += worst.ulp > bound;
    }
  }
  vec::force_path(nullptr);
  return failures ? 1 : 0;
}
