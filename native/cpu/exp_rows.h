// Vectorised row helpers for the softmax losses: max, sum of exp(x - shift), and exp(x - shift)
// with its sum, over a row of floats. AVX-512 or AVX2 when the CPU has them (picked once at
// run time, like the GEMM), a portable scalar loop otherwise and for strided rows.
//
// The arithmetic of a row depends only on the row (its length fixes the lane split), never on
// which thread runs it, so callers stay bit-identical for any thread count. exp is a
// Cephes-style polynomial (within 2 ulp of expf) meant for arguments <= 0, as in a softmax
// shifted by its max: it flushes results below 2^-126 to 0 and keeps NaN.
#pragma once
#include <cstdint>

namespace convnet {
namespace cpu {

// max over x[0], x[stride], ..., x[(n - 1) * stride]; -inf for n == 0.
float row_max(const float* x, int64_t n, int64_t stride);
// sum of exp(x[k * stride] - shift) over k < n, accumulated in float lanes.
float row_sum_exp(const float* x, int64_t n, int64_t stride, float shift);
// y[k * stride] = exp(x[k * stride] - shift), and returns their sum (as row_sum_exp).
float row_exp_sum(const float* x, int64_t n, int64_t stride, float shift, float* y);

}  // namespace cpu
}  // namespace convnet
