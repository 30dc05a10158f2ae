// Shared by the pooling kernels: where each output position's window lies along one axis, and
// the split of the planes over threads.
//
// Along an axis of input size `in`, output o's window has taps at start + t * dilation
// (t < k), start = o * stride - padding. The tables are computed once per op (every plane has
// the same geometry), so the inner loops hold no bounds checks.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace cpu {

struct AxisWindows {
  std::vector<int64_t> first;   // the first in-bounds tap (PyTorch steps `start` by the dilation)
  std::vector<int64_t> taps;    // how many taps are in bounds (0: an empty window)
  std::vector<int64_t> padded;  // avg_pool2d's extent: min(start + k, in + padding) - start
};

inline AxisWindows axis_windows(int64_t out, int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation) {
  AxisWindows a;
  a.first.resize(out);
  a.taps.resize(out);
  a.padded.resize(out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * stride - pad;
    const int64_t end = std::min(start + (k - 1) * dilation + 1, in);
    int64_t first = start;
    while (first < 0) first += dilation;
    a.first[o] = first;
    a.taps[o] = first < end ? (end - first + dilation - 1) / dilation : 0;
    a.padded[o] = std::min(start + k, in + pad) - start;
  }
  return a;
}

// PyTorch's adaptive windows: [floor(o * in / out), ceil((o + 1) * in / out)).
inline AxisWindows adaptive_windows(int64_t out, int64_t in) {
  AxisWindows a;
  a.first.resize(out);
  a.taps.resize(out);
  a.padded.resize(out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = (o * in) / out, end = ((o + 1) * in + out - 1) / out;
    a.first[o] = start;
    a.taps[o] = a.padded[o] = end - start;
  }
  return a;
}

// Output positions [lo, hi) whose windows lie wholly inside the input (lo = hi when none do).
inline void whole_windows(const AxisWindows& a, int64_t k, int64_t stride, int64_t pad, int64_t* lo, int64_t* hi) {
  const int64_t out = static_cast<int64_t>(a.taps.size());
  *lo = 0;
  while (*lo < out && !(a.first[*lo] == *lo * stride - pad && a.taps[*lo] == k)) ++*lo;
  *hi = *lo;
  while (*hi < out && a.first[*hi] == *hi * stride - pad && a.taps[*hi] == k) ++*hi;
}

// Note [tap-major rows]: the pools compute one output row at a time, visiting the taps in
// row-major order (so each output sees its values in the same order as a per-output loop, and
// ties and sums come out as PyTorch's) but looping over the output columns innermost. For the
// columns whose windows are whole, that inner loop has no bounds checks and no branches: the
// compiler keeps independent outputs in flight (and may vectorize) instead of mispredicting a
// comparison per tap. Border columns take the plain per-output loop.
struct RowSweep {
  const AxisWindows& rows;
  const AxisWindows& cols;
  int64_t W, ow, sw, dh, dw, lo, hi;  // lo, hi: the columns with whole windows
};

// PyTorch's rule for max pooling: v takes over from best when greater, or when NaN. (`|`, not
// `||`: no short circuit for the compiler to turn into a jump.)
inline bool max_takes(float v, float best) { return (v > best) | (v != v); }

// t ? v : best, chosen on the bits. In scalar code (loops too short for a vector, a vectorised
// loop's remainder) GCC compiled a select of floats into a jump, which mispredicts about half the
// time on real data: Note [pooling without branches], max_pool.cc.
inline float select_float(bool t, float v, float best) {
  uint32_t vb, bb;
  std::memcpy(&vb, &v, sizeof vb);
  std::memcpy(&bb, &best, sizeof bb);
  const uint32_t m = 0u - static_cast<uint32_t>(t);
  const uint32_t r = (vb & m) | (bb & ~m);
  float out;
  std::memcpy(&out, &r, sizeof out);
  return out;
}

// The whole windows of max_row. kStride: the column stride when it is 1 or 2 (a constant
// lets the compiler vectorize the strided loads), 0 for any other (r.sw).
// The whole windows track which tap (i * kw + j, a loop constant) holds the maximum and turn it
// into the flat index at the end: a cheaper select than the index itself.
template <bool kIndices, int kStride>
inline void max_whole(const float* x, const RowSweep& r, int64_t r0, int64_t nr, float* y, int32_t* indices) {
  const int64_t sw = kStride ? kStride : r.sw, kw = r.cols.taps[r.lo], c_lo = r.cols.first[r.lo], n = r.hi - r.lo;
  float* __restrict__ best = y + r.lo;
  int32_t* __restrict__ tap = kIndices ? indices + r.lo : nullptr;
  for (int64_t o = 0; o < n; ++o) {
    best[o] = -std::numeric_limits<float>::infinity();
    if (kIndices) tap[o] = 0;
  }
  for (int64_t i = 0; i < nr; ++i) {
    for (int64_t j = 0; j < kw; ++j) {
      const float* __restrict__ src = x + (r0 + i * r.dh) * r.W + c_lo + j * r.dw;
      const int32_t this_tap = static_cast<int32_t>(i * kw + j);
      for (int64_t o = 0; o < n; ++o) {
        const float v = src[o * sw];
        const bool t = max_takes(v, best[o]);
        best[o] = select_float(t, v, best[o]);
        if (kIndices) tap[o] = t ? this_tap : tap[o];
      }
    }
  }
  if (kIndices) {
    for (int64_t o = 0; o < n; ++o) {
      const int64_t i = tap[o] / kw, j = tap[o] % kw;
      tap[o] = static_cast<int32_t>((r0 + i * r.dh) * r.W + c_lo + o * sw + j * r.dw);
    }
  }
}

// max_whole for KH x KW windows of dilation 1 at stride S, every row of the window in bounds: the
// taps are constants, so each output's maximum and its tap's offset stay in registers (the loop
// over outputs vectorizes), where max_whole keeps them in memory and updates them tap by tap.
// The same comparisons in the same order (the same maxima, ties and NaNs).
template <bool kIndices, int KH, int KW, int S>
__attribute__((always_inline)) inline void max_whole_fixed(const float* x, const RowSweep& r, int64_t r0, float* y,
                                                           int32_t* indices) {
  const int64_t c_lo = r.cols.first[r.lo], n = r.hi - r.lo, W = r.W;
  const float* __restrict__ src = x + r0 * W + c_lo;
  float* __restrict__ out = y + r.lo;
  int32_t* __restrict__ at = kIndices ? indices + r.lo : nullptr;
  const int32_t corner = static_cast<int32_t>(r0 * W + c_lo);
  for (int64_t o = 0; o < n; ++o) {
    float best = -std::numeric_limits<float>::infinity();
    int32_t offset = 0;
    for (int i = 0; i < KH; ++i)
      for (int j = 0; j < KW; ++j) {
        const float v = src[i * W + o * S + j];
        const bool t = max_takes(v, best);
        best = select_float(t, v, best);
        if (kIndices) offset = t ? static_cast<int32_t>(i * W + j) : offset;
      }
    out[o] = best;
    if (kIndices) at[o] = corner + static_cast<int32_t>(o * S) + offset;
  }
}

// sum_whole for K x K windows of dilation 1 at stride S, every row of the window in bounds: the
// taps are constants, so each output's sum stays in a register (the loop over outputs
// vectorizes, S = 2 by loads and shuffles), where sum_whole adds each tap into sums in memory.
// The same adds in the same order.
template <int K, int S>
__attribute__((always_inline)) inline void sum_whole_fixed(const float* x, const RowSweep& r, int64_t r0, float* sums) {
  const int64_t c_lo = r.cols.first[r.lo], n = r.hi - r.lo, W = r.W;
  const float* __restrict__ src = x + r0 * W + c_lo;
  float* __restrict__ out = sums + r.lo;
  for (int64_t o = 0; o < n; ++o) {
    float s = 0.0f;
    for (int i = 0; i < K; ++i)
      for (int j = 0; j < K; ++j) s += src[i * W + o * S + j];
    out[o] = s;
  }
}

template <int kStride>
__attribute__((always_inline)) inline void sum_whole(const float* x, const RowSweep& r, int64_t r0, int64_t nr, float* sums) {
  const int64_t sw = kStride ? kStride : r.sw, kw = r.cols.taps[r.lo], c_lo = r.cols.first[r.lo], n = r.hi - r.lo;
  float* __restrict__ out = sums + r.lo;
  for (int64_t o = 0; o < n; ++o) out[o] = 0.0f;
  for (int64_t i = 0; i < nr; ++i) {
    for (int64_t j = 0; j < kw; ++j) {
      const float* __restrict__ src = x + (r0 + i * r.dh) * r.W + c_lo + j * r.dw;
      for (int64_t o = 0; o < n; ++o) out[o] += src[o * sw];
    }
  }
}

template <int kStride>
inline void scatter_whole(float* dx, const RowSweep& r, int64_t r0, int64_t nr, const float* share) {
  const int64_t sw = kStride ? kStride : r.sw, kw = r.cols.taps[r.lo], c_lo = r.cols.first[r.lo], n = r.hi - r.lo;
  const float* __restrict__ in = share + r.lo;
  for (int64_t i = 0; i < nr; ++i) {
    for (int64_t j = 0; j < kw; ++j) {
      float* __restrict__ dst = dx + (r0 + i * r.dh) * r.W + c_lo + j * r.dw;
      for (int64_t o = 0; o < n; ++o) dst[o * sw] += in[o];  // sw >= 1: one write per element per pass
    }
  }
}

// The maximum (PyTorch's rule: first maximum, a NaN takes over) of every window of output row
// `oh`, and with kIndices its flat index.
template <bool kIndices>
__attribute__((always_inline)) inline void max_row(const float* x, const RowSweep& r, int64_t oh, float* y,
                                                   int32_t* indices) {
  const int64_t r0 = r.rows.first[oh], nr = r.rows.taps[oh];
  for (int64_t o = 0; o < r.ow; ++o) {
    if (o == r.lo) o = r.hi;  // the whole windows are done below
    if (o >= r.ow) break;
    const int64_t c0 = r.cols.first[o], nc = r.cols.taps[o];
    float best = -std::numeric_limits<float>::infinity();
    int64_t at = r0 * r.W + c0;
    for (int64_t i = 0; i < nr; ++i) {
      for (int64_t j = 0; j < nc; ++j) {
        const int64_t k = (r0 + i * r.dh) * r.W + c0 + j * r.dw;
        const bool t = max_takes(x[k], best);
        best = select_float(t, x[k], best);
        at = t ? k : at;
      }
    }
    y[o] = best;
    if (kIndices) indices[o] = static_cast<int32_t>(at);
  }
  if (r.lo >= r.hi) return;
  const int64_t kw = r.cols.taps[r.lo];
  if (r.dh == 1 && r.dw == 1 && nr == 3 && kw == 3 && (r.sw == 1 || r.sw == 2)) {
    if (r.sw == 1) max_whole_fixed<kIndices, 3, 3, 1>(x, r, r0, y, indices);
    else max_whole_fixed<kIndices, 3, 3, 2>(x, r, r0, y, indices);
    return;
  }
  // One-row windows (maxPool1d's, as [N, C, 1, L]) of 2 or 3 at stride 2. [32, 64, 1024] at 2
  // threads, three alternations against the build before (ms): 3/2 with indices 1.68-2.41 ->
  // 0.34-0.58, 2/2 0.32-0.33 -> 0.20-0.27, 3/2 0.47-0.50 -> 0.41-0.50 (memory-bound already).
  if (r.dw == 1 && nr == 1 && r.sw == 2 && (kw == 2 || kw == 3)) {
    if (kw == 2) max_whole_fixed<kIndices, 1, 2, 2>(x, r, r0, y, indices);
    else max_whole_fixed<kIndices, 1, 3, 2>(x, r, r0, y, indices);
    return;
  }
  if (r.sw == 1) max_whole<kIndices, 1>(x, r, r0, nr, y, indices);
  else if (r.sw == 2) max_whole<kIndices, 2>(x, r, r0, nr, y, indices);
  else max_whole<kIndices, 0>(x, r, r0, nr, y, indices);
}

// The sum of the in-bounds values of every window of output row `oh`, taps in row-major order.
// Always inlined, with its helpers, so that a caller's SIMD clones (avg_pool.cc) vectorize it
// for their instruction set rather than calling one copy compiled for the baseline.
__attribute__((always_inline)) inline void sum_row(const float* x, const RowSweep& r, int64_t oh, float* sums) {
  const int64_t r0 = r.rows.first[oh], nr = r.rows.taps[oh];
  for (int64_t o = 0; o < r.ow; ++o) {
    if (o == r.lo) o = r.hi;
    if (o >= r.ow) break;
    const int64_t c0 = r.cols.first[o], nc = r.cols.taps[o];
    float sum = 0.0f;
    for (int64_t i = 0; i < nr; ++i)
      for (int64_t j = 0; j < nc; ++j) sum += x[(r0 + i * r.dh) * r.W + c0 + j * r.dw];
    sums[o] = sum;
  }
  if (r.lo >= r.hi) return;
  const int64_t kw = r.cols.taps[r.lo];
  if (r.dh == 1 && r.dw == 1 && nr == kw && (kw == 2 || kw == 3) && (r.sw == 1 || r.sw == 2)) {
    if (kw == 2) r.sw == 1 ? sum_whole_fixed<2, 1>(x, r, r0, sums) : sum_whole_fixed<2, 2>(x, r, r0, sums);
    else r.sw == 1 ? sum_whole_fixed<3, 1>(x, r, r0, sums) : sum_whole_fixed<3, 2>(x, r, r0, sums);
    return;
  }
  if (r.sw == 1) sum_whole<1>(x, r, r0, nr, sums);
  else if (r.sw == 2) sum_whole<2>(x, r, r0, nr, sums);
  else sum_whole<0>(x, r, r0, nr, sums);
}

// Adds share[o] to every in-bounds value of every window of output row `oh` (the backward of
// sum_row), taps in row-major order.
inline void scatter_row(float* dx, const RowSweep& r, int64_t oh, const float* share) {
  const int64_t r0 = r.rows.first[oh], nr = r.rows.taps[oh];
  for (int64_t o = 0; o < r.ow; ++o) {
    if (o == r.lo) o = r.hi;
    if (o >= r.ow) break;
    const int64_t c0 = r.cols.first[o], nc = r.cols.taps[o];
    for (int64_t i = 0; i < nr; ++i)
      for (int64_t j = 0; j < nc; ++j) dx[(r0 + i * r.dh) * r.W + c0 + j * r.dw] += share[o];
  }
  if (r.lo >= r.hi) return;
  if (r.sw == 1) scatter_whole<1>(dx, r, r0, nr, share);
  else if (r.sw == 2) scatter_whole<2>(dx, r, r0, nr, share);
  else scatter_whole<0>(dx, r, r0, nr, share);
}

inline RowSweep row_sweep(const AxisWindows& rows, const AxisWindows& cols, const Pool2dGeometry& g, int64_t kw, int64_t pw,
                          int64_t dh, int64_t dw) {
  RowSweep r{rows, cols, g.w, g.ow, g.sw, dh, dw, 0, 0};
  whole_windows(cols, kw, g.sw, pw, &r.lo, &r.hi);
  return r;
}

// A 2x2 window at stride 2 with no padding, every window whole (LeNet's pools): the
// plane-at-a-time paths of max_pool.cc (with dilation 1), avg_pool.cc and mixed_pool.cc.
inline bool is_whole_2x2_stride_2(const Pool2dGeometry& g) {
  return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.oh * 2 <= g.h &&
         g.ow * 2 <= g.w;
}

// max_pool.cc: the maxima (and, where indices is not null, their flat indices) of planes
// [begin, end) of x, a whole 2x2 stride-2 pooling of dilation 1, by the widest kernel the machine
// runs; PyTorch's rule (first maximum, NaN wins), without branches (Note [pooling without
// branches]). x is the whole tensor (g.planes planes), y and indices the whole outputs.
void max_pool_planes_2x2(const float* x, const Pool2dGeometry& g, float* y, int32_t* indices, int64_t begin, int64_t end);

// Calls fn(first_plane, end_plane) over the planes, in chunks of at least ~32K elements of work
// so that small tensors stay on one thread. Each plane is handled whole by one thread.
inline void for_planes(int64_t planes, int64_t work_per_plane, RangeFn fn) {
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, work_per_plane));
  parallel_for(planes, grain, fn);
}

}  // namespace cpu
}  // namespace convnet
