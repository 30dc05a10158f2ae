// Seeded random tensors from Philox-4x32-10. Element i takes lane i % 4 of counter block
// first_block + i / 4 (see core/philox.h), so the numbers depend on the seed and the call
// order only: not on the thread count, and the GPU backend draws the same ones.
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kRandomGrain = 1 << 14;

// Calls put(i, block) for each element i in [0, n), block holding the four lanes of i's block.
template <typename Put>
void for_each_block(int64_t n, uint64_t seed, uint64_t first_block, Put put) {
  const int64_t blocks = (n + 3) / 4;
  parallel_for(blocks, kRandomGrain / 4, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const Philox4x32 r = Philox4x32::generate(seed, first_block + static_cast<uint64_t>(b));
      put(b * 4, r, n);
    }
  });
}

}  // namespace

void random_uniform(const Tensor& y, uint64_t seed, uint64_t first_block, float low, float high) {
  float* out = y.f32();
  const float range = high - low;
  for_each_block(y.numel(), seed, first_block, [&](int64_t i0, const Philox4x32& r, int64_t n) {
    for (int lane = 0; lane < 4 && i0 + lane < n; ++lane) out[i0 + lane] = low + range * uniform_from_bits(r.out[lane]);
  });
}

void random_normal(const Tensor& y, uint64_t seed, uint64_t first_block, float mean, float stddev) {
  float* out = y.f32();
  for_each_block(y.numel(), seed, first_block, [&](int64_t i0, const Philox4x32& r, int64_t n) {
    float z[4];
    normal_pair(r.out[0], r.out[1], &z[0], &z[1]);
    normal_pair(r.out[2], r.out[3], &z[2], &z[3]);
    for (int lane = 0; lane < 4 && i0 + lane < n; ++lane) out[i0 + lane] = mean + stddev * z[lane];
  });
}

void random_bernoulli(const Tensor& y, uint64_t seed, uint64_t first_block, float p) {
  float* out = y.f32();
  for_each_block(y.numel(), seed, first_block, [&](int64_t i0, const Philox4x32& r, int64_t n) {
    for (int lane = 0; lane < 4 && i0 + lane < n; ++lane) out[i0 + lane] = uniform_from_bits(r.out[lane]) < p ? 1.0f : 0.0f;
  });
}

}  // namespace cpu
}  // namespace convnet
