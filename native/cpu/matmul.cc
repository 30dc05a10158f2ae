// Batched matrix multiply with broadcast batch dimensions, on the project's one GEMM.
// a: [..., M, K] (or [..., K, M] with trans_a), b: [..., K, N] (or [..., N, K]), y: [batch..., M, N].
#include "core/error.h"
#include "cpu/cpu_ops.h"
#include "cpu/gemm.h"
#include "ops/matmul_batch.h"

namespace convnet {
namespace cpu {

void matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor& y) {
  const int64_t ar = a.shape[a.dim() - 2], ac = a.shape[a.dim() - 1];
  const int64_t br = b.shape[b.dim() - 2], bc = b.shape[b.dim() - 1];
  const int64_t M = trans_a ? ac : ar, K = trans_a ? ar : ac, N = trans_b ? br : bc;
  const Shape batch(y.shape.begin(), y.shape.end() - 2);
  const int64_t batches = shape_numel(batch);
  const Shape a_batch(a.shape.begin(), a.shape.end() - 2), b_batch(b.shape.begin(), b.shape.end() - 2);
  const int64_t a_count = shape_numel(a_batch), b_count = shape_numel(b_batch);
  if (y.numel() == 0) return;
  if (K == 0) {
    fill(y, 0.0);
    return;
  }
  // One shared B and a plain A: the batch folds into M, one large GEMM (the linear layer's case).
  if (b_count == 1 && !trans_a) {
    sgemm(false, trans_b, batches * M, N, K, 1.0f, a.f32(), ac, b.f32(), bc, 0.0f, y.f32(), N);
    return;
  }
  if ((a_count == batches || a_count == 1) && (b_count == batches || b_count == 1) &&
      (a_count == 1 || a_batch == batch) && (b_count == 1 || b_batch == batch)) {
    sgemm_strided_batched(trans_a, trans_b, M, N, K, 1.0f, a.f32(), ac, a_count == 1 ? 0 : ar * ac,
                          b.f32(), bc, b_count == 1 ? 0 : br * bc, 0.0f, y.f32(), N, M * N, batches);
    return;
  }
  // General broadcasting: map each output batch index to its a and b batch indices.
  for (int64_t i = 0; i < batches; ++i) {
    int64_t ia = 0, ib = 0;
    broadcast_batch_indices(i, batch, a_batch, b_batch, &ia, &ib);
    sgemm(trans_a, trans_b, M, N, K, 1.0f, a.f32() + ia * ar * ac, ac, b.f32() + ib * br * bc, bc, 0.0f,
          y.f32() + i * M * N, N);
  }
}

}  // namespace cpu
}  // namespace convnet
