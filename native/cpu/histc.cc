// histc (torch.histc): the counts of x's values in `bins` equal bins over [lo, hi], as float32.
// A value's bin is PyTorch's CPU kernel's, in float32: floor(((v - lo) * bins) / (hi - lo)),
// hi itself (and any rounding past the end) in the last bin; values outside [lo, hi] and NaN are
// not counted. Counts are exact integers until the end (PyTorch adds 1.0f, which stops at 2^24).
// It was a composition of a dozen ops (sub, mul, div, floor, two compares, where, cast, and an
// indexAdd of ones): [512, 4096] into 100 bins 8.7-9.3 ms at 2 threads, PyTorch 6.3-6.4. One
// native loop, floor a call: 4.7-5.8; bins 256 at a time and four histograms taking turns, but
// the bins' loop still scalar (std::floor and a nested select kept as branches): 1.8-2.8; that
// loop vectorised: 0.75 (`node dist/bench/more-ops.js --threads 2 --only histc`; PyTorch 6.5-9.8
// in those runs).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kBlock = 1 << 16;  // values counted into one private histogram
constexpr int64_t kChunk = 256;      // values whose bins are computed at once

// bin[i] = the bin of x[i] (i < n), or `bins` (a spare slot) when x[i] is outside [lo, hi] or
// NaN. Vectorised (the clones' floor is one instruction; the baseline's a call), which the
// selections are only under no-trapping-math (see leaky_relu.cc).
CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math"))) void bins_of(const float* __restrict x, int64_t n, int64_t bins, float lo, float hi,
                                 int32_t* __restrict bin) {
  const float fbins = static_cast<float>(bins), range = hi - lo, last = static_cast<float>(bins - 1);
  const int32_t spare = static_cast<int32_t>(bins);
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float b = __builtin_floorf(((v - lo) * fbins) / range);  // (std::floor kept the loop scalar)
    // in [0, last] (a NaN bin, inf / inf when hi - lo overflows float32, goes to bin 0, as the
    // composed cast did), so that the conversion is defined for every lane (one select a line:
    // GCC left the nested ternary as a branch, the loop scalar)
    float clamped = b > last ? last : b;
    clamped = clamped >= 0.0f ? clamped : 0.0f;
    const int32_t k = static_cast<int32_t>(clamped);
    const bool in_range = (v >= lo) & (v <= hi);
    bin[i] = in_range ? k : spare;
  }
}

// counts[bin of v] += 1 for the values v of x[0, n) (counts: bins + 1 slots, the last the
// spare). Four histograms take turns, so that runs of one bin do not wait on each other's
// stores; counts holds four interleaved copies (slot j of copy c at 4 * j + c).
void count_values(const float* x, int64_t n, int64_t bins, float lo, float hi, int32_t* counts) {
  int32_t bin[kChunk];
  for (int64_t at = 0; at < n; at += kChunk) {
    const int64_t len = std::min(kChunk, n - at);
    bins_of(x + at, len, bins, lo, hi, bin);
    int64_t i = 0;
    for (; i + 4 <= len; i += 4) {
      ++counts[4 * bin[i]];
      ++counts[4 * bin[i + 1] + 1];
      ++counts[4 * bin[i + 2] + 2];
      ++counts[4 * bin[i + 3] + 3];
    }
    for (; i < len; ++i) ++counts[4 * bin[i]];
  }
}

}  // namespace

void histc(const Tensor& x, int64_t bins, float lo, float hi, const Tensor& y) {
  const float* v = x.f32();
  const int64_t n = x.numel(), blocks = (n + kBlock - 1) / kBlock;
  std::vector<int64_t> counts(static_cast<size_t>(bins + 1), 0);  // the last: the spare slot
  if (blocks < 2 || bins > kBlock / 16) {
    // One pass on one thread into one histogram (one longer than a block's values would cost
    // more to clear and add up than the counting).
    int32_t bin[kChunk];
    for (int64_t at = 0; at < n; at += kChunk) {
      const int64_t len = std::min(kChunk, n - at);
      bins_of(v + at, len, bins, lo, hi, bin);
      for (int64_t i = 0; i < len; ++i) ++counts[bin[i]];
    }
  } else {
    // Blocks count into histograms of their own (four interleaved copies each), added up after
    // (integers: exact in any order).
    const int64_t slots = 4 * (bins + 1);
    std::vector<int32_t> partial(static_cast<size_t>(blocks * slots), 0);
    parallel_for(blocks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t at = b * kBlock;
        count_values(v + at, std::min(kBlock, n - at), bins, lo, hi, partial.data() + b * slots);
      }
    });
    for (int64_t b = 0; b < blocks; ++b) {
      const int32_t* h = partial.data() + b * slots;
      for (int64_t j = 0; j < bins; ++j) counts[j] += int64_t{h[4 * j]} + h[4 * j + 1] + h[4 * j + 2] + h[4 * j + 3];
    }
  }
  float* out = y.f32();
  for (int64_t j = 0; j < bins; ++j) out[j] = static_cast<float>(counts[j]);
}

}  // namespace cpu
}  // namespace convnet
