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
// conv2d.cc picks this for 3x3 and 5x5 kernels at stride 1 (dilation 1, 2, 4 or 8), 16 (5x5:
// 48) or more channels in and out per group, on CPUs with AVX-512 or AVX2 + FMA (the kernels
// are written once over a lane layer, intrinsic_lanes.h, and compiled for each: see the end of
// this file). Measured on Zen 5, 2 threads (`npm run bench -- conv`): AlexNet c3-c5 and the
// 64 -> 64 layer on 56x56 went from 0.95-1.05x PyTorch-CPU's speed with the direct kernels to
// 1.16-1.41x, in all three directions; AlexNet's c2 (5x5, 48 -> 128 channels a group) forward
// 7.5 -> 4.9 ms, backward-data 8.0 -> 6.6 ms, backward-filter 8.0 -> 5.9 ms (`node dist/bench/conv_ab.js CONVNET_WINOGRAD 0 1 --threads 2 "alex c2"`).
// Dilated layers (all three directions): tiles whose outputs lie d apart (see Tiling), read in
// place; split instead into their dilation phases (dense convolutions of subsampled images,
// copied out and back) they had measured 1.25-2x slower than the direct kernels. The 56x56
// 64 -> 64 layers at dilation 2 and 4 (`node dist/bench/conv_ab.js CONVNET_WINOGRAD 0 1
// --threads 2 dilated`): forward and backward-data 0.77-0.78x the direct kernels' time,
// backward-filter 0.86-0.88x.
// AVX2 + FMA (scripts/avx2-check.sh's build on the Zen 4 VM, 2 threads; there the alternative is
// im2col + the AVX2 GEMM, direct32 being AVX-512 only): AlexNet c2-c5 0.49-0.74x the
// time in all three directions (c2 forward 44.0 -> 21.6 ms, c3 26.8 -> 16.5), the 56x56 64 -> 64
// layers at dilation 1, 2 and 4 0.52-0.82x (`CONVNET_ADDON=$PWD/build-avx2/Release/convnet.node
// node dist/bench/conv_ab.js CONVNET_WINOGRAD 0 1 --threads 2 alex dilated`).
// CONVNET_WINOGRAD=0 turns it off (conv2d.cc).
#include "cpu/conv2d_winograd.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/conv2d_internal.h"
#include "cpu/gemm.h"

// Only with AVX-512 or AVX2 + FMA (conv2d.cc asks for the GEMM's kernel of one first);
// CONVNET_PORTABLE_ONLY builds the fallbacks alone (to check that they compile on x86 too).
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(CONVNET_PORTABLE_ONLY)
#define CONVNET_WINOGRAD 1
#include <immintrin.h>

#include "cpu/intrinsic_lanes.h"
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

// Masks of 16 lanes are their bits on every instruction set (intrinsic_lanes.h).
// The lanes of v0 + [0, 16) inside [lo, hi).
inline __mmask16 inside(int64_t lo, int64_t hi, int64_t v0) {
  const int64_t a = std::clamp<int64_t>(lo - v0, 0, 16), b = std::clamp<int64_t>(hi - v0, 0, 16);
  const uint32_t upto_b = b >= 16 ? 0xFFFFu : (1u << b) - 1, below_a = (1u << a) - 1;
  return static_cast<__mmask16>(upto_b & ~below_a);
}

// The mask of lanes [a, b).
inline __mmask16 lanes(int64_t a, int64_t b) {
  const uint32_t below_b = b >= 16 ? 0xFFFFu : (1u << b) - 1, below_a = (1u << a) - 1;
  return static_cast<__mmask16>(b > a ? below_b & ~below_a : 0u);
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
// the odd ones). Rows likewise: tile row ta starts at row origin(ta). The columns of b and b + 1
// lie within the same 32 (origin(l) + d < 32 for d up to 8): one pair of loads at 2 tb0 + b d
// serves both, permuted by pattern and by next = pattern + d. (A pair for each b took 1.19-1.32x
// the time in all three directions of the 56x56 64 -> 64 layers at dilation 2 and 4: `node
// dist/bench/conv_ab.js` with a throwaway switch, `--threads 2 "dilated d4" "dilated d2"`.)
struct Tiling {
  int64_t TH, TW, d;
  alignas(64) int32_t pattern[16];  // the lanes' first columns relative to 2 tb0: origin(l)
  alignas(64) int32_t next[16];     // origin(l) + d: the columns d further on, from the same 32
  // Dilated outputs: column 2 tb0 + j (j < 32) of 16 tiles from tb0 (a multiple of d) is the
  // first output of one of them (lane l of the first vector: index l) or its second (16 + l).
  alignas(64) int32_t unzip[32];
  int64_t origin(int64_t i) const { return d == 1 ? 2 * i : 2 * d * (i / d) + i % d; }  // no division when dense
};

// Whole blocks of 2d outputs: tiles past the outputs compute zeros' transforms, never stored.
Tiling tiling_of(const WinogradConv& p) {
  const int64_t d = p.dil;
  Tiling f{ceil_div(p.Ho, 2 * d) * d, ceil_div(p.Wo, 2 * d) * d, d, {}, {}, {}};
  for (int l = 0; l < 16; ++l) f.pattern[l] = static_cast<int32_t>(f.origin(l)), f.next[l] = static_cast<int32_t>(f.origin(l) + d);
  for (int64_t j = 0; j < 32; ++j) {
    const int64_t q = j / (2 * d), r = j % (2 * d);
    f.unzip[j] = static_cast<int32_t>(d * q + r % d + (r < d ? 0 : 16));
  }
  return f;
}

// The forward's items: a run of tiles [t0, t1) of one group across the batch, for the group's
// output channels [k0, k1): tile t is tile t % TW of tile row r = t / TW, which is
// tile row r % TH of image r / TH.
struct Item {
  int64_t gi, t0, t1;
  int64_t k0 = 0, k1 = 0;
};

// The transpose of a constant matrix, for apply(): A = (A^T)^T and G^T.
template <int kRows, int kCols>
struct Transposed {
  float m[kCols][kRows];
  constexpr explicit Transposed(const float (&a)[kRows][kCols]) : m{} {
    for (int i = 0; i < kRows; ++i)
      for (int j = 0; j < kCols; ++j) m[j][i] = a[i][j];
  }
};

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
  void issue(const float* src, int64_t c, int64_t v) const {
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

// The tiles of a chunk: V and W of ~`floats` floats.
template <int R>
int64_t chunk_tiles(const WinogradConv& p, int64_t total, int64_t floats, int64_t least) {
  constexpr int XI = Transform<R>::A * Transform<R>::A;
  return std::clamp<int64_t>((floats / (XI * (p.C + p.K) / p.groups)) / 16 * 16, least, ceil_div(total, 16) * 16);
}

// The most parts filter_sums_by_parts cuts the tiles into: a fixed number (the sums must not
// depend on the thread count) that shares out evenly over 1, 2, 4 or 8 threads.
constexpr int64_t kFilterParts = 8;

// The kernels, once per instruction set (see the top of conv2d_winograd_kernels.inc).
namespace avx512 {
using Lanes = Lanes512;
#define CONVNET_WINOGRAD_TARGET __attribute__((target("avx512f")))
#include "cpu/conv2d_winograd_kernels.inc"
#undef CONVNET_WINOGRAD_TARGET
}  // namespace avx512

namespace avx2 {
using Lanes = Lanes256x2;
#define CONVNET_WINOGRAD_TARGET __attribute__((target("avx2,fma")))
#include "cpu/conv2d_winograd_kernels.inc"
#undef CONVNET_WINOGRAD_TARGET
}  // namespace avx2

// The instruction set of the GEMM's kernel: the kernels read V in its panels (16 columns on
// both) and run where it runs. conv2d.cc's winograd_applies asks for one of these two.
bool on_avx512() {
  if (std::strcmp(sgemm_kernel_name(), "avx512") == 0) return true;
  if (std::strcmp(sgemm_kernel_name(), "avx2") == 0) return false;
  fail("E_INTERNAL", "the Winograd convolution needs the GEMM's AVX-512 or AVX2 kernel");
}

}  // namespace

void winograd_conv2d(const float* px, const WinogradConv& p, float* py) {
  const bool wide = on_avx512();
  if (p.R == 5) return wide ? avx512::winograd_conv2d_r<5>(px, p, py) : avx2::winograd_conv2d_r<5>(px, p, py);
  wide ? avx512::winograd_conv2d_r<3>(px, p, py) : avx2::winograd_conv2d_r<3>(px, p, py);
}

void winograd_conv2d_backward_filter(const float* px, const float* pdy, const WinogradConv& p, float* pdw) {
  const bool wide = on_avx512();
  if (p.R == 5) {
    return wide ? avx512::winograd_backward_filter_r<5>(px, pdy, p, pdw) : avx2::winograd_backward_filter_r<5>(px, pdy, p, pdw);
  }
  wide ? avx512::winograd_backward_filter_r<3>(px, pdy, p, pdw) : avx2::winograd_backward_filter_r<3>(px, pdy, p, pdw);
}

#else  // never called where there is no x86 SIMD (see conv2d.cc's winograd_applies)

void winograd_conv2d(const float*, const WinogradConv&, float*) {
  fail("E_INTERNAL", "the Winograd convolution needs AVX-512 or AVX2 and this build has neither");
}
void winograd_conv2d_backward_filter(const float*, const float*, const WinogradConv&, float*) {
  fail("E_INTERNAL", "the Winograd convolution needs AVX-512 or AVX2 and this build has neither");
}

#endif
}  // namespace cpu
}  // namespace convnet
