// The CPU kernels of the neural-network layers (the survey's toolbox), forward and backward.
// Same conventions as cpu_ops.h: preallocated outputs of the right shape, run on the queue's
// worker, results independent of the thread count. Names: x input, y output, dy/dx gradients,
// w weights, b bias. Each section is one file in native/cpu/.
#pragma once
#include <cstdint>
#include <vector>

#include "core/storage.h"

namespace convnet {
namespace cpu {

// ---- pointwise activations: relu.cc, leaky_relu.cc, elu.cc, sigmoid.cc, tanh.cc ----------------
// y = f(x); dx = dy * f'(x), computed from x and/or y as PyTorch does (ReLU's gradient at 0 is 0).
void relu_forward(const Tensor& x, const Tensor& y);
void relu_backward(const Tensor& dy, const Tensor& y, const Tensor& dx);
void leaky_relu_forward(const Tensor& x, float slope, const Tensor& y);
void leaky_relu_backward(const Tensor& dy, const Tensor& x, float slope, const Tensor& dx);
void elu_forward(const Tensor& x, float alpha, const Tensor& y);
void elu_backward(const Tensor& dy, const Tensor& x, const Tensor& y, float alpha, const Tensor& dx);
void sigmoid_forward(const Tensor& x, const Tensor& y);
void sigmoid_backward(const Tensor& dy, const Tensor& y, const Tensor& dx);
void tanh_forward(const Tensor& x, const Tensor& y);
void tanh_backward(const Tensor& dy, const Tensor& y, const Tensor& dx);

// @@convolution
// @@pooling
// @@layers
// @@losses
// ---- optimizer steps, fused and in place: sgd.cc, adam.cc ---------------------------------------
struct SgdOptions {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first_step;  // the momentum buffer is initialised to the gradient on the first step
};
// Updates param (and momentum_buffer, when given) in place.
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor* momentum_buffer, const SgdOptions& options);
struct AdamOptions {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;    // 1 on the first step
  bool decoupled;  // AdamW's weight decay
};
// Updates param, exp_avg, exp_avg_sq (and max_exp_avg_sq for amsgrad, when given) in place.
void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor* max_exp_avg_sq, const AdamOptions& options);
// @@optimizers

}  // namespace cpu
}  // namespace convnet
