// Softmax and log-softmax along one axis (x viewed as [outer, L, inner], the axis of length L).
//   softmax:     y = exp(x - max) * (1 / sum(exp(x - max)))
//   logSoftmax:  y = (x - max) - log(sum(exp(x - max)))
// The max is subtracted first so that large inputs (1000, 1e30) do not overflow; sums are in
// float64. A NaN anywhere in a slice makes the whole slice NaN; a slice of -inf only is NaN
// (as PyTorch). Backward (y is the forward's output):
//   softmax:     dx = y * (dy - sum(dy * y))
//   logSoftmax:  dx = dy - exp(y) * sum(dy)
//
// exp is the hot spot: std::exp is one library call per element (5-10x slower than PyTorch's
// SLEEF vector exp), and GCC will not vectorise a portable polynomial under its default
// -ftrapping-math. So on CPUs with AVX2 and FMA the row primitives below use exp8(), Cephes'
// expf on 8 lanes (max error about 1 ulp; NaN, +-inf and subnormal results handled); other
// CPUs use std::exp. Results are fixed per machine, for any thread count.
#include <cmath>
#include <cstring>
#include <vector>

#include <immintrin.h>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace cpu {
namespace {

// ---- AVX2 + FMA primitives ------------------------------------------------------------------
#define CONVNET_AVX2 __attribute__((target("avx2,fma")))

CONVNET_AVX2 inline __m256i tail_mask(int64_t n) {  // lanes [0, n) of 8 on
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

CONVNET_AVX2 inline __m256 exp8(__m256 x) {
  // Clamp so that n stays in [-151, 129] (beyond, the result is 0 or inf anyway); NaN lanes
  // compute exp(0) and get NaN back at the end.
  const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(89.0f));
  xc = _mm256_andnot_ps(nan, xc);
  // x = n ln2 + r, |r| <= ln2 / 2 (Cody-Waite: ln2 in two parts).
  const __m256 fn = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n as two factors 2^(n>>1) 2^(n - (n>>1)), each a normal float, so subnormal results are right.
  const __m256i n = _mm256_cvtps_epi32(fn);
  const __m256i half = _mm256_srai_epi32(n, 1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(n, half), bias), 23));
  const __m256 e = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  return _mm256_blendv_ps(e, x, nan);
}

CONVNET_AVX2 inline double hsum(__m256d a) {
  double v[4];
  _mm256_storeu_pd(v, a);
  return (v[0] + v[1]) + (v[2] + v[3]);
}

// Adds the 8 floats of v to two float64 accumulators.
CONVNET_AVX2 inline void acc8(__m256d* lo, __m256d* hi, __m256 v) {
  *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

CONVNET_AVX2 float max_avx2(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
  float v[8];
  _mm256_storeu_ps(v, m);
  float best = v[0];
  for (int k = 1; k < 8; ++k) best = v[k] > best ? v[k] : best;
  for (; i < n; ++i) best = x[i] > best ? x[i] : best;
  return best;
}

// out[i] = exp(x[i] - shift) (out may be null) and returns the float64 sum of these.
CONVNET_AVX2 double exp_sum_avx2(const float* x, float shift, float* out, int64_t n) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  const __m256 s = _mm256_set1_ps(shift);
  int64_t i = 0;
  // Whole vectors first: masked loads and stores are slow on some CPUs (microcoded on AMD Zen).
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    if (out) _mm256_storeu_ps(out + i, e);
    acc8(&lo, &hi, e);
  }
  if (i < n) {
    const __m256i mask = tail_mask(n - i);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(x + i, mask), s));
    if (out) _mm256_maskstore_ps(out + i, mask, e);
    acc8(&lo, &hi, _mm256_and_ps(e, _mm256_castsi256_ps(mask)));  // tail lanes add 0
  }
  return hsum(_mm256_add_pd(lo, hi));
}

// Columns: e = exp(x[i] - m[i]); out[i] = e (out may be null); sum[i] += e.
CONVNET_AVX2 void exp_cols_avx2(const float* x, const float* m, float* out, double* sum, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const __m256i mask = tail_mask(n - i);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(x + i, mask), _mm256_maskload_ps(m + i, mask)));
    if (out) _mm256_maskstore_ps(out + i, mask, e);
    const __m256i mask_lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(mask));
    const __m256i mask_hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(mask, 1));
    __m256d lo = _mm256_maskload_pd(sum + i, mask_lo), hi = _mm256_maskload_pd(sum + i + 4, mask_hi);
    acc8(&lo, &hi, e);
    _mm256_maskstore_pd(sum + i, mask_lo, lo);
    _mm256_maskstore_pd(sum + i + 4, mask_hi, hi);
  }
}

// dx[i] = dy[i] - exp(y[i]) * s
CONVNET_AVX2 void dy_minus_exp_avx2(const float* dy, const float* y, const float* s, bool per_column, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const __m256i mask = tail_mask(n - i);
    const __m256 sv = per_column ? _mm256_maskload_ps(s + i, mask) : _mm256_set1_ps(*s);
    const __m256 e = exp8(_mm256_maskload_ps(y + i, mask));
    _mm256_maskstore_ps(dx + i, mask, _mm256_fnmadd_ps(e, sv, _mm256_maskload_ps(dy + i, mask)));
  }
}

#undef CONVNET_AVX2

// ---- the same primitives, portable ----------------------------------------------------------
float max_portable(const float* x, int64_t n) {
  float best = -INFINITY;
  for (int64_t i = 0; i < n; ++i) best = x[i] > best ? x[i] : best;
  return best;
}

double exp_sum_portable(const float* x, float shift, float* out, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float e = std::exp(x[i] - shift);
    if (out) out[i] = e;
    sum += e;
  }
  return sum;
}

void exp_cols_portable(const float* x, const float* m, float* out, double* sum, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float e = std::exp(x[i] - m[i]);
    if (out) out[i] = e;
    sum[i] += e;
  }
}

void dy_minus_exp_portable(const float* dy, const float* y, const float* s, bool per_column, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] - std::exp(y[i]) * (per_column ? s[i] : *s);
}

const bool kAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");

float row_max(const float* x, int64_t n) { return kAvx2 ? max_avx2(x, n) : max_portable(x, n); }
double exp_sum(const float* x, float shift, float* out, int64_t n) {
  return kAvx2 ? exp_sum_avx2(x, shift, out, n) : exp_sum_portable(x, shift, out, n);
}
void exp_cols(const float* x, const float* m, float* out, double* sum, int64_t n) {
  kAvx2 ? exp_cols_avx2(x, m, out, sum, n) : exp_cols_portable(x, m, out, sum, n);
}
void dy_minus_exp(const float* dy, const float* y, const float* s, bool per_column, float* dx, int64_t n) {
  kAvx2 ? dy_minus_exp_avx2(dy, y, s, per_column, dx, n) : dy_minus_exp_portable(dy, y, s, per_column, dx, n);
}

// Double sums with four lanes (a fixed order; GCC vectorises it).
double dot(const float* a, const float* b, int64_t n) {
  double acc[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) acc[k] += static_cast<double>(a[i + k]) * b[i + k];
  for (; i < n; ++i) acc[0] += static_cast<double>(a[i]) * b[i];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}
double sum(const float* a, int64_t n) {
  double acc[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) acc[k] += a[i + k];
  for (; i < n; ++i) acc[0] += a[i];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

struct Layout {
  int64_t outer = 1, len = 1, inner = 1;
};
Layout layout(const Shape& shape, int64_t axis) {
  Layout l;
  if (shape.empty()) return l;  // a 0-D tensor is one slice of one element
  l.len = shape[axis];
  for (int64_t d = 0; d < axis; ++d) l.outer *= shape[d];
  for (int64_t d = axis + 1; d < static_cast<int64_t>(shape.size()); ++d) l.inner *= shape[d];
  return l;
}

constexpr int64_t kCols = 256;  // columns per task when the axis is not the last one

}  // namespace

void softmax_forward(const Tensor& x, int64_t axis, bool log, const Tensor& y) {
  const Layout s = layout(x.shape, axis);
  const float* px = x.f32();
  float* py = y.f32();
  if (x.numel() == 0) return;
  if (s.inner == 1) {
    parallel_for(s.outer, std::max<int64_t>(1, 8192 / s.len), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const float* xr = px + o * s.len;
        float* yr = py + o * s.len;
        const float m = row_max(xr, s.len);
        if (log) {
          const float log_sum = static_cast<float>(std::log(exp_sum(xr, m, nullptr, s.len)));
          for (int64_t i = 0; i < s.len; ++i) yr[i] = (xr[i] - m) - log_sum;
        } else {
          // times 1 / sum (as PyTorch): a division per element was a third of the time
          const float inv = static_cast<float>(1.0 / exp_sum(xr, m, yr, s.len));
          for (int64_t i = 0; i < s.len; ++i) yr[i] *= inv;
        }
      }
    });
    return;
  }
  // The axis is not the last: work on blocks of up to kCols adjacent columns, walking the axis.
  const int64_t chunks = (s.inner + kCols - 1) / kCols;
  parallel_for(s.outer * chunks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> m(kCols), log_sum(kCols);
    std::vector<double> total(kCols);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / chunks, c0 = (t % chunks) * kCols, w = std::min(kCols, s.inner - c0);
      const float* xb = px + o * s.len * s.inner + c0;
      float* yb = py + o * s.len * s.inner + c0;
      std::fill(m.begin(), m.begin() + w, -INFINITY);
      for (int64_t l = 0; l < s.len; ++l)
        for (int64_t i = 0; i < w; ++i) m[i] = xb[l * s.inner + i] > m[i] ? xb[l * s.inner + i] : m[i];
      std::fill(total.begin(), total.begin() + w, 0.0);
      for (int64_t l = 0; l < s.len; ++l) exp_cols(xb + l * s.inner, m.data(), log ? nullptr : yb + l * s.inner, total.data(), w);
      if (log) {
        for (int64_t i = 0; i < w; ++i) log_sum[i] = static_cast<float>(std::log(total[i]));
        for (int64_t l = 0; l < s.len; ++l)
          for (int64_t i = 0; i < w; ++i) yb[l * s.inner + i] = (xb[l * s.inner + i] - m[i]) - log_sum[i];
      } else {
        for (int64_t i = 0; i < w; ++i) log_sum[i] = static_cast<float>(1.0 / total[i]);  // reused: 1 / sum
        for (int64_t l = 0; l < s.len; ++l)
          for (int64_t i = 0; i < w; ++i) yb[l * s.inner + i] *= log_sum[i];
      }
    }
  });
}

void softmax_backward(const Tensor& dy, const Tensor& y, int64_t axis, bool log, const Tensor& dx) {
  const Layout s = layout(y.shape, axis);
  const float *pdy = dy.f32(), *py = y.f32();
  float* pdx = dx.f32();
  if (y.numel() == 0) return;
  if (s.inner == 1) {
    parallel_for(s.outer, std::max<int64_t>(1, 8192 / s.len), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const float *dyr = pdy + o * s.len, *yr = py + o * s.len;
        float* dxr = pdx + o * s.len;
        if (log) {
          const float total = static_cast<float>(sum(dyr, s.len));
          dy_minus_exp(dyr, yr, &total, false, dxr, s.len);
        } else {
          const float dot_dy_y = static_cast<float>(dot(dyr, yr, s.len));
          for (int64_t i = 0; i < s.len; ++i) dxr[i] = yr[i] * (dyr[i] - dot_dy_y);
        }
      }
    });
    return;
  }
  const int64_t chunks = (s.inner + kCols - 1) / kCols;
  parallel_for(s.outer * chunks, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(kCols);
    std::vector<float> acc_f(kCols);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / chunks, c0 = (t % chunks) * kCols, w = std::min(kCols, s.inner - c0);
      const int64_t base = o * s.len * s.inner + c0;
      std::fill(acc.begin(), acc.begin() + w, 0.0);
      for (int64_t l = 0; l < s.len; ++l) {
        const float *dyr = pdy + base + l * s.inner, *yr = py + base + l * s.inner;
        if (log) for (int64_t i = 0; i < w; ++i) acc[i] += dyr[i];
        else for (int64_t i = 0; i < w; ++i) acc[i] += static_cast<double>(dyr[i]) * yr[i];
      }
      for (int64_t i = 0; i < w; ++i) acc_f[i] = static_cast<float>(acc[i]);
      for (int64_t l = 0; l < s.len; ++l) {
        const int64_t off = base + l * s.inner;
        if (log) {
          dy_minus_exp(pdy + off, py + off, acc_f.data(), true, pdx + off, w);
        } else {
          for (int64_t i = 0; i < w; ++i) pdx[off + i] = py[off + i] * (pdy[off + i] - acc_f[i]);
        }
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
