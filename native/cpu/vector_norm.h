// The pieces of vector_norm.cc that normalize.cc builds on (internal to the CPU backend): the
// per-output norms in float64, and the norm's gradient with a per-output scale, both over x
// viewed as [outer, len, inner] (row_lanes.h). See vector_norm.cc for the formulas.
#pragma once
#include <cstdint>

#include "cpu/row_lanes.h"

namespace convnet {
namespace cpu {
namespace norms {

// The order p sorted into the cases that have their own loops.
struct Order {
  enum Kind { Two, One, Inf, NegInf, Zero, Other } kind;
  double p;
};
Order order_of(double p);

// One contiguous run's partial (a sum of |x|^p, a count, or the max / min of |x|; NaN wins the
// max and min), partials of consecutive runs combined in order, and the norm from the total.
double run_partial(const Order& order, const float* x, int64_t n);
// out[r] = run_partial of the run at x + r * n, for `runs` consecutive runs (fewer calls per row).
void run_partials(const Order& order, const float* x, int64_t runs, int64_t n, double* out);
double combine(const Order& order, double a, double b);
double finish(const Order& order, double total);

// out[o * inner + i] = the norm of x[o, :, i] in float64 (parallel, blocks as row_lanes.h).
void norms(const float* x, const lanes::RunLayout& l, const Order& order, double* out);

// dx[o, r, i] = add[o * inner + i] * dy[o, r, i] + scale[o * inner + i] * d norm / d x[o, r, i],
// the derivative as PyTorch's norm_backward takes it (0 at a zero norm, ties of the inf norms
// sharing, 0 for p = 0); `norm` from norms(). dy and add may both be null (no first term).
void gradient(const float* x, const lanes::RunLayout& l, const Order& order, const double* norm, const double* scale,
              const float* dy, const double* add, float* dx);

}  // namespace norms
}  // namespace cpu
}  // namespace convnet
