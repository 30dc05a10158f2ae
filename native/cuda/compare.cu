// Comparisons eq, ne, lt, le, gt, ge on the GPU (cpu/compare.cc has the same semantics): float32
// 1/0 masks (no bool dtype), NumPy/PyTorch broadcasting, a and b both float32 or both int32;
// float32 compares as IEEE (NaN: only ne is 1), int32 exactly; a number operand is rounded to
// float32 against a float32 tensor and compared in float64 against an int32 tensor. Exact
// operations: the results are the CPU's bits.
#include "core/error.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {
namespace {

struct EqF { template <typename T> __device__ bool operator()(T u, T v) const { return u == v; } };
struct NeF { template <typename T> __device__ bool operator()(T u, T v) const { return u != v; } };
struct LtF { template <typename T> __device__ bool operator()(T u, T v) const { return u < v; } };
struct LeF { template <typename T> __device__ bool operator()(T u, T v) const { return u <= v; } };
struct GtF { template <typename T> __device__ bool operator()(T u, T v) const { return u > v; } };
struct GeF { template <typename T> __device__ bool operator()(T u, T v) const { return u >= v; } };

template <typename Run>
void with_compare_op(CompareOp op, Run run) {
  switch (op) {
    case CompareOp::Eq: return run(EqF{});
    case CompareOp::Ne: return run(NeF{});
    case CompareOp::Lt: return run(LtF{});
    case CompareOp::Le: return run(LeF{});
    case CompareOp::Gt: return run(GtF{});
    case CompareOp::Ge: return run(GeF{});
  }
  fail("E_ARG", "compare: unknown op ", static_cast<int>(op));
}

const char* compare_name(CompareOp op) {
  static const char* names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
  const int code = static_cast<int>(op);
  return code >= 0 && code < 6 ? names[code] : "compare";
}

template <typename T, typename F>
void compare_loop(const char* op, const T* pa, const Shape& a_shape, const T* pb, const Shape& b_shape, const Tensor& y,
                  F f) {
  float* py = y.f32();
  const int64_t n = y.numel();
  if (n == 0) return;
  if (a_shape == b_shape) {
    for_each(op, n, [=] __device__(int64_t i) { py[i] = f(pa[i], pb[i]) ? 1.0f : 0.0f; });
  } else {
    const std::vector<int64_t> strides[2] = {broadcast_strides(a_shape, y.shape), broadcast_strides(b_shape, y.shape)};
    const StridedIndex<2> index = make_strided_index(y.shape, strides, op);
    for_each(op, n, [=] __device__(int64_t i) {
      int64_t o[2];
      index.offsets(i, o);
      py[i] = f(pa[o[0]], pb[o[1]]) ? 1.0f : 0.0f;
    });
  }
}

template <typename T, typename S, typename F>
void scalar_loop(const char* op, const T* px, int64_t n, S s, bool scalar_first, float* py, F f) {
  if (scalar_first) {
    for_each(op, n, [=] __device__(int64_t i) { py[i] = f(s, static_cast<S>(px[i])) ? 1.0f : 0.0f; });
  } else {
    for_each(op, n, [=] __device__(int64_t i) { py[i] = f(static_cast<S>(px[i]), s) ? 1.0f : 0.0f; });
  }
}

}  // namespace

void compare(CompareOp op, const Tensor& a, const Tensor& b, const Tensor& y) {
  const char* name = compare_name(op);
  CONVNET_CHECK(a.dtype == b.dtype, "E_DTYPE", name, ": a is ", dtype_name(a.dtype), " but b is ", dtype_name(b.dtype));
  with_compare_op(op, [&](auto f) {
    if (a.dtype == DType::Int32) compare_loop(name, a.i32(), a.shape, b.i32(), b.shape, y, f);
    else compare_loop(name, a.f32(), a.shape, b.f32(), b.shape, y, f);
  });
}

void compare_scalar(CompareOp op, const Tensor& x, double scalar, bool scalar_first, const Tensor& y) {
  const char* name = compare_name(op);
  with_compare_op(op, [&](auto f) {
    if (x.dtype == DType::Int32) scalar_loop(name, x.i32(), x.numel(), scalar, scalar_first, y.f32(), f);
    else scalar_loop(name, x.f32(), x.numel(), static_cast<float>(scalar), scalar_first, y.f32(), f);
  });
}

}  // namespace cuda
}  // namespace convnet
