// linear (fully connected): y[M, out] = x[M, in] w[out, in]^T + b, with any leading dims of x
// folded into M by the caller. One GEMM per direction:
//   forward          y  = x w^T            (then + b per column; at M = 1 dot products, dot_rows)
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
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

// One row of x (serving at batch 1): y[o] = b[o] + the dot product of x and w's row o, w read
// once, in place, 4 rows at a time, x in L1. The GEMM packed w^T first (a copy of all of w, each
// call, for one use). 1 thread, best of 20 x 20 calls, us: 1280 -> 1000 (MobileNet v2's
// classifier) 296-406 -> 227, 2048 -> 1000 (ResNet-50's) 524 -> 277 (PyTorch 390 and 840). With
// 4 rows of x, each against w's 4 rows in turn, it was slower than the GEMM (662 -> 946 us).
// AlexNet's fc6 (9216 -> 4096, 151 MB of w) 12.7 -> 8.3 ms. Not vec::dot per row: its float64
// sums, one chain of 16 lanes, ran 199 / 324 us and 20.8 ms on those three.
constexpr int64_t kDotRows = 4;
CONVNET_SIMD_CLONES
void dot_rows(const float* __restrict x, int64_t in, const float* __restrict w, const float* b, int64_t o0, int64_t o1,
              float* __restrict y) {
  for (int64_t o = o0; o < o1; o += kDotRows) {
    float acc[kDotRows][16] = {};
    int64_t k = 0;
    for (; k + 16 <= in; k += 16)
      for (int64_t r = 0; r < kDotRows; ++r) {
        const float* wr = w + std::min(o + r, o1 - 1) * in + k;  // rows past o1 repeat the last: no branch
        for (int l = 0; l < 16; ++l) acc[r][l] += wr[l] * x[k + l];
      }
    for (int64_t r = 0; r < std::min(kDotRows, o1 - o); ++r) {
      const float* wr = w + (o + r) * in;
      float tail = 0.0f;
      for (int64_t j = k; j < in; ++j) tail += wr[j] * x[j];
      float sum = 0.0f;
      for (int l = 0; l < 16; ++l) sum += acc[r][l];
      y[o + r] = (b ? b[o + r] : 0.0f) + (sum + tail);
    }
  }
}

}  // namespace

void linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, const Tensor& y) {
  const int64_t out = w.shape[0], in = w.shape[1], M = y.numel() / std::max<int64_t>(out, 1);
  if (y.numel() == 0) return;
  float* py = y.f32();
  if (M == 1) {
    const float *px = x.f32(), *pw = w.f32(), *pb = b ? b->f32() : nullptr;
    // A thread for at least 1M multiply-adds (as the GEMM's 2 MFLOP): LeNet-5's layers stay on one.
    parallel_for((out + kDotRows - 1) / kDotRows, std::max<int64_t>(1, (int64_t{1} << 20) / (kDotRows * std::max<int64_t>(in, 1))),
                 [&](int64_t r0, int64_t r1) { dot_rows(px, in, pw, pb, r0 * kDotRows, std::min(out, r1 * kDotRows), py); });
    return;
  }
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
