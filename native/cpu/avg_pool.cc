// Average pooling, as torch.nn.functional.avg_pool2d: y = (sum of the window's in-bounds
// values) / divisor, summed in row-major order in float as PyTorch's CPU kernel. The divisor is
// divisor_override when given (> 0); else with count_include_pad the window's extent clipped to
// the padded input (so with ceil_mode a window hanging past the right padding counts only up to
// it); else the number of in-bounds values. A window wholly in the padding gives 0.
// Backward: each in-bounds value of the window gets dy / divisor.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

struct AvgWindows {
  AxisWindows rows, cols;
  AvgWindows(const Pool2dGeometry& g)
      : rows(axis_windows(g.oh, g.h, g.kh, g.sh, g.ph, 1)), cols(axis_windows(g.ow, g.w, g.kw, g.sw, g.pw, 1)) {}

  // Window (oh, ow)'s divisor is row_factor(oh) * column_factors()[ow]: window extents, or 1 and
  // divisor_override. Small integers, whose float product is exact: the float of their integer
  // product. An empty column's factor is 1, so that its sum (0.0f) stays 0 rather than 0 / 0.
  float row_factor(int64_t oh, bool count_include_pad, int64_t divisor_override) const {
    if (divisor_override > 0) return 1.0f;
    return static_cast<float>(count_include_pad ? rows.padded[oh] : rows.taps[oh]);
  }
  std::vector<float> column_factors(bool count_include_pad, int64_t divisor_override) const {
    std::vector<float> f(cols.taps.size());
    for (size_t ow = 0; ow < f.size(); ++ow) {
      f[ow] = cols.taps[ow] == 0     ? 1.0f
              : divisor_override > 0 ? static_cast<float>(divisor_override)
                                     : static_cast<float>(count_include_pad ? cols.padded[ow] : cols.taps[ow]);
    }
    return f;
  }
};

// Note [2x2 stride 2]: LeNet's 2x2 stride-2 window with no padding and every window whole takes a
// plane-at-a-time path: the general row sweep spent most of its time in per-row overhead on rows
// of 5-14 outputs (0.65-0.95x PyTorch on [64, 16, 10, 10]). Same arithmetic, same bits: the sum
// starts at 0.0f and adds the taps in row-major order (0.0f + -0.0f is +0.0f, as the sweep gives),
// and the divisor (4, or divisor_override) is applied as a division, or as a product with its
// reciprocal when that is a power of two: both are one correctly rounded operation on the same
// exact quotient. The backward writes 0.0f + share to each tap (the memset-then-add of the
// sweep; non-overlapping windows give each element one share at most) and zeros the rest.
// (is_whole_2x2_stride_2 is in pool_window.h.)

float divisor_2x2(int64_t divisor_override) {
  return divisor_override > 0 ? static_cast<float>(divisor_override) : 4.0f;
}

bool is_power_of_two(float d) {
  int e;
  return std::isfinite(d) && std::frexp(d, &e) == 0.5f;
}

CONVNET_SIMD_CLONES
void avg_planes_2x2(const float* __restrict x, const Pool2dGeometry& g, float div, bool by_reciprocal, float* __restrict y,
                    int64_t begin, int64_t end) {
  const int64_t W = g.w, OW = g.ow;
  const float inv = 1.0f / div;
  for (int64_t p = begin; p < end; ++p) {
    for (int64_t oh = 0; oh < g.oh; ++oh) {
      const float* top = x + p * g.h * W + 2 * oh * W;
      const float* bottom = top + W;
      float* yr = y + (p * g.oh + oh) * OW;
      for (int64_t ow = 0; ow < OW; ++ow) {
        float s = 0.0f;
        s += top[2 * ow];
        s += top[2 * ow + 1];
        s += bottom[2 * ow];
        s += bottom[2 * ow + 1];
        yr[ow] = by_reciprocal ? s * inv : s / div;
      }
    }
  }
}

CONVNET_SIMD_CLONES
void avg_planes_2x2_backward(const float* __restrict dy, const Pool2dGeometry& g, float div, bool by_reciprocal,
                             float* __restrict dx, int64_t begin, int64_t end) {
  const int64_t W = g.w, OW = g.ow;
  const float inv = 1.0f / div;
  const bool leftover = g.oh * 2 < g.h || OW * 2 < W;  // rows or columns that no window covers
  for (int64_t p = begin; p < end; ++p) {
    float* plane = dx + p * g.h * W;
    if (leftover) std::memset(plane, 0, g.h * W * sizeof(float));
    for (int64_t oh = 0; oh < g.oh; ++oh) {
      float* top = plane + 2 * oh * W;
      float* bottom = top + W;
      const float* d = dy + (p * g.oh + oh) * OW;
      for (int64_t ow = 0; ow < OW; ++ow) {
        const float share = 0.0f + (by_reciprocal ? d[ow] * inv : d[ow] / div);
        top[2 * ow] = share;
        top[2 * ow + 1] = share;
        bottom[2 * ow] = share;
        bottom[2 * ow + 1] = share;
      }
    }
  }
}

// out[j] = sum of rows [lo, hi) of t (rows of w floats), in order; zeros when the range is empty.
CONVNET_SIMD_CLONES
void add_rows(const float* __restrict t, int64_t w, int64_t lo, int64_t hi, float* __restrict out) {
  if (lo >= hi) {
    std::memset(out, 0, w * sizeof(float));
    return;
  }
  for (int64_t j = 0; j < w; ++j) out[j] = t[lo * w + j];
  for (int64_t r = lo + 1; r < hi; ++r)
    for (int64_t j = 0; j < w; ++j) out[j] += t[r * w + j];
}

// The planes [begin, end) of y: each row's window sums (sum_row), then each divided by its
// window's divisor. Compiled for AVX2 and AVX-512 (as sum_row, inlined): the baseline's SSE
// loops, the division a float at a time, ran AlexNet's 3x3/2 pools at 0.94-1.9x PyTorch.
CONVNET_SIMD_CLONES
void avg_planes(const float* __restrict x, const Pool2dGeometry& g, const AvgWindows& win, const RowSweep& sweep,
                bool count_include_pad, int64_t divisor_override, float* __restrict y, int64_t begin, int64_t end) {
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const std::vector<float> col_factor = win.column_factors(count_include_pad, divisor_override);
  const float* __restrict cf = col_factor.data();
  for (int64_t p = begin; p < end; ++p) {
    const float* xp = x + p * in_plane;
    for (int64_t oh = 0; oh < g.oh; ++oh) {
      float* __restrict yrow = y + p * out_plane + oh * g.ow;
      if (win.rows.taps[oh] == 0) {
        for (int64_t ow = 0; ow < g.ow; ++ow) yrow[ow] = 0.0f;
        continue;
      }
      sum_row(xp, sweep, oh, yrow);
      const float row_factor = win.row_factor(oh, count_include_pad, divisor_override);
      for (int64_t ow = 0; ow < g.ow; ++ow) yrow[ow] = yrow[ow] / (row_factor * cf[ow]);
    }
  }
}

// t[S m + q] += share[m - k] for every tap j = q + k S < K of a window m - k in [0, n), k = 0, 1, ...
// in that order: the adds of whole K-wide windows at stride S into one row of t (from the first
// window's first column), written as a gather per column so that the loop over columns
// vectorizes (a scatter tap by tap adds into every S-th float).
template <int K, int S>
__attribute__((always_inline)) inline void gather_whole_windows(const float* __restrict share, int64_t n, float* __restrict t) {
  constexpr int64_t kBack = (K - 1) / S;       // windows before m that reach column S m + q
  const int64_t last = S * (n - 1) + K - 1;    // the last window's last column
  const auto column = [&](int64_t m, int q, bool checked) {
    float sum = t[S * m + q];
    for (int k = 0; q + k * S < K; ++k)
      if (!checked || (m - k >= 0 && m - k < n)) sum += share[m - k];
    t[S * m + q] = sum;
  };
  const auto edge = [&](int64_t m) {
    for (int q = 0; q < S && S * m + q <= last; ++q) column(m, q, true);
  };
  for (int64_t m = 0; m < kBack; ++m) edge(m);
  for (int64_t m = kBack; m < n; ++m)  // every window m - k of the sums exists
    for (int q = 0; q < S; ++q) column(m, q, false);
  for (int64_t m = std::max(kBack, n); S * m <= last; ++m) edge(m);
}

// The planes [begin, end) of dx (Note [separable average backward]).
CONVNET_SIMD_CLONES
void avg_backward_planes(const float* __restrict dy, const Pool2dGeometry& g, const AvgWindows& win, bool count_include_pad,
                         int64_t divisor_override, const int64_t* row_lo, const int64_t* row_hi, float* __restrict dx,
                         int64_t begin, int64_t end) {
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  std::vector<float> t(g.oh * g.w), share(g.ow);
  const std::vector<float> col_factor = win.column_factors(count_include_pad, divisor_override);
  // The whole windows [lo, hi) take gather_whole_windows where K and S are small constants; the
  // others the scatter below, first.
  int64_t lo = 0, hi = 0;
  whole_windows(win.cols, g.kw, g.sw, g.pw, &lo, &hi);
  const int fixed = (g.kw == 2 || g.kw == 3) && (g.sw == 1 || g.sw == 2) && lo < hi ? static_cast<int>(g.kw * 10 + g.sw) : 0;
  const float* __restrict cf = col_factor.data();
  float* __restrict sh = share.data();
  for (int64_t p = begin; p < end; ++p) {
    const float* d = dy + p * out_plane;
    std::fill(t.begin(), t.end(), 0.0f);
    for (int64_t oh = 0; oh < g.oh; ++oh) {
      if (win.rows.taps[oh] == 0) continue;  // an empty window shares nothing
      const float row_factor = win.row_factor(oh, count_include_pad, divisor_override);
      for (int64_t ow = 0; ow < g.ow; ++ow) sh[ow] = d[oh * g.ow + ow] / (row_factor * cf[ow]);
      float* trow = t.data() + oh * g.w;
      // Tap by tap across the row (Note [tap-major rows]): overlapping windows' adds to one
      // element are a whole sweep apart, not a chain of dependent stores.
      const auto scatter = [&](int64_t from, int64_t to) {
        for (int64_t j = 0; j < g.kw; ++j)
          for (int64_t ow = from; ow < to; ++ow)
            if (j < win.cols.taps[ow]) trow[win.cols.first[ow] + j] += sh[ow];
      };
      if (!fixed) {
        scatter(0, g.ow);
        continue;
      }
      scatter(0, lo);
      scatter(hi, g.ow);
      float* whole = trow + win.cols.first[lo];
      switch (fixed) {
        case 21: gather_whole_windows<2, 1>(sh + lo, hi - lo, whole); break;
        case 22: gather_whole_windows<2, 2>(sh + lo, hi - lo, whole); break;
        case 31: gather_whole_windows<3, 1>(sh + lo, hi - lo, whole); break;
        case 32: gather_whole_windows<3, 2>(sh + lo, hi - lo, whole); break;
      }
    }
    float* dxp = dx + p * in_plane;
    for (int64_t i = 0; i < g.h; ++i) add_rows(t.data(), g.w, row_lo[i], row_hi[i], dxp + i * g.w);
  }
}

}  // namespace

void avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad, int64_t divisor_override,
                        const Tensor& y) {
  const int64_t out_plane = g.oh * g.ow;
  const float* px = x.f32();
  float* py = y.f32();
  if (is_whole_2x2_stride_2(g)) {  // Note [2x2 stride 2]
    const float div = divisor_2x2(divisor_override);
    for_planes(g.planes, out_plane * 4, [&](int64_t begin, int64_t end) {
      avg_planes_2x2(px, g, div, is_power_of_two(div), py, begin, end);
    });
    return;
  }
  const AvgWindows win(g);
  const RowSweep sweep = row_sweep(win.rows, win.cols, g, g.kw, g.pw, 1, 1);
  for_planes(g.planes, out_plane * g.kh * g.kw, [&](int64_t begin, int64_t end) {
    avg_planes(px, g, win, sweep, count_include_pad, divisor_override, py, begin, end);
  });
}

void avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g, bool count_include_pad, int64_t divisor_override,
                         const Tensor& dx) {
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* pdy = dy.f32();
  float* pdx = dx.f32();
  if (is_whole_2x2_stride_2(g)) {  // Note [2x2 stride 2]
    const float div = divisor_2x2(divisor_override);
    for_planes(g.planes, out_plane * 4 + in_plane, [&](int64_t begin, int64_t end) {
      avg_planes_2x2_backward(pdy, g, div, is_power_of_two(div), pdx, begin, end);
    });
    return;
  }
  // Note [separable average backward]: every value of a window gets the same share s[oh][ow],
  // so dx[i][j] = sum over the rows oh whose windows hold i of t[oh][j], t[oh][j] = the sum over
  // the columns ow whose windows hold j of s[oh][ow]. Each plane: the rows of t (a few hundred
  // adds into a small buffer), then each row of dx written once as a sum of whole rows of t,
  // instead of a memset and k * k scattered read-modify-writes per output: with 3x3 stride-2
  // windows, [8,256,27,27] 0.83-1.65 ms -> 0.55 (0.7-1.3x PyTorch -> 2.2x; a busy machine had
  // doubled the old time), [8,96,55,55] 0.88 -> 0.78 (`node dist/bench/run.js pool --threads
  // 2`). Each dx sums its shares row by row of windows. The rows of t: the whole windows of
  // width 2 or 3 at stride 1 or 2 as sums gathered per column (gather_whole_windows, the same
  // adds in the same order), compiled for AVX2 and AVX-512, where a scatter tap by tap added a
  // float at a time and the baseline divided one at a time: forward + backward through autograd,
  // 2 threads, [8,96,55,55] 3x3/2 5.6 -> 2.7 ms, [8,256,27,27] 4.1 -> 2.1, 3x3/1 padding 1 on
  // [8,96,55,55] 21 -> 4.7 (the forward's share of each included; session 33, both codes
  // alternated in one process by a throwaway switch).
  const AvgWindows win(g);
  // Input row i lies in the windows of output rows [row_lo[i], row_hi[i]) (windows move down
  // with oh, so the rows holding i are consecutive).
  std::vector<int64_t> row_lo(g.h, 0), row_hi(g.h, 0);
  for (int64_t i = 0, lo = 0, hi = 0; i < g.h; ++i) {  // both bounds only move down
    while (lo < g.oh && win.rows.first[lo] + win.rows.taps[lo] <= i) ++lo;
    hi = std::max(hi, lo);
    while (hi < g.oh && win.rows.first[hi] <= i && i < win.rows.first[hi] + win.rows.taps[hi]) ++hi;
    row_lo[i] = lo, row_hi[i] = hi;
  }
  for_planes(g.planes, out_plane * g.kw + 2 * in_plane, [&](int64_t begin, int64_t end) {
    avg_backward_planes(pdy, g, win, count_include_pad, divisor_override, row_lo.data(), row_hi.data(), pdx, begin, end);
  });
}

}  // namespace cpu
}  // namespace convnet
