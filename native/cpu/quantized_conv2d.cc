// The dynamically quantized 2-D convolution (Note [dynamic quantization], quantize.h): x is
// quantized once (one scale and zero point for the whole batch) into planes bordered by the
// padding (the zero point, which stands for 0.0), then for each image, group and block of output
// pixels the block's 8-bit im2col (K = C/groups * kh * kw bytes a pixel), as qgemm.h's panels of
// 16 pixels, meets the group's weights, broadcast 16 output channels at a time from their packed
// panels, in one 8-bit product whose epilogue writes the outputs' rows of pixels, [O, pixels].
// Pixels in the vector lanes keep every lane busy whatever the channel count (LeNet's 6), and
// give the output's planes whole.
// Items (image, group, block) are shared between threads. Without VNNI, a layer of at most 1032
// inputs per output sums the same integers as floats through the float convolution's GEMM
// paths instead (Note [exact float sums], qgemm.h): the same bits, at float speed.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/qgemm.h"
#include "cpu/quantize.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kLanes = kQPanelWidth;
// Bytes of im2col panels a block holds: in L2 while each weight panel passes over them.
constexpr int64_t kBlockBytes = int64_t{1} << 17;
// A row of the im2col plane (one tap k of 16 pixels): 16 lanes, then room for what a run's
// 16-byte move writes past them.
constexpr int64_t kRow = 2 * kLanes;
// Bytes past the quantized input's end that such a move may read.
constexpr size_t kSlack = kLanes;
// The largest quantized input kept between calls.
constexpr int64_t kKeepBytes = int64_t{16} << 20;

// Memory kept per thread and per use between calls, grown to the largest request and not zeroed:
// a fresh buffer per call cost a page fault per 4 KiB (LeNet's first layer at batch 1000: 15% of
// its time in the kernel's clear_page). Slot 0 is the quantized input (up to kKeepBytes: a larger
// one gets a buffer of its own per call, whose page faults weigh little beside its convolution);
// 1 and 2 are a pixel block's.
uint8_t* scratch_bytes(int slot, int64_t n) {
  thread_local std::unique_ptr<uint8_t[]> buffers[3];
  thread_local int64_t sizes[3] = {0, 0, 0};
  if (sizes[slot] < n) {
    buffers[slot].reset();  // free first, so that old and new do not coexist
    buffers[slot].reset(new uint8_t[static_cast<size_t>(n)]);
    sizes[slot] = n;
  }
  return buffers[slot].get();
}

// Four rows of 16 bytes, kRow apart (k = 4 k4 .. 4 k4 + 3 of 16 pixels), as the 16 words of one
// k4 of a panel:
// word t = row0[t] | row1[t] << 8 | row2[t] << 16 | row3[t] << 24.
void interleave4(const uint8_t* rows, uint32_t* words) {
#if defined(__SSE2__)
  const __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows));
  const __m128i r1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows + kRow));
  const __m128i r2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows + 2 * kRow));
  const __m128i r3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows + 3 * kRow));
  const __m128i lo01 = _mm_unpacklo_epi8(r0, r1), hi01 = _mm_unpackhi_epi8(r0, r1);
  const __m128i lo23 = _mm_unpacklo_epi8(r2, r3), hi23 = _mm_unpackhi_epi8(r2, r3);
  __m128i* out = reinterpret_cast<__m128i*>(words);
  _mm_storeu_si128(out, _mm_unpacklo_epi16(lo01, lo23));
  _mm_storeu_si128(out + 1, _mm_unpackhi_epi16(lo01, lo23));
  _mm_storeu_si128(out + 2, _mm_unpacklo_epi16(hi01, hi23));
  _mm_storeu_si128(out + 3, _mm_unpackhi_epi16(hi01, hi23));
#else
  for (int t = 0; t < 16; ++t)
    words[t] = rows[t] | uint32_t{rows[kRow + t]} << 8 | uint32_t{rows[2 * kRow + t]} << 16 | uint32_t{rows[3 * kRow + t]} << 24;
#endif
}

struct Im2colPanels {
  const uint8_t* image;  // the group's first channel of one quantized image, padded: [Cg, Hp, Wp]
  int64_t Cg, Hp, Wp, Wo, kh, kw, K4;
  Conv2dGeometry g;  // its padding already in the image

  // The panels of pixels [p0, p0 + count) into out (ceil(count / 16) panels of K4 * 16 words);
  // lanes past count hold 0 or other bytes of the image. plane: scratch of K4 * 4 rows of kRow bytes.
  void panels(int64_t p0, int64_t count, uint32_t* out, uint8_t* plane) const {
    const int64_t K = Cg * kh * kw;
    for (int64_t q0 = 0; q0 < count; q0 += kLanes) {
      const int64_t n = std::min(kLanes, count - q0);
      // The panel's pixels as runs along one output row: with stride 1, a run's bytes for a tap are
      // consecutive input bytes, one 16-byte move (a run is at most 16 pixels; what the move writes
      // past the run is the row's next runs' or its slack, and it reads at most kSlack bytes past
      // the input).
      struct Run {
        int64_t lane, len, oh, ow;
      };
      Run runs[kLanes];
      int nruns = 0;
      for (int64_t t = 0; t < n;) {
        const int64_t oh = (p0 + q0 + t) / Wo, ow = (p0 + q0 + t) % Wo, len = std::min(n - t, Wo - ow);
        runs[nruns++] = Run{t, len, oh, ow};
        t += len;
      }
      if (n < kLanes)
        for (int64_t k = 0; k < K; ++k) std::memset(plane + k * kRow, 0, kLanes);
      for (int64_t c = 0; c < Cg; ++c)
        for (int64_t i = 0; i < kh; ++i) {
          uint8_t* rows = plane + (c * kh + i) * kw * kRow;  // the kw rows of taps (c, i, j)
          for (int r = 0; r < nruns; ++r) {
            const Run& run = runs[r];
            const uint8_t* line = image + (c * Hp + run.oh * g.stride_h + i * g.dilation_h) * Wp + run.ow * g.stride_w;
            for (int64_t j = 0; j < kw; ++j) {
              uint8_t* dst = rows + j * kRow + run.lane;
              const uint8_t* src = line + j * g.dilation_w;
              if (g.stride_w == 1) {
                std::memcpy(dst, src, kLanes);
              } else {
                for (int64_t u = 0; u < run.len; ++u) dst[u] = src[u * g.stride_w];
              }
            }
          }
        }
      for (int64_t k = K; k < K4 * 4; ++k) std::memset(plane + k * kRow, 0, kLanes);  // k past K: 0
      uint32_t* panel = out + (q0 / kLanes) * K4 * kLanes;
      for (int64_t k4 = 0; k4 < K4; ++k4) interleave4(plane + k4 * 4 * kRow, panel + k4 * kLanes);
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
  // The input quantized once, in planes with the padding's border (bottom and right: as far as
  // the last output's taps reach).
  const int64_t Hp = std::max(H + g.pad_top, (Ho - 1) * g.stride_h + (kh - 1) * g.dilation_h + 1);
  const int64_t Wp = std::max(W + g.pad_left, (Wo - 1) * g.stride_w + (kw - 1) * g.dilation_w + 1);
  const int64_t xq_bytes = N * C * Hp * Wp + kSlack;
  std::unique_ptr<uint8_t[]> own;
  uint8_t* xq = xq_bytes <= kKeepBytes ? scratch_bytes(0, xq_bytes) : (own.reset(new uint8_t[static_cast<size_t>(xq_bytes)]), own.get());
  quantize_activation_planes(x.f32(), N * C, H, W, q, Hp, Wp, g.pad_top, g.pad_left, xq);

  const QEpilogue all{q.scale, q.zero, w_scale.f32(), w_sum.i32(), b ? b->f32() : nullptr, lo, hi, py, pixels, 1};
  const uint32_t* pw = reinterpret_cast<const uint32_t*>(packed.i32());
  const int64_t group_words = qgemm_packed_b_words(Og, K4);
  const int64_t cols = qgemm_tile_cols();
  const int64_t block = std::min(pixels, std::max(cols, kBlockBytes / (K4 * 4) / cols * cols));
  const int64_t blocks = (pixels + block - 1) / block;
  parallel_for(N * groups * blocks, 1, [&](int64_t t0, int64_t t1) {
    uint32_t* panels = reinterpret_cast<uint32_t*>(scratch_bytes(1, (block + kLanes - 1) / kLanes * K4 * kLanes * 4));
    uint8_t* plane = scratch_bytes(2, K4 * 4 * kRow);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / (groups * blocks), gi = (t / blocks) % groups, p0 = (t % blocks) * block;
      const int64_t count = std::min(block, pixels - p0);
      const Im2colPanels im2col{xq + (n * C + gi * Cg) * Hp * Wp, Cg, Hp, Wp, Wo, kh, kw, K4, g};
      im2col.panels(p0, count, panels, plane);
      // The group's weights, one packed panel (16 output channels) at a time: rows 1 word apart,
      // k4 16 words apart.
      for (int64_t o0 = 0; o0 < Og; o0 += kLanes) {
        const int64_t oc = gi * Og + o0;
        QEpilogue e = all;
        e.w_scale += oc, e.w_sum += oc, e.bias = e.bias ? e.bias + oc : nullptr;
        e.out += (n * O + oc) * pixels + p0;
        const QRows weights{pw + gi * group_words + o0 * K4, 1, kLanes, true};
        qgemm(std::min(kLanes, Og - o0), count, K4, weights, panels, e);
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
