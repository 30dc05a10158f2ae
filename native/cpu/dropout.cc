// Inverted dropout (Srivastava et al. 2014): in training, each element is kept with
// probability 1 - p and scaled by 1 / (1 - p), else set to 0, so evaluation needs no scaling.
//
// The mask (exactly what the GPU backend must reproduce):
//   the call reserves ceil(n / 4) Philox-4x32-10 blocks at the call site (seed s, first block f);
//   element i takes the 32-bit word u = lane i % 4 of block f + i / 4 (counter = f + i / 4 in the
//   low 64 bits, key = s), and is kept when (u >> 8) * 2^-24 >= p.
//   mask[i] = 1 (kept) or 0; y[i] = x[i] * (kept ? scale : 0), scale = 1.0f / float(1 - p).
// The product (not a select) is what PyTorch computes, so a dropped NaN or inf gives NaN.
// p = 1 drops everything (scale is never used). Backward: dx = dy * (mask ? scale : 0).
#include <algorithm>
#include <cmath>

#include "core/philox.h"
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/philox_lanes.h"
#include "cpu/pointwise.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

float dropout_scale(double p) { return p < 1.0 ? 1.0f / static_cast<float>(1.0 - p) : 0.0f; }

// mask * scale is exactly scale or 0 (a product, not a branch on random bits: see prelu.cc).
// Cloned for AVX2 / AVX-512 (simd_clones.h): with SSE alone this streaming loop ran at 0.6-0.7x
// PyTorch's speed. Two products and no sum: nothing to contract into an FMA, the same bits on
// every CPU.
CONVNET_SIMD_CLONES
void backward_range(const float* __restrict dy, const float* __restrict mask, float scale, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (mask[i] * scale);
}

// Kept when u = (word >> 8) 2^-24 >= p, that is when word >> 8 >= ceil(p 2^24) (exact: p 2^24
// is a float64 product by a power of two); p = 1 gives 2^24, which no word reaches.
int32_t keep_threshold(double p) { return static_cast<int32_t>(std::ceil(p * 16777216.0)); }

// One chunk of the forward (philox_lanes.h): n <= 4 kPhiloxChunk elements from x, y and mask's
// starts, drawn from blocks first_block + [0, ceil(n / 4)).
CONVNET_SIMD_CLONES
void forward_chunk(const float* __restrict x, int32_t keep_from, float scale, uint64_t seed, uint64_t first_block, int64_t n,
                   float* __restrict y, float* __restrict mask) {
  uint32_t words[4][kPhiloxChunk];
  float kept[4][kPhiloxChunk];
  const int64_t count = (n + 3) / 4;
  philox_lanes(seed, first_block, count, words);
  for (int k = 0; k < 4; ++k) {
    for (int64_t b = 0; b < count; ++b) kept[k][b] = static_cast<int32_t>(words[k][b] >> 8) >= keep_from ? 1.0f : 0.0f;
  }
  store_interleaved(kept, count, n, mask);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * (mask[i] * scale);
}

}  // namespace

void dropout_forward(const Tensor& x, double p, uint64_t seed, uint64_t first_block, const Tensor& y, const Tensor& mask) {
  const float* px = x.f32();
  float *py = y.f32(), *pm = mask.f32();
  const float scale = dropout_scale(p);
  const int64_t n = x.numel();
  const int32_t keep_from = keep_threshold(p);
  const int64_t chunks = (n + 4 * kPhiloxChunk - 1) / (4 * kPhiloxChunk);
  parallel_for(chunks, (1 << 14) / (4 * kPhiloxChunk), [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t i0 = c * 4 * kPhiloxChunk, count = std::min(4 * kPhiloxChunk, n - i0);
      forward_chunk(px + i0, keep_from, scale, seed, first_block + static_cast<uint64_t>(c * kPhiloxChunk), count, py + i0, pm + i0);
    }
  });
}

void dropout_backward(const Tensor& dy, const Tensor& mask, double p, const Tensor& dx) {
  const float *pdy = dy.f32(), *pm = mask.f32();
  float* pdx = dx.f32();
  const float scale = dropout_scale(p);
  parallel_for_elements(dy.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) {
    backward_range(pdy + begin, pm + begin, scale, pdx + begin, end - begin);
  });
}

}  // namespace cpu
}  // namespace convnet
