// Softmax and log-softmax along one axis (x viewed as [outer, L, inner], the axis of length L).
//   softmax:     y = exp(x - max) * (1 / sum(exp(x - max)))
//   logSoftmax:  y = (x - max) - log(sum(exp(x - max)))
// The max is subtracted first so that large inputs (1000, 1e30) do not overflow; sums are in
// float64. A NaN anywhere in a slice makes the whole slice NaN; a slice of -inf only is NaN
// (as PyTorch). Backward (y is the forward's output):
//   softmax:     dx = y * (dy - sum(dy * y))
//   logSoftmax:  dx = dy - exp(y) * sum(dy)
//
// Softmin (CPU only; the GPU composes softmax(-x)) is softmax of -x: the rows are negated as they
// are read (exact), and its backward is dx = y * (sum(dy * y) - dy), softmax's negated (exact too).
//
// exp, the row max and the float64 sums come from cpu/vec_math.h (AVX-512 / AVX2 / portable,
// picked at run time). Results are fixed per machine, for any thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/simd_clones.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {
namespace {

// dx = y * (dy - dot) over one row, cloned for AVX2 / AVX-512 (simd_clones.h): with SSE alone
// the softmax backward ran at 0.86x PyTorch's speed. A product of a difference: nothing the
// compiler could contract into an FMA, so every clone gives the same bits.
CONVNET_SIMD_CLONES
void softmax_backward_row(const float* __restrict dy, const float* __restrict y, float dot, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] * (dy[i] - dot);
}

CONVNET_SIMD_CLONES
void softmin_backward_row(const float* __restrict dy, const float* __restrict y, float dot, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] * (dot - dy[i]);
}

CONVNET_SIMD_CLONES
void negate_row(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = -x[i];
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

namespace {

// softmax (log false) or logSoftmax of x, or of -x (negate: softmin).
void softmax_rows(const Tensor& x, int64_t axis, bool log, bool negate, const Tensor& y) {
  const Layout s = layout(x.shape, axis);
  const float* px = x.f32();
  float* py = y.f32();
  if (x.numel() == 0) return;
  if (s.inner == 1) {
    parallel_for(s.outer, std::max<int64_t>(1, 8192 / s.len), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const float* xr = px + o * s.len;
        float* yr = py + o * s.len;
        if (negate) {  // -x into y, then y is the row (each step below may write y in place)
          negate_row(xr, yr, s.len);
          xr = yr;
        }
        const float m = vec::max(xr, s.len);
        if (log) {
          const float log_sum = static_cast<float>(std::log(vec::exp_sum(xr, m, nullptr, s.len)));
          for (int64_t i = 0; i < s.len; ++i) yr[i] = (xr[i] - m) - log_sum;
        } else {
          // times 1 / sum (as PyTorch): a division per element was a third of the time
          const float inv = static_cast<float>(1.0 / vec::exp_sum(xr, m, yr, s.len));
          for (int64_t i = 0; i < s.len; ++i) yr[i] *= inv;
        }
      }
    });
    return;
  }
  // The axis is not the last: work on blocks of up to kCols adjacent columns, walking the axis.
  const int64_t chunks = (s.inner + kCols - 1) / kCols;
  parallel_for(s.outer * chunks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> m(kCols), log_sum(kCols), e(kCols);
    std::vector<double> total(kCols);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / chunks, c0 = (t % chunks) * kCols, w = std::min(kCols, s.inner - c0);
      const float* xb = px + o * s.len * s.inner + c0;
      float* yb = py + o * s.len * s.inner + c0;
      const float sign = negate ? -1.0f : 1.0f;  // exact
      std::fill(m.begin(), m.begin() + w, -INFINITY);
      for (int64_t l = 0; l < s.len; ++l)
        for (int64_t i = 0; i < w; ++i) m[i] = sign * xb[l * s.inner + i] > m[i] ? sign * xb[l * s.inner + i] : m[i];
      std::fill(total.begin(), total.begin() + w, 0.0);
      for (int64_t l = 0; l < s.len; ++l) {
        float* el = log ? e.data() : yb + l * s.inner;  // exp(x - m): kept for softmax
        for (int64_t i = 0; i < w; ++i) el[i] = sign * xb[l * s.inner + i] - m[i];
        vec::exp(el, el, w);
        for (int64_t i = 0; i < w; ++i) total[i] += el[i];
      }
      if (log) {
        for (int64_t i = 0; i < w; ++i) log_sum[i] = static_cast<float>(std::log(total[i]));
        for (int64_t l = 0; l < s.len; ++l)
          for (int64_t i = 0; i < w; ++i) yb[l * s.inner + i] = (sign * xb[l * s.inner + i] - m[i]) - log_sum[i];
      } else {
        for (int64_t i = 0; i < w; ++i) log_sum[i] = static_cast<float>(1.0 / total[i]);  // reused: 1 / sum
        for (int64_t l = 0; l < s.len; ++l)
          for (int64_t i = 0; i < w; ++i) yb[l * s.inner + i] *= log_sum[i];
      }
    }
  });
}

// From y (softmax's, or logSoftmax's with log; softmin's with negate).
void softmax_rows_backward(const Tensor& dy, const Tensor& y, int64_t axis, bool log, bool negate, const Tensor& dx) {
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
          const float total = static_cast<float>(vec::sum(dyr, s.len));
          vec::exp(yr, dxr, s.len);
          for (int64_t i = 0; i < s.len; ++i) dxr[i] = dyr[i] - dxr[i] * total;
        } else {
          (negate ? softmin_backward_row : softmax_backward_row)(dyr, yr, static_cast<float>(vec::dot(dyr, yr, s.len)), dxr, s.len);
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
          vec::exp(py + off, pdx + off, w);
          for (int64_t i = 0; i < w; ++i) pdx[off + i] = pdy[off + i] - pdx[off + i] * acc_f[i];
        } else if (negate) {
          for (int64_t i = 0; i < w; ++i) pdx[off + i] = py[off + i] * (acc_f[i] - pdy[off + i]);
        } else {
          for (int64_t i = 0; i < w; ++i) pdx[off + i] = py[off + i] * (pdy[off + i] - acc_f[i]);
        }
      }
    }
  });
}

}  // namespace

void softmax_forward(const Tensor& x, int64_t axis, bool log, const Tensor& y) { softmax_rows(x, axis, log, false, y); }
void softmax_backward(const Tensor& dy, const Tensor& y, int64_t axis, bool log, const Tensor& dx) {
  softmax_rows_backward(dy, y, axis, log, false, dx);
}
void softmin_forward(const Tensor& x, int64_t axis, const Tensor& y) { softmax_rows(x, axis, false, true, y); }
void softmin_backward(const Tensor& dy, const Tensor& y, int64_t axis, const Tensor& dx) {
  softmax_rows_backward(dy, y, axis, false, true, dx);
}

}  // namespace cpu
}  // namespace convnet
