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

// One lane of kColumns neighbouring lines: out[j] = the product of x[(first + k * kLanes) * inner + j]
// over k, in order, for the kColumns j (an AVX2 / AVX-512 clone keeps the 32 products in
// registers: the same products, so the same bits).
constexpr int64_t kColumns = 32;
CONVNET_SIMD_CLONES void lane_columns(const float* x, int64_t inner, int64_t first, int64_t len, double* out) {
  double acc[kColumns];
  for (int j = 0; j < kColumns; ++j) acc[j] = 1;
  for (int64_t i = first; i < len; i += kLanes) {
    const float* xs = x + i * inner;
#pragma GCC unroll 32
    for (int j = 0; j < kColumns; ++j) acc[j] *= static_cast<double>(xs[j]);
  }
  for (int j = 0; j < kColumns; ++j) out[j] = acc[j];
}

// lane[j] *= x[j] for the last, narrower block of lines.
CONVNET_SIMD_CLONES void multiply_into(double* lane, const float* x, int64_t width) {
  for (int64_t j = 0; j < width; ++j) lane[j] *= static_cast<double>(x[j]);
}

// Lines `inner` apart, kColumns neighbouring lines at a time: each lane's products run down the
// lines in registers, then the lanes are multiplied together. (Lanes of 256 lines kept in
// memory, multiplied into row by row, ran at 0.41x PyTorch's speed on [512, 4096]'s dim 0: the
// 32 KiB of lanes and the input rows, 16 KiB apart, fought over L1's sets.)
void prod_columns(const float* x, float* y, int64_t outer, int64_t len, int64_t inner) {
  const int64_t blocks = (inner + kColumns - 1) / kColumns;
  parallel_for(outer * blocks, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, len * std::min(inner, kColumns))), [=](int64_t begin, int64_t end) {
    double lanes[kLanes][kColumns];
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / blocks, j0 = (item % blocks) * kColumns, width = std::min(kColumns, inner - j0);
      const float* xs = x + o * len * inner + j0;
      if (width == kColumns) {
        for (int l = 0; l < kLanes; ++l) lane_columns(xs, inner, l, len, lanes[l]);
      } else {
        for (auto& lane : lanes) std::fill(lane, lane + width, 1.0);
        for (int64_t i = 0; i < len; ++i) multiply_into(lanes[i % kLanes], xs + i * inner, width);
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
