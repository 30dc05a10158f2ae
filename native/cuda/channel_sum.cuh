// Deterministic per-channel sums over x viewed as [n, channels, positions] (PReLU's weight
// gradient, batch norm's evaluation-mode backward): no atomics, and an order fixed by the shape
// alone, so every run gives the same bits.
//
// Stage 1: block (c, g) sums f(i) in float64 over its contiguous share g of channel c's
// n * positions elements (threads strided, then block_sum). Stage 2: one thread per channel
// adds the shares in order of g and calls finish(c, total).
#pragma once
#include <algorithm>

#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

template <typename F>
__global__ void channel_partials_kernel(int64_t n, int64_t channels, int64_t positions, int64_t groups, F f,
                                        double* partial) {
  const int64_t c = blockIdx.x / groups, g = blockIdx.x % groups;
  const int64_t m = n * positions, chunk = (m + groups - 1) / groups;
  const int64_t begin = g * chunk, end = std::min(m, begin + chunk);
  double acc = 0.0;
  for (int64_t k = begin + threadIdx.x; k < end; k += blockDim.x) {
    const int64_t i = ((k / positions) * channels + c) * positions + k % positions;
    acc += f(i);
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// f: __device__ (int64_t flat index) -> double; finish: __device__ (int64_t c, double total).
template <typename F, typename Finish>
void channel_sums(const char* op, int64_t n, int64_t channels, int64_t positions, F f, Finish finish) {
  if (channels <= 0) return;
  const int64_t m = n * positions;
  // Shares of about 16K elements, at most 1024 per channel (decided by the shape alone).
  const int64_t groups = std::max<int64_t>(1, std::min<int64_t>(1024, (m + 16383) / 16384));
  DeviceBuffer partial(static_cast<size_t>(channels * groups) * sizeof(double));
  double* pp = partial.as<double>();
  set_last_op(op);
  channel_partials_kernel<<<static_cast<unsigned>(channels * groups), kThreads, 0, stream()>>>(n, channels, positions,
                                                                                              groups, f, pp);
  check_launch(op);
  for_each(op, channels, [=] __device__(int64_t c) {
    double total = 0.0;
    for (int64_t g = 0; g < groups; ++g) total += pp[c * groups + g];
    finish(c, total);
  });
}

}  // namespace cuda
}  // namespace convnet
