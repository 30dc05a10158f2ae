// affine_grid on the GPU (cpu/affine_grid.cc's semantics and bits: (t0 x + t1 y) + t2, no FMA):
// one thread a point.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void affine_grid(const Tensor& theta, const Tensor& xs, const Tensor& ys, const Tensor& grid) {
  const int64_t n = theta.shape[0], height = ys.numel(), width = xs.numel();
  if (n * height * width == 0) return;
  const float* pt = theta.f32();
  const float* px = xs.f32();
  const float* py = ys.f32();
  float* out = grid.f32();
  for_each("affineGrid", n * height * width, [=] __device__(int64_t i) {
    const int64_t w = i % width, h = (i / width) % height;
    const float* t = pt + (i / (width * height)) * 6;
    const float x = px[w], y = py[h];
    out[2 * i] = __fadd_rn(__fadd_rn(__fmul_rn(t[0], x), __fmul_rn(t[1], y)), t[2]);
    out[2 * i + 1] = __fadd_rn(__fadd_rn(__fmul_rn(t[3], x), __fmul_rn(t[4], y)), t[5]);
  });
}

}  // namespace cuda
}  // namespace convnet
