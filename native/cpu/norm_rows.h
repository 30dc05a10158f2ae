// The vectorised row loops that the normalisations share (batch_norm.cc, layer_norm.cc,
// group_norm.cc): a row's sum, its squared deviations from a mean, the backward's two sums, and
// the element-wise passes that write y and dx. Each is a fixed sequence of float and float64
// operations on one contiguous row, so a row's result never depends on which thread ran it.
// The functions are static: each translation unit gets its own copies (and SIMD clones).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/lanes16.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {

// One row of the backward's sums: sum dy and sum dy * (x - mean). Sixteen float lanes add up
// blocks of up to kSumBlock vectors (256 values), and each block's lanes are then added to sixteen
// float64 lanes; at the end those are added pairwise (a fixed order). PyTorch sums a whole row
// in float lanes; a block bounds the float part at 16 values a lane. fp-contract=off: every
// clone rounds dy * (x - mean) and then the sum, as the baseline does, so every CPU gives the
// same bits. (Widening every value to float64 first, as this did before, spent more on the
// conversions than on the sums: the backward on [8, 96, 55, 55] at 2 threads went from 1.03-1.14x
// to 1.55x PyTorch's speed, `node dist/bench/run.js layers --threads 2`.)
// The lanes are lanes16.h's: GCC vectors (GCC leaves the same loop over arrays of lanes scalar),
// 64 bytes wide where the CPU has AVX-512, pairs of 32-byte ones elsewhere (lanes16::wide());
// each kernel below is a template on that layout L, behind a function that picks it.
constexpr int64_t kSumBlock = 16;

template <typename L>
__attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
[[maybe_unused]] static void row_sums_lanes(const float* __restrict dy, const float* __restrict x, float mean, int64_t n, double* sum_dy,
              double* sum_dy_xmu) {
  using Floats16 = typename L::Floats16;
  typename L::Doubles8 s0 = {}, s1 = {}, p0 = {}, p1 = {};
  int64_t i = 0;
  while (i + 16 <= n) {
    Floats16 s = {}, p = {};
    const int64_t block_end = std::min(n, i + 16 * kSumBlock);
    for (; i + 16 <= block_end; i += 16) {
      Floats16 d, xv;
      L::load16(dy + i, d);
      L::load16(x + i, xv);
      s += d;
      p += d * (xv - mean);
    }
    L::widen_add(s, s0, s1);
    L::widen_add(p, p0, p1);
  }
  if (i < n) {
    // The tail, into the first lanes in order, as one vector padded with dy = 0 and x - mean =
    // 0 (indexing single lanes of the accumulators spilled them to the stack and stalled on
    // store forwarding). Same bits: a lane starts at +0 and so is never -0, and adding +0
    // (0 * 0) leaves every other value (NaN and inf included) as it is.
    Floats16 d = {}, xmu = {};
    for (int l = 0; i + l < n; ++l) L::set_lane(d, l, dy[i + l]), L::set_lane(xmu, l, x[i + l] - mean);
    L::widen_add(d, s0, s1);
    L::widen_add(d * xmu, p0, p1);
  }
  *sum_dy = L::add_lanes(s0, s1);
  *sum_dy_xmu = L::add_lanes(p0, p1);
}

[[maybe_unused]] static void row_sums(const float* dy, const float* x, float mean, int64_t n, double* sum_dy,
                                      double* sum_dy_xmu) {
  if (lanes16::wide()) row_sums_lanes<lanes16::Wide>(dy, x, mean, n, sum_dy, sum_dy_xmu);
  else row_sums_lanes<lanes16::Pairs>(dy, x, mean, n, sum_dy, sum_dy_xmu);
}

// One row's sum of x, and its sum of (x - mean)^2, in the blocks of row_sums: sixteen float
// lanes over up to 256 values, then added to float64 lanes (a fixed order). They were scalar
// float64 sums over every value (four lanes), which held the per-sample norms (then computed
// as batch norm) to 0.2-0.5x PyTorch's speed. Layer and group norm's rows use them too.
template <typename L>
__attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
[[maybe_unused]] static double row_sum_lanes(const float* __restrict x, int64_t n) {
  using Floats16 = typename L::Floats16;
  typename L::Doubles8 s0 = {}, s1 = {};
  int64_t i = 0;
  while (i + 16 <= n) {
    Floats16 s = {};
    const int64_t block_end = std::min(n, i + 16 * kSumBlock);
    for (; i + 16 <= block_end; i += 16) {
      Floats16 xv;
      L::load16(x + i, xv);
      s += xv;
    }
    L::widen_add(s, s0, s1);
  }
  if (i < n) {
    Floats16 v = {};
    for (int l = 0; i + l < n; ++l) L::set_lane(v, l, x[i + l]);
    L::widen_add(v, s0, s1);
  }
  return L::add_lanes(s0, s1);
}

[[maybe_unused]] static double row_sum(const float* __restrict x, int64_t n) {
  return lanes16::wide() ? row_sum_lanes<lanes16::Wide>(x, n) : row_sum_lanes<lanes16::Pairs>(x, n);
}

template <typename L>
__attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
[[maybe_unused]] static double row_squared_deviations_lanes(const float* __restrict x, float mean, int64_t n) {
  using Floats16 = typename L::Floats16;
  typename L::Doubles8 s0 = {}, s1 = {};
  int64_t i = 0;
  while (i + 16 <= n) {
    Floats16 s = {};
    const int64_t block_end = std::min(n, i + 16 * kSumBlock);
    for (; i + 16 <= block_end; i += 16) {
      Floats16 xv;
      L::load16(x + i, xv);
      const Floats16 d = xv - mean;
      s += d * d;
    }
    L::widen_add(s, s0, s1);
  }
  if (i < n) {
    Floats16 v = {};  // the tail padded with 0: 0 * 0 adds nothing
    for (int l = 0; i + l < n; ++l) L::set_lane(v, l, x[i + l] - mean);
    L::widen_add(v * v, s0, s1);
  }
  return L::add_lanes(s0, s1);
}

[[maybe_unused]] static double row_squared_deviations(const float* __restrict x, float mean, int64_t n) {
  return lanes16::wide() ? row_squared_deviations_lanes<lanes16::Wide>(x, mean, n) : row_squared_deviations_lanes<lanes16::Pairs>(x, mean, n);
}

// y = (x - mean) * scale + shift over one row (no FMA: the same bits on every CPU).
__attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
[[maybe_unused]] static void normalize_row(const float* __restrict x, float mean, float scale, float shift, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * scale + shift;
}

// dx = a * dy + k * (x - mean) + c0 over one row. fp-contract=off: every clone rounds each
// product and sum as the baseline does (no FMA), so every CPU gives the same bits.
__attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
[[maybe_unused]] static void backward_row(const float* __restrict dy, const float* __restrict x, float mean, float a, float k, float c0,
                  float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = a * dy[i] + k * (x[i] - mean) + c0;
}


// y = ((x - mean) * scale) * w + b over one row, w and b scalars (group norm: one channel) or
// absent. Each case its own loop, so that a missing weight or bias changes no bit of
// (x - mean) * scale: the bits of the normalised row times w, plus b, as separate ops give
// (an added 0 would turn -0 into +0).
__attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
[[maybe_unused]] static void affine_row_scalar(const float* __restrict x, float mean, float scale, const float* w,
                                               const float* b, float* __restrict y, int64_t n) {
  if (w && b) {
    const float wv = *w, bv = *b;
    for (int64_t i = 0; i < n; ++i) y[i] = ((x[i] - mean) * scale) * wv + bv;
  } else if (w) {
    const float wv = *w;
    for (int64_t i = 0; i < n; ++i) y[i] = ((x[i] - mean) * scale) * wv;
  } else if (b) {
    const float bv = *b;
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * scale + bv;
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * scale;
  }
}

// The same with w and b per value (layer norm: w[i], b[i] along the row), or absent.
__attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
[[maybe_unused]] static void affine_row(const float* __restrict x, float mean, float scale, const float* __restrict w,
                                        const float* __restrict b, float* __restrict y, int64_t n) {
  if (w && b) {
    for (int64_t i = 0; i < n; ++i) y[i] = ((x[i] - mean) * scale) * w[i] + b[i];
  } else if (w) {
    for (int64_t i = 0; i < n; ++i) y[i] = ((x[i] - mean) * scale) * w[i];
  } else if (b) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * scale + b[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * scale;
  }
}

// Layer norm's backward over one row: dx = (dy * w) * rstd + k * (x - mean) + c0 (w per value,
// or absent: 1), and, when given, the affine gradients' running sums acc_w += dy * ((x - mean) *
// rstd), acc_b += dy. One loop: the row is in L1 or L3, and the loads, not the arithmetic, are
// what this costs (three loops took 0.35 ms more than one on [6272, 384]). GCC unswitches the
// loop on the absent pointers (-O3), so each case runs its own vectorised loop.
__attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
[[maybe_unused]] static void layer_norm_backward_row(const float* __restrict dy, const float* __restrict w,
                                                     const float* __restrict x, float mean, float rstd, float k, float c0,
                                                     float* __restrict dx, float* __restrict acc_w,
                                                     float* __restrict acc_b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float d = dy[i], xmu = x[i] - mean;
    dx[i] = (w ? d * w[i] : d) * rstd + k * xmu + c0;
    if (acc_w) acc_w[i] += d * (xmu * rstd);
    if (acc_b) acc_b[i] += d;
  }
}

// Layer norm's row sums: sum g and sum g * (x - mean), g = dy * w (w per value, or absent: 1),
// in row_sums's blocks and order; and in the same pass, when given, the affine
// gradients' running sums acc_w += dy * ((x - mean) * rstd) and acc_b += dy (layer norm's
// backward on short rows: one pass for the sums and the affine gradients, one for dx).
template <typename L>
__attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
[[maybe_unused]] static void layer_norm_row_sums_lanes(const float* __restrict dy, const float* __restrict w,
                                                 const float* __restrict x, float mean, float rstd, int64_t n,
                                                 double* sum_g, double* sum_g_xmu, float* __restrict acc_w,
                                                 float* __restrict acc_b) {
  using Floats16 = typename L::Floats16;
  typename L::Doubles8 s0 = {}, s1 = {}, p0 = {}, p1 = {};
  Floats16 ones;
  L::fill(1.0f, ones);
  int64_t i = 0;
  while (i + 16 <= n) {
    Floats16 s = {}, p = {};
    const int64_t block_end = std::min(n, i + 16 * kSumBlock);
    for (; i + 16 <= block_end; i += 16) {
      Floats16 d, wv = ones, xv;
      L::load16(dy + i, d);
      if (w) L::load16(w + i, wv);
      L::load16(x + i, xv);
      const Floats16 g = w ? d * wv : d, xmu = xv - mean;
      s += g;
      p += g * xmu;
      if (acc_w) {
        Floats16 a;
        L::load16(acc_w + i, a);
        a += d * (xmu * rstd);
        L::store16(acc_w + i, a);
      }
      if (acc_b) {
        Floats16 a;
        L::load16(acc_b + i, a);
        a += d;
        L::store16(acc_b + i, a);
      }
    }
    L::widen_add(s, s0, s1);
    L::widen_add(p, p0, p1);
  }
  if (i < n) {  // the tail padded with g = 0 and x - mean = 0, as row_sums
    Floats16 g = {}, xmu = {};
    for (int l = 0; i + l < n; ++l) {
      const float d = dy[i + l], xm = x[i + l] - mean;
      L::set_lane(g, l, w ? d * w[i + l] : d);
      L::set_lane(xmu, l, xm);
      if (acc_w) acc_w[i + l] += d * (xm * rstd);
      if (acc_b) acc_b[i + l] += d;
    }
    L::widen_add(g, s0, s1);
    L::widen_add(g * xmu, p0, p1);
  }
  *sum_g = L::add_lanes(s0, s1);
  *sum_g_xmu = L::add_lanes(p0, p1);
}

[[maybe_unused]] static void layer_norm_row_sums(const float* dy, const float* w, const float* x, float mean, float rstd,
                                                 int64_t n, double* sum_g, double* sum_g_xmu, float* acc_w, float* acc_b) {
  if (lanes16::wide()) layer_norm_row_sums_lanes<lanes16::Wide>(dy, w, x, mean, rstd, n, sum_g, sum_g_xmu, acc_w, acc_b);
  else layer_norm_row_sums_lanes<lanes16::Pairs>(dy, w, x, mean, rstd, n, sum_g, sum_g_xmu, acc_w, acc_b);
}

// Rows of many values are summed in pieces of kPiece values (a multiple of the 256-value
// blocks), the pieces' float64 sums then added in order: how a row is cut depends on its length
// alone, so a long row's pieces can go to different threads and still give the same bits.
constexpr int64_t kPiece = 16384;

inline int64_t pieces_of(int64_t m) { return std::max<int64_t>(1, (m + kPiece - 1) / kPiece); }

// The statistics of a row of m values from its sums: mean = sum / m (rounded to float, as
// batch norm), rstd = 1 / sqrt(squares / m + eps) (the biased variance, eps inside the root).
inline float row_mean(double sum, int64_t m) { return static_cast<float>(sum / static_cast<double>(m)); }
inline float row_rstd(double squares, int64_t m, double eps) {
  return static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(m) + eps));
}

// The forward of a per-row normalisation over x viewed as [rows, m]: mean[r] and rstd[r] (two
// passes: the sum, then the squared deviations from the float mean, in pieces), then
// write_y(row, begin, end, mean, scale) for each piece [begin, end) of the row, where scale is
// rstd, or 0 for a row of one value (x - mean = 0 normalises to 0 even with eps = 0, as
// x * 0 did; NaN and inf still give NaN). A row is taken whole by one thread (its three passes
// while it is in cache) unless there are fewer rows than threads and more than one piece a row:
// then each pass is spread over the pieces. Same sums in the same order either way.
template <typename WriteY>
void normalize_rows(const float* x, int64_t rows, int64_t m, double eps, float* mean, float* rstd, WriteY write_y) {
  if (rows == 0) return;
  if (m == 0) {  // the mean of nothing: NaN, as PyTorch (and nothing to write)
    for (int64_t r = 0; r < rows; ++r) mean[r] = rstd[r] = NAN;
    return;
  }
  const int64_t pieces = pieces_of(m);
  const bool one_value = m == 1;
  const auto piece_begin = [&](int64_t p) { return p * kPiece; };
  const auto piece_end = [&](int64_t p) { return std::min(m, (p + 1) * kPiece); };
  if (pieces == 1 || rows >= num_threads()) {
    parallel_for(rows, std::max<int64_t>(1, kPiece / m), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* xr = x + r * m;
        double sum = 0.0, squares = 0.0;
        for (int64_t p = 0; p < pieces; ++p) sum += row_sum(xr + piece_begin(p), piece_end(p) - piece_begin(p));
        const float mu = row_mean(sum, m);
        for (int64_t p = 0; p < pieces; ++p) squares += row_squared_deviations(xr + piece_begin(p), mu, piece_end(p) - piece_begin(p));
        mean[r] = mu;
        rstd[r] = row_rstd(squares, m, eps);
        const float scale = one_value ? 0.0f : rstd[r];
        for (int64_t p = 0; p < pieces; ++p) write_y(r, piece_begin(p), piece_end(p), mu, scale);
      }
    });
    return;
  }
  std::vector<double> partial(static_cast<size_t>(rows * pieces));
  const auto each_piece = [&](auto fn) {
    parallel_for(rows * pieces, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) fn(i / pieces, i % pieces);
    });
  };
  const auto add_pieces = [&](int64_t r) {
    double total = 0.0;
    for (int64_t p = 0; p < pieces; ++p) total += partial[r * pieces + p];
    return total;
  };
  each_piece([&](int64_t r, int64_t p) {
    partial[r * pieces + p] = row_sum(x + r * m + piece_begin(p), piece_end(p) - piece_begin(p));
  });
  for (int64_t r = 0; r < rows; ++r) mean[r] = row_mean(add_pieces(r), m);
  each_piece([&](int64_t r, int64_t p) {
    partial[r * pieces + p] = row_squared_deviations(x + r * m + piece_begin(p), mean[r], piece_end(p) - piece_begin(p));
  });
  for (int64_t r = 0; r < rows; ++r) rstd[r] = row_rstd(add_pieces(r), m, eps);
  each_piece([&](int64_t r, int64_t p) { write_y(r, piece_begin(p), piece_end(p), mean[r], one_value ? 0.0f : rstd[r]); });
}

}  // namespace cpu
}  // namespace convnet
