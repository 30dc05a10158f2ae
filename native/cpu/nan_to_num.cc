// nan_to_num (torch.nan_to_num): NaN, +inf and -inf replaced by three numbers, one pass (it was
// three comparisons and three selects: 0.37x PyTorch's speed on [8, 64, 56, 56]). nansum reads
// its input through it too (NaN to 0, the infinities kept).
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void nan_to_num_range(const float* __restrict x, float nan, float posinf, float neginf, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float finite = v == __builtin_inff() ? posinf : (v == -__builtin_inff() ? neginf : v);
    y[i] = v != v ? nan : finite;
  }
}

}  // namespace

void nan_to_num(const Tensor& x, float nan, float posinf, float neginf, const Tensor& y) {
  each_pointwise_range(x, y, [=](const float* px, float* py, int64_t n) { nan_to_num_range(px, nan, posinf, neginf, py, n); });
}

}  // namespace cpu
}  // namespace convnet
