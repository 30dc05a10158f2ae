// Max pooling on the GPU, the twin of cpu/max_pool.cc (whose comment states the rules: the
// maximum of the in-bounds taps, padding never a candidate, the first maximum in row-major
// order on ties, `v > best || v != v` so a NaN wins and a later NaN over an earlier one, a
// window of -inf values pointing at its first in-bounds tap; int32 indices h * W + w within
// the plane).
//
// Forward: cuDNN's CUDNN_POOLING_MAX (with CUDNN_PROPAGATE_NAN) when no indices are wanted and
// its windows are PyTorch's (no dilation, no extra ceil_mode window); else one thread per
// output, visiting the taps in the CPU's order, so values and indices are the CPU's exactly.
// Backward (max_pool_backward, also adaptive_max_pool2d's): dx[plane][indices[o]] += dy[o],
// one warp per plane in output order (Note [ordered scatter] in pool_window.cuh): no atomics,
// the CPU's sums bit for bit. A bad index is reported as E_INDEX at the next wait and skipped.
#include <limits>

#include "cuda/cuda_ops.h"
#include "cuda/pool_window.cuh"

namespace convnet {
namespace cuda {
namespace {

__global__ void max_pool_backward_kernel(const float* dy, const int32_t* indices, float* dx, int64_t planes,
                                         int64_t out_plane, int64_t in_plane, int* error_word, int site) {
  __shared__ float lane_values[pool::kWarpsPerBlock][32];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  for (int64_t p = blockIdx.x * static_cast<int64_t>(pool::kWarpsPerBlock) + warp; p < planes;
       p += static_cast<int64_t>(gridDim.x) * pool::kWarpsPerBlock) {
    const float* d = dy + p * out_plane;
    const int32_t* ip = indices + p * out_plane;
    float* g = dx + p * in_plane;
    for (int64_t base = 0; base < out_plane; base += 32) {
      const int64_t o = base + lane;
      int key = -1;
      float v = 0.0f;
      if (o < out_plane) {
        key = ip[o];
        v = d[o];
        if (key < 0 || key >= in_plane) {
          report_error(error_word, site);
          key = -1;
        }
      }
      pool::warp_ordered_add(g, key, v, lane_values[warp]);
    }
  }
}

}  // namespace

void max_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, const Tensor& y, const Tensor* indices) {
  const char* op = "maxPool2d";
  if (!indices && pool::cudnn_windows_match(x, g)) {
    pool::cudnn_pool_forward(op, decl::CUDNN_POOLING_MAX, g, x, y);
    return;
  }
  const float* px = x.f32();
  float* py = y.f32();
  int32_t* pi = indices ? indices->i32() : nullptr;
  const Pool2dGeometry q = g;
  for_each(op, g.planes * g.oh * g.ow, [=] __device__(int64_t i) {
    const int64_t ow = i % q.ow, oh = (i / q.ow) % q.oh, p = i / (q.ow * q.oh);
    const pool::AxisWindow r = pool::axis_window(oh, q.h, q.kh, q.sh, q.ph, q.dh);
    const pool::AxisWindow c = pool::axis_window(ow, q.w, q.kw, q.sw, q.pw, q.dw);
    const float* xp = px + p * q.h * q.w;
    float best = -INFINITY;
    int64_t at = r.first * q.w + c.first;
    for (int64_t a = 0; a < r.taps; ++a) {
      const int64_t row = (r.first + a * q.dh) * q.w;
      for (int64_t b = 0; b < c.taps; ++b) {
        const int64_t k = row + c.first + b * q.dw;
        const float v = xp[k];
        if (v > best || v != v) best = v, at = k;
      }
    }
    py[i] = best;
    if (pi) pi[i] = static_cast<int32_t>(at);
  });
}

void max_pool_backward(const Tensor& dy, const Tensor& indices, const Tensor& dx) {
  const char* op = "maxPool2d backward";
  const int64_t out_plane = dy.shape[dy.dim() - 2] * dy.shape[dy.dim() - 1];
  const int64_t in_plane = dx.shape[dx.dim() - 2] * dx.shape[dx.dim() - 1];
  const int64_t planes = in_plane ? dx.numel() / in_plane : 0;
  if (dx.numel() == 0) return;
  cudaStream_t s = stream();
  CONVNET_CUDA_CHECK(cudaMemsetAsync(dx.f32(), 0, dx.numel() * sizeof(float), s));
  if (out_plane == 0 || planes == 0) return;
  const int site = error_site(op, "an index is out of range for the input plane");
  set_last_op(op);
  max_pool_backward_kernel<<<pool::warp_blocks(planes), pool::kWarpsPerBlock * 32, 0, s>>>(
      dy.f32(), indices.i32(), dx.f32(), planes, out_plane, in_plane, device_error_word(), site);
  check_launch(op);
}

}  // namespace cuda
}  // namespace convnet
