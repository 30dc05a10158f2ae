// clamp with scalar bounds (torch.clamp(x, min, max) for numbers), forward and backward in one
// pass each. A missing bound comes as -inf / +inf (float32) or the int32 limits, which clamp
// nothing, so one loop serves min only, max only and both.
//
//   y  = (x < lo ? lo : x) > hi ? hi : ...   NaN x stays NaN (both tests are false); lo > hi
//                                             gives hi everywhere, as PyTorch's min(max(x, lo), hi)
//   dx = lo <= x <= hi ? dy : 0               PyTorch's clamp_backward: the bounds themselves pass
//                                             the gradient, NaN x passes none
// A NaN bound makes every y NaN (PyTorch fills the result with NaN) and every dx 0 (no x
// compares true against it). Tensor bounds are composed in lib/ops.ts from compare and where.
//
// The selections vectorise only under no-trapping-math (see leaky_relu.cc): the attribute
// changes no result, as no kernel reads the floating-point exception flags.
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

// y may be x: the fused activations of conv2d.cc and depthwise_conv2d.cc clamp their output in
// place, so no __restrict here (each y[i] is written after x[i] alone is read).
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void clamp_range(const float* x, float lo, float hi, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float above_lo = v < lo ? lo : v;
    y[i] = above_lo > hi ? hi : above_lo;
  }
}

CONVNET_SIMD_CLONES
void clamp_int32_range(const int32_t* __restrict x, int32_t lo, int32_t hi, int32_t* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = x[i];
    const int32_t above_lo = v < lo ? lo : v;
    y[i] = above_lo > hi ? hi : above_lo;
  }
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void clamp_backward_range(const float* __restrict dy, const float* __restrict x, float lo, float hi,
                          float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    dx[i] = (v >= lo && v <= hi) ? dy[i] : 0.0f;
  }
}

// A bound given as a double, within int32 (an int32 x is clamped by integers, checked in lib/ops.ts).
int32_t int32_bound(double v) {
  if (v <= static_cast<double>(std::numeric_limits<int32_t>::min())) return std::numeric_limits<int32_t>::min();
  if (v >= static_cast<double>(std::numeric_limits<int32_t>::max())) return std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(v);
}

}  // namespace

void clamp(const Tensor& x, double min, double max, const Tensor& y) {
  const int64_t n = y.numel();
  if (x.dtype == DType::Int32) {
    const int32_t *px = x.i32(), lo = int32_bound(min), hi = int32_bound(max);
    int32_t* py = y.i32();
    parallel_for_elements(n, kPointwiseGrain, [&](int64_t begin, int64_t end) { clamp_int32_range(px + begin, lo, hi, py + begin, end - begin); });
    return;
  }
  const float* px = x.f32();
  float* py = y.f32();
  if (std::isnan(min) || std::isnan(max)) {
    parallel_for_elements(n, kPointwiseGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) py[i] = std::numeric_limits<float>::quiet_NaN();
    });
    return;
  }
  const float lo = static_cast<float>(min), hi = static_cast<float>(max);
  parallel_for_elements(n, kPointwiseGrain, [&](int64_t begin, int64_t end) { clamp_range(px + begin, lo, hi, py + begin, end - begin); });
}

void clamp_backward(const Tensor& dy, const Tensor& x, double min, double max, const Tensor& dx) {
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdx = dx.f32();
  const float lo = static_cast<float>(min), hi = static_cast<float>(max);  // NaN stays NaN: every dx is 0
  parallel_for_elements(dx.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) {
    clamp_backward_range(pdy + begin, px + begin, lo, hi, pdx + begin, end - begin);
  });
}

}  // namespace cpu
}  // namespace convnet
