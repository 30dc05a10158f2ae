// affine_grid (torch.nn.functional.affine_grid, 4-D sizes): grid[n, h, w] = theta[n] @ (xs[w],
// ys[h], 1), the two sums as (t0 x + t1 y) + t2 without FMA contraction, so that every clone
// (and the GPU) gives the same bits. The coordinates xs [W] and ys [H] come from lib (linspace's
// values). Its gradient for theta is a product lib composes. (It was a base grid expanded to
// [N, H W, 3] and a batched matmul: 0.27x PyTorch's speed on [16, 2, 3] to 64 x 64.)
#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

// One row of the grid: the W points of row h of sample n, interleaved (x, y).
CONVNET_SIMD_CLONES __attribute__((optimize("fp-contract=off")))
void grid_row(const float* __restrict t, const float* __restrict xs, float y, float* __restrict out, int64_t width) {
  const float cx = t[1] * y, cy = t[4] * y;
  for (int64_t w = 0; w < width; ++w) {
    out[2 * w] = (t[0] * xs[w] + cx) + t[2];
    out[2 * w + 1] = (t[3] * xs[w] + cy) + t[5];
  }
}

}  // namespace

void affine_grid(const Tensor& theta, const Tensor& xs, const Tensor& ys, const Tensor& grid) {
  const int64_t n = theta.shape[0], height = ys.numel(), width = xs.numel();
  if (n * height * width == 0) return;
  const float* pt = theta.f32();
  const float* px = xs.f32();
  const float* py = ys.f32();
  float* out = grid.f32();
  parallel_for(n * height, std::max<int64_t>(1, (1 << 14) / (2 * width)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) grid_row(pt + (r / height) * 6, px, py[r % height], out + r * 2 * width, width);
  });
}

}  // namespace cpu
}  // namespace convnet
