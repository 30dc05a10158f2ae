// Softsign: y = x / (1 + |x|). Backward, from x: dx = dy / (1 + |x|)^2.
// One pass each way (composed, the backward took five). softsign(+-inf) = NaN (inf / inf), as
// PyTorch's formula gives it; NaN stays NaN.
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

CONVNET_SIMD_CLONES
void softsign_range(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + __builtin_fabsf(x[i]));
}

CONVNET_SIMD_CLONES
void softsign_backward_range(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float d = 1.0f + __builtin_fabsf(x[i]);
    dx[i] = dy[i] / (d * d);
  }
}

}  // namespace

void softsign_forward(const Tensor& x, const Tensor& y) { each_pointwise_range(x, y, softsign_range); }

void softsign_backward(const Tensor& dy, const Tensor& x, const Tensor& dx) {
  each_pointwise_range(dy, x, dx, softsign_backward_range);
}

}  // namespace cpu
}  // namespace convnet
