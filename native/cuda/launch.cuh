// Helpers for the project's own kernels (*.cu): launch geometry, a grid-stride loop over
// elements with a device lambda, warp/block reductions, and NCHW/row index arithmetic.
// Compiled with nvcc --extended-lambda, so kernels can be written as
//
//   cuda::for_each(op, n, [=] __device__(int64_t i) { y[i] = x[i] > 0.f ? x[i] : 0.f; });
//
// Every launch goes on cuda::stream() and is checked (check_launch) before returning.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "cuda/context.h"

namespace convnet {
namespace cuda {

constexpr int kThreads = 256;  // threads per block for the elementwise kernels

// Blocks for n items at `threads` per block, capped (grid-stride loops cover the rest).
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(b, 65535LL * 8)));
}

template <typename F>
__global__ void for_each_kernel(int64_t n, F f) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    f(i);
}

// Calls f(i) for i in [0, n) on the GPU, in no particular order. Nothing is launched for n == 0.
template <typename F>
void for_each(const char* op, int64_t n, F f) {
  if (n <= 0) return;
  cudaStream_t s = stream();
  set_last_op(op);
  for_each_kernel<<<blocks_for(n), kThreads, 0, s>>>(n, f);
  check_launch(op);
}

// Records bad data seen by a kernel (see context.h: error_site); the first report wins.
__device__ __forceinline__ void report_error(int* word, int site) { atomicCAS(word, 0, site); }

// Sum over a warp (all 32 lanes must call it); every lane gets the total.
template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
template <typename T>
__device__ __forceinline__ T warp_max(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024; every thread must call it);
// every thread gets the total. Uses 32 values of shared memory; safe to call repeatedly.
template <typename T>
__device__ T block_sum(T v) {
  __shared__ T partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // partial[] may still be read by a previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  T total = lane < warps ? partial[lane] : T(0);
  return warp_sum(total);
}
template <typename T>
__device__ T block_max(T v, T lowest) {
  __shared__ T partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  T m = lane < warps ? partial[lane] : lowest;
  return warp_max(m);
}

}  // namespace cuda
}  // namespace convnet

namespace convnet {
namespace cuda {

// out[0] = scale * sum(x[0..n)), in one block, accumulated in double in a fixed order (the
// same result on every run). For the reductions of the losses ('mean', 'sum'). common.cu.
void sum_to_scalar(const char* op, const float* x, int64_t n, double scale, float* out);

}  // namespace cuda
}  // namespace convnet
