// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011),
// the counter-based generator that cuRAND and PyTorch also use. A 64-bit key (the seed) and
// a 128-bit counter give four 32-bit numbers; nothing is carried from one call to the next.
//
// How the project draws numbers (the GPU backend must do exactly the same):
//   an op that needs n numbers reserves ceil(n / 4) counter blocks from the generator's
//   offset at the call site (so the order of calls, not of execution, decides the numbers);
//   element i uses block (offset + i / 4), lane i % 4. Which thread computes it is irrelevant.
#pragma once
#include <cmath>
#include <cstdint>

// CONVNET_HD marks the helpers below as callable from CUDA kernels too (nvcc compiles them for
// both sides; g++ sees nothing). The host code is unchanged, so the CPU's numbers are unchanged.
#ifndef CONVNET_HD
#ifdef __CUDACC__
#define CONVNET_HD __host__ __device__
#else
#define CONVNET_HD
#endif
#endif

namespace convnet {

struct Philox4x32 {
  uint32_t out[4];

  // Four numbers for the 128-bit counter (c0 low .. c3 high) under the 64-bit key.
  CONVNET_HD static Philox4x32 generate(uint64_t key, uint64_t counter_lo, uint64_t counter_hi = 0) {
    uint32_t c[4] = {static_cast<uint32_t>(counter_lo), static_cast<uint32_t>(counter_lo >> 32),
                     static_cast<uint32_t>(counter_hi), static_cast<uint32_t>(counter_hi >> 32)};
    uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round) {
      const uint64_t p0 = uint64_t{0xD2511F53u} * c[0];
      const uint64_t p1 = uint64_t{0xCD9E8D57u} * c[2];
      const uint32_t next[4] = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k0, static_cast<uint32_t>(p1),
                                static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k1, static_cast<uint32_t>(p0)};
      c[0] = next[0]; c[1] = next[1]; c[2] = next[2]; c[3] = next[3];
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    return Philox4x32{{c[0], c[1], c[2], c[3]}};
  }
};

// A uniform float in [0, 1) from the top 24 bits (every value exactly representable).
CONVNET_HD inline float uniform_from_bits(uint32_t bits) { return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f); }
// A uniform float in (0, 1], safe for log().
CONVNET_HD inline float uniform_open_zero(uint32_t bits) { return static_cast<float>((bits >> 8) + 1) * (1.0f / 16777216.0f); }

// Box-Muller on a pair of lanes: (u1, u2) -> two standard normals.
CONVNET_HD inline void normal_pair(uint32_t a, uint32_t b, float* z0, float* z1) {
  // sqrtf/logf/cosf/sinf: on the host these are the same float functions std:: picks for float
  // arguments; in device code CUDA's (within a few ulp of the host's, so GPU normals may differ
  // from the CPU's in the last bits; uniform and Bernoulli draws are bit-identical).
  const float radius = sqrtf(-2.0f * logf(uniform_open_zero(a)));
  const float angle = 6.283185307179586f * uniform_from_bits(b);
  *z0 = radius * cosf(angle);
  *z1 = radius * sinf(angle);
}

// The per-device generator state: a seed and how many counter blocks have been handed out.
struct Generator {
  uint64_t seed = 67280421310721ull;  // PyTorch's default seed: reproducible unless reseeded
  uint64_t offset = 0;

  // Reserves the blocks for n numbers; returns the first block's index.
  uint64_t reserve(int64_t n) {
    const uint64_t first = offset;
    offset += static_cast<uint64_t>((n + 3) / 4);
    return first;
  }
};

}  // namespace convnet
