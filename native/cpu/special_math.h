// The special functions that neither libm nor CUDA's maths library has (erfinv on the CPU,
// digamma, polygamma), written once in double and compiled for both sides (CONVNET_HD), so a
// float32 input gives the same float32 result on the CPU and the GPU but where the last bits of
// the two libms' double exp/log/erf/pow, or nvcc's FMA contractions, reach the rounding to float.
//
// The algorithms are PyTorch's (aten/src/ATen/native/Math.h, from Cephes), run in double where
// PyTorch's float kernels run some of them in float: our float results are the correctly
// rounded ones or next to them; PyTorch's float32 digamma can be a few ulp away.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/philox.h"  // CONVNET_HD

namespace convnet {
namespace special {

constexpr double kPi = 3.14159265358979323846;

// The inverse of erf on (-1, 1); +-inf at +-1, NaN outside [-1, 1] and for NaN. A rational first
// guess (PyTorch's calc_erfinv) and one Newton step on erf in double, where PyTorch takes two:
// the guess is good to about 1e-7, one step squares that, and a second changed none of the
// float32 results (every 7th float of (-1, 1) checked: 304M values) but cost as much again.
CONVNET_HD inline double erfinv(double y) {
  const double y_abs = ::fabs(y);
  if (y_abs > 1.0) return NAN;
  if (y_abs == 1.0) return ::copysign(INFINITY, y);
  double x;
  if (y_abs <= 0.7) {
    const double z = y * y;
    const double num = ((-0.140543331 * z + 0.914624893) * z - 1.645349621) * z + 0.886226899;
    const double den = (((0.012229801 * z - 0.329097515) * z + 1.442710462) * z - 2.118377725) * z + 1.0;
    x = y * num / den;
  } else {  // also NaN, which goes through as NaN
    const double z = ::sqrt(-::log((1.0 - y_abs) / 2.0));
    const double num = ((1.641345311 * z + 3.429567803) * z - 1.624906493) * z - 1.970840454;
    const double den = (1.637067800 * z + 3.543889200) * z + 1.0;
    x = ::copysign(num, y) / den;
  }
  const double two_over_sqrt_pi = 1.12837916709551257390;
  return x - (::erf(x) - y) / (two_over_sqrt_pi * ::exp(-x * x));
}

// psi(x) = d/dx log(gamma(x)). -inf at +0 and +inf at -0 (the limits from the right and the left
// of the pole, as PyTorch), NaN at the negative integers; the reflection formula below 0, then
// the recurrence up to x >= 10 and the asymptotic series. The CPU's elementwise digamma runs a
// vectorised copy of it (native/cpu/elementwise.cc's digamma_vector, the same float32 results but
// where the libms' last bits reach the rounding) and this for the lanes that copy leaves.
CONVNET_HD inline double digamma(double x) {
  if (x == 0) return ::copysign(INFINITY, -x);
  double result = 0;
  if (x < 0) {
    if (x == ::floor(x)) return NAN;
    // psi(x) = psi(1 - x) - pi / tan(pi x); tan of the fractional part keeps pi x small.
    result = -kPi / ::tan(kPi * (x - ::trunc(x)));
    x = 1 - x;
  }
  // The recurrence psi(x) = psi(x + 1) - 1 / x up to x >= 10, its terms summed as one fraction
  // num / den (one division, not up to ten: positive terms, den at most about 10^10); the float32
  // results are term by term's but one in 329M, by an ulp (special_math_selftest.cc).
  double num = 0, den = 1;
  while (x < 10) {
    num = num * x + den;
    den *= x;
    x += 1;
  }
  result -= num / den;
  if (x == 10) return result + 2.25175258906672110764;  // psi(10)
  double series = 0;
  if (x < 1.0e17) {
    const double z = 1 / (x * x);
    series = z * ((((((8.33333333333333333333E-2 * z - 2.10927960927960927961E-2) * z + 7.57575757575757575758E-3) * z -
                     4.16666666666666666667E-3) * z + 3.96825396825396825397E-3) * z - 8.33333333333333333333E-3) * z +
                  8.33333333333333333333E-2);
  }
  return result + ::log(x) - 0.5 / x - series;
}

// psi'(x), the trigamma function: +inf at 0 and the negative integers; the reflection formula
// below 1/2, six steps of the recurrence and the asymptotic series (PyTorch's calc_trigamma).
CONVNET_HD inline double trigamma(double x) {
  double sign = 1, result = 0;
  if (x < 0.5) {
    if (x == ::floor(x)) return INFINITY;
    sign = -1;
    const double s = ::sin(kPi * x);
    result -= (kPi * kPi) / (s * s);
    x = 1 - x;
  }
  for (int i = 0; i < 6; ++i) {
    result += 1 / (x * x);
    x += 1;
  }
  const double ixx = 1 / (x * x);
  result += (1 + 1 / (2 * x) + ixx * (1.0 / 6 - ixx * (1.0 / 30 - ixx * (1.0 / 42)))) / x;
  return sign * result;
}

// The Hurwitz zeta function sum over k >= 0 of (k + q)^-s, for s > 1 (Cephes' zeta, as PyTorch):
// the first terms summed directly, then the Euler-Maclaurin tail. +inf at q = 0 and the negative
// integers. A negative q is summed up to past 9 term by term: at most 2^23 terms for a float32 q,
// whose non-integers all lie in (-2^23, 2^23).
CONVNET_HD inline double hurwitz_zeta(double s, double q) {
  const double kMachEp = 1.11022302462515654042E-16;
  const double kA[] = {12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
                       -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
                       1.8152105401943546773e17, -7.1661652561756670113e18};
  if (s == 1) return INFINITY;
  if (s < 1) return NAN;
  if (q <= 0) {
    if (q == ::floor(q)) return INFINITY;
    if (s != ::floor(s)) return NAN;  // (k + q)^-s of a negative base
  }
  if (q != q) return NAN;
  double sum = ::pow(q, -s), a = q, b = 0;
  int i = 0;
  while (i < 9 || a <= 9) {
    i += 1;
    a += 1;
    b = ::pow(a, -s);
    sum += b;
    if (-kMachEp * sum < b && b < kMachEp * sum) return sum;
  }
  const double w = a;
  sum += b * w / (s - 1);
  sum -= 0.5 * b;
  double factor = 1, k = 0;
  for (int j = 0; j < 12; ++j) {
    factor *= s + k;
    b /= w;
    const double t = factor * b / kA[j];
    sum += t;
    if (::fabs(t / sum) < kMachEp) return sum;
    k += 1;
    factor *= s + k;
    b /= w;
    k += 1;
  }
  return sum;
}

// psi^(n)(x), the n-th derivative of digamma: digamma for n = 0, trigamma for 1, and
// (-1)^(n+1) n! zeta(n + 1, x) above (n! in double: inf past n = 170, as PyTorch's exp(lgamma)).
// At the infinities, the limits: +inf for digamma at +inf and 0 for the others (PyTorch: NaN
// for n >= 2, its Euler-Maclaurin tail multiplies 0 by inf); NaN at -inf, where the poles
// crowd (PyTorch: +-inf for n >= 2, +inf for trigamma).
CONVNET_HD inline double polygamma(int64_t n, double x) {
  if (x == -INFINITY) return NAN;
  if (n > 0 && x == INFINITY) return 0;
  if (n == 0) return digamma(x);
  if (n == 1) return trigamma(x);
  double factorial = 1;
  for (int64_t k = 2; k <= n && factorial < INFINITY; ++k) factorial *= static_cast<double>(k);
  return (n % 2 ? 1.0 : -1.0) * factorial * hurwitz_zeta(static_cast<double>(n + 1), x);
}

}  // namespace special
}  // namespace convnet
