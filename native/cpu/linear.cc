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
#include "cpu/cpu_ops.h"
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

// db[c] = sum over every axis of dy but `axis` (a convolution's dy [N, C, H, W] over {0, 2, 3}):
// the reduction of reduce.cc, whose runs then rows read each plane with vec::sum and add the
// planes in float64 in order of n. It was a loop of its own, each plane summed one float at a
// time in float32 (a chain of dependent additions, scalar): 3-6x PyTorch's time, 1.1 ms for
// AlexNet c1's [8, 96, 55, 55] against 0.19.
void bias_backward(const Tensor& dy, int64_t axis, const Tensor& db) {
  std::vector<int64_t> axes;
  for (int64_t a = 0; a < dy.dim(); ++a)
    if (a != axis) axes.push_back(a);
  reduce(ReduceOp::Sum, dy, axes, db);
}

}  // namespace cpu
}  // namespace convnet
