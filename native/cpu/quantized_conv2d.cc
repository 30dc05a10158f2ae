// The dynamically quantized 2-D convolution (Note [dynamic quantization], quantize.h): x is
// quantized once (one scale and zero point for the whole batch), then for each image, group and
// block of output pixels the block's 8-bit im2col rows (one row of K = C/groups * kh * kw bytes a
// pixel, the padding being the zero point, which stands for 0.0) meet the group's packed weights
// in one 8-bit product (qgemm.h), whose epilogue writes the block's outputs, [O, pixels], in place.
// Items (image, group, block) are shared between threads. Without VNNI, a layer of at most 1032
// inputs per output sums the same integers as floats through the float convolution's GEMM
// paths instead (Note [exact float sums], qgemm.h): the same bits, at float speed.
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/qgemm.h"
#include "cpu/quantize.h"

namespace convnet {
namespace cpu {
namespace {

// Bytes of im2col rows a block holds: in L2 beside the weight panel the product streams them past.
constexpr int64_t kBlockBytes = int64_t{1} << 17;
// Bytes past a block's last row that Im2col::rows may write (and nothing reads).
constexpr int64_t kTail = 8;

struct Im2col {
  const uint8_t* image;  // the group's first channel of one quantized image, [Cg, H, W]
  int64_t Cg, H, W, Wo, kh, kw;
  Conv2dGeometry g;
  uint8_t zero;

  // Rows of pixels [p0, p0 + count) into rows of `stride` bytes (the bytes past K: 0).
  void rows(int64_t p0, int64_t count, uint8_t* out, int64_t stride) const {
    const int64_t K = Cg * kh * kw;
    for (int64_t r = 0; r < count; ++r) {
      const int64_t oh = (p0 + r) / Wo, ow = (p0 + r) % Wo;
      uint8_t* row = out + r * stride;
      for (int64_t c = 0; c < Cg; ++c)
        for (int64_t i = 0; i < kh; ++i) {
          const int64_t ih = oh * g.stride_h - g.pad_top + i * g.dilation_h;
          const uint8_t* line = image + (c * H + ih) * W;
          uint8_t* dst = row + (c * kh + i) * kw;
          if (ih < 0 || ih >= H) {
            std::fill(dst, dst + kw, zero);
            continue;
          }
          const int64_t iw0 = ow * g.stride_w - g.pad_left;
          if (g.dilation_w == 1 && kw <= 8 && iw0 >= 0 && iw0 + 8 <= W) {
            // 8 bytes from inside the input line, one move each way: the kw that belong here,
            // then what the next taps, or the row's padding, overwrite (kTail bytes of slack).
            uint64_t taps;
            std::memcpy(&taps, line + iw0, 8);
            std::memcpy(dst, &taps, 8);
            continue;
          }
          if (g.dilation_w == 1 && iw0 >= 0 && iw0 + kw <= W) {  // the row's taps all inside: one copy
            std::memcpy(dst, line + iw0, static_cast<size_t>(kw));
            continue;
          }
          for (int64_t j = 0; j < kw; ++j) {
            const int64_t iw = iw0 + j * g.dilation_w;
            dst[j] = iw >= 0 && iw < W ? line[iw] : zero;
          }
        }
      std::fill(row + K, row + stride, uint8_t{0});
    }
  }
};

// y = conv(q(x) - zero, q(w)) as exact float sums (conv2d_forward_exact_sums), then dequantized
// in place, plane by plane.
void float_sums_forward(const Tensor& x, const ActivationQuant& q, const Tensor& packed, const Tensor& w_scale,
                        const Tensor* b, const Conv2dGeometry& g, int64_t kh, int64_t kw, float lo, float hi,
                        const Tensor& y) {
  const int64_t C = x.shape[1], O = y.shape[1], pixels = y.shape[2] * y.shape[3], Cg = C / g.groups;
  Tensor xf = Tensor::empty(x.shape, DType::Float32);
  Tensor wf = Tensor::empty({O, Cg, kh, kw}, DType::Float32);
  quantize_activations_centered(x.f32(), x.numel(), q, xf.f32());
  unpack_weights(reinterpret_cast<const uint32_t*>(packed.i32()), O, Cg * kh * kw, g.groups, wf.f32());
  conv2d_forward_exact_sums(xf, wf, g, y);
  float* py = y.f32();
  const float* scale = w_scale.f32();
  const float* bias = b ? b->f32() : nullptr;
  parallel_for(y.shape[0] * O, std::max<int64_t>(1, 16384 / pixels), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t o = p % O;
      const float s = q.scale * scale[o], c = bias ? bias[o] : 0.0f;
      float* plane = py + p * pixels;
      for (int64_t i = 0; i < pixels; ++i) plane[i] = dequantize(s, plane[i], c, lo, hi);
    }
  });
}

}  // namespace

void quantized_conv2d_forward(const Tensor& x, const Tensor& packed, const Tensor& w_scale, const Tensor& w_sum,
                              const Tensor* b, const Conv2dGeometry& g, int64_t kh, int64_t kw, float lo, float hi,
                              const Tensor& y) {
  if (y.numel() == 0) return;
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t O = y.shape[1], Ho = y.shape[2], Wo = y.shape[3], pixels = Ho * Wo;
  const int64_t groups = g.groups, Cg = C / groups, Og = O / groups, K4 = (Cg * kh * kw + 3) / 4;
  float* py = y.f32();
  const ActivationQuant q = choose_activation_quant(x.f32(), x.numel());
  if (!q.finite) return std::fill(py, py + y.numel(), std::numeric_limits<float>::quiet_NaN());
  if (qgemm_prefers_float(Cg * kh * kw)) return float_sums_forward(x, q, packed, w_scale, b, g, kh, kw, lo, hi, y);
  std::vector<uint8_t> xq(static_cast<size_t>(x.numel()));
  quantize_activation_rows(x.f32(), N * C, H * W, H * W, q, xq.data(), H * W);

  const QEpilogue all{q.scale, q.zero, w_scale.f32(), w_sum.i32(), b ? b->f32() : nullptr, lo, hi, py, 1, pixels};
  const uint32_t* pw = reinterpret_cast<const uint32_t*>(packed.i32());
  const int64_t group_words = qgemm_packed_b_words(Og, K4);
  const int64_t tile = qgemm_tile_rows();
  const int64_t block = std::min(pixels, std::max(tile, kBlockBytes / (K4 * 4) / tile * tile));
  const int64_t blocks = (pixels + block - 1) / block;
  parallel_for(N * groups * blocks, 1, [&](int64_t t0, int64_t t1) {
    std::vector<uint32_t> rows(static_cast<size_t>(block * K4 + kTail / 4));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / (groups * blocks), gi = (t / blocks) % groups, p0 = (t % blocks) * block;
      const int64_t count = std::min(block, pixels - p0);
      const Im2col im2col{xq.data() + (n * C + gi * Cg) * H * W, Cg, H, W, Wo, kh, kw, g, static_cast<uint8_t>(q.zero)};
      im2col.rows(p0, count, reinterpret_cast<uint8_t*>(rows.data()), K4 * 4);
      QEpilogue e = all;
      e.b_scale += gi * Og, e.b_sum += gi * Og, e.bias = e.bias ? e.bias + gi * Og : nullptr;
      e.out += (n * O + gi * Og) * pixels + p0;
      qgemm(count, Og, K4, rows.data(), K4, pw + gi * group_words, e);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
