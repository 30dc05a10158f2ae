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

// ---- Packed operands, for callers that can lay out an operand faster than a plain matrix ----
// The convolutions use these to build op(B)'s panels straight from the image (im2col into the
// panel order, no column matrix in memory) and to pack the weights once for a whole batch.
//
// sgemm_pack_a: op(A) [M, K] in the micro-kernel's panel order, for every K block at once;
// the buffer holds sgemm_packed_a_floats(M, K) floats. Valid for the kernel path active now.
int64_t sgemm_packed_a_floats(int64_t M, int64_t K);
void sgemm_pack_a(bool trans_a, int64_t M, int64_t K, const float* A, int64_t lda, float* packed);
// Rows per panel of sgemm_pack_a's layout for an M-row A, and the panel holding rows
// [m0, m0 + rows) (m0 a multiple of it, rows at most it) packed on its own, from `rows` given
// at rows_a (row-major, lda apart) into the same places sgemm_pack_a(false, M, K, ...) puts
// them: a producer can make A a panel at a time, in cache (Winograd's weight transform).
int64_t sgemm_pack_a_panel_rows(int64_t M);
void sgemm_pack_a_panel(int64_t M, int64_t K, int64_t m0, int64_t rows, const float* rows_a, int64_t lda, float* packed);
// Or writes the panel itself: column k of the panel of rows [m0, m0 + mr) (mr as above) is mr
// consecutive floats, row m0 + r at offset r (zero for rows past M), starting at packed +
// sgemm_packed_a_column(M, K, m0, k).
int64_t sgemm_packed_a_column(int64_t M, int64_t K, int64_t m0, int64_t k);

// Width of a B panel (columns per micro-tile) for the active kernel path.
int64_t sgemm_panel_width();

// Fills the panels of op(B) rows [p0, p0 + kc), columns [j0, j0 + n) of problem `item`:
// dst[q * kc * NR + k * NR + x] = op(B)[p0 + k][j0 + q * NR + x] for q < ceil(n / NR),
// zero where j0 + q * NR + x >= j0 + n. Called from several threads at once (each with its
// own dst), so it must only read shared state.
class SgemmPanelSource {
 public:
  virtual ~SgemmPanelSource() = default;
  virtual void pack(int64_t item, int64_t p0, int64_t kc, int64_t j0, int64_t n, float* dst) const = 0;
  // A source that holds op(B) in panel order already returns its panels for rows [p0, p0 + kc)
  // from column j0 (a multiple of the panel width) instead of having them copied: panel q at
  // the result + q * *panel_stride, each kc rows of NR floats (columns past N may be anything).
  // nullptr: use pack().
  virtual const float* panels(int64_t item, int64_t p0, int64_t kc, int64_t j0, int64_t* panel_stride) const {
    (void)item, (void)p0, (void)kc, (void)j0, (void)panel_stride;
    return nullptr;
  }
  // A source that is a plain row-major op(B_item) returns it (rows *ldb floats apart), so that
  // the product may read it in place where a packed copy would serve few row panels (as sgemm
  // does); nullptr: it has no such matrix.
  virtual const float* matrix(int64_t item, int64_t* ldb) const {
    (void)item, (void)ldb;
    return nullptr;
  }
};

// op(B_i) a plain row-major matrix, B_i = B + i * stride (rows ldb floats apart), packed as
// sgemm packs its own B.
class SgemmMatrixPanels : public SgemmPanelSource {
 public:
  SgemmMatrixPanels(const float* B, int64_t ldb, int64_t stride) : b_(B), ldb_(ldb), stride_(stride) {}
  void pack(int64_t item, int64_t p0, int64_t kc, int64_t j0, int64_t n, float* dst) const override;
  const float* matrix(int64_t item, int64_t* ldb) const override {
    *ldb = ldb_;
    return b_ + item * stride_;
  }

 private:
  const float* b_;
  int64_t ldb_, stride_;
};

// What sgemm_packed does to each block of C once its sums are complete, while the block is still
// in cache: C[m][j] = min(max(C[m][j] + row_bias[m], lo), hi) (row_bias may be null; NaN stays
// NaN). A convolution's bias and fused activation (conv2d.cc's pointwise_packed), instead of
// passes over the whole output after it.
struct SgemmEpilogue {
  const float* row_bias;  // [M], or null
  float lo, hi;           // -inf and inf: no clamp
};

// C_i[M, N] = alpha * A * op(B_i) + beta * C_i for i < batch, with A from sgemm_pack_a (shared
// by the whole batch), op(B_i)'s panels from `b`, and C_i = C + i * stride_c. Threads split
// the batch and the columns (never K), so results are bit-identical for any thread count.
void sgemm_packed(int64_t M, int64_t N, int64_t K, float alpha, const float* packed_a, const SgemmPanelSource& b,
                  float beta, float* C, int64_t ldc, int64_t stride_c, int64_t batch,
                  const SgemmEpilogue* epilogue = nullptr);
// The same for rows [m0, m1) of each C_i alone (m0 a multiple of sgemm_pack_a_panel_rows(M)), C_i's
// row m0 at C + i * stride_c: threads that share out an A's rows. An epilogue's row_bias is
// indexed by the row of the whole C (m0 + ...).
void sgemm_packed_rows(int64_t M, int64_t m0, int64_t m1, int64_t N, int64_t K, float alpha, const float* packed_a,
                       const SgemmPanelSource& b, float beta, float* C, int64_t ldc, int64_t stride_c, int64_t batch,
                       const SgemmEpilogue* epilogue = nullptr);

// Which micro-kernel run-time dispatch picked: "avx512", "avx2" or "portable".
const char* sgemm_kernel_name();

// Whether this CPU runs a 512-bit FMA as two 256-bit halves, one a cycle (AMD Zen 4: CPUID
// family 0x19 with AVX-512), rather than two a cycle (Zen 5, Intel's server cores). Where FMAs
// are that scarce, fewer multiplies pay for extra transforms and memory traffic, so some of the
// convolution's choices differ (conv2d.cc). CONVNET_FMA512=halved or =full in the environment
// overrides the detection (read at each call: tests run both choices on one machine).
bool avx512_fma_halved();

// For tests and benchmarks only: forces the kernel path ("avx512", "avx2", "portable"), or
// restores the automatic choice when name is nullptr. Returns false, changing nothing, when
// the name is unknown or this CPU cannot run that path. Not meant to be called while another
// thread is inside sgemm.
bool sgemm_force_kernel(const char* name);

}  // namespace convnet
