// Philox-4x32-10 blocks drawn side by side (core/philox.h's numbers, the same bits), for the
// CPU kernels that turn random words into numbers in vectorised loops (cpu/simd_clones.h):
// random.cc's rand / randn / bernoulli and dropout.cc's masks.
#pragma once
#include <cstdint>

#include "core/philox.h"

namespace convnet {
namespace cpu {

// Blocks a chunk: its words fit in L1 beside what is made of them.
constexpr int64_t kPhiloxChunk = 64;

// The words of blocks first_block + b, b in [0, count): lane k of block b in words[k][b]. One
// array per lane, so this loop and the ones that use the words vectorise (Philox one block at a
// time, scalar, was most of rand's time). Philox4x32::generate's rounds, with each 32-bit word
// held in 64 bits: the products are then vpmuludq's, lane for lane, where 32-bit lanes made GCC
// shuffle every product's halves into place (2x slower).
CONVNET_PHILOX_INLINE void philox_lanes(uint64_t seed, uint64_t first_block, int64_t count, uint32_t (*words)[kPhiloxChunk]) {
  constexpr uint64_t kLow = 0xffffffffu;
  for (int64_t b = 0; b < count; ++b) {
    const uint64_t counter = first_block + static_cast<uint64_t>(b);
    uint64_t c0 = counter & kLow, c1 = counter >> 32, c2 = 0, c3 = 0;
    uint64_t k0 = seed & kLow, k1 = seed >> 32;
    for (int round = 0; round < 10; ++round) {
      const uint64_t p0 = uint64_t{0xD2511F53u} * c0, p1 = uint64_t{0xCD9E8D57u} * c2;
      c0 = (p1 >> 32) ^ c1 ^ k0;
      c1 = p1 & kLow;
      c2 = (p0 >> 32) ^ c3 ^ k1;
      c3 = p0 & kLow;
      k0 = (k0 + 0x9E3779B9u) & kLow;
      k1 = (k1 + 0xBB67AE85u) & kLow;
    }
    words[0][b] = static_cast<uint32_t>(c0);
    words[1][b] = static_cast<uint32_t>(c1);
    words[2][b] = static_cast<uint32_t>(c2);
    words[3][b] = static_cast<uint32_t>(c3);
  }
}

// The element of lane k of block b is out[4 b + k]: writes the four lanes' values of blocks
// [0, count) there, the last block cut at n (elements from out's start).
CONVNET_PHILOX_INLINE void store_interleaved(const float (*values)[kPhiloxChunk], int64_t count, int64_t n, float* __restrict out) {
  const int64_t whole = n / 4 < count ? n / 4 : count, end = n < 4 * count ? n : 4 * count;
  for (int64_t b = 0; b < whole; ++b) {
    for (int k = 0; k < 4; ++k) out[4 * b + k] = values[k][b];
  }
  for (int64_t i = 4 * whole; i < end; ++i) out[i] = values[i % 4][i / 4];
}

}  // namespace cpu
}  // namespace convnet
