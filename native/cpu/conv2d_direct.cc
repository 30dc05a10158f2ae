// The convolution's direct kernels (conv2d.cc picks them; the method list is there). They read
// the images themselves: no im2col, no packing. direct_forward, direct_narrow and direct_filter
// run on AVX-512 or AVX2 + FMA (their register tiles are in conv2d_direct_kernels.inc, compiled
// for each), direct32 too (its tile is there as well); Winograd along the rows on AVX-512 only.
// On other CPUs or compilers every *_applies() is false.
#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/conv2d_internal.h"
#include "cpu/gemm.h"

// CONVNET_PORTABLE_ONLY builds the fallbacks alone (to check that they compile on x86 too).
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(CONVNET_PORTABLE_ONLY)
#define CONVNET_CONV_DIRECT 1
#include <immintrin.h>

#include "cpu/intrinsic_lanes.h"
#include "cpu/simd_transpose.h"
#include "cpu/winograd_transform.h"
#else
#define CONVNET_CONV_DIRECT 0
#endif

// Everything here is in conv2d_impl (only the entry points declared in conv2d_internal.h are
// used from outside).
namespace convnet {
namespace cpu {
namespace conv2d_impl {

#if CONVNET_CONV_DIRECT
// ---- Direct forward for few output channels (AVX-512, AVX2) ----
// LeNet's 6->16 5x5 on 14x14 images is a GEMM of 16 rows by 150 deep by 100 columns per
// image: im2col writes 6x the input and the 16-row product cannot fill the GEMM's 14x32
// tiles. Here the Kg <= 16 output channels of a group are one vector lane each instead:
// for a run of UW output positions of one row, acc[u] (Kg channels) += x[c, ih, iw_u]
// (broadcast, read from the image itself) * w[:, c, i, j] (one vector of the transposed
// weights), over (c, i, j) in order. Every output is one FMA chain over the ckk taps in a
// fixed order, then + bias, whatever the thread count (threads split images and rows).
// Padding: images with padding are first copied into a zero-bordered buffer.

struct DirectArgs {
  const float* x;      // the (padded) image's group: channel planes of xs floats, rows of ws
  int64_t xs, ws;
  const float* wt;     // [ckk][16] transposed weights of the group
  const int64_t* tap;  // [ckk] offset of tap r from an output position's top-left input
  int64_t ckk;
  int64_t sw;          // stride_w
  const float* bias;   // 16 floats (zero past Kg)
  float* y;            // y[u * 16 + k], the tile's outputs position by position (16 channels each)
};
using DirectFn = void (*)(const DirectArgs&);

// ---- Direct convolution for few output channels, lanes along the row (AVX-512, AVX2; stride_w 1) ----
// LeNet's backward-data (dy's 16 channels back to x's 6, 5x5, 10x10 -> 14x14) has too few
// output channels for either kernel above (6 of 16 lanes) and an inner GEMM dimension of 16.
// Here the vector lanes are 16 consecutive output positions of a row instead: a tile is R
// output rows by KG <= 8 output channels, per tap r one load of 16 inputs per row and KG
// broadcast weights, R * KG FMAs. Every output is one FMA chain over the ckk taps in order,
// then + bias, whatever the thread count (threads split images, groups and row blocks).
// Taps that read only padding rows for every row of a tile are left out (they add 0 * w): at
// the top and bottom of a padded image, and so in backward-data, whose padding is k - 1 (LeNet
// c3: 50 of the 70 (output row, kernel row) pairs read dy).
struct NarrowArgs {
  const float* x;      // the (padded) image's group, at the tile's first output row and column
  const float* wt;     // [ckk][KG] weights, tap-major
  const int64_t* tap;  // [ckk] offset of tap r from an output position's input
  // The taps summed: of each of `channels` runs of per_channel taps (kh * kw; a channel's),
  // count from its first + `first`: the kernel rows that read x (not padding) for the tile.
  int64_t channels, per_channel, first, count;
  int64_t row_step;    // floats between the inputs of consecutive output rows (stride_h * ws)
  const float* bias;   // KG floats
  float* y;            // output channel 0, the tile's first row and column
  int64_t ys, yw;      // floats between y's channel planes, and between its rows
  __mmask16 cols;      // the tile's columns (of 16)
  // Whether all 16 lanes of every load lie in readable memory: then plain loads (the lanes past
  // the tile's columns thrown away), not masked ones (AVX2's vmaskmovps cost LeNet c3's
  // backward-data a tenth of its time).
  bool plain;
};
using NarrowFn = void (*)(const NarrowArgs&);

// ---- Direct backward-filter (AVX-512, AVX2) ----
// dw[k, r] = sum over (n, oh, ow) of dy[n, k, oh, ow] * x[n, tap r of (oh, ow)], as im2col +
// GEMM paid for im2col, packing, gathering dy and adding chunk partials. Here a tile is 32
// output channels (two vectors of dy, transposed once per call to [position][32]) by R rows
// (c, i) of KW taps each (R * KW <= 12 broadcasts of x per position), accumulated in
// registers over every position of every image: each dw element is one FMA chain over
// (n, oh, ow) in order. Threads split (group, channel block, tap rows), never the sum, so
// the bits do not depend on the thread count. Padded images are copied into zero-bordered
// planes a chunk of images at a time; a tile's sums carry over chunks through dw itself.
// AVX2: blocks of 16 channels (one vector) and R * KW <= 6, wider kernels in spans of columns.

struct FilterArgs {
  const float* x;       // padded images, group's first channel, of the first image to sum
  int64_t image;        // floats between images
  int64_t images, Ho, Wo, row_step, sw, dil;  // row_step = stride_h * ws
  const int64_t* row;   // [R] offset of each tap row (c * xs + i * dh * ws)
  const float* dyt;     // [images * Ho * Wo][bw] of the channel block
  int64_t bw;           // floats per position in dyt (16 or 32)
  float* acc;           // [R * KW][16 * V] running sums (in and out)
  int64_t flush_rows;   // output rows (of any image) per register chain, added into acc in order
};
using FilterFn = void (*)(const FilterArgs&);

// Few output channels (at most 8 a group, LeNet's c1: 6), stride 1 along rows: FilterTile
// would fill 6 of a vector's 16 lanes, after transposing dy into them. Here the lanes run along
// an output row instead (as direct_narrow's): for 16 positions (oh, ow..ow+15) of an image,
// acc[k][j] += dy[k, oh, ow..] * x[c, tap row, ow + j * dil..] for the block's KT channels and
// the KW taps of one tap row (c, i), dy read in place. Lane l sums the positions whose column is
// l mod 16, one FMA chain each; at the end the 16 lanes are added in order (direct_filter).
struct RowFilterArgs {
  const float* x;        // the (padded) tap row of the first image: x[c, i * dh, 0] of its plane
  const float* dy;       // dy[first image, the block's first channel]
  int64_t image, dy_image, dy_plane;  // floats between images (x, dy) and between dy's channels
  int64_t images, Ho, Wo, row_step, dil, flush_rows;
  float* acc;            // [KT][KW][16] running sums (in and out)
};
using RowFilterFn = void (*)(const RowFilterArgs&);

// direct32's tile (below, "Direct convolution for more output channels").
struct Direct32Args {
  const float* x;      // the (padded) image's group
  const float* wt;     // [ckk][bw] transposed weights of the channel block (zero past kg)
  int64_t bw;          // the block's width: 32 or 48 channels (AVX2: 16)
  const int64_t* tap;  // [ckk] offset of tap r from an output position's top-left input
  // The taps the tile takes: `runs` runs of `run_len` taps, the first at `first`, `run_step`
  // apart (every tap: one run of ckk; a row of outputs whose top or bottom kernel rows fall in
  // the padding: one run per input channel, its kernel rows that read x).
  int64_t runs, run_len, run_step, first;
  int64_t step;        // floats between the positions' inputs where S is 0 (a column of outputs)
  const float* bias;   // bw floats (zero past kg); null: the sums as they are (more taps follow)
  float* y;            // y[u * y_step + k]: the tile's outputs position by position
  int64_t y_step;
  bool resume;         // the sums start from y's (the taps before `first`'s), not from zero
};
using Direct32Fn = void (*)(const Direct32Args&);

// One instruction set's tiles (conv2d_direct_kernels.inc, compiled for each): the drivers
// below run avx512::kKernels where the GEMM runs its AVX-512 kernel, avx2::kKernels where it
// runs its AVX2 one (kernels()). The sizes differ (AVX2 has half the registers, of half the
// width), so do the limits the *_applies functions check.
struct DirectKernels {
  int direct_positions;  // positions per direct_forward tile
  DirectFn (*direct_tile)(const Dims& d, const Conv2dGeometry& g, int64_t uw);
  void (*positions_to_planes)(const float* t, int64_t stride, int64_t positions, int kg, float* y, int64_t ys);
  void (*transpose_block)(const float* in, int64_t ld, int64_t kg, int64_t bw, int64_t positions, float* out);
  int narrow_channels;  // direct_narrow's most output channels a group
  int (*narrow_rows)(int kg);
  NarrowFn (*narrow_kernel)(int64_t kg, int64_t rows);
  int filter_vectors, filter_widest;  // FilterTile's most vectors of dy (1 or 2), widest tile
  int (*filter_rows)(int kw, int v);
  FilterFn (*filter_kernel)(int64_t kw, int v, int64_t rows);
  int row_filter_widest;  // RowFilterTile's widest kernel (3, 5 or 7)
  int (*row_filter_channels)(int kw);
  RowFilterFn (*row_filter_kernel)(int64_t kw, int64_t kt);
  int direct32_widest;                     // direct32's most Vecs a block: 3 (48 channels) or 1 (16)
  int (*direct32_positions)(int vectors);  // its most positions a tile of that many Vecs
  const Direct32Fn* (*direct32_rows)(int stride, int vectors);  // tiles of 1, 2, ... positions; stride 0: down a column
};

namespace avx512 {
using Lanes = Lanes512;
#define CONVNET_DIRECT_TARGET __attribute__((target("avx512f")))
#include "cpu/conv2d_direct_kernels.inc"
#undef CONVNET_DIRECT_TARGET
}  // namespace avx512

namespace avx2 {
using Lanes = Lanes256x2;
#define CONVNET_DIRECT_TARGET __attribute__((target("avx2,fma")))
#include "cpu/conv2d_direct_kernels.inc"
#undef CONVNET_DIRECT_TARGET
}  // namespace avx2

// The kernels of the GEMM's instruction set, or null where it has neither (so no direct kernel
// applies).
const DirectKernels* kernels() {
  const char* name = sgemm_kernel_name();
  if (std::strcmp(name, "avx512") == 0) return &avx512::kKernels;
  if (std::strcmp(name, "avx2") == 0) return &avx2::kKernels;
  return nullptr;
}

// ---- Winograd along the rows, for the same few output channels ----
// Where 512-bit FMAs are halved (Zen 4, gemm.h's avx512_fma_halved), the tiles above are bound
// by them (LeNet's c3 at ~90% of the FMA peak). There, for kernel widths 3 and 5 at stride 1,
// each pair of outputs of a row is computed by the 1D Winograd F(2, R) of the kernel row instead:
// with A = R + 1 and the matrices of winograd_transform.h (the 1D factors of conv2d_winograd.cc's
// F(2x2, RxR)),
//   y[2t], y[2t + 1] = A^T [ sum over (c, i) of (G w[:, c, i, :]) ⊙ (B^T x[c, oh + i, 2t .. 2t + R]) ],
// A multiplies per two outputs and (c, i) instead of 2R (5x5: 6 instead of 10). V = B^T x is
// computed once per input row and tile for all output channels (16 tiles at a time, lanes
// across tiles); U = G w once per call, in float64 rounded once. A tile of UT tiles (any rows)
// keeps UT * A sums of 16 channels in registers over the (c, i) in order, then A^T and the bias,
// so each output is the same arithmetic whatever the thread count.
// LeNet c3's forward, 1 thread: 0.306 -> 0.276 ms (2 threads 0.152 -> 0.139; `node
// dist/bench/conv_ab.js CONVNET_FMA512 full halved --threads 1 "lenet c3"`). The same idea down
// the columns for direct_narrow's lanes along the rows was tried and dropped: LeNet c3's
// backward-data 0.94x the time, c1's 1.22x (its V costs as much as it saves for 1-6 channels).
constexpr int kRowTiles3 = 6, kRowTiles5 = 4;  // UT: UT * A sums + A weights within 32 registers

bool winograd_rows_applies(const Dims& d, const Conv2dGeometry& g) {
  const char* env = std::getenv("CONVNET_WINOGRAD");
  if (env && env[0] == '0') return false;
  // (CONVNET_FMA512=halved claims halved FMAs on any CPU: the AVX-512 kernels are checked too.)
  return avx512_fma_halved() && kernels() == &avx512::kKernels && (d.kw == 3 || d.kw == 5) && g.stride_h == 1 &&
         g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1;
}

// V of every input row of an item: v[(c * hp + ih) * A * TW + xi * TW + t] = (B^T x[c, ih, 2t ..
// 2t + A))[xi], from rows of `ws` floats (all readable) of which the tiles read the first 2 TW + R - 1.
template <int R>
__attribute__((target("avx512f"))) void row_input_transform(const float* x, int64_t xs, int64_t ws, int64_t channels,
                                                            int64_t hp, int64_t TW, float* v) {
  using T = Transform<R>;
  constexpr int A = T::A;
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t ih = 0; ih < hp; ++ih) {
      const float* row = x + c * xs + ih * ws;
      float* out = v + (c * hp + ih) * A * TW;
      for (int64_t t0 = 0; t0 < TW; t0 += 16) {
        const int64_t n = std::min<int64_t>(16, TW - t0);
        const __mmask16 keep = static_cast<__mmask16>((1u << n) - 1);
        __m512 in[A], vt[A];
#pragma GCC unroll 6
        for (int j = 0; j < A; ++j) {
          // columns 2 (t0 + l) + j for l < 16: the even ones of the 32 from 2 t0 + j
          const int64_t at = 2 * t0 + j, left = ws - at;
          const auto mask = [](int64_t m) {
            return static_cast<__mmask16>(m >= 16 ? 0xFFFFu : m <= 0 ? 0u : (1u << m) - 1);
          };
          const __m512 lo = _mm512_maskz_loadu_ps(mask(left), row + at);
          const __m512 hi = _mm512_maskz_loadu_ps(mask(left - 16), row + at + 16);
          in[j] = _mm512_permutex2var_ps(lo, even, hi);
        }
        apply(T::BT, in, vt);
#pragma GCC unroll 6
        for (int xi = 0; xi < A; ++xi) _mm512_mask_storeu_ps(out + xi * TW + t0, keep, vt[xi]);
      }
    }
  }
}

// UT tiles whose V (row oh_q's, at tile t_q) start at v + at[q]: their outputs (16 channels
// each) to out[q] and, where `second[q]`, out[q] + 16.
template <int R, int UT>
__attribute__((target("avx512f"))) void row_tiles(const float* v, const int64_t (&at)[UT], int64_t TW, int64_t hp,
                                                  const float* u, int64_t channels, int64_t kh, const float* bias,
                                                  float* const (&out)[UT], const bool (&second)[UT]) {
  using T = Transform<R>;
  constexpr int A = T::A;
  __m512 acc[UT][A];
#pragma GCC unroll 8
  for (int q = 0; q < UT; ++q)
#pragma GCC unroll 6
    for (int xi = 0; xi < A; ++xi) acc[q][xi] = _mm512_setzero_ps();
  const int64_t row = A * TW;  // floats of V per input row
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t i = 0; i < kh; ++i, u += A * 16) {
      const int64_t off = (c * hp + i) * row;
      __m512 w[A];
#pragma GCC unroll 6
      for (int xi = 0; xi < A; ++xi) w[xi] = _mm512_loadu_ps(u + xi * 16);
#pragma GCC unroll 8
      for (int q = 0; q < UT; ++q) {
        const float* vq = v + at[q] + off;
#pragma GCC unroll 6
        for (int xi = 0; xi < A; ++xi) acc[q][xi] = _mm512_fmadd_ps(_mm512_set1_ps(vq[xi * TW]), w[xi], acc[q][xi]);
      }
    }
  }
  const __m512 b = _mm512_loadu_ps(bias);
#pragma GCC unroll 8
  for (int q = 0; q < UT; ++q) {
    __m512 pair[2];
    apply(T::AT, acc[q], pair);
    _mm512_storeu_ps(out[q], _mm512_add_ps(pair[0], b));
    if (second[q]) _mm512_storeu_ps(out[q] + 16, _mm512_add_ps(pair[1], b));
  }
}

// U = G w per (group, c, i), in float64: u[((gi * Cg + c) * kh + i) * A * 16 + xi * 16 + k].
template <int R>
std::vector<float> row_weight_transform(const float* pw, const Dims& d) {
  using T = Transform<R>;
  constexpr int A = T::A;
  std::vector<float> u(d.groups * d.Cg * d.kh * A * 16, 0.0f);
  for (int64_t gi = 0; gi < d.groups; ++gi)
    for (int64_t k = 0; k < d.Kg; ++k)
      for (int64_t c = 0; c < d.Cg; ++c)
        for (int64_t i = 0; i < d.kh; ++i) {
          const float* wr = pw + (((gi * d.Kg + k) * d.Cg + c) * d.kh + i) * R;
          for (int xi = 0; xi < A; ++xi) {
            double sum = 0;
            for (int j = 0; j < R; ++j) sum += static_cast<double>(T::G[xi][j]) * wr[j];
            u[(((gi * d.Cg + c) * d.kh + i) * A + xi) * 16 + k] = static_cast<float>(sum);
          }
        }
  return u;
}

// One item's outputs, position by position (16 channels each) into t, from its (padded) input.
template <int R>
void winograd_rows_item(const float* xg, int64_t xs, int64_t ws, int64_t hp, const float* u, const float* bias,
                        const Dims& d, float* t) {
  constexpr int A = Transform<R>::A, UT = R == 3 ? kRowTiles3 : kRowTiles5;
  const int64_t TW = ceil_div(d.Wo, 2), tiles = d.Ho * TW;
  float* v = scratch(2, d.Cg * hp * A * TW);
  row_input_transform<R>(xg, xs, ws, d.Cg, hp, TW, v);
  alignas(64) float spare[16];  // where the repeats of the last tile in the last group write
  for (int64_t t0 = 0; t0 < tiles; t0 += UT) {
    int64_t at[UT];
    float* out[UT];
    bool second[UT];
    for (int q = 0; q < UT; ++q) {
      const bool past = t0 + q >= tiles;  // a repeat of the last tile, its sums thrown away
      const int64_t tile = past ? tiles - 1 : t0 + q, oh = tile / TW, tb = tile % TW;
      at[q] = oh * A * TW + tb;
      out[q] = past ? spare : t + (oh * d.Wo + 2 * tb) * 16;
      second[q] = !past && 2 * tb + 1 < d.Wo;
    }
    row_tiles<R, UT>(v, at, TW, hp, u, d.Cg, d.kh, bias, out, second);
  }
}

// One image plane (H x W) into an hp x wp plane with pad_top rows and pad_left columns of zeros
// before it and zeros after (the direct kernels read no bounds; a negative pad crops instead).
// The plane is zeroed whole, then its image rows copied in: with short rows, a fill, a copy and a
// fill per row cost more in calls than in bytes. LeNet's backward-data (dy padded by 4: 10x10 ->
// 18x18 for c3, 24x24 -> 32x32 for c1), 2 threads, both ways alternated in one process (a
// throwaway switch, /tmp loops): c3 0.90-0.97x the time, c1 0.89x; the padded forwards of
// ResNet's stem at batch 1, 5x5/2 3 -> 96, 3x3/2 64 -> 128 on 28x28 and 3x3 64 -> 64 on 10x10,
// and AlexNet c2's backward-data 0.96-1.03x.
void copy_padded_plane(const float* in, const Dims& d, const Conv2dGeometry& g, int64_t hp, int64_t wp, float* out) {
  const int64_t lo = std::clamp<int64_t>(g.pad_left, 0, wp), hi = std::clamp<int64_t>(g.pad_left + d.W, lo, wp);
  const int64_t top = std::clamp<int64_t>(g.pad_top, 0, hp), bottom = std::clamp<int64_t>(g.pad_top + d.H, top, hp);
  std::memset(out, 0, sizeof(float) * hp * wp);
  for (int64_t r = top; r < bottom; ++r) {
    std::memcpy(out + r * wp + lo, in + (r - g.pad_top) * d.W + (lo - g.pad_left), sizeof(float) * (hi - lo));
  }
}

// `planes` consecutive planes as copy_padded_plane does one, in parallel.
void copy_padded(const float* src, int64_t planes, const Dims& d, const Conv2dGeometry& g, int64_t hp, int64_t wp,
                 float* dst) {
  const int64_t xs = hp * wp;
  parallel_for(planes, std::max<int64_t>(1, 16384 / xs), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) copy_padded_plane(src + p * d.hw, d, g, hp, wp, dst + p * xs);
  });
}

bool direct_forward_applies(const Dims& d) {
  // Measured on Zen 5, 64 images, 1 thread: LeNet c3 (16 channels) 0.45 -> 0.15 ms, LeNet c1
  // (6 channels, 6 of 16 lanes used) 0.30 -> 0.25 ms against im2col + GEMM.
  return kernels() && d.Kg >= 4 && d.Kg <= 16 && d.ckk <= 1024 && d.Wo >= 4;
}

void direct_forward(const float* px, const float* pw, const float* pb, const Dims& d, const Conv2dGeometry& g,
                    float* py) {
  const DirectKernels& k = *kernels();
  const bool rows = winograd_rows_applies(d, g);
  // Transposed weights wt[gi][r][k] (or Winograd's U) and biases, zero past Kg.
  std::vector<float> wt, bias(d.groups * 16, 0.0f);
  if (rows) {
    wt = d.kw == 3 ? row_weight_transform<3>(pw, d) : row_weight_transform<5>(pw, d);
  } else {
    wt.assign(d.groups * d.ckk * 16, 0.0f);
    for (int64_t gi = 0; gi < d.groups; ++gi)
      for (int64_t k = 0; k < d.Kg; ++k)
        for (int64_t r = 0; r < d.ckk; ++r) wt[(gi * d.ckk + r) * 16 + k] = pw[(gi * d.Kg + k) * d.ckk + r];
  }
  for (int64_t gi = 0; gi < d.groups; ++gi)
    for (int64_t k = 0; k < d.Kg && pb; ++k) bias[gi * 16 + k] = pb[gi * d.Kg + k];
  // The input region the outputs read: rows [-pad_top, -pad_top + hp), columns likewise (for
  // Winograd's pairs, one more column when Wo is odd).
  const int64_t hp = (d.Ho - 1) * g.stride_h + (d.kh - 1) * g.dilation_h + 1;
  const int64_t wp = rows ? 2 * ceil_div(d.Wo, 2) + d.kw - 1 : (d.Wo - 1) * g.stride_w + (d.kw - 1) * g.dilation_w + 1;
  const bool padded = g.pad_top != 0 || g.pad_left != 0 || hp > d.H || wp > d.W;
  const int64_t xs = padded ? hp * wp : d.hw, ws = padded ? wp : d.W;
  std::vector<int64_t> tap(rows ? 0 : d.ckk);  // the direct tiles' (Winograd's read rows whole)
  for (int64_t c = 0; c < d.Cg && !rows; ++c)
    for (int64_t i = 0; i < d.kh; ++i)
      for (int64_t j = 0; j < d.kw; ++j) tap[(c * d.kh + i) * d.kw + j] = c * xs + i * g.dilation_h * ws + j * g.dilation_w;

  parallel_for(d.N * d.groups, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t n = item / d.groups, gi = item % d.groups;
      const float* xg = px + (n * d.C + gi * d.Cg) * d.hw;
      if (padded) {
        float* buf = scratch(0, d.Cg * xs);
        copy_padded(xg, d.Cg, d, g, hp, wp, buf);  // inline: nested
        xg = buf;
      }
      DirectArgs a;
      a.xs = xs, a.ws = ws, a.wt = wt.data() + gi * d.ckk * 16, a.tap = tap.data(), a.ckk = d.ckk;
      a.sw = g.stride_w, a.bias = bias.data() + gi * 16;
      // The image's outputs position by position first (whole vectors), then turned into
      // channel planes 16 positions at a time, instead of each tile storing its transposed
      // outputs one float at a time (LeNet c3 forward, 2 threads: 0.082 -> 0.075 ms).
      float* t = scratch(1, d.hw_out * 16);
      if (rows) {
        const float* u = wt.data() + gi * d.Cg * d.kh * (d.kw + 1) * 16;
        if (d.kw == 3) winograd_rows_item<3>(xg, xs, ws, hp, u, a.bias, d, t);
        else winograd_rows_item<5>(xg, xs, ws, hp, u, a.bias, d, t);
      } else {
        for (int64_t oh = 0; oh < d.Ho; ++oh) {
          for (int64_t ow0 = 0; ow0 < d.Wo; ow0 += k.direct_positions) {
            const int64_t uw = std::min<int64_t>(k.direct_positions, d.Wo - ow0);
            a.x = xg + oh * g.stride_h * ws + ow0 * g.stride_w;
            a.y = t + (oh * d.Wo + ow0) * 16;
            k.direct_tile(d, g, uw)(a);
          }
        }
      }
      k.positions_to_planes(t, 16, d.hw_out, static_cast<int>(d.Kg), py + (n * d.K + gi * d.Kg) * d.hw_out, d.hw_out);
    }
  });
}


// ---- Direct convolution for more output channels (stride 1, 2 or 4 along rows) ----
// (AVX-512 below; AVX2 runs the same driver with blocks of 16 channels by 6 positions, the
// GEMM's AVX2 tile, where direct32_applies says.)
// AlexNet's 3x3 layers on 13x13 and the dilated 64->64 layers as im2col + GEMM spent a third
// of their time around the GEMM's micro-kernel (im2col, packing both operands, edge tiles).
// Here the micro-kernel reads the image itself: a tile is 32 output channels (two vectors,
// the weights transposed to [tap][32] once per call) by UW <= 14 positions of one output row
// (the positions' inputs are UW floats of one input row, 1, 2 or 4 apart, broadcast); per tap 2
// vector loads, UW broadcasts and 2*UW FMAs, the GEMM kernel's 14 x 32 shape. At strides 2 and 4
// it also beat im2col + GEMM and space to depth (2 threads, `node dist/bench/conv-strided.js`:
// 3x3/2 64 -> 128 on 56x56 2.84 -> 2.20 ms, 5x5/2 3 -> 96 on 64x64 1.47 -> 1.26, 8x8/4 3 -> 64
// on 128x128 0.58 -> 0.48). Where
// blocks of 32 would leave one of 16 (AlexNet c2's backward-data: 48 channels a group), blocks
// of 48 instead: three vectors by UW <= 9 positions. Every output is one FMA chain over the
// ckk taps in order (c, i, j), then + bias; threads split (image, group, channel block) items,
// so the bits do not depend on the thread count. Padded images are first copied, a chunk at a
// time, into zero-bordered planes.

bool direct32_applies(const Dims& d, const Conv2dGeometry& g, bool gathered) {
  // Wo >= 4, where a row's tile has 4 to 14 positions of 2 or 3 vectors: 8 or more independent
  // FMA chains. Against im2col + GEMM (2 threads, Zen 5, `node dist/bench/conv_ab.js` with a
  // throwaway switch of the least width, 12 before): ResNet-50's 512 -> 512 on 7x7 at batch 1
  // 1.18 -> 0.72 ms, GoogLeNet's 5x5 48 -> 128 on 7x7 0.126 -> 0.050, Inception v3's 448 -> 384
  // on 8x8 0.91 -> 0.59 ("small"); 3x3/2 256 -> 512 on 14x14 3.15 -> 2.37 (Wo 7), the tiled
  // convolution's 5x5/2 16 -> 64 on 22x22 (Wo 9) 1.34 -> 0.67 ("5x5/2 16>64"); the same at
  // batch 8 to 16 ("small alex", "small 64>64"). Backward-data's gathered weights
  // (`gathered`) still take Wo >= 12: at batch 1 gathering them for a few positions cost more
  // than the GEMM path's packing (ResNet-50's 7x7 1.33 ms against 0.98, GoogLeNet's 0.28 against
  // 0.085), at batch 8 the same time. Zen 4, where 512-bit FMAs are halved, had measured Wo >= 4
  // before: ResNet-18's 3x3/2 forwards at batch 32 (`... resnet`), 256 -> 512 on 8x8 7.75 ->
  // 5.96 ms, 128 -> 256 on 16x16 7.20 -> 6.28.
  const int64_t least = gathered && !avx512_fma_halved() ? 12 : 4;
  const DirectKernels* k = kernels();
  if (!k) return false;
  // AVX2's tiles (16 channels by 6 positions) reread a tile's weights, ckk x 64 bytes, and the
  // strided rows of x from L2 for every 12 FMAs. At strides 2 and 4 they beat im2col + GEMM
  // only where the weights are few (2 threads, Zen 3, `node dist/bench/conv_ab.js` with a
  // throwaway switch, interleaved; the machine noisy, up to 15% between runs): 7x7/2 16 -> 32
  // on 112x112 (784 taps) 0.65x the time, the tiled convolution's 5x5/2 16 -> 64 (400) 0.62x,
  // 8x8/4 3 -> 64 (192) 0.63x, 4x4/2 32 -> 64 (512) 0.75x, ResNet-18's 64 -> 128 3x3/2 on 32x32
  // (576) 0.82-0.85x; but 3x3/2 64 -> 128 on 56x56 (576) 1.08-1.16x, 256 -> 512 on 14x14 (2304)
  // 1.20-1.34x, on 8x8 1.01-1.06x. At stride 1 (Inception v3's 1x3 and 1x7) 0.76-0.90x, nowhere
  // slower then; but see phases_apply (conv2d.cc) for the phases of strided backward-data. Space to depth + Winograd keeps the
  // strided problems it takes on AVX2 (conv2d.cc).
  //
  // Nor, with under 16 taps a channel, where an image's x (a group's channels) outgrows ~320 KiB
  // of L2: the rereads then come from L3 (36 FMAs per float of x at 3x3/2). 3x3/2 forwards,
  // im2col + GEMM's time over the direct kernel's (session 33, two runs of `... --direction
  // forward down3 resnet 3x3/2`): 64 -> 128 on 56x56 (800 KiB of x) 0.69-0.76x, 32 -> 64 on
  // 112x112 (1.6 MiB) 0.39-0.48x, 80 -> 160 on 56x56 0.63-0.71x; 64 -> 128 on 40x40 (400 KiB)
  // 0.94-1.00x, 32 -> 64 on 56x56 (400 KiB) 0.80-1.07x; but on 28x28 (200 KiB) and ResNet-18's
  // 32x32 (256 KiB) 1.14-1.18x, the direct kernel ahead.
  if (k == &avx2::kKernels && g.stride_w != 1) {
    if (d.ckk > 800) return false;
    if (d.kh * d.kw < 16 && d.Cg * d.H * d.W * static_cast<int64_t>(sizeof(float)) > (320 << 10)) return false;
  }
  return d.Kg > 16 && (g.stride_w == 1 || g.stride_w == 2 || g.stride_w == 4) &&
         d.Wo >= least && d.kh * d.kw > 1 && d.N > 0;
}

// The input of the direct kernels that read whole rows (stride_w 1): the region the outputs
// read, rows [-pad_top, -pad_top + hp) and columns [-pad_left, -pad_left + wp) of each plane;
// x itself when that needs no padding, else zero-bordered copies of ~8 MiB of images at a time.
struct PaddedInput {
  int64_t hp, wp;  // the region's rows and columns
  int64_t xs, ws;  // floats per plane and per row of what the kernels read
  bool padded;

  const float* ready = nullptr;  // the region's first float in a PaddedSource's planes

  PaddedInput(const Dims& d, const Conv2dGeometry& g, const PaddedSource* source = nullptr)
      : hp((d.Ho - 1) * g.stride_h + (d.kh - 1) * g.dilation_h + 1),
        wp((d.Wo - 1) * g.stride_w + (d.kw - 1) * g.dilation_w + 1),
        padded(g.pad_top != 0 || g.pad_left != 0 || hp > d.H || wp > d.W) {
    xs = padded ? hp * wp : d.hw;
    ws = padded ? wp : d.W;
    if (padded && source && source->top >= g.pad_top && source->left >= g.pad_left &&
        source->top - g.pad_top + hp <= source->hp && source->left - g.pad_left + wp <= source->wp) {
      xs = source->hp * source->wp, ws = source->wp;
      ready = source->data + (source->top - g.pad_top) * ws + (source->left - g.pad_left);
    }
  }

  // tap[(c * kh + i) * kw + j]: where tap (c, i, j) of an output position reads, from the
  // position's first input (channel 0, top left).
  std::vector<int64_t> taps(const Dims& d, const Conv2dGeometry& g) const {
    std::vector<int64_t> tap(d.ckk);
    for (int64_t c = 0; c < d.Cg; ++c)
      for (int64_t i = 0; i < d.kh; ++i)
        for (int64_t j = 0; j < d.kw; ++j) tap[(c * d.kh + i) * d.kw + j] = c * xs + i * g.dilation_h * ws + j * g.dilation_w;
    return tap;
  }

  // Calls fn(n0, images, input) for consecutive chunks of images; input points at image n0's
  // first plane, images C * xs floats apart.
  template <typename Fn>
  void for_chunks(const float* px, const Dims& d, const Conv2dGeometry& g, Fn fn) const {
    if (ready) return fn(0, d.N, ready);
    const int64_t nb = padded ? std::clamp<int64_t>((int64_t{2} << 20) / std::max<int64_t>(d.C * xs, 1), 1, d.N) : d.N;
    float* buf = padded ? scratch(0, nb * d.C * xs) : nullptr;
    for (int64_t n0 = 0; n0 < d.N; n0 += nb) {
      const int64_t images = std::min(nb, d.N - n0);
      const float* input = px + n0 * d.C * d.hw;
      if (padded) {
        copy_padded(input, images * d.C, d, g, hp, wp, buf);
        input = buf;
      }
      fn(n0, images, input);
    }
  }
};

// Along one axis (out outputs, k taps, an input of n): output o's taps [lo[o], hi[o]) read the
// input, the others the padding (lo = hi = 0 where none does).
void taps_inside(int64_t out, int64_t k, int64_t stride, int64_t dilation, int64_t pad, int64_t n,
                 std::vector<int64_t>& lo, std::vector<int64_t>& hi) {
  lo.assign(out, 0), hi.assign(out, 0);
  for (int64_t o = 0; o < out; ++o) {
    int64_t first = k, end = 0;
    for (int64_t t = 0; t < k; ++t) {
      const int64_t at = o * stride + t * dilation - pad;
      if (at >= 0 && at < n) first = std::min(first, t), end = t + 1;
    }
    if (first < end) lo[o] = first, hi[o] = end;
  }
}

// y = conv(x, w) + b by the tiles above. The weight of output channel k of group gi at tap
// r < ckk is pw[gi * group_stride + k * k_stride + offset[r]]: the forward's w itself, or
// backward-data's flipped transpose of it.

void direct32(const float* px, const float* pw, int64_t group_stride, int64_t k_stride, const std::vector<int64_t>& offset,
              const float* pb, const Dims& d, const Conv2dGeometry& g, float* py, const prepared::Source* weights,
              const PaddedSource* source) {
  // AlexNet c2's backward-data, 2 threads: 8.3 ms in blocks of 32 + 16, 8.0 ms in blocks of 48.
  const DirectKernels& k = *kernels();
  // AVX2: blocks of 16 (its tile's one Vec).
  const int64_t bw = k.direct32_widest == 1 ? 16 : d.Kg % 32 != 0 && d.Kg % 48 == 0 ? 48 : 32;
  const int64_t blocks = ceil_div(d.Kg, bw), items = d.groups * blocks;
  bool identity = true;  // offset[r] == r: the rows of w are the blocks' rows as they are
  for (int64_t r = 0; r < d.ckk; ++r) identity = identity && offset[r] == r;
  // Per (group, block): [ckk][bw] weights, then bw biases; kept between calls where the weights
  // are the op's own (the forward's, in order) and unchanged (Note [prepared weights]).
  const int64_t wt_floats = items * (d.ckk + 1) * bw;
  const std::vector<int64_t> recipe{1, d.groups, d.Kg, d.ckk, bw, group_stride, k_stride, pb != nullptr};
  const prepared::Layout layout = prepared::get(identity ? weights : nullptr, recipe, wt_floats, scratch(1, wt_floats), [&](float* wt) {
    parallel_for(items, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t item = i0; item < i1; ++item) {
        const int64_t gi = item / blocks, k0 = (item % blocks) * bw, kg = std::min(bw, d.Kg - k0);
        float* dst = wt + item * (d.ckk + 1) * bw;
        const float* base = pw + gi * group_stride + k0 * k_stride;
        // The forward's w, rows [kg][ckk], transposed 16 x 16 at a time: element by element, this
        // took 5% of AlexNet c3's forward. Backward-data's flipped transpose is gathered tap by
        // tap straight into [ckk][bw]: a tap's kg weights lie k_stride (kh * kw) floats apart, a
        // few cache lines that the kernel's next taps read again. Gathered the other way round
        // (a channel's ckk taps, each a cache line of its own) into rows to transpose, it cost
        // more than the convolution at batch 1 (ResNet-50's 512 -> 512 on 7x7: 2.5 ms against
        // im2col + GEMM's 1.2).
        if (identity) {
          k.transpose_block(base, k_stride, kg, bw, d.ckk, dst);
        } else {
          for (int64_t r = 0; r < d.ckk; ++r) {
            float* row = dst + r * bw;
            const float* tap = base + offset[r];
            for (int64_t l = 0; l < kg; ++l) row[l] = tap[l * k_stride];
            std::fill(row + kg, row + bw, 0.0f);
          }
        }
        for (int64_t l = 0; l < bw; ++l) dst[d.ckk * bw + l] = pb && l < kg ? pb[gi * d.Kg + k0 + l] : 0.0f;
      }
    });
  });
  const float* wt = layout.data;
  const PaddedInput in(d, g, source);
  const std::vector<int64_t> tap = in.taps(d, g);
  // Output row oh's kernel rows [row_lo[oh], row_hi[oh]) read x; the others read the padding's
  // zeros, and the row's tiles leave them out (oneDNN does too): 1/24 of the multiplies of
  // ResNet's 3x3/2 layers on 16x16 inputs, 1/12 on 8x8. The products left out are zeros, so the
  // sums are the same but where a weight is infinite or NaN (0 * inf is NaN; PyTorch's CPU
  // convolution leaves those taps out too) or a sum of zeros' sign.
  std::vector<int64_t> row_lo, row_hi;
  taps_inside(d.Ho, d.kh, g.stride_h, g.dilation_h, g.pad_top, d.H, row_lo, row_hi);
  // The same along the row: output columns [0, left) and [right, Wo) leave out kernel columns
  // (the padding's). A row's tile cannot (its other positions need them), so those columns go
  // through tiles of their own, down the column, that take only their kernel columns.
  std::vector<int64_t> col_lo, col_hi;
  taps_inside(d.Wo, d.kw, g.stride_w, g.dilation_w, g.pad_left, d.W, col_lo, col_hi);
  int64_t left = 0, right = d.Wo;
  while (left < d.Wo && col_hi[left] - col_lo[left] < d.kw) ++left;
  while (right > left && col_hi[right - 1] - col_lo[right - 1] < d.kw) --right;
  // Only where that leaves out 1/32 of the row's taps or more, in rows of 7 or more positions
  // (ResNet's 3x3/2 layers at batch 32, 1 and 2 threads, `node dist/bench/conv_ab.js` with a
  // throwaway switch ... resnet): 128 -> 256 on 16x16 (1/24 left out, rows of 7) 0.92-0.93x the
  // time; 64 -> 128 on 32x32 (1/48) 1.01-1.04x; 256 -> 512 on 8x8 (rows of 3: too few sums in
  // flight) 1.17x.
  int64_t left_out = 0;
  for (int64_t ow = 0; ow < d.Wo; ++ow) left_out += d.kw - (col_hi[ow] - col_lo[ow]);
  if (right - left < 7 || 32 * left_out < d.Wo * d.kw) left = 0, right = d.Wo;
  // Note [weights in L1]. A tile reads its block's weights for every tap, ckk x bw floats: 46
  // KiB for AlexNet's c1 (363 taps x 32 channels), 295 KiB for a 3x3 layer over 256 channels,
  // more than the L1 (32-48 KiB) holds beside x, so every tile read them again from L2. The
  // band's tiles therefore run over a part of the input channels at a time, at most 16 KiB of
  // weights, and store their sums to resume from with the next part's taps: the same FMA chain
  // per output (the stored and reloaded sums are the same bits), with the weights read from L1.
  // Forward, 2 threads, Intel model 207 (AVX-512), `node dist/bench/conv_ab.js` with a
  // throwaway switch, interleaved, ours with parts over without: AlexNet's c1 0.96x the time,
  // 3x3/2 64 -> 128 on 56x56 0.78x, 256 -> 512 on 14x14 0.88x, 5x5/2 32 -> 64 0.90x, 7x7/2 16
  // -> 32 0.87x, ResNet-18's 3x3/2 layers 0.94-0.95x, elsewhere within the noise (0.92-1.07x).
  // 8 KiB parts measured the same as 16, 32 KiB slightly slower; running a row's tiles over
  // every part before the next row (the sums stay in L1, the weights are reread per row) lost
  // against the band (1.03-1.25x).
  const int64_t part_bytes = int64_t{16} << 10, channel_bytes = d.kh * d.kw * bw * static_cast<int64_t>(sizeof(float));
  const int64_t part = d.Cg * channel_bytes > part_bytes ? std::max<int64_t>(1, part_bytes / channel_bytes) : d.Cg;
  in.for_chunks(px, d, g, [&](int64_t n0, int64_t images, const float* xsrc) {
    // Few (image, group, block) items (a batch of one): bands of output rows too, so that every
    // thread has work. Which thread computes an output changes nothing in it. And large maps in
    // bands whose sums (t below, stored and reloaded for each part of the channels) take at most
    // 256 KiB, so that they stay in L2 beside the image's x: ResNet's 7x7/2 stem on 224x224 (1.6
    // MB of sums a block) 0.93x the time at 1 thread, 0.94x at 2 (Intel model 207, `node
    // dist/bench/conv_ab.js` with a throwaway switch, 20 rounds); AlexNet's c1 (387 KB) and 7x7/2
    // 16 -> 32 on 112x112 (401 KB) the same time.
    const int64_t sums_bytes = d.hw_out * bw * static_cast<int64_t>(sizeof(float));
    const int64_t bands = std::clamp<int64_t>(std::max(ceil_div(4 * num_threads(), images * items), ceil_div(sums_bytes, int64_t{256} << 10)), 1, d.Ho);
    const int64_t band_rows = ceil_div(d.Ho, bands);
    parallel_for(images * items * bands, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t ib = i0; ib < i1; ++ib) {
        const int64_t it = ib / bands, oh0 = (ib % bands) * band_rows, oh1 = std::min(d.Ho, oh0 + band_rows);
        if (oh1 <= oh0) continue;  // bands of ceil(Ho / bands) rows: the last ones may be empty
        const int64_t j = it / items, item = it % items, gi = item / blocks, k0 = (item % blocks) * bw;
        Direct32Args a;
        a.wt = wt + item * (d.ckk + 1) * bw, a.bw = bw, a.bias = a.wt + d.ckk * bw, a.tap = tap.data();
        const int kg = static_cast<int>(std::min(bw, d.Kg - k0));
        const float* xg = xsrc + (j * d.C + gi * d.Cg) * in.xs;
        float* yg = py + ((n0 + j) * d.K + gi * d.Kg + k0) * d.hw_out;
        // The band's outputs position by position first (whole vectors), then into the channel
        // planes by 16x16 register transposes (positions_to_planes), instead of each tile
        // storing its transposed outputs one float at a time.
        float* t = scratch(2, (oh1 - oh0) * d.Wo * bw);
        const int vectors = (kg + 15) / 16;
        const Direct32Fn* table = k.direct32_rows(static_cast<int>(g.stride_w), vectors);
        // The edge columns, each down the band in tiles of up to `most` positions, with every
        // kernel row (those in the padding read its zeros) and the column's kernel columns: run
        // (c, i) is taps (c, i, col_lo .. col_hi - 1).
        const int64_t most = k.direct32_positions(vectors);
        const int64_t pieces = ceil_div(oh1 - oh0, most), height = ceil_div(oh1 - oh0, pieces);
        // The row in tiles of (nearly) equal width: 27 = 9 + 9 + 9 at V = 3.
        const int64_t tiles = ceil_div(right - left, most), width = ceil_div(right - left, tiles);
        const float* bias = a.bias;
        const int64_t kk = d.kh * d.kw;
        a.step = g.stride_h * in.ws;
        // The band once for each part of the input channels (Note [weights in L1]).
        for (int64_t c0 = 0; c0 < d.Cg; c0 += part) {
          const int64_t c1 = std::min(d.Cg, c0 + part);
          a.resume = c0 > 0, a.bias = c1 == d.Cg ? bias : nullptr;
          a.y_step = d.Wo * bw;
          for (int64_t ow = 0; ow < d.Wo; ++ow) {
            if (ow == left) ow = right;
            if (ow >= d.Wo) break;
            a.runs = (c1 - c0) * d.kh, a.run_len = col_hi[ow] - col_lo[ow], a.run_step = d.kw;
            a.first = c0 * kk + col_lo[ow];
            for (int64_t r0 = oh0; r0 < oh1; r0 += height) {
              const int64_t uh = std::min(height, oh1 - r0);
              a.x = xg + r0 * g.stride_h * in.ws + ow * g.stride_w;
              a.y = t + ((r0 - oh0) * d.Wo + ow) * bw;
              k.direct32_rows(0, vectors)[uh - 1](a);
            }
          }
          a.y_step = bw;
          for (int64_t oh = oh0; oh < oh1; ++oh) {
            if (row_hi[oh] - row_lo[oh] == d.kh) {
              a.runs = 1, a.run_len = (c1 - c0) * kk, a.run_step = 0, a.first = c0 * kk;
            } else {
              a.runs = c1 - c0, a.run_len = (row_hi[oh] - row_lo[oh]) * d.kw, a.run_step = kk;
              a.first = c0 * kk + row_lo[oh] * d.kw;
            }
            for (int64_t ow0 = left; ow0 < right; ow0 += width) {
              const int64_t uw = std::min(width, right - ow0);
              a.x = xg + oh * g.stride_h * in.ws + ow0 * g.stride_w;
              a.y = t + ((oh - oh0) * d.Wo + ow0) * bw;
              table[uw - 1](a);
            }
          }
        }
        k.positions_to_planes(t, bw, (oh1 - oh0) * d.Wo, kg, yg + oh0 * d.Wo, d.hw_out);
      }
    });
  });
}


bool narrow_applies(const Dims& d, const Conv2dGeometry& g) {
  // Wo >= 10: at least 10 of a vector's 16 lanes used.
  const DirectKernels* k = kernels();
  return k && d.Kg <= k->narrow_channels && g.stride_w == 1 && d.Wo >= 10 && d.N > 0;
}

// y = conv(x, w) + b by the tiles above; the weights as direct32's (w itself, or backward-data's
// flipped transpose of it).

void direct_narrow(const float* px, const float* pw, int64_t group_stride, int64_t k_stride,
                   const std::vector<int64_t>& offset, const float* pb, const Dims& d, const Conv2dGeometry& g,
                   float* py) {
  const DirectKernels& k = *kernels();
  const int64_t kg = d.Kg;
  std::vector<float> wt(d.groups * d.ckk * kg), bias(d.groups * kg, 0.0f);
  for (int64_t gi = 0; gi < d.groups; ++gi) {
    for (int64_t r = 0; r < d.ckk; ++r)
      for (int64_t c = 0; c < kg; ++c) wt[(gi * d.ckk + r) * kg + c] = pw[gi * group_stride + c * k_stride + offset[r]];
    if (pb)
      for (int64_t c = 0; c < kg; ++c) bias[gi * kg + c] = pb[gi * kg + c];
  }
  const PaddedInput in(d, g);
  const std::vector<int64_t> tap = in.taps(d, g);
  const int64_t R = k.narrow_rows(static_cast<int>(kg)), row_blocks = ceil_div(d.Ho, R);
  // Each row block's kernel rows [first, first + count) of those that read x (rows between
  // them that do not are kept: they add zeros).
  std::vector<int64_t> row_lo, row_hi;
  taps_inside(d.Ho, d.kh, g.stride_h, g.dilation_h, g.pad_top, d.H, row_lo, row_hi);
  std::vector<int64_t> first(row_blocks, 0), count(row_blocks, 0);
  for (int64_t rb = 0; rb < row_blocks; ++rb) {
    int64_t lo = d.kh, hi = 0;
    for (int64_t oh = rb * R; oh < std::min(d.Ho, (rb + 1) * R); ++oh)
      if (row_lo[oh] < row_hi[oh]) lo = std::min(lo, row_lo[oh]), hi = std::max(hi, row_hi[oh]);
    if (lo < hi) first[rb] = lo * d.kw, count[rb] = (hi - lo) * d.kw;
  }
  // Row block rb of image n's group gi, from xg, the (padded) image's group planes, readable
  // up to `end`.
  const auto run_block = [&](const float* xg, const float* end, int64_t n, int64_t gi, int64_t rb) {
    const int64_t oh0 = rb * R, rows = std::min(R, d.Ho - oh0);
    const NarrowFn kernel = k.narrow_kernel(kg, rows);
    NarrowArgs a;
    a.wt = wt.data() + gi * d.ckk * kg, a.tap = tap.data(), a.row_step = g.stride_h * in.ws;
    a.channels = d.Cg, a.per_channel = d.kh * d.kw, a.first = first[rb], a.count = count[rb];
    a.bias = bias.data() + gi * kg, a.ys = d.hw_out, a.yw = d.Wo;
    const float* xr = xg + oh0 * g.stride_h * in.ws;
    float* yg = py + (n * d.K + gi * kg) * d.hw_out + oh0 * d.Wo;
    for (int64_t ow0 = 0; ow0 < d.Wo; ow0 += 16) {
      const int64_t cols = std::min<int64_t>(16, d.Wo - ow0);
      a.cols = static_cast<__mmask16>(cols == 16 ? 0xFFFF : (1u << cols) - 1);
      a.x = xr + ow0, a.y = yg + ow0;
      // The tile's last load (the taps' offsets grow with the tap) ends within `end`.
      a.plain = !tap.empty() && a.x + tap.back() + (rows - 1) * a.row_step + 16 <= end;
      kernel(a);
    }
  };
  // Padded and many (image, group) pairs (LeNet's c3 backward-data: 64): each pair is one task
  // that pads its planes into the thread's own buffer, which stays in cache for its rows, instead
  // of a chunk-wide copy first (another pass over memory, and a wait for the slower thread).
  // (LeNet c3 backward-data, 2 threads: 176-184 -> 172-178 us, old and new builds alternated.)
  if (in.padded && d.N * d.groups >= 4 * num_threads()) {
    parallel_for(d.N * d.groups, 1, [&](int64_t i0, int64_t i1) {
      float* buf = scratch(0, d.Cg * in.xs);
      for (int64_t it = i0; it < i1; ++it) {
        const int64_t n = it / d.groups, gi = it % d.groups;
        copy_padded(px + (n * d.C + gi * d.Cg) * d.hw, d.Cg, d, g, in.hp, in.wp, buf);  // inline: nested
        for (int64_t rb = 0; rb < row_blocks; ++rb) run_block(buf, buf + d.Cg * in.xs, n, gi, rb);
      }
    });
    return;
  }
  // A call under 2 MFLOP (LeNet-5's at batch 1: 0.24 and 0.48, a few microseconds) stays on one
  // thread: waking a helper for half of it cost more than the half, and on a 2-core machine
  // where JavaScript's thread is busy, the woken helper preempted the worker or JavaScript.
  const bool one_thread = 2.0 * d.N * d.K * d.hw_out * d.ckk < 2e6;
  in.for_chunks(px, d, g, [&](int64_t n0, int64_t images, const float* xsrc) {
    const int64_t items = images * d.groups * row_blocks;
    parallel_for(items, one_thread ? items : 1, [&](int64_t i0, int64_t i1) {
      for (int64_t it = i0; it < i1; ++it) {
        const int64_t rb = it % row_blocks, j = it / row_blocks / d.groups, gi = it / row_blocks % d.groups;
        run_block(xsrc + (j * d.C + gi * d.Cg) * in.xs, xsrc + images * d.C * in.xs, n0 + j, gi, rb);
      }
    });
  });
}


// LeNet's c1 backward-filter (64 images, 6 channels, 5x5), FilterTile -> RowFilterTile: 120 ->
// 73-78 us at 2 threads, 235 -> 152 us at 1 (old and new builds alternated, a timing loop of
// conv2dBackward; PyTorch: 152 us at 2 threads, `npm run bench -- conv`).
// More output channels go along the rows too, in blocks, where each dy element meets few taps
// (Cg kh kw <= 80) and the rows fill two or more vectors: there dy's transposed copy costs more
// than the products it serves. ResNet's and VGG's first layer (3 -> 64, 3x3, 32x32, batch 32) at
// 1 thread: 2.38 -> 1.32 ms (PyTorch 1.63); 3 -> 64 on 56x56 1.60 -> 1.16; 8 -> 64 3x3 and
// 3 -> 64 5x5 on 32x32 0.78x and 0.91x the time. Not on 14x14 or 16x16 maps (1.37x, 1.10x), nor
// for 3 -> 64 7x7 (147 taps: 1.15x); not on AVX2, whose blocks are one channel (1.8-3.9x).
bool rows_filter_applies(const DirectKernels& k, const Dims& d, const Conv2dGeometry& g) {
  if (g.stride_w != 1 || !(d.kw == 3 || d.kw == 5 || d.kw == 7) || d.kw > k.row_filter_widest) return false;
  if (d.Kg <= 8) return true;
  return k.row_filter_channels(3) >= 8 && d.Cg * d.kh * d.kw <= 80 && d.Wo >= 32;
}

bool direct_filter_applies(const Dims& d, const Conv2dGeometry& g) {
  const DirectKernels* k = kernels();
  if (!k || d.Wo < 8 || d.N == 0) return false;
  if (rows_filter_applies(*k, d, g)) return true;
  // AVX2's blocks are 16 channels: where a last block would be mostly empty lanes, im2col + GEMM
  // (FCN's 4x4/2 21 -> 21 transposed convolution: 1.1 ms against 2.5 in blocks of 16 + 5).
  if (k->filter_vectors == 1 && d.Kg > 16 && d.Kg % 16 != 0) return false;
  return d.Kg >= 4 && (d.kw == 3 || d.kw == 4 || d.kw == 5 || d.kw == 7 || d.kw == 8 || d.kw == 11);
}

void direct_filter(const float* pdy, const float* px, const Dims& d, const Conv2dGeometry& g, float* pdw) {
  // Channel blocks of 32 (the last one may be 16 or fewer: one vector), or one block of 16
  // when Kg <= 16; tap rows split into tiles of R. Lanes along rows (RowFilterTile): blocks of
  // at most row_filter_channels(kw), as even as can be, and one tap row a tile.
  const DirectKernels& k = *kernels();
  const bool along_rows = rows_filter_applies(k, d, g);
  const int64_t row_blocks = ceil_div(d.Kg, k.row_filter_channels(static_cast<int>(d.kw)));
  const int64_t bw = along_rows ? ceil_div(d.Kg, row_blocks) : d.Kg > 16 && k.filter_vectors == 2 ? 32 : 16;
  const int64_t blocks = ceil_div(d.Kg, bw), rows = d.Cg * d.kh;
  // Kernels wider than the tiles take (AVX2: 7, 8, 11) in spans of columns, as even as can be
  // (11: 6 + 5), each with tiles of its own: span s sums dw's columns [s * span_w, + its width).
  const int64_t spans = along_rows ? 1 : ceil_div(d.kw, k.filter_widest), span_w = ceil_div(d.kw, spans);
  const int R = along_rows ? 1 : k.filter_rows(static_cast<int>(span_w), bw == 32 ? 2 : 1);
  const int64_t tiles = ceil_div(rows, R), items = d.groups * blocks * tiles * spans;
  // Few tiles (LeNet's layers): the sum over images is cut into `parts` fixed by the shape,
  // each its own FMA chain, added in order at the end (so threads have work to share).
  const int64_t per_part = ceil_div(d.N, std::clamp<int64_t>(ceil_div(8, items), 1, d.N));
  const int64_t parts = ceil_div(d.N, per_part);
  const int64_t hp = (d.Ho - 1) * g.stride_h + (d.kh - 1) * g.dilation_h + 1;
  const int64_t wp = (d.Wo - 1) * g.stride_w + (d.kw - 1) * g.dilation_w + 1;
  // Without padding, rows of x's own width (AlexNet's c1) are read in place: no copy.
  const bool in_place = g.pad_top == 0 && g.pad_left == 0 && wp == d.W && hp <= d.H;
  const int64_t xs = in_place ? d.hw : hp * wp, positions = d.hw_out;
  // Register chains of about 1024 positions (whole rows), added one by one into the running
  // sums: one chain over a whole large batch loses accuracy (9 x 230 x 230 positions: 2e-4).
  // Chunk and part boundaries fall on image boundaries and end a chain too: all fixed by the shape.
  const int64_t flush_rows = std::max<int64_t>(1, 1024 / d.Wo);
  // Images per chunk: the padded copy under ~8 MiB, and dy's transposed copy likewise. With
  // many items (tiles of tap rows), also a channel block's dy under 512 KiB, so that the
  // block's tiles, each a pass over it, find it in L2: the 56x56 64 -> 64 layers at dilation
  // 2 and 4 and AlexNet's c1 took 0.94-0.96x the time of 8 images a chunk (`node
  // dist/bench/conv_ab.js ...`, a build with the two settings). With few items the images are
  // the threads' work (parts, below) and stay in large chunks: one image a chunk made LeNet's
  // layers 1.8-3.4x slower. All fixed by the shapes, not the threads.
  const int64_t kpad = d.groups * blocks * bw;  // channels with each group's rounded up to whole blocks
  const int64_t dyt_floats = along_rows ? 0 : kpad * positions;  // along rows dy is read in place
  int64_t nb = std::clamp<int64_t>((int64_t{2} << 20) / std::max<int64_t>(std::max(d.C * xs, dyt_floats), 1), 1, d.N);
  if (items >= 16 && !along_rows) nb = std::clamp<int64_t>((int64_t{128} << 10) / (bw * positions), 1, nb);
  float* xbuf = in_place ? nullptr : scratch(0, nb * d.C * xs);
  float* dyt = along_rows ? nullptr : scratch(1, nb * kpad * positions);  // [group][block][image][position][bw]
  // Running sums [part][group][block][tile][R * KW][bw] (along rows: [item][bw][KW][16 lanes]);
  // added into dw at the end.
  const int64_t tile_floats = along_rows ? bw * d.kw * 16 : int64_t{R} * span_w * bw;
  float* sums = scratch(2, parts * items * tile_floats);
  std::fill(sums, sums + parts * items * tile_floats, 0.0f);
  std::vector<int64_t> row_off(rows);
  for (int64_t c = 0; c < d.Cg; ++c)
    for (int64_t i = 0; i < d.kh; ++i) row_off[c * d.kh + i] = c * xs + i * g.dilation_h * wp;
  for (int64_t n0 = 0; n0 < d.N; n0 += nb) {
    const int64_t images = std::min(nb, d.N - n0);
    const float* xsrc = in_place ? px + n0 * d.C * d.hw : xbuf;
    if (!in_place) copy_padded(px + n0 * d.C * d.hw, images * d.C, d, g, hp, wp, xbuf);
    // dyt[(gi * blocks + b) * images + j][q][l] = dy[n0 + j, gi * Kg + b * bw + l, q] (0 past Kg),
    // in pieces of 1024 positions: a chunk of one image has only `blocks` transposes (AlexNet's
    // c1: 3, so one of 2 threads did two while the other waited).
    constexpr int64_t piece = 1024;
    const int64_t pieces = ceil_div(positions, piece);
    parallel_for(along_rows ? 0 : d.groups * blocks * images * pieces, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t w = i0; w < i1; ++w) {
        const int64_t it = w / pieces, q0 = w % pieces * piece;
        const int64_t j = it % images, gb = it / images, gi = gb / blocks, k0 = (gb % blocks) * bw;
        k.transpose_block(pdy + ((n0 + j) * d.K + gi * d.Kg + k0) * positions + q0, positions, std::min(bw, d.Kg - k0), bw,
                        std::min(piece, positions - q0), dyt + (it * positions + q0) * bw);
      }
    });
    // The parts this chunk's images belong to: part p sums images [p * per_part, (p + 1) * per_part).
    const int64_t p_first = n0 / per_part, p_last = (n0 + images - 1) / per_part;
    parallel_for((p_last - p_first + 1) * items, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t w = i0; w < i1; ++w) {
        const int64_t part = p_first + w / items, it = w % items;
        const int64_t a0 = std::max(n0, part * per_part), a1 = std::min(n0 + images, (part + 1) * per_part);
        const int64_t span = it % spans, tile = it / spans % tiles, gb = it / spans / tiles;
        const int64_t gi = gb / blocks, k0 = (gb % blocks) * bw, r0 = tile * R, nr = std::min<int64_t>(R, rows - r0);
        const int64_t j0 = span * span_w, width = std::min(span_w, d.kw - j0);
        if (along_rows) {
          RowFilterArgs a;
          a.x = xsrc + ((a0 - n0) * d.C + gi * d.Cg) * xs + row_off[r0], a.image = d.C * xs;
          a.dy = pdy + (a0 * d.K + gi * d.Kg + k0) * positions, a.dy_image = d.K * positions, a.dy_plane = positions;
          a.images = a1 - a0, a.Ho = d.Ho, a.Wo = d.Wo, a.row_step = g.stride_h * wp, a.dil = g.dilation_w;
          a.flush_rows = flush_rows, a.acc = sums + (part * items + it) * tile_floats;
          k.row_filter_kernel(d.kw, std::min(bw, d.Kg - k0))(a);
          continue;
        }
        FilterArgs a;
        a.x = xsrc + ((a0 - n0) * d.C + gi * d.Cg) * xs + j0 * g.dilation_w, a.image = d.C * xs, a.images = a1 - a0;
        a.Ho = d.Ho, a.Wo = d.Wo, a.row_step = g.stride_h * wp, a.sw = g.stride_w, a.dil = g.dilation_w;
        a.row = row_off.data() + r0, a.bw = bw, a.flush_rows = flush_rows;
        a.dyt = dyt + (gb * images + (a0 - n0)) * positions * bw;
        a.acc = sums + (part * items + it) * tile_floats;
        k.filter_kernel(width, std::min(bw, d.Kg - k0) > 16 ? 2 : 1, nr)(a);
      }
    });
  }
  // dw[gi * Kg + k0 + l][(c * kh + i) * kw + j0 + j] = sum over parts, in order, of
  // sums[part][item][(rr * width + j) * V * 16 + l], V the tile's vectors, j0 and width its
  // span's; along rows, of the 16 lanes of sums[part][item][(l * kw + j) * 16 + lane], in order.
  parallel_for(items, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t it = i0; it < i1; ++it) {
      if (along_rows) {
        const int64_t gb = it / tiles, gi = gb / blocks, k0 = (gb % blocks) * bw, r0 = it % tiles;
        for (int64_t l = 0; l < std::min(bw, d.Kg - k0); ++l)
          for (int64_t j = 0; j < d.kw; ++j) {
            float v = 0.0f;
            for (int64_t part = 0; part < parts; ++part) {
              const float* lane = sums + (part * items + it) * tile_floats + (l * d.kw + j) * 16;
              for (int q = 0; q < 16; ++q) v += lane[q];
            }
            pdw[(gi * d.Kg + k0 + l) * d.ckk + r0 * d.kw + j] = v;
          }
        continue;
      }
      const int64_t span = it % spans, tile = it / spans % tiles, gb = it / spans / tiles;
      const int64_t gi = gb / blocks, k0 = (gb % blocks) * bw, j0 = span * span_w, width = std::min(span_w, d.kw - j0);
      const int64_t kg = std::min(bw, d.Kg - k0), r0 = tile * R, nr = std::min<int64_t>(R, rows - r0);
      const int64_t stride = kg > 16 ? 32 : 16;
      for (int64_t l = 0; l < kg; ++l) {
        float* out = pdw + (gi * d.Kg + k0 + l) * d.ckk + r0 * d.kw + j0;
        for (int64_t t = 0; t < nr * width; ++t) {
          float v = sums[it * tile_floats + t * stride + l];
          for (int64_t part = 1; part < parts; ++part) v += sums[(part * items + it) * tile_floats + t * stride + l];
          out[t / width * d.kw + t % width] = v;
        }
      }
    }
  });
}

#else  // no AVX-512 kernels here

bool direct_forward_applies(const Dims&) { return false; }
void direct_forward(const float*, const float*, const float*, const Dims&, const Conv2dGeometry&, float*) {}
bool direct32_applies(const Dims&, const Conv2dGeometry&, bool) { return false; }
void direct32(const float*, const float*, int64_t, int64_t, const std::vector<int64_t>&, const float*, const Dims&,
              const Conv2dGeometry&, float*, const prepared::Source*, const PaddedSource*) {}
bool narrow_applies(const Dims&, const Conv2dGeometry&) { return false; }
void direct_narrow(const float*, const float*, int64_t, int64_t, const std::vector<int64_t>&, const float*, const Dims&,
                   const Conv2dGeometry&, float*) {}
bool direct_filter_applies(const Dims&, const Conv2dGeometry&) { return false; }
void direct_filter(const float*, const float*, const Dims&, const Conv2dGeometry&, float*) {}

#endif

}  // namespace conv2d_impl
}  // namespace cpu
}  // namespace convnet