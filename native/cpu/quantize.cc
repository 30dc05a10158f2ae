// Note [dynamic quantization] (quantize.h): the weights' quantization and packing, and the
// activations' parameters and quantization that the quantized layers run at every call.
#include "cpu/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/qgemm.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kRangeBlock = int64_t{1} << 16;  // elements per piece of the min/max pass

struct Range {
  float lo, hi;
  bool finite;
};

// Min and max of x[0, n) in 16 lanes (the compiler vectorises lane-wise selects, not a running
// min), and whether every value is finite: x - x is 0 for those, NaN for NaN and infinities.
CONVNET_SIMD_CLONES
Range range_of(const float* __restrict x, int64_t n) {
  float lo[16], hi[16], bad[16];
  for (int l = 0; l < 16; ++l) lo[l] = hi[l] = 0.0f, bad[l] = 0.0f;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) {
      const float v = x[i + l];
      lo[l] = v < lo[l] ? v : lo[l];
      hi[l] = v > hi[l] ? v : hi[l];
      bad[l] += v - v;
    }
  Range r{0.0f, 0.0f, true};
  for (; i < n; ++i) {
    const float v = x[i];
    r.lo = v < r.lo ? v : r.lo;
    r.hi = v > r.hi ? v : r.hi;
    if (!(v - v == 0.0f)) r.finite = false;
  }
  for (int l = 0; l < 16; ++l) {
    r.lo = lo[l] < r.lo ? lo[l] : r.lo;
    r.hi = hi[l] > r.hi ? hi[l] : r.hi;
    if (!(bad[l] == 0.0f)) r.finite = false;
  }
  return r;
}

// q(x) as a float (0 .. 127). Always inlined: GCC inlines nothing plain into a clone.
__attribute__((always_inline)) inline float quantized(float x, float inv_scale, float zero) {
  float q = std::nearbyint(x * inv_scale) + zero;
  q = q < 0.0f ? 0.0f : q;
  return q > static_cast<float>(kActivationMax) ? static_cast<float>(kActivationMax) : q;
}

CONVNET_SIMD_CLONES
void quantize_row(const float* __restrict x, int64_t n, float inv_scale, float zero, uint8_t* __restrict out) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(quantized(x[i], inv_scale, zero));
}

CONVNET_SIMD_CLONES
void quantize_row_centered(const float* __restrict x, int64_t n, float inv_scale, float zero, float* __restrict out) {
  for (int64_t i = 0; i < n; ++i) out[i] = quantized(x[i], inv_scale, zero) - zero;
}

// dequantize()'s expression written out: GCC inlines no plain function into a clone with its own
// optimize options (simd_clones.h).
__attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
void dequantize_row_clones(const int32_t* __restrict sums, int64_t n, int32_t offset, float scale, float bias, float lo,
                           float hi, float* __restrict out) {
  for (int64_t i = 0; i < n; ++i) {
    float v = scale * static_cast<float>(sums[i] - offset) + bias;
    v = v < lo ? lo : v;
    out[i] = v > hi ? hi : v;
  }
}

// Where output o's first word lies in packed weights of O outputs, K4 words deep, in `groups`
// groups (quantize_weights' layout): its word k4 is 16 words further on per k4.
template <class Word>  // uint32_t or const uint32_t
Word* packed_column(Word* packed, int64_t O, int64_t K4, int64_t groups, int64_t o) {
  const int64_t Og = O / groups, g = o / Og, n = o % Og;
  return packed + g * qgemm_packed_b_words(Og, K4) + (n / kQPanelWidth) * kQPanelWidth * K4 + n % kQPanelWidth;
}

}  // namespace

void quantize_activations_centered(const float* x, int64_t n, const ActivationQuant& q, float* out) {
  constexpr int64_t kPiece = int64_t{1} << 14;
  parallel_for((n + kPiece - 1) / kPiece, 4, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      quantize_row_centered(x + p * kPiece, std::min(kPiece, n - p * kPiece), q.inv_scale, static_cast<float>(q.zero), out + p * kPiece);
  });
}

void unpack_weights(const uint32_t* packed, int64_t O, int64_t K, int64_t groups, float* out) {
  for (int64_t o = 0; o < O; ++o) {
    const uint32_t* col = packed_column(packed, O, (K + 3) / 4, groups, o);
    for (int64_t k = 0; k < K; ++k)
      out[o * K + k] = static_cast<float>(static_cast<int8_t>((col[(k / 4) * kQPanelWidth] >> (8 * (k % 4))) & 0xff));
  }
}

ActivationQuant choose_activation_quant(const float* x, int64_t n) {
  const int64_t pieces = (n + kRangeBlock - 1) / kRangeBlock;
  std::vector<Range> ranges(static_cast<size_t>(std::max<int64_t>(pieces, 1)), Range{0.0f, 0.0f, true});
  parallel_for(pieces, 8, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      ranges[p] = range_of(x + p * kRangeBlock, std::min(kRangeBlock, n - p * kRangeBlock));
  });
  Range all{0.0f, 0.0f, true};
  for (const Range& r : ranges) all.lo = std::min(all.lo, r.lo), all.hi = std::max(all.hi, r.hi), all.finite &= r.finite;
  ActivationQuant q;
  q.finite = all.finite;
  if (!all.finite) return q;
  const float scale = (all.hi - all.lo) / static_cast<float>(kActivationMax);
  // An all-zero input has no range (any scale will do), and one of denormals too little of one.
  if (scale > 0.0f && std::isfinite(1.0f / scale)) q.scale = scale, q.inv_scale = 1.0f / scale;
  q.zero = static_cast<int32_t>(std::min<float>(std::max<float>(std::nearbyint(-all.lo / q.scale), 0.0f), kActivationMax));
  return q;
}

void quantize_activation_rows(const float* x, int64_t rows, int64_t cols, int64_t x_stride, const ActivationQuant& q,
                              uint8_t* out, int64_t out_stride) {
  parallel_for(rows, std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      uint8_t* row = out + r * out_stride;
      quantize_row(x + r * x_stride, cols, q.inv_scale, static_cast<float>(q.zero), row);
      std::fill(row + cols, row + out_stride, uint8_t{0});
    }
  });
}

void dequantize_row(const int32_t* sums, int64_t n, int32_t offset, float scale, float bias, float lo, float hi, float* out) {
  dequantize_row_clones(sums, n, offset, scale, bias, lo, hi, out);
}

void quantize_activation_planes(const float* x, int64_t planes, int64_t H, int64_t W, const ActivationQuant& q,
                                int64_t Hp, int64_t Wp, int64_t top, int64_t left, uint8_t* out) {
  const uint8_t zero = static_cast<uint8_t>(q.zero);
  parallel_for(planes, std::max<int64_t>(1, (int64_t{1} << 16) / (Hp * Wp)), [&](int64_t p0, int64_t p1) {
    // A plane at a time into `rows`, then its rows into place: quantize_row's vector loop wants
    // more than a row (LeNet's are 14 and 28 values).
    thread_local std::vector<uint8_t> rows;
    rows.resize(static_cast<size_t>(H * W));
    for (int64_t p = p0; p < p1; ++p) {
      quantize_row(x + p * H * W, H * W, q.inv_scale, static_cast<float>(q.zero), rows.data());
      uint8_t* plane = out + p * Hp * Wp;
      std::fill(plane, plane + top * Wp, zero);
      for (int64_t h = 0; h < H; ++h) {
        uint8_t* row = plane + (top + h) * Wp;
        std::fill(row, row + left, zero);
        std::memcpy(row + left, rows.data() + h * W, static_cast<size_t>(W));
        std::fill(row + left + W, row + Wp, zero);
      }
      std::fill(plane + (top + H) * Wp, plane + Hp * Wp, zero);
    }
  });
}

void quantize_weights(const Tensor& w, int64_t groups, const Tensor& packed, const Tensor& scale, const Tensor& sum) {
  const int64_t O = w.shape[0], K = w.shape[1], K4 = (K + 3) / 4;
  const float* pw = w.f32();
  uint32_t* pp = reinterpret_cast<uint32_t*>(packed.i32());
  float* ps = scale.f32();
  int32_t* psum = sum.i32();
  std::fill(pp, pp + groups * qgemm_packed_b_words(O / groups, K4), 0u);
  parallel_for(O, std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(K, 1)), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      const float* row = pw + o * K;
      float amax = 0.0f;
      for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(row[k]));
      const float s = amax > 0.0f ? amax / kWeightHalfRange : 1.0f;
      ps[o] = s;
      uint32_t* col = packed_column(pp, O, K4, groups, o);
      int32_t total = 0;
      for (int64_t k = 0; k < K; ++k) {
        const float v = std::min<float>(std::max<float>(std::nearbyint(row[k] / s), kWeightMin), kWeightMax);
        const int32_t q = static_cast<int32_t>(v);
        total += q;
        col[(k / 4) * kQPanelWidth] |= static_cast<uint32_t>(static_cast<uint8_t>(static_cast<int8_t>(q))) << (8 * (k % 4));
      }
      psum[o] = total;
    }
  });
}

}  // namespace cpu
}  // namespace convnet
