// prod on the GPU: cpu/prod.cc's bits. One thread per line, its entries into 16 float64 lanes
// (entry i into lane i % 16, in order), the lanes then multiplied lane 0 to 15; neighbouring
// threads take neighbouring lines, so reads coalesce whenever the axis is not the last.
#include <cstdint>

#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void prod(const Tensor& x, int64_t axis, const Tensor& y) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  const int64_t len = x.shape[axis];
  const float* px = x.f32();
  float* py = y.f32();
  for_each("prod", outer * inner, [=] __device__(int64_t line) {
    const int64_t o = line / inner, j = line - o * inner;
    double lane[16];
#pragma unroll
    for (int l = 0; l < 16; ++l) lane[l] = 1;
    // Sixteen at a time, so that each lane is a register (a lane[i % 16] would live in memory).
    int64_t i = 0;
    for (; i + 16 <= len; i += 16) {
#pragma unroll
      for (int l = 0; l < 16; ++l) lane[l] *= static_cast<double>(px[(o * len + i + l) * inner + j]);
    }
#pragma unroll
    for (int l = 0; l < 16; ++l) {
      if (i + l < len) lane[l] *= static_cast<double>(px[(o * len + i + l) * inner + j]);
    }
    double p = lane[0];
#pragma unroll
    for (int l = 1; l < 16; ++l) p *= lane[l];
    py[line] = static_cast<float>(p);
  });
}

}  // namespace cuda
}  // namespace convnet
