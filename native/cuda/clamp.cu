// clamp with scalar bounds on the GPU: the formulas of cpu/clamp.cc (the same bits: selections
// only), one kernel per direction. A missing bound is -inf / +inf, or the int32 limits.
#include <cmath>
#include <limits>

#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void clamp(const Tensor& x, double min, double max, const Tensor& y) {
  if (x.dtype == DType::Int32) {
    const auto bound = [](double v) {
      return v <= -2147483648.0 ? std::numeric_limits<int32_t>::min()
                                : v >= 2147483647.0 ? std::numeric_limits<int32_t>::max() : static_cast<int32_t>(v);
    };
    const int32_t *px = x.i32(), lo = bound(min), hi = bound(max);
    int32_t* py = y.i32();
    for_each("clamp", y.numel(), [=] __device__(int64_t i) {
      const int32_t v = px[i], above_lo = v < lo ? lo : v;
      py[i] = above_lo > hi ? hi : above_lo;
    });
    return;
  }
  const float* px = x.f32();
  float* py = y.f32();
  // A NaN bound: NaN everywhere, as PyTorch (and cpu/clamp.cc).
  const bool nan_bound = std::isnan(min) || std::isnan(max);
  const float lo = static_cast<float>(min), hi = static_cast<float>(max);
  for_each("clamp", y.numel(), [=] __device__(int64_t i) {
    const float v = px[i], above_lo = v < lo ? lo : v;
    py[i] = nan_bound ? __int_as_float(0x7fc00000) : above_lo > hi ? hi : above_lo;
  });
}

void clamp_backward(const Tensor& dy, const Tensor& x, double min, double max, const Tensor& dx) {
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdx = dx.f32();
  const float lo = static_cast<float>(min), hi = static_cast<float>(max);
  for_each("clamp backward", dx.numel(), [=] __device__(int64_t i) {
    const float v = px[i];
    pdx[i] = (v >= lo && v <= hi) ? pdy[i] : 0.0f;
  });
}

}  // namespace cuda
}  // namespace convnet
