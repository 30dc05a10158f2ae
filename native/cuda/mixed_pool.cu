// Mixed pooling on the GPU, the twin of cpu/mixed_pool.cc (whose comment states the rules):
//   y = lambda * max_R x + (1 - lambda) * mean_R x,   one lambda per (sample, channel) plane,
// the max as max_pool2d's (first maximum, NaN wins), the mean as avg_pool2d's with
// count_include_pad. lambda[i] is drawn exactly as the CPU draws it: lane i % 4 of
// Philox4x32(seed, first_block + i / 4), through uniform_from_bits, so the same seed gives the
// same lambdas on both devices (bit for bit: only integer work and one exact float product).
//
// Forward: one kernel draws the lambdas (a thread per plane), one computes each output (a
// thread per output, the taps in the CPU's order) with its argmax. Backward: one thread per
// input element gathers (1 - lambda) * dy / divisor from the windows that hold it, then one
// warp per plane adds lambda * dy at the argmax in output order (Note [ordered scatter]).
#include <cmath>

#include "core/philox.h"
#include "cuda/cuda_ops.h"
#include "cuda/pool_window.cuh"

namespace convnet {
namespace cuda {
namespace {

// core/philox.h's functions are __host__ __device__ (CONVNET_HD): the very same code on both sides.
__device__ __forceinline__ float philox_uniform(uint64_t seed, uint64_t block, int lane) {
  return uniform_from_bits(Philox4x32::generate(seed, block).out[lane]);
}

__device__ __forceinline__ float mixed_divisor(const pool::AxisWindow& r, const pool::AxisWindow& c) {
  return static_cast<float>(r.padded * c.padded);
}

__global__ void mixed_scatter_max_kernel(const float* dy, const int32_t* indices, const float* lambda, float* dx,
                                         int64_t planes, int64_t out_plane, int64_t in_plane, int* error_word, int site) {
  __shared__ float lane_values[pool::kWarpsPerBlock][32];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  for (int64_t p = blockIdx.x * static_cast<int64_t>(pool::kWarpsPerBlock) + warp; p < planes;
       p += static_cast<int64_t>(gridDim.x) * pool::kWarpsPerBlock) {
    const float lam = lambda[p];
    const float* d = dy + p * out_plane;
    const int32_t* ip = indices + p * out_plane;
    for (int64_t base = 0; base < out_plane; base += 32) {
      const int64_t o = base + lane;
      int key = -1;
      float v = 0.0f;
      if (o < out_plane) {
        key = ip[o];
        v = __fmul_rn(lam, d[o]);
        if (key < 0 || key >= in_plane) {
          report_error(error_word, site);
          key = -1;
        }
      }
      pool::warp_ordered_add(dx + p * in_plane, key, v, lane_values[warp]);
    }
  }
}

}  // namespace

void mixed_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, int64_t lambda_mode, float fixed, uint64_t seed,
                          uint64_t first_block, const Tensor& lambda, const Tensor& y, const Tensor* indices) {
  const char* op = "mixedPool2d";
  float* pl = lambda.f32();
  const int64_t mode = lambda_mode;
  for_each(op, g.planes, [=] __device__(int64_t i) {
    if (mode == kMixedFixed) {
      pl[i] = fixed;
      return;
    }
    const float u = philox_uniform(seed, first_block + static_cast<uint64_t>(i / 4), static_cast<int>(i % 4));
    pl[i] = mode == kMixedBernoulli ? (u < 0.5f ? 1.0f : 0.0f) : u;
  });
  const float* px = x.f32();
  float* py = y.f32();
  int32_t* pi = indices ? indices->i32() : nullptr;
  const Pool2dGeometry q = g;
  for_each(op, g.planes * g.oh * g.ow, [=] __device__(int64_t i) {
    const int64_t ow = i % q.ow, oh = (i / q.ow) % q.oh, p = i / (q.ow * q.oh);
    const pool::AxisWindow r = pool::axis_window(oh, q.h, q.kh, q.sh, q.ph, 1);
    const pool::AxisWindow c = pool::axis_window(ow, q.w, q.kw, q.sw, q.pw, 1);
    const float* xp = px + p * q.h * q.w;
    float best = -INFINITY, sum = 0.0f;
    int64_t at = r.first * q.w + c.first;
    for (int64_t a = 0; a < r.taps; ++a) {
      for (int64_t b = 0; b < c.taps; ++b) {
        const int64_t k = (r.first + a) * q.w + c.first + b;
        const float v = xp[k];
        if (v > best || v != v) best = v, at = k;
        sum += v;
      }
    }
    const float lam = pl[p], rest = 1.0f - lam;
    // As the CPU's lam * max + rest * (sum / divisor), each product rounded on its own.
    py[i] = __fadd_rn(__fmul_rn(lam, best), __fmul_rn(rest, sum / mixed_divisor(r, c)));
    if (pi) pi[i] = static_cast<int32_t>(at);
  });
}

void mixed_pool2d_backward(const Tensor& dy, const Tensor& indices, const Tensor& lambda, const Pool2dGeometry& g,
                           const Tensor& dx) {
  const char* op = "mixedPool2d backward";
  const float* pdy = dy.f32();
  const float* pl = lambda.f32();
  float* pdx = dx.f32();
  const Pool2dGeometry q = g;
  // The mean's share: every in-bounds value of a window gets (1 - lambda) * dy / divisor.
  for_each(op, g.planes * g.h * g.w, [=] __device__(int64_t i) {
    const int64_t w = i % q.w, h = (i / q.w) % q.h, p = i / (q.w * q.h);
    int64_t oh_lo, oh_hi, ow_lo, ow_hi;
    pool::covering_outputs(h, q.oh, q.kh, q.sh, q.ph, 1, &oh_lo, &oh_hi);
    pool::covering_outputs(w, q.ow, q.kw, q.sw, q.pw, 1, &ow_lo, &ow_hi);
    const float* d = pdy + p * q.oh * q.ow;
    const float rest = 1.0f - pl[p];
    float sum = 0.0f;
    for (int64_t oh = oh_lo; oh <= oh_hi; ++oh) {
      const pool::AxisWindow r = pool::axis_window(oh, q.h, q.kh, q.sh, q.ph, 1);
      for (int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
        const pool::AxisWindow c = pool::axis_window(ow, q.w, q.kw, q.sw, q.pw, 1);
        sum += __fmul_rn(rest, d[oh * q.ow + ow]) / mixed_divisor(r, c);
      }
    }
    pdx[i] = sum;
  });
  // The max's share, after the mean's (stream order): lambda * dy at each argmax.
  const int64_t planes = g.planes, out_plane = g.oh * g.ow, in_plane = g.h * g.w;
  if (planes == 0 || out_plane == 0) return;
  const int site = error_site(op, "an index is out of range for the input plane");
  cudaStream_t s = stream();
  set_last_op(op);
  mixed_scatter_max_kernel<<<pool::warp_blocks(planes), pool::kWarpsPerBlock * 32, 0, s>>>(
      pdy, indices.i32(), pl, pdx, planes, out_plane, in_plane, device_error_word(), site);
  check_launch(op);
}

}  // namespace cuda
}  // namespace convnet
