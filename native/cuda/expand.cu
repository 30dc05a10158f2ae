// expand on the GPU (cpu/expand.cc has the same semantics): y = x broadcast to y's shape, as a
// copy of 4-byte values (float32 or int32) bit for bit.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {

void expand(const Tensor& x, const Tensor& y) {
  const char* op = "expand";
  const uint32_t* px = reinterpret_cast<const uint32_t*>(x.i32());
  uint32_t* py = reinterpret_cast<uint32_t*>(y.i32());
  const int64_t n = y.numel();
  if (n == 0) return;
  const std::vector<int64_t> strides[1] = {broadcast_strides(x.shape, y.shape)};
  const StridedIndex<1> index = make_strided_index(y.shape, strides, op);
  for_each(op, n, [=] __device__(int64_t i) { py[i] = px[index.offset(i)]; });
}

}  // namespace cuda
}  // namespace convnet
