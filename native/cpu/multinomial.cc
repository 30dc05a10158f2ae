// multinomial (torch.multinomial; the API checks the weights first, multinomial_check): k category indices
// per row of probs [rows, cats] (non-negative, finite float32 weights), from rand's uniform
// numbers u (uniform_from_bits of the stream's words, element i of the call's draw: lane i % 4
// of block first_block + i / 4), rows in parallel, the same draws for any thread count.
//
// With replacement: row r's sample s takes u = number r k + s and is the first category whose
// running sum (float64, in order) exceeds u * the row's sum.
// Without replacement (the exponential race, as PyTorch): category c of row r takes
// u = number r cats + c and the key -log(1 - u) / w_c (w_c = 0: +inf); the samples are the k
// smallest keys in order, ties by index. The log is fdlibm's (below), which is also what V8's
// Math.log computes: lib/sampling.ts drew the same samples in JavaScript before this kernel,
// and test/sampling.test.ts checks them against Math.log's keys.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/philox.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"

namespace convnet {
namespace cpu {
namespace {

// fdlibm's __ieee754_log (Sun Microsystems, 1993; as V8's base::ieee754::log), for x in
// (0, 1] here: log(x) = k ln2 + log(1 + f), log(1 + f) from s = f / (2 + f) and a polynomial
// in s^2, under 1 ulp. Each step rounds alone: the attribute keeps GCC from fusing a * b + c
// into an FMA where the CPU has one, so every machine gets the same bits (and JavaScript's).
__attribute__((optimize("fp-contract=off"))) double fdlibm_log(double x) {
  constexpr double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  constexpr double two54 = 1.80143985094819840000e+16;
  constexpr double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01, Lg3 = 2.857142874366239149e-01,
                   Lg4 = 2.222219843214978396e-01, Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                   Lg7 = 1.479819860511658591e-01;
  uint64_t bits;
  std::memcpy(&bits, &x, 8);
  int32_t hx = static_cast<int32_t>(bits >> 32);
  const uint32_t lx = static_cast<uint32_t>(bits);
  int32_t k = 0;
  if (hx < 0x00100000) {  // x < 2^-1022
    if (((hx & 0x7fffffff) | lx) == 0) return -two54 / 0.0;  // log(+-0) = -inf
    if (hx < 0) return (x - x) / 0.0;                         // log(-x) = NaN
    k -= 54;
    x *= two54;  // subnormal: scale up
    std::memcpy(&bits, &x, 8);
    hx = static_cast<int32_t>(bits >> 32);
  }
  if (hx >= 0x7ff00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const int32_t i = (hx + 0x95f64) & 0x100000;
  bits = (static_cast<uint64_t>(static_cast<uint32_t>(hx | (i ^ 0x3ff00000))) << 32) | (bits & 0xffffffffu);
  std::memcpy(&x, &bits, 8);  // x or x / 2, in [sqrt(2) / 2, sqrt(2))
  k += i >> 20;
  const double f = x - 1.0;
  if ((0x000fffff & (2 + hx)) < 3) {  // |f| < 2^-20
    if (f == 0.0) {
      if (k == 0) return 0.0;
      const double dk = k;
      return dk * ln2_hi + dk * ln2_lo;
    }
    const double r = f * f * (0.5 - 0.33333333333333333 * f);
    if (k == 0) return f - r;
    const double dk = k;
    return dk * ln2_hi - ((r - dk * ln2_lo) - f);
  }
  const double s = f / (2.0 + f), dk = k, z = s * s, w = z * z;
  const int32_t j = 0x6b851 - hx, i2 = (hx - 0x6147a) | j;
  const double t1 = w * (Lg2 + w * (Lg4 + w * Lg6)), t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  const double r = t2 + t1;
  if (i2 > 0) {
    const double hfsq = 0.5 * f * f;
    if (k == 0) return f - (hfsq - s * (hfsq + r));
    return dk * ln2_hi - ((hfsq - (s * (hfsq + r) + dk * ln2_lo)) - f);
  }
  if (k == 0) return f - s * (f - r);
  return dk * ln2_hi - ((s * (f - r) - dk * ln2_lo) - f);
}

// Numbers [begin, begin + n) of the draw into u (whole blocks at a time).
void uniforms(uint64_t seed, uint64_t first_block, int64_t begin, int64_t n, float* u) {
  for (int64_t i = begin; i < begin + n;) {
    const Philox4x32 r = Philox4x32::generate(seed, first_block + static_cast<uint64_t>(i / 4));
    for (int lane = static_cast<int>(i % 4); lane < 4 && i < begin + n; ++lane, ++i) u[i - begin] = uniform_from_bits(r.out[lane]);
  }
}

// A weight as JavaScript prints it where that differs from C++'s stream.
std::string weight_str(float v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

void multinomial_check(const Tensor& probs, int64_t k, bool replacement) {
  const int64_t rows = probs.shape[0], cats = probs.shape[1];
  const float* w = probs.f32();
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    int64_t nonzero = 0;
    for (int64_t c = 0; c < cats; ++c) {
      const float v = w[r * cats + c];
      CONVNET_CHECK(v >= 0 && !std::isinf(v), "E_ARG", "multinomial: the weights must be finite and non-negative, got ", weight_str(v),
                    " (row ", r, ", category ", c, ")");
      sum += v;
      nonzero += v > 0;
    }
    CONVNET_CHECK(sum > 0, "E_ARG", "multinomial: row ", r, " of `probs` sums to 0");
    CONVNET_CHECK(replacement || nonzero >= k, "E_ARG", "multinomial: row ", r, " has ", nonzero, " nonzero weights, fewer than the ", k,
                  " samples asked for without replacement");
  }
}

void multinomial(const Tensor& probs, int64_t k, bool replacement, uint64_t seed, uint64_t first_block, const Tensor& out) {
  const int64_t rows = probs.shape[0], cats = probs.shape[1];
  const float* w = probs.f32();
  int32_t* y = out.i32();
  if (replacement) {
    parallel_for(rows, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, cats + k)), [&](int64_t begin, int64_t end) {
      std::vector<double> cdf(static_cast<size_t>(cats));
      std::vector<float> u(static_cast<size_t>(k));
      for (int64_t r = begin; r < end; ++r) {
        double acc = 0;
        for (int64_t c = 0; c < cats; ++c) cdf[c] = acc += w[r * cats + c];
        uniforms(seed, first_block, r * k, k, u.data());
        for (int64_t s = 0; s < k; ++s) {
          const double target = static_cast<double>(u[s]) * acc;
          // The first category whose running sum passes the target (zero weights never chosen).
          y[r * k + s] = static_cast<int32_t>(std::upper_bound(cdf.begin(), cdf.end(), target) - cdf.begin());
          if (y[r * k + s] == cats) y[r * k + s] = static_cast<int32_t>(cats - 1);  // u * acc rounded up to acc
        }
      }
    });
    return;
  }
  parallel_for(rows, std::max<int64_t>(1, (1 << 12) / std::max<int64_t>(1, cats)), [&](int64_t begin, int64_t end) {
    std::vector<double> keys(static_cast<size_t>(cats)), scratch(static_cast<size_t>(cats));
    std::vector<float> u(static_cast<size_t>(cats));
    for (int64_t r = begin; r < end; ++r) {
      uniforms(seed, first_block, r * cats, cats, u.data());
      for (int64_t c = 0; c < cats; ++c) {
        const double v = w[r * cats + c];
        keys[c] = v > 0 ? -fdlibm_log(1.0 - static_cast<double>(u[c])) / v : INFINITY;
      }
      // The k smallest (key, index) pairs in order. The k-th smallest key t first (nth_element on
      // a copy: a partial sort of the indices by key spent 70% of the time in its heap), then the
      // keys below t and, by index, as many equal to t as fill k; then those k sorted.
      std::copy(keys.begin(), keys.end(), scratch.begin());
      std::nth_element(scratch.begin(), scratch.begin() + (k - 1), scratch.end());
      const double t = scratch[k - 1];
      int32_t* picked = y + r * k;
      int64_t m = 0;
      for (int64_t c = 0; c < cats; ++c) {
        if (keys[c] < t) picked[m++] = static_cast<int32_t>(c);
      }
      for (int64_t c = 0; c < cats && m < k; ++c) {
        if (keys[c] == t) picked[m++] = static_cast<int32_t>(c);
      }
      std::sort(picked, picked + k, [&](int32_t a, int32_t b) { return keys[a] < keys[b] || (keys[a] == keys[b] && a < b); });
    }
  });
}

}  // namespace cpu
}  // namespace convnet
