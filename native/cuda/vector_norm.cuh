// The pieces of vector_norm.cu that normalize.cu builds on (the CPU's vector_norm.h): the norms
// in float64 on the device, and the norm's gradient with a per-output scale. Same formulas as
// native/cpu/vector_norm.cc.
#pragma once
#include <cstdint>

#include "cuda/row_reduce.cuh"

namespace convnet {
namespace cuda {
namespace norms {

struct Order {
  enum Kind { Two, One, Inf, NegInf, Zero, Other } kind;
  double p;
};
Order order_of(double p);

// out (device, l.outputs() doubles) = the norm of x[o, :, i].
void norms(const char* op, const float* x, const rows::RunLayout& l, const Order& order, double* out);

// dx = add * dy + scale * d norm / dx per element (device arrays of one double per output; dy
// and add may both be null), norms from norms().
void gradient(const char* op, const float* x, const rows::RunLayout& l, const Order& order, const double* norm,
              const double* scale, const float* dy, const double* add, float* dx);

}  // namespace norms
}  // namespace cuda
}  // namespace convnet
