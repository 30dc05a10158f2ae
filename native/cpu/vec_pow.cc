// vec::pow_positive: x^e for positive normal floats x and a finite e, as exp(e ln x) in float64,
// vectorised (simd_clones.h), so that pow with a scalar exponent other than those with a
// shortcut (2, 0.5: elementwise.cc) is not a libm call per element.
//
// ln x: x = m 2^k with m in [sqrt(1/2), sqrt(2)) (from the float's bits), ln m = 2 atanh(s) for
// s = (m - 1) / (m + 1), |s| <= 0.1716, by its series to s^15 (truncation under 1e-15). exp z: z =
// j ln 2 + r with ln 2 in two parts (Cody-Waite), |r| <= 0.347, by Taylor to r^12, times 2^j built
// from its bits. z is clamped to [-110, 90], past which the float result is 0 or inf anyway. The
// float64 result is within about 1e-15 of x^e relative, so rounding it to float gives the
// correctly rounded value except where x^e lies that close to a midpoint between floats: against
// x^e in long double, one difference in 8 million values (every positive normal float's bits
// and [0.001, 4), exponents 2.5, 0.75, -1.5, 3.3, 1/3, 7, -0.1, 2.2, 100); glibc's powf differed
// from it in 3,000-5,400 of them. A result that is a float (3^3) comes out exact. The operations
// are IEEE float64 ones without contraction, so every clone gives the same bits.
// 1M values on one thread: 2.7-2.9 ms, glibc's powf 4.6-6.2 (18.6 at e = 100).
#include <cstdint>
#include <cstring>

#include "cpu/simd_clones.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {
namespace vec {
namespace {

// The series' coefficients, highest power first: 1 / (2i + 1) for atanh's, 1 / i! for exp's.
constexpr double kAtanhSeries[] = {1.0 / 15, 1.0 / 13, 1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3, 1.0};
constexpr double kExpTaylor[] = {1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320,
                                 1.0 / 5040,      1.0 / 720,      1.0 / 120,     1.0 / 24,     1.0 / 6,
                                 0.5,             1.0,            1.0};

}  // namespace

__attribute__((optimize("fp-contract=off", "no-trapping-math"))) CONVNET_SIMD_CLONES
void pow_positive(const float* __restrict x, float exponent, float* __restrict y, int64_t n) {
  const double e = exponent;
  constexpr double kLn2 = 0x1.62e42fefa39efp-1, kLn2Hi = 0x1.62e42fee00000p-1, kLn2Lo = 0x1.a39ef35793c76p-33;
  constexpr double kInvLn2 = 0x1.71547652b82fep0, kRound = 0x1.8p52;  // (v + kRound) - kRound: v to an integer
  for (int64_t i = 0; i < n; ++i) {
    int32_t bits;
    std::memcpy(&bits, &x[i], sizeof bits);
    // m: the mantissa with the exponent of 1, halved (and k one more) above sqrt(2)'s mantissa
    const int32_t big = (bits & 0x7fffff) > 0x3504f3;
    const int32_t k = ((bits >> 23) & 0xff) - 127 + big;
    const int32_t m_bits = (bits & 0x7fffff) | (0x3f800000 - (big << 23));
    float m_float;
    std::memcpy(&m_float, &m_bits, sizeof m_float);
    const double m = m_float;
    const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
    double p = 0.0;  // 1 + s2 / 3 + s2^2 / 5 + ... + s2^7 / 15, by Horner
#pragma GCC unroll 16
    for (const double c : kAtanhSeries) p = p * s2 + c;
    double z = e * (static_cast<double>(k) * kLn2 + 2.0 * s * p);
    z = z > 90.0 ? 90.0 : z;
    z = z < -110.0 ? -110.0 : z;
    const double j = (z * kInvLn2 + kRound) - kRound;
    const double r = (z - j * kLn2Hi) - j * kLn2Lo;
    double q = 0.0;  // 1 + r + r^2 / 2 + ... + r^12 / 12!, by Horner
#pragma GCC unroll 16
    for (const double c : kExpTaylor) q = q * r + c;
    const int64_t scale_bits = static_cast<int64_t>(static_cast<int32_t>(j) + 1023) << 52;  // 2^j
    double scale;
    std::memcpy(&scale, &scale_bits, sizeof scale);
    y[i] = static_cast<float>(q * scale);
  }
}

}  // namespace vec
}  // namespace cpu
}  // namespace convnet
