// linear (fully connected): y[M, out] = x[M, in] w[out, in]^T + b, with any leading dims of x
// folded into M by the caller. One GEMM per direction:
//   forward          y  = x w^T            (then + b per column)
//   backward-data    dx = dy w
//   backward-weight  dw = dy^T x           (GEMM K = M: the batch is the GEMM's inner sum,
//                                           which the GEMM never splits between threads)
// bias_backward (the bias gradient of linear and of the convolutions) also lives here.
#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/gemm.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace cpu {

void linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, const Tensor& y) {
  const int64_t out = w.shape[0], in = w.shape[1], M = y.numel() / std::max<int64_t>(out, 1);
  if (y.numel() == 0) return;
  float* py = y.f32();
  sgemm(false, true, M, out, in, 1.0f, x.f32(), in, w.f32(), in, 0.0f, py, out);
  if (b) {
    const float* pb = b->f32();
    parallel_for(M, std::max<int64_t>(1, 16384 / out), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t o = 0; o < out; ++o) py[r * out + o] += pb[o];
      }
    });
  }
}

void linear_backward_data(const Tensor& dy, const Tensor& w, const Tensor& dx) {
  const int64_t out = w.shape[0], in = w.shape[1], M = dx.numel() / std::max<int64_t>(in, 1);
  if (dx.numel() == 0) return;
  sgemm(false, false, M, in, out, 1.0f, dy.f32(), out, w.f32(), in, 0.0f, dx.f32(), in);
}

void linear_backward_weight(const Tensor& dy, const Tensor& x, const Tensor& dw) {
  const int64_t out = dw.shape[0], in = dw.shape[1], M = out == 0 ? 0 : dy.numel() / out;
  if (dw.numel() == 0) return;
  sgemm(true, false, out, in, M, 1.0f, dy.f32(), out, x.f32(), in, 0.0f, dw.f32(), in);  // M == 0: dw = 0
}

// db[c] = sum over (outer, inner) of dy[outer, c, inner], where dy is [outer, channels, inner]
// around `axis`. Split over channels; each sum runs in the order (outer, inner), in double.
void bias_backward(const Tensor& dy, int64_t axis, const Tensor& db) {
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= dy.shape[a];
  for (int64_t a = axis + 1; a < dy.dim(); ++a) inner *= dy.shape[a];
  const int64_t channels = dy.shape[axis];
  const float* pdy = dy.f32();
  float* pdb = db.f32();
  if (inner == 1) {
    // Rows of a [outer, channels] matrix: walk them in order, a block of channels at a time.
    constexpr int64_t kBlock = 256;
    parallel_for((channels + kBlock - 1) / kBlock, 1, [&](int64_t b0, int64_t b1) {
      std::vector<double> sum(kBlock);
      for (int64_t blk = b0; blk < b1; ++blk) {
        const int64_t c0 = blk * kBlock, c1 = std::min(channels, c0 + kBlock);
        std::fill(sum.begin(), sum.end(), 0.0);
        for (int64_t r = 0; r < outer; ++r) {
          for (int64_t c = c0; c < c1; ++c) sum[c - c0] += pdy[r * channels + c];
        }
        for (int64_t c = c0; c < c1; ++c) pdb[c] = static_cast<float>(sum[c - c0]);
      }
    });
    return;
  }
  parallel_for(channels, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double sum = 0.0;
      for (int64_t o = 0; o < outer; ++o) {
        const float* plane = pdy + (o * channels + c) * inner;
        float part = 0.0f;  // one plane in float, planes added in double
        for (int64_t q = 0; q < inner; ++q) part += plane[q];
        sum += part;
      }
      pdb[c] = static_cast<float>(sum);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
