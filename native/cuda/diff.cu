// diff along one axis on the GPU (cpu/diff.cc's semantics): one thread an element of y.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void diff(const Tensor& x, int64_t axis, const Tensor& y) {
  const float* px = x.f32();
  float* py = y.f32();
  const int64_t n = x.shape[axis];
  int64_t inner = 1;
  for (size_t d = axis + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
  const int64_t slab = (n - 1) * inner;
  if (n < 2 || y.numel() == 0) return;
  for_each("diff", y.numel(), [=] __device__(int64_t i) {
    const int64_t from = i + (i / slab) * inner;  // slab o of y starts o * inner later in x
    py[i] = px[from + inner] - px[from];
  });
}

}  // namespace cuda
}  // namespace convnet
