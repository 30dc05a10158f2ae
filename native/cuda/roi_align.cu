// Region-of-interest align on the GPU, the twin of cpu/roi_align.cc (whose comment states
// torchvision.ops.roi_align's rules): the samples and their weights come from
// cpu/roi_align_geometry.h, shared with the CPU, and each bin is summed in double, with every
// product and sum rounded on its own (no FMA contraction). The order is torchvision's (sample by
// sample, each row tap's two rows interpolated along the columns); the CPU adds the samples'
// weights up per pixel first (its Note [separable bins]), so the two agree to a float32 rounding
// (both are the exact sum in double, rounded once to float), not always to the bit.
//
// Forward: one thread per output (k, c, i, j). A batch index out of range is reported as E_INDEX
// at the next wait (its outputs are 0); a box with a coordinate that is not finite gives NaN.
//
// Backward (to x only): one thread per dy element scatters dy / count * weight to the four
// pixels of each of its samples with atomicAdd, as torchvision's CUDA kernel does. Note
// [atomic scatter]: the order of the float additions is the order the threads get there, so dx
// can differ in the last bits from run to run and from the CPU (which sums each plane in double,
// in box order); unlike roi_pool.cu there is no short ordered list of targets per bin to walk
// instead (a bin spreads over its grid_h x grid_w samples' pixels), and Mask R-CNN's training
// in torchvision has lived with this.
#include <cfloat>
#include <cmath>

#include "cpu/roi_align_geometry.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {
namespace {

using roi_align::Tap;

__device__ __forceinline__ bool batch_ok(float b, int64_t batch) { return b >= 0.0f && b < static_cast<float>(batch); }

}  // namespace

void roi_align_forward(const Tensor& x, const Tensor& boxes, double spatial_scale, int64_t sampling_ratio, bool aligned,
                       const Tensor& y) {
  const char* op = "roiAlign";
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t oh = y.shape[2], ow = y.shape[3];
  const float* px = x.f32();
  const float* pb = boxes.f32();
  float* py = y.f32();
  int* error_word = device_error_word();
  const int site = error_site(op, "a box's batch index is out of range for the batch");
  for_each(op, y.numel(), [=] __device__(int64_t o) {
    const int64_t j = o % ow, i = (o / ow) % oh, c = (o / (ow * oh)) % C, k = o / (ow * oh * C);
    const float* b = pb + 5 * k;
    if (!batch_ok(b[0], N)) {
      report_error(error_word, site);
      py[o] = 0.0f;
      return;
    }
    const roi_align::Box g = roi_align::box_geometry(b, spatial_scale, oh, ow, sampling_ratio, aligned);
    if (!g.finite) {
      py[o] = NAN;
      return;
    }
    const float* xp = px + (static_cast<int64_t>(b[0]) * C + c) * H * W;
    int64_t r0, r1, s0, s1;
    roi_align::tap_range(g.start_h, g.bin_h, g.grid_h, i, H, &r0, &r1);
    roi_align::tap_range(g.start_w, g.bin_w, g.grid_w, j, W, &s0, &s1);
    // row taps in turn, each row interpolated along the columns first, each operation rounded
    // on its own
    using roi_align::add;
    using roi_align::mul;
    double sum = 0.0;
    Tap ty, tx;
    for (int64_t r = r0; r < r1; ++r) {
      if (!roi_align::axis_tap(g.start_h, g.bin_h, g.grid_h, i, r, H, &ty)) continue;
      const float* low = xp + ty.low * W;
      const float* high = xp + ty.high * W;
      double along_low = 0.0, along_high = 0.0;
      for (int64_t s = s0; s < s1; ++s) {
        if (!roi_align::axis_tap(g.start_w, g.bin_w, g.grid_w, j, s, W, &tx)) continue;
        along_low = add(along_low, add(mul(tx.w_low, low[tx.low]), mul(tx.w_high, low[tx.high])));
        along_high = add(along_high, add(mul(tx.w_low, high[tx.low]), mul(tx.w_high, high[tx.high])));
      }
      sum = add(sum, add(mul(ty.w_low, along_low), mul(ty.w_high, along_high)));
    }
    py[o] = static_cast<float>(roi_align::div(sum, g.count));
  });
}

void roi_align_backward(const Tensor& dy, const Tensor& boxes, double spatial_scale, int64_t sampling_ratio,
                        bool aligned, const Tensor& dx) {
  const char* op = "roiAlign backward";
  const int64_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3];
  const int64_t oh = dy.shape[2], ow = dy.shape[3];
  if (dx.numel() == 0) return;
  CONVNET_CUDA_CHECK(cudaMemsetAsync(dx.f32(), 0, dx.numel() * sizeof(float), stream()));
  const float* pdy = dy.f32();
  const float* pb = boxes.f32();
  float* pdx = dx.f32();
  int* error_word = device_error_word();
  const int site = error_site(op, "a box's batch index is out of range for the batch");
  for_each(op, dy.numel(), [=] __device__(int64_t o) {
    const int64_t j = o % ow, i = (o / ow) % oh, c = (o / (ow * oh)) % C, k = o / (ow * oh * C);
    const float* b = pb + 5 * k;
    if (!batch_ok(b[0], N)) {
      report_error(error_word, site);
      return;
    }
    const roi_align::Box g = roi_align::box_geometry(b, spatial_scale, oh, ow, sampling_ratio, aligned);
    if (!g.finite) return;
    float* gp = pdx + (static_cast<int64_t>(b[0]) * C + c) * H * W;
    const double d = roi_align::div(pdy[o], g.count);
    int64_t r0, r1, s0, s1;
    roi_align::tap_range(g.start_h, g.bin_h, g.grid_h, i, H, &r0, &r1);
    roi_align::tap_range(g.start_w, g.bin_w, g.grid_w, j, W, &s0, &s1);
    Tap ty, tx;
    for (int64_t r = r0; r < r1; ++r) {
      if (!roi_align::axis_tap(g.start_h, g.bin_h, g.grid_h, i, r, H, &ty)) continue;
      float* low = gp + ty.low * W;
      float* high = gp + ty.high * W;
      const double d_low = roi_align::mul(d, ty.w_low), d_high = roi_align::mul(d, ty.w_high);
      for (int64_t s = s0; s < s1; ++s) {
        if (!roi_align::axis_tap(g.start_w, g.bin_w, g.grid_w, j, s, W, &tx)) continue;
        // Note [atomic scatter] (top of the file)
        atomicAdd(low + tx.low, static_cast<float>(roi_align::mul(d_low, tx.w_low)));
        atomicAdd(low + tx.high, static_cast<float>(roi_align::mul(d_low, tx.w_high)));
        atomicAdd(high + tx.low, static_cast<float>(roi_align::mul(d_high, tx.w_low)));
        atomicAdd(high + tx.high, static_cast<float>(roi_align::mul(d_high, tx.w_high)));
      }
    }
  });
}

}  // namespace cuda
}  // namespace convnet
