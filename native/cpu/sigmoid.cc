// Sigmoid: y = 1 / (1 + exp(-x)), as e = exp(-|x|), y = (x >= 0 ? 1 : e) / (1 + e), which never
// overflows. Backward: dx = dy * y * (1 - y).
//
// The forward is vec::sigmoid (cpu/vec_math.h: AVX-512 / AVX2 / portable; exp at most 1.26 ulp,
// subnormal results kept): one pass with exp in registers. It had been three passes over blocks
// of the output (-|x|, exp, the quotient), the first of them bound by memory while the others
// waited: 0.89x PyTorch's speed on [8, 96, 55, 55] on an AVX2 Zen 3; the same arithmetic, so
// the same bits. std::exp, a scalar call per element, ran at 0.07x. NaN stays NaN;
// sigmoid(+inf) = 1, sigmoid(-inf) = 0.
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {
namespace {

// dx = dy * y * (1 - y), cloned like the forward (the SSE loop of `pointwise` ran at 0.76x
// PyTorch's speed on [8, 96, 55, 55] in one run).
CONVNET_SIMD_CLONES
void sigmoid_backward_range(const float* __restrict dy, const float* __restrict y, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

}  // namespace

void sigmoid_forward(const Tensor& x, const Tensor& y) { each_pointwise_range(x, y, vec::sigmoid); }

void sigmoid_backward(const Tensor& dy, const Tensor& y, const Tensor& dx) { each_pointwise_range(dy, y, dx, sigmoid_backward_range); }

}  // namespace cpu
}  // namespace convnet
