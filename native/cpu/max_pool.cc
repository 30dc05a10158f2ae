// Max pooling, as torch.nn.functional.max_pool2d: y = max over the window's in-bounds taps
// (padding is never a candidate), taps at start + t * dilation. The index (flat h * W + w within
// the plane) is the first maximum in row-major order; a NaN wins over everything and a later NaN
// over an earlier one, exactly as PyTorch's CPU kernel (`val > max || isnan(val)`). A window of
// -inf values points at its first in-bounds tap. Backward sends dy to the index, accumulating
// where windows overlap; max_pool_backward is shared with adaptive_max_pool2d.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>

#include "core/error.h"
#include "cpu/gemm.h"
#include "cpu/index_range.h"
#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"
#include "cpu/simd_clones.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(CONVNET_PORTABLE_ONLY)
#define CONVNET_POOL_X86_SIMD 1
#include <immintrin.h>
#else
#define CONVNET_POOL_X86_SIMD 0
#endif

namespace convnet {
namespace cpu {
namespace {

// Note [pooling without branches]: on real data (each step's activations new) a branch per tap
// mispredicts about half the time. Written as `t ? v : best`, GCC compiled the scalar loops
// below (and the remainders of its vectorised ones) into jumps: LeNet-5's pools with indices,
// [64,6,28,28] and [64,16,10,10], took 560 and 460 us at 1 thread on inputs that change from call
// to call, against 70 and 110 without indices, and 18% of a training step. (A benchmark that
// pools the same tensor again and again hides it: the predictor learns the pattern.) So the
// choices are made with masks: whole vectors with AVX-512 masks or AVX2 blends, and in scalar
// code `select_float` (pool_window.h), a select on the bits.

// A 2x2 stride-2 plane in scalar code. Row-major order of the four taps (a b / c d), PyTorch's
// rule at each.
template <bool kIndices>
void max_plane_2x2_scalar(const float* x, const Pool2dGeometry& g, float* y, int32_t* indices) {
  const int64_t W = g.w;
  for (int64_t oh = 0; oh < g.oh; ++oh) {
    const float* top = x + 2 * oh * W;
    const float* bottom = top + W;
    const int32_t corner = static_cast<int32_t>(2 * oh * W);
    for (int64_t ow = 0; ow < g.ow; ++ow) {
      const float a = top[2 * ow], b = top[2 * ow + 1], c = bottom[2 * ow], d = bottom[2 * ow + 1];
      float best = a;
      int32_t at = 0;  // which tap holds the maximum: 0, 1, W or W + 1 past the window's corner
      bool t = max_takes(b, best);
      best = select_float(t, b, best);
      at = t ? 1 : at;
      t = max_takes(c, best);
      best = select_float(t, c, best);
      at = t ? static_cast<int32_t>(W) : at;
      t = max_takes(d, best);
      best = select_float(t, d, best);
      at = t ? static_cast<int32_t>(W + 1) : at;
      y[oh * g.ow + ow] = best;
      if (kIndices) indices[oh * g.ow + ow] = corner + static_cast<int32_t>(2 * ow) + at;
    }
  }
}

#if CONVNET_POOL_X86_SIMD
// A 2x2 stride-2 plane with AVX-512, 16 outputs a step: each row pair's 32 inputs are split into
// their even and odd columns, and the taps compared in the same order, with the same rule, as in
// max_plane_2x2_scalar. A row's last step is masked, so short rows (LeNet c3's 5 outputs) need no
// scalar loop; but its loads are masked only where 32 floats from the bottom row would pass the
// tensor's end: masked loads stalled here (a [64,6,28,28] pool, all its rows masked, 166-258 us
// against 33-64 with whole loads). 1 thread, 16 inputs in turn, old and new builds alternated
// (medians, us; with indices, then without): [64,6,28,28] 530-600 -> 47-69, 57-87 -> 33-64;
// [64,16,10,10] 430-480 -> 41-55, 98-128 -> 23-41; [8,64,56,56] 1010-1100 -> 290-430, 330-370
// -> 290-580 (DRAM-bound, noisy).
template <bool kIndices>
__attribute__((target("avx512f"))) void max_plane_2x2_avx512(const float* x, const float* x_end, const Pool2dGeometry& g,
                                                             float* y, int32_t* indices) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i right = _mm512_set1_epi32(1), below = _mm512_set1_epi32(static_cast<int32_t>(g.w));
  const __m512i below_right = _mm512_set1_epi32(static_cast<int32_t>(g.w + 1));
  const auto lanes_below = [](int64_t n) { return static_cast<__mmask16>(n >= 16 ? 0xFFFF : n <= 0 ? 0 : (1u << n) - 1); };
  for (int64_t oh = 0; oh < g.oh; ++oh) {
    const float* top = x + 2 * oh * g.w;
    const float* bottom = top + g.w;
    for (int64_t ow = 0; ow < g.ow; ow += 16) {
      const int64_t n = std::min<int64_t>(16, g.ow - ow);
      __m512 t0, t1, b0, b1;
      if (bottom + 2 * ow + 32 <= x_end) {
        t0 = _mm512_loadu_ps(top + 2 * ow), t1 = _mm512_loadu_ps(top + 2 * ow + 16);
        b0 = _mm512_loadu_ps(bottom + 2 * ow), b1 = _mm512_loadu_ps(bottom + 2 * ow + 16);
      } else {  // lanes past the row's end (read from the next row where whole) are computed, not stored
        const __mmask16 first = lanes_below(2 * n), second = lanes_below(2 * n - 16);
        t0 = _mm512_maskz_loadu_ps(first, top + 2 * ow), t1 = _mm512_maskz_loadu_ps(second, top + 2 * ow + 16);
        b0 = _mm512_maskz_loadu_ps(first, bottom + 2 * ow), b1 = _mm512_maskz_loadu_ps(second, bottom + 2 * ow + 16);
      }
      const __m512 a = _mm512_permutex2var_ps(t0, even, t1), b = _mm512_permutex2var_ps(t0, odd, t1);
      const __m512 c = _mm512_permutex2var_ps(b0, even, b1), d = _mm512_permutex2var_ps(b0, odd, b1);
      __m512 best = a;
      __m512i at = _mm512_setzero_si512();
      __mmask16 t = _mm512_cmp_ps_mask(b, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
      best = _mm512_mask_mov_ps(best, t, b);
      if (kIndices) at = _mm512_mask_mov_epi32(at, t, right);
      t = _mm512_cmp_ps_mask(c, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(c, c, _CMP_UNORD_Q);
      best = _mm512_mask_mov_ps(best, t, c);
      if (kIndices) at = _mm512_mask_mov_epi32(at, t, below);
      t = _mm512_cmp_ps_mask(d, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(d, d, _CMP_UNORD_Q);
      best = _mm512_mask_mov_ps(best, t, d);
      const __mmask16 m = lanes_below(n);
      _mm512_mask_storeu_ps(y + oh * g.ow + ow, m, best);
      if (kIndices) {
        at = _mm512_mask_mov_epi32(at, t, below_right);
        const __m512i corner = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(2 * oh * g.w + 2 * ow)), even);
        _mm512_mask_storeu_epi32(indices + oh * g.ow + ow, m, _mm512_add_epi32(corner, at));
      }
    }
  }
}

// PyTorch's rule, lane by lane: v > best, or v is NaN.
__attribute__((target("avx2"))) inline __m256 takes(__m256 v, __m256 best) {
  return _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

// The same with AVX2, 8 outputs a step, for rows of 8 outputs or more: a row's last step starts
// at its last 8 outputs, overlapping the one before (whose values it writes again), so that no
// step needs a masked store (slow on AMD). Rows of fewer outputs go to max_plane_2x2_scalar.
template <bool kIndices>
__attribute__((target("avx2"))) void max_plane_2x2_avx2(const float* x, const Pool2dGeometry& g, float* y, int32_t* indices) {
  const __m256i twice_lane = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  const __m256i right = _mm256_set1_epi32(1), below = _mm256_set1_epi32(static_cast<int32_t>(g.w));
  const __m256i below_right = _mm256_set1_epi32(static_cast<int32_t>(g.w + 1));
  // The even and the odd columns of 16 floats, each in order.
  const auto split = [](const float* p, __m256& e, __m256& o) __attribute__((target("avx2"))) {
    const __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    // shuffle_ps works within 128-bit halves: e0 e1 e4 e5 | e2 e3 e6 e7 until the 64-bit pairs are swapped back.
    e = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0))), _MM_SHUFFLE(3, 1, 2, 0)));
    o = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1))), _MM_SHUFFLE(3, 1, 2, 0)));
  };
  for (int64_t oh = 0; oh < g.oh; ++oh) {
    const float* top = x + 2 * oh * g.w;
    const float* bottom = top + g.w;
    for (int64_t step = 0; step < g.ow; step += 8) {
      const int64_t ow = std::min(step, g.ow - 8);
      __m256 a, b, c, d;
      split(top + 2 * ow, a, b);
      split(bottom + 2 * ow, c, d);
      __m256 best = a;
      __m256i at = _mm256_setzero_si256();
      __m256 t = takes(b, best);
      best = _mm256_blendv_ps(best, b, t);
      if (kIndices) at = _mm256_blendv_epi8(at, right, _mm256_castps_si256(t));
      t = takes(c, best);
      best = _mm256_blendv_ps(best, c, t);
      if (kIndices) at = _mm256_blendv_epi8(at, below, _mm256_castps_si256(t));
      t = takes(d, best);
      best = _mm256_blendv_ps(best, d, t);
      _mm256_storeu_ps(y + oh * g.ow + ow, best);
      if (kIndices) {
        at = _mm256_blendv_epi8(at, below_right, _mm256_castps_si256(t));
        const __m256i corner = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(2 * oh * g.w + 2 * ow)), twice_lane);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(indices + oh * g.ow + ow), _mm256_add_epi32(corner, at));
      }
    }
  }
}
#endif

// One 2x2 stride-2 plane by the widest code this machine and shape allow.
template <bool kIndices>
void max_plane_2x2(const float* x, const float* x_end, const Pool2dGeometry& g, float* y, int32_t* indices, bool avx512,
                   bool avx2) {
#if CONVNET_POOL_X86_SIMD
  if (avx512) return max_plane_2x2_avx512<kIndices>(x, x_end, g, y, indices);
  if (avx2 && g.ow >= 8) return max_plane_2x2_avx2<kIndices>(x, g, y, indices);
#else
  (void)x_end, (void)avx512, (void)avx2;
#endif
  max_plane_2x2_scalar<kIndices>(x, g, y, indices);
}

#if CONVNET_POOL_X86_SIMD
// Backward of one plane whose every index lies in its own 2x2 block (rows 2oh, 2oh+1, columns
// 2ow, 2ow+1: LeNet's 2x2 stride-2 pooling, or an adaptive pooling that halves the plane). The
// blocks do not overlap, so dx is written once, densely, row pair by row pair:
// dx[2oh + r][2ow + c] = (index == that position) ? dy : 0 — no memset, no scatter. Returns
// false, having written part of the plane, at the first index outside its block; the caller then
// redoes the plane with the scatter. The values are the scatter's bits (0 + dy: -0 becomes +0).
__attribute__((target("avx512f"))) bool backward_plane_2x2(const float* d, const int32_t* ip, int64_t oh_count,
                                                           int64_t ow_count, int64_t h, int64_t w, float* g) {
  // Lanes 0..15 of the interleave of a and b: a0 b0 a1 b1 ... a7 b7; then a8 b8 ... a15 b15.
  const __m512i low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const __m512i twice_lane = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i one = _mm512_set1_epi32(1), below = _mm512_set1_epi32(static_cast<int32_t>(w));
  const __m512i below_right = _mm512_set1_epi32(static_cast<int32_t>(w + 1));
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t oh = 0; oh < oh_count; ++oh) {
    float* top = g + 2 * oh * w;
    float* bottom = top + w;
    for (int64_t ow = 0; ow < ow_count; ow += 16) {
      const int64_t n = std::min<int64_t>(16, ow_count - ow);
      const __mmask16 m = static_cast<__mmask16>((1u << n) - 1);
      const __m512i corner = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(2 * oh * w + 2 * ow)), twice_lane);
      // t: the index relative to its block's top-left corner, one of 0, 1, w, w + 1.
      const __m512i t = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, ip + oh * ow_count + ow), corner);
      const __mmask16 at00 = _mm512_mask_cmpeq_epi32_mask(m, t, _mm512_setzero_si512());
      const __mmask16 at01 = _mm512_mask_cmpeq_epi32_mask(m, t, one);
      const __mmask16 at10 = _mm512_mask_cmpeq_epi32_mask(m, t, below);
      const __mmask16 at11 = _mm512_mask_cmpeq_epi32_mask(m, t, below_right);
      if (static_cast<__mmask16>(at00 | at01 | at10 | at11) != m) return false;
      const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, d + oh * ow_count + ow), zero);
      // Stores of 2n floats: 16 lanes, then 2n - 16 (masks of the low lanes).
      const __mmask16 first = n >= 8 ? 0xFFFF : static_cast<__mmask16>((1u << (2 * n)) - 1);
      const __mmask16 second = n > 8 ? static_cast<__mmask16>((1u << (2 * (n - 8))) - 1) : 0;
      const __m512 a = _mm512_maskz_mov_ps(at00, v), b = _mm512_maskz_mov_ps(at01, v);
      _mm512_mask_storeu_ps(top + 2 * ow, first, _mm512_permutex2var_ps(a, low, b));
      _mm512_mask_storeu_ps(top + 2 * ow + 16, second, _mm512_permutex2var_ps(a, high, b));
      const __m512 c = _mm512_maskz_mov_ps(at10, v), e = _mm512_maskz_mov_ps(at11, v);
      _mm512_mask_storeu_ps(bottom + 2 * ow, first, _mm512_permutex2var_ps(c, low, e));
      _mm512_mask_storeu_ps(bottom + 2 * ow + 16, second, _mm512_permutex2var_ps(c, high, e));
    }
    if (w > 2 * ow_count) {  // an odd last column, outside every block
      std::memset(top + 2 * ow_count, 0, (w - 2 * ow_count) * sizeof(float));
      std::memset(bottom + 2 * ow_count, 0, (w - 2 * ow_count) * sizeof(float));
    }
  }
  std::memset(g + 2 * oh_count * w, 0, (h - 2 * oh_count) * w * sizeof(float));  // an odd last row
  return true;
}

// The same for small planes (at most 32 outputs, 128 inputs: LeNet c3's 10x10 -> 5x5), whose rows
// are too short for the pass above: dx is written 16 elements at a time, each lane picking its
// block's output from the plane's outputs (loaded once, two vectors) by a fixed permute.
class SmallPlaneBlocks {
 public:
  static constexpr int64_t kMaxOutputs = 32, kMaxVectors = 8;
  static bool fits(int64_t oh, int64_t ow, int64_t h, int64_t w) {
    return 2 * oh <= h && 2 * ow <= w && oh * ow <= kMaxOutputs && h * w <= 16 * kMaxVectors;
  }
  SmallPlaneBlocks(int64_t oh, int64_t ow, int64_t h, int64_t w) : outputs_(oh * ow), inputs_(h * w) {
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = 0; c < w; ++c) {
        const int64_t e = r * w + c;
        const bool in_block = r < 2 * oh && c < 2 * ow;
        source_[e] = in_block ? static_cast<int32_t>(r / 2 * ow + c / 2) : 0;
        if (in_block) inside_[e / 16] |= 1u << (e % 16);
      }
  }

  // Writes plane g, or returns false (having written part of it) if an index lies outside its block.
  __attribute__((target("avx512f"))) bool run(const float* d, const int32_t* ip, float* g) const {
    const __mmask16 m0 = lanes_below(outputs_), m1 = lanes_below(outputs_ - 16);
    const __m512i i0 = _mm512_maskz_loadu_epi32(m0, ip), i1 = _mm512_maskz_loadu_epi32(m1, ip + 16);
    const __m512 zero = _mm512_setzero_ps();
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512 d0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, d), zero), d1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, d + 16), zero);
    int matched = 0;  // each output's index matches one element of its block, if it lies there
    for (int64_t v = 0; v * 16 < inputs_; ++v) {
      const __m512i source = _mm512_loadu_si512(source_ + 16 * v);
      const __m512i position = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(16 * v)), lane);
      const __mmask16 hit = _mm512_mask_cmpeq_epi32_mask(inside_[v], _mm512_permutex2var_epi32(i0, source, i1), position);
      matched += __builtin_popcount(hit);
      _mm512_mask_storeu_ps(g + 16 * v, lanes_below(inputs_ - 16 * v), _mm512_maskz_mov_ps(hit, _mm512_permutex2var_ps(d0, source, d1)));
    }
    return matched == outputs_;
  }

 private:
  static __mmask16 lanes_below(int64_t n) {
    return static_cast<__mmask16>(n >= 16 ? 0xFFFF : n <= 0 ? 0 : (1u << n) - 1);
  }
  int64_t outputs_, inputs_;
  alignas(64) int32_t source_[16 * kMaxVectors] = {};  // the output whose block holds element e (0 outside any)
  uint32_t inside_[kMaxVectors] = {};             // the elements inside a block, 16 bits a vector
};

// backward_plane_2x2 in AVX2, 8 outputs a step, for rows of 8 outputs or more: a row's last step
// starts at its last 8 outputs, overlapping the one before (whose values it writes again), so
// that no step needs a masked store (slow on AMD).
__attribute__((target("avx2"))) bool backward_plane_2x2_avx2(const float* d, const int32_t* ip, int64_t oh_count,
                                                             int64_t ow_count, int64_t h, int64_t w, float* g) {
  const __m256i twice_lane = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  const __m256i zero_i = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
  const __m256i below = _mm256_set1_epi32(static_cast<int32_t>(w)), below_right = _mm256_set1_epi32(static_cast<int32_t>(w + 1));
  const __m256 zero = _mm256_setzero_ps();
  // 16 floats of a row: a0 b0 a1 b1 ... a7 b7.
  const auto store_interleaved = [](float* row, __m256 a, __m256 b) __attribute__((target("avx2"))) {
    const __m256 lo = _mm256_unpacklo_ps(a, b), hi = _mm256_unpackhi_ps(a, b);  // a0 b0 a1 b1 | a4 b4 a5 b5; a2 .. | a6 ..
    _mm256_storeu_ps(row, _mm256_permute2f128_ps(lo, hi, 0x20));
    _mm256_storeu_ps(row + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
  };
  for (int64_t oh = 0; oh < oh_count; ++oh) {
    float* top = g + 2 * oh * w;
    float* bottom = top + w;
    for (int64_t step = 0; step < ow_count; step += 8) {
      const int64_t ow = std::min(step, ow_count - 8);
      const __m256i corner = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(2 * oh * w + 2 * ow)), twice_lane);
      // t: the index relative to its block's top-left corner, one of 0, 1, w, w + 1.
      const __m256i t = _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ip + oh * ow_count + ow)), corner);
      const __m256i at00 = _mm256_cmpeq_epi32(t, zero_i), at01 = _mm256_cmpeq_epi32(t, one);
      const __m256i at10 = _mm256_cmpeq_epi32(t, below), at11 = _mm256_cmpeq_epi32(t, below_right);
      const __m256i any = _mm256_or_si256(_mm256_or_si256(at00, at01), _mm256_or_si256(at10, at11));
      if (_mm256_movemask_ps(_mm256_castsi256_ps(any)) != 0xFF) return false;
      const __m256 v = _mm256_add_ps(_mm256_loadu_ps(d + oh * ow_count + ow), zero);
      store_interleaved(top + 2 * ow, _mm256_and_ps(v, _mm256_castsi256_ps(at00)), _mm256_and_ps(v, _mm256_castsi256_ps(at01)));
      store_interleaved(bottom + 2 * ow, _mm256_and_ps(v, _mm256_castsi256_ps(at10)), _mm256_and_ps(v, _mm256_castsi256_ps(at11)));
    }
    for (int64_t c = 2 * ow_count; c < w; ++c) top[c] = bottom[c] = 0.0f;  // an odd last column, outside every block
  }
  std::memset(g + 2 * oh_count * w, 0, (h - 2 * oh_count) * w * sizeof(float));  // an odd last row
  return true;
}
#endif

// g[ip[o]] += d[o] over one plane's rows of outputs, each row's even outputs before its odd
// ones. Where windows overlap (3x3 stride 2), neighbours in a row often share their maximum, and
// the load of an element whose store is still in flight stalls the loop; outputs two apart share
// none. AlexNet's pools' backward, 2 threads: [8,96,55,55] 164-172 -> 152-155 us, [8,256,27,27]
// 113-121 -> 109-117 (old and new builds alternated, a timing loop). Into one element two
// outputs of a row add in either order with the same result (0 + a + b), but where an element
// takes from more (the corners shared by four 3x3 stride-2 windows) the rounding may differ in
// the last place from the outputs' order, PyTorch's. (Rows under 8 outputs keep their order:
// with LeNet c3's 5 the two loops cost more than they saved.)
inline void scatter_rows_even_odd(const float* __restrict d, const int32_t* __restrict ip, int64_t rows, int64_t cols, float* g) {
  for (int64_t r = 0; r < rows; ++r, d += cols, ip += cols) {
    for (int64_t c = 0; c < cols; c += 2) g[ip[c]] += d[c];
    for (int64_t c = 1; c < cols; c += 2) g[ip[c]] += d[c];
  }
}

// The planes [begin, end) of y by rows of windows (max_row); with_indices also writes their
// indices. 3x3 windows at stride 1 or 2 take max_whole_fixed (pool_window.h): 2 threads, batch 8,
// medians of a timing loop, old and new builds alternated (us, without indices; with):
// [8,96,55,55] 3x3/2 1130 -> 880, 1935 -> 1350-1580; [8,256,27,27] 3x3/2 1020 -> 690, 1540-1840
// -> 790-810; [8,64,112,112] 3x3/2 pad 1 2820 -> 2500, 4900-5800 -> 3210-3340; [8,192,28,28] 3x3/1
// pad 1 2660-3360 -> 2030, 3960-4140 -> 3340-3440. The loops with indices are compiled for AVX2
// too, those without are not: there the AVX2 clone ran 10-20% slower than the baseline's SSE on
// two of the four, and every AVX-512 clone slower still (rows of 13 to 55 outputs).
void max_planes(const float* __restrict x, const RowSweep& sweep, const Pool2dGeometry& g, float* __restrict y,
                int64_t begin, int64_t end) {
  for (int64_t p = begin; p < end; ++p)
    for (int64_t oh = 0; oh < g.oh; ++oh) max_row<false>(x + p * g.h * g.w, sweep, oh, y + (p * g.oh + oh) * g.ow, nullptr);
}

CONVNET_AVX2_CLONES
void max_planes_with_indices(const float* __restrict x, const RowSweep& sweep, const Pool2dGeometry& g,
                             float* __restrict y, int32_t* __restrict indices, int64_t begin, int64_t end) {
  for (int64_t p = begin; p < end; ++p)
    for (int64_t oh = 0; oh < g.oh; ++oh) {
      const int64_t o = (p * g.oh + oh) * g.ow;
      max_row<true>(x + p * g.h * g.w, sweep, oh, y + o, indices + o);
    }
}

}  // namespace

void max_pool_planes_2x2(const float* x, const Pool2dGeometry& g, float* y, int32_t* indices, int64_t begin, int64_t end) {
  const char* kernel = sgemm_kernel_name();  // the SIMD level in use (CONVNET_SIMD_CAP lowers it)
  const bool avx512 = std::strcmp(kernel, "avx512") == 0, avx2 = std::strcmp(kernel, "avx2") == 0;
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* x_end = x + g.planes * in_plane;
  for (int64_t p = begin; p < end; ++p) {
    if (indices) max_plane_2x2<true>(x + p * in_plane, x_end, g, y + p * out_plane, indices + p * out_plane, avx512, avx2);
    else max_plane_2x2<false>(x + p * in_plane, x_end, g, y + p * out_plane, nullptr, avx512, avx2);
  }
}

void max_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, const Tensor& y, const Tensor* indices) {
  const AxisWindows rows = axis_windows(g.oh, g.h, g.kh, g.sh, g.ph, g.dh);
  const AxisWindows cols = axis_windows(g.ow, g.w, g.kw, g.sw, g.pw, g.dw);
  const int64_t out_plane = g.oh * g.ow;
  const float* px = x.f32();
  float* py = y.f32();
  int32_t* pi = indices ? indices->i32() : nullptr;
  const bool fast = is_whole_2x2_stride_2(g) && g.dh == 1 && g.dw == 1;
  const RowSweep sweep = row_sweep(rows, cols, g, g.kw, g.pw, g.dh, g.dw);
  for_planes(g.planes, out_plane * g.kh * g.kw, [&](int64_t begin, int64_t end) {
    if (fast) max_pool_planes_2x2(px, g, py, pi, begin, end);
    else if (pi) max_planes_with_indices(px, sweep, g, py, pi, begin, end);
    else max_planes(px, sweep, g, py, begin, end);
  });
}

void max_pool_backward(const Tensor& dy, const Tensor& indices, const Tensor& dx) {
  const int64_t oh = dy.shape[dy.dim() - 2], ow = dy.shape[dy.dim() - 1];
  const int64_t h = dx.shape[dx.dim() - 2], w = dx.shape[dx.dim() - 1];
  const int64_t out_plane = oh * ow, in_plane = h * w;
  const int64_t planes = in_plane ? dx.numel() / in_plane : 0;
  const float* pdy = dy.f32();
  const int32_t* pi = indices.i32();
  float* pdx = dx.f32();
#if CONVNET_POOL_X86_SIMD
  // Worth trying when the plane has room for the 2x2 blocks (the kernels check the rest): by row
  // pairs where rows fill half a vector ([64,6,28,28], 14 outputs a row: 23 -> 16 us at 2 threads;
  // with LeNet c3's 5 a row it took 16 us against the scatter's 10), else for small planes 16
  // inputs at a time ([64,16,10,10]: 16-18.5 -> 12.5-15 us at 1 thread, 10-12.5 -> 9-10.6 at 2;
  // old and new builds alternated, a timing loop). AVX2 by row pairs too (at 2 threads, both
  // codes alternated in one process, session 33: [64,6,28,28] 0.071-0.085 -> 0.037-0.042 ms,
  // [8,64,56,56] 0.36-0.43 -> 0.15-0.18; rows of 13 outputs, [64,6,29,27], unchanged).
  const bool avx512 = std::strcmp(sgemm_kernel_name(), "avx512") == 0;
  const bool blocks_fit = 2 * oh <= h && 2 * ow <= w && ow >= 8;
  const bool try_blocks = blocks_fit && avx512;
  const bool try_blocks_avx2 = blocks_fit && std::strcmp(sgemm_kernel_name(), "avx2") == 0;
  std::optional<SmallPlaneBlocks> small;
  if (!try_blocks && avx512 && SmallPlaneBlocks::fits(oh, ow, h, w)) small.emplace(oh, ow, h, w);
#endif
  BadIndex bad;
  for_planes(planes, out_plane + in_plane, [&](int64_t begin, int64_t end) {
#if CONVNET_POOL_X86_SIMD
    // From the first plane with an index outside its block (if any), the chunk scatters.
    if (try_blocks) {
      while (begin < end && backward_plane_2x2(pdy + begin * out_plane, pi + begin * out_plane, oh, ow, h, w,
                                               pdx + begin * in_plane)) {
        ++begin;
      }
    } else if (try_blocks_avx2) {
      while (begin < end && backward_plane_2x2_avx2(pdy + begin * out_plane, pi + begin * out_plane, oh, ow, h, w,
                                                    pdx + begin * in_plane)) {
        ++begin;
      }
    } else if (small) {
      while (begin < end && small->run(pdy + begin * out_plane, pi + begin * out_plane, pdx + begin * in_plane)) ++begin;
    }
#endif
    // The common case: every index of the plane in range (checked in one vectorised pass, plane
    // by plane so that the scatter finds the indices in L1), so the scatter is a plain
    // load-add-store per element. (Branch-free checks in the scatter itself made it twice as long:
    // 0.6-0.9x PyTorch. One check of the whole chunk first: [8, 256, 27, 27] k3s2 at 1 thread
    // 331-339 us, against 321-336 by planes; six alternations, session 54.) From the first plane
    // with a bad index the op fails, below.
    for (; in_plane > 0 && begin < end; ++begin) {
      const float* __restrict d = pdy + begin * out_plane;
      const int32_t* __restrict ip = pi + begin * out_plane;
      if (max_index(ip, out_plane) >= static_cast<uint64_t>(in_plane)) break;
      float* g = pdx + begin * in_plane;
      // Plane by plane, so it stays in L1 for the scatter (one memset of the whole chunk was
      // slower: glibc writes large blocks with non-temporal stores, out of the cache).
      std::memset(g, 0, in_plane * sizeof(float));
      if (ow >= 8) scatter_rows_even_odd(d, ip, oh, ow, g);
      else for (int64_t o = 0; o < out_plane; ++o) g[ip[o]] += d[o];
    }
    for (int64_t p = begin; p < end; ++p) {
      const float* d = pdy + p * out_plane;
      const int32_t* ip = pi + p * out_plane;
      float* g = pdx + p * in_plane;
      std::memset(g, 0, in_plane * sizeof(float));  // plane by plane: it stays in cache for the scatter
      // One branch-free pass: a bad index is sent to element 0 (harmless: the op then fails
      // with E_INDEX) and noted, instead of a check-and-branch per element.
      const uint32_t n = static_cast<uint32_t>(in_plane);
      bool ok = true;
      for (int64_t o = 0; o < out_plane; ++o) {
        const uint32_t at = static_cast<uint32_t>(ip[o]);
        ok &= at < n;
        g[at < n ? at : 0] += d[o];
      }
      if (!ok) {
        for (int64_t o = 0; o < out_plane; ++o) {
          if (static_cast<uint32_t>(ip[o]) < n) continue;
          bad.note(p * out_plane + o);
          break;
        }
      }
    }
  });
  const int64_t at = bad.position.load();
  CONVNET_CHECK(at < 0, "E_INDEX", "index ", at < 0 ? 0 : pi[at], " at position ", at,
                " is out of range for an input plane of ", in_plane, " elements");
}

}  // namespace cpu
}  // namespace convnet
