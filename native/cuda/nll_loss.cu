// Negative log-likelihood on the GPU, as cpu/nll_loss.cc: x [N, C, d...] viewed as [N, C, S],
// loss -w_t x_t at a position whose target t is not ignore_index, 0 at ignored ones; Mean
// divides by the sum of w_t over the positions not ignored (NaN when all are). Backward:
// dx = 0 except dx_t = -w_t g. One thread per position. A label out of range is reported
// (E_INDEX at the next wait) and its position skipped.
#include "cuda/loss_common.cuh"

namespace convnet {
namespace cuda {
namespace {

int64_t inner_of(const Tensor& x) {
  int64_t s = 1;
  for (int64_t d = 2; d < x.dim(); ++d) s *= x.shape[d];
  return s;
}

}  // namespace

void nll_loss_forward(const Tensor& x, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                      Reduction reduction, const Tensor& loss) {
  const char* op = "nllLoss";
  const int64_t C = x.shape[1], S = inner_of(x), positions = target.numel();
  const float* px = x.f32();
  const int32_t* pt = target.i32();
  const float* w = has(weight) ? weight.f32() : nullptr;
  int* error = device_error_word();
  const int site = bad_label_site(op, C);
  DeviceBuffer scratch(2 * sizeof(double) * static_cast<size_t>(positions));
  double* values = scratch.as<double>();
  double* weights = values + positions;
  for_each(op, positions, [=] __device__(int64_t i) {
    const int32_t t = pt[i];
    double value = 0.0, w_t = 0.0;
    if (t != ignore_index) {
      if (t < 0 || t >= C) {
        report_error(error, site);
      } else {
        w_t = w ? static_cast<double>(w[t]) : 1.0;
        value = -w_t * px[(i / S) * C * S + t * S + i % S];
      }
    }
    values[i] = value;
    weights[i] = w_t;
  });
  finish_loss(op, reduction, values, weights, positions, 1.0, loss);
}

void nll_loss_backward(const Tensor& dloss, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                       Reduction reduction, const Tensor& dx) {
  const char* op = "nllLoss backward";
  const int64_t C = dx.shape[1], S = inner_of(dx), positions = target.numel();
  const int32_t* pt = target.i32();
  const float* w = has(weight) ? weight.f32() : nullptr;
  float* pdx = dx.f32();
  if (dx.numel() == 0) return;
  CONVNET_CUDA_CHECK(cudaMemsetAsync(pdx, 0, sizeof(float) * static_cast<size_t>(dx.numel()), stream()));
  DeviceBuffer denominator(sizeof(double));
  if (reduction == Reduction::Mean) target_weight_sum(op, pt, positions, w, C, ignore_index, denominator.as<double>());
  const GradScale scale = grad_scale(reduction, dloss, 1.0, denominator.as<double>());
  int* error = device_error_word();
  const int site = bad_label_site(op, C);
  for_each(op, positions, [=] __device__(int64_t i) {
    const int32_t t = pt[i];
    if (t == ignore_index) return;
    if (t < 0 || t >= C) {
      report_error(error, site);
      return;
    }
    pdx[(i / S) * C * S + t * S + i % S] = static_cast<float>(-(w ? static_cast<double>(w[t]) : 1.0) * scale(i));
  });
}

}  // namespace cuda
}  // namespace convnet
