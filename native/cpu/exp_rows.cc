// See exp_rows.h. Three implementations of the same three loops: AVX-512, AVX2 + FMA, and
// scalar (std::exp). The SIMD ones share the polynomial below; the scalar one also serves
// strided rows (the class axis of a K-dimensional cross-entropy).
#include "cpu/exp_rows.h"

#include <cmath>
#include <limits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CONVNET_EXP_X86 1
#include <immintrin.h>
#else
#define CONVNET_EXP_X86 0
#endif

namespace convnet {
namespace cpu {
namespace {

float max_scalar(const float* x, int64_t n, int64_t stride) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t k = 0; k < n; ++k) m = x[k * stride] > m ? x[k * stride] : m;
  return m;
}

float sum_exp_scalar(const float* x, int64_t n, int64_t stride, float shift) {
  float s = 0.0f;
  for (int64_t k = 0; k < n; ++k) s += std::exp(x[k * stride] - shift);
  return s;
}

float exp_sum_scalar(const float* x, int64_t n, int64_t stride, float shift, float* y) {
  float s = 0.0f;
  for (int64_t k = 0; k < n; ++k) s += (y[k * stride] = std::exp(x[k * stride] - shift));
  return s;
}

struct RowKernels {
  float (*max)(const float*, int64_t);
  float (*sum_exp)(const float*, int64_t, float);
  float (*exp_sum)(const float*, int64_t, float, float*);
};

#if CONVNET_EXP_X86
// GCC 12 warns, wrongly, that the _mm512_undefined_ps() inside its own intrinsics is used
// uninitialized (GCC bug 105593), as in gemm.cc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

// Note [exp polynomial]: exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 (ln 2 split
// in two so r is exact), exp(r) by Cephes' degree-6 expf polynomial on |r| <= ln2 / 2. The
// clamps keep NaN (the NaN operand goes second in min/max); below -88, n = -127 makes 2^n zero.
#define EXP_CONSTANTS(T, set1)                                                                   \
  const T hi = set1(88.0f), lo = set1(-88.0f), log2e = set1(1.44269504088896341f);               \
  const T ln2_hi = set1(0.693359375f), ln2_lo = set1(-2.12194440e-4f);                           \
  const T p0 = set1(1.9875691500e-4f), p1 = set1(1.3981999507e-3f), p2 = set1(8.3334519073e-3f); \
  const T p3 = set1(4.1665795894e-2f), p4 = set1(1.6666665459e-1f), p5 = set1(5.0000001201e-1f); \
  const T one = set1(1.0f)

__attribute__((target("avx512f"), always_inline)) inline __m512 exp16(__m512 x) {
  EXP_CONSTANTS(__m512, _mm512_set1_ps);
  x = _mm512_max_ps(lo, _mm512_min_ps(hi, x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, ln2_hi, x);
  r = _mm512_fnmadd_ps(n, ln2_lo, r);
  __m512 p = _mm512_fmadd_ps(p0, r, p1);
  p = _mm512_fmadd_ps(p, r, p2);
  p = _mm512_fmadd_ps(p, r, p3);
  p = _mm512_fmadd_ps(p, r, p4);
  p = _mm512_fmadd_ps(p, r, p5);
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, one));
  return _mm512_scalef_ps(p, n);
}

__attribute__((target("avx512f"))) float max_avx512(const float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + k));
  if (k < n) m = _mm512_mask_max_ps(m, static_cast<__mmask16>((1u << (n - k)) - 1), m, _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (n - k)) - 1), x + k));
  return _mm512_reduce_max_ps(m);
}

__attribute__((target("avx512f"))) float sum_exp_avx512(const float* x, int64_t n, float shift) {
  const __m512 s = _mm512_set1_ps(shift);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 32 <= n; k += 32) {
    acc0 = _mm512_add_ps(acc0, exp16(_mm512_sub_ps(_mm512_loadu_ps(x + k), s)));
    acc1 = _mm512_add_ps(acc1, exp16(_mm512_sub_ps(_mm512_loadu_ps(x + k + 16), s)));
  }
  for (; k < n; k += 16) {
    const __mmask16 mask = n - k >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - k)) - 1);
    acc0 = _mm512_mask_add_ps(acc0, mask, acc0, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + k), s)));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

__attribute__((target("avx512f"))) float exp_sum_avx512(const float* x, int64_t n, float shift, float* y) {
  const __m512 s = _mm512_set1_ps(shift);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t k = 0; k < n; k += 16) {
    const __mmask16 mask = n - k >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - k)) - 1);
    const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + k), s));
    _mm512_mask_storeu_ps(y + k, mask, e);
    acc = _mm512_mask_add_ps(acc, mask, acc, e);
  }
  return _mm512_reduce_add_ps(acc);
}

__attribute__((target("avx2,fma"), always_inline)) inline __m256 exp8(__m256 x) {
  EXP_CONSTANTS(__m256, _mm256_set1_ps);
  x = _mm256_max_ps(lo, _mm256_min_ps(hi, x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, ln2_hi, x);
  r = _mm256_fnmadd_ps(n, ln2_lo, r);
  __m256 p = _mm256_fmadd_ps(p0, r, p1);
  p = _mm256_fmadd_ps(p, r, p2);
  p = _mm256_fmadd_ps(p, r, p3);
  p = _mm256_fmadd_ps(p, r, p4);
  p = _mm256_fmadd_ps(p, r, p5);
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, one));
  // 2^n from the exponent bits; n = -127 gives +0 (NaN lanes stay NaN through p).
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

__attribute__((target("avx2,fma"))) __m256i lanes_below(int64_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

__attribute__((target("avx2,fma"))) float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) float max_avx2(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + k));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  float r = max_scalar(lanes, 8, 1);
  for (; k < n; ++k) r = x[k] > r ? x[k] : r;
  return r;
}

__attribute__((target("avx2,fma"))) float sum_exp_avx2(const float* x, int64_t n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    acc0 = _mm256_add_ps(acc0, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + k), s)));
    acc1 = _mm256_add_ps(acc1, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + k + 8), s)));
  }
  for (; k < n; k += 8) {
    const __m256i mask = lanes_below(n - k);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(x + k, mask), s));
    acc0 = _mm256_add_ps(acc0, _mm256_and_ps(e, _mm256_castsi256_ps(mask)));
  }
  return hsum8(_mm256_add_ps(acc0, acc1));
}

__attribute__((target("avx2,fma"))) float exp_sum_avx2(const float* x, int64_t n, float shift, float* y) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t k = 0; k < n; k += 8) {
    const __m256i mask = lanes_below(n - k);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(x + k, mask), s));
    _mm256_maskstore_ps(y + k, mask, e);
    acc = _mm256_add_ps(acc, _mm256_and_ps(e, _mm256_castsi256_ps(mask)));
  }
  return hsum8(acc);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // CONVNET_EXP_X86

const RowKernels kScalar = {
    [](const float* x, int64_t n) { return max_scalar(x, n, 1); },
    [](const float* x, int64_t n, float shift) { return sum_exp_scalar(x, n, 1, shift); },
    [](const float* x, int64_t n, float shift, float* y) { return exp_sum_scalar(x, n, 1, shift, y); },
};

const RowKernels& kernels() {
  static const RowKernels picked = [] {
#if CONVNET_EXP_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return RowKernels{&max_avx512, &sum_exp_avx512, &exp_sum_avx512};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return RowKernels{&max_avx2, &sum_exp_avx2, &exp_sum_avx2};
#endif
    return kScalar;
  }();
  return picked;
}

}  // namespace

float row_max(const float* x, int64_t n, int64_t stride) {
  return stride == 1 ? kernels().max(x, n) : max_scalar(x, n, stride);
}

float row_sum_exp(const float* x, int64_t n, int64_t stride, float shift) {
  return stride == 1 ? kernels().sum_exp(x, n, shift) : sum_exp_scalar(x, n, stride, shift);
}

float row_exp_sum(const float* x, int64_t n, int64_t stride, float shift, float* y) {
  return stride == 1 ? kernels().exp_sum(x, n, shift, y) : exp_sum_scalar(x, n, stride, shift, y);
}

}  // namespace cpu
}  // namespace convnet
