// The launch of a deterministic reduction on the GPU over any set of axes, shared by reduce.cu
// (sum, mean, max, min, argmax, int32) and var_std.cu: a reducer R says what a kernel loads, how
// two values combine and where the result goes (reduce.cu's header comment describes the three
// kernels and when each runs); launch_reduce runs it with an order fixed by the shape alone.
// A reducer has: Value; base(o) (output o's first element); load(base, r) (its r-th reduced
// element); identity(); combine(acc, v); store(o, acc).
#pragma once
#include <algorithm>
#include <vector>

#include "core/error.h"
#include "cuda/context.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {
namespace reduction {

constexpr int kMaxBlock = 256;
constexpr int64_t kSlice = 8192;       // elements per block of a split reduction, at least
constexpr int64_t kFewOutputs = 1024;  // fewer outputs than this: one block each, or slices

// ---- kernels ---------------------------------------------------------------------------------

template <typename R>
__global__ void reduce_per_thread(R red, int64_t out_n, int64_t count) {
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < out_n;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const auto* b = red.base(o);
    typename R::Value acc = red.identity();
    for (int64_t r = 0; r < count; ++r) acc = red.combine(acc, red.load(b, r));
    red.store(o, acc);
  }
}

// Block k reduces slice k % slices of output k / slices (r in [s * slice, (s + 1) * slice)):
// into y when there is one slice, else into partial[k].
template <typename R>
__global__ void reduce_slices(R red, int64_t out_n, int64_t count, int64_t slices, int64_t slice,
                              typename R::Value* partial) {
  __shared__ typename R::Value shared[kMaxBlock];
  const int t = threadIdx.x;
  for (int64_t k = blockIdx.x; k < out_n * slices; k += gridDim.x) {
    const int64_t o = k / slices, r0 = (k - o * slices) * slice, r1 = min(count, r0 + slice);
    const auto* b = red.base(o);
    typename R::Value acc = red.identity();
    for (int64_t r = r0 + t; r < r1; r += blockDim.x) acc = red.combine(acc, red.load(b, r));
    shared[t] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {  // blockDim.x is a power of two
      if (t < s) shared[t] = red.combine(shared[t], shared[t + s]);
      __syncthreads();
    }
    if (t == 0) {
      if (partial) partial[k] = shared[0];
      else red.store(o, shared[0]);
    }
    __syncthreads();  // shared[0] is read before the next output overwrites it
  }
}

// y[o] from its slices' partials, combined in slice order.
template <typename R>
__global__ void combine_slices(R red, int64_t out_n, int64_t slices, const typename R::Value* partial) {
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < out_n;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    typename R::Value acc = partial[o * slices];
    for (int64_t s = 1; s < slices; ++s) acc = red.combine(acc, partial[o * slices + s]);
    red.store(o, acc);
  }
}

// Runs a reducer over out_n outputs of count elements each (count > 0): per thread, per block,
// or per block over slices (see the top of the file). The slicing depends on the shape alone.
template <typename R>
void launch_reduce(const char* op, const R& red, int64_t out_n, int64_t count, bool per_block) {
  cudaStream_t s = stream();
  set_last_op(op);
  if (!per_block) {
    reduce_per_thread<<<blocks_for(out_n), kThreads, 0, s>>>(red, out_n, count);
    return check_launch(op);
  }
  int threads = 32;
  while (threads < kMaxBlock && threads < count) threads *= 2;
  const int64_t slices = out_n >= kFewOutputs ? 1
                                              : std::max<int64_t>(1, std::min((count + kSlice - 1) / kSlice,
                                                                              (kFewOutputs + out_n - 1) / out_n));
  const int64_t slice = (count + slices - 1) / slices;
  DeviceBuffer scratch;
  if (slices > 1) scratch = DeviceBuffer(sizeof(typename R::Value) * static_cast<size_t>(out_n * slices));
  typename R::Value* partial = slices > 1 ? scratch.as<typename R::Value>() : nullptr;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(out_n * slices, int64_t{1} << 20));
  reduce_slices<<<blocks, threads, 0, s>>>(red, out_n, count, slices, slice, partial);
  check_launch(op);
  if (slices > 1) {
    combine_slices<<<blocks_for(out_n), kThreads, 0, s>>>(red, out_n, slices, partial);
    check_launch(op);
  }
}

// Which of x's axes are reduced.
inline std::vector<bool> reduced_axes(const Shape& shape, const std::vector<int64_t>& axes) {
  std::vector<bool> is_reduced(shape.size(), false);
  for (int64_t a : axes) is_reduced[a] = true;
  return is_reduced;
}

// The kept axes (reduced ones as size 1) and the reduced axes (kept ones as size 1), both
// walked with x's strides: output o's elements are at kept.offset(o) + reduced.offset(r).
inline void make_walks(const Shape& shape, const std::vector<bool>& is_reduced, const char* name, StridedIndex<1>* kept,
                StridedIndex<1>* reduced) {
  Shape kept_shape = shape, reduced_shape = shape;
  for (size_t d = 0; d < shape.size(); ++d) (is_reduced[d] ? kept_shape : reduced_shape)[d] = 1;
  const std::vector<int64_t> strides[1] = {contiguous_strides(shape)};
  *kept = make_strided_index(kept_shape, strides, name);
  *reduced = make_strided_index(reduced_shape, strides, name);
}

// One block per output (or per slice of one) when the last axis of size > 1 is reduced (its
// threads then read neighbouring elements), or when the outputs are too few to fill the GPU one
// thread each (summing [1e6, 2] over axis 0); and only for reductions long enough to fill a warp.
inline bool per_block_layout(const Shape& shape, const std::vector<bool>& is_reduced, int64_t out_n, int64_t count) {
  bool trailing = false;
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] == 1) continue;
    trailing = is_reduced[d];
    break;
  }
  return count >= 32 && (trailing || out_n < kFewOutputs);
}

}  // namespace reduction
}  // namespace cuda
}  // namespace convnet
