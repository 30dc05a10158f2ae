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
// ---- losses: cross_entropy.cc, nll_loss.cc, hinge_loss.cc, multi_margin_loss.cc,
// contrastive_loss.cc, triplet_margin_loss.cc, kl_div.cc (shared parts in loss_common.h) --------
// `loss` is a float32 scalar, or one value per sample for None (per element for kl_div). Labels
// are int32 and checked when the kernel runs (E_INDEX). An optional tensor (weight) is absent
// when its storage is null. Backward takes dloss of the loss's shape and writes the gradients.
enum class Reduction : int32_t { None = 0, Mean, Sum, BatchMean };
// x [N, C, d...] viewed as [N, C, S]; target [N, d...]; weight [C] or absent.
void cross_entropy_forward(const Tensor& x, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                           double label_smoothing, Reduction reduction, const Tensor& loss);
void cross_entropy_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, const Tensor& weight,
                            int64_t ignore_index, double label_smoothing, Reduction reduction, const Tensor& dx);
void nll_loss_forward(const Tensor& x, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                      Reduction reduction, const Tensor& loss);
void nll_loss_backward(const Tensor& dloss, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                       Reduction reduction, const Tensor& dx);
// x [N, C], target [N]: the survey's one-vs-all L1/L2 hinge (p = 1 or 2).
void hinge_loss_forward(const Tensor& x, const Tensor& target, int p, double margin, Reduction reduction, const Tensor& loss);
void hinge_loss_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, int p, double margin,
                         Reduction reduction, const Tensor& dx);
// x [N, C], target [N] (the API reshapes PyTorch's 1-D form); weight [C] or absent.
void multi_margin_loss_forward(const Tensor& x, const Tensor& target, int p, double margin, const Tensor& weight,
                               Reduction reduction, const Tensor& loss);
void multi_margin_loss_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, int p, double margin,
                                const Tensor& weight, Reduction reduction, const Tensor& dx);
// a, b [N, D]; y [N] float32 or int32 (1 = similar).
void contrastive_loss_forward(const Tensor& a, const Tensor& b, const Tensor& y, double margin, Reduction reduction,
                              const Tensor& loss);
void contrastive_loss_backward(const Tensor& dloss, const Tensor& a, const Tensor& b, const Tensor& y, double margin,
                               Reduction reduction, const Tensor& da, const Tensor& db);
// anchor, positive, negative [N, D]; p = 1 or 2; squared: the survey's squared Euclidean form.
struct TripletOptions {
  double margin;
  int p;
  double eps;
  bool swap;
  bool squared;
};
void triplet_margin_loss_forward(const Tensor& a, const Tensor& pos, const Tensor& neg, const TripletOptions& options,
                                 Reduction reduction, const Tensor& loss);
void triplet_margin_loss_backward(const Tensor& dloss, const Tensor& a, const Tensor& pos, const Tensor& neg,
                                  const TripletOptions& options, Reduction reduction, const Tensor& da,
                                  const Tensor& dpos, const Tensor& dneg);
// x (log-probabilities) and target of the same shape; dtarget absent when not wanted.
void kl_div_forward(const Tensor& x, const Tensor& target, bool log_target, Reduction reduction, const Tensor& loss);
void kl_div_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, bool log_target, Reduction reduction,
                     const Tensor& dx, const Tensor& dtarget);
// @@losses
// @@optimizers

}  // namespace cpu
}  // namespace convnet
