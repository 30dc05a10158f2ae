// log(sum(exp(x))) over a run of adjacent axes, as torch.logsumexp, and its gradient (x viewed
// as [outer, len, inner], row_lanes.h; lib/ permutes other sets of axes into a run):
//   m = max x over the run; shift = m, or 0 where m is ±inf;
//   y = log(sum(exp(x - shift))) + shift
// so large values do not overflow, a run of -inf only (or an empty one) gives -inf, one with
// +inf gives +inf, and a NaN gives NaN (exp(NaN - shift) makes the sum NaN), all as PyTorch.
// Backward (PyTorch's logsumexp_backward): dx = dy * exp(x - y), the softmax weighted by dy (NaN
// over a run of -inf only, as PyTorch's).
//
// exp, the max and the float64 sums come from cpu/vec_math.h (the order of vec::exp_sum: 16
// lanes, then pairwise). A run longer than 16384 is cut into fixed blocks whose maxima, and then
// sums, are combined in order; columns (inner > 1) go in chunks of 256 adjacent columns, each
// column's sum added in float64 in order of the run. Results never depend on the thread count.
#include <cmath>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/row_lanes.h"
#include "cpu/simd_clones.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {
namespace {

inline float shift_of(float m) { return std::fabs(m) == std::numeric_limits<float>::infinity() ? 0.0f : m; }

// The backward's last step, dx *= dy (one dy for a run, or one per column).
CONVNET_SIMD_CLONES void multiply(float* __restrict out, float dy, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] *= dy;
}
CONVNET_SIMD_CLONES void multiply_rows(float* __restrict out, const float* __restrict dy, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] *= dy[i];
}
CONVNET_SIMD_CLONES void subtract_rows(const float* __restrict x, const float* __restrict y, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] - y[i];
}

}  // namespace

void logsumexp(const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y) {
  const lanes::RunLayout l = lanes::run_layout(x.shape, axes);
  const float* px = x.f32();
  float* py = y.f32();
  if (l.outputs() == 0) return;
  if (l.inner == 1) {
    const int64_t blocks = lanes::blocks_of(l.len);
    if (blocks == 1) {
      // Each row whole on one thread: its max, then its exp sum while it is in the cache.
      parallel_for(l.outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, l.len)), [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
          const float* row = px + o * l.len;
          const float shift = shift_of(vec::max(row, l.len));
          py[o] = static_cast<float>(std::log(vec::exp_sum(row, shift, nullptr, l.len)) + shift);
        }
      });
      return;
    }
    // Long rows: the blocks' maxima, each row's shift, the blocks' exp sums, combined in order.
    const int64_t tasks = l.outer * blocks;
    std::vector<float> block_max(static_cast<size_t>(tasks)), shift(static_cast<size_t>(l.outer));
    std::vector<double> block_sum(static_cast<size_t>(tasks));
    const auto block = [&](int64_t t, int64_t* at, int64_t* n) {
      const int64_t row = t / blocks, r0 = (t % blocks) * lanes::kBlock;
      *at = row * l.len + r0;
      *n = std::min(lanes::kBlock, l.len - r0);
    };
    parallel_for(tasks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        int64_t at, n;
        block(t, &at, &n);
        block_max[t] = vec::max(px + at, n);
      }
    });
    for (int64_t o = 0; o < l.outer; ++o) {
      float m = block_max[o * blocks];
      for (int64_t b = 1; b < blocks; ++b) m = std::max(m, block_max[o * blocks + b]);
      shift[o] = shift_of(m);
    }
    parallel_for(tasks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        int64_t at, n;
        block(t, &at, &n);
        block_sum[t] = vec::exp_sum(px + at, shift[t / blocks], nullptr, n);
      }
    });
    for (int64_t o = 0; o < l.outer; ++o) {
      double s = 0.0;
      for (int64_t b = 0; b < blocks; ++b) s += block_sum[o * blocks + b];
      py[o] = static_cast<float>(std::log(s) + shift[o]);
    }
    return;
  }
  const int64_t chunks = (l.inner + lanes::kCols - 1) / lanes::kCols;
  parallel_for(l.outer * chunks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> shift(lanes::kCols), e(lanes::kCols);
    std::vector<double> total(lanes::kCols);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / chunks, c0 = (t % chunks) * lanes::kCols, w = std::min(lanes::kCols, l.inner - c0);
      const float* base = px + o * l.len * l.inner + c0;
      std::fill(shift.begin(), shift.begin() + w, -std::numeric_limits<float>::infinity());
      for (int64_t r = 0; r < l.len; ++r)
        for (int64_t i = 0; i < w; ++i) shift[i] = base[r * l.inner + i] > shift[i] ? base[r * l.inner + i] : shift[i];
      for (int64_t i = 0; i < w; ++i) shift[i] = shift_of(shift[i]);
      std::fill(total.begin(), total.begin() + w, 0.0);
      for (int64_t r = 0; r < l.len; ++r) {
        subtract_rows(base + r * l.inner, shift.data(), e.data(), w);
        vec::exp(e.data(), e.data(), w);
        for (int64_t i = 0; i < w; ++i) total[i] += e[i];
      }
      for (int64_t i = 0; i < w; ++i) py[o * l.inner + c0 + i] = static_cast<float>(std::log(total[i]) + shift[i]);
    }
  });
}

void logsumexp_backward(const Tensor& dy, const Tensor& x, const Tensor& y, const std::vector<int64_t>& axes,
                        const Tensor& dx) {
  const lanes::RunLayout l = lanes::run_layout(x.shape, axes);
  const float *px = x.f32(), *py = y.f32(), *pdy = dy.f32();
  float* pdx = dx.f32();
  if (x.numel() == 0) return;
  if (l.inner == 1) {
    const int64_t blocks = lanes::blocks_of(l.len);
    parallel_for(l.outer * blocks, std::max<int64_t>(1, lanes::kBlock / std::min(l.len, lanes::kBlock)),
                 [&](int64_t begin, int64_t end) {
                   for (int64_t t = begin; t < end; ++t) {
                     const int64_t row = t / blocks, r0 = (t % blocks) * lanes::kBlock, at = row * l.len + r0;
                     const int64_t n = std::min(lanes::kBlock, l.len - r0);
                     vec::exp_sum(px + at, py[row], pdx + at, n);  // dx = exp(x - y) (the sum unused)
                     multiply(pdx + at, pdy[row], n);
                   }
                 });
    return;
  }
  parallel_for(l.outer * l.len, std::max<int64_t>(1, lanes::kBlock / l.inner), [&](int64_t begin, int64_t end) {
    for (int64_t line = begin; line < end; ++line) {
      const int64_t o = line / l.len, at = line * l.inner;
      subtract_rows(px + at, py + o * l.inner, pdx + at, l.inner);
      vec::exp(pdx + at, pdx + at, l.inner);
      multiply_rows(pdx + at, pdy + o * l.inner, l.inner);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
