// PReLU (He et al. 2015): y = max(x, 0) + w_c * min(x, 0), with one learned slope per channel
// (axis 1 of [N, C, ...]; w of shape [C]) or one slope for all (w of shape [1]). Inputs of rank
// 0 or 1 have one channel, as in PyTorch.
// Backward: dx = dy where x > 0, dy * w_c otherwise (so the gradient at exactly 0 is w_c, as
// PyTorch); dw_c = sum over the batch and positions of dy * x where x <= 0.
//
// x is viewed as rows [N * C, S] (S the positions). The weight gradient is reduced without
// depending on the thread count: each row's partial sum (float64, one thread) is stored, then
// the partials are added in row order.
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"

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

int64_t grain_rows(int64_t positions) { return std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, positions)); }

}  // namespace

void prelu_forward(const Tensor& x, const Tensor& w, const Tensor& y) {
  const Rows r = rows_of(x);
  const bool shared = w.numel() == 1;
  const float *px = x.f32(), *pw = w.f32();
  float* py = y.f32();
  parallel_for(r.rows, grain_rows(r.positions), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const float slope = pw[shared ? 0 : row % r.channels];
      const float* xr = px + row * r.positions;
      float* yr = py + row * r.positions;
      for (int64_t i = 0; i < r.positions; ++i) yr[i] = xr[i] > 0.0f ? xr[i] : slope * xr[i];
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
    for (int64_t row = begin; row < end; ++row) {
      const float slope = pw[shared ? 0 : row % r.channels];
      const float *dyr = pdy + row * r.positions, *xr = px + row * r.positions;
      float* dxr = pdx + row * r.positions;
      double acc[4] = {0, 0, 0, 0};  // four lanes, a fixed order
      int64_t i = 0;
      for (; i + 4 <= r.positions; i += 4) {
        for (int k = 0; k < 4; ++k) {
          const float v = xr[i + k], g = dyr[i + k];
          dxr[i + k] = v > 0.0f ? g : g * slope;
          acc[k] += v > 0.0f ? 0.0 : static_cast<double>(g) * v;
        }
      }
      for (; i < r.positions; ++i) {
        dxr[i] = xr[i] > 0.0f ? dyr[i] : dyr[i] * slope;
        acc[0] += xr[i] > 0.0f ? 0.0 : static_cast<double>(dyr[i]) * xr[i];
      }
      partial[row] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
  });
  std::vector<double> total(static_cast<size_t>(w.numel()), 0.0);
  for (int64_t row = 0; row < r.rows; ++row) total[shared ? 0 : row % r.channels] += partial[row];
  for (int64_t c = 0; c < w.numel(); ++c) pdw[c] = static_cast<float>(total[c]);
}

}  // namespace cpu
}  // namespace convnet
