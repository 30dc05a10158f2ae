// The shared parts of the CUDA losses (loss_common.cuh).
#include <string>

#include "cuda/loss_common.cuh"

namespace convnet {
namespace cuda {
namespace {

constexpr int kReduceThreads = 1024;

// One block: fixed thread-to-element map and fixed tree, so the same bits on every run.
__global__ void reduce_loss_kernel(const double* values, const double* weights, int64_t n, double denominator,
                                   float* out) {
  double total = 0.0, weight_total = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    total += values[i];
    if (weights) weight_total += weights[i];
  }
  total = block_sum(total);
  if (weights) weight_total = block_sum(weight_total);  // the same branch for the whole block
  if (threadIdx.x == 0) out[0] = static_cast<float>(total / (weights ? weight_total : denominator));
}

__global__ void target_weight_sum_kernel(const int32_t* target, int64_t n, const float* weight, int64_t classes,
                                         int64_t ignore_index, double* out) {
  double total = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const int32_t t = target[i];
    if (t == ignore_index || t < 0 || t >= classes) continue;
    total += weight ? static_cast<double>(weight[t]) : 1.0;
  }
  total = block_sum(total);
  if (threadIdx.x == 0) out[0] = total;
}

}  // namespace

void finish_loss(const char* op, Reduction reduction, const double* values, const double* weights, int64_t n,
                 double denominator, const Tensor& loss) {
  float* out = loss.f32();
  if (reduction == Reduction::None) {
    for_each(op, n, [=] __device__(int64_t i) { out[i] = static_cast<float>(values[i]); });
    return;
  }
  if (reduction == Reduction::Sum) weights = nullptr, denominator = 1.0;
  set_last_op(op);
  reduce_loss_kernel<<<1, kReduceThreads, 0, stream()>>>(values, weights, n, denominator, out);
  check_launch(op);
}

void target_weight_sum(const char* op, const int32_t* target, int64_t n, const float* weight, int64_t classes,
                       int64_t ignore_index, double* out) {
  set_last_op(op);
  target_weight_sum_kernel<<<1, kReduceThreads, 0, stream()>>>(target, n, weight, classes, ignore_index, out);
  check_launch(op);
}

int bad_label_site(const char* op, int64_t classes) {
  const std::string message = "a target is out of range for " + std::to_string(classes) + " classes";
  return error_site(op, message.c_str());
}

}  // namespace cuda
}  // namespace convnet
