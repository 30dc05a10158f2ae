// Depthwise conv2d (groups == C): output channel k reads input channel c = k / m alone, where
// m = K / C is the channel multiplier; w is [K, 1, kh, kw]. conv2d.cc sends these here: im2col
// + GEMM would run GEMMs with one row of K, which waste most of the micro-kernel.
//
// With AVX-512 or AVX2 + FMA (the GEMM's kernel says which), lanes along the output rows:
//   - each input plane is first copied into a prepared plane (thread scratch): zero-bordered,
//     and at stride_w s > 1 split into s phases per row (phase r holds the columns = r mod s),
//     so that the inputs of 16 consecutive outputs of tap (i, j) are 16 consecutive floats;
//   - a register tile of R output rows by V vectors of 16 columns (depthwise_conv2d_kernels.inc)
//     starts at the bias and adds each tap's input times its weight, taps in order.
// Forward, and backward-data (at stride 1 the forward of dy with the kernel flipped, over the m
// planes of dy an input channel feeds; at a stride the same per phase of dx, backward_data_phases)
// run on tiles; backward-filter sums dy * x per tap in 16 lanes (one float chain per lane over
// images, rows and the row's vectors, in order), the lanes then added up in double. MobileNet v2's 3x3s at batch 1, 1 thread (Zen 5, medians of 7 x 20
// calls): 14x14x384 0.30 -> 0.058 ms (PyTorch 1.13, oneDNN: 0.056), 28x28x192 at stride 2
// 0.18 -> 0.08 (0.064), 112x112x32 0.40 -> 0.23; the whole model (fused) 12.8 -> 8.4 ms. The
// loops below wrote each output row back for every tap, and in the AVX-512 clone a row of 14
// was all scalar tail.
//
// Backward-data at stride 2, 1 thread, batch 1 (old -> new, us): 96x56x56 334 -> 205, 144x56x56
// 553 -> 289, 576x14x14 188 -> 161.
//
// Rows under 32 outputs with one output channel per input channel (m = 1) and 16 channels or
// more take the channels in the lanes instead (forward_channels, backward_data_phases' branch,
// backward_filter_channels): 16
// planes transposed into one plane of 16-channel vectors, each output (or each tap's sum) a
// vector, the outputs transposed back 16 at a time.
//
// Elsewhere (CPUs without AVX2), direct loops, one (image, channel) plane per task:
// within a plane the sums run in a fixed order ((i, j) for forward, (k, oh, i, j, ow) for
// backward-data). Backward-filter there: a float sum per output column over (n, oh), the columns
// then added up in double, in order.
//
// Either way no two threads write the same element and the order of every sum is fixed, so the
// bits do not depend on the thread count.
#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/conv2d_internal.h"
#include "cpu/cpu_ops.h"
#include "cpu/gemm.h"
#include "cpu/nn_ops.h"
#include "cpu/simd_clones.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(CONVNET_PORTABLE_ONLY)
#define CONVNET_DEPTHWISE_SIMD 1
#include <immintrin.h>

#include "cpu/intrinsic_lanes.h"
#else
#define CONVNET_DEPTHWISE_SIMD 0
#endif

// The per-plane loops below are compiled again for AVX2 and AVX-512 (simd_clones.h); clones
// may round differently (FMA contraction), as the GEMM's paths do.

namespace convnet {
namespace cpu {
namespace {

struct Plane {
  int64_t H, W, Ho, Wo, kh, kw;
};

int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Output columns [lo, hi) whose input column ow*sw - pl + j*dw lies in [0, W).
void valid_columns(const Plane& p, const Conv2dGeometry& g, int64_t j, int64_t* lo, int64_t* hi) {
  const int64_t shift = g.pad_left - j * g.dilation_w;
  *lo = std::clamp<int64_t>(ceil_div(shift, g.stride_w), 0, p.Wo);
  *hi = std::clamp<int64_t>(ceil_div(p.W + shift, g.stride_w), *lo, p.Wo);
}

// valid_columns for every kernel column j, computed once per call (it divides).
std::vector<int64_t> column_ranges(const Plane& p, const Conv2dGeometry& g) {
  std::vector<int64_t> r(2 * p.kw);
  for (int64_t j = 0; j < p.kw; ++j) valid_columns(p, g, j, &r[2 * j], &r[2 * j + 1]);
  return r;
}

// One output plane: y = bias + sum over taps (i, j) of w[i, j] * the shifted input plane.
CONVNET_SIMD_CLONES
void forward_plane(const float* xc, const float* wk, float bias, float* yc, const Plane& p, const Conv2dGeometry& g,
                   const int64_t* cols) {
  for (int64_t oh = 0; oh < p.Ho; ++oh) {
    float* __restrict yrow = yc + oh * p.Wo;
    std::fill(yrow, yrow + p.Wo, bias);
    for (int64_t i = 0; i < p.kh; ++i) {
      const int64_t ih = oh * g.stride_h - g.pad_top + i * g.dilation_h;
      if (ih < 0 || ih >= p.H) continue;
      for (int64_t j = 0; j < p.kw; ++j) {
        const int64_t lo = cols[2 * j], hi = cols[2 * j + 1];
        const float wv = wk[i * p.kw + j];
        const float* __restrict xrow = xc + ih * p.W + j * g.dilation_w - g.pad_left;
        if (g.stride_w == 1) {
          for (int64_t ow = lo; ow < hi; ++ow) yrow[ow] += wv * xrow[ow];
        } else {
          for (int64_t ow = lo; ow < hi; ++ow) yrow[ow] += wv * xrow[ow * g.stride_w];
        }
      }
    }
  }
}

// One input-gradient plane: dx = bias + the taps of output channels [k0, k1) scattered back,
// in the order (k, oh, i, j, ow). dyn points at image n's dy.
CONVNET_SIMD_CLONES
void backward_data_plane(const float* dyn, const float* pw, float bias, int64_t k0, int64_t k1, float* dxc, const Plane& p,
                         const Conv2dGeometry& g, const int64_t* cols) {
  std::fill(dxc, dxc + p.H * p.W, bias);
  for (int64_t k = k0; k < k1; ++k) {
    const float* dyk = dyn + k * p.Ho * p.Wo;
    const float* wk = pw + k * p.kh * p.kw;
    for (int64_t oh = 0; oh < p.Ho; ++oh) {
      const float* __restrict dyrow = dyk + oh * p.Wo;
      for (int64_t i = 0; i < p.kh; ++i) {
        const int64_t ih = oh * g.stride_h - g.pad_top + i * g.dilation_h;
        if (ih < 0 || ih >= p.H) continue;
        for (int64_t j = 0; j < p.kw; ++j) {
          const int64_t lo = cols[2 * j], hi = cols[2 * j + 1];
          const float wv = wk[i * p.kw + j];
          float* __restrict dxrow = dxc + ih * p.W + j * g.dilation_w - g.pad_left;
          if (g.stride_w == 1) {
            for (int64_t ow = lo; ow < hi; ++ow) dxrow[ow] += wv * dyrow[ow];
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) dxrow[ow * g.stride_w] += wv * dyrow[ow];
          }
        }
      }
    }
  }
}

// acc[ow] += dy[n, k, oh, ow] * x[n, c, ih, iw] over images [0, N) and rows oh, for tap (i, j).
CONVNET_SIMD_CLONES
void filter_tap(const float* pdy, const float* px, int64_t N, int64_t K, int64_t C, int64_t k, int64_t c, int64_t i, int64_t j,
                float* acc, const Plane& p, const Conv2dGeometry& g, int64_t lo, int64_t hi) {
  float* __restrict a = acc;
  for (int64_t n = 0; n < N; ++n) {
    const float* dyk = pdy + (n * K + k) * p.Ho * p.Wo;
    const float* xc = px + (n * C + c) * p.H * p.W;
    for (int64_t oh = 0; oh < p.Ho; ++oh) {
      const int64_t ih = oh * g.stride_h - g.pad_top + i * g.dilation_h;
      if (ih < 0 || ih >= p.H) continue;
      const float* __restrict dyrow = dyk + oh * p.Wo;
      const float* __restrict xrow = xc + ih * p.W + j * g.dilation_w - g.pad_left;
      if (g.stride_w == 1) {
        for (int64_t ow = lo; ow < hi; ++ow) a[ow] += dyrow[ow] * xrow[ow];
      } else {
        for (int64_t ow = lo; ow < hi; ++ow) a[ow] += dyrow[ow] * xrow[ow * g.stride_w];
      }
    }
  }
}

constexpr float kInfinity = std::numeric_limits<float>::infinity();

int64_t grain_for(int64_t plane_work) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(plane_work, 1)); }

// ---- Lanes along the rows (AVX-512, AVX2 + FMA) ----
#if CONVNET_DEPTHWISE_SIMD
using conv2d_impl::scratch;

// A tile's arguments (depthwise_conv2d_kernels.inc's Tile).
struct TileArgs {
  const float* x;          // the prepared plane(s) at the input of the tile's first output
  const int64_t* offset;   // [taps] tap t's input, from an output's first (its tap (0, 0))
  int64_t taps;
  int64_t planes, plane_step;  // planes summed, plane_step floats apart (backward-data: m of dy)
  const float* w;          // [planes][taps]
  float bias;
  int64_t row_step;        // floats between the inputs of consecutive output rows
  float* y;                // the tile's first output
  int64_t yw;              // floats between output rows
  __mmask16 last;          // the columns of the tile's last vector
  bool clamped;            // a fused activation: the outputs clamped to [lo, hi]
  float lo, hi;
};
using TileFn = void (*)(const TileArgs&);

// backward-filter's sums over one image (depthwise_conv2d_kernels.inc's filter_sums).
struct FilterSumArgs {
  const float* dy;         // the image's dy plane, Ho x Wo
  const float* x;          // the prepared plane of its input channel, at output (0, 0)'s input
  const int64_t* offset;
  int64_t taps, Ho, Wo, row_step;
  __mmask16 last;          // the columns of a row's last vector
  float* sums;             // [taps][16] running sums, in and out
};

// A plane to prepare (Prepared::fill).
struct FillArgs {
  const float* src;              // the input plane (Hi x Wi) less pl: padded column q of row ih at src + ih Wi + q
  int64_t Hi, Wi, rows, pt;      // prepared row pr is input row pr - pt (zeros outside)
  int64_t lo, hi;                // padded columns [lo, hi) are input columns [lo - pl, hi - pl)
  int64_t sw, ws, pitch;
  float* dst;                    // rows * pitch + 16 floats
};

// forward_channels' transposed plane of 16 channels (depthwise_conv2d_kernels.inc's
// fill_channels), and its outputs (channel_outputs).
struct ChannelFillArgs {
  const float* src;            // channel l's input plane at src + l plane, `count` floats
  int64_t plane, count;
  int channels;                // the block's channels (the rest of the 16 lanes: zeros)
  const int64_t* slot;         // [count] T's vector of each input (null: the same index)
  const int64_t* pad;          // [pads] T's vectors of zeros (the padding)
  int64_t pads;
  float* T;
};
struct ChannelArgs {
  const float* T;
  const int64_t* base;         // [whole chunks of 16] T's float offset of each output's tap (0, 0)
  const int64_t* offset;       // [taps] tap t's input from an output's tap (0, 0)
  int64_t taps;
  const float* w;              // [taps][16]: tap t's weights of the 16 channels
  const float* bias;           // [16]
  int64_t count;               // Ho Wo
  float* y;                    // channel l's output plane at y + l count
  const int64_t* dest;         // or, where not null, output f's vector at X + 16 dest[f], not transposed
  float* X;
  int channels;
  bool clamped;
  float lo, hi;
};
// The inverse of fill_channels: X's `count` vectors transposed into the planes.
struct ChannelUnfillArgs {
  const float* X;
  int64_t count;
  int channels;
  float* dst;                  // channel l's plane at dst + l count
};
struct ChannelSumArgs {
  const float* T;              // x's transposed plane (as ChannelArgs')
  const float* D;              // dy's, Ho x Wo x 16
  int64_t cols, sh, sw, Ho, Wo, taps;
  const int64_t* offset;       // [taps] tap (i, j)'s input from an output's first: (i dh cols + j dw) 16
  double* sums;                // [taps][16] running sums, in and out
};

struct Kernels {
  TileFn (*tile)(int v, int64_t rows);
  int rows[4];  // rows a tile of 1..4 vectors
  void (*fill_plane)(const FillArgs& a);
  void (*filter_sums)(const FilterSumArgs& a);
  void (*fill_channels)(const ChannelFillArgs& a);
  void (*channel_outputs)(const ChannelArgs& a);
  void (*unfill_channels)(const ChannelUnfillArgs& a);
  void (*channel_sums)(const ChannelSumArgs& a);
};

// GCC 12 warns, wrongly, that the _mm512_undefined_ps() inside its own max and min intrinsics
// "may be used uninitialized" (GCC bug 105593), as in conv2d_direct.cc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
namespace avx512 {
using Lanes = Lanes512;
#define CONVNET_DEPTHWISE_TARGET __attribute__((target("avx512f")))
#include "cpu/depthwise_conv2d_kernels.inc"
#undef CONVNET_DEPTHWISE_TARGET
}  // namespace avx512

namespace avx2 {
using Lanes = Lanes256x2;
#define CONVNET_DEPTHWISE_TARGET __attribute__((target("avx2,fma")))
#include "cpu/depthwise_conv2d_kernels.inc"
#undef CONVNET_DEPTHWISE_TARGET
}  // namespace avx2
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// The tiles of the GEMM's instruction set, or null where it has neither.
const Kernels* kernels() {
  const char* name = sgemm_kernel_name();
  if (std::strcmp(name, "avx512") == 0) return &avx512::kKernels;
  if (std::strcmp(name, "avx2") == 0) return &avx2::kKernels;
  return nullptr;
}

// The prepared plane of a convolution of a Hi x Wi plane into Ho x Wo outputs (any padding,
// negative ones crop): the padded rows the outputs read, each `pitch` floats of s = stride_w
// phases of ws floats, phase r's column q the padded column q s + r.
struct Prepared {
  int64_t Hi, Wi, Ho, Wo, kh, kw, sh, sw, dh, dw, pt, pl;
  int64_t rows, ws, pitch, floats;  // floats: the plane's, with 16 more (whole vectors read past it)
  std::vector<int64_t> offset;      // [kh kw] tap (i, j): i dh pitch + (j dw mod s) ws + j dw / s

  Prepared(int64_t Hi_, int64_t Wi_, int64_t Ho_, int64_t Wo_, int64_t kh_, int64_t kw_, const Conv2dGeometry& g,
           int64_t pt_, int64_t pl_)
      : Hi(Hi_), Wi(Wi_), Ho(Ho_), Wo(Wo_), kh(kh_), kw(kw_), sh(g.stride_h), sw(g.stride_w), dh(g.dilation_h),
        dw(g.dilation_w), pt(pt_), pl(pl_) {
    rows = (Ho - 1) * sh + (kh - 1) * dh + 1;
    ws = conv2d_impl::ceil_div((Wo - 1) * sw + (kw - 1) * dw + 1, sw);
    pitch = sw * ws;
    floats = rows * pitch + 16;
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j) offset.push_back(i * dh * pitch + (j * dw) % sw * ws + j * dw / sw);
  }

  // Copies plane `src` into `dst` (`floats` floats).
  void fill(const Kernels& k, const float* src, float* dst) const {
    FillArgs a;
    a.src = src - pl, a.Hi = Hi, a.Wi = Wi, a.rows = rows, a.pt = pt;
    a.lo = std::clamp<int64_t>(pl, 0, pitch), a.hi = std::clamp<int64_t>(pl + Wi, a.lo, pitch);
    a.sw = sw, a.ws = ws, a.pitch = pitch, a.dst = dst;
    k.fill_plane(a);
  }

  __mmask16 last_columns() const {
    const int64_t n = Wo - 16 * ((Wo - 1) / 16);
    return static_cast<__mmask16>(n == 16 ? 0xFFFF : (1u << n) - 1);
  }
};

// One output plane y (Ho x Wo) = bias + the taps of `planes` prepared planes (x, plane_step
// apart) times their weights w ([planes][taps]), by tiles.
void run_tiles(const Kernels& k, const Prepared& p, const float* x, int64_t planes, int64_t plane_step, const float* w,
               float bias, float* y, float lo = -kInfinity, float hi = kInfinity) {
  const int64_t vectors = (p.Wo + 15) / 16;
  TileArgs a;
  a.offset = p.offset.data(), a.taps = static_cast<int64_t>(p.offset.size());
  a.planes = planes, a.plane_step = plane_step, a.w = w, a.bias = bias;
  a.row_step = p.sh * p.pitch, a.yw = p.Wo;
  a.clamped = lo > -kInfinity || hi < kInfinity, a.lo = lo, a.hi = hi;
  for (int64_t v0 = 0; v0 < vectors; v0 += 4) {
    const int v = static_cast<int>(std::min<int64_t>(4, vectors - v0));
    const int64_t R = k.rows[v - 1];
    a.last = v0 + v == vectors ? p.last_columns() : static_cast<__mmask16>(0xFFFF);
    for (int64_t oh0 = 0; oh0 < p.Ho; oh0 += R) {
      const int64_t rows = std::min(R, p.Ho - oh0);
      a.x = x + oh0 * a.row_step + 16 * v0;
      a.y = y + oh0 * p.Wo + 16 * v0;
      k.tile(v, rows)(a);
    }
  }
}

// Rows under 32 outputs leave lanes idle in the tiles (7 of 16 on MobileNet's 7x7 planes), and a
// plane of 14 x 14 is too little work for the cost of preparing it: there, with one output per
// input channel (m = 1), the lanes hold 16 channels instead. Per (image, block of 16 channels):
// the input planes transposed into one zero-bordered plane of 16-channel vectors (T), each output
// a sum of its taps' vectors times the taps' 16 weights, and the outputs transposed back 16
// consecutive ones (across rows) at a time. Batch 8, 1 thread (us, best of 3 x 20 calls, the
// rows' lanes -> the channels'; PyTorch 1.13): forward 960x7x7 548 -> 218 (181), 576x14x14/2
// 620 -> 253 (206), 384x14x14 437 -> 287 (249), 192x28x28 808 -> 475 (831); backward-filter
// 722 -> 241 (925), 728 -> 269 (205), 602 -> 346 (268), 894 -> 490 (622). At 56x56 no faster.
// The forward's sums run in the tiles' order (bias, then the taps in order): the same bits.
bool use_channels(const Prepared& p, int64_t C, int64_t m) {
  if (m != 1 || C < 16 || p.Wo >= 32 || p.pt < 0 || p.pl < 0) return false;
  return p.Hi * p.Wi <= 4096;
}

// The geometry of the transposed planes: T's rows x cols vectors (one more, past them, for the
// inputs no output reads), each input's vector in T, T's vectors of padding, each output's first
// tap's float offset (whole chunks of 16, the last padded with the first's), and the taps'
// offsets from it.
struct ChannelPlanes {
  int64_t cols, vectors;
  std::vector<int64_t> slot, pad, base, offset;

  explicit ChannelPlanes(const Prepared& p) : cols((p.Wo - 1) * p.sw + (p.kw - 1) * p.dw + 1), vectors(p.rows * cols) {
    for (int64_t ih = 0; ih < p.Hi; ++ih)
      for (int64_t iw = 0; iw < p.Wi; ++iw) {
        const int64_t r = ih + p.pt, q = iw + p.pl;
        slot.push_back(r < p.rows && q < cols ? r * cols + q : vectors);
      }
    for (int64_t r = 0; r < p.rows; ++r)
      for (int64_t q = 0; q < cols; ++q)
        if (r < p.pt || r >= p.pt + p.Hi || q < p.pl || q >= p.pl + p.Wi) pad.push_back(r * cols + q);
    for (int64_t f = 0; f < conv2d_impl::ceil_div(p.Ho * p.Wo, 16) * 16; ++f) {
      const int64_t oh = f < p.Ho * p.Wo ? f / p.Wo : 0, ow = f < p.Ho * p.Wo ? f % p.Wo : 0;
      base.push_back((oh * p.sh * cols + ow * p.sw) * 16);
    }
    for (int64_t i = 0; i < p.kh; ++i)
      for (int64_t j = 0; j < p.kw; ++j) offset.push_back((i * p.dh * cols + j * p.dw) * 16);
  }
};

// The channels' weights of the taps `tap` (indices into w's taps per channel, w_taps of them), as
// [blocks of 16 channels][tap][16], zeros past C; and the biases as [blocks][16].
std::vector<float> channel_weights(const float* pw, int64_t C, int64_t w_taps, const std::vector<int64_t>& tap) {
  const int64_t nt = static_cast<int64_t>(tap.size());
  std::vector<float> out((C + 15) / 16 * nt * 16, 0.0f);
  for (int64_t c = 0; c < C; ++c)
    for (int64_t t = 0; t < nt; ++t) out[(c / 16 * nt + t) * 16 + c % 16] = pw[c * w_taps + tap[t]];
  return out;
}
std::vector<float> channel_biases(const float* pb, int64_t C) {
  std::vector<float> out((C + 15) / 16 * 16, 0.0f);
  if (pb) std::copy(pb, pb + C, out.begin());
  return out;
}

// y's channels of the 16-channel blocks: their taps in order, or flipped (w[c][taps - 1 - t]).
void forward_channels(const Kernels& k, const Prepared& p, const float* px, int64_t N, int64_t C, const float* pw,
                      bool flip, const float* pb, float* py, float lo, float hi) {
  const int64_t taps = p.kh * p.kw, blocks = (C + 15) / 16;
  const ChannelPlanes planes(p);
  std::vector<int64_t> tap(taps);
  for (int64_t t = 0; t < taps; ++t) tap[t] = flip ? taps - 1 - t : t;
  const std::vector<float> weights = channel_weights(pw, C, taps, tap), biases = channel_biases(pb, C);
  parallel_for(N * blocks, grain_for(16 * p.Ho * p.Wo * taps), [&](int64_t i0, int64_t i1) {
    float* T = scratch(0, (planes.vectors + 1) * 16);
    ChannelFillArgs f;
    f.plane = f.count = p.Hi * p.Wi, f.slot = planes.slot.data(), f.T = T;
    f.pad = planes.pad.data(), f.pads = static_cast<int64_t>(planes.pad.size());
    ChannelArgs a;
    a.T = T, a.base = planes.base.data(), a.offset = planes.offset.data(), a.taps = taps, a.count = p.Ho * p.Wo;
    a.dest = nullptr, a.X = nullptr;
    a.clamped = lo > -kInfinity || hi < kInfinity, a.lo = lo, a.hi = hi;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / blocks, c0 = i % blocks * 16;
      f.src = px + (n * C + c0) * f.plane, f.channels = a.channels = static_cast<int>(std::min<int64_t>(16, C - c0));
      k.fill_channels(f);
      a.w = weights.data() + c0 / 16 * taps * 16, a.bias = biases.data() + c0;
      a.y = py + (n * C + c0) * a.count;
      k.channel_outputs(a);
    }
  });
}

void forward_lanes(const Kernels& k, const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dGeometry& g,
                   const Tensor& y, float lo, float hi) {
  const int64_t N = x.shape[0], C = x.shape[1], K = w.shape[0], m = K / C;
  const Prepared p(x.shape[2], x.shape[3], y.shape[2], y.shape[3], w.shape[2], w.shape[3], g, g.pad_top, g.pad_left);
  const float *px = x.f32(), *pw = w.f32(), *pb = b ? b->f32() : nullptr;
  float* py = y.f32();
  if (use_channels(p, C, m)) return forward_channels(k, p, px, N, C, pw, false, pb, py, lo, hi);
  const int64_t taps = p.kh * p.kw, plane_out = p.Ho * p.Wo;
  parallel_for(N * C, grain_for(m * plane_out * taps), [&](int64_t t0, int64_t t1) {
    // Two planes: the next is prepared before this one's tiles run, so that their loads find the
    // copy's stores long done (a load that overlaps a store still in flight, at another offset,
    // waits for it).
    float* planes = scratch(0, 2 * p.floats);
    p.fill(k, px + t0 * p.Hi * p.Wi, planes);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / C, c = t % C;
      const float* plane = planes + (t - t0) % 2 * p.floats;
      if (t + 1 < t1) p.fill(k, px + (t + 1) * p.Hi * p.Wi, planes + (t + 1 - t0) % 2 * p.floats);
      for (int64_t kk = c * m; kk < (c + 1) * m; ++kk)
        run_tiles(k, p, plane, 1, 0, pw + kk * taps, pb ? pb[kk] : 0.0f, py + (n * K + kk) * plane_out, lo, hi);
    }
  });
}

// Stride 1: dx[n, c] = bias + the forward of dy's m planes of channel c with the kernels flipped,
// dilated as the forward, padded by (k - 1) d - p.
void backward_data_lanes(const Kernels& k, const Tensor& dy, const Tensor& w, const Tensor* b, const Conv2dGeometry& g,
                         const Tensor& dx) {
  const int64_t N = dx.shape[0], C = dx.shape[1], K = w.shape[0], m = K / C, kh = w.shape[2], kw = w.shape[3];
  const Prepared p(dy.shape[2], dy.shape[3], dx.shape[2], dx.shape[3], kh, kw, g, (kh - 1) * g.dilation_h - g.pad_top,
                   (kw - 1) * g.dilation_w - g.pad_left);
  const float *pdy = dy.f32(), *pw = w.f32(), *pb = b ? b->f32() : nullptr;
  float* pdx = dx.f32();
  const int64_t taps = kh * kw, plane_in = p.Hi * p.Wi;
  if (use_channels(p, C, m)) return forward_channels(k, p, pdy, N, C, pw, true, pb, pdx, -kInfinity, kInfinity);
  std::vector<float> flipped(K * taps);
  for (int64_t kk = 0; kk < K; ++kk)
    for (int64_t t = 0; t < taps; ++t) flipped[kk * taps + t] = pw[kk * taps + taps - 1 - t];
  parallel_for(N * C, grain_for(m * p.Ho * p.Wo * taps), [&](int64_t t0, int64_t t1) {
    float* planes = scratch(0, m * p.floats);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / C, c = t % C;
      for (int64_t j = 0; j < m; ++j) p.fill(k, pdy + (n * K + c * m + j) * plane_in, planes + j * p.floats);
      run_tiles(k, p, planes, m, p.floats, flipped.data() + c * m * taps, pb ? pb[c] : 0.0f, pdx + t * p.Ho * p.Wo);
    }
  });
}

// At a stride (sh, sw): dx by phases. The pixels (rh + sh u, rw + sw v) of phase (rh, rw) read
// the taps (i, j) with rh + pt - i dh and rw + pl - j dw multiples of the strides, each at
// dy[u + ci, v + ej] (ci = (rh + pt - i dh) / sh, ej likewise): a stride-1 sum of dy's m planes
// over those taps, with the offsets (ci, ej). dy is prepared once per (image, channel) for every
// phase (rows and columns from the least offset to the largest); each phase's tiles write a plane
// of scratch, which is then spread over dx's pixels of the phase.
void backward_data_phases(const Kernels& k, const Tensor& dy, const Tensor& w, const Tensor* b, const Conv2dGeometry& g,
                          const Tensor& dx) {
  const int64_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3], K = w.shape[0], m = K / C;
  const int64_t kh = w.shape[2], kw = w.shape[3], taps = kh * kw, sh = g.stride_h, sw = g.stride_w;
  // A tap's offset along one axis for phase r, or none where r + pad - i d is no multiple of s.
  const auto offset_of = [](int64_t r, int64_t pad, int64_t i, int64_t d, int64_t s, int64_t* c) {
    const int64_t a = r + pad - i * d;
    if (((a % s) + s) % s != 0) return false;
    *c = a / s;  // exact
    return true;
  };
  struct Phase {
    int64_t rh, rw, rows, cols;         // dx's pixels (rh + sh u, rw + sw v), u < rows, v < cols
    std::vector<int64_t> di, dj, tap;   // per tap: its offsets and its index i kw + j in w
  };
  std::vector<Phase> phases;
  int64_t cmin = 0, cmax = 0, emin = 0, emax = 0, rows_max = 0, cols_max = 0;
  for (int64_t rh = 0; rh < std::min(sh, H); ++rh)
    for (int64_t rw = 0; rw < std::min(sw, W); ++rw) {
      Phase ph{rh, rw, conv2d_impl::ceil_div(H - rh, sh), conv2d_impl::ceil_div(W - rw, sw), {}, {}, {}};
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j) {
          int64_t ci, ej;
          if (!offset_of(rh, g.pad_top, i, g.dilation_h, sh, &ci) || !offset_of(rw, g.pad_left, j, g.dilation_w, sw, &ej)) continue;
          ph.di.push_back(ci), ph.dj.push_back(ej), ph.tap.push_back(i * kw + j);
          cmin = std::min(cmin, ci), cmax = std::max(cmax, ci), emin = std::min(emin, ej), emax = std::max(emax, ej);
        }
      rows_max = std::max(rows_max, ph.rows), cols_max = std::max(cols_max, ph.cols);
      phases.push_back(std::move(ph));
    }
  // dy prepared as a stride-1 input whose "kernel" spans every phase's offsets.
  Conv2dGeometry g1;
  const Prepared p(dy.shape[2], dy.shape[3], rows_max, cols_max, cmax - cmin + 1, emax - emin + 1, g1, -cmin, -emin);
  const float *pdy = dy.f32(), *pw = w.f32(), *pb = b ? b->f32() : nullptr;
  float* pdx = dx.f32();
  const int64_t plane_in = p.Hi * p.Wi;
  if (use_channels(p, C, m)) {
    // The channels in the lanes: dy's 16 planes transposed once (fill_channels), each phase's
    // pixels summed 16 at a time into their vectors of X (dx transposed), X transposed back.
    // Each sum as the tiles' (bias, then the phase's taps in order): the same bits.
    const ChannelPlanes planes(p);
    const int64_t blocks = (C + 15) / 16;
    struct PhaseLanes {
      std::vector<int64_t> base, dest, offset;
      std::vector<float> w;  // channel_weights of the phase's taps
    };
    std::vector<PhaseLanes> lanes;
    for (const Phase& ph : phases) {
      PhaseLanes l;
      const int64_t count = ph.rows * ph.cols, nt = static_cast<int64_t>(ph.tap.size());
      for (int64_t f = 0; f < conv2d_impl::ceil_div(count, 16) * 16; ++f) {
        const int64_t u = f < count ? f / ph.cols : 0, v = f < count ? f % ph.cols : 0;
        l.base.push_back((u * planes.cols + v) * 16), l.dest.push_back((ph.rh + sh * u) * W + ph.rw + sw * v);
      }
      for (int64_t t = 0; t < nt; ++t) l.offset.push_back(((ph.di[t] - cmin) * planes.cols + ph.dj[t] - emin) * 16);
      l.w = channel_weights(pw, C, taps, ph.tap);
      lanes.push_back(std::move(l));
    }
    const std::vector<float> biases = channel_biases(pb, C);
    parallel_for(N * blocks, grain_for(16 * H * W * taps / (sh * sw)), [&](int64_t i0, int64_t i1) {
      float* T = scratch(0, (planes.vectors + 1) * 16);
      float* X = scratch(1, H * W * 16);
      ChannelFillArgs f;
      f.plane = f.count = plane_in, f.slot = planes.slot.data(), f.T = T;
      f.pad = planes.pad.data(), f.pads = static_cast<int64_t>(planes.pad.size());
      ChannelArgs a;
      a.T = T, a.X = X, a.y = nullptr, a.clamped = false, a.lo = -kInfinity, a.hi = kInfinity;
      ChannelUnfillArgs out;
      out.X = X, out.count = H * W;
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t n = i / blocks, c0 = i % blocks * 16;
        f.src = pdy + (n * C + c0) * plane_in;
        f.channels = a.channels = out.channels = static_cast<int>(std::min<int64_t>(16, C - c0));
        k.fill_channels(f);
        for (size_t q = 0; q < phases.size(); ++q) {
          const int64_t nt = static_cast<int64_t>(phases[q].tap.size());
          a.base = lanes[q].base.data(), a.dest = lanes[q].dest.data(), a.offset = lanes[q].offset.data(), a.taps = nt;
          a.w = lanes[q].w.data() + c0 / 16 * nt * 16, a.bias = biases.data() + c0;
          a.count = phases[q].rows * phases[q].cols;
          k.channel_outputs(a);
        }
        out.dst = pdx + (n * C + c0) * H * W;
        k.unfill_channels(out);
      }
    });
    return;
  }
  // Per phase: its Prepared (outputs and tap offsets) and its weights [K][its taps].
  std::vector<Prepared> views;
  std::vector<std::vector<float>> weights;
  for (const Phase& ph : phases) {
    Prepared v = p;
    v.Ho = ph.rows, v.Wo = ph.cols;
    v.offset.clear();
    for (size_t t = 0; t < ph.tap.size(); ++t) v.offset.push_back((ph.di[t] - cmin) * p.pitch + (ph.dj[t] - emin));
    std::vector<float> wt(K * ph.tap.size());
    for (int64_t kk = 0; kk < K; ++kk)
      for (size_t t = 0; t < ph.tap.size(); ++t) wt[kk * ph.tap.size() + t] = pw[kk * taps + ph.tap[t]];
    views.push_back(std::move(v));
    weights.push_back(std::move(wt));
  }
  // Each phase's outputs go to a scratch plane of their own; then dx is written row by row, each
  // row's phases interleaved (at sw = 2 two rows zipped; the phases scattered one by one into
  // dx, a strided store per element, were two thirds of MobileNet's 96x112x112 3x3/2 at batch 8).
  const int64_t nw = std::min(sw, W), phase_floats = rows_max * cols_max;
  parallel_for(N * C, grain_for(m * H * W * taps / (sh * sw)), [&](int64_t t0, int64_t t1) {
    float* planes = scratch(0, m * p.floats);
    float* out = scratch(1, static_cast<int64_t>(phases.size()) * phase_floats);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / C, c = t % C;
      const float bias = pb ? pb[c] : 0.0f;
      float* dxc = pdx + t * H * W;
      for (int64_t j = 0; j < m; ++j) p.fill(k, pdy + (n * K + c * m + j) * plane_in, planes + j * p.floats);
      for (size_t q = 0; q < phases.size(); ++q) {
        const Phase& ph = phases[q];
        const int64_t nt = static_cast<int64_t>(ph.tap.size());
        float* oq = out + q * phase_floats;
        if (nt == 0) {
          std::fill(oq, oq + ph.rows * ph.cols, bias);
        } else {
          run_tiles(k, views[q], planes, m, p.floats, weights[q].data() + c * m * nt, bias, oq);
        }
      }
      for (int64_t r = 0; r < H; ++r) {
        const int64_t first = r % sh * nw, u = r / sh;  // row r's phases: first .. first + nw - 1
        float* __restrict row = dxc + r * W;
        if (nw == 2) {
          const float* __restrict even = out + first * phase_floats + u * phases[first].cols;
          const float* __restrict odd = out + (first + 1) * phase_floats + u * phases[first + 1].cols;
          const int64_t pairs = phases[first + 1].cols;  // W / 2
          for (int64_t v = 0; v < pairs; ++v) row[2 * v] = even[v], row[2 * v + 1] = odd[v];
          if (W % 2) row[W - 1] = even[pairs];
        } else {
          for (int64_t rw = 0; rw < nw; ++rw) {
            const Phase& ph = phases[first + rw];
            const float* src = out + (first + rw) * phase_floats + u * ph.cols;
            for (int64_t v = 0; v < ph.cols; ++v) row[rw + sw * v] = src[v];
          }
        }
      }
    }
  });
}

// Backward-filter with the channels in the lanes (use_channels): per block of 16 channels, for
// each image in order, x's planes and dy's transposed (fill_channels), each tap's products summed
// over the image's outputs in one float chain per channel, and that added into a double sum.
void backward_filter_channels(const Kernels& k, const Prepared& p, const float* pdy, const float* px, int64_t N,
                              int64_t C, float* pdw) {
  const int64_t taps = p.kh * p.kw, blocks = (C + 15) / 16;
  const ChannelPlanes planes(p);
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    float* T = scratch(0, (planes.vectors + 1) * 16);
    float* D = scratch(1, p.Ho * p.Wo * 16);
    std::vector<double> sums(taps * 16);
    ChannelFillArgs fx, fd;
    fx.plane = fx.count = p.Hi * p.Wi, fx.slot = planes.slot.data(), fx.T = T;
    fx.pad = planes.pad.data(), fx.pads = static_cast<int64_t>(planes.pad.size());
    fd.plane = fd.count = p.Ho * p.Wo, fd.slot = nullptr, fd.pad = nullptr, fd.pads = 0, fd.T = D;
    ChannelSumArgs a;
    a.T = T, a.D = D, a.cols = planes.cols, a.sh = p.sh, a.sw = p.sw, a.Ho = p.Ho, a.Wo = p.Wo, a.taps = taps;
    a.offset = planes.offset.data(), a.sums = sums.data();
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t c0 = b * 16, channels = std::min<int64_t>(16, C - c0);
      fx.channels = fd.channels = static_cast<int>(channels);
      std::fill(sums.begin(), sums.end(), 0.0);
      for (int64_t n = 0; n < N; ++n) {
        fx.src = px + (n * C + c0) * fx.plane, fd.src = pdy + (n * C + c0) * fd.plane;
        k.fill_channels(fx), k.fill_channels(fd);
        if (n + 1 < N) {  // the next image's planes, C planes on: into L2 while this one's sums run
          const char* nx = reinterpret_cast<const char*>(fx.src + C * fx.plane);
          const char* nd = reinterpret_cast<const char*>(fd.src + C * fd.plane);
          for (int64_t o = 0; o < channels * fx.plane * 4; o += 64) _mm_prefetch(nx + o, _MM_HINT_T1);
          for (int64_t o = 0; o < channels * fd.plane * 4; o += 64) _mm_prefetch(nd + o, _MM_HINT_T1);
        }
        k.channel_sums(a);
      }
      for (int64_t l = 0; l < channels; ++l)
        for (int64_t t = 0; t < taps; ++t) pdw[(c0 + l) * taps + t] = static_cast<float>(sums[t * 16 + l]);
    }
  });
}

void backward_filter_lanes(const Kernels& k, const Tensor& dy, const Tensor& x, const Conv2dGeometry& g, const Tensor& dw) {
  const int64_t N = x.shape[0], C = x.shape[1], K = dw.shape[0], m = K / C;
  const Prepared p(x.shape[2], x.shape[3], dy.shape[2], dy.shape[3], dw.shape[2], dw.shape[3], g, g.pad_top, g.pad_left);
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdw = dw.f32();
  if (use_channels(p, C, m)) return backward_filter_channels(k, p, pdy, px, N, C, pdw);
  const int64_t taps = p.kh * p.kw, plane_out = p.Ho * p.Wo;
  // Channels in blocks whose running sums (taps x 16 floats each) stay in L2, and in a block the
  // images outermost: x and dy are then read in order, a block's planes one after the other,
  // where channel by channel each plane was a jump of C planes from the last (1 thread, [8, 144,
  // 56, 56]: 3.1-3.5 ms -> 2.0). Each x plane is prepared once for its m output channels. (Preparing
  // the next plane into a second buffer first, as the forward does, was slower here: 2.2-2.3 ms.)
  const int64_t block = std::max<int64_t>(1, 65536 / (taps * 16)), plane_in = p.Hi * p.Wi;
  parallel_for(K, 1, [&](int64_t k0, int64_t k1) {
    float* plane = scratch(0, p.floats);
    // Kept between calls (a fresh vector of a few hundred KB was a page fault per 4 KiB).
    float* sums = scratch(1, std::min(block, k1 - k0) * taps * 16);
    FilterSumArgs a;
    a.x = plane, a.offset = p.offset.data(), a.taps = taps, a.Ho = p.Ho, a.Wo = p.Wo, a.row_step = p.sh * p.pitch;
    a.last = p.last_columns();
    for (int64_t b0 = k0; b0 < k1; b0 += block) {
      const int64_t b1 = std::min(k1, b0 + block);
      std::fill(sums, sums + (b1 - b0) * taps * 16, 0.0f);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t kk = b0; kk < b1; ++kk) {
          if (kk == b0 || kk % m == 0) p.fill(k, px + (n * C + kk / m) * plane_in, plane);
          a.dy = pdy + (n * K + kk) * plane_out;
          a.sums = sums + (kk - b0) * taps * 16;
          k.filter_sums(a);
        }
      for (int64_t kk = b0; kk < b1; ++kk)
        for (int64_t t = 0; t < taps; ++t) {
          const float* lanes = sums + ((kk - b0) * taps + t) * 16;
          double sum = 0.0;
          for (int l = 0; l < 16; ++l) sum += lanes[l];
          pdw[kk * taps + t] = static_cast<float>(sum);
        }
    }
  });
}
#endif  // CONVNET_DEPTHWISE_SIMD

}  // namespace

void depthwise_conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& y) {
  depthwise_conv2d_forward_clamped(x, w, b, g, y, -kInfinity, kInfinity);
}

void depthwise_conv2d_forward_clamped(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dGeometry& g,
                                      const Tensor& y, float clamp_lo, float clamp_hi) {
#if CONVNET_DEPTHWISE_SIMD
  if (const Kernels* k = kernels()) return forward_lanes(*k, x, w, b, g, y, clamp_lo, clamp_hi);
#endif
  const int64_t N = x.shape[0], C = x.shape[1], K = w.shape[0], m = K / C;
  const Plane p{x.shape[2], x.shape[3], y.shape[2], y.shape[3], w.shape[2], w.shape[3]};
  const float *px = x.f32(), *pw = w.f32(), *pb = b ? b->f32() : nullptr;
  float* py = y.f32();
  const std::vector<int64_t> cols = column_ranges(p, g);
  parallel_for(N * K, grain_for(p.Ho * p.Wo * p.kh * p.kw), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / K, k = t % K;
      forward_plane(px + (n * C + k / m) * p.H * p.W, pw + k * p.kh * p.kw, pb ? pb[k] : 0.0f, py + t * p.Ho * p.Wo, p, g,
                    cols.data());
    }
  });
  if (clamp_lo > -kInfinity || clamp_hi < kInfinity) clamp(y, clamp_lo, clamp_hi, y);
}

void depthwise_conv2d_backward_data(const Tensor& dy, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& dx) {
#if CONVNET_DEPTHWISE_SIMD
  const Kernels* k = kernels();
  if (k && g.stride_h == 1 && g.stride_w == 1) return backward_data_lanes(*k, dy, w, b, g, dx);
  if (k) return backward_data_phases(*k, dy, w, b, g, dx);
#endif
  const int64_t N = dx.shape[0], C = dx.shape[1], K = w.shape[0], m = K / C;
  const Plane p{dx.shape[2], dx.shape[3], dy.shape[2], dy.shape[3], w.shape[2], w.shape[3]};
  const float *pdy = dy.f32(), *pw = w.f32(), *pb = b ? b->f32() : nullptr;
  float* pdx = dx.f32();
  const std::vector<int64_t> cols = column_ranges(p, g);
  parallel_for(N * C, grain_for(m * p.Ho * p.Wo * p.kh * p.kw), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / C, c = t % C;
      backward_data_plane(pdy + n * K * p.Ho * p.Wo, pw, pb ? pb[c] : 0.0f, c * m, (c + 1) * m, pdx + t * p.H * p.W, p, g,
                          cols.data());
    }
  });
}

void depthwise_conv2d_backward_filter(const Tensor& dy, const Tensor& x, const Conv2dGeometry& g, const Tensor& dw) {
#if CONVNET_DEPTHWISE_SIMD
  if (const Kernels* k = kernels()) return backward_filter_lanes(*k, dy, x, g, dw);
#endif
  const int64_t N = x.shape[0], C = x.shape[1], K = dw.shape[0], m = K / C;
  const Plane p{x.shape[2], x.shape[3], dy.shape[2], dy.shape[3], dw.shape[2], dw.shape[3]};
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdw = dw.f32();
  const std::vector<int64_t> cols = column_ranges(p, g);
  parallel_for(K * p.kh * p.kw, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> acc(p.Wo);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t k = t / (p.kh * p.kw), i = t / p.kw % p.kh, j = t % p.kw;
      const int64_t lo = cols[2 * j], hi = cols[2 * j + 1];
      // acc[ow] collects column ow over every (n, oh), elementwise (so it vectorises); the
      // columns are added up at the end, in order.
      std::fill(acc.begin(), acc.end(), 0.0f);
      filter_tap(pdy, px, N, K, C, k, k / m, i, j, acc.data(), p, g, lo, hi);
      const float* a = acc.data();
      double sum = 0.0;
      for (int64_t ow = lo; ow < hi; ++ow) sum += a[ow];
      pdw[t] = static_cast<float>(sum);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
