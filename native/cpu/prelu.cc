// PReLU (He et al. 2015): y = x where x > 0, w_c * x otherwise (PyTorch's form), with one learned slope per channel
// (axis 1 of [N, C, ...]; w of shape [C]) or one slope for all (w of shape [1]). Inputs of rank
// 0 or 1 have one channel, as in PyTorch.
// Backward: dx = dy where x > 0, dy * w_c otherwise (so the gradient at exactly 0 is w_c, as
// PyTorch); dw_c = sum over the batch and positions of dy * x where x <= 0.
//
// x is viewed as rows [N * C, S] (S the positions). The weight gradient is reduced without
// depending on the thread count: each row's partial sum (float64 over the float products
// dy * x, one thread) is stored, then the partials are added in row order.
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

struct Rows {
  int64_t rows, channels, positions;
};

Rows rows_of(const Tensor& x) {
  const int64_t channels = x.dim() >= 2 ? x.shape[1] : 1;
  int64_t positions = 1;
  for (int64_t d = 2; d < x.dim(); ++d) positions *= x.shape[d];
  return {positions > 0 ? x.numel() / positions : 0, channels, positions};  // rows = N * C
}

// min(v, 0) as a select of v and 0, which GCC vectorises (the backward's products).
inline float negative_part(float v) { return v <= 0.0f ? v : 0.0f; }

// One row of the forward: y = x > 0 ? x : slope * x, as PyTorch writes it (NaN stays NaN, -0
// gives -0). It vectorises only under no-trapping-math (see leaky_relu.cc): a compare and a
// masked product per 16 floats in the AVX-512 clone (the earlier `x * (x > 0 ? 1 : slope)` took
// two compares, a product and a blend: [8, 96, 55, 55] 1.10x -> 1.25x PyTorch's speed). Cloned
// for AVX2 / AVX-512 (simd_clones.h): with SSE alone the forward, a pure streaming op, ran at
// 0.6x PyTorch's speed. One product and no sum, so no clone can contract anything into an FMA:
// every CPU gives the same bits. (The earlier max(x, 0) + slope * min(x, 0) could be
// contracted, which turns the +0 of a product that underflows into -0.)
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void forward_row(const float* __restrict x, float slope, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = v > 0.0f ? v : slope * v;
  }
}

int64_t grain_rows(int64_t positions) { return std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, positions)); }

}  // namespace

void prelu_forward(const Tensor& x, const Tensor& w, const Tensor& y) {
  const Rows r = rows_of(x);
  const bool shared = w.numel() == 1;
  const float *px = x.f32(), *pw = w.f32();
  float* py = y.f32();
  parallel_for(r.rows, grain_rows(r.positions), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      forward_row(px + row * r.positions, pw[shared ? 0 : row % r.channels], py + row * r.positions, r.positions);
    }
  });
}

void prelu_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const Tensor& dx, const Tensor& dw) {
  const Rows r = rows_of(x);
  const bool shared = w.numel() == 1;
  const float *pdy = dy.f32(), *px = x.f32(), *pw = w.f32();
  float *pdx = dx.f32(), *pdw = dw.f32();
  std::vector<double> partial(static_cast<size_t>(r.rows));
  parallel_for(r.rows, grain_rows(r.positions), [&](int64_t begin, int64_t end) {
    std::vector<float> product(static_cast<size_t>(r.positions));
    for (int64_t row = begin; row < end; ++row) {
      const float slope = pw[shared ? 0 : row % r.channels];
      const float *dyr = pdy + row * r.positions, *xr = px + row * r.positions;
      float* dxr = pdx + row * r.positions;
      // Vectorised selects (not branches, which mispredict on random signs) into dx and into
      // the row's products dy * min(x, 0); the products are then summed in float64. Note: GCC
      // vectorises these loops only in this form (separate loops, the select in a local);
      // fused, or written `dy[i] * (x[i] > 0 ? 1 : slope)`, they stay scalar and branchy.
      for (int64_t i = 0; i < r.positions; ++i) {
        const float v = xr[i], factor = v > 0.0f ? 1.0f : slope;
        dxr[i] = factor * dyr[i];
      }
      for (int64_t i = 0; i < r.positions; ++i) product[i] = dyr[i] * negative_part(xr[i]);
      double acc[4] = {0, 0, 0, 0};  // four lanes, a fixed order
      int64_t i = 0;
      for (; i + 4 <= r.positions; i += 4)
        for (int k = 0; k < 4; ++k) acc[k] += product[i + k];
      for (; i < r.positions; ++i) acc[0] += product[i];
      partial[row] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
  });
  std::vector<double> total(static_cast<size_t>(w.numel()), 0.0);
  for (int64_t row = 0; row < r.rows; ++row) total[shared ? 0 : row % r.channels] += partial[row];
  for (int64_t c = 0; c < w.numel(); ++c) pdw[c] = static_cast<float>(total[c]);
}

}  // namespace cpu
}  // namespace convnet
