// The CUDA backend's ops: the same functions, with the same arguments and meaning, as the
// CPU kernels of native/cpu/cpu_ops.h and native/cpu/nn_ops.h (whose comments say what each
// computes), so that an entry point in native/api/ picks one or the other by its inputs'
// device. Every tensor given here is on the GPU (the entry point checked), outputs are
// preallocated, and each function only launches work on cuda::stream() (context.h) and
// returns. One op per file in native/cuda/ (cuDNN or cuBLAS where they have the op, the
// project's own kernels elsewhere); the sections name the CPU files, and the CUDA file of an op
// has the same stem (fill.cu, conv2d.cc, ...). "E_INDEX when the kernel runs" becomes a report
// through context.h's device error word, thrown by the next wait.
//
// Differences from the CPU allowed by the tests (test/cuda-*.test.ts): float32 sums in another
// order; TF32 in convolutions when cuda.setOptions({ allowTF32Cudnn }) is on (the default, as
// in PyTorch). Random numbers are the CPU's: the same Philox blocks give the same mask/lambda.
#pragma once
#include <cstdint>
#include <vector>

#include "core/philox.h"
#include "core/storage.h"
#include "cpu/cpu_ops.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace cuda {

using cpu::AdamOptions;
using cpu::BinaryOp;
using cpu::Conv2dGeometry;
using cpu::Pool2dGeometry;
using cpu::ReduceOp;
using cpu::Reduction;
using cpu::SgdOptions;
using cpu::TripletOptions;
using cpu::UnaryOp;

// ---- moving data: copy.cu ----------------------------------------------------------------------
// dst (GPU) = src (CPU): src's values are copied into pinned staging memory now, on the calling
// thread, so the caller may reuse src at once; the upload is then queued on the stream.
// The caller made sure src's queued CPU work has run (Queue::cpu().wait()).
void copy_to_device(const Tensor& src, const Tensor& dst);
// dst (CPU) = src (GPU): the download is queued on the stream now (so it sees every earlier GPU
// op and none later); a task on the CPU queue waits for it and fills dst. CPU work enqueued after
// this call sees dst's values. Errors of the GPU work surface as that task's error.
void copy_to_host(const Tensor& src, const Tensor& dst);
// dst = src, both on the GPU (same number of bytes).
void copy_device(const Tensor& src, const Tensor& dst);

// ==== cpu_ops.h's ops (creation, elementwise, reductions, layout, indexing) ====

// fill.cc
void fill(const Tensor& y, double value);                               // y[i] = value
void arange(const Tensor& y, double start, double step);                // y[i] = start + i * step
void cast(const Tensor& x, const Tensor& y);                            // float32 <-> int32 (truncation)

// random.cc: element i uses Philox block first_block + i / 4, lane i % 4 (see core/philox.h)
void random_uniform(const Tensor& y, uint64_t seed, uint64_t first_block, float low, float high);
void random_normal(const Tensor& y, uint64_t seed, uint64_t first_block, float mean, float stddev);
void random_bernoulli(const Tensor& y, uint64_t seed, uint64_t first_block, float p);  // 1 with probability p

// elementwise.cc
// y = a (op) b with NumPy/PyTorch broadcasting; y has the broadcast shape.
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y);
// y = x (op) scalar, or scalar (op) x when scalar_first: the same results as a one-element b.
void binary_scalar(BinaryOp op, const Tensor& x, float scalar, bool scalar_first, const Tensor& y);
void unary(UnaryOp op, const Tensor& x, const Tensor& y);
void affine(const Tensor& x, float alpha, float beta, const Tensor& y);   // y = alpha * x + beta
void pow_scalar(const Tensor& x, float exponent, const Tensor& y);      // y = x ^ exponent

// reduce.cc (float64 accumulation, one output element per thread: exact for any thread count)
// Reduces x over `axes` (sorted, unique); y's shape is x's with those axes set to 1 (keepdim),
// which holds the same elements in the same order as without them.
void reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y);
// Index of the largest element along `axis` (the first one on ties, NaN counts as largest).
void argmax(const Tensor& x, int64_t axis, const Tensor& y);

// matmul.cc: y[b] = op(a[b]) @ op(b[b]) with broadcast batch dimensions (a, b at least 2-D).
void matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor& y);

// layout.cc
void permute(const Tensor& x, const std::vector<int64_t>& perm, const Tensor& y);  // y.shape[i] = x.shape[perm[i]]
void concat(const std::vector<Tensor>& xs, int64_t axis, const Tensor& y);
// y = x[begin_0 : begin_0 + y.shape[0]*step_0 : step_0, ...] (steps >= 1)
void slice(const Tensor& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& step, const Tensor& y);

// indexing.cc (indices are int32, checked when the kernel runs: E_INDEX)
void index_select(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& y);  // y = x.take(index, axis)
void gather(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& y);        // torch.gather
void one_hot(const Tensor& labels, int64_t num_classes, const Tensor& y);                // float32 [..., C]
// Backward of the two above (float32, deterministic for any thread count; y may be x):
void index_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src, const Tensor& y);    // y = x; y.index_add_(axis, index, src)
void scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src, const Tensor& y);  // y = x; y.scatter_add_(axis, index, src)

// ==== nn_ops.h's ops (layers, losses, optimizer steps) ====

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

// ---- convolution: conv2d.cc (im2col + GEMM, 1x1 GEMM), depthwise_conv2d.cc, linear.cc -------
// conv1d is conv2d with H = 1; conv_transpose2d is conv2d's backward-data (plus a bias), and
// its backward is conv2d's forward and backward-filter with the roles of x and dy swapped.
// Shapes: x [N, C, H, W], w [K, C / groups, kh, kw], y [N, K, Ho, Wo]. The kernels read Ho, Wo
// from the tensors they are given and never recompute them, so the bottom/right padding only
// matters to the caller that sizes y (it may even be negative: conv_transpose2d's
// outputPadding). y[n, k, oh, ow] = b[k] + sum_{c, i, j} w[k, c, i, j] *
//   x[n, g*C/groups + c, oh*stride_h - pad_top + i*dilation_h, ow*stride_w - pad_left + j*dilation_w]
// where g = k / (K / groups), and x is 0 outside [0, H) x [0, W).
// y = conv(x, w) + b (b may be null).
void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& y);
// dx = d(sum(y * dy))/dx, plus b[c] on channel c when b is given (conv_transpose2d's bias).
void conv2d_backward_data(const Tensor& dy, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& dx);
// dw = d(sum(y * dy))/dw, a reduction over the batch in an order fixed by the shapes alone.
void conv2d_backward_filter(const Tensor& dy, const Tensor& x, const Conv2dGeometry& g, const Tensor& dw);
// The same three for groups == C (depthwise, K = C * multiplier): direct loops, no GEMM.
void depthwise_conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& y);
void depthwise_conv2d_backward_data(const Tensor& dy, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& dx);
void depthwise_conv2d_backward_filter(const Tensor& dy, const Tensor& x, const Conv2dGeometry& g, const Tensor& dw);
// db[c] = sum of dy over every axis but `axis` (conv: axis 1 of [N, K, Ho, Wo]; linear: the last).
void bias_backward(const Tensor& dy, int64_t axis, const Tensor& db);
// linear: x [M, in] (leading dims folded into M), w [out, in], y [M, out] = x w^T + b.
void linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, const Tensor& y);
void linear_backward_data(const Tensor& dy, const Tensor& w, const Tensor& dx);     // dx = dy w
void linear_backward_weight(const Tensor& dy, const Tensor& x, const Tensor& dw);   // dw = dy^T x

// ---- pooling: max_pool.cc, avg_pool.cc, lp_pool.cc, mixed_pool.cc, adaptive_pool.cc, roi_pool.cc
// Planes of NCHW (a 3-D [C, H, W] input is one sample); each plane is computed, and each plane's
// gradient written, by one thread. Window rules, output sizes and tie/NaN rules are PyTorch's
// (see each file's comment). Indices are int32, flat h * W + w within the plane.
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
// ---- the other layers: prelu.cc, maxout.cc, softmax.cc, dropout.cc, lrn.cc, batch_norm.cc --------
// prelu: w is [C] (channel axis 1) or [1]; dw is w's shape.
void prelu_forward(const Tensor& x, const Tensor& w, const Tensor& y);
void prelu_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const Tensor& dx, const Tensor& dw);
// maxout: groups of `pieces` consecutive channels, [N, C, ...] -> [N, C / pieces, ...].
void maxout_forward(const Tensor& x, int64_t pieces, const Tensor& y);
void maxout_backward(const Tensor& dy, const Tensor& x, int64_t pieces, const Tensor& dx);
// softmax (log = false) or logSoftmax (log = true) along a non-negative axis; backward from y.
void softmax_forward(const Tensor& x, int64_t axis, bool log, const Tensor& y);
void softmax_backward(const Tensor& dy, const Tensor& y, int64_t axis, bool log, const Tensor& dx);
// dropout: Philox mask from (seed, first_block), see dropout.cc; mask holds 1 (kept) or 0.
void dropout_forward(const Tensor& x, double p, uint64_t seed, uint64_t first_block, const Tensor& y, const Tensor& mask);
void dropout_backward(const Tensor& dy, const Tensor& mask, double p, const Tensor& dx);
// local response normalisation across channels, as PyTorch's.
void lrn_forward(const Tensor& x, int64_t size, double alpha, double beta, double k, const Tensor& y);
void lrn_backward(const Tensor& dy, const Tensor& x, int64_t size, double alpha, double beta, double k, const Tensor& dx);
// batch norm: optional tensors are null; in training the running stats (if given) are updated
// in place (Note [in-place running stats]); save_mean/save_invstd [C] receive what was used.
void batch_norm_forward(const Tensor& x, const Tensor* running_mean, const Tensor* running_var, const Tensor* w,
                        const Tensor* b, bool training, double momentum, double eps, const Tensor& y,
                        const Tensor& save_mean, const Tensor& save_invstd);
void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor* w, const Tensor& save_mean,
                         const Tensor& save_invstd, bool training, const Tensor& dx, const Tensor& dw, const Tensor& db);
// ---- losses: cross_entropy.cc, nll_loss.cc, hinge_loss.cc, multi_margin_loss.cc,
// contrastive_loss.cc, triplet_margin_loss.cc, kl_div.cc (shared parts in loss_common.h) --------
// `loss` is a float32 scalar, or one value per sample for None (per element for kl_div). Labels
// are int32 and checked when the kernel runs (E_INDEX). An optional tensor (weight) is absent
// when its storage is null. Backward takes dloss of the loss's shape and writes the gradients.
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
void triplet_margin_loss_forward(const Tensor& a, const Tensor& pos, const Tensor& neg, const TripletOptions& options,
                                 Reduction reduction, const Tensor& loss);
void triplet_margin_loss_backward(const Tensor& dloss, const Tensor& a, const Tensor& pos, const Tensor& neg,
                                  const TripletOptions& options, Reduction reduction, const Tensor& da,
                                  const Tensor& dpos, const Tensor& dneg);
// x (log-probabilities) and target of the same shape; dtarget absent when not wanted.
void kl_div_forward(const Tensor& x, const Tensor& target, bool log_target, Reduction reduction, const Tensor& loss);
void kl_div_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, bool log_target, Reduction reduction,
                     const Tensor& dx, const Tensor& dtarget);
// ---- optimizer steps, fused and in place: sgd.cc, adam.cc ---------------------------------------
// Updates param (and momentum_buffer, when given) in place.
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor* momentum_buffer, const SgdOptions& options);
// Updates param, exp_avg, exp_avg_sq (and max_exp_avg_sq for amsgrad, when given) in place.
void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor* max_exp_avg_sq, const AdamOptions& options);

}  // namespace cuda
}  // namespace convnet
