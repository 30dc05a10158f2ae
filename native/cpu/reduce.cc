// Reductions over axes (sum, mean, max, min) and argmax; int32 sum / max / min and argmin.
//
// Accumulation is in float64, in a fixed order per output element, so the result is the
// same for any thread count (sums of a trailing run: 16 lanes, then the lanes pairwise, by
// vec::sum). Three layouts:
//  - the reduced axes form one run of adjacent axes: x viewed as [outer, R, inner] and
//    y[o, i] = reduce_r x[o, r, i]; with inner == 1 (the trailing case) long rows are summed
//    in fixed-size blocks combined in order, so even a full reduction uses every thread;
//  - anything else: a list of the reduced elements' offsets, walked per output element.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/simd_clones.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kBlock = 1 << 14;  // elements per partial of a long trailing reduction

struct Accumulator {
  ReduceOp op;
  double init() const {
    switch (op) {
      case ReduceOp::Max: return -std::numeric_limits<double>::infinity();
      case ReduceOp::Min: return std::numeric_limits<double>::infinity();
      default: return 0.0;
    }
  }
  // NaN propagates through max and min, as in PyTorch.
  double combine(double acc, double v) const {
    switch (op) {
      case ReduceOp::Max: return (v > acc || v != v) && acc == acc ? v : acc;
      case ReduceOp::Min: return (v < acc || v != v) && acc == acc ? v : acc;
      default: return acc + v;
    }
  }
};

// The trailing case's runs, vectorised (a plain loop carrying one accumulator cannot be, without
// reordering its additions): sums come from vec::sum (16 float64 lanes in a fixed order, the same
// bits on every CPU path); max and min keep 16 lanes here, which gives the sequential loop's
// value exactly (max and min do not round). Sequential float64 loops ran 4-6x slower than
// PyTorch's reductions (a full sum of 12.8M floats: 3.7 ms against 0.6). The lanes are GCC
// vector types: written as arrays of 16 floats, GCC kept them in 16 scalar registers (max over
// the rows of [512, 4096] at 2 threads: 0.27 ms, PyTorch 0.29; 0.62 when the build passed
// -fno-trapping-math); as vectors 0.05 ms (`node dist/bench/tensor-ops.js`).
typedef float Floats16 __attribute__((vector_size(64)));
typedef int32_t Ints16 __attribute__((vector_size(64)));

template <bool kMax>
CONVNET_SIMD_CLONES float extremum_lanes(const float* __restrict x, int64_t n) {
  // 16 lanes of the extremum (plain compares: a NaN never wins them) and 16 of "saw a NaN".
  const float init = kMax ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  Floats16 lane = Floats16{} + init;
  Ints16 nan = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    Floats16 v;
    std::memcpy(&v, x + i, sizeof v);
    lane = (kMax ? v > lane : v < lane) ? v : lane;
    nan |= v != v;
  }
  float best = lane[0];
  int32_t any_nan = nan[0];
  for (int j = 1; j < 16; ++j) {
    best = (kMax ? lane[j] > best : lane[j] < best) ? lane[j] : best;
    any_nan |= nan[j];
  }
  for (; i < n; ++i) {
    best = (kMax ? x[i] > best : x[i] < best) ? x[i] : best;
    any_nan |= x[i] != x[i];
  }
  if (any_nan) {  // NaN propagates, as in PyTorch: the first one, as the sequential loop returned
    for (i = 0; x[i] == x[i]; ++i) {
    }
    return x[i];
  }
  return best;
}

// The first r with x[r] == value, or x[r] NaN for a NaN value; value must be in x. Whole
// vectors of 16 are tested first (the element by element loop was half of argmax's time).
CONVNET_SIMD_CLONES int64_t first_index_of(const float* __restrict x, int64_t n, float value) {
  const bool nan = value != value;
  int64_t r = 0;
  for (; r + 16 <= n; r += 16) {
    Floats16 v;
    std::memcpy(&v, x + r, sizeof v);
    const Ints16 hit = nan ? v != v : v == value;
    Ints16 zero = {};
    if (std::memcmp(&hit, &zero, sizeof hit) != 0) break;
  }
  while (nan ? x[r] == x[r] : x[r] != value) ++r;
  return r;
}

// One run of a trailing reduction, in float64: the sum (vec::sum's order), or the max / min.
double reduce_run(ReduceOp op, const float* x, int64_t n) {
  if (op == ReduceOp::Sum || op == ReduceOp::Mean) return vec::sum(x, n);
  return op == ReduceOp::Max ? extremum_lanes<true>(x, n) : extremum_lanes<false>(x, n);
}

// sums[i] += row[i]: the running float64 sums of the other layout, a row at a time.
CONVNET_SIMD_CLONES
void add_row(double* __restrict sums, const float* __restrict row, int64_t n) {
  for (int64_t i = 0; i < n; ++i) sums[i] += row[i];
}

// The general layout (reduced axes not adjacent): where each output's elements lie in x, as the
// output's base element plus the offsets of the reduced elements, in row-major order.
struct GeneralLayout {
  Shape shape;
  std::vector<int64_t> strides;
  std::vector<bool> is_reduced;
  std::vector<int64_t> offsets;

  GeneralLayout(const Shape& x_shape, const std::vector<int64_t>& axes)
      : shape(x_shape), strides(contiguous_strides(x_shape)), is_reduced(x_shape.size(), false), offsets{0} {
    for (int64_t a : axes) is_reduced[a] = true;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (!is_reduced[d]) continue;
      std::vector<int64_t> grown;
      grown.reserve(offsets.size() * shape[d]);
      for (int64_t base : offsets)
        for (int64_t i = 0; i < shape[d]; ++i) grown.push_back(base + i * strides[d]);
      offsets.swap(grown);
    }
  }

  // x's index of output o's first element.
  int64_t base(int64_t o) const {
    int64_t at = 0, rest = o;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (is_reduced[d]) continue;
      at += (rest % shape[d]) * strides[d];
      rest /= shape[d];
    }
    return at;
  }
};

double finish(ReduceOp op, double acc, int64_t count) {
  return op == ReduceOp::Mean ? (count ? acc / static_cast<double>(count) : std::nan("")) : acc;
}

}  // namespace

void reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y) {
  const Accumulator acc{op};
  const float* px = x.f32();
  float* py = y.f32();
  const int64_t out_n = y.numel();
  const int64_t count = out_n ? x.numel() / out_n : 0;
  if (out_n == 0) return;
  if (count == 0) {
    CONVNET_CHECK(op == ReduceOp::Sum || op == ReduceOp::Mean, "E_SHAPE",
                  "max/min of an empty tensor has no identity");
    for (int64_t i = 0; i < out_n; ++i) py[i] = static_cast<float>(finish(op, 0.0, 0));
    return;
  }
  const bool adjacent = axes.empty() || axes.back() - axes.front() + 1 == static_cast<int64_t>(axes.size());
  if (adjacent) {
    int64_t outer = 1, reduced = 1, inner = 1;
    for (int64_t d = 0; d < x.dim(); ++d) {
      if (!axes.empty() && d < axes.front()) outer *= x.shape[d];
      else if (!axes.empty() && d <= axes.back()) reduced *= x.shape[d];
      else inner *= x.shape[d];
    }
    if (inner == 1) {
      const int64_t blocks = (reduced + kBlock - 1) / kBlock;
      std::vector<double> partial(static_cast<size_t>(outer * blocks));
      parallel_for(outer * blocks, 1, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          const int64_t o = t / blocks, blk = t % blocks;
          const int64_t r0 = blk * kBlock;  // a multiple of 16: vec::sum's lanes line up the same in every block
          partial[t] = reduce_run(op, px + o * reduced + r0, std::min(reduced, r0 + kBlock) - r0);
        }
      });
      for (int64_t o = 0; o < out_n; ++o) {
        double a = partial[o * blocks];
        for (int64_t blk = 1; blk < blocks; ++blk) a = acc.combine(a, partial[o * blocks + blk]);
        py[o] = static_cast<float>(finish(op, a, count));
      }
      return;
    }
    // y[o, i] over chunks of i, each chunk accumulating whole rows x[o, r, chunk] in order. Chunks
    // as wide as the rows allow (up to 2048: 16 KiB of sums), so that x is read in long runs
    // (256-wide chunks of 784-element rows ran 2.3 ms for [64, 256, 28, 28] over dim 1, PyTorch
    // 1.0), narrower only to give every thread work. Each y element is the same sum either way.
    int64_t chunk = std::min<int64_t>(inner, 2048);
    while (chunk > 256 && outer * ((inner + chunk - 1) / chunk) < 4 * num_threads()) chunk = std::max<int64_t>(256, chunk / 2);
    const int64_t chunks = (inner + chunk - 1) / chunk;
    parallel_for(outer * chunks, 1, [&](int64_t begin, int64_t end) {
      std::vector<double> sums(chunk);
      for (int64_t t = begin; t < end; ++t) {
        const int64_t o = t / chunks, i0 = (t % chunks) * chunk, width = std::min(chunk, inner - i0);
        std::fill(sums.begin(), sums.begin() + width, acc.init());
        for (int64_t r = 0; r < reduced; ++r) {
          const float* row = px + (o * reduced + r) * inner + i0;
          if (op == ReduceOp::Sum || op == ReduceOp::Mean) {
            add_row(sums.data(), row, width);
          } else {
            for (int64_t i = 0; i < width; ++i) sums[i] = acc.combine(sums[i], row[i]);
          }
        }
        for (int64_t i = 0; i < width; ++i) py[o * inner + i0 + i] = static_cast<float>(finish(op, sums[i], count));
      }
    });
    return;
  }
  // Reduced axes that end in a trailing run (a broadcast bias's gradient: [N, C, H, W] over
  // 0, 2, 3): each contiguous run is reduced first, like the trailing case (vec::sum's order),
  // into float64 partials [N, C], which the general walk below then combines in order. The walk
  // over every element's offset ran 0.19x PyTorch's speed there.
  int64_t run = 1, lead = x.dim();
  while (lead > 0 && std::find(axes.begin(), axes.end(), lead - 1) != axes.end()) run *= x.shape[--lead];
  if (run >= 16) {
    const int64_t rows = x.numel() / run;
    std::vector<double> partial(static_cast<size_t>(rows));
    parallel_for(rows, std::max<int64_t>(1, (1 << 14) / run), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) partial[r] = reduce_run(op, px + r * run, run);
    });
    const Shape lead_shape(x.shape.begin(), x.shape.begin() + lead);
    std::vector<int64_t> lead_axes;
    for (int64_t a : axes)
      if (a < lead) lead_axes.push_back(a);
    const GeneralLayout layout(lead_shape, lead_axes);
    parallel_for(out_n, 64, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const int64_t base = layout.base(o);
        double a = acc.init();
        for (int64_t off : layout.offsets) a = acc.combine(a, partial[base + off]);
        py[o] = static_cast<float>(finish(op, a, count));
      }
    });
    return;
  }
  // General case: offsets of the reduced elements relative to each output's base element.
  const GeneralLayout layout(x.shape, axes);
  const std::vector<int64_t>& offsets = layout.offsets;
  parallel_for(out_n, 64, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const int64_t base = layout.base(o);
      double a = acc.init();
      for (int64_t off : offsets) a = acc.combine(a, px[base + off]);
      py[o] = static_cast<float>(finish(op, a, count));
    }
  });
}

void argmax(const Tensor& x, int64_t axis, const Tensor& y) {
  int64_t outer = 1, inner = 1;
  const int64_t len = x.shape[axis];
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  const float* px = x.f32();
  int32_t* py = y.i32();
  if (inner == 1 && len > 0) {
    // Rows: the max by 16 lanes, then the first index holding it (the first NaN, where there is
    // one, as below). -0 == 0, so the first zero wins as in the sequential loop. [512, 4096]
    // over rows, 2 threads: 0.59 -> 0.08 ms (`node dist/bench/tensor-ops.js`).
    parallel_for(outer, std::max<int64_t>(1, 4096 / len), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const float* row = px + o * len;
        py[o] = static_cast<int32_t>(first_index_of(row, len, extremum_lanes<true>(row, len)));
      }
    });
    return;
  }
  parallel_for(outer * inner, 256, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / inner, i = t % inner;
      const float* p = px + o * len * inner + i;
      int64_t best = 0;
      float best_value = p[0];
      for (int64_t r = 1; r < len && best_value == best_value; ++r) {
        const float v = p[r * inner];
        if (v > best_value || v != v) {
          best = r;
          best_value = v;
        }
      }
      py[t] = static_cast<int32_t>(best);
    }
  });
}

// ---- int32 --------------------------------------------------------------------------------
// Sum, max and min of int32 values, accumulated in int64 (exact, so the order does not matter):
// adjacent reduced axes as [outer, R, inner] (a full reduction in blocks on every thread), any
// other set through the offsets of the reduced elements (the general layout above). PyTorch sums
// int32 to int64; this library has no int64, so a sum outside int32 is an E_RANGE error rather
// than a silently wrapped value (the output then holds the wrapped sum, never seen without it).
void reduce_int32(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y) {
  CONVNET_CHECK(op == ReduceOp::Sum || op == ReduceOp::Max || op == ReduceOp::Min, "E_DTYPE",
                "mean: expected a float32 tensor, got int32 (cast it first)");
  const int32_t* px = x.i32();
  int32_t* py = y.i32();
  const int64_t out_n = y.numel();
  if (out_n == 0) return;
  const int64_t count = x.numel() / out_n;
  CONVNET_CHECK(count > 0 || op == ReduceOp::Sum, "E_SHAPE", "max/min of an empty tensor has no identity");
  // Combines the int64 accumulator with one more value (sums are exact: any order gives the same).
  const auto combine = [op](int64_t a, int64_t v) {
    return op == ReduceOp::Sum ? a + v : op == ReduceOp::Max ? std::max(a, v) : std::min(a, v);
  };
  std::atomic<int64_t> bad{-1};
  const auto store = [&](int64_t o, int64_t a) {
    if (a > INT32_MAX || a < INT32_MIN) {
      int64_t none = -1;
      bad.compare_exchange_strong(none, o);
    }
    py[o] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(a)));
  };
  const auto check = [&] {
    CONVNET_CHECK(bad.load() < 0, "E_RANGE", "sum: the int32 sum at output position ", bad.load(),
                  " is outside the int32 range [-2147483648, 2147483647] (cast to float32 first)");
  };
  const bool adjacent = axes.empty() || axes.back() - axes.front() + 1 == static_cast<int64_t>(axes.size());
  if (adjacent && count > 0) {
    // x as [outer, R, inner]: y[o, i] combines x[o, r, i] over r (no offset list to build).
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < x.dim(); ++d) {
      if (!axes.empty() && d < axes.front()) outer *= x.shape[d];
      else if (axes.empty() || d > axes.back()) inner *= x.shape[d];
    }
    const int64_t reduced = count;
    if (out_n == 1) {  // a full reduction: fixed blocks on every thread, combined in order
      const int64_t blocks = (reduced + kBlock - 1) / kBlock;
      std::vector<int64_t> partial(static_cast<size_t>(blocks));
      parallel_for(blocks, 1, [&](int64_t begin, int64_t end) {
        for (int64_t blk = begin; blk < end; ++blk) {
          const int64_t r0 = blk * kBlock, r1 = std::min(reduced, r0 + kBlock);
          int64_t a = op == ReduceOp::Sum ? 0 : px[r0];
          for (int64_t r = r0; r < r1; ++r) a = combine(a, px[r]);
          partial[blk] = a;
        }
      });
      int64_t a = partial[0];
      for (int64_t blk = 1; blk < blocks; ++blk) a = combine(a, partial[blk]);
      store(0, a);
      return check();
    }
    parallel_for(out_n, std::max<int64_t>(1, 4096 / reduced), [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t o = t / inner, i = t % inner;
        const int32_t* p = px + o * reduced * inner + i;
        int64_t a = op == ReduceOp::Sum ? 0 : p[0];
        for (int64_t r = 0; r < reduced; ++r) a = combine(a, p[r * inner]);
        store(t, a);
      }
    });
    return check();
  }
  GeneralLayout layout(x.shape, axes);
  if (count == 0) layout.offsets.clear();
  const std::vector<int64_t>& offsets = layout.offsets;
  parallel_for(out_n, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, count)), [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const int64_t base = layout.base(o);
      int64_t a = op == ReduceOp::Sum ? 0 : px[base + offsets[0]];
      for (int64_t off : offsets) a = combine(a, px[base + off]);
      store(o, a);
    }
  });
  check();
}

namespace {

template <typename T>
void arg_extremum_loop(const T* px, int64_t outer, int64_t len, int64_t inner, bool largest, int32_t* py) {
  parallel_for(outer * inner, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, len)), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / inner, i = t % inner;
      const T* p = px + o * len * inner + i;
      int64_t best = 0;
      T best_value = p[0];
      // The first NaN ends the scan: it wins for argmax and argmin alike (as PyTorch).
      for (int64_t r = 1; r < len && best_value == best_value; ++r) {
        const T v = p[r * inner];
        if ((largest ? v > best_value : v < best_value) || v != v) {
          best = r;
          best_value = v;
        }
      }
      py[t] = static_cast<int32_t>(best);
    }
  });
}

}  // namespace

void arg_extremum(const Tensor& x, int64_t axis, bool largest, const Tensor& y) {
  int64_t outer = 1, inner = 1;
  const int64_t len = x.shape[axis];
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  if (len == 0 || outer * inner == 0) return;
  if (x.dtype == DType::Int32) arg_extremum_loop(x.i32(), outer, len, inner, largest, y.i32());
  else arg_extremum_loop(x.f32(), outer, len, inner, largest, y.i32());
}

}  // namespace cpu
}  // namespace convnet
