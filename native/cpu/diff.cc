// diff (torch.diff, one difference) along one axis: x seen as [outer, n, inner] and y as [outer,
// n - 1, inner], so each of y's slabs is one run, y[j] = x[j + inner] - x[j] over the slab's
// (n - 1) * inner values. (It was two narrows and a sub: 0.30x PyTorch's speed on [8, 64, 56, 56]
// along the last axis.)
#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

// y's flat range [begin, end), which may cross slabs: each piece of a slab is one run. The walk
// is inside the clone: a call per run (of 55, [8, 64, 56, 56] along the last axis) took a third of the time.
CONVNET_SIMD_CLONES void diff_range(const float* __restrict x, float* __restrict y, int64_t begin, int64_t end, int64_t slab, int64_t inner) {
  for (int64_t i = begin; i < end;) {
    const int64_t o = i / slab, j = i - o * slab, run = std::min(end - i, slab - j);
    const float* earlier = x + o * (slab + inner) + j;
    const float* later = earlier + inner;
    float* out = y + i;
    for (int64_t k = 0; k < run; ++k) out[k] = later[k] - earlier[k];
    i += run;
  }
}

}  // namespace

void diff(const Tensor& x, int64_t axis, const Tensor& y) {
  const int64_t n = x.shape[axis];
  int64_t inner = 1;
  for (size_t d = axis + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
  const int64_t slab = (n - 1) * inner;  // y's values per slab (x's: slab + inner)
  if (n < 2 || y.numel() == 0) return;
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for_elements(y.numel(), 1 << 14, [&](int64_t begin, int64_t end) { diff_range(px, py, begin, end, slab, inner); });
}

}  // namespace cpu
}  // namespace convnet
