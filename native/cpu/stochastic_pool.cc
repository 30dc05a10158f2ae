// Stochastic pooling on the CPU; the rules (which tap is picked, the expectation in evaluation,
// the cases the paper leaves open) are in stochastic_pool_window.h, shared with the GPU.
//
// Forward: one pass over each window (two in training, where the pick walks the running sum).
// Backward in training: dx = 0, then dy[o] added at index[o] in output order (the GPU's ordered
// scatter gives the same sums). In evaluation: each window's slope for each of its taps, summed
// per input element in double over the windows that hold it (overlapping windows), then rounded.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "cpu/cpu_features.h"
#include "cpu/index_range.h"
#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"
#include "cpu/stochastic_pool_window.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(CONVNET_PORTABLE_ONLY)
#define CONVNET_STOCHASTIC_AVX2 1
#include <immintrin.h>
#else
#define CONVNET_STOCHASTIC_AVX2 0
#endif

namespace convnet {
namespace cpu {
namespace {

struct Windows {
  AxisWindows rows, cols;
  explicit Windows(const Pool2dGeometry& g)
      : rows(axis_windows(g.oh, g.h, g.kh, g.sh, g.ph, 1)), cols(axis_windows(g.ow, g.w, g.kw, g.sw, g.pw, 1)) {}
};

#if CONVNET_STOCHASTIC_AVX2
// Columns c, c + S, ..., c + 7S of a row, from p at column c.
template <int S>
__attribute__((target("avx2"), always_inline)) inline __m256 load8(const float* p) {
  if constexpr (S == 1) {
    return _mm256_loadu_ps(p);
  } else {  // the even lanes of 16: p[0], p[2], .. p[14]
    const __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    const __m256 even = _mm256_shuffle_ps(lo, hi, 0x88);  // lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8));
  }
}

// The evaluation outputs of n >= 8 whole windows side by side (rn x cn taps, the j-th from column
// c0 + S * j of rows r0 ..), eight at a time with AVX2: each lane adds its window's taps in the
// order of stochastic_pool::sums() (rows, then columns) into float64 S and Q, then takes
// expectation(). A tap sums() skips is added as +0.0 here, which changes nothing (S and Q start at
// +0.0 and never add a negative number, so they are never -0.0), and v * v is exact in float64:
// the same bits as sums(), and as the GPU's kernel. The scalar walk (a branch and two dependent
// float64 additions a tap) ran at PyTorch's composed speed: [8,96,55,55] 3x3 stride 2, 8.1 ms
// against 8.4 (`node dist/bench/run.js pool`).
template <int S>
__attribute__((target("avx2"))) void eval_whole_windows_avx2(const float* xp, int64_t W, int64_t r0, int64_t rn,
                                                             int64_t c0, int64_t cn, int64_t n, float* y) {
  const __m256d zero = _mm256_setzero_pd();
  const auto add = [&](__m256d d, __m256d* s, __m256d* q) __attribute__((target("avx2"))) {
    const __m256d positive = _mm256_cmp_pd(d, zero, _CMP_GT_OQ), nan = _mm256_cmp_pd(d, d, _CMP_UNORD_Q);
    *s = _mm256_add_pd(*s, _mm256_and_pd(d, _mm256_or_pd(positive, nan)));
    *q = _mm256_add_pd(*q, _mm256_and_pd(_mm256_mul_pd(d, d), positive));
  };
  for (int64_t j0 = 0; j0 < n; j0 += 8) {
    if (j0 + 8 > n) j0 = n - 8;  // the last eight overlap the ones before: the same values again
    __m256d s_lo = zero, s_hi = zero, q_lo = zero, q_hi = zero;
    for (int64_t a = 0; a < rn; ++a) {
      const float* row = xp + (r0 + a) * W + c0 + S * j0;
      for (int64_t b = 0; b < cn; ++b) {
        const __m256 v = load8<S>(row + b);
        add(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), &s_lo, &q_lo);
        add(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), &s_hi, &q_hi);
      }
    }
    alignas(32) double s[8], q[8];
    _mm256_store_pd(s, s_lo), _mm256_store_pd(s + 4, s_hi), _mm256_store_pd(q, q_lo), _mm256_store_pd(q + 4, q_hi);
    for (int j = 0; j < 8; ++j) y[j0 + j] = stochastic_pool::expectation(stochastic_pool::Sums{s[j], q[j]});
  }
}
#endif

// The outputs [begin, end) of an axis whose windows are whole (k taps from o * stride - pad).
struct WholeRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

WholeRange whole_windows(const AxisWindows& a, int64_t k, int64_t stride, int64_t pad) {
  const int64_t out = static_cast<int64_t>(a.taps.size());
  const auto whole = [&](int64_t o) { return a.taps[o] == k && a.first[o] == o * stride - pad; };
  WholeRange r;
  while (r.begin < out && !whole(r.begin)) ++r.begin;
  r.end = r.begin;
  while (r.end < out && whole(r.end)) ++r.end;
  return r;
}

}  // namespace

void stochastic_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, bool training, uint64_t seed,
                               uint64_t first_block, const Tensor& y, const Tensor* indices) {
  const Windows win(g);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* px = x.f32();
  float* py = y.f32();
  int32_t* pi = indices ? indices->i32() : nullptr;
  // Evaluation: a row's whole windows at stride 1 or 2 eight at a time where AVX2 runs (the same bits).
  WholeRange whole;
#if CONVNET_STOCHASTIC_AVX2
  if (!training && (g.sw == 1 || g.sw == 2) && cpu_has_avx2_fma()) whole = whole_windows(win.cols, g.kw, g.sw, g.pw);
  if (whole.size() < 8) whole = WholeRange{};
#endif
  for_planes(g.planes, 2 * out_plane * g.kh * g.kw, [&](int64_t begin, int64_t end) {
    // Outputs go in order, so one Philox block serves four of them in turn.
    uint64_t block = ~uint64_t{0};
    Philox4x32 r{};
    for (int64_t p = begin; p < end; ++p) {
      const float* xp = px + p * in_plane;
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        const int64_t r0 = win.rows.first[oh], rn = win.rows.taps[oh];
#if CONVNET_STOCHASTIC_AVX2
        if (whole.size()) {
          float* yr = py + p * out_plane + oh * g.ow + whole.begin;
          const int64_t c0 = win.cols.first[whole.begin];
          if (g.sw == 1) eval_whole_windows_avx2<1>(xp, g.w, r0, rn, c0, g.kw, whole.size(), yr);
          else eval_whole_windows_avx2<2>(xp, g.w, r0, rn, c0, g.kw, whole.size(), yr);
        }
#endif
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          if (ow == whole.begin && whole.size()) ow = whole.end;  // done above
          if (ow >= g.ow) break;
          const int64_t o = p * out_plane + oh * g.ow + ow;
          const int64_t c0 = win.cols.first[ow], cn = win.cols.taps[ow];
          if (training) {
            const uint64_t n = static_cast<uint64_t>(o);
            if (n / 4 != block) block = n / 4, r = Philox4x32::generate(seed, first_block + block);
            const float u = uniform_from_bits(r.out[n % 4]);
            const stochastic_pool::Pick k = stochastic_pool::pick(xp, g.w, r0, rn, c0, cn, u);
            py[o] = k.value;
            if (pi) pi[o] = static_cast<int32_t>(k.index);
          } else {
            py[o] = stochastic_pool::expectation(stochastic_pool::sums(xp, g.w, r0, rn, c0, cn));
          }
        }
      }
    }
  });
}

void stochastic_pool2d_backward_training(const Tensor& dy, const Tensor& indices, const Pool2dGeometry& g,
                                         const Tensor& dx) {
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float* pdy = dy.f32();
  const int32_t* pi = indices.i32();
  float* pdx = dx.f32();
  BadIndex bad;
  for_planes(g.planes, out_plane + in_plane, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* gp = pdx + p * in_plane;
      std::memset(gp, 0, in_plane * sizeof(float));
      const float* d = pdy + p * out_plane;
      const int32_t* ip = pi + p * out_plane;
      for (int64_t o = 0; o < out_plane; ++o) {
        if (ip[o] == -1) continue;  // a window that picked nothing
        if (ip[o] < -1 || ip[o] >= in_plane) {
          bad.note(p * out_plane + o);
          break;
        }
        gp[ip[o]] += d[o];
      }
    }
  });
  const int64_t at = bad.position.load();
  CONVNET_CHECK(at < 0, "E_INDEX", "index ", at < 0 ? 0 : pi[at], " at position ", at,
                " is out of range for an input plane of ", in_plane, " elements");
}

void stochastic_pool2d_backward_eval(const Tensor& dy, const Tensor& x, const Pool2dGeometry& g, const Tensor& dx) {
  const Windows win(g);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdx = dx.f32();
  for_planes(g.planes, 3 * out_plane * g.kh * g.kw + in_plane, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(in_plane);
    for (int64_t p = begin; p < end; ++p) {
      const float* xp = px + p * in_plane;
      const float* d = pdy + p * out_plane;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        const int64_t r0 = win.rows.first[oh], rn = win.rows.taps[oh];
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const int64_t c0 = win.cols.first[ow], cn = win.cols.taps[ow];
          const stochastic_pool::Sums s = stochastic_pool::sums(xp, g.w, r0, rn, c0, cn);
          const double dyo = d[oh * g.ow + ow];
          for (int64_t a = 0; a < rn; ++a)
            for (int64_t b = 0; b < cn; ++b) {
              const int64_t k = (r0 + a) * g.w + c0 + b;
              acc[k] += dyo * stochastic_pool::slope(s, xp[k]);
            }
        }
      }
      float* gp = pdx + p * in_plane;
      for (int64_t k = 0; k < in_plane; ++k) gp[k] = static_cast<float>(acc[k]);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
