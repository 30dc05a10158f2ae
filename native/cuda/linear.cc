// linear on cuBLAS: y[M, out] = x[M, in] w[out, in]^T + b (leading dims of x folded into M),
// one GEMM per direction as on the CPU (cpu/linear.cc):
//   forward          y  = x w^T   (then + b per column, a kernel)
//   backward-data    dx = dy w
//   backward-weight  dw = dy^T x
// bias_backward (shared with the convolutions) is in conv2d.cc.
#include <algorithm>

#include "cuda/blas_gemm.h"
#include "cuda/conv_kernels.h"
#include "cuda/cuda_ops.h"

namespace convnet {
namespace cuda {

void linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, const Tensor& y) {
  const char* op = "linear";
  const int64_t out = w.shape[0], in = w.shape[1], M = y.numel() / std::max<int64_t>(out, 1);
  if (y.numel() == 0) return;
  gemm(op, false, true, M, out, in, x.f32(), in, w.f32(), in, y.f32(), out);
  if (b) add_row_bias(op, y.f32(), b->f32(), M, out);
}

void linear_backward_data(const Tensor& dy, const Tensor& w, const Tensor& dx) {
  const char* op = "linear backward-data";
  const int64_t out = w.shape[0], in = w.shape[1], M = dx.numel() / std::max<int64_t>(in, 1);
  if (dx.numel() == 0) return;
  gemm(op, false, false, M, in, out, dy.f32(), out, w.f32(), in, dx.f32(), in);
}

void linear_backward_weight(const Tensor& dy, const Tensor& x, const Tensor& dw) {
  const char* op = "linear backward-weight";
  const int64_t out = dw.shape[0], in = dw.shape[1], M = out == 0 ? 0 : dy.numel() / out;
  if (dw.numel() == 0) return;
  gemm(op, true, false, out, in, M, dy.f32(), out, x.f32(), in, dw.f32(), in);  // M == 0: dw = 0
}

}  // namespace cuda
}  // namespace convnet
