// PyTorch's MultiMarginLoss (Weston-Watkins) on the GPU, as cpu/multi_margin_loss.cc:
//   l_i = (w_y / C) sum_{j != y} max(0, margin - x_iy + x_ij)^p,
//   d l / d x_j = g w_y p z_j^(p - 1) / C  (z_j > 0, j != y),   d l / d x_y = -(sum of those),
// Mean over N (not weighted). One warp per row, float64 sums over C; the true class's gradient
// is the warp's sum of the others. A label out of range is reported (E_INDEX at the next wait)
// and its row skipped (loss 0, gradient 0).
#include "cuda/loss_common.cuh"

namespace convnet {
namespace cuda {
namespace {

struct Args {
  const float* x;
  const int32_t* target;
  const float* weight;  // null: all 1
  int64_t N, C;
  int p;
  double margin;
  int* error;
  int site;
};

Args args_of(const char* op, const Tensor& x, const Tensor& target, int p, double margin, const Tensor& weight) {
  return Args{x.f32(), target.i32(), has(weight) ? weight.f32() : nullptr, x.shape[0], x.shape[1], p, margin,
              device_error_word(), bad_label_site(op, x.shape[1])};
}

__global__ void forward_kernel(Args a, double* values) {
  const int lane = group_lane<32>();
  for (int64_t i = group_first<32>(); i < a.N; i += group_stride<32>()) {
    const int32_t t = a.target[i];
    double value = 0.0;
    if (t < 0 || t >= a.C) {
      if (lane == 0) report_error(a.error, a.site);
    } else {
      const float* row = a.x + i * a.C;
      const double shift = a.margin - row[t];
      double sum = 0.0;
      for (int64_t j = lane; j < a.C; j += 32) {
        const double z = shift + row[j];
        if (j != t && z > 0.0) sum += a.p == 1 ? z : z * z;
      }
      sum = group_sum<32>(sum);
      value = sum * (a.weight ? static_cast<double>(a.weight[t]) : 1.0) / a.C;
    }
    if (lane == 0) values[i] = value;
  }
}

__global__ void backward_kernel(Args a, GradScale scale, float* dx) {
  const int lane = group_lane<32>();
  for (int64_t i = group_first<32>(); i < a.N; i += group_stride<32>()) {
    const int32_t t = a.target[i];
    float* drow = dx + i * a.C;
    if (t < 0 || t >= a.C) {
      if (lane == 0) report_error(a.error, a.site);
      for (int64_t j = lane; j < a.C; j += 32) drow[j] = 0.0f;
      continue;
    }
    const float* row = a.x + i * a.C;
    const double g = scale(i) * (a.weight ? static_cast<double>(a.weight[t]) : 1.0) / a.C, shift = a.margin - row[t];
    double target_grad = 0.0;
    for (int64_t j = lane; j < a.C; j += 32) {
      const double z = shift + row[j];
      const double d = j != t && z > 0.0 ? g * (a.p == 1 ? 1.0 : 2.0 * z) : 0.0;
      if (j != t) drow[j] = static_cast<float>(d);
      target_grad -= d;
    }
    target_grad = group_sum<32>(target_grad);
    if (lane == 0) drow[t] = static_cast<float>(target_grad);
  }
}

}  // namespace

void multi_margin_loss_forward(const Tensor& x, const Tensor& target, int p, double margin, const Tensor& weight,
                               Reduction reduction, const Tensor& loss) {
  const char* op = "multiMarginLoss";
  const Args a = args_of(op, x, target, p, margin, weight);
  DeviceBuffer scratch(sizeof(double) * static_cast<size_t>(a.N));
  double* values = scratch.as<double>();
  if (a.N > 0) {
    set_last_op(op);
    forward_kernel<<<blocks_for_rows<32>(a.N), kThreads, 0, stream()>>>(a, values);
    check_launch(op);
  }
  finish_loss(op, reduction, values, nullptr, a.N, static_cast<double>(a.N), loss);
}

void multi_margin_loss_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, int p, double margin,
                                const Tensor& weight, Reduction reduction, const Tensor& dx) {
  const char* op = "multiMarginLoss backward";
  const Args a = args_of(op, x, target, p, margin, weight);
  if (a.N == 0) return;
  const GradScale scale = grad_scale(reduction, dloss, static_cast<double>(a.N));
  set_last_op(op);
  backward_kernel<<<blocks_for_rows<32>(a.N), kThreads, 0, stream()>>>(a, scale, dx.f32());
  check_launch(op);
}

}  // namespace cuda
}  // namespace convnet
