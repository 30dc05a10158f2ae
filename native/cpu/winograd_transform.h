// Winograd's transform matrices and their application to vectors, shared by the 2D
// convolutions of conv2d_winograd.cc and the row-wise one of conv2d_direct.cc. Included only
// where AVX-512 intrinsics compile (both files check first).
#pragma once
#include <immintrin.h>

namespace convnet {
namespace cpu {

// The transforms of F(2x2, RxR), tiles of A = R + 1 inputs a side (see the top of conv2d_winograd.cc).
// F(2x2, 5x5) is Toom-Cook's with the points 0, 1, -1, 2, -1/2 and infinity: of the point sets
// tried (also 0, +-1, +-2 and 0, +-1, +-1/2), the one with the least float32 rounding (2.2
// epsilons of the terms' magnitudes on average over random 6x6 tiles, 11 at most, against
// 0.7 and 3.5 for F(2x2, 3x3)). B^T's entries are exact in float32; G's are not (1/3, 1/15),
// so U = G g G^T carries a rounding of its own, as any weight transform does.
template <int R>
struct Transform;

template <>
struct Transform<3> {
  static constexpr int A = 4;
  static constexpr float BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  static constexpr float G[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
  static constexpr float AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
};

template <>
struct Transform<5> {
  static constexpr int A = 6;
  static constexpr float BT[6][6] = {{1, 1.5f, -2, -1.5f, 1, 0},   {0, -1, -2.5f, -0.5f, 1, 0},
                                     {0, 1, 0.5f, -2.5f, 1, 0},    {0, -0.5f, -1, 0.5f, 1, 0},
                                     {0, 2, -1, -2, 1, 0},         {0, 1, 1.5f, -2, -1.5f, 1}};
  static constexpr float G[6][5] = {{1, 0, 0, 0, 0},
                                    {-1.0f / 3, -1.0f / 3, -1.0f / 3, -1.0f / 3, -1.0f / 3},
                                    {1.0f / 3, -1.0f / 3, 1.0f / 3, -1.0f / 3, 1.0f / 3},
                                    {1.0f / 15, 2.0f / 15, 4.0f / 15, 8.0f / 15, 16.0f / 15},
                                    {-16.0f / 15, 8.0f / 15, -4.0f / 15, 2.0f / 15, -1.0f / 15},
                                    {0, 0, 0, 0, 1}};
  static constexpr float AT[2][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -0.5f, 1}};
};

// out[i] = sum_j m[i][j] in[j] for a constant matrix m: after unrolling, the zeros vanish and
// the ones become adds and subtracts, as a hand-written transform.
template <int kRows, int kCols>
__attribute__((target("avx512f"), always_inline)) inline void apply(const float (&m)[kRows][kCols], const __m512 (&in)[kCols],
                                                                    __m512 (&out)[kRows]) {
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) {
    __m512 acc = _mm512_setzero_ps();
    bool any = false;
#pragma GCC unroll 8
    for (int j = 0; j < kCols; ++j) {
      const float c = m[i][j];
      if (c == 0.0f) continue;
      if (!any) acc = c == 1.0f ? in[j] : c == -1.0f ? _mm512_sub_ps(_mm512_setzero_ps(), in[j]) : _mm512_mul_ps(_mm512_set1_ps(c), in[j]);
      else if (c == 1.0f) acc = _mm512_add_ps(acc, in[j]);
      else if (c == -1.0f) acc = _mm512_sub_ps(acc, in[j]);
      else acc = _mm512_fmadd_ps(_mm512_set1_ps(c), in[j], acc);
      any = true;
    }
    out[i] = acc;
  }
}

}  // namespace cpu
}  // namespace convnet
