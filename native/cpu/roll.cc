// roll (torch.roll) along one axis: x seen as [outer, n, inner], each slab of n * inner values
// rotated by k * inner, that is two runs copied. 4-byte values as bits (float32 and int32).
// (It was two narrows and a concat: 0.29x PyTorch's speed on [8, 64, 56, 56] along the last axis.)
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"

namespace convnet {
namespace cpu {
void roll(const Tensor& x, int64_t axis, int64_t shift, const Tensor& y) {
  const uint32_t* px = reinterpret_cast<const uint32_t*>(x.i32());
  uint32_t* py = reinterpret_cast<uint32_t*>(y.i32());
  const int64_t n = x.shape[axis];
  int64_t inner = 1;
  for (size_t d = axis + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
  const int64_t block = n * inner;
  if (block == 0) return;
  const int64_t outer = x.numel() / block;
  const int64_t k = ((shift % n) + n) % n;
  const int64_t head = k * inner, tail = block - head;  // y's first `head` values are x's last
  parallel_for(outer, std::max<int64_t>(1, (1 << 15) / block), [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      std::memcpy(py + o * block, px + o * block + tail, head * sizeof(uint32_t));
      std::memcpy(py + o * block + head, px + o * block, tail * sizeof(uint32_t));
    }
  });
}

}  // namespace cpu
}  // namespace convnet
