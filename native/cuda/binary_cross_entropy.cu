// Binary cross-entropy of probabilities on the GPU, per element: the formulas of
// cpu/binary_cross_entropy.cc (in float, log1pf and logf). An element of x outside [0, 1] or
// NaN is reported through the device error word (E_ARG at the next wait), as the CPU fails,
// by both kernels: x is not copied to check it.
#include "cuda/loss_common.cuh"

namespace convnet {
namespace cuda {
namespace {

int range_error_site() {
  return error_site("binaryCrossEntropy",
                    "an element of `input` is outside [0, 1]: expected probabilities (apply sigmoid first, "
                    "or use binaryCrossEntropyWithLogits)",
                    "E_ARG");
}

}  // namespace

void binary_cross_entropy_forward(const Tensor& x, const Tensor& target, const Tensor& loss) {
  const float *px = x.f32(), *pt = target.f32();
  float* pl = loss.f32();
  int* error = device_error_word();
  const int site = range_error_site();
  for_each("binaryCrossEntropy", x.numel(), [=] __device__(int64_t i) {
    const float v = px[i], t = pt[i];
    if (!(v >= 0.0f && v <= 1.0f)) report_error(error, site);
    pl[i] = (t - 1.0f) * fmaxf(log1pf(-v), -100.0f) - t * fmaxf(logf(v), -100.0f);
  });
}

void binary_cross_entropy_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, const Tensor& dx,
                                   const Tensor& dtarget) {
  const float *pdl = dloss.f32(), *px = x.f32(), *pt = target.f32();
  float* pdx = has(dx) ? dx.f32() : nullptr;
  float* pdt = has(dtarget) ? dtarget.f32() : nullptr;
  int* error = device_error_word();
  const int site = range_error_site();
  for_each("binaryCrossEntropy backward", x.numel(), [=] __device__(int64_t i) {
    const float v = px[i], g = pdl[i];
    if (!(v >= 0.0f && v <= 1.0f)) report_error(error, site);
    if (pdx) pdx[i] = g * (v - pt[i]) / fmaxf(v * (1.0f - v), 1e-12f);
    if (pdt) pdt[i] = g * (log1pf(-v) - logf(v));
  });
}

}  // namespace cuda
}  // namespace convnet
