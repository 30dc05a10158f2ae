// Stochastic pooling (Zeiler and Fergus, "Stochastic pooling for regularization of deep
// convolutional neural networks", 2013; survey section 3.2), one window at a time, written once
// for both devices: cpu/stochastic_pool.cc and cuda/stochastic_pool.cu call these, so the two
// pick the same element from the same random number and compute the same sums.
//
// Over a window's in-bounds taps a_t (padding is never a candidate), with a+ = max(a, 0):
//   S = sum a+_t,  Q = sum (a+_t)^2  (in double, in row-major tap order);
//   training: p_t = a+_t / S; one uniform u in [0, 1) per window picks the first tap whose running
//             sum of a+ exceeds u * S; y = a_t there, and its flat index (h * W + w) is kept for
//             the backward, which sends dy to it alone;
//   evaluation: the expectation of the above, y = sum p_t a_t = Q / S (the paper's probabilistic
//             weighting), with dy/da_t = (2 a_t S - Q) / S^2 where a_t > 0, 0 elsewhere.
// Negative values (which the paper's ReLU inputs never hold) have probability 0. Rules where the
// paper is silent:
// - a window with S = 0 (every value <= 0, or no in-bounds tap): y = 0 and no gradient
//   (index -1), in both modes: the expectation of a window that cannot pick is taken as 0;
// - a NaN in the window: y = NaN, and in training the first NaN is the one picked (as max
//   pooling, so its gradient goes where the NaN came from); else a +inf: y = +inf, the first
//   +inf picked (evaluation: +inf too; its gradient is NaN);
// - u * S < S always (u <= 1 - 2^-24 and S is a double sum of floats), so a finite S > 0 always
//   picks a tap with a+ > 0 (the running sum passes u * S at the last positive tap at the latest).
// The random number of output o (plane-major, o = plane * oh * ow + oh_i * ow + ow_i) is lane
// o % 4 of Philox4x32(seed, first_block + o / 4) through uniform_from_bits (core/philox.h).
#pragma once
#include <cmath>
#include <cstdint>

#include "core/philox.h"

namespace convnet {
namespace stochastic_pool {

struct Pick {
  float value;
  int64_t index;  // flat within the plane; -1: nothing picked (S = 0)
};

// The window of rows [r0, r0 + rn) and columns [c0, c0 + cn) of a plane of width W (in bounds).
// Written without data-dependent branches in the common case: the running sum is nondecreasing,
// so the taps whose running sum is <= u * S are a prefix, and the pick is the tap right after it
// (it has a+ > 0, since the sum rose past u * S there).
CONVNET_HD inline Pick pick(const float* plane, int64_t W, int64_t r0, int64_t rn, int64_t c0, int64_t cn, float u) {
  double s = 0.0;
  bool nan = false;
  for (int64_t a = 0; a < rn; ++a)
    for (int64_t b = 0; b < cn; ++b) {
      const float v = plane[(r0 + a) * W + c0 + b];
      s += v > 0.0f ? v : 0.0f;
      nan |= v != v;
    }
  if (nan || s > 1.7976931348623157e308) {  // the first NaN, else the first +inf
    for (int64_t pass = 0; pass < 2; ++pass)
      for (int64_t a = 0; a < rn; ++a)
        for (int64_t b = 0; b < cn; ++b) {
          const float v = plane[(r0 + a) * W + c0 + b];
          if (pass == 0 ? v != v : v > 3.4028234663852886e38f) return Pick{v, (r0 + a) * W + c0 + b};
        }
  }
  if (!(s > 0.0)) return Pick{0.0f, -1};
  const double threshold = static_cast<double>(u) * s;
  double cum = 0.0;
  int64_t below = 0;  // taps whose running sum is <= threshold
  for (int64_t a = 0; a < rn; ++a)
    for (int64_t b = 0; b < cn; ++b) {
      const float v = plane[(r0 + a) * W + c0 + b];
      cum += v > 0.0f ? v : 0.0f;
      below += cum <= threshold;
    }
  const int64_t k = (r0 + below / cn) * W + c0 + below % cn;
  return Pick{plane[k], k};
}

// The evaluation sums of a window: S and Q as above (NaN if a tap is NaN).
struct Sums {
  double s, q;
};

CONVNET_HD inline Sums sums(const float* plane, int64_t W, int64_t r0, int64_t rn, int64_t c0, int64_t cn) {
  double s = 0.0, q = 0.0;
  for (int64_t a = 0; a < rn; ++a)
    for (int64_t b = 0; b < cn; ++b) {
      const float v = plane[(r0 + a) * W + c0 + b];
      if (v > 0.0f) {
        s += v;
        q += static_cast<double>(v) * v;
      } else if (v != v) {
        s += v;
      }
    }
  return Sums{s, q};
}

// The evaluation output Q / S: 0 when S = 0, NaN for a NaN, +inf for a +inf.
CONVNET_HD inline float expectation(Sums w) {
  if (w.s != w.s) return static_cast<float>(w.s);
  if (!(w.s > 0.0)) return 0.0f;
  if (w.s > 1.7976931348623157e308) return static_cast<float>(w.s);
  return static_cast<float>(w.q / w.s);
}

// d y / d a for a tap of value a of a window with sums w (evaluation): (2 a S - Q) / S^2 for
// a > 0; 0 for a <= 0 and for S = 0. NaN where S or Q is not finite.
CONVNET_HD inline double slope(Sums w, float a) {
  if (!(a > 0.0f) || w.s == 0.0) return 0.0;
  return (2.0 * a * w.s - w.q) / (w.s * w.s);
}

}  // namespace stochastic_pool
}  // namespace convnet
