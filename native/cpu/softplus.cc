// Softplus and log-sigmoid, the two sides of one function: softplus(x) = log(1 + exp(x)) and
// logsigmoid(x) = -softplus(-x).
//   softplus(x; beta, threshold) = x where beta x > threshold, softplus(beta x) / beta elsewhere
//   (PyTorch's); dx = dy where beta x > threshold, dy sigmoid(beta x) elsewhere.
//   logsigmoid(x) = min(x, 0) - log1p(exp(-|x|)); dx = dy sigmoid(-x) = -dy expm1(y), from y.
// One pass each way with exp and log1p in registers (inline_math.h: the stable forms, never an
// overflow). Log-sigmoid's gradient from its output needs no exp and no division: from x
// (exp(-|x|), then e / (1 + e)) it took 1.4x PyTorch's time, which divides a saved exp(-|x|). Composed from exp, log1p (a scalar call per element) and friends
// they took 4-6 passes: log-sigmoid's forward 3.7x PyTorch's time on [8, 96, 55, 55].
// NaN stays NaN; past x = -88 (beta x for softplus) exp(-|x|) is 0 where PyTorch keeps a subnormal.
#include "cpu/inline_math.h"
#include "cpu/nn_ops.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void softplus_range(const float* __restrict x, float beta, float threshold, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float bx = x[i] * beta;
    const float smooth = softplus_value(bx) / beta;
    y[i] = bx > threshold ? x[i] : smooth;
  }
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void softplus_backward_range(const float* __restrict dy, const float* __restrict x, float beta, float threshold,
                             float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float bx = x[i] * beta;
    const float smooth = dy[i] * sigmoid_value(bx);
    dx[i] = bx > threshold ? dy[i] : smooth;
  }
}

__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void log_sigmoid_range(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float r = (v < 0.0f ? v : 0.0f) - log1p_unit(exp_neg_abs(v));
    y[i] = v == v ? r : v + v;
  }
}

// 1 - exp(y) = -expm1(y) for y <= 0 (log-sigmoid's output) or NaN, as (1 - s) - s m with exp(y) =
// s (1 + m) (inline_math.h's exp_reduce): expm1_nonpositive's value without the clamp at 0 and the
// selects a general x needs (y is never positive; y = 0 gives +0; a tiny y gives -y exactly, so
// subnormal gradients stay; NaN stays NaN). A fifth fewer instructions in a loop that is
// compute-bound at 2 threads (0.9x PyTorch's time with expm1_nonpositive).
inline __attribute__((always_inline)) float one_minus_exp(float y) {
  const ExpReduced e = exp_reduce(y < -88.0f ? -88.0f : y);  // exp(-88) rounds to 0 here: 1 - 0
  const float s = pow2_of(e.k);
  return (1.0f - s) - s * e.m;
}

// Near y = 0 (large x) 1 - exp(y) keeps y's digits (there sigmoid(-x) = -y to float precision),
// and further out exp(y)'s weight in the difference shrinks as fast as y's rounding grows.
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void log_sigmoid_backward_range(const float* __restrict dy, const float* __restrict y, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * one_minus_exp(y[i]);
}

}  // namespace

void softplus_forward(const Tensor& x, float beta, float threshold, const Tensor& y) {
  each_pointwise_range(x, y, [beta, threshold](const float* px, float* py, int64_t n) { softplus_range(px, beta, threshold, py, n); });
}

void softplus_backward(const Tensor& dy, const Tensor& x, float beta, float threshold, const Tensor& dx) {
  each_pointwise_range(dy, x, dx, [beta, threshold](const float* pdy, const float* px, float* pdx, int64_t n) {
    softplus_backward_range(pdy, px, beta, threshold, pdx, n);
  });
}

void log_sigmoid_forward(const Tensor& x, const Tensor& y) { each_pointwise_range(x, y, log_sigmoid_range); }

void log_sigmoid_backward(const Tensor& dy, const Tensor& y, const Tensor& dx) {
  each_pointwise_range(dy, y, dx, log_sigmoid_backward_range);
}

}  // namespace cpu
}  // namespace convnet
