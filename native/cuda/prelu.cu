// PReLU on the GPU (cpu/prelu.cc gives the semantics): our own kernels.
//   y = x * (x > 0 ? 1 : w_c), dx = dy * (x > 0 ? 1 : w_c): one product each, the CPU's bits.
//   dw_c = sum of dy * min(x, 0) over the batch and positions: the float products summed in
//   float64 by channel_sum.cuh (deterministic, no atomics; the order differs from the CPU's, so
//   the last bits may too).
// x is viewed as [N, C, S] (C = 1 for rank < 2); a weight of one element is shared by all.
#include "cuda/channel_sum.cuh"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {
namespace {

struct Rows {
  int64_t channels, positions;
};

Rows rows_of(const Tensor& x) {
  int64_t positions = 1;
  for (int64_t d = 2; d < x.dim(); ++d) positions *= x.shape[d];
  return {x.dim() >= 2 ? x.shape[1] : 1, positions};
}

}  // namespace

void prelu_forward(const Tensor& x, const Tensor& w, const Tensor& y) {
  const Rows r = rows_of(x);
  const bool shared = w.numel() == 1;
  const int64_t channels = r.channels, positions = r.positions;
  const float *px = x.f32(), *pw = w.f32();
  float* py = y.f32();
  for_each("prelu", y.numel(), [=] __device__(int64_t i) {
    const float v = px[i], slope = pw[shared ? 0 : (i / positions) % channels];
    py[i] = v * (v > 0.0f ? 1.0f : slope);
  });
}

void prelu_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const Tensor& dx, const Tensor& dw) {
  const char* op = "prelu backward";
  const Rows r = rows_of(x);
  const bool shared = w.numel() == 1;
  const int64_t channels = r.channels, positions = r.positions;
  const float *pdy = dy.f32(), *px = x.f32(), *pw = w.f32();
  float *pdx = dx.f32(), *pdw = dw.f32();
  for_each(op, dx.numel(), [=] __device__(int64_t i) {
    const float v = px[i], slope = pw[shared ? 0 : (i / positions) % channels];
    pdx[i] = (v > 0.0f ? 1.0f : slope) * pdy[i];
  });
  auto product = [=] __device__(int64_t i) {
    const float v = px[i];
    return static_cast<double>(pdy[i] * (v <= 0.0f ? v : 0.0f));
  };
  auto store = [=] __device__(int64_t c, double total) { pdw[c] = static_cast<float>(total); };
  if (shared) {
    channel_sums(op, 1, 1, x.numel(), product, store);  // every element adds to the one slope
  } else {
    const int64_t n = positions * channels > 0 ? x.numel() / (positions * channels) : 0;
    channel_sums(op, n, channels, positions, product, store);
  }
}

}  // namespace cuda
}  // namespace convnet
