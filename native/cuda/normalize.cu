// F.normalize and its gradient on the GPU (native/cpu/normalize.cc has the formulas): the norms
// of vector_norm.cuh in float64, d = max(n, eps) (NaN stays NaN), y = x * (1 / d) in float64;
// backward dx = dy / d - [n >= eps] (dot / d^2) dn/dx with dot = sum(dy * x), through the norm's
// gradient of vector_norm.cu.
#include <cmath>

#include "cuda/cuda_ops.h"
#include "cuda/vector_norm.cuh"

namespace convnet {
namespace cuda {

void normalize_forward(const Tensor& x, int64_t axis, double p, double eps, const Tensor& y) {
  const char* op = "normalize";
  if (x.numel() == 0) return;
  const rows::RunLayout l = rows::run_layout(x.shape, {axis});
  const int64_t outputs = l.outputs();
  DeviceBuffer buffer(static_cast<size_t>(outputs) * sizeof(double));
  double* inv = buffer.as<double>();
  norms::norms(op, x.f32(), l, norms::order_of(p), inv);
  for_each(op, outputs, [=] __device__(int64_t i) { inv[i] = 1.0 / (inv[i] < eps ? eps : inv[i]); });
  const float* px = x.f32();
  float* py = y.f32();
  const int64_t len = l.len, inner = l.inner;
  for_each(op, x.numel(), [=] __device__(int64_t e) { py[e] = static_cast<float>(px[e] * inv[rows::output_of(e, len, inner)]); });
}

void normalize_backward(const Tensor& dy, const Tensor& x, int64_t axis, double p, double eps, const Tensor& dx) {
  const char* op = "normalize backward";
  if (x.numel() == 0) return;
  const rows::RunLayout l = rows::run_layout(x.shape, {axis});
  const norms::Order order = norms::order_of(p);
  const int64_t outputs = l.outputs();
  DeviceBuffer buffer(4 * static_cast<size_t>(outputs) * sizeof(double));
  double* norm = buffer.as<double>();
  double* dot = norm + outputs;
  double* add = dot + outputs;
  double* scale = add + outputs;
  const float *px = x.f32(), *pdy = dy.f32();
  norms::norms(op, px, l, order, norm);
  rows::reduce_runs(op, l, 0.0, [=] __device__(int64_t, int64_t e) { return static_cast<double>(pdy[e]) * px[e]; },
                    rows::Add{}, dot);
  for_each(op, outputs, [=] __device__(int64_t i) {
    const double n = norm[i], d = n < eps ? eps : n;
    add[i] = 1.0 / d;
    scale[i] = n >= eps ? -dot[i] / (d * d) : 0.0;
  });
  norms::gradient(op, px, l, order, norm, scale, pdy, add, dx.f32());
}

}  // namespace cuda
}  // namespace convnet
