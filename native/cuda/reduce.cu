// Reductions over axes (sum, mean, max, min) and argmax on the GPU (cpu/reduce.cc has the
// same semantics). Deterministic: each output element is computed by one thread, or by one
// block whose threads take fixed slices and combine them in a fixed tree, in float64 as on the
// CPU; no atomics. So the result is the same on every run (the CPU sums in another order, which
// in float64 almost never changes the float32 result).
//
// Layout: output element o starts at x offset base(o) (a StridedIndex over the kept axes) and
// its reduced elements are at base(o) + off(r) (a StridedIndex over the reduced axes), both in
// row-major order. One block per output when the reduction includes x's last axis (threads then
// read neighbouring elements) or there are few outputs, and it is long enough to fill a warp;
// one thread per output otherwise (neighbouring threads then read neighbouring outputs').
#include <cmath>

#include "core/error.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {
namespace {

template <ReduceOp Op>
__device__ __forceinline__ double init() {
  if (Op == ReduceOp::Max) return -INFINITY;
  if (Op == ReduceOp::Min) return INFINITY;
  return 0.0;
}

// NaN propagates through max and min, as in PyTorch (the CPU's rule, also for partials).
template <ReduceOp Op>
__device__ __forceinline__ double combine(double acc, double v) {
  if (Op == ReduceOp::Max) return (v > acc || v != v) && acc == acc ? v : acc;
  if (Op == ReduceOp::Min) return (v < acc || v != v) && acc == acc ? v : acc;
  return acc + v;
}

template <ReduceOp Op>
__device__ __forceinline__ float finish(double acc, int64_t count) {
  return static_cast<float>(Op == ReduceOp::Mean ? acc / static_cast<double>(count) : acc);
}

template <ReduceOp Op>
__global__ void reduce_per_thread(const float* x, StridedIndex<1> kept, StridedIndex<1> reduced, int64_t out_n,
                                  int64_t count, float* y) {
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < out_n;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float* base = x + kept.offset(o);
    double acc = init<Op>();
    for (int64_t r = 0; r < count; ++r) acc = combine<Op>(acc, base[reduced.offset(r)]);
    y[o] = finish<Op>(acc, count);
  }
}

// Which of x's axes are reduced.
std::vector<bool> reduced_axes(const Shape& shape, const std::vector<int64_t>& axes) {
  std::vector<bool> is_reduced(shape.size(), false);
  for (int64_t a : axes) is_reduced[a] = true;
  return is_reduced;
}

// The kept axes (reduced ones as size 1) and the reduced axes (kept ones as size 1), both
// walked with x's strides: output o's elements are at kept.offset(o) + reduced.offset(r).
void make_walks(const Shape& shape, const std::vector<bool>& is_reduced, const char* name, StridedIndex<1>* kept,
                StridedIndex<1>* reduced) {
  Shape kept_shape = shape, reduced_shape = shape;
  for (size_t d = 0; d < shape.size(); ++d) (is_reduced[d] ? kept_shape : reduced_shape)[d] = 1;
  const std::vector<int64_t> strides[1] = {contiguous_strides(shape)};
  *kept = make_strided_index(kept_shape, strides, name);
  *reduced = make_strided_index(reduced_shape, strides, name);
}

constexpr int kMaxBlock = 256;

template <ReduceOp Op>
__global__ void reduce_per_block(const float* x, StridedIndex<1> kept, StridedIndex<1> reduced, int64_t out_n,
                                 int64_t count, float* y) {
  __shared__ double partial[kMaxBlock];
  const int t = threadIdx.x;
  for (int64_t o = blockIdx.x; o < out_n; o += gridDim.x) {
    const float* base = x + kept.offset(o);
    double acc = init<Op>();
    for (int64_t r = t; r < count; r += blockDim.x) acc = combine<Op>(acc, base[reduced.offset(r)]);
    partial[t] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {  // blockDim.x is a power of two
      if (t < s) partial[t] = combine<Op>(partial[t], partial[t + s]);
      __syncthreads();
    }
    if (t == 0) y[o] = finish<Op>(partial[0], count);
    __syncthreads();  // partial[0] is read before the next output overwrites it
  }
}

template <ReduceOp Op>
void launch_reduce(const char* op, const float* x, const StridedIndex<1>& kept, const StridedIndex<1>& reduced,
                   int64_t out_n, int64_t count, bool per_block, float* y) {
  cudaStream_t s = stream();
  set_last_op(op);
  if (per_block) {
    int threads = 32;
    while (threads < kMaxBlock && threads < count) threads *= 2;
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(out_n, int64_t{1} << 20));
    reduce_per_block<Op><<<blocks, threads, 0, s>>>(x, kept, reduced, out_n, count, y);
  } else {
    reduce_per_thread<Op><<<blocks_for(out_n), kThreads, 0, s>>>(x, kept, reduced, out_n, count, y);
  }
  check_launch(op);
}

const char* reduce_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Mean: return "mean";
    case ReduceOp::Max: return "max";
    case ReduceOp::Min: return "min";
  }
  return "reduce";
}

}  // namespace

void reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y) {
  const char* name = reduce_name(op);
  const int64_t out_n = y.numel();
  if (out_n == 0) return;
  const int64_t count = x.numel() / out_n;
  float* py = y.f32();
  if (count == 0) {
    CONVNET_CHECK(op == ReduceOp::Sum || op == ReduceOp::Mean, "E_SHAPE", "max/min of an empty tensor has no identity");
    const float value = op == ReduceOp::Mean ? NAN : 0.0f;
    for_each(name, out_n, [=] __device__(int64_t i) { py[i] = value; });
    return;
  }
  const std::vector<bool> is_reduced = reduced_axes(x.shape, axes);  // no axes: a copy, as on the CPU
  StridedIndex<1> kept, reduced;
  make_walks(x.shape, is_reduced, name, &kept, &reduced);
  // Trailing: the last axis of size > 1 is reduced.
  bool trailing = false;
  for (size_t d = x.shape.size(); d-- > 0;) {
    if (x.shape[d] == 1) continue;
    trailing = is_reduced[d];
    break;
  }
  // Few outputs over long reductions: one block each even when its reads are strided (one
  // thread per output would leave the GPU nearly idle, e.g. summing [1e6, 2] over axis 0).
  const bool per_block = count >= 32 && (trailing || out_n < 1024);
  const float* px = x.f32();
  switch (op) {
    case ReduceOp::Sum: return launch_reduce<ReduceOp::Sum>(name, px, kept, reduced, out_n, count, per_block, py);
    case ReduceOp::Mean: return launch_reduce<ReduceOp::Mean>(name, px, kept, reduced, out_n, count, per_block, py);
    case ReduceOp::Max: return launch_reduce<ReduceOp::Max>(name, px, kept, reduced, out_n, count, per_block, py);
    case ReduceOp::Min: return launch_reduce<ReduceOp::Min>(name, px, kept, reduced, out_n, count, per_block, py);
  }
  fail("E_ARG", "reduce: unknown op ", static_cast<int>(op));
}

void argmax(const Tensor& x, int64_t axis, const Tensor& y) {
  // One thread per output, scanning the axis as the CPU does: the first maximum wins, and the
  // first NaN ends the scan (NaN counts as the largest).
  int64_t outer = 1, inner = 1;
  const int64_t len = x.shape[axis];
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  const float* px = x.f32();
  int32_t* py = y.i32();
  for_each("argmax", outer * inner, [=] __device__(int64_t t) {
    const int64_t o = t / inner, i = t - o * inner;
    const float* p = px + o * len * inner + i;
    int64_t best = 0;
    float best_value = p[0];
    for (int64_t r = 1; r < len && best_value == best_value; ++r) {
      const float v = p[r * inner];
      if (v > best_value || v != v) {
        best = r;
        best_value = v;
      }
    }
    py[t] = static_cast<int32_t>(best);
  });
}

// ---- int32 --------------------------------------------------------------------------------
// Sum, max and min of int32 values in int64 (exact, so the order does not matter), one block per
// output (threads over fixed slices, combined in a fixed tree) as reduce_per_block. A sum outside
// int32 is reported through the device error word (E_RANGE at the next wait; the output holds the
// wrapped value, never seen without the error), as cpu/reduce.cc throws E_RANGE.
namespace {

template <ReduceOp Op>
__device__ __forceinline__ int64_t combine_int(int64_t acc, int64_t v) {
  if (Op == ReduceOp::Max) return v > acc ? v : acc;
  if (Op == ReduceOp::Min) return v < acc ? v : acc;
  return acc + v;
}

template <ReduceOp Op>
__global__ void reduce_int32_per_block(const int32_t* x, StridedIndex<1> kept, StridedIndex<1> reduced, int64_t out_n,
                                       int64_t count, int32_t* y, int* error, int site) {
  __shared__ int64_t partial[kMaxBlock];
  const int t = threadIdx.x;
  for (int64_t o = blockIdx.x; o < out_n; o += gridDim.x) {
    const int32_t* base = x + kept.offset(o);
    int64_t acc = Op == ReduceOp::Sum ? 0 : base[0];
    for (int64_t r = t; r < count; r += blockDim.x) acc = combine_int<Op>(acc, base[reduced.offset(r)]);
    partial[t] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (t < s) partial[t] = combine_int<Op>(partial[t], partial[t + s]);
      __syncthreads();
    }
    if (t == 0) {
      const int64_t v = partial[0];
      if (v > INT32_MAX || v < INT32_MIN) report_error(error, site);
      y[o] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v)));
    }
    __syncthreads();
  }
}

template <ReduceOp Op>
void launch_reduce_int32(const int32_t* x, const StridedIndex<1>& kept, const StridedIndex<1>& reduced, int64_t out_n,
                         int64_t count, int32_t* y, int* error, int site) {
  cudaStream_t s = stream();
  set_last_op(reduce_name(Op));
  int threads = 32;
  while (threads < kMaxBlock && threads < count) threads *= 2;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(out_n, int64_t{1} << 20));
  reduce_int32_per_block<Op><<<blocks, threads, 0, s>>>(x, kept, reduced, out_n, count, y, error, site);
  check_launch(reduce_name(Op));
}

}  // namespace

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
  StridedIndex<1> kept, reduced;
  make_walks(x.shape, reduced_axes(x.shape, axes), name, &kept, &reduced);
  int* error = device_error_word();
  const int site = error_site(name, "the int32 sum is outside the int32 range [-2147483648, 2147483647] (cast to float32 first)", "E_RANGE");
  const int32_t* px = x.i32();
  switch (op) {
    case ReduceOp::Sum: return launch_reduce_int32<ReduceOp::Sum>(px, kept, reduced, out_n, count, py, error, site);
    case ReduceOp::Max: return launch_reduce_int32<ReduceOp::Max>(px, kept, reduced, out_n, count, py, error, site);
    case ReduceOp::Min: return launch_reduce_int32<ReduceOp::Min>(px, kept, reduced, out_n, count, py, error, site);
    default: break;
  }
  fail("E_ARG", "reduce: unknown op ", static_cast<int>(op));
}

namespace {

template <typename T>
void arg_extremum_loop(const char* op, const T* px, int64_t outer, int64_t len, int64_t inner, bool largest, int32_t* py) {
  for_each(op, outer * inner, [=] __device__(int64_t t) {
    const int64_t o = t / inner, i = t - o * inner;
    const T* p = px + o * len * inner + i;
    int64_t best = 0;
    T best_value = p[0];
    for (int64_t r = 1; r < len && best_value == best_value; ++r) {
      const T v = p[r * inner];
      if ((largest ? v > best_value : v < best_value) || v != v) {
        best = r;
        best_value = v;
      }
    }
    py[t] = static_cast<int32_t>(best);
  });
}

}  // namespace

void arg_extremum(const Tensor& x, int64_t axis, bool largest, const Tensor& y) {
  // One thread per output, scanning the axis as the CPU does: the first extremum wins, and the
  // first NaN ends the scan (a NaN wins for argmax and argmin alike).
  int64_t outer = 1, inner = 1;
  const int64_t len = x.shape[axis];
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  if (len == 0) return;
  const char* op = largest ? "argmax" : "argmin";
  if (x.dtype == DType::Int32) arg_extremum_loop(op, x.i32(), outer, len, inner, largest, y.i32());
  else arg_extremum_loop(op, x.f32(), outer, len, inner, largest, y.i32());
}

}  // namespace cuda
}  // namespace convnet
