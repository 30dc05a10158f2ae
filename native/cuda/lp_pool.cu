// Power-average (Lp) pooling on the GPU, the twin of cpu/lp_pool.cc (whose comment states the
// formulas, PyTorch's lp_pool2d): T = sum of x^p over the window's in-bounds values, scaled by
// kh * kw / |R| (or 1 / |R| with `mean`), y = T^(1/p); no padding, no dilation.
// Backward: dx_i = sum over the windows holding i of dy * y^(1 - p) * c, times x_i^(p - 1)
// (c = kh * kw / |R| or 1 / |R|; a window with y = 0 contributes 0).
// Forward: one thread per output, the taps in the CPU's order; backward: one thread per input
// element gathering from the windows that hold it (no atomics). x^p and T^(1/p) use x * x,
// x * x * x and sqrt for p = 2, 3 as the CPU; other p use powf, which may differ from the
// host's std::pow in the last bit.
#include <cmath>

#include "cuda/cuda_ops.h"
#include "cuda/pool_window.cuh"

namespace convnet {
namespace cuda {
namespace {

// __fmul_rn keeps the products rounded as the CPU's (no fused multiply-add across them).
__device__ __forceinline__ float power(float v, float p) {
  if (p == 1.0f) return v;
  if (p == 2.0f) return __fmul_rn(v, v);
  if (p == 3.0f) return __fmul_rn(__fmul_rn(v, v), v);
  return powf(v, p);
}

__device__ __forceinline__ float root(float t, float p, float inv_p) {
  if (p == 1.0f) return t;
  if (p == 2.0f) return sqrtf(t);
  return powf(t, inv_p);
}

}  // namespace

void lp_pool2d_forward(const Tensor& x, double p, const Pool2dGeometry& g, bool mean, const Tensor& y) {
  const char* op = "lpPool2d";
  const float* px = x.f32();
  float* py = y.f32();
  const Pool2dGeometry q = g;
  // The CPU tests the double p for 1, 2, 3 and hands powf-like calls static_cast<float>(p):
  // testing the float p picks the same formulas for every p a user writes (1, 2, 3, 1.5, ...).
  const float pf = static_cast<float>(p), inv_p = static_cast<float>(1.0 / p);
  const float kernel_area = static_cast<float>(g.kh * g.kw);
  for_each(op, g.planes * g.oh * g.ow, [=] __device__(int64_t i) {
    const int64_t ow = i % q.ow, oh = (i / q.ow) % q.oh, pl = i / (q.ow * q.oh);
    const pool::AxisWindow r = pool::axis_window(oh, q.h, q.kh, q.sh, 0, 1);
    const pool::AxisWindow c = pool::axis_window(ow, q.w, q.kw, q.sw, 0, 1);
    const float* xp = px + pl * q.h * q.w;
    float sum = 0.0f;
    for (int64_t a = 0; a < r.taps; ++a)
      for (int64_t b = 0; b < c.taps; ++b) sum += power(xp[(r.first + a) * q.w + c.first + b], pf);
    const float avg = sum / static_cast<float>(r.taps * c.taps);  // never empty: no padding
    py[i] = root(mean ? avg : __fmul_rn(avg, kernel_area), pf, inv_p);
  });
}

void lp_pool2d_backward(const Tensor& dy, const Tensor& x, const Tensor& y, double p, const Pool2dGeometry& g, bool mean,
                        const Tensor& dx) {
  const char* op = "lpPool2d backward";
  const float* px = x.f32();
  const float* py = y.f32();
  const float* pdy = dy.f32();
  float* pdx = dx.f32();
  const Pool2dGeometry q = g;
  const float pf = static_cast<float>(p), one_minus_p = static_cast<float>(1.0 - p),
              p_minus_one = static_cast<float>(p - 1.0);
  const float scale = mean ? 1.0f : static_cast<float>(g.kh * g.kw);
  for_each(op, g.planes * g.h * g.w, [=] __device__(int64_t i) {
    const int64_t w = i % q.w, h = (i / q.w) % q.h, pl = i / (q.w * q.h);
    int64_t oh_lo, oh_hi, ow_lo, ow_hi;
    pool::covering_outputs(h, q.oh, q.kh, q.sh, 0, 1, &oh_lo, &oh_hi);
    pool::covering_outputs(w, q.ow, q.kw, q.sw, 0, 1, &ow_lo, &ow_hi);
    const float* d = pdy + pl * q.oh * q.ow;
    const float* yp = py + pl * q.oh * q.ow;
    float sum = 0.0f;
    for (int64_t oh = oh_lo; oh <= oh_hi; ++oh) {
      const pool::AxisWindow r = pool::axis_window(oh, q.h, q.kh, q.sh, 0, 1);
      for (int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
        const pool::AxisWindow c = pool::axis_window(ow, q.w, q.kw, q.sw, 0, 1);
        const int64_t o = oh * q.ow + ow;
        const float v = yp[o];
        if (v == 0.0f) continue;  // a zero-sum window: zero gradient
        // y^(1 - p) = T^(1/p - 1)
        const float y_power = pf == 1.0f ? 1.0f : pf == 2.0f ? 1.0f / v : pf == 3.0f ? 1.0f / __fmul_rn(v, v) : powf(v, one_minus_p);
        const float inv_area = scale / static_cast<float>(r.taps * c.taps);
        sum += __fmul_rn(__fmul_rn(d[o], y_power), inv_area);
      }
    }
    const float v = px[i];
    if (pf == 2.0f) sum = __fmul_rn(sum, v);
    else if (pf != 1.0f) sum = __fmul_rn(sum, pf == 3.0f ? __fmul_rn(v, v) : powf(v, p_minus_one));
    pdx[i] = sum;
  });
}

}  // namespace cuda
}  // namespace convnet
