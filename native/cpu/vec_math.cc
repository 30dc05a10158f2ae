// See vec_math.h. Three implementations of each function (AVX-512, AVX2 + FMA, portable; sin,
// cos and expm1 have AVX2 code the AVX-512 path runs too), a table of pointers per path, and the
// choice between them.
//
// Note [exp polynomial]: exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2 with ln 2 split
// in two (Cody-Waite) so r is exact, exp(r) by Cephes' degree-6 expf polynomial on
// |r| <= ln 2 / 2. x is clamped to [-104, 89] first: below, the result is under half the
// smallest subnormal (0); above, over the largest float (inf); n then stays in [-150, 128].
// 2^n is applied in one rounding: scalef on AVX-512; on AVX2 as two factors 2^(n>>1) and
// 2^(n - (n>>1)), each a normal float, so that p * first is exact and only the second product
// rounds (this gives correctly rounded subnormal results, and the same bits as scalef).
// NaN lanes compute exp(clamped) and are put back at the end.
//
// Note [log polynomial]: log(x) = e ln 2 + log(m), x = m 2^e with m in [sqrt(1/2), sqrt(2)),
// log(1 + f) = f - f^2 / 2 + f^3 P(f) with Cephes' degree-8 logf polynomial P, ln 2 split in two
// again. Subnormal inputs are scaled by 2^23 first. Non-positive, infinite and NaN inputs are
// put right at the end (they flow through the arithmetic harmlessly).
//
// Note [sum order]: exp_sum and dot add in 16 float64 lanes (element i to lane i % 16), then
// lane i + 8 into lane i, then i + 4, i + 2, i + 1. sum adds in 32 float64 lanes, and first
// adds each whole chunk of 64 floats in float32, four floats a term: chunk c's term k (k < 16)
// is (c[k] + c[k + 32]) + (c[k + 16] + c[k + 48]), rounded to float32, added into lane k of
// an even chunk, lane 16 + k of an odd one. The elements past the last whole chunk (r of them,
// under 64) go in pairs: lane i (i < 32, i < r) gets rest[i] + rest[i + 32], one float32 term
// (rest[i] alone where i + 32 >= r). Then lane i + 16 into lane i, and on as the 16.
// Why: a float64 sum converts every float (vcvtps2pd, 4 floats a cycle on Zen 3), which bound
// it to 12 floats/ns in the cache where PyTorch's float32 sum reads 14-16 (a mean over maps of
// 784 at 0.6x its speed); with a conversion per 4 floats it runs at the loads' speed (16-20
// floats/ns; /tmp loops, Zen 3, 1 thread). The cost: a term rounds twice in float32, an error
// within 2^-23 of the magnitudes of its four floats, against PyTorch's float32 cascade; then
// float64 (12.8M randn floats: 7.5e-8 of the sum, under half a float32 ulp of the result). Sums
// of integers (counts of masks) stay exact while a term is under 2^24. A plain float64 lane is
// one conversion and one addition an element, and with 16 lanes (two AVX-512 chains) it waited
// on the additions' latency; hence 32, and the two sets of 16 for even and odd chunks. The rest
// once went element by element to lane i % 32, a conversion and a float64 addition each, and
// most sums of short runs were that: a mean over [32, 512, 7, 7]'s maps of 49 (a ResNet's
// global pool) was 8 conversions and 8 additions a map, 1.5x the time of pairs. Why pairs and
// not the rest as one more chunk padded with zeros (fewer conversions still): a term of three
// equal floats rounds (2x + x), and the mean of a constant must be that constant (a constant's
// variance exactly 0); x + x and x + 0 are exact. Every path does exactly this, so the sum of
// the same floats is the same bits on every path.
#include "cpu/vec_math.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>

#include "cpu/cpu_features.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CONVNET_VEC_X86 1
#include <immintrin.h>
#else
#define CONVNET_VEC_X86 0
#endif

namespace convnet {
namespace cpu {
namespace vec {
namespace {

// Cephes' constants (Note [exp polynomial], Note [log polynomial]).
constexpr float kExpHi = 89.0f, kExpLo = -104.0f, kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kExpP0 = 1.9875691500e-4f, kExpP1 = 1.3981999507e-3f, kExpP2 = 8.3334519073e-3f,
                kExpP3 = 4.1665795894e-2f, kExpP4 = 1.6666665459e-1f, kExpP5 = 5.0000001201e-1f;
constexpr float kSqrtHalf = 0.707106781186547524f;
constexpr float kLogP[9] = {7.0376836292e-2f, -1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f, 1.4249322787e-1f,
                            -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f};

struct Kernels {
  const char* name;
  void (*exp)(const float*, float*, int64_t);
  void (*log)(const float*, float*, int64_t);
  float (*max)(const float*, int64_t);
  double (*exp_sum)(const float*, float, float*, int64_t);
  double (*sum)(const float*, int64_t);
  void (*sum_runs)(const float*, int64_t, int64_t, double*);
  double (*nansum)(const float*, int64_t);
  void (*nansum_runs)(const float*, int64_t, int64_t, double*);
  double (*dot)(const float*, const float*, int64_t);
  void (*sigmoid)(const float*, float*, int64_t);
  void (*sin)(const float*, float*, int64_t);
  void (*cos)(const float*, float*, int64_t);
  void (*expm1)(const float*, float*, int64_t);
  void (*tan)(const float*, float*, int64_t);
};

// Note [sum order]: the final reduction of the 16 lanes, from memory (the portable path; the
// SIMD paths reduce in registers: reduce16_avx2, reduce16_avx512). Inlined: as a tail call from
// the AVX-512 functions it once made GCC skip their vzeroupper, and every SSE loop run after them
// on that thread (PReLU, pooling) became several times slower (dirty upper state).
__attribute__((always_inline)) inline double reduce16(const double* lanes) {
  double s[8];
  for (int i = 0; i < 8; ++i) s[i] = lanes[i] + lanes[i + 8];
  for (int i = 0; i < 4; ++i) s[i] += s[i + 4];
  for (int i = 0; i < 2; ++i) s[i] += s[i + 2];
  return s[0] + s[1];
}

// Note [sum order]: sum's 32 lanes: lane i + 16 into lane i, then as reduce16.
__attribute__((always_inline)) inline double reduce32(double* lanes) {
  for (int i = 0; i < 16; ++i) lanes[i] += lanes[i + 16];
  return reduce16(lanes);
}

// ---- portable -------------------------------------------------------------------------------
void exp_portable(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

// sigmoid(x) = (x >= 0 ? 1 : e) / (1 + e) with e = exp(-|x|), which never overflows; the SIMD
// paths compute the same three roundings (exp, the sum, the quotient) in one pass.
void sigmoid_portable(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float e = std::exp(-std::fabs(x[i]));
    y[i] = (x[i] >= 0.0f ? 1.0f : e) / (1.0f + e);
  }
}

void log_portable(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::log(x[i]);
}

float max_portable(const float* x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;  // NaN compares false: ignored
  return m;
}

double exp_sum_portable(const float* x, float shift, float* y, int64_t n) {
  double lanes[16] = {};
  for (int64_t i = 0; i < n; ++i) {
    const float e = std::exp(x[i] - shift);
    if (y) y[i] = e;
    lanes[i & 15] += e;
  }
  return reduce16(lanes);
}

// kSkipNaN (nansum): each NaN read as +0 before any addition, the same order otherwise, so that
// nansum(x) is sum(x with its NaNs replaced by 0) to the bit, on every path.
template <bool kSkipNaN>
inline float number(float v) {
  return kSkipNaN && v != v ? 0.0f : v;
}

template <bool kSkipNaN>
double sum_portable(const float* x, int64_t n) {
  const auto at = [x](int64_t i) { return number<kSkipNaN>(x[i]); };
  double lanes[32] = {};
  int64_t i = 0;
  for (int64_t chunk = 0; i + 64 <= n; i += 64, ++chunk) {  // Note [sum order]'s float32 terms
    double* half = lanes + (chunk & 1) * 16;
    for (int k = 0; k < 16; ++k) {
      const float term = (at(i + k) + at(i + k + 32)) + (at(i + k + 16) + at(i + k + 48));
      half[k] += term;
    }
  }
  for (int64_t k = 0; k < 32 && i + k < n; ++k) {  // the rest in pairs
    const float term = at(i + k) + (i + k + 32 < n ? at(i + k + 32) : 0.0f);
    lanes[k] += term;
  }
  return reduce32(lanes);
}

template <bool kSkipNaN>
void sum_runs_portable(const float* x, int64_t run, int64_t count, double* out) {
  for (int64_t j = 0; j < count; ++j) out[j] = sum_portable<kSkipNaN>(x + j * run, run);
}

double dot_portable(const float* a, const float* b, int64_t n) {
  double lanes[16] = {};
  for (int64_t i = 0; i < n; ++i) lanes[i & 15] += static_cast<double>(a[i]) * b[i];
  return reduce16(lanes);
}

// glibc's sinf and cosf reduce any argument exactly; expm1f keeps small x exact.
void sin_portable(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::sin(x[i]);
}
void cos_portable(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::cos(x[i]);
}
void expm1_portable(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::expm1(x[i]);
}
void tan_portable(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::tan(x[i]);
}

constexpr Kernels kPortable = {"portable",     &exp_portable,     &log_portable, &max_portable, &exp_sum_portable,
                               &sum_portable<false>,  &sum_runs_portable<false>, &sum_portable<true>, &sum_runs_portable<true>, &dot_portable,     &sigmoid_portable, &sin_portable, &cos_portable,
                               &expm1_portable, &tan_portable};

#if CONVNET_VEC_X86
// GCC 12 warns, wrongly, that the _mm512_undefined_ps() inside its own intrinsics is used
// uninitialized (GCC bug 105593), as in gemm.cc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

// ---- AVX-512 --------------------------------------------------------------------------------
#define CONVNET_AVX512 __attribute__((target("avx512f"), always_inline)) inline

// Note [sum order]'s reductions of 16 lanes (lo: lanes 0-7, hi: 8-15) and of 32 (a_k: lanes 8k
// .. 8k + 7) in registers: the same additions as reduce16 and reduce32, which stored the lanes
// and added them as scalars; that was most of a sum of 49 floats (`perf annotate` of
// F.adaptiveAvgPool2d(x, 1) on [32, 512, 7, 7]: 56% of the time in sum_runs_avx512, the vaddsd
// chains first).
CONVNET_AVX512 double reduce16_avx512(__m512d lo, __m512d hi) {
  const __m512d s8 = _mm512_add_pd(lo, hi);                                                       // i + 8
  const __m256d s4 = _mm256_add_pd(_mm512_castpd512_pd256(s8), _mm512_extractf64x4_pd(s8, 1));  // i + 4
  const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));        // i + 2
  return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));                                 // i + 1
}

CONVNET_AVX512 double reduce32_avx512(__m512d a0, __m512d a1, __m512d a2, __m512d a3) {
  return reduce16_avx512(_mm512_add_pd(a0, a2), _mm512_add_pd(a1, a3));                          // i + 16
}

CONVNET_AVX512 __m512 exp16(__m512 x) {
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  const __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(kExpLo)), _mm512_set1_ps(kExpHi));
  const __m512 fn = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(fn, _mm512_set1_ps(kLn2Hi), xc);
  r = _mm512_fnmadd_ps(fn, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kExpP0), r, _mm512_set1_ps(kExpP1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP5));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_mask_blend_ps(nan, _mm512_scalef_ps(p, fn), x);
}

CONVNET_AVX512 __m512 log16(__m512 x) {
  // Subnormals (and 0, fixed below) scaled by 2^23 so that their exponent field is meaningful.
  const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(std::numeric_limits<float>::min()), _CMP_LT_OQ);
  const __m512 xs = _mm512_mask_mul_ps(x, tiny, x, _mm512_set1_ps(8388608.0f));
  const __m512i bits = _mm512_castps_si512(xs);
  __m512i e = _mm512_sub_epi32(_mm512_srli_epi32(bits, 23), _mm512_set1_epi32(126));
  e = _mm512_mask_sub_epi32(e, tiny, e, _mm512_set1_epi32(23));
  // m in [0.5, 1); below sqrt(1/2) take 2m and e - 1, so f = m - 1 is in [-0.29, 0.41] (exact).
  __m512 m = _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi32(0x007fffff)), _mm512_set1_epi32(0x3f000000)));
  const __mmask16 low = _mm512_cmp_ps_mask(m, _mm512_set1_ps(kSqrtHalf), _CMP_LT_OQ);
  e = _mm512_mask_sub_epi32(e, low, e, _mm512_set1_epi32(1));
  m = _mm512_mask_add_ps(m, low, m, m);
  const __m512 f = _mm512_sub_ps(m, _mm512_set1_ps(1.0f));
  const __m512 fe = _mm512_cvtepi32_ps(e);
  const __m512 z = _mm512_mul_ps(f, f);
  __m512 p = _mm512_set1_ps(kLogP[0]);
  for (int k = 1; k < 9; ++k) p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kLogP[k]));
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, f), z);
  y = _mm512_fmadd_ps(fe, _mm512_set1_ps(kLn2Lo), y);
  y = _mm512_fnmadd_ps(z, _mm512_set1_ps(0.5f), y);
  __m512 r = _mm512_fmadd_ps(fe, _mm512_set1_ps(kLn2Hi), _mm512_add_ps(f, y));
  // x == +-0: -inf; x < 0 or NaN: NaN; x == +inf: +inf.
  r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_EQ_OQ), r, _mm512_set1_ps(-INFINITY));
  r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NGE_UQ), r, _mm512_set1_ps(NAN));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(INFINITY), _CMP_EQ_OQ), r, x);
}

CONVNET_AVX512 __mmask16 mask16(int64_t count) {
  if (count <= 0) return 0;
  return count >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << count) - 1);
}

__attribute__((target("avx512f"))) void exp_avx512(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = mask16(n - i);
    _mm512_mask_storeu_ps(y + i, m, exp16(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

__attribute__((target("avx512f"))) void sigmoid_avx512(const float* x, float* y, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = mask16(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    const __m512 e = exp16(_mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(v), sign)));  // exp(-|x|)
    const __m512 num = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GE_OQ), e, one);
    _mm512_mask_storeu_ps(y + i, m, _mm512_div_ps(num, _mm512_add_ps(one, e)));
  }
}

__attribute__((target("avx512f"))) void log_avx512(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = mask16(n - i);
    _mm512_mask_storeu_ps(y + i, m, log16(_mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), m, x + i)));
  }
}

__attribute__((target("avx512f"))) float max_avx512(const float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n; i += 16) {
    // max(new, m) returns m where new is NaN: NaN is ignored, as in the portable loop.
    m = _mm512_max_ps(_mm512_mask_loadu_ps(m, mask16(n - i), x + i), m);
  }
  return _mm512_reduce_max_ps(m);
}

__attribute__((target("avx512f"))) double exp_sum_avx512(const float* x, float shift, float* y, int64_t n) {
  const __m512 s = _mm512_set1_ps(shift);
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();  // lanes 0-7 and 8-15
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = mask16(n - i);
    const __m512 e = _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), s)));
    if (y) _mm512_mask_storeu_ps(y + i, m, e);
    lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
  }
  return reduce16_avx512(lo, hi);
}

CONVNET_AVX512 __m512d lo8(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
CONVNET_AVX512 __m512d hi8(__m512 v) {
  return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

// kSkipNaN: each NaN loaded as +0 (sum_portable's rule).
template <bool kSkipNaN>
__attribute__((target("avx512f"), always_inline)) inline __m512 numbers16(__m512 v) {
  return kSkipNaN ? _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v) : v;
}

template <bool kSkipNaN>
__attribute__((target("avx512f"))) double sum_avx512(const float* x, int64_t n) {
  // Note [sum order]'s 32 lanes in four chains: acc[0], acc[1] are lanes 0 .. 15, acc[2], acc[3]
  // lanes 16 .. 31 (the odd chunks' terms).
  __m512d acc[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd()};
  const auto load = [&](const float* c) __attribute__((target("avx512f"))) { return numbers16<kSkipNaN>(_mm512_loadu_ps(c)); };
  const auto terms = [&](const float* c) __attribute__((target("avx512f"))) {
    return _mm512_add_ps(_mm512_add_ps(load(c), load(c + 32)), _mm512_add_ps(load(c + 16), load(c + 48)));
  };
  int64_t i = 0;
  for (; i + 128 <= n; i += 128) {
    const __m512 even = terms(x + i), odd = terms(x + i + 64);
    acc[0] = _mm512_add_pd(acc[0], lo8(even));
    acc[1] = _mm512_add_pd(acc[1], hi8(even));
    acc[2] = _mm512_add_pd(acc[2], lo8(odd));
    acc[3] = _mm512_add_pd(acc[3], hi8(odd));
  }
  if (i + 64 <= n) {  // one more (even) chunk
    const __m512 even = terms(x + i);
    acc[0] = _mm512_add_pd(acc[0], lo8(even));
    acc[1] = _mm512_add_pd(acc[1], hi8(even));
    i += 64;
  }
  // The rest in pairs (Note [sum order]): masked loads, a load past n masked off whole.
  if (i < n) {
    const int64_t r = n - i;
    const auto pairs = [&](int64_t at) __attribute__((target("avx512f"), always_inline)) {
      return _mm512_add_ps(numbers16<kSkipNaN>(_mm512_maskz_loadu_ps(mask16(r - at), x + i + at)),
                           numbers16<kSkipNaN>(_mm512_maskz_loadu_ps(mask16(r - at - 32), x + i + at + 32)));
    };
    const __m512 low = pairs(0), high = pairs(16);
    acc[0] = _mm512_add_pd(acc[0], lo8(low));
    acc[1] = _mm512_add_pd(acc[1], hi8(low));
    acc[2] = _mm512_add_pd(acc[2], lo8(high));
    acc[3] = _mm512_add_pd(acc[3], hi8(high));
  }
  return reduce32_avx512(acc[0], acc[1], acc[2], acc[3]);
}

__attribute__((target("avx512f"))) double dot_avx512(const float* a, const float* b, int64_t n) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = mask16(n - i);
    const __m512 va = _mm512_maskz_loadu_ps(m, a + i), vb = _mm512_maskz_loadu_ps(m, b + i);
    lo = _mm512_fmadd_pd(lo8(va), lo8(vb), lo);  // the product is exact: fma == mul + add
    hi = _mm512_fmadd_pd(hi8(va), hi8(vb), hi);
  }
  return reduce16_avx512(lo, hi);
}

#undef CONVNET_AVX512

// sin, cos, tan and expm1 have an AVX2 implementation only (below), which every AVX-512 CPU
// runs: the same bits on both paths.
__attribute__((target("avx2,fma"))) void sin_avx2(const float* x, float* y, int64_t n);
__attribute__((target("avx2,fma"))) void tan_avx2(const float* x, float* y, int64_t n);
__attribute__((target("avx2,fma"))) void cos_avx2(const float* x, float* y, int64_t n);
__attribute__((target("avx2,fma"))) void expm1_avx2(const float* x, float* y, int64_t n);

// sum_runs: sum inlined into the loop (flatten), so that no call, and no vzeroupper, separates
// one short run from the next (see sum_runs_avx2).
template <bool kSkipNaN>
__attribute__((target("avx512f"), flatten)) void sum_runs_avx512(const float* x, int64_t run, int64_t count, double* out) {
  for (int64_t j = 0; j < count; ++j) out[j] = sum_avx512<kSkipNaN>(x + j * run, run);
}

constexpr Kernels kAvx512 = {"avx512",    &exp_avx512,     &log_avx512, &max_avx512, &exp_sum_avx512, &sum_avx512<false>,
                             &sum_runs_avx512<false>, &sum_avx512<true>, &sum_runs_avx512<true>, &dot_avx512, &sigmoid_avx512, &sin_avx2,   &cos_avx2,   &expm1_avx2, &tan_avx2};

// ---- AVX2 + FMA: the same arithmetic, 8 lanes -----------------------------------------------
#define CONVNET_AVX2 __attribute__((target("avx2,fma"), always_inline)) inline

CONVNET_AVX2 __m256 exp8(__m256 x) {
  const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kExpLo)), _mm256_set1_ps(kExpHi));
  const __m256 fn = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(kLn2Hi), xc);
  r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kExpP0), r, _mm256_set1_ps(kExpP1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP5));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i n = _mm256_cvtps_epi32(fn);
  const __m256i half = _mm256_srai_epi32(n, 1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(n, half), bias), 23));
  return _mm256_blendv_ps(_mm256_mul_ps(_mm256_mul_ps(p, s1), s2), x, nan);
}

CONVNET_AVX2 __m256 log8(__m256 x) {
  const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(std::numeric_limits<float>::min()), _CMP_LT_OQ);
  const __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(8388608.0f)), tiny);
  const __m256i bits = _mm256_castps_si256(xs);
  __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126));
  e = _mm256_sub_epi32(e, _mm256_and_si256(_mm256_castps_si256(tiny), _mm256_set1_epi32(23)));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f000000)));
  const __m256 low = _mm256_cmp_ps(m, _mm256_set1_ps(kSqrtHalf), _CMP_LT_OQ);
  e = _mm256_add_epi32(e, _mm256_castps_si256(low));  // low lanes are all ones: -1
  m = _mm256_add_ps(m, _mm256_and_ps(m, low));
  const __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
  const __m256 fe = _mm256_cvtepi32_ps(e);
  const __m256 z = _mm256_mul_ps(f, f);
  __m256 p = _mm256_set1_ps(kLogP[0]);
  for (int k = 1; k < 9; ++k) p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kLogP[k]));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, f), z);
  y = _mm256_fmadd_ps(fe, _mm256_set1_ps(kLn2Lo), y);
  y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
  __m256 r = _mm256_fmadd_ps(fe, _mm256_set1_ps(kLn2Hi), _mm256_add_ps(f, y));
  r = _mm256_blendv_ps(r, _mm256_set1_ps(-INFINITY), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
  r = _mm256_blendv_ps(r, _mm256_set1_ps(NAN), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NGE_UQ));
  return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, _mm256_set1_ps(INFINITY), _CMP_EQ_OQ));
}

// Tails go through a small buffer rather than vmaskmov: masked stores are slow on AMD CPUs.
// `pad` fills the unused lanes with a harmless argument.
#define CONVNET_MAP_AVX2(name, f, pad)                                               \
  __attribute__((target("avx2,fma"))) void name(const float* x, float* y, int64_t n) { \
    int64_t i = 0;                                                                   \
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));   \
    if (i < n) {                                                                     \
      alignas(32) float buf[8] = {pad, pad, pad, pad, pad, pad, pad, pad};           \
      std::memcpy(buf, x + i, (n - i) * sizeof(float));                              \
      _mm256_store_ps(buf, f(_mm256_load_ps(buf)));                                  \
      std::memcpy(y + i, buf, (n - i) * sizeof(float));                              \
    }                                                                                \
  }
CONVNET_AVX2 __m256 sigmoid8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp8(_mm256_or_ps(x, _mm256_set1_ps(-0.0f)));  // exp(-|x|)
  const __m256 num = _mm256_blendv_ps(e, one, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
  return _mm256_div_ps(num, _mm256_add_ps(one, e));
}

// Note [sin and cos]: x = q pi/2 + z, q = round(|x| 2/pi), |z| <= pi/4, all in float64: z
// from pi/2 split in two (fdlibm's pio2_1, 33 bits, and pio2_1t), q pio2_1 exact for q < 2^20,
// so z is good to ~1e-16 absolute, which float32 results need near multiples of pi
// (sin(3.1415927f) = -8.7e-8). Then Cephes' sinf and cosf polynomials on z, still in float64
// (in float32 they were 1.8 ulp off), picked and signed by q's quadrant (cos is sin a quadrant
// on), and one rounding to float32. Lanes past 2^20, infinite or NaN take glibc's sinf / cosf
// instead, which reduce any argument exactly (trig8).
constexpr float kTrigMax = 1048576.0f;  // 2^20
constexpr double kPio2Hi = 1.57079632673412561417e+00, kPio2Lo = 6.07710050650619224932e-11;
constexpr float kSinP0 = -1.9515295891e-4f, kSinP1 = 8.3321608736e-3f, kSinP2 = -1.6666654611e-1f;
constexpr float kCosP0 = 2.443315711809948e-5f, kCosP1 = -1.388731625493765e-3f, kCosP2 = 4.166664568298827e-2f;

// Cephes' sinf and cosf polynomials on four float64 z: sin(z) and cos(z).
CONVNET_AVX2 void sincos_poly4(__m256d z, __m256d* sin_z, __m256d* cos_z) {
  const __m256d zz = _mm256_mul_pd(z, z);
  __m256d s = _mm256_fmadd_pd(_mm256_set1_pd(kSinP0), zz, _mm256_set1_pd(kSinP1));
  s = _mm256_fmadd_pd(s, zz, _mm256_set1_pd(kSinP2));
  *sin_z = _mm256_fmadd_pd(_mm256_mul_pd(s, zz), z, z);
  __m256d c = _mm256_fmadd_pd(_mm256_set1_pd(kCosP0), zz, _mm256_set1_pd(kCosP1));
  c = _mm256_fmadd_pd(c, zz, _mm256_set1_pd(kCosP2));
  *cos_z = _mm256_fmadd_pd(_mm256_mul_pd(c, zz), zz, _mm256_fnmadd_pd(_mm256_set1_pd(0.5), zz, _mm256_set1_pd(1.0)));
}

// Four lanes of sincos8: q = round(|x| 2/pi) (as int32), and sin(z), cos(z) rounded to float32.
CONVNET_AVX2 __m128i sincos4(__m128 ax, __m128* sin_z, __m128* cos_z) {
  const __m256d axd = _mm256_cvtps_pd(ax);
  const __m256d q = _mm256_round_pd(_mm256_mul_pd(axd, _mm256_set1_pd(0.63661977236758134)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256d z = _mm256_fnmadd_pd(q, _mm256_set1_pd(kPio2Lo), _mm256_fnmadd_pd(q, _mm256_set1_pd(kPio2Hi), axd));
  __m256d s, c;
  sincos_poly4(z, &s, &c);
  *sin_z = _mm256_cvtpd_ps(s);
  *cos_z = _mm256_cvtpd_ps(c);
  return _mm256_cvtpd_epi32(q);
}

CONVNET_AVX2 __m256 sincos8(__m256 x, int quadrant_shift, bool odd) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  const __m256 ax = _mm256_andnot_ps(sign_bit, x);
  __m128 s_lo, c_lo, s_hi, c_hi;
  const __m128i q_lo = sincos4(_mm256_castps256_ps128(ax), &s_lo, &c_lo);
  const __m128i q_hi = sincos4(_mm256_extractf128_ps(ax, 1), &s_hi, &c_hi);
  const __m256 ps = _mm256_set_m128(s_hi, s_lo), pc = _mm256_set_m128(c_hi, c_lo);
  // quadrant k = q + shift: k odd takes the cosine polynomial, k & 2 negates; sin is odd in x.
  const __m256i k = _mm256_add_epi32(_mm256_set_m128i(q_hi, q_lo), _mm256_set1_epi32(quadrant_shift));
  const __m256 use_cos = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(k, _mm256_set1_epi32(1)), _mm256_set1_epi32(1)));
  __m256 flip = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(k, _mm256_set1_epi32(2)), 30));
  if (odd) flip = _mm256_xor_ps(flip, _mm256_and_ps(x, sign_bit));
  return _mm256_xor_ps(_mm256_blendv_ps(ps, pc, use_cos), flip);
}

// Note [expm1]: expm1(x) = 2^n (expm1(r) + 1) - 1 = 2^n expm1(r) + (2^n - 1), n = round(x /
// ln 2), r = x - n ln 2, expm1(r) = r + r^2 P(r) with exp's polynomial P (Note [exp
// polynomial]; exp8 adds 1 to it), all in float64 and rounded once at the end: n = 0 for |x| <
// ln 2 / 2, so small x stay exact. x is clamped to [-30, 89] first (below -30 the result rounds
// to -1, above 88.73 to inf); expm1(-0) = -0, NaN stays NaN.
CONVNET_AVX2 __m128 expm1_4(__m128 x) {
  const __m256d xd = _mm256_cvtps_pd(x);
  const __m256d fn = _mm256_round_pd(_mm256_mul_pd(xd, _mm256_set1_pd(1.4426950408889634)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256d r = _mm256_fnmadd_pd(fn, _mm256_set1_pd(0.6931471805599453), xd);  // |n| <= 129: its error ~1e-14 r at most
  __m256d p = _mm256_fmadd_pd(_mm256_set1_pd(kExpP0), r, _mm256_set1_pd(kExpP1));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(kExpP2));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(kExpP3));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(kExpP4));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(kExpP5));
  const __m256d em = _mm256_fmadd_pd(_mm256_mul_pd(p, r), r, r);
  const __m256i n = _mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(fn));
  const __m256d t = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(n, _mm256_set1_epi64x(1023)), 52));
  return _mm256_cvtpd_ps(_mm256_fmadd_pd(t, em, _mm256_sub_pd(t, _mm256_set1_pd(1.0))));
}

CONVNET_AVX2 __m256 expm1_8(__m256 x) {
  const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-30.0f)), _mm256_set1_ps(89.0f));  // NaN: -30
  const __m256 y = _mm256_set_m128(expm1_4(_mm256_extractf128_ps(xc, 1)), expm1_4(_mm256_castps256_ps128(xc)));
  const __m256 keep = _mm256_or_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));  // NaN, +-0
  return _mm256_blendv_ps(y, x, keep);
}

// sin or cos of 8 lanes; a lane past 2^20, infinite or NaN is glibc's, which reduces any
// argument exactly (sincos8's result for it is thrown away).
CONVNET_AVX2 __m256 trig8(__m256 x, bool cos) {
  __m256 r = sincos8(x, cos ? 1 : 0, !cos);
  const __m256 in_range = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), _mm256_set1_ps(kTrigMax), _CMP_LE_OQ);
  if (_mm256_movemask_ps(in_range) != 0xFF) {
    alignas(32) float xs[8], rs[8];
    _mm256_store_ps(xs, x);
    _mm256_store_ps(rs, r);
    for (int l = 0; l < 8; ++l)
      if (!(std::fabs(xs[l]) <= kTrigMax)) rs[l] = cos ? std::cos(xs[l]) : std::sin(xs[l]);
    r = _mm256_load_ps(rs);
  }
  return r;
}
CONVNET_AVX2 __m256 sin8(__m256 x) { return trig8(x, false); }
CONVNET_AVX2 __m256 cos8(__m256 x) { return trig8(x, true); }

// tan of four |x| within 2^20: Note [sin and cos]'s reduction and polynomials, then sin(z) /
// cos(z) for an even quadrant and -cos(z) / sin(z) for an odd one (tan(z + pi/2) = -cot(z)),
// divided in float64 and rounded once (sin and cos rounded to float32 first, then divided, gave
// 2 ulp, and reduced x twice: 0.78x PyTorch's speed on [8, 64, 56, 56]).
CONVNET_AVX2 __m128 tan4(__m128 ax) {
  const __m256d axd = _mm256_cvtps_pd(ax);
  const __m256d q = _mm256_round_pd(_mm256_mul_pd(axd, _mm256_set1_pd(0.63661977236758134)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256d z = _mm256_fnmadd_pd(q, _mm256_set1_pd(kPio2Lo), _mm256_fnmadd_pd(q, _mm256_set1_pd(kPio2Hi), axd));
  __m256d s, c;
  sincos_poly4(z, &s, &c);
  const __m256i odd64 = _mm256_cvtepi32_epi64(_mm_and_si128(_mm256_cvtpd_epi32(q), _mm_set1_epi32(1)));
  const __m256d odd = _mm256_castsi256_pd(_mm256_cmpeq_epi64(odd64, _mm256_set1_epi64x(1)));
  const __m256d num = _mm256_blendv_pd(s, _mm256_xor_pd(c, _mm256_set1_pd(-0.0)), odd);
  const __m256d den = _mm256_blendv_pd(c, s, odd);
  return _mm256_cvtpd_ps(_mm256_div_pd(num, den));
}

// tan of 8 lanes, odd in x; a lane past 2^20, infinite or NaN is glibc's (as trig8).
CONVNET_AVX2 __m256 tan8(__m256 x) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  const __m256 ax = _mm256_andnot_ps(sign_bit, x);
  const __m256 t = _mm256_set_m128(tan4(_mm256_extractf128_ps(ax, 1)), tan4(_mm256_castps256_ps128(ax)));
  __m256 r = _mm256_xor_ps(t, _mm256_and_ps(x, sign_bit));
  const __m256 in_range = _mm256_cmp_ps(ax, _mm256_set1_ps(kTrigMax), _CMP_LE_OQ);
  if (_mm256_movemask_ps(in_range) != 0xFF) {
    alignas(32) float xs[8], rs[8];
    _mm256_store_ps(xs, x);
    _mm256_store_ps(rs, r);
    for (int l = 0; l < 8; ++l)
      if (!(std::fabs(xs[l]) <= kTrigMax)) rs[l] = std::tan(xs[l]);
    r = _mm256_load_ps(rs);
  }
  return r;
}

CONVNET_MAP_AVX2(exp_avx2, exp8, 0.0f)
CONVNET_MAP_AVX2(expm1_avx2, expm1_8, 0.0f)
CONVNET_MAP_AVX2(sin_avx2, sin8, 0.0f)
CONVNET_MAP_AVX2(cos_avx2, cos8, 0.0f)
CONVNET_MAP_AVX2(tan_avx2, tan8, 0.0f)
CONVNET_MAP_AVX2(sigmoid_avx2, sigmoid8, 0.0f)
CONVNET_MAP_AVX2(log_avx2, log8, 1.0f)
#undef CONVNET_MAP_AVX2

__attribute__((target("avx2,fma"))) float max_avx2(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);  // NaN ignored (see max_avx512)
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  float best = max_portable(lanes, 8);
  for (; i < n; ++i) best = x[i] > best ? x[i] : best;
  return best;
}

// Adds the 8 floats of v to lanes [0, 4) and [4, 8) of a 16-lane float64 accumulator.
CONVNET_AVX2 void add8(__m256d* a, __m256d* b, __m256 v) {
  *a = _mm256_add_pd(*a, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  *b = _mm256_add_pd(*b, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

// Note [sum order]'s reduction of 16 lanes held in registers (a_k: lanes 4k .. 4k + 3), as
// reduce16 does from memory: the same additions, without storing the lanes.
CONVNET_AVX2 double reduce16_avx2(__m256d a0, __m256d a1, __m256d a2, __m256d a3) {
  const __m256d s4 = _mm256_add_pd(_mm256_add_pd(a0, a2), _mm256_add_pd(a1, a3));           // i + 8, then i + 4
  const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));  // i + 2
  return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));                           // i + 1
}

// Lanes [0, r) set (r may be <= 0 or >= 8): a mask for _mm256_maskload_ps, which reads 0.0 in
// the others, as Note [sum order]'s zero-padded tail.
CONVNET_AVX2 __m256i first_lanes8(int64_t r) {
  const int32_t k = static_cast<int32_t>(std::clamp<int64_t>(r, 0, 8));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

__attribute__((target("avx2,fma"))) double exp_sum_avx2(const float* x, float shift, float* y, int64_t n) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 e0 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    const __m256 e1 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), s));
    if (y) {
      _mm256_storeu_ps(y + i, e0);
      _mm256_storeu_ps(y + i + 8, e1);
    }
    add8(&acc[0], &acc[1], e0);
    add8(&acc[2], &acc[3], e1);
  }
  if (i < n) {  // the last < 16: lanes past the end add +0 (Note [sum order] holds)
    alignas(32) float buf[16] = {};
    std::memcpy(buf, x + i, (n - i) * sizeof(float));
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 in0 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)), index));
    const __m256 in1 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i - 8)), index));
    const __m256 e0 = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_load_ps(buf), s)), in0);
    const __m256 e1 = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_load_ps(buf + 8), s)), in1);
    if (y) {
      _mm256_store_ps(buf, e0);
      _mm256_store_ps(buf + 8, e1);
      std::memcpy(y + i, buf, (n - i) * sizeof(float));
    }
    add8(&acc[0], &acc[1], e0);
    add8(&acc[2], &acc[3], e1);
  }
  return reduce16_avx2(acc[0], acc[1], acc[2], acc[3]);
}

CONVNET_AVX2 __m256d lo4(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
CONVNET_AVX2 __m256d hi4(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

// dot of 16 floats at a time into 4 x 4 float64 lanes (Note [sum order]'s 16); the tail by
// masked loads (0.0 past the end), the lanes reduced in registers (see sum_avx2).
__attribute__((target("avx2,fma"))) double dot_avx2(const float* a, const float* b, int64_t n) {
  __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
  const auto add16 = [&](__m256 va0, __m256 vb0, __m256 va1, __m256 vb1) __attribute__((target("avx2,fma"))) {
    a0 = _mm256_fmadd_pd(lo4(va0), lo4(vb0), a0);  // the product is exact: fma == mul + add
    a1 = _mm256_fmadd_pd(hi4(va0), hi4(vb0), a1);
    a2 = _mm256_fmadd_pd(lo4(va1), lo4(vb1), a2);
    a3 = _mm256_fmadd_pd(hi4(va1), hi4(vb1), a3);
  };
  // The whole vectors 4 floats a load, converted from memory (as sum_avx2 does).
  const auto fma4 = [](__m256d* acc, const float* pa, const float* pb) __attribute__((target("avx2,fma"))) {
    *acc = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(pa)), _mm256_cvtps_pd(_mm_loadu_ps(pb)), *acc);
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    fma4(&a0, a + i, b + i);
    fma4(&a1, a + i + 4, b + i + 4);
    fma4(&a2, a + i + 8, b + i + 8);
    fma4(&a3, a + i + 12, b + i + 12);
  }
  if (i < n) {
    const __m256i m0 = first_lanes8(n - i), m1 = first_lanes8(n - i - 8);
    add16(_mm256_maskload_ps(a + i, m0), _mm256_maskload_ps(b + i, m0), _mm256_maskload_ps(a + i + 8, m1), _mm256_maskload_ps(b + i + 8, m1));
  }
  return reduce16_avx2(a0, a1, a2, a3);
}

// Note [sum order]'s 32 lanes in 8 x 4 float64 accumulators (a_k: lanes 4k .. 4k + 3): the
// chunks of 64 floats in pairs, each chunk's 16 float32 terms converted 4 at a time (the
// conversions bound the loop: one per 4 floats cost a cycle); then the rest, under 64 floats,
// 4 a conversion, and a masked tail; the lanes reduced in registers, in the Note's order.
// A zeroed tail buffer and lanes stored for reduce32 took a third of the time of a sum of
// 784 floats (two `rep stos` and the stores: `perf annotate`), which a mean over [N, C, 28,
// 28]'s maps pays once a map: 1 thread, in the cache, 0.19-0.22 -> 0.12-0.15 ms for [16, 64,
// 28, 28] with vec::sum_runs (`node dist/bench/tensor-ops.js --threads 1 --only 'dims 2, 3
// of'`; PyTorch 0.06-0.09, summing in float32).
template <bool kSkipNaN>
__attribute__((target("avx2,fma"), always_inline)) inline __m256 numbers8(__m256 v) {
  return kSkipNaN ? _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)) : v;
}

template <bool kSkipNaN>
__attribute__((target("avx2,fma"))) double sum_avx2(const float* x, int64_t n) {
  // Eight named accumulators: as an array GCC zeroed it on the stack with a `rep stos` per call.
  __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  // Terms k .. k + 7 of the chunk at c (k = 0 or 8).
  const auto load = [&](const float* c) __attribute__((target("avx2,fma"))) { return numbers8<kSkipNaN>(_mm256_loadu_ps(c)); };
  const auto terms = [&](const float* c) __attribute__((target("avx2,fma"))) {
    return _mm256_add_ps(_mm256_add_ps(load(c), load(c + 32)), _mm256_add_ps(load(c + 16), load(c + 48)));
  };
  int64_t i = 0;
  for (; i + 128 <= n; i += 128) {
    add8(&a0, &a1, terms(x + i));
    add8(&a2, &a3, terms(x + i + 8));
    add8(&a4, &a5, terms(x + i + 64));
    add8(&a6, &a7, terms(x + i + 72));
  }
  if (i + 64 <= n) {  // one more (even) chunk
    add8(&a0, &a1, terms(x + i));
    add8(&a2, &a3, terms(x + i + 8));
    i += 64;
  }
  // The rest in pairs (Note [sum order]): whole vectors loaded plainly, the one across n masked,
  // those past it masked off whole (a masked load faults on no lane it leaves out).
  if (i < n) {
    const int64_t r = n - i;
    const auto part = [&](int64_t at) __attribute__((target("avx2,fma"))) {
      return numbers8<kSkipNaN>(r - at >= 8 ? _mm256_loadu_ps(x + i + at) : _mm256_maskload_ps(x + i + at, first_lanes8(r - at)));
    };
    const auto pairs = [&](int64_t k) __attribute__((target("avx2,fma"))) { return _mm256_add_ps(part(k), part(k + 32)); };
    add8(&a0, &a1, pairs(0));
    if (r > 8) add8(&a2, &a3, pairs(8));
    if (r > 16) add8(&a4, &a5, pairs(16));
    if (r > 24) add8(&a6, &a7, pairs(24));
  }
  // a_k holds lanes 4k .. 4k + 3: lane i + 16 into lane i, then as 16 lanes.
  return reduce16_avx2(_mm256_add_pd(a0, a4), _mm256_add_pd(a1, a5), _mm256_add_pd(a2, a6), _mm256_add_pd(a3, a7));
}

// sum_avx2 inlined into a loop over runs (flatten): a mean over [32, 512, 7, 7]'s maps called
// vec::sum once a map of 49, through the dispatch, each call ending in a vzeroupper and a chain
// of dependent additions that the next call's could not overlap.
template <bool kSkipNaN>
__attribute__((target("avx2,fma"), flatten)) void sum_runs_avx2(const float* x, int64_t run, int64_t count, double* out) {
  for (int64_t j = 0; j < count; ++j) out[j] = sum_avx2<kSkipNaN>(x + j * run, run);
}

#undef CONVNET_AVX2

constexpr Kernels kAvx2 = {"avx2",    &exp_avx2,     &log_avx2, &max_avx2, &exp_sum_avx2, &sum_avx2<false>,
                           &sum_runs_avx2<false>, &sum_avx2<true>, &sum_runs_avx2<true>, &dot_avx2, &sigmoid_avx2, &sin_avx2, &cos_avx2, &expm1_avx2, &tan_avx2};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // CONVNET_VEC_X86

bool cpu_can_run(const Kernels& k) {
#if CONVNET_VEC_X86
  if (&k == &kAvx512) return cpu_has_avx512();
  if (&k == &kAvx2) return cpu_has_avx2_fma();
#endif
  return &k == &kPortable;
}

const Kernels* detect() {
#if CONVNET_VEC_X86
  if (cpu_can_run(kAvx512)) return &kAvx512;
  if (cpu_can_run(kAvx2)) return &kAvx2;
#endif
  return &kPortable;
}

std::atomic<const Kernels*> g_forced{nullptr};

inline const Kernels& active() {
  static const Kernels* const detected = detect();
  const Kernels* forced = g_forced.load(std::memory_order_relaxed);
  return forced ? *forced : *detected;
}

}  // namespace

void exp(const float* x, float* y, int64_t n) { active().exp(x, y, n); }
void log(const float* x, float* y, int64_t n) { active().log(x, y, n); }
float max(const float* x, int64_t n) { return active().max(x, n); }
double exp_sum(const float* x, float shift, float* y, int64_t n) { return active().exp_sum(x, shift, y, n); }
double sum(const float* x, int64_t n) { return active().sum(x, n); }
void sum_runs(const float* x, int64_t run, int64_t count, double* out) { active().sum_runs(x, run, count, out); }
double nansum(const float* x, int64_t n) { return active().nansum(x, n); }
void nansum_runs(const float* x, int64_t run, int64_t count, double* out) { active().nansum_runs(x, run, count, out); }
double dot(const float* a, const float* b, int64_t n) { return active().dot(a, b, n); }
void sigmoid(const float* x, float* y, int64_t n) { active().sigmoid(x, y, n); }
void sin(const float* x, float* y, int64_t n) { active().sin(x, y, n); }
void cos(const float* x, float* y, int64_t n) { active().cos(x, y, n); }
void expm1(const float* x, float* y, int64_t n) { active().expm1(x, y, n); }
void tan(const float* x, float* y, int64_t n) { active().tan(x, y, n); }

const char* path() { return active().name; }

namespace {
const Kernels* find(const char* name) {
#if CONVNET_VEC_X86
  for (const Kernels* k : {&kAvx512, &kAvx2, &kPortable}) {
#else
  for (const Kernels* k : {&kPortable}) {
#endif
    if (std::strcmp(k->name, name) == 0 && cpu_can_run(*k)) return k;
  }
  return nullptr;
}
}  // namespace

bool can_run(const char* name) { return name && find(name); }

bool force_path(const char* name) {
  const Kernels* k = name ? find(name) : nullptr;
  if (name && !k) return false;
  g_forced.store(k);
  return true;
}

}  // namespace vec
}  // namespace cpu
}  // namespace convnet
