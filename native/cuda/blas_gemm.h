// Row-major single-precision GEMM on cuBLAS, with the CPU's sgemm arguments (cpu/gemm.h), for
// linear.cc and matmul.cc. Internal to native/cuda/.
//
// cuBLAS is column-major: a row-major C[M, N] is the column-major C^T[N, M], and
// C = op(A) op(B) is C^T = op(B)^T op(A)^T, so the call swaps the operands (B first, then A)
// and the sizes (N, M), keeping each operand's transpose flag and leading dimension.
//
// TF32: cublasSetMathMode(CUBLAS_TF32_TENSOR_OP_MATH) before each call when
// settings().tf32_matmul (PyTorch's torch.backends.cuda.matmul.allow_tf32), else
// CUBLAS_DEFAULT_MATH (plain float32), so the handle's mode is always the one asked now.
#pragma once
#include <cstdint>

namespace convnet {
namespace cuda {

// C = op(A) op(B) (alpha 1, beta 0: C is write-only). K == 0 writes zeros.
void gemm(const char* op, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
          const float* B, int64_t ldb, float* C, int64_t ldc);

// The same for `batch` problems X_i = X + i * stride_x (stride 0 shares an operand).
void gemm_strided_batched(const char* op, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
                          int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float* C,
                          int64_t ldc, int64_t stride_c, int64_t batch);

}  // namespace cuda
}  // namespace convnet
