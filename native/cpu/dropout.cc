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
#include "core/philox.h"
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
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

}  // namespace

void dropout_forward(const Tensor& x, double p, uint64_t seed, uint64_t first_block, const Tensor& y, const Tensor& mask) {
  const float* px = x.f32();
  float *py = y.f32(), *pm = mask.f32();
  const float scale = dropout_scale(p);
  const int64_t n = x.numel();
  const int64_t blocks = (n + 3) / 4;
  parallel_for(blocks, 1 << 12, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const Philox4x32 r = Philox4x32::generate(seed, first_block + static_cast<uint64_t>(b));
      for (int lane = 0; lane < 4 && b * 4 + lane < n; ++lane) {
        const int64_t i = b * 4 + lane;
        const bool keep = static_cast<double>(uniform_from_bits(r.out[lane])) >= p;  // compared in float64
        pm[i] = keep ? 1.0f : 0.0f;
        py[i] = px[i] * (keep ? scale : 0.0f);
      }
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
