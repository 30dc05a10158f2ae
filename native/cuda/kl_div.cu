// KL divergence on the GPU, as cpu/kl_div.cc: elementwise, in float as PyTorch,
//   l = xlogy(t, t) - t x   (0 log 0 = 0),   or exp(t) (t - x) with log_target;
//   d l / d x = -t (or -exp(t)),   d l / d t = log t + 1 - x (NaN at t = 0) (or exp(t) (t - x + 1)).
// Mean divides by the number of elements, BatchMean by x.shape[0]. A reduced loss is the
// elementwise values written to scratch and summed by sum_to_scalar (one block, float64, a fixed
// order: the same bits on every run).
#include <cmath>

#include "cuda/loss_common.cuh"

namespace convnet {
namespace cuda {
namespace {

double denominator_of(Reduction reduction, const Tensor& x) {
  if (reduction == Reduction::Mean) return static_cast<double>(x.numel());
  if (reduction == Reduction::BatchMean) return x.dim() > 0 ? static_cast<double>(x.shape[0]) : 1.0;
  return 1.0;
}

__device__ __forceinline__ float pointwise_loss(float x, float t, bool log_target) {
  if (log_target) return expf(t) * (t - x);
  return (t == 0.0f ? 0.0f : t * logf(t)) - t * x;  // a NaN t stays NaN
}

}  // namespace

void kl_div_forward(const Tensor& x, const Tensor& target, bool log_target, Reduction reduction, const Tensor& loss) {
  const char* op = "klDiv";
  const int64_t n = x.numel();
  const float *px = x.f32(), *pt = target.f32();
  if (reduction == Reduction::None) {
    float* out = loss.f32();
    for_each(op, n, [=] __device__(int64_t i) { out[i] = pointwise_loss(px[i], pt[i], log_target); });
    return;
  }
  DeviceBuffer scratch(sizeof(float) * static_cast<size_t>(n));
  float* values = scratch.as<float>();
  for_each(op, n, [=] __device__(int64_t i) { values[i] = pointwise_loss(px[i], pt[i], log_target); });
  sum_to_scalar(op, values, n, 1.0 / denominator_of(reduction, x), loss.f32());
}

void kl_div_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, bool log_target, Reduction reduction,
                     const Tensor& dx, const Tensor& dtarget) {
  const char* op = "klDiv backward";
  const int64_t n = x.numel();
  const float *px = x.f32(), *pt = target.f32();
  float* pdx = dx.f32();
  float* pdt = has(dtarget) ? dtarget.f32() : nullptr;
  const GradScale scale = grad_scale(reduction, dloss, denominator_of(reduction, x));
  if (reduction != Reduction::None && !pdt && !log_target) {
    // The CPU's common case, a scaled copy in float: the same rounding.
    for_each(op, n, [=] __device__(int64_t i) { pdx[i] = pt[i] * static_cast<float>(-scale(0)); });
    return;
  }
  for_each(op, n, [=] __device__(int64_t i) {
    const double g = scale(i), t = pt[i];
    const double p = log_target ? exp(t) : t;
    pdx[i] = static_cast<float>(-p * g);
    if (!pdt) return;
    if (log_target) {
      pdt[i] = static_cast<float>(g * p * (t - px[i] + 1.0));
    } else {
      pdt[i] = t == 0.0 ? NAN : static_cast<float>(g * (log(t) + 1.0 - px[i]));
    }
  });
}

}  // namespace cuda
}  // namespace convnet
