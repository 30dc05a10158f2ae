// The bias gradient where cuDNN's cudnnConvolutionBackwardBias does not apply (linear's last
// axis, any other axis or rank): db[c] = sum of dy[o, c, q] over o and q. Deterministic: every
// channel's sum is split over the threads in a way fixed by the shape and combined in a fixed
// order (no atomics), in double as the CPU kernel does.
#include "cuda/conv_kernels.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {
namespace {

// inner > 1: one block per channel; its threads stride over the (o, q) pairs, whose runs of
// `inner` values are contiguous in memory.
__global__ void bias_sum_planes(const float* dy, int64_t outer, int64_t channels, int64_t inner, float* db) {
  for (int64_t c = blockIdx.x; c < channels; c += gridDim.x) {
    double sum = 0.0;
    const int64_t n = outer * inner;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const int64_t o = i / inner, q = i - o * inner;
      sum += dy[(o * channels + c) * inner + q];
    }
    sum = block_sum(sum);
    if (threadIdx.x == 0) db[c] = static_cast<float>(sum);
  }
}

// inner == 1 (rows of a [outer, channels] matrix): a block takes 32 adjacent channels, so that a
// warp reads 32 adjacent values of a row; its 8 warps take every 8th row, and the 8 partial sums
// of a channel are added in warp order.
constexpr int kRowWarps = 8;
__global__ void bias_sum_rows(const float* dy, int64_t outer, int64_t channels, float* db) {
  __shared__ double partial[kRowWarps][32];
  const int lane = threadIdx.x, warp = threadIdx.y;
  for (int64_t c0 = blockIdx.x * 32LL; c0 < channels; c0 += gridDim.x * 32LL) {
    const int64_t c = c0 + lane;
    double sum = 0.0;
    if (c < channels)
      for (int64_t r = warp; r < outer; r += kRowWarps) sum += dy[r * channels + c];
    partial[warp][lane] = sum;
    __syncthreads();
    if (warp == 0 && c < channels) {
      double total = 0.0;
      for (int k = 0; k < kRowWarps; ++k) total += partial[k][lane];
      db[c] = static_cast<float>(total);
    }
    __syncthreads();
  }
}

}  // namespace

void bias_backward_sum(const char* op, const float* dy, int64_t outer, int64_t channels, int64_t inner, float* db) {
  if (channels <= 0) return;
  cudaStream_t s = stream();
  set_last_op(op);
  if (outer * inner == 0) {
    CONVNET_CUDA_CHECK(cudaMemsetAsync(db, 0, channels * sizeof(float), s));
    return;
  }
  if (inner == 1) {
    const int64_t tiles = (channels + 31) / 32;
    const unsigned grid = static_cast<unsigned>(std::min<int64_t>(tiles, 65535LL * 8));
    bias_sum_rows<<<grid, dim3(32, kRowWarps), 0, s>>>(dy, outer, channels, db);
  } else {
    const unsigned grid = static_cast<unsigned>(std::min<int64_t>(channels, 65535LL * 8));
    bias_sum_planes<<<grid, kThreads, 0, s>>>(dy, outer, channels, inner, db);
  }
  check_launch(op);
}

}  // namespace cuda
}  // namespace convnet
