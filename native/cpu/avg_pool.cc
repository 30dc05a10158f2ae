// Average pooling, as torch.nn.functional.avg_pool2d: y = (sum of the window's in-bounds
// values) / divisor, summed in row-major order in float as PyTorch's CPU kernel. The divisor is
// divisor_override when given (> 0); else with count_include_pad the window's extent clipped to
// the padded input (so with ceil_mode a window hanging past the right padding counts only up to
// it); else the number of in-bounds values. A window wholly in the padding gives 0.
// Backward: each in-bounds value of the window gets dy / divisor.
#include <cstring>
#include <vector>

#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"

namespace convnet {
namespace cpu {
namespace {

struct AvgWindows {
  AxisWindows rows, cols;
  AvgWindows(const Pool2dGeometry& g)
      : rows(axis_windows(g.oh, g.h, g.kh, g.sh, g.ph, 1)), cols(axis_windows(g.ow, g.w, g.kw, g.sw, g.pw, 1)) {}

  float divisor(int64_t oh, int64_t ow, bool count_include_pad, int64_t divisor_override) const {
    if (divisor_override > 0) return static_cast<float>(divisor_override);
    if (count_include_pad) return static_cast<float>(rows.padded[oh] * cols.padded[ow]);
    return static_cast<float>(rows.taps[oh] * cols.taps[ow]);
  }
};

}  // namespace

void avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad, int64_t divisor_override,
                        const Tensor& y) {
  const AvgWindows win(g);
  const RowSweep sweep = row_sweep(win.rows, win.cols, g, g.kw, g.pw, 1, 1);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* px = x.f32();
  float* py = y.f32();
  for_planes(g.planes, out_plane * g.kh * g.kw, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* xp = px + p * in_plane;
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        float* yrow = py + p * out_plane + oh * g.ow;
        sum_row(xp, sweep, oh, yrow);
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const bool empty = win.rows.taps[oh] == 0 || win.cols.taps[ow] == 0;
          yrow[ow] = empty ? 0.0f : yrow[ow] / win.divisor(oh, ow, count_include_pad, divisor_override);
        }
      }
    }
  });
}

void avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g, bool count_include_pad, int64_t divisor_override,
                         const Tensor& dx) {
  const AvgWindows win(g);
  const RowSweep sweep = row_sweep(win.rows, win.cols, g, g.kw, g.pw, 1, 1);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* pdy = dy.f32();
  float* pdx = dx.f32();
  for_planes(g.planes, out_plane * g.kh * g.kw + in_plane, [&](int64_t begin, int64_t end) {
    std::vector<float> share(g.ow);
    for (int64_t p = begin; p < end; ++p) {
      std::memset(pdx + p * in_plane, 0, in_plane * sizeof(float));  // plane by plane: it stays in cache
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        const float* d = pdy + p * out_plane + oh * g.ow;
        for (int64_t ow = 0; ow < g.ow; ++ow) share[ow] = d[ow] / win.divisor(oh, ow, count_include_pad, divisor_override);
        scatter_row(pdx + p * in_plane, sweep, oh, share.data());  // empty windows scatter nothing
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
