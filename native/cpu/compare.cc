// Comparisons eq, ne, lt, le, gt, ge with NumPy/PyTorch broadcasting. The library has no bool
// dtype: y is a float32 mask of 1 and 0 (PyTorch returns bool). a and b are both float32 or both
// int32; float32 compares as IEEE (a NaN is unequal to everything, so only ne is 1), int32
// exactly. A number operand (compare_scalar) is rounded to float32 against a float32 tensor, as
// the arithmetic ops do, and compared exactly (in float64) against an int32 tensor.
//
// Broadcasting walks the output row by row (a row = the last dimension), as elementwise.cc does:
// each input has stride 0 along the axes it is broadcast along, so its row is either
// contiguous or one repeated value.
#include <algorithm>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;

template <typename T, typename F>
void compare_loop(const T* pa, const Shape& a_shape, const T* pb, const Shape& b_shape, const Tensor& y, F f) {
  float* py = y.f32();
  const int64_t n = y.numel();
  if (n == 0) return;
  if (a_shape == b_shape) {
    parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) py[i] = f(pa[i], pb[i]) ? 1.0f : 0.0f;
    });
    return;
  }
  Shape shape = y.shape;
  std::vector<int64_t> s[2] = {broadcast_strides(a_shape, shape), broadcast_strides(b_shape, shape)};
  merge_broadcast_axes(shape, s);
  const int64_t dims = static_cast<int64_t>(shape.size());
  const int64_t row = shape[dims - 1], rows = n / row;
  const int64_t step_a = s[0][dims - 1], step_b = s[1][dims - 1];
  parallel_for(rows, std::max<int64_t>(1, kGrain / row), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t off[2];
      broadcast_row_offsets(r, shape, s, off);
      const T* ra = pa + off[0];
      const T* rb = pb + off[1];
      float* ry = py + r * row;
      for (int64_t j = 0; j < row; ++j) ry[j] = f(ra[j * step_a], rb[j * step_b]) ? 1.0f : 0.0f;
    }
  });
}

// Calls run(f) with the predicate of `op` (for operands of type T).
template <typename T, typename Run>
void with_compare_op(CompareOp op, Run run) {
  switch (op) {
    case CompareOp::Eq: return run([](T u, T v) { return u == v; });
    case CompareOp::Ne: return run([](T u, T v) { return u != v; });
    case CompareOp::Lt: return run([](T u, T v) { return u < v; });
    case CompareOp::Le: return run([](T u, T v) { return u <= v; });
    case CompareOp::Gt: return run([](T u, T v) { return u > v; });
    case CompareOp::Ge: return run([](T u, T v) { return u >= v; });
  }
  fail("E_ARG", "compare: unknown op ", static_cast<int>(op));
}

template <typename T, typename S, typename F>
void scalar_loop(const T* px, int64_t n, S s, bool scalar_first, float* py, F f) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    if (scalar_first) {
      for (int64_t i = begin; i < end; ++i) py[i] = f(s, static_cast<S>(px[i])) ? 1.0f : 0.0f;
    } else {
      for (int64_t i = begin; i < end; ++i) py[i] = f(static_cast<S>(px[i]), s) ? 1.0f : 0.0f;
    }
  });
}

}  // namespace

void compare(CompareOp op, const Tensor& a, const Tensor& b, const Tensor& y) {
  CONVNET_CHECK(a.dtype == b.dtype, "E_DTYPE", "compare: a is ", dtype_name(a.dtype), " but b is ", dtype_name(b.dtype));
  if (a.dtype == DType::Int32) {
    with_compare_op<int32_t>(op, [&](auto f) { compare_loop(a.i32(), a.shape, b.i32(), b.shape, y, f); });
  } else {
    with_compare_op<float>(op, [&](auto f) { compare_loop(a.f32(), a.shape, b.f32(), b.shape, y, f); });
  }
}

void compare_scalar(CompareOp op, const Tensor& x, double scalar, bool scalar_first, const Tensor& y) {
  if (x.dtype == DType::Int32) {
    with_compare_op<double>(op, [&](auto f) { scalar_loop(x.i32(), x.numel(), scalar, scalar_first, y.f32(), f); });
  } else {
    const float s = static_cast<float>(scalar);
    with_compare_op<float>(op, [&](auto f) { scalar_loop(x.f32(), x.numel(), s, scalar_first, y.f32(), f); });
  }
}

}  // namespace cpu
}  // namespace convnet
