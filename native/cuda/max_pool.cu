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
  pool::ordered_scatter<false>("maxPool2d backward", dy, indices, dx);
}

}  // namespace cuda
}  // namespace convnet
