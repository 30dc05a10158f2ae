// Average pooling on the GPU, the twin of cpu/avg_pool.cc (whose comment states the rules):
// y = (sum of the window's in-bounds values) / divisor, the divisor being divisor_override when
// given, else with count_include_pad the window's extent clipped to the padded input, else the
// number of in-bounds values; a window wholly in the padding gives 0.
//
// Note [cuDNN average pooling]: cuDNN computes the same thing when its windows are PyTorch's
// (no extra ceil_mode window: then every window's extent clipped to the padded input is the
// full kh * kw, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING's divisor) and no divisor_override;
// CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING divides by the in-bounds count, PyTorch's
// count_include_pad = false. Both directions use it then (its float sums may differ from the
// CPU's in order). Otherwise: the forward is one thread per output, the taps in the CPU's
// order (so bitwise the CPU's sums); the backward one thread per input element, gathering
// dy / divisor from the windows that hold it (no atomics, deterministic).
#include "cuda/cuda_ops.h"
#include "cuda/pool_window.cuh"

namespace convnet {
namespace cuda {
namespace {

bool use_cudnn(const Tensor& x_or_dx, const Pool2dGeometry& g, int64_t divisor_override) {
  return divisor_override <= 0 && pool::cudnn_windows_match(x_or_dx, g);
}

decl::cudnnPoolingMode_t mode_of(bool count_include_pad) {
  return count_include_pad ? decl::CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                           : decl::CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
}

// The divisor of output (r, c), as cpu::AvgWindows::divisor.
__device__ __forceinline__ float divisor_of(const pool::AxisWindow& r, const pool::AxisWindow& c, bool count_include_pad,
                                            int64_t divisor_override) {
  if (divisor_override > 0) return static_cast<float>(divisor_override);
  if (count_include_pad) return static_cast<float>(r.padded * c.padded);
  return static_cast<float>(r.taps * c.taps);
}

}  // namespace

void avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad, int64_t divisor_override,
                        const Tensor& y) {
  const char* op = "avgPool2d";
  if (use_cudnn(x, g, divisor_override)) {
    pool::cudnn_pool_forward(op, mode_of(count_include_pad), g, x, y);
    return;
  }
  const float* px = x.f32();
  float* py = y.f32();
  const Pool2dGeometry q = g;
  for_each(op, g.planes * g.oh * g.ow, [=] __device__(int64_t i) {
    const int64_t ow = i % q.ow, oh = (i / q.ow) % q.oh, p = i / (q.ow * q.oh);
    const pool::AxisWindow r = pool::axis_window(oh, q.h, q.kh, q.sh, q.ph, 1);
    const pool::AxisWindow c = pool::axis_window(ow, q.w, q.kw, q.sw, q.pw, 1);
    if (r.taps == 0 || c.taps == 0) {
      py[i] = 0.0f;
      return;
    }
    const float* xp = px + p * q.h * q.w;
    float sum = 0.0f;
    for (int64_t a = 0; a < r.taps; ++a)
      for (int64_t b = 0; b < c.taps; ++b) sum += xp[(r.first + a) * q.w + c.first + b];
    py[i] = sum / divisor_of(r, c, count_include_pad, divisor_override);
  });
}

void avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g, bool count_include_pad, int64_t divisor_override,
                         const Tensor& dx) {
  const char* op = "avgPool2d backward";
  if (use_cudnn(dx, g, divisor_override)) {
    int64_t n, c;
    pool::nc_of(dx.shape, &n, &c);
    pool::PoolingDesc pd(op, mode_of(count_include_pad), g);
    TensorDesc xd(op, n, c, g.h, g.w), yd(op, n, c, g.oh, g.ow);
    // Average pooling's backward reads neither y nor x, but cuDNN takes both: dy stands for y
    // (same shape) and dx for x (same shape; its values are never used).
    CONVNET_CUDNN_CHECK(dnn().cudnnPoolingBackward(cudnn_handle(), pd, &kOne, yd, dy.f32(), yd, dy.f32(), xd, dx.f32(),
                                                   &kZero, xd, dx.f32()));
    return;
  }
  const float* pdy = dy.f32();
  float* pdx = dx.f32();
  const Pool2dGeometry q = g;
  for_each(op, g.planes * g.h * g.w, [=] __device__(int64_t i) {
    const int64_t w = i % q.w, h = (i / q.w) % q.h, p = i / (q.w * q.h);
    int64_t oh_lo, oh_hi, ow_lo, ow_hi;
    pool::covering_outputs(h, q.oh, q.kh, q.sh, q.ph, 1, &oh_lo, &oh_hi);
    pool::covering_outputs(w, q.ow, q.kw, q.sw, q.pw, 1, &ow_lo, &ow_hi);
    const float* d = pdy + p * q.oh * q.ow;
    float sum = 0.0f;
    for (int64_t oh = oh_lo; oh <= oh_hi; ++oh) {
      const pool::AxisWindow r = pool::axis_window(oh, q.h, q.kh, q.sh, q.ph, 1);
      for (int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
        const pool::AxisWindow c = pool::axis_window(ow, q.w, q.kw, q.sw, q.pw, 1);
        sum += d[oh * q.ow + ow] / divisor_of(r, c, count_include_pad, divisor_override);
      }
    }
    pdx[i] = sum;
  });
}

}  // namespace cuda
}  // namespace convnet
