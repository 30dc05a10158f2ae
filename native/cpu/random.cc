// Seeded random tensors from Philox-4x32-10. Element i takes lane i % 4 of counter block
// first_block + i / 4 (see core/philox.h), so the numbers depend on the seed and the call
// order only: not on the thread count, and the GPU backend draws the same ones.
#include <algorithm>
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

// Draws 2b and 2b + 1 of a 64-bit stream: block first_block + b, lanes 0-1 and 2-3, high word
// first.
void bits64_pair(uint64_t seed, uint64_t first_block, int64_t b, uint64_t* u) {
  const Philox4x32 r = Philox4x32::generate(seed, first_block + static_cast<uint64_t>(b));
  u[0] = (static_cast<uint64_t>(r.out[0]) << 32) | r.out[1];
  u[1] = (static_cast<uint64_t>(r.out[2]) << 32) | r.out[3];
}

// An integer in [0, range) from 64 random bits: floor(u * range / 2^64). Each value's share is
// within range / 2^64 of 1 / range (range < 2^33 here: a bias under 2^-31 of a value's share).
uint64_t below(uint64_t u, uint64_t range) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(u) * range) >> 64);
}

}  // namespace

void random_int(const Tensor& y, uint64_t seed, uint64_t first_block, int64_t low, uint64_t range) {
  int32_t* out = y.i32();
  const int64_t n = y.numel();
  parallel_for((n + 1) / 2, kRandomGrain / 2, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      uint64_t u[2];
      bits64_pair(seed, first_block, b, u);
      for (int64_t i = 2 * b; i < std::min(n, 2 * b + 2); ++i) out[i] = static_cast<int32_t>(low + static_cast<int64_t>(below(u[i % 2], range)));
    }
  });
}

void random_permutation(const Tensor& y, uint64_t seed, uint64_t first_block) {
  int32_t* out = y.i32();
  const int64_t n = y.numel();
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>(i);
  // Fisher-Yates from the end: draw k = n - 1 - i picks j in [0, i] for place i.
  uint64_t u[2];
  for (int64_t i = n - 1, k = 0; i > 0; --i, ++k) {
    if (k % 2 == 0) bits64_pair(seed, first_block, k / 2, u);
    const int64_t j = static_cast<int64_t>(below(u[k % 2], static_cast<uint64_t>(i) + 1));
    std::swap(out[i], out[j]);
  }
}

}  // namespace cpu
}  // namespace convnet
