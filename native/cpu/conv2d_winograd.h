// Winograd F(2x2, 3x3) and F(2x2, 5x5) convolutions (conv2d.cc picks them for 3x3 and 5x5
// kernels at stride 1: forward, backward-data and backward-filter). Internal to the CPU backend.
#pragma once
#include <cstdint>

#include "cpu/prepared_weights.h"

namespace convnet {
namespace cpu {

// One convolution with an R x R kernel (R = 3 or 5), stride 1 and dilation `dil`, of x [N, C, H, W]
// into y [N, K, Ho, Wo], in `groups` groups (Ho <= H + 2 * pad_top - dil * (R - 1), likewise Wo).
struct WinogradConv {
  int64_t R;
  int64_t N, C, H, W;
  int64_t K, Ho, Wo;
  int64_t groups;
  int64_t pad_top, pad_left;
  int64_t dil = 1;  // the dilation, 1, 2, 4 or 8 along both axes (see Tiling in the .cc)
  // The weight of output channel k and input channel c of group gi at tap (i, j) is
  // w[gi * w_group + k * w_out + c * w_in + i * w_row + j * w_col]: the forward's w with its
  // natural strides, or backward-data's flipped transpose of it (negative tap strides).
  const float* w;
  int64_t w_group, w_out, w_in, w_row, w_col;
  const float* bias;  // [K], or null
  // The memory w is (the forward's own weights), so that U may be kept (Note [prepared
  // weights]); null for weights made for the call.
  const prepared::Source* weights = nullptr;
};

// y = conv(x, w) + bias. Every output is the same arithmetic whatever the thread count.
void winograd_conv2d(const float* x, const WinogradConv& p, float* y);

// dw [K, C / groups, R, R] = the gradient of the weights from x and dy [N, K, Ho, Wo] (p's w
// and bias unused); likewise independent of the thread count.
void winograd_conv2d_backward_filter(const float* x, const float* dy, const WinogradConv& p, float* dw);

}  // namespace cpu
}  // namespace convnet
