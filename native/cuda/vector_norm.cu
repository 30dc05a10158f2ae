// The vector p-norm over a run of adjacent axes and its gradient on the GPU: the formulas and
// the PyTorch semantics of native/cpu/vector_norm.cc (NaN wins, p = 0 counts NaN, 0 gradient
// at a zero norm, the inf norms' ties share the gradient), the deterministic reductions of
// row_reduce.cuh in float64.
#include <cmath>

#include "cuda/cuda_ops.h"
#include "cuda/vector_norm.cuh"

namespace convnet {
namespace cuda {
namespace norms {
namespace {

__device__ __forceinline__ double sgn(double v) { return static_cast<double>((0.0 < v) - (v < 0.0)); }  // 0 for NaN

// The per-output constants of the element formula (vector_norm.cc: GradientRow).
__device__ __forceinline__ double gradient_factor(const Order& order, double n, double s, double ties) {
  switch (order.kind) {
    case Order::Two: return n == 0.0 ? 0.0 : s / n;
    case Order::One: return s;
    case Order::Inf:
    case Order::NegInf: return s / ties;
    case Order::Zero: return 0.0;
    default:
      if (order.p < 1.0) return s * pow(n, 1.0 - order.p);
      return n == 0.0 ? 0.0 : s / pow(n, order.p - 1.0);
  }
}

__device__ __forceinline__ double gradient_element(const Order& order, double k, float norm, float xf) {
  const double v = xf;
  switch (order.kind) {
    case Order::Two: return k * v;
    case Order::One: return sgn(v) * k;
    case Order::Inf:
    case Order::NegInf: return sgn(v) * (k * ((fabsf(xf) == norm || xf != xf) ? 1.0 : 0.0));
    case Order::Zero: return 0.0;
    default:
      if (order.p < 1.0) return (v == 0.0 ? 0.0 : sgn(v) * pow(fabs(v), order.p - 1.0)) * k;
      return sgn(v) * pow(fabs(v), order.p - 1.0) * k;
  }
}

}  // namespace

Order order_of(double p) {
  if (p == 2.0) return {Order::Two, p};
  if (p == 1.0) return {Order::One, p};
  if (p == 0.0) return {Order::Zero, p};
  if (std::isinf(p)) return {p > 0 ? Order::Inf : Order::NegInf, p};
  return {Order::Other, p};
}

void norms(const char* op, const float* x, const rows::RunLayout& l, const Order& order, double* out) {
  const double p = order.p;
  switch (order.kind) {
    case Order::Two:
      rows::reduce_runs(op, l, 0.0, [=] __device__(int64_t, int64_t e) { return static_cast<double>(x[e]) * x[e]; },
                        rows::Add{}, out);
      break;
    case Order::One:
      rows::reduce_runs(op, l, 0.0, [=] __device__(int64_t, int64_t e) { return fabs(static_cast<double>(x[e])); },
                        rows::Add{}, out);
      break;
    case Order::Zero:
      rows::reduce_runs(op, l, 0.0, [=] __device__(int64_t, int64_t e) { return x[e] != 0.0f ? 1.0 : 0.0; }, rows::Add{}, out);
      break;
    case Order::Inf:
      rows::reduce_runs(op, l, 0.0, [=] __device__(int64_t, int64_t e) { return fabs(static_cast<double>(x[e])); },
                        rows::MaxNan{}, out);
      break;
    case Order::NegInf:
      rows::reduce_runs(op, l, INFINITY, [=] __device__(int64_t, int64_t e) { return fabs(static_cast<double>(x[e])); },
                        rows::MinNan{}, out);
      break;
    default:
      rows::reduce_runs(op, l, 0.0, [=] __device__(int64_t, int64_t e) { return pow(fabs(static_cast<double>(x[e])), p); },
                        rows::Add{}, out);
  }
  const Order o = order;
  if (o.kind == Order::Two || o.kind == Order::Other) {
    for_each(op, l.outputs(), [=] __device__(int64_t i) { out[i] = o.kind == Order::Two ? sqrt(out[i]) : pow(out[i], 1.0 / o.p); });
  }
}

void gradient(const char* op, const float* x, const rows::RunLayout& l, const Order& order, const double* norm,
              const double* scale, const float* dy, const double* add, float* dx) {
  const int64_t outputs = l.outputs(), n = outputs * l.len;
  if (n == 0) return;
  DeviceBuffer factors(2 * static_cast<size_t>(outputs) * sizeof(double));  // k, then the ties; freed in stream order
  double* k = factors.as<double>();
  double* ties = k + outputs;
  if (order.kind == Order::Inf || order.kind == Order::NegInf) {
    rows::reduce_runs(op, l, 0.0, [=] __device__(int64_t out, int64_t e) {
      const float v = x[e];
      return (fabsf(v) == static_cast<float>(norm[out]) || v != v) ? 1.0 : 0.0;
    }, rows::Add{}, ties);
  }
  const Order o = order;
  const bool with_ties = o.kind == Order::Inf || o.kind == Order::NegInf;
  for_each(op, outputs, [=] __device__(int64_t i) { k[i] = gradient_factor(o, norm[i], scale[i], with_ties ? ties[i] : 1.0); });
  const int64_t len = l.len, inner = l.inner;
  for_each(op, n, [=] __device__(int64_t e) {
    const int64_t out = rows::output_of(e, len, inner);
    const double term = gradient_element(o, k[out], static_cast<float>(norm[out]), x[e]);
    dx[e] = static_cast<float>(dy ? add[out] * dy[e] + term : term);
  });
}

}  // namespace norms

void vector_norm(const Tensor& x, const std::vector<int64_t>& axes, double p, const Tensor& y) {
  const char* op = "norm";
  const rows::RunLayout l = rows::run_layout(x.shape, axes);
  const int64_t outputs = l.outputs();
  if (outputs == 0) return;
  DeviceBuffer out(static_cast<size_t>(outputs) * sizeof(double));
  double* pout = out.as<double>();
  norms::norms(op, x.f32(), l, norms::order_of(p), pout);
  float* py = y.f32();
  for_each(op, outputs, [=] __device__(int64_t i) { py[i] = static_cast<float>(pout[i]); });
}

void vector_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& y, const std::vector<int64_t>& axes, double p,
                          const Tensor& dx) {
  const char* op = "norm backward";
  const rows::RunLayout l = rows::run_layout(x.shape, axes);
  const int64_t outputs = l.outputs();
  if (outputs == 0 || x.numel() == 0) return;
  DeviceBuffer buffer(2 * static_cast<size_t>(outputs) * sizeof(double));
  double* norm = buffer.as<double>();
  double* scale = norm + outputs;
  const float *py = y.f32(), *pdy = dy.f32();
  for_each(op, outputs, [=] __device__(int64_t i) {
    norm[i] = py[i];
    scale[i] = pdy[i];
  });
  norms::gradient(op, x.f32(), l, norms::order_of(p), norm, scale, nullptr, nullptr, dx.f32());
}

}  // namespace cuda
}  // namespace convnet
