// cumsum (torch.cumsum): running sums along one axis, forward and backward; and cumprod
// (torch.cumprod), the running products, by the same scans (its backward is composed in
// lib/ops.ts from these two); and cummax / cummin, running extremes with their positions.
//   y[..., k, ...] = x[..., 0, ...] + ... + x[..., k, ...]     (cumprod: x[..., 0, ...] * ... * x[..., k, ...])
// float32 sums in float64 (as PyTorch's CPU kernel accumulates), rounded once per output; int32
// ones in int64, where a running sum outside int32 is an E_RANGE error (PyTorch's result is
// int64; this library has none) rather than a silently wrapped value. Each line is summed in
// order by one thread: the same bits for any thread count, and on the GPU (cuda/cumsum.cu).
// `reverse` sums from the end: the backward, dx = reverse cumsum of dy. Products are float32
// only, multiplied in float64 (as PyTorch's CPU kernel), rounded once per output.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/index_range.h"
#include "cpu/scan_rules.h"

namespace convnet {
namespace cpu {
namespace {

// How a scan combines: acc starts at kIdentity, then acc = apply(acc, x) along the line.
struct Add {
  static constexpr int kIdentity = 0;
  template <typename Acc> static Acc apply(Acc acc, Acc x) { return acc + x; }
};
struct Multiply {
  static constexpr int kIdentity = 1;
  template <typename Acc> static Acc apply(Acc acc, Acc x) { return acc * x; }
};

template <typename Acc>
bool outside_int32(Acc a) {
  return a < std::numeric_limits<int32_t>::min() || a > std::numeric_limits<int32_t>::max();
}

// One line of `len` values `step` apart, summed in order (from the end when reverse). `bad`
// (int32 only) notes the first position, counted from x, whose running sum leaves int32.
template <typename T, typename Acc, typename Op>
void scan_line(const T* x, T* y, int64_t len, int64_t step, bool reverse, int64_t first, BadIndex* bad) {
  Acc acc = Op::kIdentity;
  for (int64_t i = 0; i < len; ++i) {
    const int64_t k = (reverse ? len - 1 - i : i) * step;
    acc = Op::apply(acc, static_cast<Acc>(x[k]));
    y[k] = static_cast<T>(acc);
    if (bad && outside_int32(acc)) bad->note(first + k);
  }
}

// The axis is the last (rows): a row's sums are a chain of dependent additions, 4 cycles each;
// kRows rows side by side keep as many chains in flight ([512, 4096] at one thread: 7.6 ms a
// row at a time, 2.9 ms for 8 rows through an array of sums, 1.0 ms for these 4 in registers).
constexpr int64_t kRows = 4;

template <typename T, typename Acc, typename Op>
void scan_rows(const T* x, T* y, int64_t rows, int64_t len, bool reverse, BadIndex* bad) {
  const int64_t groups = (rows + kRows - 1) / kRows;
  parallel_for(groups, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, len * kRows)), [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) {
      const int64_t r0 = g * kRows, count = std::min(kRows, rows - r0);
      const T* xs = x + r0 * len;
      T* ys = y + r0 * len;
      if (count < kRows) {  // the last few rows, one at a time
        for (int64_t r = 0; r < count; ++r) scan_line<T, Acc, Op>(xs + r * len, ys + r * len, len, 1, reverse, (r0 + r) * len, bad);
        continue;
      }
      // Row pointers as locals (and no branch on `reverse` inside): the loop is then loads,
      // adds and stores, with no address arithmetic of its own.
      const T* x0 = xs; const T* x1 = xs + len; const T* x2 = xs + 2 * len; const T* x3 = xs + 3 * len;
      T* y0 = ys; T* y1 = ys + len; T* y2 = ys + 2 * len; T* y3 = ys + 3 * len;
      Acc a0 = Op::kIdentity, a1 = Op::kIdentity, a2 = Op::kIdentity, a3 = Op::kIdentity;
      bool out_of_range = false;
      const int64_t first = reverse ? len - 1 : 0, stride = reverse ? -1 : 1;
      for (int64_t i = 0, k = first; i < len; ++i, k += stride) {
        a0 = Op::apply(a0, static_cast<Acc>(x0[k])); y0[k] = static_cast<T>(a0);
        a1 = Op::apply(a1, static_cast<Acc>(x1[k])); y1[k] = static_cast<T>(a1);
        a2 = Op::apply(a2, static_cast<Acc>(x2[k])); y2[k] = static_cast<T>(a2);
        a3 = Op::apply(a3, static_cast<Acc>(x3[k])); y3[k] = static_cast<T>(a3);
        if (bad) out_of_range |= outside_int32(a0) | outside_int32(a1) | outside_int32(a2) | outside_int32(a3);
      }
      // int32 out of range: the rows again one by one, for the position in the message.
      if (out_of_range) {
        for (int64_t r = 0; r < kRows; ++r) scan_line<T, Acc, Op>(xs + r * len, ys + r * len, len, 1, reverse, (r0 + r) * len, bad);
      }
    }
  });
}

// Any other axis: the lines side by side (the axes after it, `inner` of them) summed a block at a
// time in a float64 buffer, so that the inner loop runs over contiguous memory.
constexpr int64_t kBlock = 512;

template <typename T, typename Acc, typename Op>
void scan_columns(const T* x, T* y, int64_t outer, int64_t len, int64_t inner, bool reverse, BadIndex* bad) {
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  const int64_t per_item = len * std::min(inner, kBlock);
  parallel_for(outer * blocks, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, per_item)), [&](int64_t begin, int64_t end) {
    Acc acc[kBlock];
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / blocks, j0 = (item % blocks) * kBlock, width = std::min(kBlock, inner - j0);
      std::fill(acc, acc + width, Acc(Op::kIdentity));
      bool out_of_range = false;
      for (int64_t i = 0; i < len; ++i) {
        const int64_t k = reverse ? len - 1 - i : i;
        const T* xs = x + (o * len + k) * inner + j0;
        T* ys = y + (o * len + k) * inner + j0;
        for (int64_t j = 0; j < width; ++j) {
          acc[j] = Op::apply(acc[j], static_cast<Acc>(xs[j]));
          ys[j] = static_cast<T>(acc[j]);
        }
        if (bad) for (int64_t j = 0; j < width; ++j) out_of_range |= outside_int32(acc[j]);
      }
      if (out_of_range) {
        const int64_t first = o * len * inner + j0;
        for (int64_t j = 0; j < width; ++j) scan_line<T, Acc, Op>(x + first + j, y + first + j, len, inner, reverse, first + j, bad);
      }
    }
  });
}

template <typename T, typename Acc, typename Op>
void scan_any(const T* x, T* y, int64_t outer, int64_t len, int64_t inner, bool reverse, BadIndex* bad) {
  if (inner == 1) scan_rows<T, Acc, Op>(x, y, outer, len, reverse, bad);
  else scan_columns<T, Acc, Op>(x, y, outer, len, inner, reverse, bad);
}

// The scan's geometry: `outer` lines of `len` along the axis, `inner` apart.
struct Lines {
  int64_t outer = 1, len = 0, inner = 1;
  Lines(const Tensor& x, int64_t axis) : len(x.shape[axis]) {
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
    for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  }
};

}  // namespace

void cumsum(const Tensor& x, int64_t axis, bool reverse, const Tensor& y) {
  if (x.numel() == 0) return;
  const Lines l(x, axis);
  if (x.dtype == DType::Float32) {
    scan_any<float, double, Add>(x.f32(), y.f32(), l.outer, l.len, l.inner, reverse, nullptr);
    return;
  }
  BadIndex bad;  // the lowest position whose running sum leaves int32, whatever thread saw it
  scan_any<int32_t, int64_t, Add>(x.i32(), y.i32(), l.outer, l.len, l.inner, reverse, &bad);
  CONVNET_CHECK(bad.position.load() < 0, "E_RANGE", "cumsum: the running int32 sum at position ", bad.position.load(),
                " is outside the int32 range [-2147483648, 2147483647] (cast to float32 first)");
}

namespace {

// One line of cummax (largest) or cummin, as PyTorch's cummax_cummin_helper (the rule:
// cpu/scan_rules.h's extreme_takes_over).
template <typename T>
void extremum_line(const T* x, T* v, int32_t* at, int64_t len, int64_t step, bool largest) {
  T best = x[0];
  int32_t where = 0;
  for (int64_t i = 0; i < len; ++i) {
    const T xi = x[i * step];
    if (extreme_takes_over(xi, best, largest)) {
      best = xi;
      where = static_cast<int32_t>(i);
    }
    v[i * step] = best;
    at[i * step] = where;
  }
}

// Lines along the last axis one by one; lines `inner` apart a block of neighbours at a time,
// their running extremes side by side, so that each step reads and writes contiguous memory
// (one line at a time strided by `inner`: cummin over dim 0 of [512, 4096] 30.9 ms, PyTorch 34).
template <typename T>
void extremum_lines(const T* x, T* v, int32_t* at, int64_t outer, int64_t len, int64_t inner, bool largest) {
  if (inner == 1) {
    parallel_for(outer, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, len)), [=](int64_t begin, int64_t end) {
      for (int64_t line = begin; line < end; ++line) extremum_line(x + line * len, v + line * len, at + line * len, len, 1, largest);
    });
    return;
  }
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  parallel_for(outer * blocks, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, len * std::min(inner, kBlock))), [=](int64_t begin, int64_t end) {
    T best[kBlock];
    int32_t where[kBlock];
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / blocks, j0 = (item % blocks) * kBlock, width = std::min(kBlock, inner - j0);
      for (int64_t i = 0; i < len; ++i) {
        const int64_t row = (o * len + i) * inner + j0;
        for (int64_t j = 0; j < width; ++j) {
          const T xi = x[row + j];
          // extremum_line's rule (the first entry always takes over).
          if (i == 0 || extreme_takes_over(xi, best[j], largest)) {
            best[j] = xi;
            where[j] = static_cast<int32_t>(i);
          }
          v[row + j] = best[j];
          at[row + j] = where[j];
        }
      }
    }
  });
}

}  // namespace

void cum_extremum(const Tensor& x, int64_t axis, bool largest, const Tensor& values, const Tensor& indices) {
  if (x.numel() == 0) return;
  const Lines l(x, axis);
  if (x.dtype == DType::Float32) extremum_lines(x.f32(), values.f32(), indices.i32(), l.outer, l.len, l.inner, largest);
  else extremum_lines(x.i32(), values.i32(), indices.i32(), l.outer, l.len, l.inner, largest);
}

void cumprod(const Tensor& x, int64_t axis, const Tensor& y) {
  if (x.numel() == 0) return;
  const Lines l(x, axis);
  scan_any<float, double, Multiply>(x.f32(), y.f32(), l.outer, l.len, l.inner, false, nullptr);
}

}  // namespace cpu
}  // namespace convnet
