// The block-wide row statistics that layer_norm.cu and group_norm.cu share: a row's mean and
// rstd = 1 / sqrt(biased var + eps) (cpu/norm_rows.h's conventions), computed by one block in
// two passes of float64 sums (strided threads, then block_sum: a fixed order, the same bits on
// every run). A row of no values gives NaN for both.
#pragma once
#include <cmath>

#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

struct RowMoments {
  float mean, rstd;
};

// Every thread of the block must call it; every thread gets the result.
__device__ inline RowMoments block_row_moments(const float* xr, int64_t m, double eps) {
  double sum = 0.0;
  for (int64_t i = threadIdx.x; i < m; i += blockDim.x) sum += xr[i];
  sum = block_sum(sum);
  const float mean = static_cast<float>(sum / static_cast<double>(m));
  double squares = 0.0;
  for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
    const double d = xr[i] - mean;
    squares += d * d;
  }
  squares = block_sum(squares);
  return {mean, static_cast<float>(1.0 / sqrt(squares / static_cast<double>(m) + eps))};
}

// Blocks for a kernel that loops over `rows` rows a block at a time.
inline unsigned row_blocks(int64_t rows) { return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(rows, 1 << 20))); }

}  // namespace cuda
}  // namespace convnet
