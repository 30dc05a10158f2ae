// Reductions over axes (sum, mean, max, min), argmax / argmin, and int32 sum / max / min on the
// GPU (cpu/reduce.cc has the same semantics). Deterministic: no atomics; every output is
// computed in an order fixed by the shape alone, in float64 (int64 for int32) as on the CPU. So
// the result is the same on every run and every GPU (the CPU sums in another order, which in
// float64 almost never changes the float32 result; max, min, argmax, argmin and int32 sums do
// not round, so they give the CPU's bits).
//
// Layout: output element o starts at x offset base(o) and its reduced elements follow at
// base(o) + off(r), r in row-major order. Three kernels, one reducer each kind:
//  - one thread per output (neighbouring threads read neighbouring outputs' elements) when
//    the outputs are many and the reduced axes are not the last;
//  - one block per output when the reduction includes x's last axis (threads then read
//    neighbouring elements) or there are few outputs: thread t takes r = t, t + blockDim, ...
//    and the threads' values combine in a fixed tree;
//  - and when few outputs (< 1024) reduce long runs, each output's r range is split into
//    slices of at least kSlice elements reduced by separate blocks, whose partials a second
//    kernel combines in slice order (a single block per output left the GPU nearly idle: a
//    full sum of 2^28 floats ran on one SM).
// argmax / argmin combine (value, index) pairs by a rule that does not depend on the order
// (the better value; on ties, and between NaNs, the smaller index; a NaN beats any number), so
// the tree gives the sequential scan's answer: the first extremum, or the first NaN.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "cuda/context.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/reduce.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {
namespace {

using reduction::kFewOutputs;
using reduction::launch_reduce;
using reduction::make_walks;
using reduction::per_block_layout;
using reduction::reduced_axes;

// ---- reducers: what a kernel loads, how values combine, where the result goes ----------------

template <ReduceOp Op>
struct FloatReducer {
  using Value = double;
  const float* x;
  StridedIndex<1> kept, reduced;
  int64_t count;
  float* y;

  __device__ const float* base(int64_t o) const { return x + kept.offset(o); }
  __device__ double load(const float* b, int64_t r) const {
    const float v = b[reduced.offset(r)];
    return Op == ReduceOp::NanSum && v != v ? 0.0 : v;  // nansum reads a NaN as 0
  }
  __device__ double identity() const {
    if (Op == ReduceOp::Max) return -INFINITY;
    if (Op == ReduceOp::Min) return INFINITY;
    return 0.0;
  }
  // NaN propagates through max and min, as in PyTorch (the CPU's rule, also for partials).
  __device__ double combine(double acc, double v) const {
    if (Op == ReduceOp::Max) return (v > acc || v != v) && acc == acc ? v : acc;
    if (Op == ReduceOp::Min) return (v < acc || v != v) && acc == acc ? v : acc;
    return acc + v;
  }
  __device__ void store(int64_t o, double acc) const {
    y[o] = static_cast<float>(Op == ReduceOp::Mean ? acc / static_cast<double>(count) : acc);
  }
};

// int32 in int64 (sums exact, so the order does not matter). A sum outside int32 is reported
// through the device error word (E_RANGE at the next wait; the output holds the wrapped value,
// never seen without the error), as cpu/reduce.cc throws E_RANGE.
template <ReduceOp Op>
struct IntReducer {
  using Value = int64_t;
  const int32_t* x;
  StridedIndex<1> kept, reduced;
  int32_t* y;
  int* error;
  int site;

  __device__ const int32_t* base(int64_t o) const { return x + kept.offset(o); }
  __device__ int64_t load(const int32_t* b, int64_t r) const { return b[reduced.offset(r)]; }
  __device__ int64_t identity() const {
    if (Op == ReduceOp::Max) return INT64_MIN;
    if (Op == ReduceOp::Min) return INT64_MAX;
    return 0;
  }
  __device__ int64_t combine(int64_t acc, int64_t v) const {
    if (Op == ReduceOp::Max) return v > acc ? v : acc;
    if (Op == ReduceOp::Min) return v < acc ? v : acc;
    return acc + v;
  }
  __device__ void store(int64_t o, int64_t v) const {
    if (v > INT32_MAX || v < INT32_MIN) report_error(error, site);
    y[o] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v)));
  }
};

template <typename T>
struct ArgValue {
  T value;
  int64_t index;  // -1: no element yet
};

// x as [outer, len, inner]: output o = (outer index, inner index) scans the len axis.
template <typename T, bool kLargest>
struct ArgReducer {
  using Value = ArgValue<T>;
  const T* x;
  int64_t len, inner;
  int32_t* y;

  __device__ const T* base(int64_t o) const {
    const int64_t q = o / inner;
    return x + q * len * inner + (o - q * inner);
  }
  __device__ Value load(const T* b, int64_t r) const { return {b[r * inner], r}; }
  __device__ Value identity() const { return {T(), -1}; }
  // Whether v comes before a in the sequential scan's answer: any element before none; a NaN
  // before a number; the better number; between equals (or NaNs), the smaller index.
  __device__ bool before(const Value& v, const Value& a) const {
    if (v.index < 0) return false;
    if (a.index < 0) return true;
    const bool v_nan = v.value != v.value, a_nan = a.value != a.value;
    if (v_nan != a_nan) return v_nan;
    if (!v_nan && v.value != a.value) return kLargest ? v.value > a.value : v.value < a.value;
    return v.index < a.index;
  }
  __device__ Value combine(const Value& a, const Value& v) const { return before(v, a) ? v : a; }
  __device__ void store(int64_t o, const Value& v) const { y[o] = static_cast<int32_t>(v.index); }
};

const char* reduce_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Mean: return "mean";
    case ReduceOp::Max: return "max";
    case ReduceOp::Min: return "min";
    case ReduceOp::NanSum: return "nansum";
  }
  return "reduce";
}

template <ReduceOp Op>
void launch_float(const char* name, const float* x, const StridedIndex<1>& kept, const StridedIndex<1>& reduced,
                  int64_t out_n, int64_t count, bool per_block, float* y) {
  launch_reduce(name, FloatReducer<Op>{x, kept, reduced, count, y}, out_n, count, per_block);
}

template <ReduceOp Op>
void launch_int(const char* name, const int32_t* x, const StridedIndex<1>& kept, const StridedIndex<1>& reduced,
                int64_t out_n, int64_t count, bool per_block, int32_t* y, int* error, int site) {
  launch_reduce(name, IntReducer<Op>{x, kept, reduced, y, error, site}, out_n, count, per_block);
}

}  // namespace

void reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y) {
  const char* name = reduce_name(op);
  const int64_t out_n = y.numel();
  if (out_n == 0) return;
  const int64_t count = x.numel() / out_n;
  float* py = y.f32();
  if (count == 0) {
    CONVNET_CHECK(op != ReduceOp::Max && op != ReduceOp::Min, "E_SHAPE", "max/min of an empty tensor has no identity");
    const float value = op == ReduceOp::Mean ? NAN : 0.0f;
    for_each(name, out_n, [=] __device__(int64_t i) { py[i] = value; });
    return;
  }
  const std::vector<bool> is_reduced = reduced_axes(x.shape, axes);  // no axes: a copy, as on the CPU
  StridedIndex<1> kept, reduced;
  make_walks(x.shape, is_reduced, name, &kept, &reduced);
  const bool per_block = per_block_layout(x.shape, is_reduced, out_n, count);
  const float* px = x.f32();
  switch (op) {
    case ReduceOp::Sum: return launch_float<ReduceOp::Sum>(name, px, kept, reduced, out_n, count, per_block, py);
    case ReduceOp::Mean: return launch_float<ReduceOp::Mean>(name, px, kept, reduced, out_n, count, per_block, py);
    case ReduceOp::Max: return launch_float<ReduceOp::Max>(name, px, kept, reduced, out_n, count, per_block, py);
    case ReduceOp::Min: return launch_float<ReduceOp::Min>(name, px, kept, reduced, out_n, count, per_block, py);
    case ReduceOp::NanSum: return launch_float<ReduceOp::NanSum>(name, px, kept, reduced, out_n, count, per_block, py);
  }
  fail("E_ARG", "reduce: unknown op ", static_cast<int>(op));
}

void reduce_int32(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y) {
  CONVNET_CHECK(op == ReduceOp::Sum || op == ReduceOp::Max || op == ReduceOp::Min, "E_DTYPE",
                "mean: expected a float32 tensor, got int32 (cast it first)");
  const char* name = reduce_name(op);
  const int64_t out_n = y.numel();
  if (out_n == 0) return;
  const int64_t count = x.numel() / out_n;
  int32_t* py = y.i32();
  if (count == 0) {
    CONVNET_CHECK(op == ReduceOp::Sum, "E_SHAPE", "max/min of an empty tensor has no identity");
    for_each(name, out_n, [=] __device__(int64_t i) { py[i] = 0; });
    return;
  }
  const std::vector<bool> is_reduced = reduced_axes(x.shape, axes);
  StridedIndex<1> kept, reduced;
  make_walks(x.shape, is_reduced, name, &kept, &reduced);
  const bool per_block = per_block_layout(x.shape, is_reduced, out_n, count);
  int* error = device_error_word();
  const int site = error_site(name, "the int32 sum is outside the int32 range [-2147483648, 2147483647] (cast to float32 first)", "E_RANGE");
  const int32_t* px = x.i32();
  switch (op) {
    case ReduceOp::Sum: return launch_int<ReduceOp::Sum>(name, px, kept, reduced, out_n, count, per_block, py, error, site);
    case ReduceOp::Max: return launch_int<ReduceOp::Max>(name, px, kept, reduced, out_n, count, per_block, py, error, site);
    case ReduceOp::Min: return launch_int<ReduceOp::Min>(name, px, kept, reduced, out_n, count, per_block, py, error, site);
    default: break;
  }
  fail("E_ARG", "reduce: unknown op ", static_cast<int>(op));
}

namespace {

template <typename T>
void launch_arg(const char* op, const T* x, int64_t outer, int64_t len, int64_t inner, bool largest, int32_t* y) {
  const int64_t out_n = outer * inner;
  // Per block along a contiguous axis, or for few outputs; per thread otherwise (neighbouring
  // threads then read neighbouring columns), as the other reductions.
  const bool per_block = len >= 32 && (inner == 1 || out_n < kFewOutputs);
  if (largest) launch_reduce(op, ArgReducer<T, true>{x, len, inner, y}, out_n, len, per_block);
  else launch_reduce(op, ArgReducer<T, false>{x, len, inner, y}, out_n, len, per_block);
}

}  // namespace

void arg_extremum(const Tensor& x, int64_t axis, bool largest, const Tensor& y) {
  int64_t outer = 1, inner = 1;
  const int64_t len = x.shape[axis];
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  if (len == 0 || outer * inner == 0) return;
  const char* op = largest ? "argmax" : "argmin";
  if (x.dtype == DType::Int32) launch_arg(op, x.i32(), outer, len, inner, largest, y.i32());
  else launch_arg(op, x.f32(), outer, len, inner, largest, y.i32());
}

}  // namespace cuda
}  // namespace convnet
