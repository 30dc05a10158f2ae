// cross along one axis of size 3 on the GPU (cpu/cross.cc's semantics and bits: no FMA
// contraction): one thread a vector.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void cross(const Tensor& a, const Tensor& b, int64_t axis, const Tensor& y) {
  int64_t inner = 1;
  for (size_t d = axis + 1; d < y.shape.size(); ++d) inner *= y.shape[d];
  if (inner == 0 || y.numel() == 0) return;
  const float* pa = a.f32();
  const float* pb = b.f32();
  float* py = y.f32();
  for_each("cross", y.numel() / 3, [=] __device__(int64_t i) {
    const int64_t at = (i / inner) * 3 * inner + i % inner;  // element 0 of vector i
    const float u0 = pa[at], u1 = pa[at + inner], u2 = pa[at + 2 * inner];
    const float v0 = pb[at], v1 = pb[at + inner], v2 = pb[at + 2 * inner];
    py[at] = __fsub_rn(__fmul_rn(u1, v2), __fmul_rn(u2, v1));
    py[at + inner] = __fsub_rn(__fmul_rn(u2, v0), __fmul_rn(u0, v2));
    py[at + 2 * inner] = __fsub_rn(__fmul_rn(u0, v1), __fmul_rn(u1, v0));
  });
}

}  // namespace cuda
}  // namespace convnet
