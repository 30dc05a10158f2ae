// Row-major GEMM on cuBLAS (blas_gemm.h).
#include "cuda/blas_gemm.h"

#include <algorithm>

#include "cuda/context.h"
#include "cuda/cudnn_util.h"

namespace convnet {
namespace cuda {
namespace {

decl::cublasHandle_t prepared_handle(const char* op) {
  decl::cublasHandle_t h = cublas_handle();
  CONVNET_CUBLAS_CHECK(blas().cublasSetMathMode(h, settings().tf32_matmul ? decl::CUBLAS_TF32_TENSOR_OP_MATH
                                                                        : decl::CUBLAS_DEFAULT_MATH));
  return h;
}

decl::cublasOperation_t op_of(bool trans) { return trans ? decl::CUBLAS_OP_T : decl::CUBLAS_OP_N; }

// K == 0: C = 0. The callers' C matrices are dense (ldc == N, stride_c == M * N).
void zero(const char* op, float* C, int64_t count) {
  CONVNET_CUDA_CHECK(cudaMemsetAsync(C, 0, static_cast<size_t>(count) * sizeof(float), stream()));
}

// The largest batch one cuBLAS call takes here: its batch count is an int, and very large
// counts are split to stay clear of grid-size limits.
constexpr int64_t kMaxBatch = 65535;

}  // namespace

void gemm(const char* op, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
          const float* B, int64_t ldb, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  set_last_op(op);
  if (K == 0) return zero(op, C, M * N);
  const float one = 1.0f, zero_f = 0.0f;
  decl::cublasHandle_t h = prepared_handle(op);
  CONVNET_CUBLAS_CHECK(blas().cublasSgemm_v2(h, op_of(trans_b), op_of(trans_a), checked_int(N, op), checked_int(M, op),
                                             checked_int(K, op), &one, B, checked_int(ldb, op), A, checked_int(lda, op),
                                             &zero_f, C, checked_int(ldc, op)));
}

void gemm_strided_batched(const char* op, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
                          int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float* C,
                          int64_t ldc, int64_t stride_c, int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return;
  set_last_op(op);
  if (K == 0) return zero(op, C, M * N * batch);
  const float one = 1.0f, zero_f = 0.0f;
  decl::cublasHandle_t h = prepared_handle(op);
  for (int64_t b0 = 0; b0 < batch; b0 += kMaxBatch) {
    const int64_t count = std::min(kMaxBatch, batch - b0);
    CONVNET_CUBLAS_CHECK(blas().cublasSgemmStridedBatched(
        h, op_of(trans_b), op_of(trans_a), checked_int(N, op), checked_int(M, op), checked_int(K, op), &one,
        B + b0 * stride_b, checked_int(ldb, op), stride_b, A + b0 * stride_a, checked_int(lda, op), stride_a, &zero_f,
        C + b0 * stride_c, checked_int(ldc, op), stride_c, static_cast<int>(count)));
  }
}

}  // namespace cuda
}  // namespace convnet
