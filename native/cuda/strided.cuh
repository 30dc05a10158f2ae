// Helpers of the basic ops' kernels (fill.cu, elementwise.cu, reduce.cu, layout.cu,
// indexing.cu, sgd.cu, adam.cu):
//  - StridedIndex<N>: maps the linear index of an element of a contiguous "walk" shape to
//    offsets in N tensors with their own strides (0 along a broadcast axis). Passed to kernels
//    by value; built on the host with the axes merged where every tensor allows it (so a
//    broadcast row costs one division per element, not one per axis).
//  - exact float arithmetic (fmul, fadd, ...): nvcc contracts a * b + c into one FMA by
//    default, which rounds once instead of twice; the CPU build (x86-64 without -march) never
//    does. Kernels that promise the CPU's bits (random numbers, affine, arange, the optimizer
//    steps) spell each operation with the _rn intrinsics, which are never contracted.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "core/error.h"
#include "core/storage.h"

namespace convnet {
namespace cuda {

// PyTorch's limit too (MAX_TENSORINFO_DIMS): after merging, a walk has at most this many axes.
constexpr int kMaxDims = 25;

template <int N>
struct StridedIndex {
  int dims = 0;                   // 0: a single element (offsets all 0)
  int64_t size[kMaxDims];         // the walk's axes, outermost first
  int64_t stride[N][kMaxDims];    // per tensor, in elements

  // Offsets of element i (0 <= i < product of sizes) in each tensor.
  __device__ __forceinline__ void offsets(int64_t i, int64_t* out) const {
#pragma unroll
    for (int t = 0; t < N; ++t) out[t] = 0;
    for (int d = dims - 1; d > 0; --d) {
      const int64_t q = i / size[d], r = i - q * size[d];
#pragma unroll
      for (int t = 0; t < N; ++t) out[t] += r * stride[t][d];
      i = q;
    }
    if (dims > 0) {
#pragma unroll
      for (int t = 0; t < N; ++t) out[t] += i * stride[t][0];
    }
  }
  __device__ __forceinline__ int64_t offset(int64_t i) const {
    static_assert(N == 1, "offset(): one tensor");
    int64_t o[1];
    offsets(i, o);
    return o[0];
  }
};

// The walk over `shape` (row-major) with the given strides per tensor: axes of size 1 are
// dropped and neighbouring axes merged when every tensor steps through them as one (a shape
// left without axes walks one element as [1]). Throws
// E_SHAPE when more than kMaxDims axes remain.
template <int N>
StridedIndex<N> make_strided_index(const Shape& shape, const std::vector<int64_t> (&strides)[N], const char* op) {
  Shape sizes = shape;
  std::vector<int64_t> st[N];
  for (int t = 0; t < N; ++t) st[t] = strides[t];
  merge_broadcast_axes(sizes, st);  // core/storage.h: the CPU kernels' walk too
  CONVNET_CHECK(sizes.size() <= static_cast<size_t>(kMaxDims), "E_SHAPE", op, ": the GPU kernels handle at most ",
                kMaxDims, " axes that cannot be merged, got ", sizes.size(), " (", shape_str(shape), ")");
  StridedIndex<N> index;
  index.dims = static_cast<int>(sizes.size());
  for (int d = 0; d < index.dims; ++d) {
    index.size[d] = sizes[d];
    for (int t = 0; t < N; ++t) index.stride[t][d] = st[t][d];
  }
  return index;
}

// One rounding per operation, never fused (see the top of the file).
__device__ __forceinline__ float fmul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float fadd(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float fsub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float fdiv(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ double dmul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ double dadd(double a, double b) { return __dadd_rn(a, b); }

}  // namespace cuda
}  // namespace convnet
