// tril and triu (torch.tril / triu): the entries of x's last two axes on one side of diagonal k,
// zeros elsewhere, one pass: each row is a copy of its kept columns and a fill of the rest.
// tril keeps columns c <= r + k of row r, triu c >= r + k. 4-byte values copied as bits, so one
// kernel serves float32 and int32. (It was where() against a mask made in JavaScript: 0.17x
// PyTorch's speed on [2048, 2048].)
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"

namespace convnet {
namespace cpu {

void triangle(const Tensor& x, int64_t diagonal, bool upper, const Tensor& y) {
  const uint32_t* px = reinterpret_cast<const uint32_t*>(x.i32());  // bits of either dtype
  uint32_t* py = reinterpret_cast<uint32_t*>(y.i32());
  const int64_t dims = static_cast<int64_t>(x.shape.size());
  const int64_t rows = x.shape[dims - 2], cols = x.shape[dims - 1];
  if (rows == 0 || cols == 0) return;  // no entries (and no division by 0 below)
  const int64_t lines = x.numel() / cols;  // every row of every matrix
  parallel_for(lines, std::max<int64_t>(1, (1 << 15) / cols), [&](int64_t begin, int64_t end) {
    for (int64_t line = begin; line < end; ++line) {
      const int64_t r = line % rows;
      // kept columns [from, to)
      const int64_t from = upper ? std::clamp<int64_t>(r + diagonal, 0, cols) : 0;
      const int64_t to = upper ? cols : std::clamp<int64_t>(r + diagonal + 1, 0, cols);
      const uint32_t* src = px + line * cols;
      uint32_t* dst = py + line * cols;
      std::memset(dst, 0, from * sizeof(uint32_t));
      if (to > from) std::memcpy(dst + from, src + from, (to - from) * sizeof(uint32_t));
      std::memset(dst + std::max(from, to), 0, (cols - std::max(from, to)) * sizeof(uint32_t));
    }
  });
}

}  // namespace cpu
}  // namespace convnet
