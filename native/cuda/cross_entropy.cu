// Cross-entropy on the GPU: the same formulas as cpu/cross_entropy.cc (which derives them),
// log-softmax and the negative log-likelihood fused, one lane group per position
// (loss_common.cuh: Note [rows and lane groups]):
//   lse  = max + log sum_c exp(x_c - max)             (float exp, float64 sum)
//   loss = (1 - ls) (-w_t (x_t - lse)) + (ls / C) (lse W - sum_c w_c x_c)
//   dx_c = g [ p_c ((1 - ls) w_t + ls W / C) - (1 - ls) w_t [c == t] - (ls / C) w_c ]
// W = sum_c w_c is summed per position, in the same pass as the exps. Mean divides by the sum of
// w_t over the positions not ignored: in forward from the per-position weights, in backward
// from target_weight_sum() (a device scalar read by the kernel).
//
// A label out of range (and not ignore_index) is reported (E_INDEX at the next wait) and its
// position skipped: loss 0, gradient 0.
#include <cmath>

#include "cuda/loss_common.cuh"

namespace convnet {
namespace cuda {
namespace {

struct Args {
  const float* x;
  const int32_t* target;
  const float* weight;  // null: all 1
  int64_t classes, inner, positions;
  int64_t ignore_index;
  double ls;
  int* error;
  int site;
  // Offset of class 0 of position i; classes follow at stride `inner`.
  __device__ int64_t row(int64_t i) const { return (i / inner) * classes * inner + i % inner; }
  __device__ double w(int64_t c) const { return weight ? static_cast<double>(weight[c]) : 1.0; }
};

Args args_of(const char* op, const Tensor& x, const Tensor& target, const Tensor& weight, int64_t ignore_index,
             double ls) {
  Args a{};
  a.x = x.f32();
  a.target = target.i32();
  a.weight = has(weight) ? weight.f32() : nullptr;
  a.classes = x.shape[1];
  a.inner = 1;
  for (int64_t d = 2; d < x.dim(); ++d) a.inner *= x.shape[d];
  a.positions = target.numel();
  a.ignore_index = ignore_index;
  a.ls = ls;
  a.error = device_error_word();
  a.site = bad_label_site(op, a.classes);
  return a;
}

// The max of a position's scores, and the sum of exp(x_c - max) (and of w_c when smoothing).
template <int kLanes>
__device__ float row_max(const Args& a, const float* row, int lane) {
  float m = -INFINITY;
  for (int64_t c = lane; c < a.classes; c += kLanes) m = fmaxf(m, row[c * a.inner]);
  return group_max<kLanes>(m);
}

template <int kLanes>
__global__ void forward_kernel(Args a, double* values, double* weights) {
  const int lane = group_lane<kLanes>();
  const int64_t C = a.classes, S = a.inner;
  for (int64_t i = group_first<kLanes>(); i < a.positions; i += group_stride<kLanes>()) {
    const int32_t t = a.target[i];
    double value = 0.0, w_t = 0.0;
    if (t != a.ignore_index) {
      if (t < 0 || t >= C) {
        if (lane == 0) report_error(a.error, a.site);
      } else {
        const float* row = a.x + a.row(i);
        const float max = row_max<kLanes>(a, row, lane);
        double sum = 0.0, weighted_x = 0.0, weight_total = 0.0;
        for (int64_t c = lane; c < C; c += kLanes) {
          const float v = row[c * S];
          sum += expf(v - max);
          if (a.ls > 0.0) {
            weighted_x += a.w(c) * v;
            weight_total += a.w(c);
          }
        }
        sum = group_sum<kLanes>(sum);
        const double lse = static_cast<double>(max) + log(sum);
        w_t = a.w(t);
        value = (1.0 - a.ls) * -w_t * (row[t * S] - lse);
        if (a.ls > 0.0) {
          weighted_x = group_sum<kLanes>(weighted_x);
          weight_total = group_sum<kLanes>(weight_total);
          value += a.ls / C * (lse * weight_total - weighted_x);
        }
      }
    }
    if (lane == 0) {
      values[i] = value;
      weights[i] = w_t;
    }
  }
}

template <int kLanes>
__global__ void backward_kernel(Args a, GradScale scale, float* dx) {
  const int lane = group_lane<kLanes>();
  const int64_t C = a.classes, S = a.inner;
  for (int64_t i = group_first<kLanes>(); i < a.positions; i += group_stride<kLanes>()) {
    const int32_t t = a.target[i];
    float* drow = dx + a.row(i);
    if (t == a.ignore_index || t < 0 || t >= C) {
      if (t != a.ignore_index && lane == 0) report_error(a.error, a.site);
      for (int64_t c = lane; c < C; c += kLanes) drow[c * S] = 0.0f;
      continue;
    }
    const float* row = a.x + a.row(i);
    const double g = scale(i);
    const float max = row_max<kLanes>(a, row, lane);
    double sum = 0.0, weight_total = 0.0;
    for (int64_t c = lane; c < C; c += kLanes) {
      sum += expf(row[c * S] - max);
      if (a.ls > 0.0) weight_total += a.w(c);
    }
    sum = group_sum<kLanes>(sum);
    if (a.ls > 0.0) weight_total = group_sum<kLanes>(weight_total);
    const double w_t = a.w(t);
    // As the CPU: exp(x - max) * factor in float, then the one-hot and smoothing terms.
    const float factor = static_cast<float>(g * ((1.0 - a.ls) * w_t + a.ls * weight_total / C) / sum);
    const float hit = static_cast<float>(g * (1.0 - a.ls) * w_t);
    for (int64_t c = lane; c < C; c += kLanes) {
      float d = expf(row[c * S] - max) * factor;
      if (c == t) d -= hit;
      if (a.ls > 0.0) d -= static_cast<float>(g * a.ls / C * a.w(c));
      drow[c * S] = d;
    }
  }
}

}  // namespace

void cross_entropy_forward(const Tensor& x, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                           double label_smoothing, Reduction reduction, const Tensor& loss) {
  const char* op = "crossEntropy";
  const Args a = args_of(op, x, target, weight, ignore_index, label_smoothing);
  DeviceBuffer scratch(2 * sizeof(double) * static_cast<size_t>(a.positions));
  double* values = scratch.as<double>();
  double* weights = values + a.positions;
  if (a.positions > 0) {
    cudaStream_t s = stream();
    set_last_op(op);
    if (a.inner == 1) {
      forward_kernel<32><<<blocks_for_rows<32>(a.positions), kThreads, 0, s>>>(a, values, weights);
    } else {
      forward_kernel<1><<<blocks_for_rows<1>(a.positions), kThreads, 0, s>>>(a, values, weights);
    }
    check_launch(op);
  }
  finish_loss(op, reduction, values, weights, a.positions, 1.0, loss);
}

void cross_entropy_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, const Tensor& weight,
                            int64_t ignore_index, double label_smoothing, Reduction reduction, const Tensor& dx) {
  const char* op = "crossEntropy backward";
  const Args a = args_of(op, x, target, weight, ignore_index, label_smoothing);
  if (a.positions == 0) return;  // dx is empty too (N = 0 or a zero-size d)
  DeviceBuffer denominator(sizeof(double));
  if (reduction == Reduction::Mean)
    target_weight_sum(op, a.target, a.positions, a.weight, a.classes, ignore_index, denominator.as<double>());
  const GradScale scale = grad_scale(reduction, dloss, 1.0, denominator.as<double>());
  cudaStream_t s = stream();
  set_last_op(op);
  if (a.inner == 1) {
    backward_kernel<32><<<blocks_for_rows<32>(a.positions), kThreads, 0, s>>>(a, scale, dx.f32());
  } else {
    backward_kernel<1><<<blocks_for_rows<1>(a.positions), kThreads, 0, s>>>(a, scale, dx.f32());
  }
  check_launch(op);
}

}  // namespace cuda
}  // namespace convnet
