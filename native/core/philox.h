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
#include <cstring>

// CONVNET_HD marks the helpers below as callable from CUDA kernels too (nvcc compiles them for
// both sides; g++ sees nothing). The host code is unchanged, so the CPU's numbers are unchanged.
#ifndef CONVNET_HD
#ifdef __CUDACC__
#define CONVNET_HD __host__ __device__
#else
#define CONVNET_HD
#endif
#endif

// CONVNET_PHILOX_INLINE: always inlined, so that the loops of the CPU's AVX2 and AVX-512 clones
// (cpu/simd_clones.h) take the helpers below into their vector code.
#ifdef __CUDACC__
#define CONVNET_PHILOX_INLINE __forceinline__
#else
#define CONVNET_PHILOX_INLINE inline __attribute__((always_inline))
#endif

namespace convnet {

struct Philox4x32 {
  uint32_t out[4];

  // Four numbers for the 128-bit counter (c0 low .. c3 high) under the 64-bit key.
  CONVNET_HD CONVNET_PHILOX_INLINE static Philox4x32 generate(uint64_t key, uint64_t counter_lo, uint64_t counter_hi = 0) {
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
CONVNET_HD CONVNET_PHILOX_INLINE float uniform_from_bits(uint32_t bits) { return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f); }

// Arithmetic rounded one step at a time, so that a normal draw has the same bits on every CPU
// and on the GPU. In device code the _rn intrinsics (nvcc would fuse a * b + c into one FMA);
// on the host the plain operators, in files compiled with -ffp-contract=off (CMakeLists.txt:
// cpu/random.cc), whose AVX2 and AVX-512 clones would otherwise fuse them too.
#ifdef __CUDA_ARCH__
__device__ inline float philox_add(float a, float b) { return __fadd_rn(a, b); }
__device__ inline float philox_mul(float a, float b) { return __fmul_rn(a, b); }
__device__ inline float philox_div(float a, float b) { return __fdiv_rn(a, b); }
__device__ inline float philox_sqrt(float a) { return __fsqrt_rn(a); }
#else
CONVNET_PHILOX_INLINE float philox_add(float a, float b) { return a + b; }
CONVNET_PHILOX_INLINE float philox_mul(float a, float b) { return a * b; }
CONVNET_PHILOX_INLINE float philox_div(float a, float b) { return a / b; }
CONVNET_PHILOX_INLINE float philox_sqrt(float a) { return __builtin_sqrtf(a); }
#endif

// log(k 2^-24) for k in [1, 2^24]: fdlibm's logf (musl's branch-free form, under 1 ulp) on
// u = 2^e m, m in [sqrt(1/2), sqrt(2)): log(m) = f - f^2 / 2 + s (f^2 / 2 + R(s^2)) with
// f = m - 1 and s = f / (2 + f). No branches and no library call, so a loop of it vectorises.
CONVNET_HD CONVNET_PHILOX_INLINE float philox_log_unit(uint32_t k) {
  const float u = static_cast<float>(k) * (1.0f / 16777216.0f);  // exact
  uint32_t ix;
  memcpy(&ix, &u, 4);
  ix += 0x3f800000u - 0x3f3504f3u;  // the exponent steps at sqrt(1/2), not at 1
  const float e = static_cast<float>(static_cast<int32_t>(ix >> 23) - 0x7f);
  ix = (ix & 0x007fffffu) + 0x3f3504f3u;
  float m;
  memcpy(&m, &ix, 4);
  const float f = philox_add(m, -1.0f);  // exact (Sterbenz)
  const float s = philox_div(f, philox_add(2.0f, f));
  const float z = philox_mul(s, s), w = philox_mul(z, z);
  const float t1 = philox_mul(w, philox_add(0.40000972152f, philox_mul(w, 0.24279078841f)));
  const float t2 = philox_mul(z, philox_add(0.66666662693f, philox_mul(w, 0.28498786688f)));
  const float r = philox_add(t2, t1), half_f2 = philox_mul(philox_mul(0.5f, f), f);
  // s (f^2/2 + R) + e ln2_lo - f^2/2 + f + e ln2_hi, summed in that order (ln2_hi has 16 low
  // zero bits, so e ln2_hi is exact).
  float y = philox_add(philox_mul(s, philox_add(half_f2, r)), philox_mul(e, 9.0580006145e-06f));
  y = philox_add(philox_add(y, -half_f2), f);
  return philox_add(y, philox_mul(e, 6.9313812256e-01f));
}

// cos and sin of 2 pi j 2^-24 for j in [0, 2^24): j = q 2^22 + i with |i| <= 2^21 (exact,
// in integers), so the angle is q quarter turns plus 2 pi r, r = i 2^-24 in [-1/8, 1/8], and
// the Taylor series of cos(2 pi r) to r^10 and sin(2 pi r) to r^9 are within 2e-9 of them.
// No rounded angle: cosf(2 pi u) is off by up to 2.4e-7 radians (half an ulp of 2 pi) before
// it starts, which is many ulp of a result near 0.
CONVNET_HD CONVNET_PHILOX_INLINE void philox_turn(uint32_t j, float* cos_out, float* sin_out) {
  const uint32_t q = (j + (1u << 21)) >> 22;
  const float r = static_cast<float>(static_cast<int32_t>(j - (q << 22))) * (1.0f / 16777216.0f);
  const float r2 = philox_mul(r, r);
  float sp = philox_add(-76.70585975306136f, philox_mul(r2, 42.058693944897634f));
  sp = philox_add(81.60524927607504f, philox_mul(r2, sp));
  sp = philox_add(-41.341702240399755f, philox_mul(r2, sp));
  sp = philox_add(6.283185307179586f, philox_mul(r2, sp));
  const float s = philox_mul(r, sp);
  float cp = philox_add(60.24464137187664f, philox_mul(r2, -26.426256783374388f));
  cp = philox_add(-85.45681720669371f, philox_mul(r2, cp));
  cp = philox_add(64.93939402266828f, philox_mul(r2, cp));
  cp = philox_add(-19.739208802178716f, philox_mul(r2, cp));
  const float c = philox_add(1.0f, philox_mul(r2, cp));
  // Quarter turns: (cos, sin) -> (-sin, cos), so q = 1 gives (-s, c), 2 (-c, -s), 3 (s, -c).
  const bool odd = (q & 1u) != 0;
  const float co = odd ? s : c, si = odd ? c : s;
  *cos_out = ((q + 1u) & 2u) != 0 ? -co : co;
  *sin_out = (q & 2u) != 0 ? -si : si;
}

// Box-Muller on a pair of lanes: (u1, u2) -> two standard normals, radius sqrt(-2 log u1) with
// u1 in (0, 1] and angle 2 pi u2 with u2 in [0, 1), both from the words' top 24 bits. The same
// bits on every CPU and on the GPU (philox_add and friends above).
CONVNET_HD CONVNET_PHILOX_INLINE void normal_pair(uint32_t a, uint32_t b, float* z0, float* z1) {
  const float radius = philox_sqrt(philox_mul(-2.0f, philox_log_unit((a >> 8) + 1)));
  float c, s;
  philox_turn(b >> 8, &c, &s);
  *z0 = philox_mul(radius, c);
  *z1 = philox_mul(radius, s);
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
