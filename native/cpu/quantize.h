// Note [dynamic quantization]: 8-bit inference of the linear and convolution layers, as PyTorch's
// torch.ao.quantization.quantize_dynamic with fbgemm on x86 (lib/nn/quantized.ts is the API).
//
// Weights, once, when a layer is quantized: symmetric, one scale per output channel (PyTorch's
// per_channel_symmetric qint8, per_channel_dynamic_qconfig's),
//   scale_o = max_k |w[o][k]| / 127.5,  q[o][k] = clamp(nearbyint(w[o][k] / scale_o), -128, 127)
// packed into qgemm.h's panels, with sum_o = sum_k q[o][k].
// Activations, at every call: affine, one scale and zero point for the whole input, from its range
// (0 always inside it, so that zero padding is exact):
//   lo = min(min x, 0), hi = max(max x, 0), scale = (hi - lo) / 127, zero = nearbyint(-lo / scale),
//   q(x) = clamp(nearbyint(x * (1 / scale)) + zero, 0, 127)
// 7 bits, not 8: fbgemm's reduce_range, so that AVX2's vpmaddubsw never saturates (qgemm.h).
// Then y[o] = scale_x * scale_o * (sum_k q(x)[k] q[o][k] - zero * sum_o) + b[o]: the products are
// exact int32 sums, the only rounding is the quantization's and the final float's.
// An input holding NaN or an infinity has no range: every output of that call is NaN.
#pragma once
#include <cstdint>

#include "core/storage.h"

namespace convnet {
namespace cpu {

constexpr int32_t kActivationMax = 127;
constexpr int32_t kWeightMin = -128, kWeightMax = 127;
constexpr float kWeightHalfRange = 127.5f;  // (max - min) / 2

struct ActivationQuant {
  float scale = 1.0f;
  float inv_scale = 1.0f;
  int32_t zero = 0;
  bool finite = true;  // false: x held NaN or an infinity
};

// The parameters for x[0, n) (one pass, split between threads).
ActivationQuant choose_activation_quant(const float* x, int64_t n);

// q(x) of `rows` rows of `cols` values (x_stride floats apart) into rows of out_stride bytes;
// bytes [cols, out_stride) of each row become 0.
void quantize_activation_rows(const float* x, int64_t rows, int64_t cols, int64_t x_stride, const ActivationQuant& q,
                              uint8_t* out, int64_t out_stride);

// q(x) of `planes` planes of H x W values into planes of Hp x Wp bytes, from row `top` and
// column `left` on, the rest the zero point (which stands for 0.0): a convolution's zero padding,
// done once, so that its im2col reads no tap outside a plane.
void quantize_activation_planes(const float* x, int64_t planes, int64_t H, int64_t W, const ActivationQuant& q,
                                int64_t Hp, int64_t Wp, int64_t top, int64_t left, uint8_t* out);

// The same values, less the zero point, as floats (-127 .. 127): Note [exact float sums], qgemm.h.
void quantize_activations_centered(const float* x, int64_t n, const ActivationQuant& q, float* out);

// The packed weights (quantize_weights' layout) of O outputs of K inputs in `groups` groups back as
// floats, out [O, K].
void unpack_weights(const uint32_t* packed, int64_t O, int64_t K, int64_t groups, float* out);

// The dequantization of one sum, shared by the 8-bit product's epilogue and the float sums':
// scale = a_scale * w_scale[o]; sum the exact integer (less zero * w_sum[o]). The same expression
// in both, compiled for the baseline (no FMA to contract it into), gives the same bits.
inline float dequantize(float scale, float sum, float bias, float lo, float hi) {
  float v = scale * sum + bias;
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

// dequantize() of n sums of one output channel, each less `offset` (a_zero * w_sum), into out:
// the 8-bit product's epilogue where a row of sums is one channel's (a convolution's row of
// pixels), compiled for each SIMD width with no FMA contraction, so the same bits as dequantize().
void dequantize_row(const int32_t* sums, int64_t n, int32_t offset, float scale, float bias, float lo, float hi, float* out);

}  // namespace cpu
}  // namespace convnet
