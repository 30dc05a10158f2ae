// Adaptive pooling on the GPU, the twin of cpu/adaptive_pool.cc (whose comment states the
// rules): output (i, j) pools rows [floor(i * H / oh), ceil((i + 1) * H / oh)) and the same for
// columns. Average: sum / rows / cols (divided twice, as PyTorch and the CPU); max: the first
// maximum, NaN winning, with its flat index (its backward is max_pool_backward, max_pool.cu).
// Forwards: one thread per output, the taps in the CPU's order (bitwise the CPU's values, except
// a whole plane of 16 or more into 1x1, which the CPU sums in float64).
// Average backward: one thread per input element gathering dy / rows / cols from the windows
// that hold it (adjacent windows may overlap by one), no atomics.
#include <cmath>

#include "cuda/cuda_ops.h"
#include "cuda/pool_window.cuh"

namespace convnet {
namespace cuda {

void adaptive_avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, const Tensor& y) {
  const char* op = "adaptiveAvgPool2d";
  const float* px = x.f32();
  float* py = y.f32();
  const Pool2dGeometry q = g;
  for_each(op, g.planes * g.oh * g.ow, [=] __device__(int64_t i) {
    const int64_t ow = i % q.ow, oh = (i / q.ow) % q.oh, p = i / (q.ow * q.oh);
    int64_t r0, r1, c0, c1;
    pool::adaptive_window(oh, q.h, q.oh, &r0, &r1);
    pool::adaptive_window(ow, q.w, q.ow, &c0, &c1);
    const float* xp = px + p * q.h * q.w;
    float sum = 0.0f;
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = c0; c < c1; ++c) sum += xp[r * q.w + c];
    py[i] = sum / static_cast<float>(r1 - r0) / static_cast<float>(c1 - c0);
  });
}

void adaptive_avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g, const Tensor& dx) {
  const char* op = "adaptiveAvgPool2d backward";
  const float* pdy = dy.f32();
  float* pdx = dx.f32();
  const Pool2dGeometry q = g;
  for_each(op, g.planes * g.h * g.w, [=] __device__(int64_t i) {
    const int64_t w = i % q.w, h = (i / q.w) % q.h, p = i / (q.w * q.h);
    int64_t oh_lo, oh_hi, ow_lo, ow_hi;
    pool::adaptive_covering(h, q.h, q.oh, &oh_lo, &oh_hi);
    pool::adaptive_covering(w, q.w, q.ow, &ow_lo, &ow_hi);
    const float* d = pdy + p * q.oh * q.ow;
    float sum = 0.0f;
    for (int64_t oh = oh_lo; oh <= oh_hi; ++oh) {
      int64_t r0, r1;
      pool::adaptive_window(oh, q.h, q.oh, &r0, &r1);
      if (h < r0 || h >= r1) continue;
      for (int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
        int64_t c0, c1;
        pool::adaptive_window(ow, q.w, q.ow, &c0, &c1);
        if (w < c0 || w >= c1) continue;
        sum += d[oh * q.ow + ow] / static_cast<float>(r1 - r0) / static_cast<float>(c1 - c0);
      }
    }
    pdx[i] = sum;
  });
}

void adaptive_max_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, const Tensor& y, const Tensor* indices) {
  const char* op = "adaptiveMaxPool2d";
  const float* px = x.f32();
  float* py = y.f32();
  int32_t* pi = indices ? indices->i32() : nullptr;
  const Pool2dGeometry q = g;
  for_each(op, g.planes * g.oh * g.ow, [=] __device__(int64_t i) {
    const int64_t ow = i % q.ow, oh = (i / q.ow) % q.oh, p = i / (q.ow * q.oh);
    int64_t r0, r1, c0, c1;
    pool::adaptive_window(oh, q.h, q.oh, &r0, &r1);
    pool::adaptive_window(ow, q.w, q.ow, &c0, &c1);
    const float* xp = px + p * q.h * q.w;
    float best = -INFINITY;
    int64_t at = r0 * q.w + c0;
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t c = c0; c < c1; ++c) {
        const float v = xp[r * q.w + c];
        if (v > best || v != v) best = v, at = r * q.w + c;
      }
    }
    py[i] = best;
    if (pi) pi[i] = static_cast<int32_t>(at);
  });
}

}  // namespace cuda
}  // namespace convnet
