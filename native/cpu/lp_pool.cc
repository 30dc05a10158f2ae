// Power-average (Lp) pooling, as torch.nn.functional.lp_pool2d, which computes
//   T = avg_pool2d(x^p, k, stride, padding 0, ceil_mode) * (kh * kw),   y = T^(1/p)
// (PyTorch's sign(T) * relu(|T|) changes nothing but NaN). So for whole windows T = sum of x^p;
// a ceil_mode window clipped at the edge has its sum scaled by kh * kw / |R|, |R| its in-bounds
// size, as PyTorch does. With `mean` T = sum / |R| instead: the power mean, and p = 1 is then
// exactly avg_pool2d (padding 0). Negative values and odd p follow the same formulas: x^p is
// negative for odd integer p, NaN for negative x and fractional p; T^(1/p) is NaN for T < 0
// unless p = 1. x^p and T^(1/p) use x * x, x * x * x and sqrt for p = 2, 3 as PyTorch's pow.
//
// Backward: dy/dx_i = T^(1/p - 1) * c * x_i^(p-1) with c = kh * kw / |R| (or 1 / |R| with mean),
// with T^(1/p - 1) computed from the output as y^(1 - p) (no second pass over x^p; within a few
// ulps of PyTorch's T-based value). Where T = 0 (so y = 0) the gradient is 0 (PyTorch's autograd
// gives NaN there for p > 1; the zero is LPPool's documented intent).
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"

namespace convnet {
namespace cpu {
namespace {

inline float power(float v, double p) {
  if (p == 1.0) return v;
  if (p == 2.0) return v * v;
  if (p == 3.0) return v * v * v;
  return std::pow(v, static_cast<float>(p));
}

inline float root(float t, double p) {
  if (p == 1.0) return t;
  if (p == 2.0) return std::sqrt(t);
  return std::pow(t, static_cast<float>(1.0 / p));
}

struct LpWindows {
  AxisWindows rows, cols;
  float kernel_area;
  LpWindows(const Pool2dGeometry& g)
      : rows(axis_windows(g.oh, g.h, g.kh, g.sh, 0, 1)),
        cols(axis_windows(g.ow, g.w, g.kw, g.sw, 0, 1)),
        kernel_area(static_cast<float>(g.kh * g.kw)) {}
};

// T for every output of one plane, from the plane's x^p (`powered`).
void window_totals(const float* powered, const Pool2dGeometry& g, const LpWindows& win, const RowSweep& sweep, bool mean,
                   float* t) {
  for (int64_t oh = 0; oh < g.oh; ++oh) {
    float* row = t + oh * g.ow;
    sum_row(powered, sweep, oh, row);
    for (int64_t ow = 0; ow < g.ow; ++ow) {
      const float avg = row[ow] / static_cast<float>(win.rows.taps[oh] * win.cols.taps[ow]);  // never empty: no padding
      row[ow] = mean ? avg : avg * win.kernel_area;
    }
  }
}

}  // namespace

void lp_pool2d_forward(const Tensor& x, double p, const Pool2dGeometry& g, bool mean, const Tensor& y) {
  const LpWindows win(g);
  const RowSweep sweep = row_sweep(win.rows, win.cols, g, g.kw, 0, 1, 1);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* px = x.f32();
  float* py = y.f32();
  for_planes(g.planes, in_plane + out_plane * g.kh * g.kw, [&](int64_t begin, int64_t end) {
    std::vector<float> powered(in_plane);
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* xp = px + pl * in_plane;
      for (int64_t i = 0; i < in_plane; ++i) powered[i] = power(xp[i], p);
      float* yp = py + pl * out_plane;
      window_totals(powered.data(), g, win, sweep, mean, yp);
      for (int64_t o = 0; o < out_plane; ++o) yp[o] = root(yp[o], p);
    }
  });
}

void lp_pool2d_backward(const Tensor& dy, const Tensor& x, const Tensor& y, double p, const Pool2dGeometry& g, bool mean,
                        const Tensor& dx) {
  const LpWindows win(g);
  const RowSweep sweep = row_sweep(win.rows, win.cols, g, g.kw, 0, 1, 1);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* px = x.f32();
  const float* py = y.f32();
  const float* pdy = dy.f32();
  float* pdx = dx.f32();
  const float scale = mean ? 1.0f : win.kernel_area;
  // c of each output: kh * kw / |R| (or 1 / |R| with mean)
  std::vector<float> inv_area(out_plane);
  for (int64_t o = 0; o < out_plane; ++o)
    inv_area[o] = scale / static_cast<float>(win.rows.taps[o / g.ow] * win.cols.taps[o % g.ow]);
  const auto y_power = [p](float v) {  // y^(1 - p) = T^(1/p - 1)
    return p == 1.0 ? 1.0f : p == 2.0 ? 1.0f / v : p == 3.0 ? 1.0f / (v * v) : std::pow(v, static_cast<float>(1.0 - p));
  };
  for_planes(g.planes, in_plane + out_plane * (g.kh * g.kw + 1), [&](int64_t begin, int64_t end) {
    std::vector<float> coef(out_plane);
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* xp = px + pl * in_plane;
      const float* yp = py + pl * out_plane;
      const float* d = pdy + pl * out_plane;
      float* gp = pdx + pl * in_plane;
      // coef = dy * dy/dT * dT/d(x^p), scattered over the window, then times d(x^p)/dx / p.
      for (int64_t o = 0; o < out_plane; ++o)
        coef[o] = yp[o] == 0.0f ? 0.0f : d[o] * y_power(yp[o]) * inv_area[o];  // a zero-sum window: zero gradient
      std::memset(gp, 0, in_plane * sizeof(float));
      for (int64_t oh = 0; oh < g.oh; ++oh) scatter_row(gp, sweep, oh, coef.data() + oh * g.ow);
      if (p == 2.0) {
        for (int64_t i = 0; i < in_plane; ++i) gp[i] *= xp[i];
      } else if (p != 1.0) {
        for (int64_t i = 0; i < in_plane; ++i) {
          const float v = xp[i];
          gp[i] *= p == 3.0 ? v * v : std::pow(v, static_cast<float>(p - 1.0));
        }
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
