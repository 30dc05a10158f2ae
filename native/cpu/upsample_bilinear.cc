// Bilinear resizing of [P, H, W] planes to [P, Ho, Wo] (torch.nn.functional.interpolate's
// 'bilinear'), forward and backward, on the CPU (the GPU composes it from indexSelect, mul and
// sum: lib/nn/functional/interpolate.ts).
//
// Each axis has its table: output j reads input i0[j] and i1[j] with weights l0[j], l1[j], from
// PyTorch's source position (align_corners: j * scale; else max(scale (j + 1/2) - 1/2, 0)),
// computed in float32 as PyTorch's compute_source_index_and_lambda and lib's composed form do,
// with PyTorch's copy of an axis whose size stays (even when a scale factor is given: 2 rows
// scaled by 1.3 stay 2 rows, unchanged). The forward interpolates along
// H first, then W, with the composed form's float32 operations in its order, and without FMA
// contraction: the same bits as the GPU's composed op (a x0 + b x1 rounded twice then added).
// The backward runs the transpose: each output row's gradient spread along W into a row of
// W, then onto input rows i0 and i1; each plane by one thread in a fixed order, so the thread
// count changes no bits. Composed, forward + backward took about ten passes and scatters: 3x
// PyTorch's time for a 4x upsampling of [8, 21, 16, 16].
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace cpu {
namespace {

struct AxisTable {
  std::vector<int64_t> i0, i1;
  std::vector<float> l0, l1;
};

#define CONVNET_UPSAMPLE_KERNEL __attribute__((optimize("fp-contract=off")))

// Without FMA contraction: PyTorch rounds step * (j + 1/2) before subtracting 1/2.
CONVNET_UPSAMPLE_KERNEL AxisTable axis_table(int64_t n, int64_t m, double scale, bool align_corners) {
  AxisTable t;
  t.i0.resize(m), t.i1.resize(m), t.l0.resize(m), t.l1.resize(m);
  const float step = static_cast<float>(scale);
  for (int64_t j = 0; j < m; ++j) {
    if (n == m) {
      t.i0[j] = t.i1[j] = j, t.l0[j] = 1, t.l1[j] = 0;
      continue;
    }
    float src = align_corners ? step * static_cast<float>(j) : step * static_cast<float>(j + 0.5) - 0.5f;
    if (!align_corners && src < 0) src = 0;
    const int64_t lo = std::min(static_cast<int64_t>(std::floor(src)), n - 1);
    const float frac = src - static_cast<float>(lo);
    t.i0[j] = lo;
    t.i1[j] = lo < n - 1 ? lo + 1 : lo;
    t.l1[j] = frac;
    t.l0[j] = 1.0f - frac;
  }
  return t;
}

// r[w] = a[w] l0 + b[w] l1 (one input row pair along H).
CONVNET_UPSAMPLE_KERNEL void blend_rows(const float* __restrict a, const float* __restrict b, float l0, float l1, float* __restrict r,
                                        int64_t W) {
  for (int64_t w = 0; w < W; ++w) r[w] = a[w] * l0 + b[w] * l1;
}

// y[j] = r[i0[j]] l0[j] + r[i1[j]] l1[j] (along W).
CONVNET_UPSAMPLE_KERNEL void sample_row(const float* __restrict r, const AxisTable& tw, float* __restrict y, int64_t Wo) {
  for (int64_t j = 0; j < Wo; ++j) y[j] = r[tw.i0[j]] * tw.l0[j] + r[tw.i1[j]] * tw.l1[j];
}

// fn(p, th, tw) for the planes p, split between threads (each plane a few KB of work at least).
template <typename Fn>
void each_plane(const UpsampleGeometry& g, const Fn& fn) {
  const AxisTable th = axis_table(g.H, g.Ho, g.scale_h, g.align_corners), tw = axis_table(g.W, g.Wo, g.scale_w, g.align_corners);
  parallel_for(g.planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, g.Ho * g.Wo)), [&](int64_t begin, int64_t end) {
    std::vector<float> row(g.W);
    for (int64_t p = begin; p < end; ++p) fn(p, th, tw, row.data());
  });
}

}  // namespace

void upsample_bilinear_forward(const Tensor& x, const UpsampleGeometry& g, const Tensor& y) {
  const float* px = x.f32();
  float* py = y.f32();
  each_plane(g, [&](int64_t p, const AxisTable& th, const AxisTable& tw, float* r) {
    const float* xp = px + p * g.H * g.W;
    for (int64_t oh = 0; oh < g.Ho; ++oh) {
      blend_rows(xp + th.i0[oh] * g.W, xp + th.i1[oh] * g.W, th.l0[oh], th.l1[oh], r, g.W);
      sample_row(r, tw, py + (p * g.Ho + oh) * g.Wo, g.Wo);
    }
  });
}

void upsample_bilinear_backward(const Tensor& dy, const UpsampleGeometry& g, const Tensor& dx) {
  const float* pdy = dy.f32();
  float* pdx = dx.f32();
  each_plane(g, [&](int64_t p, const AxisTable& th, const AxisTable& tw, float* dr) {
    float* dxp = pdx + p * g.H * g.W;
    std::fill(dxp, dxp + g.H * g.W, 0.0f);
    for (int64_t oh = 0; oh < g.Ho; ++oh) {
      const float* d = pdy + (p * g.Ho + oh) * g.Wo;
      std::fill(dr, dr + g.W, 0.0f);
      for (int64_t j = 0; j < g.Wo; ++j) {
        dr[tw.i0[j]] += d[j] * tw.l0[j];
        dr[tw.i1[j]] += d[j] * tw.l1[j];
      }
      float* a = dxp + th.i0[oh] * g.W;
      float* b = dxp + th.i1[oh] * g.W;
      const float l0 = th.l0[oh], l1 = th.l1[oh];
      for (int64_t w = 0; w < g.W; ++w) a[w] += dr[w] * l0;
      for (int64_t w = 0; w < g.W; ++w) b[w] += dr[w] * l1;
    }
  });
}

}  // namespace cpu
}  // namespace convnet
