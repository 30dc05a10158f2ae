// torch.cdist's Euclidean path (p = 2, lib/nn/functional/distance.ts takes it when N or M is
// above 25, as PyTorch does): a [B, N, D] and b [B, M, D] (batch axes broadcast and flattened
// by lib/), y [B, N, M]:
//   y_ij = sqrt(max(|a_i|^2 + |b_j|^2 - 2 a_i . b_j, 0))
// The products are one GEMM with alpha -2 written straight into y; one pass over y then adds the
// squared norms and takes the root in place. As a composition of ops (square, sum, matmul,
// scale, add, clamp, sqrt) it was seven passes over y, 40 MB each for 1000 x 10000 distances:
// 64 ms against PyTorch's 36 (one GEMM on rows augmented with the norms, then clamp and sqrt in
// place); now the GEMM and one pass (bench/JOURNAL.md, session 44).
//
// Cancellation: a distance much smaller than the norms loses precision (PyTorch's too), and
// rounding can make the sum slightly negative where the distance is 0: hence the clamp. A NaN
// stays NaN. The squared norms are float64 sums (row_lanes.h's order) rounded to float; the
// GEMM's bits do not depend on the thread count, so neither do y's.
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/gemm.h"
#include "cpu/nn_ops.h"
#include "cpu/row_lanes.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

#define CONVNET_ROW_KERNEL __attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES

// The squared norm of each of `rows` contiguous rows of n floats.
template <typename L>
CONVNET_ROW_KERNEL void squared_norms_lanes(const float* __restrict x, int64_t rows, int64_t n, float* __restrict out) {
  using Floats16 = typename L::Floats16;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * n;
    double sum = 0.0;
    lanes::row_sums<L, 1>(n, [&](int64_t i, int64_t count, Floats16* t) __attribute__((always_inline)) {
      Floats16 v;
      L::load(row + i, count, v);
      t[0] = v * v;
    }, &sum);
    out[r] = static_cast<float>(sum);
  }
}

void squared_norms(const float* x, int64_t rows, int64_t n, float* out) {
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)), [&](int64_t r0, int64_t r1) {
    if (lanes16::wide()) squared_norms_lanes<lanes16::Wide>(x + r0 * n, r1 - r0, n, out + r0);
    else squared_norms_lanes<lanes16::Pairs>(x + r0 * n, r1 - r0, n, out + r0);
  });
}

// y_j = sqrt(max(y_j + (a2 + b2_j), 0)) over one row, in place (y holds -2 a . b). The clamp is
// written as a select that keeps a NaN (max would drop it on one of its operands' orders).
CONVNET_SIMD_CLONES void finish_row(float* __restrict y, float a2, const float* __restrict b2, int64_t m) {
  for (int64_t j = 0; j < m; ++j) {
    const float s = y[j] + (a2 + b2[j]);
    y[j] = std::sqrt(s < 0.0f ? 0.0f : s);
  }
}

}  // namespace

void cdist_euclidean(const Tensor& a, const Tensor& b, const Tensor& y) {
  const int64_t D = a.shape[a.dim() - 1], N = a.shape[a.dim() - 2], M = b.shape[b.dim() - 2];
  const int64_t batch = N * M == 0 ? 0 : y.numel() / (N * M);
  if (y.numel() == 0) return;
  if (D == 0) {
    fill(y, 0.0);
    return;
  }
  std::vector<float> a2(static_cast<size_t>(batch * N)), b2(static_cast<size_t>(batch * M));
  squared_norms(a.f32(), batch * N, D, a2.data());
  squared_norms(b.f32(), batch * M, D, b2.data());
  float* out = y.f32();
  sgemm_strided_batched(false, true, N, M, D, -2.0f, a.f32(), D, N * D, b.f32(), D, M * D, 0.0f, out, M, N * M, batch);
  parallel_for(batch * N, std::max<int64_t>(1, 16384 / M), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) finish_row(out + r * M, a2[static_cast<size_t>(r)], b2.data() + (r / N) * M, M);
  });
}

}  // namespace cpu
}  // namespace convnet
