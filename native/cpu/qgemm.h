// 8-bit integer products for quantized inference (Note [dynamic quantization], quantize.h):
// C[m][n] = sum_k A[m][k] * B[k][n] in exact int32 arithmetic, one side unsigned 8-bit (the
// activations), the other signed 8-bit (the weights), then dequantized into float.
//
// Both sides are in 32-bit words of 4 consecutive k (byte j of a word is k = 4 * k4 + j; K is
// padded to a multiple of 4, the weights' padding being 0 so the activations' may be anything):
//   A, the rows (QRows): M rows of K4 words, word (m, k4) at words[m * row_stride + k4 * k_stride],
//      read in place; each word is broadcast to every lane.
//   B, the panels: ceil(N / 16) panels one after another, panel p holding for each k4 the 16 words
//      of columns 16p .. 16p + 15, so that one vector load feeds 16 sums.
// Which side is which depends on the layer: a linear layer's rows are the activations (a batch of
// a few rows) and its panels the weights, packed once; a convolution's rows are the weights (its
// few output channels, read in place from the same packed panels: row stride 1, k stride 16) and
// its panels the im2col of 16 output pixels each, so its output rows come out as NCHW's planes.
//
// Activations are 7-bit (0..127), as fbgemm's x86 default (PyTorch's reduce_range), weights
// -128..127: a pair of products then fits AVX2's 16-bit vpmaddubsw without saturating,
// so every kernel path gives the same, exact sums, and the result does not depend on the CPU.
#pragma once
#include <cstdint>

namespace convnet {
namespace cpu {

constexpr int64_t kQPanelWidth = 16;

// Words of a packed B of N columns and K4 words deep.
inline int64_t qgemm_packed_b_words(int64_t N, int64_t K4) {
  return (N + kQPanelWidth - 1) / kQPanelWidth * kQPanelWidth * K4;
}

// The rows of a product (see above). weights: the rows are the signed weights (and the panels the
// unsigned activations), so the epilogue's per-channel values go by row, not by column.
struct QRows {
  const uint32_t* words;
  int64_t row_stride, k_stride;
  bool weights;
};

// What becomes of a sum (Note [dynamic quantization]), with c the output channel (the column, or
// the row where the rows are the weights):
//   out[m * row_stride + n * col_stride] = a_scale * w_scale[c] * (C[m][n] - a_zero * w_sum[c]) + bias[c]
// then clamped to [lo, hi] (a fused ReLU; -inf and inf: none). bias may be null.
struct QEpilogue {
  float a_scale;
  int32_t a_zero;
  const float* w_scale;
  const int32_t* w_sum;
  const float* bias;
  float lo, hi;
  float* out;
  int64_t row_stride, col_stride;
};

// Rows [0, M) of C against every column of B, on the calling thread (callers split the work
// between threads). Row m's output goes to epilogue.out + m * row_stride.
void qgemm(int64_t M, int64_t N, int64_t K4, const QRows& A, const uint32_t* B_panels, const QEpilogue& epilogue);

// Columns a kernel computes at once (a multiple of 16: callers size their blocks of B by it).
int64_t qgemm_tile_cols();

// Note [exact float sums]: without VNNI, AVX2's 8-bit products run no faster than its float FMAs
// (vpmaddubsw + vpmaddwd + vpaddd for 32 products against 2 FMAs for 16), and the float
// convolution and GEMM are the better tuned. Sums of K products of 7-bit by 8-bit integers are
// exact in float32 while every partial sum stays below 2^24: K * 127 * 128 < 2^24 for K <= 1032.
// So where the automatic choice has no VNNI, a layer of at most that many inputs per output may
// run its integer sums as float ones, with the same result to the bit. Whether it should:
bool qgemm_prefers_float(int64_t K);
constexpr int64_t kExactFloatK = 1032;

// Which kernel run-time dispatch picked: "avx512-vnni", "avx2" or "portable"; and, for tests and
// benchmarks, forcing one (nullptr: the automatic choice; a forced kernel is never replaced by
// the float sums). False, changing nothing, when the name is unknown or this CPU cannot run it.
const char* qgemm_kernel_name();
bool qgemm_force_kernel(const char* name);

}  // namespace cpu
}  // namespace convnet
