// Seeded random tensors on the GPU: the CPU's numbers (cpu/random.cc). One thread per Philox
// block: element i takes lane i % 4 of block first_block + i / 4, so uniform and Bernoulli
// draws are bit-identical to the CPU's; normal draws are core/philox.h's normal_pair, whose
// steps round one at a time (_rn intrinsics) as the CPU's do, so they are meant to be too
// (test/cuda-ops.test.ts).
#include "core/philox.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {
namespace {

// Calls put(i0, r) for each Philox block b in [0, ceil(n / 4)), with i0 = 4 * b.
template <typename Put>
void for_each_block(const char* op, int64_t n, uint64_t seed, uint64_t first_block, Put put) {
  for_each(op, (n + 3) / 4, [=] __device__(int64_t b) {
    const Philox4x32 r = Philox4x32::generate(seed, first_block + static_cast<uint64_t>(b));
    put(b * 4, r);
  });
}

}  // namespace

void random_uniform(const Tensor& y, uint64_t seed, uint64_t first_block, float low, float high) {
  float* out = y.f32();
  const int64_t n = y.numel();
  const float range = high - low;
  for_each_block("rand", n, seed, first_block, [=] __device__(int64_t i0, const Philox4x32& r) {
    for (int lane = 0; lane < 4 && i0 + lane < n; ++lane) out[i0 + lane] = fadd(low, fmul(range, uniform_from_bits(r.out[lane])));
  });
}

void random_normal(const Tensor& y, uint64_t seed, uint64_t first_block, float mean, float stddev) {
  float* out = y.f32();
  const int64_t n = y.numel();
  for_each_block("randn", n, seed, first_block, [=] __device__(int64_t i0, const Philox4x32& r) {
    float z[4];
    normal_pair(r.out[0], r.out[1], &z[0], &z[1]);
    normal_pair(r.out[2], r.out[3], &z[2], &z[3]);
    for (int lane = 0; lane < 4 && i0 + lane < n; ++lane) out[i0 + lane] = fadd(mean, fmul(stddev, z[lane]));
  });
}

void random_bernoulli(const Tensor& y, uint64_t seed, uint64_t first_block, float p) {
  float* out = y.f32();
  const int64_t n = y.numel();
  for_each_block("bernoulli", n, seed, first_block, [=] __device__(int64_t i0, const Philox4x32& r) {
    for (int lane = 0; lane < 4 && i0 + lane < n; ++lane) out[i0 + lane] = uniform_from_bits(r.out[lane]) < p ? 1.0f : 0.0f;
  });
}

}  // namespace cuda
}  // namespace convnet
