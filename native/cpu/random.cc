// Seeded random tensors from Philox-4x32-10. Element i takes lane i % 4 of counter block
// first_block + i / 4 (see core/philox.h), so the numbers depend on the seed and the call
// order only: not on the thread count, and the GPU backend draws the same ones.
#include <algorithm>
#include <utility>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/philox_lanes.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kRandomGrain = 1 << 14;
// The chunk kernels below fill out[0, n) with the numbers of blocks first_block + [0, ceil(n / 4)),
// n <= 4 kPhiloxChunk. They are cloned for AVX2 and AVX-512 (simd_clones.h), whose FMA would
// otherwise fuse a * b + c: with fp-contract off, low + range u and normal_pair's steps round
// one by one on every path, as on the GPU (core/philox.h), so the numbers have the same bits on
// every machine. (The square root vectorises through -fno-math-errno: CMakeLists.txt.)
#define CONVNET_ROUND_EACH_STEP __attribute__((optimize("fp-contract=off")))

CONVNET_SIMD_CLONES CONVNET_ROUND_EACH_STEP void uniform_chunk(uint64_t seed, uint64_t first_block, int64_t n, float low, float range, float* __restrict out) {
  uint32_t words[4][kPhiloxChunk];
  float values[4][kPhiloxChunk];
  const int64_t count = (n + 3) / 4;
  philox_lanes(seed, first_block, count, words);
  for (int k = 0; k < 4; ++k) {
    for (int64_t b = 0; b < count; ++b) values[k][b] = low + range * uniform_from_bits(words[k][b]);
  }
  store_interleaved(values, count, n, out);
}

CONVNET_SIMD_CLONES CONVNET_ROUND_EACH_STEP void normal_chunk(uint64_t seed, uint64_t first_block, int64_t n, float mean, float stddev, float* __restrict out) {
  uint32_t words[4][kPhiloxChunk];
  float values[4][kPhiloxChunk];
  const int64_t count = (n + 3) / 4;
  philox_lanes(seed, first_block, count, words);
  for (int k = 0; k < 4; k += 2) {
    for (int64_t b = 0; b < count; ++b) {
      float z0, z1;
      normal_pair(words[k][b], words[k + 1][b], &z0, &z1);
      values[k][b] = mean + stddev * z0;
      values[k + 1][b] = mean + stddev * z1;
    }
  }
  store_interleaved(values, count, n, out);
}

CONVNET_SIMD_CLONES CONVNET_ROUND_EACH_STEP void bernoulli_chunk(uint64_t seed, uint64_t first_block, int64_t n, float p, float* __restrict out) {
  uint32_t words[4][kPhiloxChunk];
  float values[4][kPhiloxChunk];
  const int64_t count = (n + 3) / 4;
  philox_lanes(seed, first_block, count, words);
  for (int k = 0; k < 4; ++k) {
    for (int64_t b = 0; b < count; ++b) values[k][b] = uniform_from_bits(words[k][b]) < p ? 1.0f : 0.0f;
  }
  store_interleaved(values, count, n, out);
}

// Calls fill(first block, n, out) on chunks of the n elements (element i: lane i % 4 of block
// first_block + i / 4), split between the threads.
template <typename Fill>
void for_each_chunk(int64_t n, uint64_t first_block, float* out, Fill fill) {
  const int64_t chunks = (n + 4 * kPhiloxChunk - 1) / (4 * kPhiloxChunk);
  parallel_for(chunks, kRandomGrain / (4 * kPhiloxChunk), [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t i0 = c * 4 * kPhiloxChunk;
      fill(first_block + static_cast<uint64_t>(c * kPhiloxChunk), std::min(4 * kPhiloxChunk, n - i0), out + i0);
    }
  });
}

}  // namespace

void random_uniform(const Tensor& y, uint64_t seed, uint64_t first_block, float low, float high) {
  const float range = high - low;
  for_each_chunk(y.numel(), first_block, y.f32(), [&](uint64_t first, int64_t n, float* out) { uniform_chunk(seed, first, n, low, range, out); });
}

void random_normal(const Tensor& y, uint64_t seed, uint64_t first_block, float mean, float stddev) {
  for_each_chunk(y.numel(), first_block, y.f32(), [&](uint64_t first, int64_t n, float* out) { normal_chunk(seed, first, n, mean, stddev, out); });
}

void random_bernoulli(const Tensor& y, uint64_t seed, uint64_t first_block, float p) {
  for_each_chunk(y.numel(), first_block, y.f32(), [&](uint64_t first, int64_t n, float* out) { bernoulli_chunk(seed, first, n, p, out); });
}

namespace {

// The 64-bit stream's numbers 2b and 2b + 1 for b in [0, count): block first_block + b, lanes
// 0-1 and 2-3, high word first, into u[2b] and u[2b + 1]. (Blocks side by side: one at a time,
// scalar, they were most of randint's and randperm's time.)
CONVNET_SIMD_CLONES void bits64_chunk(uint64_t seed, uint64_t first_block, int64_t count, uint64_t* __restrict u) {
  uint32_t words[4][kPhiloxChunk];
  philox_lanes(seed, first_block, count, words);
  for (int64_t b = 0; b < count; ++b) {
    u[2 * b] = (static_cast<uint64_t>(words[0][b]) << 32) | words[1][b];
    u[2 * b + 1] = (static_cast<uint64_t>(words[2][b]) << 32) | words[3][b];
  }
}

// An integer in [0, range) from 64 random bits: floor(u * range / 2^64). Each value's share is
// within range / 2^64 of 1 / range (range < 2^33 here: a bias under 2^-31 of a value's share).
uint64_t below(uint64_t u, uint64_t range) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(u) * range) >> 64);
}

}  // namespace

void random_int(const Tensor& y, uint64_t seed, uint64_t first_block, int64_t low, uint64_t range) {
  int32_t* out = y.i32();
  const int64_t n = y.numel(), per_chunk = 2 * kPhiloxChunk;
  parallel_for((n + per_chunk - 1) / per_chunk, kRandomGrain / per_chunk, [&](int64_t begin, int64_t end) {
    uint64_t u[2 * kPhiloxChunk];
    for (int64_t c = begin; c < end; ++c) {
      const int64_t i0 = c * per_chunk, m = std::min(per_chunk, n - i0);
      bits64_chunk(seed, first_block + static_cast<uint64_t>(c * kPhiloxChunk), (m + 1) / 2, u);
      for (int64_t i = 0; i < m; ++i) out[i0 + i] = static_cast<int32_t>(low + static_cast<int64_t>(below(u[i], range)));
    }
  });
}

void random_permutation(const Tensor& y, uint64_t seed, uint64_t first_block) {
  int32_t* out = y.i32();
  const int64_t n = y.numel();
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>(i);
  // Fisher-Yates from the end: draw k = n - 1 - i picks j in [0, i] for place i.
  uint64_t u[2 * kPhiloxChunk];
  for (int64_t i = n - 1, k = 0; i > 0; --i, ++k) {
    const int64_t at = k % (2 * kPhiloxChunk);
    if (at == 0) bits64_chunk(seed, first_block + static_cast<uint64_t>(k / 2), std::min<int64_t>(kPhiloxChunk, (i + 1) / 2), u);
    const int64_t j = static_cast<int64_t>(below(u[at], static_cast<uint64_t>(i) + 1));
    std::swap(out[i], out[j]);
  }
}

}  // namespace cpu
}  // namespace convnet
