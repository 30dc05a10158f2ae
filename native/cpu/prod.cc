// prod (torch.prod over one axis): the product of each line along `axis`, float32, multiplied
// in float64 and rounded once. The order is fixed by the line alone, the same for every layout,
// thread count and device (cuda/prod.cu): entry i of a line goes into lane i % 16 (in order),
// then the lanes are multiplied together, lane 0 to 15. Sixteen lanes let a contiguous line
// vectorise and keep four vectors of products in flight (one chain of float64 products waits
// 4 cycles an entry). `node dist/bench/tensor-ops.js --threads 2 --only prod`, [512, 4096]'s
// rows: 1.2 ms through cumprod, 0.34 ms with 8 lanes in SSE2, PyTorch 0.10 (float32
// products). The backward is composed in lib/ops.ts (cumprod's).
#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int kLanes = 16;

// One contiguous line's product (compiled for AVX-512 and AVX2 too: the same products in the
// same lanes, so the same bits; a product has nothing to contract into an FMA).
CONVNET_SIMD_CLONES double prod_line(const float* line, int64_t len) {
  double lane[kLanes];
  for (int l = 0; l < kLanes; ++l) lane[l] = 1;
  int64_t i = 0;
  for (; i + kLanes <= len; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lane[l] *= static_cast<double>(line[i + l]);
  }
  for (int l = 0; i < len; ++i, ++l) lane[l] *= static_cast<double>(line[i]);
  double p = lane[0];
  for (int l = 1; l < kLanes; ++l) p *= lane[l];
  return p;
}

// Contiguous lines (the axis is the last).
void prod_rows(const float* x, float* y, int64_t rows, int64_t len) {
  parallel_for(rows, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, len)), [=](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) y[r] = static_cast<float>(prod_line(x + r * len, len));
  });
}

// lane[j] *= x[j] for a block of lines (AVX2 and AVX-512 clones: the same products).
CONVNET_SIMD_CLONES void multiply_into(double* lane, const float* x, int64_t width) {
  for (int64_t j = 0; j < width; ++j) lane[j] *= static_cast<double>(x[j]);
}

// Lines `inner` apart: a block of neighbouring lines at a time, their lanes side by side, so
// that the inner loop runs over contiguous memory.
constexpr int64_t kBlock = 256;

void prod_columns(const float* x, float* y, int64_t outer, int64_t len, int64_t inner) {
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  parallel_for(outer * blocks, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, len * std::min(inner, kBlock))), [=](int64_t begin, int64_t end) {
    double lanes[kLanes][kBlock];
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / blocks, j0 = (item % blocks) * kBlock, width = std::min(kBlock, inner - j0);
      for (auto& lane : lanes) std::fill(lane, lane + width, 1.0);
      for (int64_t i = 0; i < len; ++i) {
        const float* xs = x + (o * len + i) * inner + j0;
        multiply_into(lanes[i % kLanes], xs, width);
      }
      for (int64_t j = 0; j < width; ++j) {
        double p = lanes[0][j];
        for (int l = 1; l < kLanes; ++l) p *= lanes[l][j];
        y[o * inner + j0 + j] = static_cast<float>(p);
      }
    }
  });
}

}  // namespace

void prod(const Tensor& x, int64_t axis, const Tensor& y) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  const int64_t len = x.shape[axis];
  if (outer * inner == 0) return;
  if (inner == 1) prod_rows(x.f32(), y.f32(), outer, len);
  else prod_columns(x.f32(), y.f32(), outer, len, inner);
}

}  // namespace cpu
}  // namespace convnet
