// Adaptive pooling, as torch.nn.functional.adaptive_avg_pool2d / adaptive_max_pool2d: output
// (i, j) pools rows [floor(i * H / oh), ceil((i + 1) * H / oh)) and the same for columns, so the
// windows cover the input and may overlap by one. Average: sum / rows / cols (PyTorch divides
// twice, so do we); backward gives each value of the window dy / rows / cols. Each output's taps
// are summed in float32 in row-major order, as PyTorch, except a whole plane into one output
// (of 16 values or more), summed by vec::sum (float64 lanes, Note [sum order]). Max: the first
// maximum, NaN propagating, as max_pool2d; its backward is max_pool_backward (max_pool.cc).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {

namespace {

// The sums of L planes at once (each output's taps in row-major order, as one plane alone and as
// PyTorch): the planes' sums are independent chains. One plane at a time, each output's short
// sum waited on its own additions: [8,256,13,13] -> 6x6 (AlexNet's) took 0.445 ms at 1 thread,
// 0.38 at 2, beside PyTorch's 0.37 (`node dist/bench/run.js pool`).
template <int L>
void adaptive_avg_planes(const float* xp, int64_t in_plane, const AxisWindows& rows, const AxisWindows& cols,
                         const Pool2dGeometry& g, float* yp, int64_t out_plane) {
  for (int64_t oh = 0; oh < g.oh; ++oh) {
    const int64_t r0 = rows.first[oh], nr = rows.taps[oh];
    for (int64_t ow = 0; ow < g.ow; ++ow) {
      const int64_t c0 = cols.first[ow], nc = cols.taps[ow];
      float sum[L] = {};
      for (int64_t i = 0; i < nr; ++i) {
        const float* row = xp + (r0 + i) * g.w + c0;
        for (int64_t j = 0; j < nc; ++j)
          for (int l = 0; l < L; ++l) sum[l] += row[l * in_plane + j];
      }
      for (int l = 0; l < L; ++l) yp[l * out_plane + oh * g.ow + ow] = sum[l] / static_cast<float>(nr) / static_cast<float>(nc);
    }
  }
}

}  // namespace

void adaptive_avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, const Tensor& y) {
  const AxisWindows rows = adaptive_windows(g.oh, g.h), cols = adaptive_windows(g.ow, g.w);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* px = x.f32();
  float* py = y.f32();
  if (g.oh == 1 && g.ow == 1 && in_plane >= 16) {
    // Global average pooling (a ResNet's head): each plane is one contiguous run, summed in
    // float64 by vec::sum_runs (Note [sum order], vec_math.cc), then divided twice. [32, 512, 7,
    // 7] -> 1x1: 74 us at 1 thread, 45 at 2, PyTorch 88 and 57 (a loop of 100 calls and a sync,
    // session 54); by the planes' float sums below it was twice as long.
    for_planes(g.planes, in_plane, [&](int64_t begin, int64_t end) {
      vec::each_run_sum(px, in_plane, begin, end, [&](int64_t p, double sum) {
        py[p] = static_cast<float>(sum) / static_cast<float>(g.h) / static_cast<float>(g.w);
      });
    });
    return;
  }
  constexpr int64_t kLanes = 8;
  const int64_t units = (g.planes + kLanes - 1) / kLanes;
  for_planes(units, kLanes * (in_plane + out_plane), [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      const int64_t p0 = u * kLanes, lanes = std::min(kLanes, g.planes - p0);
      if (lanes == kLanes) {
        adaptive_avg_planes<kLanes>(px + p0 * in_plane, in_plane, rows, cols, g, py + p0 * out_plane, out_plane);
      } else {
        for (int64_t p = p0; p < p0 + lanes; ++p)
          adaptive_avg_planes<1>(px + p * in_plane, in_plane, rows, cols, g, py + p * out_plane, out_plane);
      }
    }
  });
}

void adaptive_avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g, const Tensor& dx) {
  const AxisWindows rows = adaptive_windows(g.oh, g.h), cols = adaptive_windows(g.ow, g.w);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* pdy = dy.f32();
  float* pdx = dx.f32();
  for_planes(g.planes, 2 * in_plane + out_plane, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* d = pdy + p * out_plane;
      float* gp = pdx + p * in_plane;
      std::memset(gp, 0, in_plane * sizeof(float));  // plane by plane: it stays in cache for the scatter
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        const int64_t r0 = rows.first[oh], nr = rows.taps[oh];
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const int64_t c0 = cols.first[ow], nc = cols.taps[ow];
          const float share = d[oh * g.ow + ow] / static_cast<float>(nr) / static_cast<float>(nc);
          for (int64_t i = 0; i < nr; ++i) {
            float* row = gp + (r0 + i) * g.w + c0;
            for (int64_t j = 0; j < nc; ++j) row[j] += share;
          }
        }
      }
    }
  });
}

void adaptive_max_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, const Tensor& y, const Tensor* indices) {
  const AxisWindows rows = adaptive_windows(g.oh, g.h), cols = adaptive_windows(g.ow, g.w);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* px = x.f32();
  float* py = y.f32();
  int32_t* pi = indices ? indices->i32() : nullptr;
  for_planes(g.planes, in_plane + out_plane, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* xp = px + p * in_plane;
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        const int64_t r0 = rows.first[oh], nr = rows.taps[oh];
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const int64_t c0 = cols.first[ow], nc = cols.taps[ow];
          float best = -std::numeric_limits<float>::infinity();
          int64_t at = r0 * g.w + c0;
          for (int64_t i = 0; i < nr; ++i) {
            const int64_t row = (r0 + i) * g.w;
            for (int64_t j = 0; j < nc; ++j) {
              const float v = xp[row + c0 + j];
              if (v > best || std::isnan(v)) best = v, at = row + c0 + j;
            }
          }
          const int64_t o = p * out_plane + oh * g.ow + ow;
          py[o] = best;
          if (pi) pi[o] = static_cast<int32_t>(at);
        }
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
