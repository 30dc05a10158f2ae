// The vector p-norm over a run of adjacent axes, as torch.linalg.vector_norm, and its gradient
// (x viewed as [outer, len, inner], row_lanes.h; lib/ permutes other sets of axes into a run):
//   p = 2:     sqrt(sum x^2)        p = 1: sum |x|        p = 0: the count of x != 0 (NaN counts)
//   p = inf:   max |x|              p = -inf: min |x|     (NaN wins both, as PyTorch)
//   other p:   (sum |x|^p)^(1/p)    (p > 0; lib/ refuses the rest)
// An empty run gives 0 (the ±inf norms of one are refused before this runs).
//
// Backward (PyTorch 1.13's norm_backward, with y the forward's output and g = dy):
//   p = 2:     dx = x * (g / y), 0 where y = 0 (the zero vector's gradient, not NaN)
//   p = 1:     dx = sgn(x) g                    (sgn(NaN) = 0, as PyTorch's sgn)
//   p = ±inf:  dx = sgn(x) (g / count) mask,    mask = |x| == y or x NaN: ties share g equally
//   p = 0:     dx = 0
//   p < 1:     dx = sgn(x) |x|^(p-1) g y^(1-p), 0 where x = 0
//   p > 1:     dx = sgn(x) |x|^(p-1) g / y^(p-1), 0 where y = 0
//
// Sums: a contiguous run (inner = 1) in sixteen float lanes over blocks of 256 values widened
// to float64 lanes (row_lanes.h), long runs cut into fixed blocks of 16384 whose partials are
// combined in order; columns (inner > 1) add one float64 per element, in order of the run. The
// general p adds std::pow(|x|, p) in float64. Every bit depends on the shape and values only,
// never on the thread count.
#include "cpu/vector_norm.h"

#include <cmath>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace norms {
namespace {

using lanes::RunLayout;

#define CONVNET_ROW_KERNEL __attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES

template <typename L>
CONVNET_ROW_KERNEL double sum_squares_lanes(const float* __restrict x, int64_t n) {
  using Floats16 = typename L::Floats16;
  double s;
  lanes::row_sums<L, 1>(n, [&](int64_t i, int64_t count, Floats16* t) __attribute__((always_inline)) {
    Floats16 v;
    L::load(x + i, count, v);
    t[0] = v * v;
  }, &s);
  return s;
}

double sum_squares(const float* __restrict x, int64_t n) {
  return lanes16::wide() ? sum_squares_lanes<lanes16::Wide>(x, n) : sum_squares_lanes<lanes16::Pairs>(x, n);
}

// sum_squares of `runs` consecutive runs of n, inside one clone: a call per run of 512 values
// through the clone dispatcher cost as much as the sums of its elements.
template <typename L>
CONVNET_ROW_KERNEL void sum_squares_runs_lanes(const float* __restrict x, int64_t runs, int64_t n, double* __restrict out) {
  using Floats16 = typename L::Floats16;
  for (int64_t r = 0; r < runs; ++r) {
    const float* row = x + r * n;
    lanes::row_sums<L, 1>(n, [&](int64_t i, int64_t count, Floats16* t) __attribute__((always_inline)) {
      Floats16 v;
      L::load(row + i, count, v);
      t[0] = v * v;
    }, out + r);
  }
}

void sum_squares_runs(const float* __restrict x, int64_t runs, int64_t n, double* __restrict out) {
  if (lanes16::wide()) sum_squares_runs_lanes<lanes16::Wide>(x, runs, n, out);
  else sum_squares_runs_lanes<lanes16::Pairs>(x, runs, n, out);
}

template <typename L>
CONVNET_ROW_KERNEL double sum_abs_lanes(const float* __restrict x, int64_t n) {
  using Floats16 = typename L::Floats16;
  double s;
  lanes::row_sums<L, 1>(n, [&](int64_t i, int64_t count, Floats16* t) __attribute__((always_inline)) {
    L::load(x + i, count, t[0]);
    L::abs_in_place(t[0]);
  }, &s);
  return s;
}

double sum_abs(const float* __restrict x, int64_t n) {
  return lanes16::wide() ? sum_abs_lanes<lanes16::Wide>(x, n) : sum_abs_lanes<lanes16::Pairs>(x, n);
}

template <typename L>
CONVNET_ROW_KERNEL double count_nonzero_lanes(const float* __restrict x, int64_t n) {
  using Floats16 = typename L::Floats16;
  double s;
  lanes::row_sums<L, 1>(n, [&](int64_t i, int64_t count, Floats16* t) __attribute__((always_inline)) {
    Floats16 v;
    L::load(x + i, count, v);
    L::nonzero_ones(v, t[0]);  // NaN != 0
  }, &s);
  return s;
}

double count_nonzero(const float* __restrict x, int64_t n) {
  return lanes16::wide() ? count_nonzero_lanes<lanes16::Wide>(x, n) : count_nonzero_lanes<lanes16::Pairs>(x, n);
}

// max |x| (kMax) or min |x| over a run, NaN if there is one. Exact, so the lane order is free.
template <bool kMax>
CONVNET_SIMD_CLONES float extremum_abs(const float* __restrict x, int64_t n) {
  // Two 32-byte vectors of lanes: GCC compiles a select on 64-byte vectors to scalar code for
  // AVX2 (simd_clones.h). |x| has no -0, so the lanes' order does not matter.
  typedef float Floats8 __attribute__((vector_size(32)));
  typedef int32_t Ints8 __attribute__((vector_size(32)));
  const float init = kMax ? 0.0f : std::numeric_limits<float>::infinity();
  Floats8 lo = Floats8{} + init, hi = lo;
  Ints8 nan = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    Ints8 a, b;
    std::memcpy(&a, x + i, sizeof a);
    std::memcpy(&b, x + i + 8, sizeof b);
    a &= 0x7FFFFFFF;  // |x|: the sign bits cleared
    b &= 0x7FFFFFFF;
    Floats8 u, v;
    std::memcpy(&u, &a, sizeof u);
    std::memcpy(&v, &b, sizeof v);
    lo = (kMax ? u > lo : u < lo) ? u : lo;
    hi = (kMax ? v > hi : v < hi) ? v : hi;
    nan |= (u != u) | (v != v);
  }
  float r = init;
  bool any_nan = false;
  for (int l = 0; l < 8; ++l) {
    r = kMax ? std::max(r, std::max(lo[l], hi[l])) : std::min(r, std::min(lo[l], hi[l]));
    any_nan |= nan[l] != 0;
  }
  for (; i < n; ++i) {
    const float v = std::fabs(x[i]);
    if (v != v) any_nan = true;
    else r = kMax ? std::max(r, v) : std::min(r, v);
  }
  return any_nan ? std::numeric_limits<float>::quiet_NaN() : r;
}

double sum_pow_abs(const float* x, int64_t n, double p) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += std::pow(std::fabs(static_cast<double>(x[i])), p);
  return s;
}

// The columns' case: acc[i] = combine(acc[i], term(row[i])) for one row of w columns.
CONVNET_ROW_KERNEL void add_squares(double* __restrict acc, const float* __restrict row, int64_t w) {
  for (int64_t i = 0; i < w; ++i) acc[i] += static_cast<double>(row[i]) * row[i];
}
CONVNET_ROW_KERNEL void add_abs(double* __restrict acc, const float* __restrict row, int64_t w) {
  for (int64_t i = 0; i < w; ++i) acc[i] += std::fabs(static_cast<double>(row[i]));
}
CONVNET_ROW_KERNEL void add_nonzero(double* __restrict acc, const float* __restrict row, int64_t w) {
  for (int64_t i = 0; i < w; ++i) acc[i] += row[i] != 0.0f ? 1.0 : 0.0;
}

inline double sgn(double v) { return static_cast<double>((0.0 < v) - (v < 0.0)); }  // 0 for NaN, as PyTorch

double identity(const Order& order) {
  switch (order.kind) {
    case Order::Inf: return 0.0;  // |x| >= 0: the max of nothing (refused earlier) would be -inf
    case Order::NegInf: return std::numeric_limits<double>::infinity();
    default: return 0.0;
  }
}

}  // namespace

Order order_of(double p) {
  if (p == 2.0) return {Order::Two, p};
  if (p == 1.0) return {Order::One, p};
  if (p == 0.0) return {Order::Zero, p};
  if (p == std::numeric_limits<double>::infinity()) return {Order::Inf, p};
  if (p == -std::numeric_limits<double>::infinity()) return {Order::NegInf, p};
  return {Order::Other, p};
}

double run_partial(const Order& order, const float* x, int64_t n) {
  switch (order.kind) {
    case Order::Two: return sum_squares(x, n);
    case Order::One: return sum_abs(x, n);
    case Order::Zero: return count_nonzero(x, n);
    case Order::Inf: return extremum_abs<true>(x, n);
    case Order::NegInf: return extremum_abs<false>(x, n);
    default: return sum_pow_abs(x, n, order.p);
  }
}

void run_partials(const Order& order, const float* x, int64_t runs, int64_t n, double* out) {
  if (order.kind == Order::Two) return sum_squares_runs(x, runs, n, out);
  for (int64_t r = 0; r < runs; ++r) out[r] = run_partial(order, x + r * n, n);
}

double combine(const Order& order, double a, double b) {
  if (order.kind == Order::Inf || order.kind == Order::NegInf) {
    if (a != a || b != b) return std::numeric_limits<double>::quiet_NaN();
    return order.kind == Order::Inf ? std::max(a, b) : std::min(a, b);
  }
  return a + b;
}

double finish(const Order& order, double total) {
  if (order.kind == Order::Two) return std::sqrt(total);
  if (order.kind == Order::Other) return std::pow(total, 1.0 / order.p);
  return total;
}

void norms(const float* x, const RunLayout& l, const Order& order, double* out) {
  if (l.outputs() == 0) return;
  if (l.inner == 1) {
    const int64_t blocks = lanes::blocks_of(l.len);
    std::vector<double> partial(static_cast<size_t>(l.outer * blocks));
    const int64_t grain = std::max<int64_t>(1, lanes::kBlock / std::max<int64_t>(1, std::min(l.len, lanes::kBlock)));
    if (blocks == 1) {  // whole rows: a range of them per call
      parallel_for(l.outer, grain, [&](int64_t begin, int64_t end) {
        run_partials(order, x + begin * l.len, end - begin, l.len, &partial[begin]);
      });
      for (int64_t row = 0; row < l.outer; ++row) out[row] = finish(order, partial[row]);
      return;
    }
    parallel_for(l.outer * blocks, grain, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t row = t / blocks, r0 = (t % blocks) * lanes::kBlock;
        partial[t] = run_partial(order, x + row * l.len + r0, std::min(lanes::kBlock, l.len - r0));
      }
    });
    for (int64_t row = 0; row < l.outer; ++row) {
      double acc = partial[row * blocks];
      for (int64_t b = 1; b < blocks; ++b) acc = combine(order, acc, partial[row * blocks + b]);
      out[row] = finish(order, acc);
    }
    return;
  }
  const int64_t chunks = (l.inner + lanes::kCols - 1) / lanes::kCols;
  parallel_for(l.outer * chunks, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(lanes::kCols);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / chunks, c0 = (t % chunks) * lanes::kCols, w = std::min(lanes::kCols, l.inner - c0);
      std::fill(acc.begin(), acc.begin() + w, identity(order));
      for (int64_t r = 0; r < l.len; ++r) {
        const float* row = x + (o * l.len + r) * l.inner + c0;
        switch (order.kind) {
          case Order::Two: add_squares(acc.data(), row, w); break;
          case Order::One: add_abs(acc.data(), row, w); break;
          case Order::Zero: add_nonzero(acc.data(), row, w); break;
          case Order::Inf:
          case Order::NegInf:
            for (int64_t i = 0; i < w; ++i) acc[i] = combine(order, acc[i], std::fabs(static_cast<double>(row[i])));
            break;
          default:
            for (int64_t i = 0; i < w; ++i) acc[i] += std::pow(std::fabs(static_cast<double>(row[i])), order.p);
        }
      }
      for (int64_t i = 0; i < w; ++i) out[o * l.inner + c0 + i] = finish(order, acc[i]);
    }
  });
}

namespace {

// The per-output constants of the gradient's element formula (see the top of the file).
struct GradientRow {
  double k = 0.0;      // p = 2: scale / norm; ±inf: scale / count; p < 1: scale * norm^(1-p); p > 1: scale / norm^(p-1)
  double add = 0.0;    // the dy term's factor
  float norm = 0.0f;   // ±inf: the |x| that ties
};

// dx = add * dy + k * x over n elements (p = 2: k is scale / norm, 0 for a zero norm), in float
// with the factors rounded once (float64 per element cost more in conversions than the rest).
CONVNET_ROW_KERNEL void gradient_two(const float* __restrict x, const float* __restrict dy, float add, float k,
                                     float* __restrict dx, int64_t n) {
  if (dy) {
    for (int64_t i = 0; i < n; ++i) dx[i] = add * dy[i] + k * x[i];
  } else {
    for (int64_t i = 0; i < n; ++i) dx[i] = k * x[i];
  }
}

// One element of the other orders' gradients, without the dy term.
inline double gradient_element(const Order& order, const GradientRow& g, float xf) {
  const double v = xf;
  switch (order.kind) {
    case Order::One: return sgn(v) * g.k;
    case Order::Inf:
    case Order::NegInf: {
      const double mask = (std::fabs(xf) == g.norm || xf != xf) ? 1.0 : 0.0;
      return sgn(v) * (g.k * mask);
    }
    case Order::Zero: return 0.0;
    default: {
      if (order.p < 1.0) return (v == 0.0 ? 0.0 : sgn(v) * std::pow(std::fabs(v), order.p - 1.0)) * g.k;
      return sgn(v) * std::pow(std::fabs(v), order.p - 1.0) * g.k;
    }
  }
}

void gradient_run(const Order& order, const GradientRow& g, const float* x, const float* dy, float* dx, int64_t n) {
  if (order.kind == Order::Two) return gradient_two(x, dy, static_cast<float>(g.add), static_cast<float>(g.k), dx, n);
  for (int64_t i = 0; i < n; ++i) {
    const double term = gradient_element(order, g, x[i]);
    dx[i] = static_cast<float>(dy ? g.add * dy[i] + term : term);
  }
}

// How many elements of a run tie with the ±inf norm (|x| == norm) or are NaN.
int64_t count_ties(const float* x, int64_t n, float norm) {
  int64_t c = 0;
  for (int64_t i = 0; i < n; ++i) c += (std::fabs(x[i]) == norm || x[i] != x[i]) ? 1 : 0;
  return c;
}

}  // namespace

void gradient(const float* x, const RunLayout& l, const Order& order, const double* norm, const double* scale,
              const float* dy, const double* add, float* dx) {
  const int64_t outputs = l.outputs();
  if (outputs == 0 || l.len == 0) return;
  std::vector<GradientRow> rows(static_cast<size_t>(outputs));
  std::vector<int64_t> ties;
  if (order.kind == Order::Inf || order.kind == Order::NegInf) {
    ties.assign(static_cast<size_t>(outputs), 0);
    parallel_for(outputs, std::max<int64_t>(1, 4096 / l.len), [&](int64_t begin, int64_t end) {
      for (int64_t out = begin; out < end; ++out) {
        const int64_t o = out / l.inner, i = out % l.inner;
        const float nf = static_cast<float>(norm[out]);
        const float* base = x + o * l.len * l.inner + i;
        if (l.inner == 1) ties[out] = count_ties(base, l.len, nf);
        else for (int64_t r = 0; r < l.len; ++r) ties[out] += (std::fabs(base[r * l.inner]) == nf || base[r * l.inner] != base[r * l.inner]) ? 1 : 0;
      }
    });
  }
  for (int64_t out = 0; out < outputs; ++out) {
    GradientRow& g = rows[out];
    const double n = norm[out], s = scale[out];
    g.add = add ? add[out] : 0.0;
    g.norm = static_cast<float>(n);
    switch (order.kind) {
      case Order::Two: g.k = n == 0.0 ? 0.0 : s / n; break;
      case Order::One: g.k = s; break;
      case Order::Inf:
      case Order::NegInf: g.k = s / static_cast<double>(ties[out]); break;
      case Order::Zero: g.k = 0.0; break;
      default:
        if (order.p < 1.0) g.k = s * std::pow(n, 1.0 - order.p);
        else g.k = n == 0.0 ? 0.0 : s / std::pow(n, order.p - 1.0);
    }
  }
  if (l.inner == 1) {
    const int64_t blocks = lanes::blocks_of(l.len);
    const int64_t grain = std::max<int64_t>(1, lanes::kBlock / std::min(l.len, lanes::kBlock));
    parallel_for(l.outer * blocks, grain, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t row = t / blocks, r0 = (t % blocks) * lanes::kBlock, at = row * l.len + r0;
        gradient_run(order, rows[row], x + at, dy ? dy + at : nullptr, dx + at, std::min(lanes::kBlock, l.len - r0));
      }
    });
    return;
  }
  // Columns: one line of `inner` elements at a time, each element with its own output's row.
  parallel_for(l.outer * l.len, std::max<int64_t>(1, lanes::kBlock / l.inner), [&](int64_t begin, int64_t end) {
    for (int64_t line = begin; line < end; ++line) {
      const int64_t o = line / l.len, at = line * l.inner;
      const GradientRow* g = rows.data() + o * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        if (order.kind == Order::Two) {  // as gradient_two
          const float k = static_cast<float>(g[i].k), term = k * x[at + i];
          dx[at + i] = dy ? static_cast<float>(g[i].add) * dy[at + i] + term : term;
          continue;
        }
        const double term = gradient_element(order, g[i], x[at + i]);
        dx[at + i] = static_cast<float>(dy ? g[i].add * dy[at + i] + term : term);
      }
    }
  });
}

}  // namespace norms

void vector_norm(const Tensor& x, const std::vector<int64_t>& axes, double p, const Tensor& y) {
  const lanes::RunLayout l = lanes::run_layout(x.shape, axes);
  std::vector<double> out(static_cast<size_t>(l.outputs()));
  norms::norms(x.f32(), l, norms::order_of(p), out.data());
  float* py = y.f32();
  for (size_t i = 0; i < out.size(); ++i) py[i] = static_cast<float>(out[i]);
}

void vector_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& y, const std::vector<int64_t>& axes, double p,
                          const Tensor& dx) {
  const lanes::RunLayout l = lanes::run_layout(x.shape, axes);
  const int64_t outputs = l.outputs();
  std::vector<double> norm(static_cast<size_t>(outputs)), scale(static_cast<size_t>(outputs));
  const float *py = y.f32(), *pdy = dy.f32();
  for (int64_t i = 0; i < outputs; ++i) norm[i] = py[i], scale[i] = pdy[i];
  norms::gradient(x.f32(), l, norms::order_of(p), norm.data(), scale.data(), nullptr, nullptr, dx.f32());
}

}  // namespace cpu
}  // namespace convnet
