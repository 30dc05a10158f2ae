// The dynamically quantized linear layer (Note [dynamic quantization], quantize.h):
// y[M, O] = dequantize(q(x)[M, K] q(w)^T) + b, x's rows quantized with the parameters of the
// whole x, then one 8-bit product (qgemm.h) whose tiles are shared between threads.
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
  // Work items: a block of up to kRows rows against one panel of 16 outputs (the panel read once
  // for all of them, a piece of it at a time, from L1); a thread takes a run of them.
  constexpr int64_t kRows = 48;
  const int64_t row_blocks = (M + kRows - 1) / kRows, panels = (O + kQPanelWidth - 1) / kQPanelWidth;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 18) / (std::min(kRows, M) * kQPanelWidth * K4 * 4));
  parallel_for(row_blocks * panels, grain, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t m0 = (t / panels) * kRows, n0 = (t % panels) * kQPanelWidth;
      QEpilogue e = all;
      e.b_scale += n0, e.b_sum += n0, e.bias = e.bias ? e.bias + n0 : nullptr, e.out += m0 * O + n0;
      qgemm(std::min(kRows, M - m0), std::min(kQPanelWidth, O - n0), K4, xq.data() + m0 * K4, K4, pw + n0 * K4, e);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
