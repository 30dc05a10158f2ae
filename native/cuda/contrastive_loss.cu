// Contrastive loss on the GPU, as cpu/contrastive_loss.cc:
//   d_i = ||a_i - b_i||_2,   l_i = 1/2 [ y_i d_i^2 + (1 - y_i) max(0, margin - d_i)^2 ],
//   d l / d a = g [ y - (1 - y) max(0, margin - d) / d ] (a - b) = -d l / d b,
// the hinge term's direction taken as 0 at d = 0 (Note [contrastive at d = 0] there). One warp
// per pair, float64 sum over D; backward computes the distance and writes both gradients in the
// same pass. y is float32 or int32.
#include <cmath>

#include "cuda/loss_common.cuh"

namespace convnet {
namespace cuda {
namespace {

struct Args {
  const float *a, *b;
  const float* y_f32;    // one of these two is set
  const int32_t* y_i32;
  int64_t N, D;
  double margin;
  __device__ double label(int64_t i) const {
    return y_i32 ? static_cast<double>(y_i32[i]) : static_cast<double>(y_f32[i]);
  }
  // ||a_i - b_i||^2, summed by the warp (every lane gets it).
  __device__ double squared_distance(int64_t i, int lane) const {
    double s = 0.0;
    for (int64_t k = lane; k < D; k += 32) {
      const double diff = static_cast<double>(a[i * D + k]) - b[i * D + k];
      s += diff * diff;
    }
    return group_sum<32>(s);
  }
};

Args args_of(const Tensor& a, const Tensor& b, const Tensor& y, double margin) {
  const bool int_labels = y.dtype == DType::Int32;
  return Args{a.f32(), b.f32(), int_labels ? nullptr : y.f32(), int_labels ? y.i32() : nullptr, a.shape[0],
              a.shape[1], margin};
}

__global__ void forward_kernel(Args a, double* values) {
  const int lane = group_lane<32>();
  for (int64_t i = group_first<32>(); i < a.N; i += group_stride<32>()) {
    const double d2 = a.squared_distance(i, lane), label = a.label(i);
    const double gap = fmax(0.0, a.margin - sqrt(d2));
    if (lane == 0) values[i] = 0.5 * (label * d2 + (1.0 - label) * gap * gap);
  }
}

__global__ void backward_kernel(Args a, GradScale scale, float* da, float* db) {
  const int lane = group_lane<32>();
  for (int64_t i = group_first<32>(); i < a.N; i += group_stride<32>()) {
    const double d = sqrt(a.squared_distance(i, lane)), label = a.label(i), g = scale(i);
    const double gap = fmax(0.0, a.margin - d);
    const double coefficient = g * (label - (d > 0.0 ? (1.0 - label) * gap / d : 0.0));
    for (int64_t k = lane; k < a.D; k += 32) {
      const float grad = static_cast<float>(coefficient * (static_cast<double>(a.a[i * a.D + k]) - a.b[i * a.D + k]));
      da[i * a.D + k] = grad;
      db[i * a.D + k] = -grad;
    }
  }
}

}  // namespace

void contrastive_loss_forward(const Tensor& a, const Tensor& b, const Tensor& y, double margin, Reduction reduction,
                              const Tensor& loss) {
  const char* op = "contrastiveLoss";
  const Args args = args_of(a, b, y, margin);
  DeviceBuffer scratch(sizeof(double) * static_cast<size_t>(args.N));
  double* values = scratch.as<double>();
  if (args.N > 0) {
    set_last_op(op);
    forward_kernel<<<blocks_for_rows<32>(args.N), kThreads, 0, stream()>>>(args, values);
    check_launch(op);
  }
  finish_loss(op, reduction, values, nullptr, args.N, static_cast<double>(args.N), loss);
}

void contrastive_loss_backward(const Tensor& dloss, const Tensor& a, const Tensor& b, const Tensor& y, double margin,
                               Reduction reduction, const Tensor& da, const Tensor& db) {
  const char* op = "contrastiveLoss backward";
  const Args args = args_of(a, b, y, margin);
  if (args.N == 0 || args.D == 0) return;
  const GradScale scale = grad_scale(reduction, dloss, static_cast<double>(args.N));
  set_last_op(op);
  backward_kernel<<<blocks_for_rows<32>(args.N), kThreads, 0, stream()>>>(args, scale, da.f32(), db.f32());
  check_launch(op);
}

}  // namespace cuda
}  // namespace convnet
