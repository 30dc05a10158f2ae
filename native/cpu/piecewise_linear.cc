// The piecewise-linear activations whose bounds are parameters, PyTorch's formulas, one pass
// each way (composed from comparisons, abs, sign and where they took 3-5; softshrink's forward
// 19x PyTorch's time on [8, 96, 55, 55]):
//   softshrink(x; l) = x - l above l, x + l below -l, 0 between; dx = 0 on [-l, l], dy elsewhere.
//   hardshrink(x; l) = 0 on [-l, l], x elsewhere; the same gradient.
//   threshold(x; t, v) = v where x <= t, x elsewhere; dx = 0 where x <= t, dy elsewhere.
//   hardtanh's backward (its forward is clamp): dx = 0 where x <= lo or x >= hi, dy elsewhere.
// NaN stays NaN forward (softshrink included: PyTorch 1.13 gives 0 there, later versions NaN)
// and passes dy backward, as PyTorch's comparisons do.
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void softshrink_range(const float* __restrict x, float l, float* __restrict y, int64_t n) {
  // v - clamp(v, -l, l): v - l above l, v + l below -l, +0 between, NaN kept (NaN - NaN); three
  // instructions a vector where the three-way select took eight (0.97x PyTorch's time on the Zen 4).
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float above = v > -l ? v : -l;  // vmaxps's and vminps's operand order (NaN: -l)
    const float clamped = above < l ? above : l;
    y[i] = v - clamped;
  }
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void hardshrink_range(const float* __restrict x, float l, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = __builtin_fabsf(x[i]) <= l ? 0.0f : x[i];  // NaN: kept
}

// dx = 0 on [lo, hi], dy elsewhere (the shrinks' gradient: lo = -l, hi = l).
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void zero_inside_range(const float* __restrict dy, const float* __restrict x, float lo, float hi, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] >= lo && x[i] <= hi ? 0.0f : dy[i];
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void threshold_range(const float* __restrict x, float t, float v, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] <= t ? v : x[i];
}

// dx = 0 where x <= lo or x >= hi, dy elsewhere (hardtanh's gradient).
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void zero_outside_range(const float* __restrict dy, const float* __restrict x, float lo, float hi, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] <= lo || x[i] >= hi ? 0.0f : dy[i];
}

}  // namespace

void softshrink_forward(const Tensor& x, float lambd, const Tensor& y) {
  each_pointwise_range(x, y, [lambd](const float* px, float* py, int64_t n) { softshrink_range(px, lambd, py, n); });
}

void hardshrink_forward(const Tensor& x, float lambd, const Tensor& y) {
  each_pointwise_range(x, y, [lambd](const float* px, float* py, int64_t n) { hardshrink_range(px, lambd, py, n); });
}

void shrink_backward(const Tensor& dy, const Tensor& x, float lambd, const Tensor& dx) {
  each_pointwise_range(dy, x, dx, [lambd](const float* pdy, const float* px, float* pdx, int64_t n) {
    zero_inside_range(pdy, px, -lambd, lambd, pdx, n);
  });
}

void threshold_forward(const Tensor& x, float threshold, float value, const Tensor& y) {
  each_pointwise_range(x, y, [threshold, value](const float* px, float* py, int64_t n) { threshold_range(px, threshold, value, py, n); });
}

void threshold_backward(const Tensor& dy, const Tensor& x, float threshold, const Tensor& dx) {
  each_pointwise_range(dy, x, dx, [threshold](const float* pdy, const float* px, float* pdx, int64_t n) {
    zero_inside_range(pdy, px, -__builtin_inff(), threshold, pdx, n);
  });
}

void hardtanh_backward(const Tensor& dy, const Tensor& x, float lo, float hi, const Tensor& dx) {
  each_pointwise_range(dy, x, dx, [lo, hi](const float* pdy, const float* px, float* pdx, int64_t n) {
    zero_outside_range(pdy, px, lo, hi, pdx, n);
  });
}

}  // namespace cpu
}  // namespace convnet
