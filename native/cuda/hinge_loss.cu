// The survey's one-vs-all multi-class hinge loss on the GPU, as cpu/hinge_loss.cc:
//   l_i = sum_j max(0, margin - delta(y_i, j) x_ij)^p,  delta = +1 for j = y_i, -1 otherwise,
//   d l_i / d x_ij = -delta p max(0, margin - delta x_ij)^(p - 1)   (0 at the L1 kink),
// Mean over N. Forward: one warp per row (float64 sum over C). Backward: one thread per score
// (each gradient needs only its own score and its row's label). A label out of range is
// reported (E_INDEX at the next wait) and its row skipped (loss 0, gradient 0).
#include "cuda/loss_common.cuh"

namespace convnet {
namespace cuda {
namespace {

__global__ void forward_kernel(const float* x, const int32_t* target, int64_t N, int64_t C, int p, double margin,
                               int* error, int site, double* values) {
  const int lane = group_lane<32>();
  for (int64_t i = group_first<32>(); i < N; i += group_stride<32>()) {
    const int32_t t = target[i];
    double sum = 0.0;
    if (t < 0 || t >= C) {
      if (lane == 0) report_error(error, site);
    } else {
      for (int64_t j = lane; j < C; j += 32) {
        const double z = margin - (j == t ? 1.0 : -1.0) * x[i * C + j];
        if (!(z <= 0.0)) sum += p == 1 ? z : z * z;  // a NaN score counts (NaN), as PyTorch's clamp keeps it
      }
      sum = group_sum<32>(sum);
    }
    if (lane == 0) values[i] = sum;
  }
}

}  // namespace

void hinge_loss_forward(const Tensor& x, const Tensor& target, int p, double margin, Reduction reduction,
                        const Tensor& loss) {
  const char* op = "hingeLoss";
  const int64_t N = x.shape[0], C = x.shape[1];
  DeviceBuffer scratch(sizeof(double) * static_cast<size_t>(N));
  double* values = scratch.as<double>();
  if (N > 0) {
    const int site = bad_label_site(op, C);
    int* error = device_error_word();
    set_last_op(op);
    forward_kernel<<<blocks_for_rows<32>(N), kThreads, 0, stream()>>>(x.f32(), target.i32(), N, C, p, margin, error,
                                                                       site, values);
    check_launch(op);
  }
  finish_loss(op, reduction, values, nullptr, N, static_cast<double>(N), loss);
}

void hinge_loss_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, int p, double margin,
                         Reduction reduction, const Tensor& dx) {
  const char* op = "hingeLoss backward";
  const int64_t N = x.shape[0], C = x.shape[1];
  const float* px = x.f32();
  const int32_t* pt = target.i32();
  float* pdx = dx.f32();
  const GradScale scale = grad_scale(reduction, dloss, static_cast<double>(N));
  int* error = device_error_word();
  const int site = bad_label_site(op, C);
  for_each(op, N * C, [=] __device__(int64_t k) {
    const int64_t i = k / C, j = k % C;
    const int32_t t = pt[i];
    if (t < 0 || t >= C) {
      if (j == 0) report_error(error, site);
      pdx[k] = 0.0f;
      return;
    }
    const double delta = j == t ? 1.0 : -1.0;
    const double z = margin - delta * px[k];
    const double dz = z > 0.0 ? (p == 1 ? 1.0 : 2.0 * z) : 0.0;
    pdx[k] = static_cast<float>(-delta * dz * scale(i));
  });
}

}  // namespace cuda
}  // namespace convnet
