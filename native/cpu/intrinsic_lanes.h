// The lane-level operations of the convolution's kernels (conv2d_winograd.cc, conv2d_direct.cc)
// on 16 floats, one layer per instruction set: Lanes512, one __m512 (AVX-512F), and Lanes256x2,
// two __m256 halves (AVX2 + FMA; lanes 0-7, then 8-15), so that the kernels keep 16 tiles (or
// channels, or positions) a vector: their bookkeeping, and the GEMM's panel order, 16 columns a
// panel on both, stay the same. A mask is the bits of the lanes it keeps (lane l: bit l), built
// by plain integer code on both. kRegisters: how many Vecs the register file holds, for sizing
// a kernel's tile (a Lanes256x2 Vec takes two of AVX2's 16 registers).
//
// Every member is always_inline with its instruction set's target, so a kernel compiled for that
// target (conv2d_winograd_kernels.inc) inlines them all. Lanes512's arithmetic is the
// intrinsics the kernels called before the AVX2 layer existed (the same machine code, but for
// register allocation); Lanes256x2 does the same arithmetic lane by lane (an FMA where Lanes512
// has one), so the transforms round alike on both (the GEMMs' kernels are not the same, though).
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "cpu/simd_transpose.h"
#include "cpu/winograd_transform.h"

namespace convnet {
namespace cpu {

#define CONVNET_LANES512 __attribute__((target("avx512f"), always_inline)) static inline
#define CONVNET_LANES256 __attribute__((target("avx2,fma"), always_inline)) static inline

struct Lanes512 {
  using Vec = __m512;
  using Mask = __mmask16;
  static constexpr int kRegisters = 32;

  CONVNET_LANES512 Vec zero() { return _mm512_setzero_ps(); }
  CONVNET_LANES512 Vec set1(float c) { return _mm512_set1_ps(c); }
  CONVNET_LANES512 Vec load(const float* at) { return _mm512_loadu_ps(at); }
  // The lanes outside `mask` read as zeros, their memory not touched.
  CONVNET_LANES512 Vec load_masked(Mask mask, const float* at) { return _mm512_maskz_loadu_ps(mask, at); }
  CONVNET_LANES512 void store(float* at, Vec v) { _mm512_storeu_ps(at, v); }
  CONVNET_LANES512 void store_masked(float* at, Mask mask, Vec v) { _mm512_mask_storeu_ps(at, mask, v); }
  CONVNET_LANES512 Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  // min(max(v, lo), hi) lane by lane, NaN kept (vmaxps and vminps give their second operand
  // where either is NaN).
  CONVNET_LANES512 Vec clamp(Vec v, Vec lo, Vec hi) { return _mm512_min_ps(hi, _mm512_max_ps(lo, v)); }
  CONVNET_LANES512 Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  // v in the lanes of `mask`, `old` elsewhere (or zero).
  CONVNET_LANES512 Vec blend(Vec old, Mask mask, Vec v) { return _mm512_mask_mov_ps(old, mask, v); }
  CONVNET_LANES512 Vec keep(Mask mask, Vec v) { return _mm512_maskz_mov_ps(mask, v); }
  // The even and odd floats of the 32 in x0 (the first 16) and x1.
  CONVNET_LANES512 void unzip(Vec x0, Vec x1, Vec& even, Vec& odd) {
    const __m512i e = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i o = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    even = _mm512_permutex2var_ps(x0, e, x1), odd = _mm512_permutex2var_ps(x0, o, x1);
  }
  // out[2i] = a[i] + add, out[2i + 1] = b[i] + add, i < 8.
  CONVNET_LANES512 void store_zipped8(float* out, const float* a, const float* b, Vec add) {
    const __m512i zip = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512 x0 = _mm512_add_ps(_mm512_castps256_ps512(_mm256_loadu_ps(a)), add);
    const __m512 x1 = _mm512_add_ps(_mm512_castps256_ps512(_mm256_loadu_ps(b)), add);
    _mm512_storeu_ps(out, _mm512_permutex2var_ps(x0, zip, x1));
  }
  // Lane l: float idx[l] (< 32) of the 32 in x0 (the first 16) and x1.
  using Index = __m512i;
  CONVNET_LANES512 Index load_index(const int32_t* at) { return _mm512_load_si512(at); }  // 64-byte aligned
  CONVNET_LANES512 Vec permute(Vec x0, Index idx, Vec x1) { return _mm512_permutex2var_ps(x0, idx, x1); }
  // r[i] lane j <-> r[j] lane i.
  CONVNET_LANES512 void transpose16(Vec (&r)[16]) { transpose16x16(r); }
  template <int kRows, int kCols>
  CONVNET_LANES512 void apply(const float (&m)[kRows][kCols], const Vec (&in)[kCols], Vec (&out)[kRows]) {
    cpu::apply(m, in, out);
  }
};

struct Lanes256x2 {
  struct Vec {
    __m256 lo, hi;
  };
  using Mask = __mmask16;
  static constexpr int kRegisters = 8;

  CONVNET_LANES256 Vec zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  CONVNET_LANES256 Vec set1(float c) { return {_mm256_set1_ps(c), _mm256_set1_ps(c)}; }
  CONVNET_LANES256 Vec load(const float* at) { return {_mm256_loadu_ps(at), _mm256_loadu_ps(at + 8)}; }
  // The halves' lane masks (all ones where kept), from the bits.
  CONVNET_LANES256 void masks(Mask mask, __m256i& lo, __m256i& hi) {
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128), bits = _mm256_set1_epi32(mask);
    lo = _mm256_cmpeq_epi32(_mm256_and_si256(bits, bit), bit);
    hi = _mm256_cmpeq_epi32(_mm256_and_si256(bits, _mm256_slli_epi32(bit, 8)), _mm256_slli_epi32(bit, 8));
  }
  // vmaskmovps neither reads nor faults on the lanes outside the mask.
  CONVNET_LANES256 Vec load_masked(Mask mask, const float* at) {
    __m256i lo, hi;
    masks(mask, lo, hi);
    return {_mm256_maskload_ps(at, lo), _mm256_maskload_ps(at + 8, hi)};
  }
  CONVNET_LANES256 void store(float* at, Vec v) { _mm256_storeu_ps(at, v.lo), _mm256_storeu_ps(at + 8, v.hi); }
  // vmaskmovps stores are slow on AMD (Zen 3: one every ~6-12 cycles, against one or two plain
  // stores a cycle): a whole half is a plain store, an empty one none.
  CONVNET_LANES256 void store_masked(float* at, Mask mask, Vec v) {
    const unsigned low = mask & 0xFFu, high = mask >> 8;
    if ((low & high) == 0xFFu) return store(at, v);
    __m256i lo, hi;
    masks(mask, lo, hi);
    if (low == 0xFFu) _mm256_storeu_ps(at, v.lo);
    else if (low) _mm256_maskstore_ps(at, lo, v.lo);
    if (high == 0xFFu) _mm256_storeu_ps(at + 8, v.hi);
    else if (high) _mm256_maskstore_ps(at + 8, hi, v.hi);
  }
  CONVNET_LANES256 Vec add(Vec a, Vec b) { return {_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)}; }
  CONVNET_LANES256 Vec clamp(Vec v, Vec lo, Vec hi) {
    return {_mm256_min_ps(hi.lo, _mm256_max_ps(lo.lo, v.lo)), _mm256_min_ps(hi.hi, _mm256_max_ps(lo.hi, v.hi))};
  }
  CONVNET_LANES256 Vec sub(Vec a, Vec b) { return {_mm256_sub_ps(a.lo, b.lo), _mm256_sub_ps(a.hi, b.hi)}; }
  CONVNET_LANES256 Vec mul(Vec a, Vec b) { return {_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)}; }
  CONVNET_LANES256 Vec fmadd(Vec a, Vec b, Vec c) {
    return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
  }
  CONVNET_LANES256 Vec blend(Vec old, Mask mask, Vec v) {
    __m256i lo, hi;
    masks(mask, lo, hi);
    return {_mm256_blendv_ps(old.lo, v.lo, _mm256_castsi256_ps(lo)), _mm256_blendv_ps(old.hi, v.hi, _mm256_castsi256_ps(hi))};
  }
  CONVNET_LANES256 Vec keep(Mask mask, Vec v) {
    __m256i lo, hi;
    masks(mask, lo, hi);
    return {_mm256_and_ps(v.lo, _mm256_castsi256_ps(lo)), _mm256_and_ps(v.hi, _mm256_castsi256_ps(hi))};
  }
  // Within each 128-bit lane, shuffle_ps takes floats 0, 2 (1, 3) of a and of b: a's evens
  // 0 2 | 4 6 and b's 0 2 | 4 6 interleaved by pairs; the 64-bit permute puts the pairs in order.
  CONVNET_LANES256 __m256 evens(__m256 a, __m256 b) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
  }
  CONVNET_LANES256 __m256 odds(__m256 a, __m256 b) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
  }
  CONVNET_LANES256 void unzip(Vec x0, Vec x1, Vec& even, Vec& odd) {
    even = {evens(x0.lo, x0.hi), evens(x1.lo, x1.hi)};
    odd = {odds(x0.lo, x0.hi), odds(x1.lo, x1.hi)};
  }
  CONVNET_LANES256 void store_zipped8(float* out, const float* a, const float* b, Vec add) {
    const __m256 x0 = _mm256_add_ps(_mm256_loadu_ps(a), add.lo), x1 = _mm256_add_ps(_mm256_loadu_ps(b), add.lo);
    const __m256 lo = _mm256_unpacklo_ps(x0, x1), hi = _mm256_unpackhi_ps(x0, x1);  // pairs 0 1 | 4 5, 2 3 | 6 7
    _mm256_storeu_ps(out, _mm256_permute2f128_ps(lo, hi, 0x20));
    _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
  }
  // Each half from the four: vpermps picks within one (idx's low 3 bits), then bit 3 of idx
  // chooses the half of x0 or x1 and bit 4 x0 or x1 (blendv reads a lane's sign bit).
  struct Index {
    __m256i lo, hi;
  };
  CONVNET_LANES256 Index load_index(const int32_t* at) {
    return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at + 8))};
  }
  CONVNET_LANES256 __m256 permute_half(Vec x0, __m256i idx, Vec x1) {
    const __m256 bit3 = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)), bit4 = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 27));
    const __m256 from0 = _mm256_blendv_ps(_mm256_permutevar8x32_ps(x0.lo, idx), _mm256_permutevar8x32_ps(x0.hi, idx), bit3);
    const __m256 from1 = _mm256_blendv_ps(_mm256_permutevar8x32_ps(x1.lo, idx), _mm256_permutevar8x32_ps(x1.hi, idx), bit3);
    return _mm256_blendv_ps(from0, from1, bit4);
  }
  CONVNET_LANES256 Vec permute(Vec x0, Index idx, Vec x1) { return {permute_half(x0, idx.lo, x1), permute_half(x0, idx.hi, x1)}; }
  // r[i] lane j <-> r[j] lane i: the four 8 x 8 blocks transposed, the off-diagonal two swapped.
  CONVNET_LANES256 void transpose16(Vec (&r)[16]) {
    __m256 a[8], b[8], c[8], e[8];  // rows 0-7 and 8-15 (a, b; c, e) of columns 0-7 and 8-15
    for (int i = 0; i < 8; ++i) a[i] = r[i].lo, b[i] = r[i].hi, c[i] = r[8 + i].lo, e[i] = r[8 + i].hi;
    transpose8x8(a), transpose8x8(b), transpose8x8(c), transpose8x8(e);
    for (int j = 0; j < 8; ++j) r[j] = {a[j], c[j]}, r[8 + j] = {b[j], e[j]};
  }
  // winograd_transform.h's apply on each half.
  template <int kRows, int kCols>
  CONVNET_LANES256 void apply(const float (&m)[kRows][kCols], const Vec (&in)[kCols], Vec (&out)[kRows]) {
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      Vec acc = zero();
      bool any = false;
#pragma GCC unroll 8
      for (int j = 0; j < kCols; ++j) {
        const float c = m[i][j];
        if (c == 0.0f) continue;
        if (!any) acc = c == 1.0f ? in[j] : c == -1.0f ? sub(zero(), in[j]) : mul(set1(c), in[j]);
        else if (c == 1.0f) acc = add(acc, in[j]);
        else if (c == -1.0f) acc = sub(acc, in[j]);
        else acc = fmadd(set1(c), in[j], acc);
        any = true;
      }
      out[i] = acc;
    }
  }
};

#undef CONVNET_LANES512
#undef CONVNET_LANES256

}  // namespace cpu
}  // namespace convnet
