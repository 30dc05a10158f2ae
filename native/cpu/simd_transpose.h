// A 16 x 16 float transpose in AVX-512 registers, for the GEMM's packing (gemm.cc) and the
// direct convolution kernels' transposed copies (conv2d_direct.cc), and an 8 x 8 one in AVX
// registers (the AVX2 GEMM's packing; intrinsic_lanes.h's 16 x 16 of two halves). Include only
// where <immintrin.h> and GCC/Clang target attributes are available (x86).
#pragma once
#include <immintrin.h>

namespace convnet {

// Transposes the 16 x 16 block r in place (r[i] lane j <-> r[j] lane i).
__attribute__((target("avx512f"), always_inline)) inline void transpose16x16(__m512 (&r)[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);      // per 128-bit lane: a0 b0 a1 b1
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);  //                   a2 b2 a3 b3
  }
  for (int i = 0; i < 16; i += 4) {  // per 128-bit lane: column j of rows i..i+3
    const __m512d t0 = _mm512_castps_pd(t[i]), t1 = _mm512_castps_pd(t[i + 1]);
    const __m512d t2 = _mm512_castps_pd(t[i + 2]), t3 = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
  }
  // Now lane L of r[4q + j] holds column 4L + j of rows 4q..4q+3: transpose the 4 x 4 grid
  // of 128-bit lanes of r[j], r[4 + j], r[8 + j], r[12 + j].
  for (int j = 0; j < 4; ++j) {
    const __m512 e = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x44);  // a.L0 a.L1 b.L0 b.L1
    const __m512 f = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xEE);  // a.L2 a.L3 b.L2 b.L3
    const __m512 g = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x44);
    const __m512 h = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xEE);
    t[j] = _mm512_shuffle_f32x4(e, g, 0x88);       // a.L0 b.L0 c.L0 d.L0
    t[4 + j] = _mm512_shuffle_f32x4(e, g, 0xDD);   // a.L1 b.L1 c.L1 d.L1
    t[8 + j] = _mm512_shuffle_f32x4(f, h, 0x88);   // a.L2 ...
    t[12 + j] = _mm512_shuffle_f32x4(f, h, 0xDD);  // a.L3 ...
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

// Transposes the 8 x 8 block r in place (r[i] lane j <-> r[j] lane i).
__attribute__((target("avx"), always_inline)) inline void transpose8x8(__m256 (&r)[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);      // per 128-bit lane: a0 b0 a1 b1
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);  //                   a2 b2 a3 b3
  }
  for (int i = 0; i < 8; i += 4) {  // per 128-bit lane: column j of rows i..i+3
    s[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  // s[j] holds columns j (low lane) and 4 + j (high lane) of rows 0-3, s[4 + j] of rows 4-7.
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm256_permute2f128_ps(s[j], s[4 + j], 0x20);
    r[4 + j] = _mm256_permute2f128_ps(s[j], s[4 + j], 0x31);
  }
}

}  // namespace convnet
