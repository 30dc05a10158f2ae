// Inverted dropout on the GPU (cpu/dropout.cc gives the semantics and the mask): one thread per
// Philox block of four elements, drawing exactly what the CPU draws (core/philox.h, callable from
// kernels through CONVNET_HD): element i takes lane i % 4 of block first_block + i / 4 under the
// key seed, and is kept when uniform_from_bits(u) >= p (compared in float64). So the same seed and
// first block give the same mask on both devices, bit for bit.
#include "core/philox.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {
namespace {

float dropout_scale(double p) { return p < 1.0 ? 1.0f / static_cast<float>(1.0 - p) : 0.0f; }

}  // namespace

void dropout_forward(const Tensor& x, double p, uint64_t seed, uint64_t first_block, const Tensor& y, const Tensor& mask) {
  const float* px = x.f32();
  float *py = y.f32(), *pm = mask.f32();
  const float scale = dropout_scale(p);
  const int64_t n = x.numel();
  for_each("dropout", (n + 3) / 4, [=] __device__(int64_t b) {
    const Philox4x32 r = Philox4x32::generate(seed, first_block + static_cast<uint64_t>(b));
    for (int lane = 0; lane < 4 && b * 4 + lane < n; ++lane) {
      const int64_t i = b * 4 + lane;
      const bool keep = static_cast<double>(uniform_from_bits(r.out[lane])) >= p;
      pm[i] = keep ? 1.0f : 0.0f;
      py[i] = px[i] * (keep ? scale : 0.0f);  // a product: a dropped NaN or inf gives NaN, as the CPU
    }
  });
}

void dropout_backward(const Tensor& dy, const Tensor& mask, double p, const Tensor& dx) {
  const float *pdy = dy.f32(), *pm = mask.f32();
  float* pdx = dx.f32();
  const float scale = dropout_scale(p);
  for_each("dropout backward", dx.numel(), [=] __device__(int64_t i) { pdx[i] = pdy[i] * (pm[i] * scale); });
}

}  // namespace cuda
}  // namespace convnet
