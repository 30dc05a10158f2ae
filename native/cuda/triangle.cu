// tril and triu on the GPU (cpu/triangle.cc's semantics): one thread an element, 4-byte bits.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void triangle(const Tensor& x, int64_t diagonal, bool upper, const Tensor& y) {
  const uint32_t* px = reinterpret_cast<const uint32_t*>(x.i32());
  uint32_t* py = reinterpret_cast<uint32_t*>(y.i32());
  const int64_t dims = static_cast<int64_t>(x.shape.size());
  const int64_t rows = x.shape[dims - 2], cols = x.shape[dims - 1];
  if (rows == 0 || cols == 0) return;
  for_each(upper ? "triu" : "tril", y.numel(), [=] __device__(int64_t i) {
    const int64_t c = i % cols, r = (i / cols) % rows;
    const bool keep = upper ? c - r >= diagonal : c - r <= diagonal;
    py[i] = keep ? px[i] : 0u;
  });
}

}  // namespace cuda
}  // namespace convnet
