// The CPU kernels of the neural-network layers (the survey's toolbox), forward and backward.
// Same conventions as cpu_ops.h: preallocated outputs of the right shape, run on the queue's
// worker, results independent of the thread count. Names: x input, y output, dy/dx gradients,
// w weights, b bias. Each section is one file in native/cpu/.
#pragma once
#include <cstdint>
#include <limits>
#include <vector>

#include "core/storage.h"
#include "cpu/prepared_weights.h"
#include "ops/types.h"

namespace convnet {
namespace cpu {

#include "ops/nn_ops.inc"  // the declarations, with what each computes

// CPU only (the GPU composes them from tensor ops, lib/nn/functional/activation.ts): GELU, exact
// or its tanh form (gelu.cc), and hard sigmoid and hard swish (hardswish.cc), PyTorch's formulas;
// the backward from x.
void gelu_forward(const Tensor& x, bool tanh_form, const Tensor& y);
void gelu_backward(const Tensor& dy, const Tensor& x, bool tanh_form, const Tensor& dx);
void hardsigmoid_forward(const Tensor& x, const Tensor& y);
void hardsigmoid_backward(const Tensor& dy, const Tensor& x, const Tensor& dx);
void hardswish_forward(const Tensor& x, const Tensor& y);
void hardswish_backward(const Tensor& dy, const Tensor& x, const Tensor& dx);

// CPU only as well: the rest of torch.nn's pointwise activations, one pass each way, PyTorch's
// formulas, the backward from x (log-sigmoid's: from y; the formulas: each file's header). SiLU (silu.cc), Mish
// (mish.cc), softplus and log-sigmoid (softplus.cc), softsign (softsign.cc), tanhshrink
// (tanh.cc), the shrinks, threshold and hardtanh's backward (piecewise_linear.cc), and ELU with
// PyTorch's scale and input_scale for SELU and CELU (elu.cc).
void silu_forward(const Tensor& x, const Tensor& y);
void silu_backward(const Tensor& dy, const Tensor& x, const Tensor& dx);
void mish_forward(const Tensor& x, const Tensor& y);
void mish_backward(const Tensor& dy, const Tensor& x, const Tensor& dx);
void softplus_forward(const Tensor& x, float beta, float threshold, const Tensor& y);
void softplus_backward(const Tensor& dy, const Tensor& x, float beta, float threshold, const Tensor& dx);
void log_sigmoid_forward(const Tensor& x, const Tensor& y);
void log_sigmoid_backward(const Tensor& dy, const Tensor& y, const Tensor& dx);  // from y
void softsign_forward(const Tensor& x, const Tensor& y);
void softsign_backward(const Tensor& dy, const Tensor& x, const Tensor& dx);
void tanhshrink_forward(const Tensor& x, const Tensor& y);
void tanhshrink_backward(const Tensor& dy, const Tensor& x, const Tensor& dx);
void softshrink_forward(const Tensor& x, float lambd, const Tensor& y);
void hardshrink_forward(const Tensor& x, float lambd, const Tensor& y);
void shrink_backward(const Tensor& dy, const Tensor& x, float lambd, const Tensor& dx);  // both shrinks'
void threshold_forward(const Tensor& x, float threshold, float value, const Tensor& y);
void threshold_backward(const Tensor& dy, const Tensor& x, float threshold, const Tensor& dx);
void hardtanh_backward(const Tensor& dy, const Tensor& x, float lo, float hi, const Tensor& dx);
struct ScaledElu {
  float alpha, scale, input_scale;
};
void scaled_elu_forward(const Tensor& x, ScaledElu e, const Tensor& y);
void scaled_elu_backward(const Tensor& dy, const Tensor& x, ScaledElu e, const Tensor& dx);

// CPU only (the GPU composes them, lib/nn/functional/loss.ts): the losses of one value per
// element pair of same-shape x and target (pointwise_loss.cc; beta: smooth L1's beta, Huber's
// delta, > 0); the backward from dloss (one value or one per element) times `scale`, into dx
// and/or dtarget (an empty Tensor: not asked for).
// pos_weight: BceWithLogits's optional weight per class of the last axis (an empty Tensor: none;
// always empty for the other kinds).
enum class PointwiseLoss { Mse = 0, L1 = 1, SmoothL1 = 2, Huber = 3, BceWithLogits = 4, SoftMargin = 5 };
void pointwise_loss_forward(PointwiseLoss kind, const Tensor& x, const Tensor& target, float beta, const Tensor& pos_weight,
                            const Tensor& loss);
void pointwise_loss_backward(PointwiseLoss kind, const Tensor& dloss, const Tensor& x, const Tensor& target, float beta,
                             const Tensor& pos_weight, float scale, const Tensor& dx, const Tensor& dtarget);

// torch.nn.functional.grid_sample on 4-D input (grid_sample.cc; CPU only: the GPU composes it
// from tensor ops): x [N, C, H, W], grid [N, Ho, Wo, 2] of (x, y) in -1 .. 1, y [N, C, Ho, Wo];
// backward writes dx (x's shape) and dgrid (grid's), either may be empty (not asked for).
enum class GridSampleMode { Bilinear = 0, Nearest = 1 };
enum class GridSamplePadding { Zeros = 0, Border = 1, Reflection = 2 };
struct GridSampleArgs {
  GridSampleMode mode;
  GridSamplePadding padding;
  bool align_corners;
};
void grid_sample_forward(const Tensor& x, const Tensor& grid, const GridSampleArgs& a, const Tensor& y);
void grid_sample_backward(const Tensor& dy, const Tensor& x, const Tensor& grid, const GridSampleArgs& a, const Tensor& dx,
                          const Tensor& dgrid);

// F.interpolate's bilinear resizing (upsample_bilinear.cc; CPU only: the GPU composes it): x [P,
// H, W] planes -> y [P, Ho, Wo], scale_h and scale_w PyTorch's (the input size over the output's,
// or 1 / scaleFactor; (n - 1) / (m - 1) with align_corners), and its backward dy -> dx.
struct UpsampleGeometry {
  int64_t planes, H, W, Ho, Wo;
  double scale_h, scale_w;
  bool align_corners;
};
void upsample_bilinear_forward(const Tensor& x, const UpsampleGeometry& g, const Tensor& y);
void upsample_bilinear_backward(const Tensor& dy, const UpsampleGeometry& g, const Tensor& dx);
// The same for 'nearest' (upsample_nearest.cc; align_corners unused).
void upsample_nearest_forward(const Tensor& x, const UpsampleGeometry& g, const Tensor& y);
void upsample_nearest_backward(const Tensor& dy, const UpsampleGeometry& g, const Tensor& dx);

// Resampling along one axis by taps (resample_axis.cc; CPU only: the GPU composes it): x [outer,
// n, inner] -> y [outer, m, inner], y[o, j, :] = sum over k < taps of weight[j * taps + k] times
// x[o, index[j * taps + k], :] (index in [0, n)); the backward its transpose, dy -> dx.
struct ResampleAxisGeometry {
  int64_t outer, n, m, inner, taps;
};
void resample_axis_forward(const Tensor& x, const ResampleAxisGeometry& g, const int32_t* index, const float* weight, const Tensor& y);
void resample_axis_backward(const Tensor& dy, const ResampleAxisGeometry& g, const int32_t* index, const float* weight,
                            const Tensor& dx);

// F.unfold and F.fold (unfold.cc; CPU only: the GPU composes them from indexSelect and
// indexAdd): `planes` planes of H x W, taps kh x kw at g's stride, padding (pad_top, pad_left on
// both sides) and dilation, bh x bw blocks. unfold: x [planes, H, W] -> cols [planes, kh * kw,
// bh * bw], tap (i, j) of block (oh, ow) the pixel it reads (0 in the padding); fold, its adjoint:
// cols -> y [planes, H, W], each pixel the sum of the taps that read it.
struct UnfoldGeometry {
  int64_t planes, H, W, kh, kw, bh, bw;
  Conv2dGeometry g;
};
void unfold(const Tensor& x, const UnfoldGeometry& u, const Tensor& cols);
void fold(const Tensor& cols, const UnfoldGeometry& u, const Tensor& y);

// F.softmin along a non-negative axis: softmax of -x (softmax.cc; CPU only: the GPU composes
// it); the backward from y.
void softmin_forward(const Tensor& x, int64_t axis, const Tensor& y);
void softmin_backward(const Tensor& dy, const Tensor& y, int64_t axis, const Tensor& dx);

// F.glu (glu.cc; CPU only: the GPU composes it): x viewed as [outer, 2, H], y [outer, H] =
// x[:, 0] sigmoid(x[:, 1]); the backward writes dx (x's shape) from dy (y's) and x.
void glu_forward(const Tensor& x, int64_t outer, int64_t H, const Tensor& y);
void glu_backward(const Tensor& dy, const Tensor& x, int64_t outer, int64_t H, const Tensor& dx);

// F.cosine_embedding_loss (cosine_embedding_loss.cc; CPU only: the GPU composes it): a, b
// [N, D] float32, y [N] float32 or int32 (1: similar, -1: dissimilar, other values add 0); the
// backward writes da and/or db (an empty Tensor: not asked for).
void cosine_embedding_loss_forward(const Tensor& a, const Tensor& b, const Tensor& y, double margin, Reduction reduction,
                                   const Tensor& loss);
void cosine_embedding_loss_backward(const Tensor& dloss, const Tensor& a, const Tensor& b, const Tensor& y, double margin,
                                    Reduction reduction, const Tensor& da, const Tensor& db);

// F.multilabel_margin_loss (multilabel_margin_loss.cc; CPU only: the GPU composes it): x [N, C]
// float32, target [N, C] int32 (each row's target classes up to its first -1; every entry in
// [-1, C), E_INDEX when the kernel runs); loss one value per sample (None) or the reduction.
void multilabel_margin_loss_forward(const Tensor& x, const Tensor& target, Reduction reduction, const Tensor& loss);
void multilabel_margin_loss_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, Reduction reduction,
                                     const Tensor& dx);

// F.ctc_loss (ctc_loss.cc; CPU only: lib/ moves a GPU tensor through the CPU): log_probs [T, N, C]
// float32, targets int32 [N, S] (padded) or [sum of lengths] (concatenated), input_lengths and
// target_lengths int32 [N] (read and checked when the kernel runs); nll [N], one value per
// sample, and with `dlp` (else null) d nll_n / d log_probs [T, N, C], sample n's in its column
// (the backward scales it by each sample's gradient).
void ctc_loss_forward(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths, const Tensor& target_lengths,
                      int64_t blank, bool zero_infinity, const Tensor& nll, const Tensor* dlp);

// The recurrent cells (rnn_cell.cc; CPU only: the GPU composes them), rows of [N, G·H] in
// PyTorch's gate order, xw = x W_ih^T + b_ih and hw = h W_hh^T + b_hh. One step: LSTM xw, hw
// [N, 4H], c [N, H] -> h2, c2 [N, H] and saved [N, 5H]; its backward takes dh and/or dc (null:
// zero) -> dxw, dhw (equal) [N, 4H], dc_prev. GRU xw, hw [N, 3H], h [N, H] -> h2, saved [N, 4H];
// its backward dy -> dxw, dhw [N, 3H], dh [N, H] (the direct path only).
void lstm_cell_forward(const Tensor& xw, const Tensor& hw, const Tensor& c, const Tensor& h2, const Tensor& c2, const Tensor& saved);
void lstm_cell_backward(const Tensor& saved, const Tensor& c, const Tensor* dh, const Tensor* dc, const Tensor& dxw,
                        const Tensor& dhw, const Tensor& dc_prev);
void gru_cell_forward(const Tensor& xw, const Tensor& hw, const Tensor& h, const Tensor& h2, const Tensor& saved);
void gru_cell_backward(const Tensor& saved, const Tensor& h, const Tensor& dy, const Tensor& dxw, const Tensor& dhw,
                       const Tensor& dh);
// A whole layer and direction: xw [T, N, G·H], h0 (and c0) [N, H], w_hh [G·H, H], b_hh [G·H] or
// null -> out [T, N, 2H] (LSTM: each time's h then c) or [T, N, H], and with `saved` (training)
// each time's gates ([T, N, 5H] LSTM, [T, N, 4H] GRU, null for the RNN). The backward, from
// dout (out's shape), gives dxw, dh0, dc0 (LSTM), dw_hh and db_hh (when there is a bias).
// `lengths` (or null: every sample T steps): sample n's steps, in [0, T]; past them its output
// is 0 and its state carried (packed sequences).
enum class RnnCell { RnnTanh = 0, RnnRelu = 1, Lstm = 2, Gru = 3 };
void rnn_layer_forward(RnnCell mode, bool reverse, const Tensor& xw, const Tensor& h0, const Tensor* c0, const Tensor& w_hh,
                       const Tensor* b_hh, const int32_t* lengths, const Tensor& out, const Tensor* saved);
void rnn_layer_backward(RnnCell mode, bool reverse, const Tensor& dout, const Tensor& out, const Tensor* saved, const Tensor& h0,
                        const Tensor* c0, const Tensor& w_hh, const int32_t* lengths, const Tensor& dxw, const Tensor& dh0,
                        const Tensor* dc0, const Tensor& dw_hh, const Tensor* db_hh);

// conv2d_forward as a queued op runs it: `weights` are w's and b's memory and the versions of it
// the op reads (taken when it was enqueued), so that the layouts the kernels make of them may be
// kept between calls (Note [prepared weights], prepared_weights.h).
// clamp_lo and clamp_hi: a fused activation, y = min(max(conv(x, w) + b, clamp_lo), clamp_hi)
// (ReLU: 0 and inf; ReLU6: 0 and 6), applied where y is made or in one pass after it.
void conv2d_forward_queued(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& y,
                           const prepared::Source& weights, float clamp_lo = -std::numeric_limits<float>::infinity(),
                           float clamp_hi = std::numeric_limits<float>::infinity());
// conv2d_forward (no bias) by the methods that sum products of x's and w's own values, in some
// order (no Winograd transform): exact where x and w hold integers and every partial sum stays
// below 2^24 in size (the quantized convolution's float sums, quantized_conv2d.cc).
void conv2d_forward_exact_sums(const Tensor& x, const Tensor& w, const Conv2dGeometry& g, const Tensor& y);
// depthwise_conv2d_forward with such a clamp (in the register tiles, where they run).
void depthwise_conv2d_forward_clamped(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dGeometry& g,
                                      const Tensor& y, float clamp_lo, float clamp_hi);

// CPU only: F.embeddingBag's forward (embedding_bag.cc): y [B, D] from the bags [bounds[b],
// bounds[b + 1]) of `indices` [M] into weight [V, D], the `padding` index (-1: none) left out;
// 'max' also writes each maximum's position in `indices` to maxima_at [B, D] (-1 for an empty bag).
enum class EmbeddingBagMode { Sum = 0, Mean = 1, Max = 2 };
void embedding_bag_forward(const Tensor& weight, const Tensor& indices, const Tensor& bounds, const Tensor* per_sample,
                           EmbeddingBagMode mode, int64_t padding, const Tensor& y, const Tensor* maxima_at);
// Its backward for the weight: dw [V, D] from dy [B, D] (per-sample weights, 1 / the bag's count
// for 'mean', 1 / the index's frequency with scale_by_freq; 'max': to maxima_at's entries alone).
void embedding_bag_backward(const Tensor& dy, const Tensor& indices, const Tensor& bounds, const Tensor* per_sample,
                            const Tensor* maxima_at, EmbeddingBagMode mode, int64_t padding, bool scale_by_freq, const Tensor& dw);

// CPU only: 8-bit inference (Note [dynamic quantization], quantize.h; lib/nn/quantized.ts).
// quantize_weights: w [O, K] (a convolution's flattened, O in `groups` groups of O / groups rows)
// -> packed int32 [groups, ceil(O / groups / 16), ceil(K / 4), 16] (qgemm.h's panels, a group's
// after another's), scale [O], sum [O]. The layers: x [..., K] -> y [..., O], and x [N, C, H, W]
// -> y [N, O, Ho, Wo], both clamped to [lo, hi] after the bias (a fused ReLU).
void quantize_weights(const Tensor& w, int64_t groups, const Tensor& packed, const Tensor& scale, const Tensor& sum);
void quantized_linear_forward(const Tensor& x, const Tensor& packed, const Tensor& w_scale, const Tensor& w_sum,
                              const Tensor* b, float lo, float hi, const Tensor& y);
void quantized_conv2d_forward(const Tensor& x, const Tensor& packed, const Tensor& w_scale, const Tensor& w_sum,
                              const Tensor* b, const Conv2dGeometry& g, int64_t kh, int64_t kw, float lo, float hi,
                              const Tensor& y);

}  // namespace cpu
}  // namespace convnet
