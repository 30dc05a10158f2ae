// roll along one axis on the GPU (cpu/roll.cc's semantics): one thread an element, 4-byte bits.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void roll(const Tensor& x, int64_t axis, int64_t shift, const Tensor& y) {
  const uint32_t* px = reinterpret_cast<const uint32_t*>(x.i32());
  uint32_t* py = reinterpret_cast<uint32_t*>(y.i32());
  const int64_t n = x.shape[axis];
  int64_t inner = 1;
  for (size_t d = axis + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
  if (n * inner == 0) return;
  const int64_t k = ((shift % n) + n) % n;
  for_each("roll", y.numel(), [=] __device__(int64_t i) {
    const int64_t a = (i / inner) % n;
    const int64_t from = i + ((a >= k ? -k : n - k) * inner);  // y's position a holds x's (a - k) mod n
    py[i] = px[from];
  });
}

}  // namespace cuda
}  // namespace convnet
