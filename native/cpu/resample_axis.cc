// Resampling along one axis by taps (F.interpolate's composed modes on the CPU: bicubic,
// nearest-exact, area, antialiased, and the axes of linear and trilinear), forward and backward.
// x [outer, n, inner] -> y [outer, m, inner], y[o, j, :] = sum_k weight[j, k] x[o, index[j, k], :];
// the backward is its transpose, dx[o, index[j, k], :] += weight[j, k] dy[o, j, :]. The taps are
// worked out in lib/nn/functional/interpolate.ts (PyTorch's formulas); there the GPU gathers them
// with indexSelect, multiplies and sums, several passes of K times the output where this is one.
// Work is split by (outer, block of inner): each unit writes its own slice of y (or dx), so the
// thread count changes no bits.
#include <algorithm>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kBlock = 256;   // floats of inner per unit: a few KB per output row

template <typename Fn>
void each_unit(const ResampleAxisGeometry& g, const Fn& fn) {
  const int64_t blocks = (g.inner + kBlock - 1) / kBlock;
  const int64_t work = std::max<int64_t>(1, (g.n + g.m * g.taps) * std::min(g.inner, kBlock));
  parallel_for(g.outer * blocks, std::max<int64_t>(1, 32768 / work), [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      const int64_t o = u / blocks, b0 = (u % blocks) * kBlock;
      fn(o, b0, std::min(g.inner, b0 + kBlock));
    }
  });
}

}  // namespace

void resample_axis_forward(const Tensor& x, const ResampleAxisGeometry& g, const int32_t* index, const float* weight,
                           const Tensor& y) {
  const float* px = x.f32();
  float* py = y.f32();
  if (g.inner == 1) {  // the last axis: each output a short dot product of gathered inputs
    parallel_for(g.outer, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, g.n + g.m * g.taps)), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const float* xo = px + o * g.n;
        float* yo = py + o * g.m;
        for (int64_t j = 0; j < g.m; ++j) {
          const int32_t* at = index + j * g.taps;
          const float* w = weight + j * g.taps;
          float acc = w[0] * xo[at[0]];
          for (int64_t k = 1; k < g.taps; ++k) acc += w[k] * xo[at[k]];
          yo[j] = acc;
        }
      }
    });
    return;
  }
  each_unit(g, [&](int64_t o, int64_t i0, int64_t i1) {
    const float* xo = px + o * g.n * g.inner;
    for (int64_t j = 0; j < g.m; ++j) {
      float* out = py + (o * g.m + j) * g.inner;
      const int32_t* at = index + j * g.taps;
      const float* w = weight + j * g.taps;
      const float* first = xo + at[0] * g.inner;
      for (int64_t i = i0; i < i1; ++i) out[i] = w[0] * first[i];
      for (int64_t k = 1; k < g.taps; ++k) {
        const float* in = xo + at[k] * g.inner;
        const float wk = w[k];
        for (int64_t i = i0; i < i1; ++i) out[i] += wk * in[i];
      }
    }
  });
}

void resample_axis_backward(const Tensor& dy, const ResampleAxisGeometry& g, const int32_t* index, const float* weight,
                            const Tensor& dx) {
  const float* pdy = dy.f32();
  float* pdx = dx.f32();
  each_unit(g, [&](int64_t o, int64_t i0, int64_t i1) {
    float* dxo = pdx + o * g.n * g.inner;
    for (int64_t r = 0; r < g.n; ++r) std::fill(dxo + r * g.inner + i0, dxo + r * g.inner + i1, 0.0f);
    for (int64_t j = 0; j < g.m; ++j) {
      const float* d = pdy + (o * g.m + j) * g.inner;
      for (int64_t k = 0; k < g.taps; ++k) {
        float* to = dxo + index[j * g.taps + k] * g.inner;
        const float wk = weight[j * g.taps + k];
        for (int64_t i = i0; i < i1; ++i) to[i] += wk * d[i];
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
