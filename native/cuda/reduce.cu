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
  // The kept axes (reduced ones as size 1) and the reduced axes (kept ones as size 1), both
  // walked with x's strides.
  std::vector<bool> is_reduced(x.shape.size(), false);  // no axes: a copy, as on the CPU
  for (int64_t a : axes) is_reduced[a] = true;
  Shape kept_shape = x.shape, reduced_shape = x.shape;
  for (size_t d = 0; d < x.shape.size(); ++d) (is_reduced[d] ? kept_shape : reduced_shape)[d] = 1;
  const std::vector<int64_t> strides[1] = {contiguous_strides(x.shape)};
  const StridedIndex<1> kept = make_strided_index(kept_shape, strides, name);
  const StridedIndex<1> reduced = make_strided_index(reduced_shape, strides, name);
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

}  // namespace cuda
}  // namespace convnet
