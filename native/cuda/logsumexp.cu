// logsumexp over a run of adjacent axes and its gradient on the GPU (native/cpu/logsumexp.cc
// has the formulas and PyTorch's semantics): the max of each run (NaN ignored: a NaN still makes
// the sum NaN), the shift (0 where the max is ±inf), the float64 sum of exp(x - shift) with the
// deterministic reductions of row_reduce.cuh, y = log(sum) + shift; dx = dy * exp(x - y).
#include <cmath>

#include "cuda/cuda_ops.h"
#include "cuda/row_reduce.cuh"

namespace convnet {
namespace cuda {
namespace {

struct MaxIgnoringNan {
  __device__ __forceinline__ double operator()(double a, double b) const { return b > a ? b : a; }
};

}  // namespace

void logsumexp(const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y) {
  const char* op = "logsumexp";
  const rows::RunLayout l = rows::run_layout(x.shape, axes);
  const int64_t outputs = l.outputs();
  if (outputs == 0) return;
  DeviceBuffer buffer(2 * static_cast<size_t>(outputs) * sizeof(double));
  double* shift = buffer.as<double>();
  double* total = shift + outputs;
  const float* px = x.f32();
  rows::reduce_runs(op, l, -INFINITY, [=] __device__(int64_t, int64_t e) { return static_cast<double>(px[e]); },
                    MaxIgnoringNan{}, shift);
  for_each(op, outputs, [=] __device__(int64_t i) { shift[i] = isinf(shift[i]) ? 0.0 : shift[i]; });
  rows::reduce_runs(op, l, 0.0, [=] __device__(int64_t out, int64_t e) {
    return static_cast<double>(expf(px[e] - static_cast<float>(shift[out])));
  }, rows::Add{}, total);
  float* py = y.f32();
  for_each(op, outputs, [=] __device__(int64_t i) { py[i] = static_cast<float>(log(total[i]) + shift[i]); });
}

void logsumexp_backward(const Tensor& dy, const Tensor& x, const Tensor& y, const std::vector<int64_t>& axes,
                        const Tensor& dx) {
  const char* op = "logsumexp backward";
  const rows::RunLayout l = rows::run_layout(x.shape, axes);
  const float *px = x.f32(), *py = y.f32(), *pdy = dy.f32();
  float* pdx = dx.f32();
  const int64_t len = l.len, inner = l.inner;
  for_each(op, x.numel(), [=] __device__(int64_t e) {
    const int64_t out = rows::output_of(e, len, inner);
    pdx[e] = pdy[out] * expf(px[e] - py[out]);
  });
}

}  // namespace cuda
}  // namespace convnet
