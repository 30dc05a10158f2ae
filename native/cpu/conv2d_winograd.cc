// Winograd F(2x2, 3x3) and F(2x2, 5x5) convolutions (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016). A 2x2 tile of outputs from an A x A tile d of inputs
// (A = R + 1) and an R x R filter g:
//
//   Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A,
//
// with the matrices of `Transform<R>` below. For 3x3:
//
//   B^T = [1  0 -1  0]    G = [ 1    0    0 ]    A^T = [1  1  1  0]
//         [0  1  1  0]        [1/2  1/2  1/2]          [0  1 -1 -1]
//         [0 -1  1  0]        [1/2 -1/2  1/2]
//         [0  1  0 -1]        [ 0    0    1 ]
//
// 16 multiplies instead of 36 (5x5: 36 instead of 100). Summed over the input channels, the
// elementwise products become A * A GEMMs, one per position xi of the tile: M_xi[k, t] =
// sum_c U_xi[k, c] V_xi[c, t], with U = G g G^T per (k, c) and V = B^T d B per (c, tile t).
// The GEMMs do 2.25x (5x5: 2.8x) fewer multiply-adds than the direct convolution; the
// transforms cost a few adds per value.
//
// Forward (and backward-data, the same convolution with flipped, transposed weights): work is
// split into items (group, a run of tiles across the batch); an item transforms its
// inputs into V, runs the GEMMs on one thread, and adds each row of M into y's tiles. An
// output's value depends on neither the items nor the thread count (the GEMM's sums run over
// the channels in a fixed order, gemm.h, and the rows of M are added in order), so its bits do not.
//
// Backward-filter: the transposed algorithm (see "Backward-filter" below), the GEMMs' sums
// running over the tiles.
//
// conv2d.cc picks this for 3x3 and 5x5 kernels at stride 1 (dilation 1, 2, 4 or 8), 16 (5x5: 48) or more
// channels in and out per group, on CPUs with AVX-512. Measured on Zen 5, 2 threads (`npm run bench --
// conv`): AlexNet c3-c5 and the 64 -> 64 layer on 56x56 went from 0.95-1.05x PyTorch-CPU's speed
// with the direct kernels to 1.16-1.41x, in all three directions; AlexNet's c2 (5x5, 48 -> 128
// channels a group) forward 7.5 -> 4.9 ms, backward-data 8.0 -> 6.6 ms, backward-filter
// 8.0 -> 5.9 ms (`node dist/bench/conv_ab.js CONVNET_WINOGRAD 0 1 --threads 2 "alex c2"`).
// Dilated layers (all three directions): tiles whose outputs lie d apart (see Tiling), read in
// place; split instead into their dilation phases (dense convolutions of subsampled images,
// copied out and back) they had measured 1.25-2x slower than the direct kernels. The 56x56
// 64 -> 64 layers at dilation 2 and 4 (`node dist/bench/conv_ab.js CONVNET_WINOGRAD 0 1
// --threads 2 dilated`): forward and backward-data 0.77-0.78x the direct kernels' time,
// backward-filter 0.86-0.88x.
// CONVNET_WINOGRAD=0 turns it off (conv2d.cc).
#include "cpu/conv2d_winograd.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/conv2d_internal.h"
#include "cpu/gemm.h"

// Only with AVX-512 (conv2d.cc asks for the GEMM's AVX-512 kernel before it calls these);
// CONVNET_PORTABLE_ONLY builds the fallbacks alone (to check that they compile on x86 too).
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(CONVNET_PORTABLE_ONLY)
#define CONVNET_WINOGRAD 1
#include <immintrin.h>

#include "cpu/winograd_transform.h"
#else
#define CONVNET_WINOGRAD 0
#endif

namespace convnet {
namespace cpu {
#if CONVNET_WINOGRAD
namespace {

using conv2d_impl::ceil_div;
using conv2d_impl::scratch;  // slots 0-2: an item's V, M, y; 3-5: the caller's U (or V, U', M')

// The GEMM's B operand, V_xi, kept in the GEMM's panel order: panel q (columns [q * NR,
// q * NR + NR)) holds rows c = 0..Cg-1 of NR floats each, so the GEMM reads it in place.
class ReadyPanels : public SgemmPanelSource {
 public:
  ReadyPanels(const float* v, int64_t rows, int64_t nr) : v_(v), rows_(rows), nr_(nr) {}
  const float* panels(int64_t, int64_t p0, int64_t, int64_t j0, int64_t* panel_stride) const override {
    *panel_stride = rows_ * nr_;
    return v_ + ((j0 / nr_) * rows_ + p0) * nr_;
  }
  void pack(int64_t, int64_t p0, int64_t kc, int64_t j0, int64_t n, float* dst) const override {
    for (int64_t q = 0; q * nr_ < n; ++q) std::memcpy(dst + q * kc * nr_, v_ + ((j0 / nr_ + q) * rows_ + p0) * nr_, sizeof(float) * kc * nr_);
  }

 private:
  const float* v_;
  int64_t rows_, nr_;
};

// The lanes of v0 + [0, 16) inside [lo, hi).
__attribute__((target("avx512f"))) inline __mmask16 inside(int64_t lo, int64_t hi, int64_t v0) {
  const int64_t a = std::clamp<int64_t>(lo - v0, 0, 16), b = std::clamp<int64_t>(hi - v0, 0, 16);
  const uint32_t upto_b = b >= 16 ? 0xFFFFu : (1u << b) - 1, below_a = (1u << a) - 1;
  return static_cast<__mmask16>(upto_b & ~below_a);
}

// 16 floats from `at`, those outside `mask` read as zeros (and not touched). A plain load when
// the mask is whole: on Zen 5 the transforms' masked loads of image rows stalled far longer
// than plain ones (the backward-filter of the 64 -> 64 layer on 56x56 at dilation 4, one
// thread: 9.8 -> 7.8 ms; `node` timing loops of conv2dBackward, not in the repo).
__attribute__((target("avx512f"), always_inline)) inline __m512 load_lanes(__mmask16 mask, const float* at) {
  return mask == 0xFFFF ? _mm512_loadu_ps(at) : _mm512_maskz_loadu_ps(mask, at);
}

// The mask of lanes [a, b).
inline __mmask16 lanes(int64_t a, int64_t b) {
  const uint32_t below_b = b >= 16 ? 0xFFFFu : (1u << b) - 1, below_a = (1u << a) - 1;
  return static_cast<__mmask16>(b > a ? below_b & ~below_a : 0u);
}

// out = m X m^T for a constant matrix m (kRows x kCols) and X given by columns, cols[b][a] =
// X[a][b]: m down each column, then m along each row of the result. out[i * kRows + j].
template <int kRows, int kCols>
__attribute__((target("avx512f"), always_inline)) inline void sandwich(const float (&m)[kRows][kCols],
                                                                       const __m512 (&cols)[kCols][kCols],
                                                                       __m512 (&out)[kRows * kRows]) {
  __m512 rows[kRows][kCols];  // rows[i][b] = (m X)[i][b]
  for (int b = 0; b < kCols; ++b) {
    __m512 col[kRows];
    apply(m, cols[b], col);
    for (int i = 0; i < kRows; ++i) rows[i][b] = col[i];
  }
  for (int i = 0; i < kRows; ++i) {
    __m512 v[kRows];
    apply(m, rows[i], v);
    for (int j = 0; j < kRows; ++j) out[i * kRows + j] = v[j];
  }
}

// The tiles: 2x2 blocks of outputs, TH rows and TW columns of them per image.
//
// Dilation d (2, 4 or 8): a tile's outputs are d apart, (oh, ow), (oh, ow + d), (oh + d, ow),
// (oh + d, ow + d), and its inputs too (rows oh + a d - pad_top, columns ow + b d - pad_left):
// F(2x2, RxR) on the subsampled grid, with no copy of it. Tile tb of a row has its first
// column at origin(tb) = 2d (tb / d) + tb % d, so d consecutive tiles cover a block of 2d
// consecutive columns. Runs of tiles start at multiples of d (d divides 16, the rows' tile
// counts and the items' bounds), where origin(tb) = 2 tb: lane l of a 16-tile vector whose
// lane 0 would be tile tb0 then reads column 2 tb0 + pattern(l) + b d, pattern(l) =
// origin(l) < 32, one permute of 32 loaded columns (d = 1: the even columns, and b d = 1
// the odd ones). Rows likewise: tile row ta starts at row origin(ta).
struct Tiling {
  int64_t TH, TW, d;
  alignas(64) int32_t pattern[16];  // the lanes' first columns relative to 2 tb0: origin(l)
  // Dilated outputs: column 2 tb0 + j (j < 32) of 16 tiles from tb0 (a multiple of d) is the
  // first output of one of them (lane l of the first vector: index l) or its second (16 + l).
  alignas(64) int32_t unzip[32];
  int64_t origin(int64_t i) const { return d == 1 ? 2 * i : 2 * d * (i / d) + i % d; }  // no division when dense
};

// Whole blocks of 2d outputs: tiles past the outputs compute zeros' transforms, never stored.
Tiling tiling_of(const WinogradConv& p) {
  const int64_t d = p.dil;
  Tiling f{ceil_div(p.Ho, 2 * d) * d, ceil_div(p.Wo, 2 * d) * d, d, {}, {}};
  for (int l = 0; l < 16; ++l) f.pattern[l] = static_cast<int32_t>(f.origin(l));
  for (int64_t j = 0; j < 32; ++j) {
    const int64_t q = j / (2 * d), r = j % (2 * d);
    f.unzip[j] = static_cast<int32_t>(d * q + r % d + (r < d ? 0 : 16));
  }
  return f;
}

// A run of tiles [t0, t1) of one group across the batch: tile t is tile t % TW of tile row
// r = t / TW, which is tile row r % TH of image r / TH.
struct Item {
  int64_t gi, t0, t1;
};

// U_xi[k][c] = (G g G^T)[xi] for output channels [k0, k1) of group gi; u holds the group's
// A * A planes [A * A][Kg][Cg].
template <int R>
__attribute__((target("avx512f"))) void transform_weights(const WinogradConv& p, int64_t gi, int64_t k0, int64_t k1, int64_t Kg, int64_t Cg, float* u) {
  using T = Transform<R>;
  constexpr int A = T::A;
  std::vector<float> g(R * R * Cg), gg(A * R * Cg);  // the taps [R][R][Cg], then G g [A][R][Cg]
  for (int64_t k = k0; k < k1; ++k) {
    const float* wk = p.w + gi * p.w_group + k * p.w_out;
    for (int64_t c = 0; c < Cg; ++c)
      for (int i = 0; i < R; ++i)
        for (int j = 0; j < R; ++j) g[(i * R + j) * Cg + c] = wk[c * p.w_in + i * p.w_row + j * p.w_col];
    for (int i = 0; i < A; ++i)
      for (int j = 0; j < R; ++j) {
        float* r = &gg[(i * R + j) * Cg];
        for (int64_t c = 0; c < Cg; ++c) {
          float acc = 0.0f;
          for (int q = 0; q < R; ++q)
            if (T::G[i][q] != 0.0f) acc += T::G[i][q] * g[(q * R + j) * Cg + c];
          r[c] = acc;
        }
      }
    for (int i = 0; i < A; ++i)  // (G g) G^T, row i
      for (int j = 0; j < A; ++j) {
        float* o = u + ((i * A + j) * Kg + k) * Cg;
        for (int64_t c = 0; c < Cg; ++c) {
          float acc = 0.0f;
          for (int q = 0; q < R; ++q)
            if (T::G[j][q] != 0.0f) acc += T::G[j][q] * gg[(i * R + q) * Cg + c];
          o[c] = acc;
        }
      }
  }
}

// V = B^T d B of 16 consecutive tiles [t, t + 16) of channel c of group gi (zero past tile
// `end`): out[xi] lane l is V[xi] of tile t + l. Tile t is tile tb = t % TW of tile row r = t / TW
// (from the batch's first): d's row a, column b is x[c, 2 * ta + a - pad_top, 2 * tb + b -
// pad_left] (ta = r % TH of image r / TH), zero outside x. The 16 tiles may lie in a few tile
// rows; each of d's rows is loaded as the even columns (2 * tb + 2s) and odd ones (2 * tb + 2s + 1)
// of its tiles, for s = 0 .. A/2 - 1.
template <int R>
__attribute__((target("avx512f"), always_inline)) inline void input_tiles(const WinogradConv& p, const Tiling& f, int64_t gi, int64_t c,
                                                    int64_t t, int64_t end, const float* px, __m512 (&out)[(R + 1) * (R + 1)]) {
  using T = Transform<R>;
  constexpr int A = T::A;
  const int64_t Cg = p.C / p.groups, TW = f.TW;
  const int64_t lo = p.pad_left, hi = p.pad_left + p.W;  // the columns inside x, counted from -pad_left
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  __m512 d[A][A];  // d[b][a]: column b, row a; written whole by the first tile row's pass
  const __m512i pattern = _mm512_load_si512(f.pattern);  // dilated only
  const int64_t t16 = t;
  for (bool first = true; t < std::min(t16 + 16, end); first = false) {  // the lanes of one tile row
    const int64_t r = t / TW, tb = t % TW, l0 = t - t16;  // lanes l0.. are tiles tb..
    const int64_t len = std::min({TW - tb, t16 + 16 - t, end - t});
    const __mmask16 lm = lanes(l0, l0 + len);
    const int64_t n = r / f.TH, ta = r % f.TH;
    const float* xc = px + (n * p.C + gi * Cg + c) * p.H * p.W;
    const int64_t v0 = 2 * (tb - l0);  // lane 0's first column (+ pad_left)
    // The loads' masks, the same for every row: 32 columns from v0 + b d (dilated) or v0 + 2b
    // (dense, b < A / 2), those outside x read as zeros (and not touched).
    __mmask16 in0[A], in1[A];
#pragma GCC unroll 6
    for (int b = 0; b < A; ++b) {
      const int64_t at = v0 + (f.d > 1 ? b * f.d : 2 * b);
      in0[b] = inside(lo, hi, at), in1[b] = inside(lo, hi, at + 16);
    }
    for (int a = 0; a < A; ++a) {
      const int64_t ih = f.origin(ta) + a * f.d - p.pad_top;
      if (ih < 0 || ih >= p.H) {
        if (first)
          for (int b = 0; b < A; ++b) d[b][a] = _mm512_setzero_ps();
        continue;
      }
      const float* row = xc + ih * p.W - p.pad_left;
      // The same columns of the next channel, which run_item transforms next: the channels'
      // planes lie far apart, too far for the hardware's prefetcher (without this the loads
      // below waited on memory for a third of the transform's time with 128 channels).
      _mm_prefetch(reinterpret_cast<const char*>(row + p.H * p.W + v0), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(row + p.H * p.W + v0 + 16), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(row + p.H * p.W + v0 + 31 + (A - 1) * f.d), _MM_HINT_T0);
      if (f.d > 1) {  // dilated: column b of the lanes' tiles from the 32 columns at v0 + b d
#pragma GCC unroll 6
        for (int b = 0; b < A; ++b) {
          const int64_t at = v0 + b * f.d;
          const __m512 x0 = load_lanes(in0[b], row + at);
          const __m512 x1 = load_lanes(in1[b], row + at + 16);
          const __m512 e = _mm512_permutex2var_ps(x0, pattern, x1);
          d[b][a] = first ? _mm512_maskz_mov_ps(lm, e) : _mm512_mask_mov_ps(d[b][a], lm, e);
        }
        continue;
      }
#pragma GCC unroll 4
      for (int s = 0; s < A / 2; ++s) {  // 32 columns from v0 + 2s
        const __m512 x0 = load_lanes(in0[s], row + v0 + 2 * s);
        const __m512 x1 = load_lanes(in1[s], row + v0 + 2 * s + 16);
        const __m512 e = _mm512_permutex2var_ps(x0, even, x1), o = _mm512_permutex2var_ps(x0, odd, x1);
        d[2 * s][a] = first ? _mm512_maskz_mov_ps(lm, e) : _mm512_mask_mov_ps(d[2 * s][a], lm, e);
        d[2 * s + 1][a] = first ? _mm512_maskz_mov_ps(lm, o) : _mm512_mask_mov_ps(d[2 * s + 1][a], lm, o);
      }
    }
    t += len;
  }
  sandwich(T::BT, d, out);  // B^T d B
}

// One item: its tiles' V, the A * A GEMMs, y. Compiled for AVX-512 (winograd_conv2d runs only
// where the GEMM's AVX-512 kernel does), so that the transforms' loops vectorize.
template <int R>
__attribute__((target("avx512f"))) void run_item(const WinogradConv& p, const Tiling& f, const Item& it,
                                                 const float* packed, int64_t packed_floats, const float* px,
                                                 float* py) {
  using T = Transform<R>;
  constexpr int A = T::A, XI = A * A;
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups;
  const int64_t TW = f.TW, tiles = it.t1 - it.t0;
  const int64_t NR = sgemm_panel_width(), P = ceil_div(tiles, NR);
  float* v = scratch(0, XI * P * Cg * NR);
  float* m = scratch(1, A * Kg * tiles);  // one row of M: M_xi for xi = (a, 0..A-1)

  // V, in the GEMM's panel order (zeros past the last tile).
  const int64_t T16 = ceil_div(tiles, 16) * 16;
  for (int64_t c = 0; c < Cg; ++c) {
    for (int64_t t16 = 0; t16 < tiles; t16 += 16) {
      __m512 out[XI];
      input_tiles<R>(p, f, it.gi, c, it.t0 + t16, it.t1, px, out);
      float* col = v + ((t16 / NR) * Cg + c) * NR + t16 % NR;  // xi = 0's panel row
      for (int xi = 0; xi < XI; ++xi) _mm512_storeu_ps(col + xi * P * Cg * NR, out[xi]);
    }
  }
  // Columns past the last 16 tiles (in the last panel) are computed by the GEMM and never
  // stored; zeros keep them finite.
  if (T16 % NR != 0)
    for (int64_t xi = 0; xi < XI; ++xi)
      for (int64_t c = 0; c < Cg; ++c) {
        float* row = v + ((xi * P + P - 1) * Cg + c) * NR;
        std::fill(row + T16 % NR, row + NR, 0.0f);
      }

  // y = A^T M A + bias, with M_xi = U_xi V_xi, a row of A^T M at a time: the GEMMs make
  // M_(a, 0..A-1) (A planes [Kg, tiles], L2-sized), which become that row's Z = M_a A (two
  // values a tile), added into the four outputs of every tile with A^T's column a. So only one
  // row of M exists at a time and V, M and y stay in L2, and each output is read and written
  // once per row a, not once per xi. The additions for an output run in the same order (a = 0,
  // 1, ...) everywhere. The GEMMs run on this thread (inside a parallel region they do not split).
  float* y4 = scratch(2, 4 * Kg * T16);  // [k][y00 | y01 | y10 | y11][tile]
  bool started[2] = {false, false};      // each output row's sum starts at its first a with a coefficient
  for (int a = 0; a < A; ++a) {
    for (int b = 0; b < A; ++b) {
      const int64_t xi = a * A + b;
      const ReadyPanels panels(v + xi * P * Cg * NR, Cg, NR);
      sgemm_packed(Kg, tiles, Cg, 1.0f, packed + xi * packed_floats, panels, 0.0f, m + b * Kg * tiles, tiles, 0, 1);
    }
    bool adds[2], first[2];  // output row u takes this row a; it is u's first
    __m512 coef[2];
    for (int u = 0; u < 2; ++u) {
      adds[u] = T::AT[u][a] != 0.0f;
      first[u] = adds[u] && !started[u];
      started[u] = started[u] || adds[u];
      coef[u] = _mm512_set1_ps(T::AT[u][a]);
    }
    for (int64_t k = 0; k < Kg; ++k) {
      float* yk = y4 + k * 4 * T16;
      for (int64_t t = 0; t < tiles; t += 16) {
        const __mmask16 mask = static_cast<__mmask16>(tiles - t >= 16 ? 0xFFFF : (1u << (tiles - t)) - 1);
        __m512 mb[A], z[2];
        for (int b = 0; b < A; ++b) mb[b] = _mm512_maskz_loadu_ps(mask, m + (b * Kg + k) * tiles + t);
        apply(T::AT, mb, z);
        for (int u = 0; u < 2; ++u) {
          if (!adds[u]) continue;
          for (int w = 0; w < 2; ++w) {
            float* yo = yk + (2 * u + w) * T16 + t;
            _mm512_storeu_ps(yo, _mm512_fmadd_ps(coef[u], z[w], first[u] ? _mm512_setzero_ps() : _mm512_loadu_ps(yo)));
          }
        }
      }
    }
  }
  // Into the outputs that exist, + bias (added on the way, not in a pass of its own).
  const int64_t pairs = std::min(TW, p.Wo / 2);  // tiles whose second column exists
  const __m512i unzip[2] = {_mm512_load_si512(f.unzip), _mm512_load_si512(f.unzip + 16)};  // dilated only
  for (int64_t k = 0; k < Kg; ++k) {
    const float bias = p.bias ? p.bias[it.gi * Kg + k] : 0.0f;
    const __m512 bv = _mm512_set1_ps(bias);
    float* yk4 = y4 + k * 4 * T16;
    const float *y00 = yk4, *y01 = yk4 + T16, *y10 = yk4 + 2 * T16, *y11 = yk4 + 3 * T16;
    for (int64_t t = 0; t < tiles;) {  // a tile row at a time: tiles [tb0, tb1) of row r are t..
      const int64_t r = (it.t0 + t) / TW, tb0 = (it.t0 + t) % TW, tb1 = std::min(TW, tb0 + tiles - t);
      const int64_t n = r / f.TH, ta = r % f.TH;
      float* yk = py + (n * p.K + it.gi * Kg + k) * p.Ho * p.Wo;
      const int64_t pair_end = std::min(tb1, pairs);  // tiles [tb0, pair_end) have both columns
      for (int a = 0; a < 2; ++a) {
        const int64_t oh = f.origin(ta) + a * f.d;
        if (oh >= p.Ho) break;
        const float* e0 = (a ? y10 : y00) + t - tb0;  // indexed by tb
        const float* e1 = (a ? y11 : y01) + t - tb0;
        float* out = yk + oh * p.Wo;
        if (f.d > 1) {  // dilated: tiles [tb, tb + 16) fill columns [2 tb, 2 tb + 32) (see Tiling)
          for (int64_t tb = tb0; tb < tb1; tb += 16) {
            const int64_t n16 = std::min<int64_t>(16, tb1 - tb);
            const __mmask16 in = lanes(0, n16);
            const __m512 x0 = _mm512_add_ps(_mm512_maskz_loadu_ps(in, e0 + tb), bv);
            const __m512 x1 = _mm512_add_ps(_mm512_maskz_loadu_ps(in, e1 + tb), bv);
            const int64_t end = std::min(p.Wo, 2 * (tb + n16));  // runs end at multiples of d: whole blocks
            _mm512_mask_storeu_ps(out + 2 * tb, inside(0, end, 2 * tb), _mm512_permutex2var_ps(x0, unzip[0], x1));
            _mm512_mask_storeu_ps(out + 2 * tb + 16, inside(0, end, 2 * tb + 16), _mm512_permutex2var_ps(x0, unzip[1], x1));
          }
          continue;
        }
        int64_t tb = tb0;
        const __m512i zip = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        for (; tb + 8 <= pair_end; tb += 8) {  // 8 + 8 tiles' columns, interleaved
          const __m512 x0 = _mm512_add_ps(_mm512_castps256_ps512(_mm256_loadu_ps(e0 + tb)), bv);
          const __m512 x1 = _mm512_add_ps(_mm512_castps256_ps512(_mm256_loadu_ps(e1 + tb)), bv);
          _mm512_storeu_ps(out + 2 * tb, _mm512_permutex2var_ps(x0, zip, x1));
        }
        for (; tb < pair_end; ++tb) out[2 * tb] = e0[tb] + bias, out[2 * tb + 1] = e1[tb] + bias;
        if (pairs < tb1) out[2 * pairs] = e0[pairs] + bias;  // the last tile of a row of odd width
      }
      t += tb1 - tb0;
    }
  }
}

// ---- Backward-filter ----
// The weight gradient, from the forward's Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A: each tile
// contributes dg = G^T [ (A dy A^T) ⊙ (B^T d B) ] G, dy its 2x2 tile of output gradients
// (the transposed algorithm; for 3x3 it is Lavin & Gray's F(3x3, 2x2) with its halves moved
// into G^T). Summed over every tile t of the batch, the products are A * A GEMMs:
// M_xi[k, c] = sum_t W_xi[k, t] V_xi[c, t], W = A dy A^T, V = B^T d B as in the forward; then
// dw = G^T M G per (k, c). The forward's matrices, and rounding of the forward's order: for
// 5x5, 0.7 float32 epsilons of the terms' magnitudes on average over the taps on random 27x27
// images, 7 at most (8x8: 1.2 and 11), against 0.17 and 1.2 for the direct sums; 3x3 as the
// direct sums (0.16-0.21, 1.0 at most). `/usr/bin/python3 scripts/winograd_rounding.py` (a
// numpy model of this float32 arithmetic) prints these.
// (Toom-Cook's F(5x5, 2x2) built from points of its own rounds 15 epsilons: not used.)
// Measured (`node dist/bench/conv_ab.js CONVNET_WINOGRAD 0 1 --threads 2 sweep5`): 0.51-0.69x
// the direct kernel's time from 48 channels (AlexNet's c2: 8.0 -> 5.9 ms).
// Two ways to share the sums among threads (winograd_backward_filter_r picks one):
// - by xi (filter_sums_by_xi): all threads transform a chunk of tiles, then run its A * A GEMMs
//   side by side. A chunk's V and W (~2 MiB) are written by one split of the threads and read
//   by another, through L3, which other work on the machine can crowd: on the 2-core VM its time
//   varied more than the direct kernel's (c2: 5.9-7 ms in most processes, 11-13 in some; the 56x56
//   64 -> 64 layer 3.3 ms, or 6.1 while a neighbour was busy). Where the groups share out
//   evenly over the threads, a group per thread instead (Note [a group per thread]); splits by
//   output channel repeat the transforms of x, and were no faster.
// - by parts (filter_sums_by_parts): each thread sums its own runs of tiles, V, W and its own M
//   in its L2, and the parts' Ms are added at the end: steady (that 56x56 layer 3.4 ms while
//   the neighbour was busy), but each part has a whole M, so only for small ones (AlexNet's c2
//   and c3, M of 5-6 MiB, took 1.4x and 2x the time by parts).

// The transpose of a constant matrix, for apply(): A = (A^T)^T and G^T.
template <int kRows, int kCols>
struct Transposed {
  float m[kCols][kRows];
  constexpr explicit Transposed(const float (&a)[kRows][kCols]) : m{} {
    for (int i = 0; i < kRows; ++i)
      for (int j = 0; j < kCols; ++j) m[j][i] = a[i][j];
  }
};

// W = A g A^T of 16 consecutive tiles [t, t + 16) of dy's channel k of group gi (zero past tile
// `end`): out[xi] lane l is W[xi] of tile t + l; g[u][w] is dy[k, 2 * ta + u, 2 * tb + w] (0
// outside dy).
template <int R>
__attribute__((target("avx512f"), always_inline)) inline void grad_tiles(const WinogradConv& p, const Tiling& f,
                                                                         int64_t gi, int64_t k, int64_t t,
                                                                         int64_t end, const float* pdy,
                                                                         __m512 (&out)[(R + 1) * (R + 1)]) {
  using T = Transform<R>;
  constexpr int A = T::A;
  static constexpr Transposed<2, A> kA(T::AT);
  const int64_t Kg = p.K / p.groups, TW = f.TW;
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  __m512 g[2][2];  // g[w][u]: column w, row u
  g[0][0] = g[0][1] = g[1][0] = g[1][1] = _mm512_setzero_ps();
  const int64_t t16 = t;
  for (; t < std::min(t16 + 16, end);) {  // the lanes of one tile row
    const int64_t r = t / TW, tb = t % TW, l0 = t - t16;
    const int64_t len = std::min({TW - tb, t16 + 16 - t, end - t});
    const __mmask16 lm = lanes(l0, l0 + len);
    const int64_t n = r / f.TH, ta = r % f.TH;
    const float* yk = pdy + (n * p.K + gi * Kg + k) * p.Ho * p.Wo;
    const int64_t v0 = 2 * (tb - l0);  // lane 0's first column
#pragma GCC unroll 2
    for (int u = 0; u < 2; ++u) {  // unrolled, as the loop over w below: g stays in registers
      const int64_t oh = f.origin(ta) + u * f.d;
      if (oh >= p.Ho) continue;
      const float* row = yk + oh * p.Wo;
      // The same columns of the next channel, as input_tiles does.
      _mm_prefetch(reinterpret_cast<const char*>(row + p.Ho * p.Wo + v0), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(row + p.Ho * p.Wo + v0 + 31 + f.d), _MM_HINT_T0);
      if (f.d > 1) {  // dilated: column w of the lanes' tiles from the 32 columns at v0 + w d (see Tiling)
        const __m512i pattern = _mm512_load_si512(f.pattern);
#pragma GCC unroll 2
        for (int w = 0; w < 2; ++w) {  // unrolled: g stays in registers
          const int64_t at = v0 + w * f.d;
          const __m512 x0 = load_lanes(inside(0, p.Wo, at), row + at);
          const __m512 x1 = load_lanes(inside(0, p.Wo, at + 16), row + at + 16);
          g[w][u] = _mm512_mask_mov_ps(g[w][u], lm, _mm512_permutex2var_ps(x0, pattern, x1));
        }
        continue;
      }
      const __m512 x0 = load_lanes(inside(0, p.Wo, v0), row + v0);
      const __m512 x1 = load_lanes(inside(0, p.Wo, v0 + 16), row + v0 + 16);
      g[0][u] = _mm512_mask_mov_ps(g[0][u], lm, _mm512_permutex2var_ps(x0, even, x1));
      g[1][u] = _mm512_mask_mov_ps(g[1][u], lm, _mm512_permutex2var_ps(x0, odd, x1));
    }
    t += len;
  }
  sandwich(kA.m, g, out);  // A g A^T
}

// Prefetches the next channel's rows for a run of tiles, spread over the run's vectors of 16
// tiles. The channels' planes lie far apart, and dilated tile rows go back and forth within a
// plane (Tiling::origin), so the hardware's prefetcher misses most of them: without this the
// dilated backward-filter's transforms waited on memory (dilation 4: 1.4x the time at 2
// threads; 1.16x at dilation 1; `node dist/bench/conv_ab.js` with a switch in a throwaway build).
class NextChannelRows {
 public:
  // The rows that tiles [t0, t0 + len) of channel plane(s) of `grad` (dy) or x read: per image,
  // [begin, end) floats from the image's plane of the group's first channel.
  NextChannelRows(const WinogradConv& p, const Tiling& f, bool grad, int64_t gi, int64_t t0, int64_t len) {
    const int64_t h = grad ? p.Ho : p.H, w = grad ? p.Wo : p.W, channels = grad ? p.K : p.C;
    plane_ = h * w;
    const int64_t first = gi * channels / p.groups;
    const int64_t top = grad ? 0 : p.pad_top, reach = grad ? f.d : p.R * f.d;  // rows below a tile row's origin
    const int64_t r0 = t0 / f.TW, r1 = (t0 + len - 1) / f.TW;  // tile rows, from the batch's first
    int64_t lines = 0;
    for (int64_t n = r0 / f.TH; n <= r1 / f.TH && images_ < kImages; ++n) {
      const int64_t ta0 = std::max(r0, n * f.TH) - n * f.TH, ta1 = std::min(r1, n * f.TH + f.TH - 1) - n * f.TH;
      const int64_t lo = std::clamp<int64_t>(f.origin(ta0) - top, 0, h), hi = std::clamp<int64_t>(f.origin(ta1) + reach - top + 1, 0, h);
      if (hi <= lo) continue;
      begin_[images_] = (n * channels + first) * plane_ + lo * w;
      lines_[images_] = ((hi - lo) * w + 15) / 16 + 1;  // + 1: the rows need not start a cache line
      lines += lines_[images_++];
    }
    per_vector_ = ceil_div(lines, ceil_div(len, 16));
  }

  // The share of vector `v` of the run, of channel c's rows (c counted from the group's first).
  __attribute__((target("avx512f"))) void issue(const float* src, int64_t c, int64_t v) const {
    int64_t skip = v * per_vector_, todo = per_vector_;
    for (int i = 0; i < images_ && todo > 0; ++i) {
      if (skip >= lines_[i]) {
        skip -= lines_[i];
        continue;
      }
      const float* at = src + begin_[i] + c * plane_;
      for (int64_t q = skip; q < lines_[i] && todo > 0; ++q, --todo) _mm_prefetch(reinterpret_cast<const char*>(at + 16 * q), _MM_HINT_T0);
      skip = 0;
    }
  }

 private:
  static constexpr int kImages = 16;  // a run over more images prefetches the first 16 only
  int64_t plane_ = 0, per_vector_ = 0;
  int64_t begin_[kImages] = {}, lines_[kImages] = {};
  int images_ = 0;
};

// The A * A transformed values of channels [c0, c1) of `src` and tiles [t0, t0 + len) into
// out[xi * xs + c * ld + l] (rows of ld floats, zero from len on; xs floats per xi): V of x's
// channels (kGrad false) or W of dy's (kGrad true).
template <int R, bool kGrad>
__attribute__((target("avx512f"))) void transform_rows(const WinogradConv& p, const Tiling& f, int64_t gi, int64_t c0,
                                                       int64_t c1, int64_t t0, int64_t len, int64_t ld, int64_t xs,
                                                       const float* src, float* out) {
  constexpr int XI = Transform<R>::A * Transform<R>::A;
  const NextChannelRows next(p, f, kGrad, gi, t0, len);
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t l = 0; l < len; l += 16) {
      if (c + 1 < c1) next.issue(src, c + 1, l / 16);
      __m512 tile[XI];
      if (kGrad) grad_tiles<R>(p, f, gi, c, t0 + l, t0 + len, src, tile);
      else input_tiles<R>(p, f, gi, c, t0 + l, t0 + len, src, tile);
      for (int xi = 0; xi < XI; ++xi) _mm512_storeu_ps(out + xi * xs + c * ld + l, tile[xi]);
    }
}

// dw of output channels [k0, k1) of group gi from M ([A * A][Kg][Cg]), 16 input channels at a
// time: G^T M (columns), then (G^T M) G (rows).
template <int R>
__attribute__((target("avx512f"))) void filter_rows(const float* m, int64_t gi, int64_t k0, int64_t k1, int64_t Kg,
                                                    int64_t Cg, float* pdw) {
  using T = Transform<R>;
  constexpr int A = T::A;
  static constexpr Transposed<A, R> kGT(T::G);
  for (int64_t k = k0; k < k1; ++k)
    for (int64_t c0 = 0; c0 < Cg; c0 += 16) {
      const __mmask16 mask = lanes(0, std::min<int64_t>(16, Cg - c0));
      __m512 cols[A][A];  // cols[b][a] = M[a][b]
      for (int a = 0; a < A; ++a)
        for (int b = 0; b < A; ++b) cols[b][a] = _mm512_maskz_loadu_ps(mask, m + ((a * A + b) * Kg + k) * Cg + c0);
      __m512 dw[R * R];
      sandwich(kGT.m, cols, dw);  // G^T M G
      alignas(64) float out[R * R][16];
      for (int q = 0; q < R * R; ++q) _mm512_store_ps(out[q], dw[q]);
      float* dst = pdw + ((gi * Kg + k) * Cg + c0) * R * R;
      for (int64_t l = 0; l < std::min<int64_t>(16, Cg - c0); ++l)
        for (int q = 0; q < R * R; ++q) dst[l * R * R + q] = out[q][l];
    }
}

// Adds the products of tiles [t0, t0 + len) of group gi into M (or writes them, when first): V
// and W of the chunk into v and u, then the A * A GEMMs. Called by all threads, the transforms
// split by channel and the GEMMs side by side, each on one thread (no hand-over inside a product
// that is small when the channels are few); called from inside a parallel region, all of it runs
// on the calling thread (parallel_for is inline there). Each xi's rows start a cache line after a
// multiple of the row length (xs = rows * ld + 16), so that transform_rows' stores of a tile's
// values do not all fall in one cache set when the rows are a power of two long (rows of 256
// floats, xi blocks 64 KiB apart); v and u hold XI * (rows * chunk + 16) floats.
template <int R>
void add_chunk(const float* px, const float* pdy, const WinogradConv& p, const Tiling& f, int64_t gi, int64_t t0,
               int64_t len, bool first, float* v, float* u, float* m) {
  constexpr int XI = Transform<R>::A * Transform<R>::A;
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups;
  const int64_t ld = ceil_div(len, 16) * 16, vs = Cg * ld + 16, us = Kg * ld + 16;
  parallel_for(Cg, 1, [&](int64_t c0, int64_t c1) { transform_rows<R, false>(p, f, gi, c0, c1, t0, len, ld, vs, px, v); });
  parallel_for(Kg, 1, [&](int64_t k0, int64_t k1) { transform_rows<R, true>(p, f, gi, k0, k1, t0, len, ld, us, pdy, u); });
  parallel_for(XI, 1, [&](int64_t x0, int64_t x1) {
    for (int64_t xi = x0; xi < x1; ++xi)
      sgemm(false, true, Kg, Cg, ld, 1.0f, u + xi * us, ld, v + xi * vs, ld, first ? 0.0f : 1.0f, m + xi * Kg * Cg, Cg);
  });
}

// The tiles of a chunk: V and W of ~`floats` floats.
template <int R>
int64_t chunk_tiles(const WinogradConv& p, int64_t total, int64_t floats, int64_t least) {
  constexpr int XI = Transform<R>::A * Transform<R>::A;
  return std::clamp<int64_t>((floats / (XI * (p.C + p.K) / p.groups)) / 16 * 16, least, ceil_div(total, 16) * 16);
}

// The most parts filter_sums_by_parts cuts the tiles into: a fixed number (the sums must not
// depend on the thread count) that shares out evenly over 1, 2, 4 or 8 threads.
constexpr int64_t kFilterParts = 8;

// M = the sum over tiles [0, total) of group gi, by parts: the tiles cut into `parts` runs
// fixed by the shape, each run one thread's: it transforms its chunks' V and W (all channels,
// ~512 KiB a chunk) and adds their GEMMs into its own M (m + part * XI * Kg * Cg), all in its
// core's L2; then the parts' Ms are added in order into the first. For layers with few
// channels and many tiles (the 56x56 64 -> 64 layers: M is 256 KiB).
template <int R>
void filter_sums_by_parts(const float* px, const float* pdy, const WinogradConv& p, const Tiling& f, int64_t gi,
                          float* m) {
  constexpr int XI = Transform<R>::A * Transform<R>::A;
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups, total = p.N * f.TH * f.TW;
  const int64_t chunk = chunk_tiles<R>(p, total, int64_t{128} << 10, 16);
  const int64_t chunks = ceil_div(total, chunk), parts = std::min<int64_t>(chunks, kFilterParts);
  const int64_t m_floats = XI * Kg * Cg;
  parallel_for(parts, 1, [&](int64_t q0, int64_t q1) {
    float* v = scratch(3, XI * (Cg * chunk + 16));  // this thread's own (scratch is per thread)
    float* u = scratch(4, XI * (Kg * chunk + 16));
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t first = q * chunks / parts, last = (q + 1) * chunks / parts;
      for (int64_t ci = first; ci < last; ++ci)
        add_chunk<R>(px, pdy, p, f, gi, ci * chunk, std::min(chunk, total - ci * chunk), ci == first, v, u, m + q * m_floats);
    }
  });
  parallel_for(m_floats, 4096, [&](int64_t i0, int64_t i1) {
    for (int64_t q = 1; q < parts; ++q)
      for (int64_t i = i0; i < i1; ++i) m[i] += m[q * m_floats + i];
  });
}

// M = the sum over tiles of group gi, by xi: chunks of tiles (V and W ~2 MiB) one after the
// other, each transformed by all threads and then its A * A GEMMs side by side (add_chunk),
// adding into M in chunk order. For layers with many channels and few tiles (AlexNet's), where
// the parts' Ms would be large.
template <int R>
void filter_sums_by_xi(const float* px, const float* pdy, const WinogradConv& p, const Tiling& f, int64_t gi,
                       float* m) {
  constexpr int XI = Transform<R>::A * Transform<R>::A;
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups, total = p.N * f.TH * f.TW;
  // 4x the chunk: the 64 -> 64 layer on 56x56 ran 4.5 ms against 4.2 (before it went by parts).
  const int64_t chunk = chunk_tiles<R>(p, total, int64_t{512} << 10, 64);
  float* v = scratch(3, XI * (Cg * chunk + 16));
  float* u = scratch(4, XI * (Kg * chunk + 16));
  for (int64_t t0 = 0; t0 < total; t0 += chunk) add_chunk<R>(px, pdy, p, f, gi, t0, std::min(chunk, total - t0), t0 == 0, v, u, m);
}

template <int R>
void winograd_backward_filter_r(const float* px, const float* pdy, const WinogradConv& p, float* pdw) {
  constexpr int XI = Transform<R>::A * Transform<R>::A;
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups, m_floats = XI * Kg * Cg;
  const Tiling f = tiling_of(p);
  // By parts where M fits in L2 beside a chunk's V and W. On the 64 -> 64 layers on 56x56
  // (dilation 1, 2, 4; `node dist/bench/conv_ab.js` with a switch in a throwaway build): as fast
  // by parts as by xi when the machine is quiet (3.3 ms at dilation 1), and unaffected when
  // other work crowds L3 (3.4 ms, by xi 6.1: V and W crossed between the cores through L3).
  // AlexNet's c2 and c3 (M 5-6 MiB) took 1.4x and 2x the time by parts.
  const bool by_parts = m_floats <= (int64_t{64} << 10);
  // Note [a group per thread]: by xi, V and W cross between the cores through L3, and when other
  // work on the machine crowds L3 that doubled the time (AlexNet's c2 5.9 -> 11.3 ms, c4 2.9 ->
  // 4.1, c5 2.1 -> 3.2, 2 threads; PyTorch unaffected, and c2 at 0.70x its speed in one full
  // run). Where the groups share out evenly over the threads, each thread sums its groups whole
  // instead (the parallel_for calls inside run inline), its V, W and M its own: in such a
  // spell 5.9, 2.9 and 2.1 ms, and as fast as by xi otherwise (`node dist/bench/conv_ab.js`
  // with a switch in a throwaway build). The same sums, so the same bits, whichever way.
  const int64_t threads = num_threads();
  if (!by_parts && threads > 1 && p.groups % threads == 0) {
    float* ms = scratch(5, p.groups * m_floats);
    parallel_for(p.groups, 1, [&](int64_t g0, int64_t g1) {
      for (int64_t gi = g0; gi < g1; ++gi) {
        filter_sums_by_xi<R>(px, pdy, p, f, gi, ms + gi * m_floats);
        filter_rows<R>(ms + gi * m_floats, gi, 0, Kg, Kg, Cg, pdw);
      }
    });
    return;
  }
  float* m = scratch(5, (by_parts ? kFilterParts : 1) * m_floats);  // M_xi [Kg, Cg] (beta 0 at first)
  for (int64_t gi = 0; gi < p.groups; ++gi) {
    if (by_parts) filter_sums_by_parts<R>(px, pdy, p, f, gi, m);
    else filter_sums_by_xi<R>(px, pdy, p, f, gi, m);
    parallel_for(Kg, 1, [&](int64_t k0, int64_t k1) { filter_rows<R>(m, gi, k0, k1, Kg, Cg, pdw); });
  }
}

template <int R>
void winograd_conv2d_r(const float* px, const WinogradConv& p, float* py) {
  constexpr int XI = Transform<R>::A * Transform<R>::A;
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups;

  // U = G g G^T for every (group, k, c), then each U_xi [Kg, Cg] packed for the GEMM.
  const int64_t packed_floats = sgemm_packed_a_floats(Kg, Cg);
  float* u = scratch(3, p.groups * XI * Kg * Cg);
  float* packed = scratch(4, p.groups * XI * packed_floats);
  parallel_for(p.groups * Kg, std::max<int64_t>(1, 4096 / std::max<int64_t>(Cg, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t gi = r0 / Kg; gi * Kg < r1; ++gi) {
      const int64_t k0 = std::max(r0, gi * Kg) - gi * Kg, k1 = std::min(r1, (gi + 1) * Kg) - gi * Kg;
      transform_weights<R>(p, gi, k0, k1, Kg, Cg, u + gi * XI * Kg * Cg);
    }
  });
  parallel_for(p.groups * XI, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) sgemm_pack_a(false, Kg, Cg, u + i * Kg * Cg, Cg, packed + i * packed_floats);
  });

  const Tiling tiling = tiling_of(p);

  // Items: (group, a run of tiles across the batch). Tiles are the GEMMs' columns, in panels
  // of NR: runs are whole panels (but the last), as many as keep an item's V and y within
  // ~1 MiB (L2), their count a multiple of the threads.
  const int64_t NR = sgemm_panel_width(), threads = num_threads();
  constexpr int64_t budget = int64_t{256} << 10;  // floats of V and y per item
  const int64_t total = p.N * tiling.TH * tiling.TW, panels = ceil_div(total, NR);
  const int64_t fit = std::max<int64_t>(2, budget / (NR * (XI * Cg + 4 * Kg)));  // panels per item
  const int64_t count = ceil_div(ceil_div(panels, fit), threads) * threads;
  const int64_t per = std::max<int64_t>(1, ceil_div(panels, count)) * NR;
  std::vector<Item> items;
  for (int64_t gi = 0; gi < p.groups; ++gi)
    for (int64_t t = 0; t < total; t += per) items.push_back({gi, t, std::min(total, t + per)});

  parallel_for(static_cast<int64_t>(items.size()), 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const Item& it = items[i];
      run_item<R>(p, tiling, it, packed + it.gi * XI * packed_floats, packed_floats, px, py);
    }
  });
}

}  // namespace

void winograd_conv2d(const float* px, const WinogradConv& p, float* py) {
  if (p.R == 5) return winograd_conv2d_r<5>(px, p, py);
  winograd_conv2d_r<3>(px, p, py);
}

void winograd_conv2d_backward_filter(const float* px, const float* pdy, const WinogradConv& p, float* pdw) {
  if (p.R == 5) return winograd_backward_filter_r<5>(px, pdy, p, pdw);
  winograd_backward_filter_r<3>(px, pdy, p, pdw);
}

#else  // never called where there is no AVX-512 (see conv2d.cc's winograd_applies)

void winograd_conv2d(const float*, const WinogradConv&, float*) {
  fail("E_INTERNAL", "the Winograd convolution needs AVX-512 and this build has none");
}
void winograd_conv2d_backward_filter(const float*, const float*, const WinogradConv&, float*) {
  fail("E_INTERNAL", "the Winograd convolution needs AVX-512 and this build has none");
}

#endif
}  // namespace cpu
}  // namespace convnet
