// Variance and standard deviation over any set of axes, as torch.var / torch.std (PyTorch 1.13),
// and their gradient, each one native op:
//   n = the number of reduced elements;  mean = sum x / n;  m2 = sum (x - mean)^2;
//   var = m2 / max(0, n - correction);   std = sqrt(var)
// The float32 mean is a second output, kept for the backward. As PyTorch: n - correction <= 0
// divides by 0 (inf, or NaN where m2 = 0: one element, unbiased), an empty reduction gives NaN,
// NaN propagates, and an infinite x gives NaN (inf - inf).
//
// Two passes over x, the mean and then the squared deviations from it, both in float64 with each
// value widened first: the deviations and their squares are then exact (a float's square fits a
// double), so only the sums round, and a constant gives m2 = 0 exactly (std = 0, and std's
// gradient there PyTorch's 0). (Sums of x^2 minus n mean^2 lose everything to cancellation when
// the mean is large next to the spread; Welford's update divides per element.)
//
// Backward (PyTorch 1.13's var_backward and std_backward, rounded as it rounds, in float32):
//   var: dx = (float(2 / (n - correction)) * dy) * (x - mean)
//   std: the same with dy / (2 std) in place of dy, and 0 where std = 0
// one pass over x. n - correction is not clamped here: 0 gives an infinite factor (inf or NaN
// in dx), and a negative one a negative factor, both PyTorch's.
//
// Layout (reduce_layout.h, as reduce.cc): x's axes merged, then
//  - runs (the last merged axis reduced, no other): each output's run, whole on one thread (its
//    sum by vec::sum, then its deviations while it is in the cache), or, longer than kBlock, in
//    blocks of kBlock whose partials are added in order;
//  - rows (a kept last axis): each output's rows added across the row into float64
//    accumulators, in order of the rows, in Rows' fixed blocks combined in order; with one block
//    a task takes its chunk's sums and then its deviations while the chunk is in the cache;
//  - both (reduced axes before a kept one and a reduced last axis, [N, C, H, W] over {0, 2, 3}):
//    per-run partials as above, then those added as rows.
// Every output's arithmetic follows from the shape alone: the same bits for any thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/reduce_layout.h"
#include "cpu/row_lanes.h"
#include "cpu/simd_clones.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {
namespace {

using reduction::Axis;
using reduction::blocked_runs;
using reduction::ceil_div;
using reduction::for_each_row_chunk;
using reduction::kBlock;
using reduction::RowCursor;
using reduction::Rows;

// fp-contract=off: no clone fuses d * d + acc into an FMA, so every CPU path gives the same bits.
#define CONVNET_VAR_KERNEL __attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES

// ---- one contiguous run ----------------------------------------------------------------------

// sum (x[i] - mean)^2 in float64: element i in lane i % 16, the lanes added pairwise at the end
// (vec::dot's order, Note [sum order] in vec_math.cc). The tail is one more vector whose unused
// lanes hold 0 (adding +0 * +0 leaves a lane as it is).
template <typename L>
CONVNET_VAR_KERNEL double squared_deviations_lanes(const float* __restrict x, double mean, int64_t n) {
  typename L::Doubles8 lo = {}, hi = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) L::add_squared_deviations(x + i, mean, lo, hi);
  if (i < n) {
    typename L::Doubles8 da = {}, db = {};
    for (int64_t l = 0; i + l < n; ++l) {
      const double d = static_cast<double>(x[i + l]) - mean;
      if (l < 8) L::set_lane(da, static_cast<int>(l), d);
      else L::set_lane(db, static_cast<int>(l - 8), d);
    }
    L::add_squares(da, lo);
    L::add_squares(db, hi);
  }
  return L::add_lanes(lo, hi);
}

// lanes16.h: 64-byte vectors where the CPU has AVX-512, pairs of 32-byte ones elsewhere.
double squared_deviations(const float* x, double mean, int64_t n) {
  return lanes16::wide() ? squared_deviations_lanes<lanes16::Wide>(x, mean, n)
                         : squared_deviations_lanes<lanes16::Pairs>(x, mean, n);
}

// A run's sum: vec::sum, or in order inline for a run shorter than a vector (a call through
// vec::sum's dispatch would cost more than a run of 2).
double run_sum(const float* x, int64_t n) {
  if (n >= 16) return vec::sum(x, n);
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

double run_squared_deviations(const float* x, double mean, int64_t n) {
  if (n >= 16) return squared_deviations(x, mean, n);
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - mean;
    s += d * d;
  }
  return s;
}

// out[j] = the sum over the blocks of run j of block(j, at, len), added in order
// (reduce_layout.h's blocked_runs).
template <typename Block>
void per_run(int64_t runs, int64_t run, const Block& block, double* out) {
  blocked_runs<double>(runs, run, block, [](double a, double b) { return a + b; }, [&](int64_t j, double v) { out[j] = v; });
}

// The runs-only layout: mean and m2 of each of `runs` contiguous runs of x.
void run_statistics(const float* x, int64_t runs, int64_t run, double* mean, double* m2) {
  const double n = static_cast<double>(run);
  if (run <= kBlock) {  // each run's two passes back to back, the second from the cache
    parallel_for(runs, std::max<int64_t>(1, kBlock / run), [&](int64_t begin, int64_t end) {
      for (int64_t j = begin; j < end; ++j) {
        const float* p = x + j * run;
        mean[j] = run_sum(p, run) / n;
        m2[j] = run_squared_deviations(p, mean[j], run);
      }
    });
    return;
  }
  per_run(runs, run, [&](int64_t, int64_t at, int64_t len) { return run_sum(x + at, len); }, mean);
  for (int64_t j = 0; j < runs; ++j) mean[j] /= n;
  per_run(runs, run, [&](int64_t j, int64_t at, int64_t len) { return run_squared_deviations(x + at, mean[j], len); }, m2);
}

// ---- rows: a kept last axis --------------------------------------------------------------------

// acc[i] += r0[i], then r1[i], r2[i], r3[i] (T float or the float64 partials of the mixed layout).
template <typename T>
CONVNET_VAR_KERNEL void add_rows4(double* __restrict acc, const T* __restrict r0, const T* __restrict r1,
                                  const T* __restrict r2, const T* __restrict r3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    double a = acc[i];
    a += static_cast<double>(r0[i]);
    a += static_cast<double>(r1[i]);
    a += static_cast<double>(r2[i]);
    a += static_cast<double>(r3[i]);
    acc[i] = a;
  }
}

template <typename T>
CONVNET_VAR_KERNEL void add_row(double* __restrict acc, const T* __restrict r0, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += static_cast<double>(r0[i]);
}

// acc[i] += (r[i] - mean[i])^2 for rows r0, r1, r2, r3 in that order.
CONVNET_VAR_KERNEL void add_squared_deviations4(double* __restrict acc, const double* __restrict mean,
                                                const float* __restrict r0, const float* __restrict r1,
                                                const float* __restrict r2, const float* __restrict r3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double m = mean[i];
    const double d0 = r0[i] - m, d1 = r1[i] - m, d2 = r2[i] - m, d3 = r3[i] - m;
    double a = acc[i];
    a += d0 * d0;
    a += d1 * d1;
    a += d2 * d2;
    a += d3 * d3;
    acc[i] = a;
  }
}

CONVNET_VAR_KERNEL void add_squared_deviations(double* __restrict acc, const double* __restrict mean,
                                               const float* __restrict r0, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double d = r0[i] - mean[i];
    acc[i] += d * d;
  }
}

// acc[0, width) = the sum over rows r0 <= r < r1 (the cursor at r0) of row r's chunk at base,
// or (mean given) of its squared deviations from mean[0, width). Whole rows follow one another
// and are read as one stream; chunks of longer rows four at a time (as reduce.cc's rows).
template <typename T>
void add_chunk(const T* base, RowCursor& cursor, int64_t r0, int64_t r1, int64_t width, bool one_stream,
               const double* mean, double* acc) {
  std::fill(acc, acc + width, 0.0);
  int64_t r = r0;
  for (; !one_stream && r + 4 <= r1; r += 4) {
    const T* p[4];
    cursor.take(base, p, 4);
    if constexpr (std::is_same_v<T, float>) {
      if (mean) {
        add_squared_deviations4(acc, mean, p[0], p[1], p[2], p[3], width);
        continue;
      }
    }
    add_rows4<T>(acc, p[0], p[1], p[2], p[3], width);
  }
  for (; r < r1; ++r, cursor.next()) {
    if constexpr (std::is_same_v<T, float>) {
      if (mean) {
        add_squared_deviations(acc, mean, base + cursor.offset(), width);
        continue;
      }
    }
    add_row<T>(acc, base + cursor.offset(), width);
  }
}

// out[o * inner + i] = the float64 sum over x's rows (or, mean given, of the squared deviations
// from mean[o * inner + i]): blocks of rows (Rows::rows_per_block) whose partials are added in
// order.
template <typename T>
void rows_total(const Rows& rows, const T* x, const double* mean, double* out) {
  const int64_t per_block = rows.rows_per_block(), blocks = ceil_div(rows.rows, per_block);
  const int64_t chunk = rows.chunk_width(blocks), out_n = rows.outer * rows.inner;
  std::vector<double> partial(static_cast<size_t>(blocks > 1 ? blocks * out_n : 0));
  for_each_row_chunk(rows, per_block, chunk, [&](int64_t o, int64_t i0, int64_t width, int64_t r0, int64_t r1,
                                                 RowCursor& cursor, int64_t block) {
    const int64_t at = o * rows.inner + i0;
    double* acc = (blocks > 1 ? partial.data() + block * out_n : out) + at;
    add_chunk(x + rows.outer_offset(o) + i0, cursor, r0, r1, width, width == rows.inner, mean ? mean + at : nullptr, acc);
  });
  if (blocks == 1) return;
  parallel_for(out_n, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      double s = partial[j];
      for (int64_t b = 1; b < blocks; ++b) s += partial[b * out_n + j];
      out[j] = s;
    }
  });
}

// The rows-only layout: mean and m2 per output. With one block of rows, a task takes its chunk's
// sums, then its deviations, while the chunk is still in the cache; else two passes over x.
void row_statistics(const Rows& rows, const float* x, int64_t count, double* mean, double* m2) {
  const double n = static_cast<double>(count);
  const int64_t per_block = rows.rows_per_block();
  if (per_block < rows.rows) {
    rows_total(rows, x, nullptr, mean);
    for (int64_t j = 0; j < rows.outer * rows.inner; ++j) mean[j] /= n;
    rows_total(rows, x, mean, m2);
    return;
  }
  for_each_row_chunk(rows, per_block, rows.chunk_width(1), [&](int64_t o, int64_t i0, int64_t width, int64_t r0,
                                                                 int64_t r1, RowCursor& cursor, int64_t) {
    const int64_t at = o * rows.inner + i0;
    const float* base = x + rows.outer_offset(o) + i0;
    add_chunk(base, cursor, r0, r1, width, width == rows.inner, nullptr, mean + at);
    for (int64_t i = 0; i < width; ++i) mean[at + i] /= n;
    cursor.seek(r0);
    add_chunk(base, cursor, r0, r1, width, width == rows.inner, mean + at, m2 + at);
  });
}

// ---- which output a line of x belongs to -------------------------------------------------------

// x's merged axes as lines of the last one: line j's first element belongs to output of(j), and
// (a kept last axis) element i of the line to of(j) + i. The kept axes' digits of j, row-major.
class LineOutputs {
 public:
  explicit LineOutputs(const std::vector<Axis>& merged) {
    int64_t stride = 1;
    for (size_t k = merged.size(); k-- > 0;) {
      if (k + 1 < merged.size()) {
        size_.push_back(merged[k].size);
        out_stride_.push_back(merged[k].reduced ? 0 : stride);
      }
      if (!merged[k].reduced) stride *= merged[k].size;
    }
  }
  int64_t of(int64_t j) const {
    int64_t out = 0;
    for (size_t k = 0; k < size_.size(); ++k) {  // innermost first
      out += (j % size_[k]) * out_stride_[k];
      j /= size_[k];
    }
    return out;
  }

 private:
  std::vector<int64_t> size_, out_stride_;
};

// The mixed layout (reduced axes before a kept one, and a reduced last axis): the runs' partials,
// then those as rows over the other merged axes.
void mixed_statistics(const float* x, std::vector<Axis> merged, int64_t count, double* mean, double* m2) {
  const LineOutputs outputs(merged);
  const int64_t run = merged.back().size;
  merged.pop_back();
  int64_t runs = 1;
  for (Axis& a : merged) {
    runs *= a.size;
    a.stride /= run;  // the partials' strides: one partial per run
  }
  const Rows rows(merged);
  const int64_t out_n = rows.outer * rows.inner;
  const double n = static_cast<double>(count);
  std::vector<double> partial(static_cast<size_t>(runs));
  per_run(runs, run, [&](int64_t, int64_t at, int64_t len) { return run_sum(x + at, len); }, partial.data());
  rows_total(rows, partial.data(), nullptr, mean);
  for (int64_t j = 0; j < out_n; ++j) mean[j] /= n;
  per_run(runs, run, [&](int64_t j, int64_t at, int64_t len) {
    return run_squared_deviations(x + at, mean[outputs.of(j)], len);
  }, partial.data());
  rows_total(rows, partial.data(), nullptr, m2);
}

}  // namespace

void var_std(const Tensor& x, const std::vector<int64_t>& axes, double correction, bool take_sqrt, const Tensor& y,
             const Tensor& mean) {
  const int64_t out_n = y.numel();
  if (out_n == 0) return;
  const int64_t count = x.numel() / out_n;
  float *py = y.f32(), *pmean = mean.f32();
  if (count == 0) {  // the mean of nothing, and 0 / 0
    std::fill(py, py + out_n, std::numeric_limits<float>::quiet_NaN());
    std::fill(pmean, pmean + out_n, std::numeric_limits<float>::quiet_NaN());
    return;
  }
  std::vector<double> mu(static_cast<size_t>(out_n)), m2(static_cast<size_t>(out_n));
  const std::vector<Axis> merged = reduction::merged_axes(x.shape, axes);
  const float* px = x.f32();
  if (merged.empty() || !merged.back().reduced) {
    row_statistics(Rows(merged), px, count, mu.data(), m2.data());
  } else if (std::none_of(merged.begin(), merged.end() - 1, [](const Axis& a) { return a.reduced; })) {
    run_statistics(px, out_n, count, mu.data(), m2.data());
  } else {
    mixed_statistics(px, merged, count, mu.data(), m2.data());
  }
  const double divisor = std::max(0.0, static_cast<double>(count) - correction);
  for (int64_t j = 0; j < out_n; ++j) {
    const double var = m2[j] / divisor;
    py[j] = static_cast<float>(take_sqrt ? std::sqrt(var) : var);
    pmean[j] = static_cast<float>(mu[j]);
  }
}

// ---- backward ----------------------------------------------------------------------------------

namespace {

// dx = c * (x - mean), one output's c and mean for the whole run.
CONVNET_VAR_KERNEL void scale_run(const float* __restrict x, float c, float mean, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = c * (x[i] - mean);
}

// dx[i] = c[i] * (x[i] - mean[i]), one output per element (a kept last axis).
CONVNET_VAR_KERNEL void scale_line(const float* __restrict x, const float* __restrict c, const float* __restrict mean,
                                   float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = c[i] * (x[i] - mean[i]);
}

}  // namespace

void var_std_backward(const Tensor& dy, const Tensor& x, const Tensor& y, const Tensor& mean,
                      const std::vector<int64_t>& axes, double correction, bool take_sqrt, const Tensor& dx) {
  const int64_t numel = x.numel(), out_n = y.numel();
  if (numel == 0) return;
  const int64_t count = numel / out_n;
  // Per output, PyTorch's factor in float32: float(2 / (n - correction)) * g, g = dy for var and
  // dy / (2 std) for std (0 where std = 0).
  const float k = static_cast<float>(2.0 / (static_cast<double>(count) - correction));
  const float *pdy = dy.f32(), *py = y.f32(), *pmean = mean.f32(), *px = x.f32();
  std::vector<float> c(static_cast<size_t>(out_n));
  for (int64_t j = 0; j < out_n; ++j) {
    const float g = take_sqrt ? (py[j] == 0.0f ? 0.0f : pdy[j] / (py[j] * 2.0f)) : pdy[j];
    c[j] = k * g;
  }
  float* pdx = dx.f32();
  const std::vector<Axis> merged = reduction::merged_axes(x.shape, axes);
  if (merged.empty()) {  // one element (or only size-1 axes): one output
    scale_run(px, c[0], pmean[0], pdx, numel);
    return;
  }
  const LineOutputs outputs(merged);
  const int64_t len = merged.back().size, lines = numel / len, pieces = ceil_div(len, kBlock);
  const bool kept_last = !merged.back().reduced;
  // Lines of the last merged axis, cut into pieces of kBlock so that a single long line uses
  // every thread. Element-wise: no order to keep.
  parallel_for(lines * pieces, std::max<int64_t>(1, kBlock / std::min(len, kBlock)), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t line = t / pieces, i0 = (t % pieces) * kBlock, n = std::min(kBlock, len - i0);
      const int64_t at = line * len + i0, out = outputs.of(line);
      if (kept_last) scale_line(px + at, c.data() + out + i0, pmean + out + i0, pdx + at, n);
      else scale_run(px + at, c[out], pmean[out], pdx + at, n);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
