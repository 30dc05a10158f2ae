// The dynamically quantized linear layer (Note [dynamic quantization], quantize.h):
// y[M, O] = dequantize(q(x)[M, K] q(w)^T) + b, x's rows quantized with the parameters of the
// whole x, then one 8-bit product (qgemm.h: x's rows broadcast against the weights' panels) whose
// blocks are shared between threads.
#include <algorithm>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/qgemm.h"
#include "cpu/quantize.h"

namespace convnet {
namespace cpu {

void quantized_linear_forward(const Tensor& x, const Tensor& packed, const Tensor& w_scale, const Tensor& w_sum,
                              const Tensor* b, float lo, float hi, const Tensor& y) {
  const int64_t O = w_scale.numel(), K = x.shape.back(), M = O == 0 ? 0 : y.numel() / O, K4 = (K + 3) / 4;
  if (y.numel() == 0) return;
  float* py = y.f32();
  const ActivationQuant q = choose_activation_quant(x.f32(), x.numel());
  if (!q.finite) return std::fill(py, py + y.numel(), std::numeric_limits<float>::quiet_NaN());
  std::vector<uint32_t> xq(static_cast<size_t>(M * K4));
  quantize_activation_rows(x.f32(), M, K, K, q, reinterpret_cast<uint8_t*>(xq.data()), K4 * 4);

  const QEpilogue all{q.scale, q.zero, w_scale.f32(), w_sum.i32(), b ? b->f32() : nullptr, lo, hi, py, O, 1};
  const uint32_t* pw = reinterpret_cast<const uint32_t*>(packed.i32());
  // Work items: a block of rows against a block of the kernel's tile of columns (the weights read
  // once for all the rows, a piece at a time, from L1); a thread takes a run of them. Row blocks of
  // equal size, and the row blocks of a column block next to each other: with a short last block
  // (64 rows as 48 + 16) and the blocks of rows outermost, one of two threads had every long item.
  constexpr int64_t kMaxRows = 48;
  const int64_t cols = qgemm_tile_cols();
  const int64_t row_blocks = (M + kMaxRows - 1) / kMaxRows, rows = (M + row_blocks - 1) / row_blocks;
  const int64_t col_blocks = (O + cols - 1) / cols;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 18) / (rows * cols * K4 * 4));
  parallel_for(row_blocks * col_blocks, grain, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t m0 = (t % row_blocks) * rows, n0 = (t / row_blocks) * cols;
      QEpilogue e = all;
      e.w_scale += n0, e.w_sum += n0, e.bias = e.bias ? e.bias + n0 : nullptr, e.out += m0 * O + n0;
      qgemm(std::min(rows, M - m0), std::min(cols, O - n0), K4, QRows{xq.data() + m0 * K4, K4, 1, false}, pw + n0 * K4, e);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
