// Batched matrix multiply with broadcast batch dimensions on cuBLAS, in the CPU's three cases
// (cpu/matmul.cc): one shared B folds the batch into M (one GEMM); batch dims that are either
// y's or absent/all 1 map to one strided-batched call (stride 0 for the shared operand); any
// other broadcast runs one GEMM per output matrix, its operands' offsets computed on the host.
// a: [..., M, K] (or [..., K, M] with trans_a), b: [..., K, N] (or [..., N, K]), y: [batch..., M, N].
#include "cuda/blas_gemm.h"
#include "cuda/cuda_ops.h"
#include "ops/matmul_batch.h"

namespace convnet {
namespace cuda {

void matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor& y) {
  const char* op = "matmul";
  const int64_t ar = a.shape[a.dim() - 2], ac = a.shape[a.dim() - 1];
  const int64_t br = b.shape[b.dim() - 2], bc = b.shape[b.dim() - 1];
  const int64_t M = trans_a ? ac : ar, K = trans_a ? ar : ac, N = trans_b ? br : bc;
  const Shape batch(y.shape.begin(), y.shape.end() - 2);
  const int64_t batches = shape_numel(batch);
  const Shape a_batch(a.shape.begin(), a.shape.end() - 2), b_batch(b.shape.begin(), b.shape.end() - 2);
  const int64_t a_count = shape_numel(a_batch), b_count = shape_numel(b_batch);
  if (y.numel() == 0) return;
  if (b_count == 1 && !trans_a) {
    gemm(op, false, trans_b, batches * M, N, K, a.f32(), ac, b.f32(), bc, y.f32(), N);
    return;
  }
  if ((a_count == batches || a_count == 1) && (b_count == batches || b_count == 1) &&
      (a_count == 1 || a_batch == batch) && (b_count == 1 || b_batch == batch)) {
    gemm_strided_batched(op, trans_a, trans_b, M, N, K, a.f32(), ac, a_count == 1 ? 0 : ar * ac, b.f32(), bc,
                         b_count == 1 ? 0 : br * bc, y.f32(), N, M * N, batches);
    return;
  }
  for (int64_t i = 0; i < batches; ++i) {
    int64_t ia = 0, ib = 0;
    broadcast_batch_indices(i, batch, a_batch, b_batch, &ia, &ib);
    gemm(op, trans_a, trans_b, M, N, K, a.f32() + ia * ar * ac, ac, b.f32() + ib * br * bc, bc, y.f32() + i * M * N, N);
  }
}

}  // namespace cuda
}  // namespace convnet
