// x divided by its p-norm along one axis, as PyTorch's F.normalize, and its gradient (x viewed
// as [outer, len, inner] around the axis, row_lanes.h):
//   n = ||x||_p over the axis (vector_norm.h, in float64);  d = max(n, eps) (NaN stays NaN);
//   y = x * float(1 / d) (x / d within a rounding or two, as PyTorch's own reciprocal products).
// Backward, with dot = sum(dy * x) over the axis (PyTorch differentiates x / clamp_min(n, eps),
// whose clamp passes the gradient where n >= eps):
//   dx = dy / d - [n >= eps] (dot / d^2) dn/dx
// with dn/dx the norm's own gradient (vector_norm.cc: x / n for p = 2, 0 at a zero norm). A zero
// vector thus gets dy / eps, as PyTorch's.
//
// One pass over a row for the norm (and dot) and one for the result, back to back on one thread
// while the row is in the cache, when the axis is the last and at most 16384 long (embeddings);
// otherwise the norms (and dots) first for every row, in float64 in fixed blocks, then the
// result. The bits never depend on the thread count.
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/simd_clones.h"
#include "cpu/vector_norm.h"

namespace convnet {
namespace cpu {
namespace {


#define CONVNET_ROW_KERNEL __attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES

// y = x * inv, in float (inv rounded once per row). In float64, rounded once per element, the
// conversions cost 5x the product (AVX-512 on a Zen 4 runs them at half width): the forward on
// [1024, 512] took 0.11 ms against PyTorch's 0.05.
CONVNET_ROW_KERNEL void scale_run(const float* __restrict x, float inv, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * inv;
}

// The forward of whole rows for p = 2, a range of rows inside one clone (a call per row through
// the clone dispatcher, for the norm and again for the product, cost as much as a short row's
// arithmetic): sum x^2 (row_lanes.h's order), d = max(sqrt(sum), eps), y = x * float(1 / d).
template <typename L>
CONVNET_ROW_KERNEL void normalize_rows_two_lanes(const float* __restrict x, int64_t rows, int64_t n, double eps,
                                           float* __restrict y) {
  using Floats16 = typename L::Floats16;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * n;
    double s;
    lanes::row_sums<L, 1>(n, [&](int64_t i, int64_t count, Floats16* t) __attribute__((always_inline)) {
      Floats16 v;
      L::load(row + i, count, v);
      t[0] = v * v;
    }, &s);
    const double norm = std::sqrt(s);
    const float inv = static_cast<float>(1.0 / (norm < eps ? eps : norm));
    float* out = y + r * n;
    for (int64_t i = 0; i < n; ++i) out[i] = row[i] * inv;
  }
}

void normalize_rows_two(const float* __restrict x, int64_t rows, int64_t n, double eps, float* __restrict y) {
  if (lanes16::wide()) normalize_rows_two_lanes<lanes16::Wide>(x, rows, n, eps, y);
  else normalize_rows_two_lanes<lanes16::Pairs>(x, rows, n, eps, y);
}

// sum x^2 and sum dy * x over a run (row_lanes.h's order).
template <typename L>
CONVNET_ROW_KERNEL void squares_and_dot_lanes(const float* __restrict x, const float* __restrict dy, int64_t n, double* sums) {
  using Floats16 = typename L::Floats16;
  lanes::row_sums<L, 2>(n, [&](int64_t i, int64_t count, Floats16* t) __attribute__((always_inline)) {
    Floats16 v, g;
    L::load(x + i, count, v);
    L::load(dy + i, count, g);
    t[0] = v * v;
    t[1] = g * v;
  }, sums);
}

void squares_and_dot(const float* __restrict x, const float* __restrict dy, int64_t n, double* sums) {
  if (lanes16::wide()) squares_and_dot_lanes<lanes16::Wide>(x, dy, n, sums);
  else squares_and_dot_lanes<lanes16::Pairs>(x, dy, n, sums);
}

template <typename L>
CONVNET_ROW_KERNEL double dot_run_lanes(const float* __restrict x, const float* __restrict dy, int64_t n) {
  using Floats16 = typename L::Floats16;
  double s;
  lanes::row_sums<L, 1>(n, [&](int64_t i, int64_t count, Floats16* t) __attribute__((always_inline)) {
    Floats16 v, g;
    L::load(x + i, count, v);
    L::load(dy + i, count, g);
    t[0] = g * v;
  }, &s);
  return s;
}

double dot_run(const float* __restrict x, const float* __restrict dy, int64_t n) {
  return lanes16::wide() ? dot_run_lanes<lanes16::Wide>(x, dy, n) : dot_run_lanes<lanes16::Pairs>(x, dy, n);
}

// dx = add * dy + k * x in float (the factors rounded once per row), no FMA (fp-contract=off:
// the same bits on every CPU path).
CONVNET_ROW_KERNEL void backward_two(const float* __restrict dy, const float* __restrict x, float add, float k,
                                     float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = add * dy[i] + k * x[i];
}

inline double clamp_below(double n, double eps) { return n < eps ? eps : n; }  // NaN stays NaN

// The row kernels' case: the axis is the last and short enough to be one block.
bool whole_rows(const lanes::RunLayout& l) { return l.inner == 1 && l.len <= lanes::kBlock && l.len > 0; }

int64_t row_grain(const lanes::RunLayout& l) { return std::max<int64_t>(1, 8192 / std::max<int64_t>(1, l.len)); }

}  // namespace

void normalize_forward(const Tensor& x, int64_t axis, double p, double eps, const Tensor& y) {
  const lanes::RunLayout l = lanes::run_layout(x.shape, {axis});
  const norms::Order order = norms::order_of(p);
  const float* px = x.f32();
  float* py = y.f32();
  if (x.numel() == 0) return;
  if (whole_rows(l) && order.kind == norms::Order::Two) {
    parallel_for(l.outer, row_grain(l), [&](int64_t begin, int64_t end) {
      normalize_rows_two(px + begin * l.len, end - begin, l.len, eps, py + begin * l.len);
    });
    return;
  }
  if (whole_rows(l)) {
    parallel_for(l.outer, row_grain(l), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const float* row = px + o * l.len;
        const double n = norms::finish(order, norms::run_partial(order, row, l.len));
        scale_run(row, static_cast<float>(1.0 / clamp_below(n, eps)), py + o * l.len, l.len);
      }
    });
    return;
  }
  std::vector<double> inv(static_cast<size_t>(l.outputs()));
  norms::norms(px, l, order, inv.data());
  for (double& v : inv) v = 1.0 / clamp_below(v, eps);
  if (l.inner == 1) {
    const int64_t blocks = lanes::blocks_of(l.len);
    parallel_for(l.outer * blocks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t row = t / blocks, r0 = (t % blocks) * lanes::kBlock, at = row * l.len + r0;
        scale_run(px + at, static_cast<float>(inv[row]), py + at, std::min(lanes::kBlock, l.len - r0));
      }
    });
    return;
  }
  parallel_for(l.outer * l.len, std::max<int64_t>(1, lanes::kBlock / l.inner), [&](int64_t begin, int64_t end) {
    for (int64_t line = begin; line < end; ++line) {
      const int64_t o = line / l.len, at = line * l.inner;
      const double* s = inv.data() + o * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) py[at + i] = px[at + i] * static_cast<float>(s[i]);
    }
  });
}

void normalize_backward(const Tensor& dy, const Tensor& x, int64_t axis, double p, double eps, const Tensor& dx) {
  const lanes::RunLayout l = lanes::run_layout(x.shape, {axis});
  const norms::Order order = norms::order_of(p);
  const float *px = x.f32(), *pdy = dy.f32();
  float* pdx = dx.f32();
  if (x.numel() == 0) return;
  if (whole_rows(l) && order.kind == norms::Order::Two) {
    parallel_for(l.outer, row_grain(l), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const int64_t at = o * l.len;
        double sums[2];
        squares_and_dot(px + at, pdy + at, l.len, sums);
        const double n = std::sqrt(sums[0]), d = clamp_below(n, eps);
        // -[n >= eps] dot / d^2 times dn/dx = x / n (0 at a zero norm)
        const double k = n >= eps && n != 0.0 ? -sums[1] / (d * d) / n : 0.0;
        backward_two(pdy + at, px + at, static_cast<float>(1.0 / d), static_cast<float>(k), pdx + at, l.len);
      }
    });
    return;
  }
  const int64_t outputs = l.outputs();
  std::vector<double> norm(static_cast<size_t>(outputs)), dot(static_cast<size_t>(outputs), 0.0);
  norms::norms(px, l, order, norm.data());
  if (l.inner == 1) {
    const int64_t blocks = lanes::blocks_of(l.len);
    std::vector<double> partial(static_cast<size_t>(l.outer * blocks));
    parallel_for(l.outer * blocks, row_grain(l), [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t row = t / blocks, r0 = (t % blocks) * lanes::kBlock, at = row * l.len + r0;
        partial[t] = dot_run(px + at, pdy + at, std::min(lanes::kBlock, l.len - r0));
      }
    });
    for (int64_t row = 0; row < l.outer; ++row)
      for (int64_t b = 0; b < blocks; ++b) dot[row] += partial[row * blocks + b];
  } else {
    parallel_for(outputs, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, l.len)), [&](int64_t begin, int64_t end) {
      for (int64_t out = begin; out < end; ++out) {
        const int64_t o = out / l.inner, i = out % l.inner;
        const int64_t base = o * l.len * l.inner + i;
        double s = 0.0;
        for (int64_t r = 0; r < l.len; ++r) s += static_cast<double>(pdy[base + r * l.inner]) * px[base + r * l.inner];
        dot[out] = s;
      }
    });
  }
  std::vector<double> add(static_cast<size_t>(outputs)), scale(static_cast<size_t>(outputs));
  for (int64_t out = 0; out < outputs; ++out) {
    const double n = norm[out], d = clamp_below(n, eps);
    add[out] = 1.0 / d;
    scale[out] = n >= eps ? -dot[out] / (d * d) : 0.0;
  }
  norms::gradient(px, l, order, norm.data(), scale.data(), pdy, add.data(), pdx);
}

}  // namespace cpu
}  // namespace convnet
