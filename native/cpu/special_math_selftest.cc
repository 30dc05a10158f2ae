// special_math.h's erfinv with one Newton step against the same with PyTorch's two, over every
// 7th float of (-1, 1) (both signs): the count of float32 results that differ (0 when written,
// the figure quoted in special_math.h). Not part of the addon (about 15 s):
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
  return differ == 0 ? 0 : 1;
}
