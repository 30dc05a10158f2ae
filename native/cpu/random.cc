// Seeded random tensors from Philox-4x32-10. Element i takes lane i % 4 of counter block
// first_block + i / 4 (see core/philox.h), so the numbers depend on the seed and the call
// order only: not on the thread count, and the GPU backend draws the same ones.
#include <utility>

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

namespace {

// Draw k's 64 bits: lanes 2 (k % 2) and 2 (k % 2) + 1 of block first_block + k / 2, high word
// first.
uint64_t bits64(uint64_t seed, uint64_t first_block, int64_t k) {
  const Philox4x32 r = Philox4x32::generate(seed, first_block + static_cast<uint64_t>(k / 2));
  const int lane = 2 * static_cast<int>(k % 2);
  return (static_cast<uint64_t>(r.out[lane]) << 32) | r.out[lane + 1];
}

// An integer in [0, range) from 64 random bits: floor(u * range / 2^64). Each value's share is
// within range / 2^64 of 1 / range (range < 2^33 here: a bias under 2^-31 of a value's share).
uint64_t below(uint64_t u, uint64_t range) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(u) * range) >> 64);
}

}  // namespace

void random_int(const Tensor& y, uint64_t seed, uint64_t first_block, int64_t low, uint64_t range) {
  int32_t* out = y.i32();
  parallel_for(y.numel(), kRandomGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = static_cast<int32_t>(low + static_cast<int64_t>(below(bits64(seed, first_block, i), range)));
  });
}

void random_permutation(const Tensor& y, uint64_t seed, uint64_t first_block) {
  int32_t* out = y.i32();
  const int64_t n = y.numel();
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>(i);
  // Fisher-Yates from the end: draw k = n - 1 - i picks j in [0, i] for place i.
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(below(bits64(seed, first_block, n - 1 - i), static_cast<uint64_t>(i) + 1));
    std::swap(out[i], out[j]);
  }
}

}  // namespace cpu
}  // namespace convnet
