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
// ---- pooling: max_pool.cc, avg_pool.cc, lp_pool.cc, mixed_pool.cc, adaptive_pool.cc, roi_pool.cc
// Planes of NCHW (a 3-D [C, H, W] input is one sample); each plane is computed, and each plane's
// gradient written, by one thread. Window rules, output sizes and tie/NaN rules are PyTorch's
// (see each file's comment). Indices are int32, flat h * W + w within the plane.
struct Pool2dGeometry {
  int64_t planes, h, w, oh, ow;  // planes = N * C; input h x w; output oh x ow
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;  // kernel, stride, padding, dilation
};
void max_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, const Tensor& y, const Tensor* indices);
// dx[plane][indices[o]] += dy[o] (max_pool2d and adaptive_max_pool2d); E_INDEX on a bad index.
void max_pool_backward(const Tensor& dy, const Tensor& indices, const Tensor& dx);
void avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad, int64_t divisor_override,
                        const Tensor& y);
void avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g, bool count_include_pad, int64_t divisor_override,
                         const Tensor& dx);
void lp_pool2d_forward(const Tensor& x, double p, const Pool2dGeometry& g, bool mean, const Tensor& y);
void lp_pool2d_backward(const Tensor& dy, const Tensor& x, const Tensor& y, double p, const Pool2dGeometry& g, bool mean,
                        const Tensor& dx);
// lambda_mode: 0 = every lambda is `fixed` (evaluation), 1 = Bernoulli(0.5), 2 = uniform [0, 1),
// drawn from Philox(seed) blocks from first_block on (see mixed_pool.cc).
enum MixedLambdaMode : int64_t { kMixedFixed = 0, kMixedBernoulli = 1, kMixedUniform = 2 };
// indices (optional): the argmax of each window, as max_pool2d's, kept for the backward.
void mixed_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, int64_t lambda_mode, float fixed, uint64_t seed,
                          uint64_t first_block, const Tensor& lambda, const Tensor& y, const Tensor* indices);
void mixed_pool2d_backward(const Tensor& dy, const Tensor& indices, const Tensor& lambda, const Pool2dGeometry& g,
                           const Tensor& dx);
// Adaptive pools: g.kh.. unused; windows [floor(i * H / oh), ceil((i + 1) * H / oh)).
void adaptive_avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, const Tensor& y);
void adaptive_avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g, const Tensor& dx);
void adaptive_max_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, const Tensor& y, const Tensor* indices);
// torchvision.ops.roi_pool: boxes [K, 5] (batch index, x1, y1, x2, y2); y and argmax [K, C, oh, ow].
void roi_pool_forward(const Tensor& x, const Tensor& boxes, float spatial_scale, const Tensor& y, const Tensor& argmax);
void roi_pool_backward(const Tensor& dy, const Tensor& argmax, const Tensor& boxes, const Tensor& dx);
// @@pooling
// @@layers
// @@losses
// @@optimizers

}  // namespace cpu
}  // namespace convnet
