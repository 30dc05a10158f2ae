// Single-precision matrix multiply on the CPU (row-major, BLAS semantics).
//
// Results are bit-identical for any thread count (see native/core/thread_pool.h), but not
// across kernel paths: the AVX-512, AVX2 and portable kernels may round differently.
#pragma once
#include <cstdint>

namespace convnet {

// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.  op(X) = X or X^T.
// A is M x K (lda >= K) when !trans_a, else K x M (lda >= M); same for B. ldc >= N.
// beta == 0 means C is write-only (its old contents, even NaN, are ignored), as in BLAS;
// so does alpha == 0 or K == 0 leave A and B unread (C = beta * C).
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The same over `batch` independent problems, X_i = X + i * stride_x. A stride of 0 shares
// one operand between all problems; the C matrices must not overlap.
void sgemm_strided_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                           const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb,
                           int64_t stride_b, float beta, float* C, int64_t ldc, int64_t stride_c,
                           int64_t batch);

// Which micro-kernel run-time dispatch picked: "avx512", "avx2" or "portable".
const char* sgemm_kernel_name();

// For tests and benchmarks only: forces the kernel path ("avx512", "avx2", "portable"), or
// restores the automatic choice when name is nullptr. Returns false, changing nothing, when
// the name is unknown or this CPU cannot run that path. Not meant to be called while another
// thread is inside sgemm.
bool sgemm_force_kernel(const char* name);

}  // namespace convnet
