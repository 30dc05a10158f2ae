// cumsum (torch.cumsum): running sums along one axis, forward and backward.
//   y[..., k, ...] = x[..., 0, ...] + ... + x[..., k, ...]
// float32 sums in float64 (as PyTorch's CPU kernel accumulates), rounded once per output; int32
// ones in int64, where a running sum outside int32 is an E_RANGE error (PyTorch's result is
// int64; this library has none) rather than a silently wrapped value. Each line is summed in
// order by one thread: the same bits for any thread count, and on the GPU (cuda/cumsum.cu).
// `reverse` sums from the end: the backward, dx = reverse cumsum of dy.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"

namespace convnet {
namespace cpu {
namespace {

// Lines side by side (the axes after `axis`) are summed a block at a time, in float64 in a buffer
// of this many, so that the inner loop runs over contiguous memory.
constexpr int64_t kBlock = 512;

template <typename T, typename Acc>
void cumsum_lines(const T* x, T* y, int64_t outer, int64_t len, int64_t inner, bool reverse,
                  std::atomic<int64_t>* bad) {
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  const int64_t per_item = len * std::min(inner, kBlock);
  parallel_for(outer * blocks, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, per_item)),
               [&](int64_t begin, int64_t end) {
    Acc acc[kBlock];
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / blocks, j0 = (item % blocks) * kBlock, width = std::min(kBlock, inner - j0);
      std::fill(acc, acc + width, Acc(0));
      for (int64_t step = 0; step < len; ++step) {
        const int64_t k = reverse ? len - 1 - step : step;
        const T* xs = x + (o * len + k) * inner + j0;
        T* ys = y + (o * len + k) * inner + j0;
        for (int64_t j = 0; j < width; ++j) {
          acc[j] += static_cast<Acc>(xs[j]);
          ys[j] = static_cast<T>(acc[j]);
        }
        if (bad) {  // int32: every running sum must fit
          for (int64_t j = 0; j < width; ++j) {
            if (acc[j] < std::numeric_limits<int32_t>::min() || acc[j] > std::numeric_limits<int32_t>::max()) {
              int64_t none = -1;
              bad->compare_exchange_strong(none, (o * len + k) * inner + j0 + j);
              break;
            }
          }
        }
      }
    }
  });
}

}  // namespace

void cumsum(const Tensor& x, int64_t axis, bool reverse, const Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  const int64_t len = x.shape[axis];
  if (x.dtype == DType::Float32) {
    cumsum_lines<float, double>(x.f32(), y.f32(), outer, len, inner, reverse, nullptr);
    return;
  }
  std::atomic<int64_t> bad{-1};
  cumsum_lines<int32_t, int64_t>(x.i32(), y.i32(), outer, len, inner, reverse, &bad);
  CONVNET_CHECK(bad.load() < 0, "E_RANGE", "cumsum: the running int32 sum at position ", bad.load(),
                " is outside the int32 range [-2147483648, 2147483647] (cast to float32 first)");
}

}  // namespace cpu
}  // namespace convnet
