// bincount (torch.bincount, without weights): how many times each value 0 .. length - 1 occurs
// in a 1-D int32 x, int32 counts. The API runs the scan for the length (x's largest value + 1,
// or minlength) on the JavaScript thread once the queue has computed x, as a read does; the
// counting is queued. In JavaScript, over the values read back, it ran at 0.19x PyTorch's speed
// on 2^20 values in [0, 1000).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kBlock = 1 << 16;  // values counted into one private histogram

struct Extremes {
  int32_t min, max;
};

CONVNET_SIMD_CLONES Extremes extremes_of(const int32_t* v, int64_t n) {
  int32_t lo = INT32_MAX, hi = INT32_MIN;
  for (int64_t i = 0; i < n; ++i) {
    lo = v[i] < lo ? v[i] : lo;
    hi = v[i] > hi ? v[i] : hi;
  }
  return {lo, hi};
}

}  // namespace

int64_t bincount_length(const Tensor& x, int64_t minlength) {
  const int32_t* v = x.i32();
  const int64_t n = x.numel();
  if (n == 0) return minlength;
  const Extremes e = extremes_of(v, n);
  if (e.min < 0) {
    const int64_t at = std::find_if(v, v + n, [](int32_t value) { return value < 0; }) - v;
    fail("E_ARG", "bincount: expected non-negative values, got ", v[at], " at ", at);
  }
  return std::max<int64_t>(minlength, int64_t{e.max} + 1);
}

// Blocks of kBlock values count into histograms of their own, added up in block order after
// (int32 sums: exact in any order). A histogram longer than a block's values would cost more
// to clear and add than the counting: then one pass, on one thread.
void bincount(const Tensor& x, const Tensor& y) {
  const int32_t* v = x.i32();
  int32_t* counts = y.i32();
  const int64_t n = x.numel(), length = y.numel();
  std::memset(counts, 0, static_cast<size_t>(length) * sizeof(int32_t));
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  if (blocks < 2 || length > kBlock / 4) {
    for (int64_t i = 0; i < n; ++i) ++counts[v[i]];
    return;
  }
  std::vector<int32_t> partial(static_cast<size_t>(blocks * length), 0);
  parallel_for(blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      int32_t* h = partial.data() + b * length;
      for (int64_t i = b * kBlock, last = std::min(n, i + kBlock); i < last; ++i) ++h[v[i]];
    }
  });
  for (int64_t b = 0; b < blocks; ++b) {
    const int32_t* h = partial.data() + b * length;
    for (int64_t j = 0; j < length; ++j) counts[j] += h[j];
  }
}

}  // namespace cpu
}  // namespace convnet
