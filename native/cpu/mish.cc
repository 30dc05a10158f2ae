// Mish (Misra 2019): y = x tanh(softplus(x)).
// Backward, from x: dx = dy (t + x s (1 - t^2)) with t = tanh(softplus(x)), s = sigmoid(x),
// PyTorch's formula.
//
// t comes without a tanh or a log: with E = exp(x), tanh(log(1 + E)) = ((1 + E)^2 - 1) /
// ((1 + E)^2 + 1). With e = exp(-|x|) (never an overflow) that is n / (n + 2), n = e (e + 2), for
// x <= 0 and, multiplied through by e^2, (1 + 2e) / (1 + 2e + 2e^2) for x > 0: one exp and one
// division, shared with s in the backward. Composed (softplus, tanh, mul) it took 7-8 passes.
// mish(-inf) = NaN (-inf times 0) and its gradient at +-inf NaN, as PyTorch; NaN stays NaN.
#include "cpu/inline_math.h"
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

// tanh(softplus(x)) from e = exp(-|x|) (above).
inline __attribute__((always_inline)) float tanh_softplus(float x, float e) {
  const float n = e * (e + 2.0f);
  const float two_e = 2.0f * e;
  const float num = x > 0.0f ? 1.0f + two_e : n;
  const float den = x > 0.0f ? (1.0f + two_e) + two_e * e : n + 2.0f;
  return num / den;
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void mish_range(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * tanh_softplus(x[i], exp_neg_abs(x[i]));  // NaN: NaN times t
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void mish_backward_range(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i], e = exp_neg_abs(v);
    const float t = tanh_softplus(v, e);
    const float s = (v >= 0.0f ? 1.0f : e) / (1.0f + e);
    const float g = dy[i] * (t + v * s * (1.0f - t * t));
    dx[i] = v == v ? g : v + v;
  }
}

}  // namespace

void mish_forward(const Tensor& x, const Tensor& y) { each_pointwise_range(x, y, mish_range); }

void mish_backward(const Tensor& dy, const Tensor& x, const Tensor& dx) { each_pointwise_range(dy, x, dx, mish_backward_range); }

}  // namespace cpu
}  // namespace convnet
