// conv2d: forward, backward-data and backward-filter (the formula is in nn_ops.h).
//
// Method, chosen from the shapes:
//   - groups == C > 1 (depthwise, one input channel per group): direct loops, depthwise_conv2d.cc.
//   - on CPUs with AVX-512, direct kernels that read the image itself (no im2col, no packing):
//       at most 8 output channels a group, stride 1 along rows (LeNet's c1; c3's backward-data):
//         lanes along the row (direct_narrow);
//       4..16 output channels (LeNet's c3): lanes across channels (direct_forward);
//       more, stride 1 (AlexNet c2-c5, the dilated layers, their backward-data): blocks of 32
//         or 48 channels (direct32);
//       backward-filter for kernel widths 3, 5, 11 (direct_filter).
//     Backward-data at stride 1 is the forward convolution of dy with the flipped, transposed
//     weights, so the forward kernels serve it too.
//   - 1x1 kernel, stride 1, no padding: x[n] already is the [C, H*W] matrix that im2col would
//     build, so forward and backward-data are one strided-batched GEMM over the images.
//   - otherwise im2col + GEMM. For each group, a chunk of nb images is unrolled into
//     col[Cg*kh*kw, nb*Ho*Wo] (image j's columns start at j*Ho*Wo), then
//       forward          y_chunk[Kg, nb*HoWo] = w_g[Kg, CKK] col
//       backward-data    dcol = w_g^T dy_chunk, and col2im adds dcol into dx
//       backward-filter  partial_chunk = dy_chunk col^T   (GEMM K = nb*HoWo)
//     Several images per GEMM widen its N (or K) when Ho*Wo is small (LeNet's 10x10,
//     AlexNet's 13x13), where a GEMM per image would be too thin to run at speed.
//
// Threads and determinism. Every output element of forward and backward-data is one GEMM
// dot product of a fixed length (CKK or Kg, whatever nb is), and the GEMM's bits do not depend
// on its thread count (gemm.h); col2im adds into one dx element in a fixed loop order. So the
// work may be split freely: over (chunk, group) items, each thread running im2col and the
// GEMM inline, when there are enough items; else item by item, with im2col split over
// channels and the GEMM using all threads. The backward-filter reduction over the batch is
// cut into chunks fixed by the shapes alone; each chunk's partial dw is a GEMM, and the
// partials are added into dw in chunk order (dw = p0, dw += p1, ...) however many of them
// were computed at once. nb depends on the shapes only.
#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/conv2d_winograd.h"
#include "cpu/gemm.h"
#include "cpu/nn_ops.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "cpu/simd_transpose.h"
#endif

namespace convnet {
namespace cpu {
namespace {

// Below this many flops the GEMM runs on the calling thread anyway (gemm.cc's threshold).
constexpr double kGemmThreadedFlops = 4e6;

struct Dims {
  int64_t N, C, H, W;     // x
  int64_t K, kh, kw;      // w [K, Cg, kh, kw]
  int64_t Ho, Wo;         // y
  int64_t groups, Cg, Kg;
  int64_t ckk;            // rows of col: Cg * kh * kw
  int64_t hw, hw_out;     // H * W, Ho * Wo
};

Dims dims_of(const Shape& x, const Shape& w, const Shape& y, int64_t groups) {
  Dims d;
  d.N = x[0], d.C = x[1], d.H = x[2], d.W = x[3];
  d.K = w[0], d.kh = w[2], d.kw = w[3];
  d.Ho = y[2], d.Wo = y[3];
  d.groups = groups;
  d.Cg = d.C / groups, d.Kg = d.K / groups;
  d.ckk = d.Cg * d.kh * d.kw;
  d.hw = d.H * d.W, d.hw_out = d.Ho * d.Wo;
  return d;
}

int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

bool is_pointwise(const Dims& d, const Conv2dGeometry& g) {
  return d.kh == 1 && d.kw == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 0 && g.pad_left == 0 &&
         d.Ho == d.H && d.Wo == d.W;
}

// Images per im2col chunk: enough for ~512 GEMM columns, with col under ~8 MiB.
int64_t images_per_chunk(const Dims& d) {
  int64_t nb = ceil_div(512, std::max<int64_t>(d.hw_out, 1));
  nb = std::min(nb, std::max<int64_t>(1, (int64_t{2} << 20) / std::max<int64_t>(d.ckk * d.hw_out, 1)));
  return std::max<int64_t>(1, std::min(nb, d.N));
}

// Scratch memory (col, gathered dy, GEMM outputs, partial dw), kept per thread and per use
// between calls: a fresh multi-megabyte allocation per call costs a page fault per 4 KiB, a
// large share of a small convolution's time. Grows to the largest request; an op never holds
// more than its chunk size allows (~8 MiB of col). slot < kScratchSlots.
constexpr int kScratchSlots = 3;
float* scratch(int slot, int64_t n) {
  thread_local std::vector<float> buffers[kScratchSlots];
  std::vector<float>& b = buffers[slot];
  if (static_cast<int64_t>(b.size()) < n) {
    b = std::vector<float>();  // free first, so that old and new do not coexist
    b.resize(static_cast<size_t>(n));
  }
  return b.data();
}

// The output columns [ow_lo, ow_hi) whose input column ow*stride_w - pad_left + j*dilation_w
// falls inside [0, W); the others read the zero padding.
void valid_columns(const Dims& d, const Conv2dGeometry& g, int64_t j, int64_t* ow_lo, int64_t* ow_hi) {
  const int64_t shift = g.pad_left - j * g.dilation_w;
  *ow_lo = std::clamp<int64_t>(ceil_div(shift, g.stride_w), 0, d.Wo);
  *ow_hi = std::clamp<int64_t>(ceil_div(d.W + shift, g.stride_w), *ow_lo, d.Wo);
}

// col[(c*kh + i)*kw + j][oh*Wo + ow] = x[c, oh*sh - pt + i*dh, ow*sw - pl + j*dw] (0 outside),
// for channels c in [c0, c1) of one image's group (x points at the group's first channel).
// Rows are `ld` floats apart.
void im2col(const float* x, const Dims& d, const Conv2dGeometry& g, int64_t c0, int64_t c1, float* col, int64_t ld) {
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t i = 0; i < d.kh; ++i) {
      for (int64_t j = 0; j < d.kw; ++j) {
        float* row = col + ((c * d.kh + i) * d.kw + j) * ld;
        int64_t lo, hi;
        valid_columns(d, g, j, &lo, &hi);
        const int64_t offset = j * g.dilation_w - g.pad_left;
        for (int64_t oh = 0; oh < d.Ho; ++oh) {
          float* out = row + oh * d.Wo;
          const int64_t ih = oh * g.stride_h - g.pad_top + i * g.dilation_h;
          if (ih < 0 || ih >= d.H) {
            std::fill(out, out + d.Wo, 0.0f);
            continue;
          }
          const float* in = x + (c * d.H + ih) * d.W + offset;
          std::fill(out, out + lo, 0.0f);
          if (g.stride_w == 1) {
            std::memcpy(out + lo, in + lo, sizeof(float) * (hi - lo));
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) out[ow] = in[ow * g.stride_w];
          }
          std::fill(out + hi, out + d.Wo, 0.0f);
        }
      }
    }
  }
}

// The adjoint of im2col: dx[c, ih, iw] += col[...] for channels [c0, c1), in the fixed order
// (c, i, j, oh, ow).
void col2im_add(const float* col, int64_t ld, const Dims& d, const Conv2dGeometry& g, int64_t c0, int64_t c1, float* dx) {
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t i = 0; i < d.kh; ++i) {
      for (int64_t j = 0; j < d.kw; ++j) {
        const float* row = col + ((c * d.kh + i) * d.kw + j) * ld;
        int64_t lo, hi;
        valid_columns(d, g, j, &lo, &hi);
        const int64_t offset = j * g.dilation_w - g.pad_left;
        for (int64_t oh = 0; oh < d.Ho; ++oh) {
          const int64_t ih = oh * g.stride_h - g.pad_top + i * g.dilation_h;
          if (ih < 0 || ih >= d.H) continue;
          const float* in = row + oh * d.Wo;
          float* out = dx + (c * d.H + ih) * d.W + offset;
          if (g.stride_w == 1) {
            for (int64_t ow = lo; ow < hi; ++ow) out[ow] += in[ow];
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) out[ow * g.stride_w] += in[ow];
          }
        }
      }
    }
  }
}

// planes[p * plane + q] = b[p % channels] (or 0) for p in [p0, p1).
void fill_planes(float* planes, int64_t p0, int64_t p1, int64_t plane, int64_t channels, const float* b) {
  for (int64_t p = p0; p < p1; ++p) std::fill(planes + p * plane, planes + (p + 1) * plane, b ? b[p % channels] : 0.0f);
}

void add_bias_planes(float* planes, int64_t p0, int64_t p1, int64_t plane, int64_t channels, const float* b) {
  for (int64_t p = p0; p < p1; ++p) {
    const float v = b[p % channels];
    for (float* q = planes + p * plane; q < planes + (p + 1) * plane; ++q) *q += v;
  }
}

// Runs items [0, n) either all at once, one per thread (each item then uses one thread), or one
// after another (each item using every thread). Either way each output is computed the same way.
template <typename Item>
void run_items(int64_t n, double flops_per_item, Item item) {
  const int64_t threads = num_threads();
  const bool spread = n >= 4 * threads || n % threads == 0 || flops_per_item < kGemmThreadedFlops;
  if (spread) {
    parallel_for(n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) item(t, false);
    });
  } else {
    for (int64_t t = 0; t < n; ++t) item(t, true);
  }
}

// Calls fn(c0, c1) over [0, n): split over threads when `threaded`, else inline.
template <typename Fn>
void maybe_parallel(bool threaded, int64_t n, Fn fn) {
  if (threaded) {
    parallel_for(n, 1, [&](int64_t b, int64_t e) { fn(b, e); });
  } else {
    fn(0, n);
  }
}

bool is_depthwise(const Dims& d) { return d.Cg == 1 && d.groups == d.C && d.C > 1; }

// Row r = (c*kh + i)*kw + j of the column matrix of a whole batch, columns [t, t + len): column
// t is position t % HoWo of image t / HoWo. x points at image 0's first channel of the group,
// images are image_stride floats apart. The same values im2col writes, without a column matrix.
void col_row(const float* x, int64_t image_stride, const Dims& d, const Conv2dGeometry& g, int64_t r, int64_t t,
             int64_t len, float* out) {
  const int64_t c = r / (d.kh * d.kw), i = (r / d.kw) % d.kh, j = r % d.kw;
  int64_t lo, hi;
  valid_columns(d, g, j, &lo, &hi);
  const int64_t offset = j * g.dilation_w - g.pad_left;
  while (len > 0) {
    const int64_t n = t / d.hw_out;
    int64_t q = t % d.hw_out;
    const int64_t seg = std::min(len, d.hw_out - q);
    const float* xc = x + n * image_stride + c * d.hw;
    for (int64_t end = q + seg; q < end;) {
      const int64_t oh = q / d.Wo, ow0 = q % d.Wo, ow1 = std::min(d.Wo, ow0 + (end - q));
      const int64_t ih = oh * g.stride_h - g.pad_top + i * g.dilation_h;
      if (ih < 0 || ih >= d.H) {
        std::fill(out, out + (ow1 - ow0), 0.0f);
      } else {
        const int64_t a = std::clamp(lo, ow0, ow1), b = std::clamp(hi, a, ow1);
        const float* in = xc + ih * d.W + offset;
        float* o = out - ow0;
        std::fill(o + ow0, o + a, 0.0f);
        if (g.stride_w == 1) {
          std::memcpy(o + a, in + a, sizeof(float) * (b - a));
        } else {
          for (int64_t ow = a; ow < b; ++ow) o[ow] = in[ow * g.stride_w];
        }
        std::fill(o + b, o + ow1, 0.0f);
      }
      out += ow1 - ow0;
      q += ow1 - ow0;
    }
    t += seg;
    len -= seg;
  }
}

// Forward's B operand, per image (the GEMM's batch item): col[ckk, HoWo] of image `item`,
// written straight into the GEMM's panels a row at a time.
class ImageColumns : public SgemmPanelSource {
 public:
  // across_batch: one problem whose columns run over every image (else one per image).
  ImageColumns(const float* x, const Dims& d, const Conv2dGeometry& g, bool across_batch)
      : x_(x), d_(d), g_(g), across_batch_(across_batch) {}
  void pack(int64_t item, int64_t p0, int64_t kc, int64_t j0, int64_t n, float* dst) const override {
    const int64_t NR = sgemm_panel_width(), panels = ceil_div(n, NR);
    thread_local std::vector<float> row;
    if (static_cast<int64_t>(row.size()) < panels * NR) row.resize(panels * NR);
    std::fill(row.begin() + n, row.begin() + panels * NR, 0.0f);
    const float* x = x_ + (across_batch_ ? 0 : item * d_.C * d_.hw);
    const int64_t image_stride = across_batch_ ? d_.C * d_.hw : 0;
    // Fixed-size copies (inlined as vector moves) rather than a memcpy call per panel row.
    if (NR == 32) return pack_rows<32>(x, image_stride, p0, kc, j0, n, panels, row.data(), dst);
    if (NR == 16) return pack_rows<16>(x, image_stride, p0, kc, j0, n, panels, row.data(), dst);
    for (int64_t k = 0; k < kc; ++k) {
      col_row(x, image_stride, d_, g_, p0 + k, j0, n, row.data());
      for (int64_t q = 0; q < panels; ++q) std::memcpy(dst + (q * kc + k) * NR, row.data() + q * NR, sizeof(float) * NR);
    }
  }

 private:
  template <int NR>
  void pack_rows(const float* x, int64_t image_stride, int64_t p0, int64_t kc, int64_t j0, int64_t n, int64_t panels,
                 float* row, float* dst) const {
    for (int64_t k = 0; k < kc; ++k) {
      col_row(x, image_stride, d_, g_, p0 + k, j0, n, row);
      float* out = dst + k * NR;
      for (int64_t q = 0; q < panels; ++q, out += kc * NR) std::memcpy(out, row + q * NR, sizeof(float) * NR);
    }
  }

  const float* x_;
  const Dims& d_;
  const Conv2dGeometry& g_;
  bool across_batch_;
};

// y = conv(x, w) + b by im2col GEMMs, one per group: y_g[n] = w_g[Kg, ckk] col_g[n], with w_g
// packed once for the whole batch and col's panels built from x. Every y element is one GEMM
// dot product whose order depends on ckk alone.
void forward_gemm(const float* px, const float* pw, const float* pb, const Dims& d, const Conv2dGeometry& g,
                  float* py) {
  // A GEMM per image when its HoWo columns fill the micro-tiles (a partial tile at the right
  // edge costs about as much as a full one); else one GEMM over the whole batch into a
  // scratch [Kg, N*HoWo], copied out image by image (AlexNet's 13x13: 169 columns would run
  // as 6 tiles of 32, the batch's 1352 as 42.25).
  const int64_t NR = sgemm_panel_width();
  const bool per_image = ceil_div(d.hw_out, NR) * NR * 100 <= d.hw_out * 103;
  if (pb && per_image) {
    parallel_for(d.N * d.K, std::max<int64_t>(1, 16384 / std::max<int64_t>(d.hw_out, 1)),
                 [&](int64_t p0, int64_t p1) { fill_planes(py, p0, p1, d.hw_out, d.K, pb); });
  }
  float* packed = scratch(2, sgemm_packed_a_floats(d.Kg, d.ckk));
  const int64_t cols = d.N * d.hw_out;
  float* out = per_image ? nullptr : scratch(1, d.Kg * cols);
  for (int64_t gi = 0; gi < d.groups; ++gi) {
    sgemm_pack_a(false, d.Kg, d.ckk, pw + gi * d.Kg * d.ckk, d.ckk, packed);
    const ImageColumns src(px + gi * d.Cg * d.hw, d, g, !per_image);
    if (per_image) {
      sgemm_packed(d.Kg, d.hw_out, d.ckk, 1.0f, packed, src, pb ? 1.0f : 0.0f, py + gi * d.Kg * d.hw_out,
                   d.hw_out, d.K * d.hw_out, d.N);
      continue;
    }
    sgemm_packed(d.Kg, cols, d.ckk, 1.0f, packed, src, 0.0f, out, cols, 0, 1);
    parallel_for(d.N * d.Kg, std::max<int64_t>(1, 16384 / d.hw_out), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / d.Kg, k = r % d.Kg;
        const float* from = out + k * cols + n * d.hw_out;
        float* to = py + (n * d.K + gi * d.Kg + k) * d.hw_out;
        const float bias = pb ? pb[gi * d.Kg + k] : 0.0f;
        for (int64_t q = 0; q < d.hw_out; ++q) to[q] = from[q] + bias;
      }
    });
  }
}

// ---- Direct forward for few output channels (AVX-512) ----
// LeNet's 6->16 5x5 on 14x14 images is a GEMM of 16 rows by 150 deep by 100 columns per
// image: im2col writes 6x the input and the 16-row product cannot fill the GEMM's 14x32
// tiles. Here the Kg <= 16 output channels of a group are one vector lane each instead:
// for a run of UW output positions of one row, acc[u] (Kg channels) += x[c, ih, iw_u]
// (broadcast, read from the image itself) * w[:, c, i, j] (one vector of the transposed
// weights), over (c, i, j) in order. Every output is one FMA chain over the ckk taps in a
// fixed order, then + bias, whatever the thread count (threads split images and rows).
// Padding: images with padding are first copied into a zero-bordered buffer.
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define CONVNET_CONV_DIRECT 1

struct DirectArgs {
  const float* x;      // the (padded) image's group: channel planes of xs floats, rows of ws
  int64_t xs, ws;
  const float* wt;     // [ckk][16] transposed weights of the group
  const int64_t* tap;  // [ckk] offset of tap r from an output position's top-left input
  int64_t ckk;
  int64_t sw;          // stride_w
  const float* bias;   // 16 floats (zero past Kg)
  float* y;            // y[k * ys + u] for k < kg, u < UW
  int64_t ys;
  int kg;
};

template <int UW>
struct DirectRow {
  __attribute__((target("avx512f"))) static void run(const DirectArgs& a) {
    __m512 acc[UW];
#pragma GCC unroll 16
    for (int u = 0; u < UW; ++u) acc[u] = _mm512_setzero_ps();
    const float* wt = a.wt;
    for (int64_t r = 0; r < a.ckk; ++r, wt += 16) {
      const __m512 w = _mm512_loadu_ps(wt);
      const float* xr = a.x + a.tap[r];
#pragma GCC unroll 16
      for (int u = 0; u < UW; ++u) acc[u] = _mm512_fmadd_ps(_mm512_set1_ps(xr[u * a.sw]), w, acc[u]);
    }
    const __m512 b = _mm512_loadu_ps(a.bias);
    alignas(64) float t[UW][16];
#pragma GCC unroll 16
    for (int u = 0; u < UW; ++u) _mm512_store_ps(t[u], _mm512_add_ps(acc[u], b));
    for (int k = 0; k < a.kg; ++k) {
      float* yk = a.y + k * a.ys;
#pragma GCC unroll 16
      for (int u = 0; u < UW; ++u) yk[u] = t[u][k];
    }
  }
};

// Stride 1, no dilation, kw == KW: x[ih, ow0 + q] is tap j of position u = q - j, so each
// input value is broadcast once and used KW times, the KW weight vectors of (c, i) held in
// registers (UW + KW - 1 broadcasts per UW * KW FMAs rather than one per FMA). For a fixed
// u, j = q - u still runs upward: the same FMA chain, in the same order, as DirectRow.
template <int UW, int KW>
struct DirectRowSliding {
  __attribute__((target("avx512f"))) static void run(const DirectArgs& a) {
    __m512 acc[UW];
#pragma GCC unroll 16
    for (int u = 0; u < UW; ++u) acc[u] = _mm512_setzero_ps();
    const float* wt = a.wt;
    const int64_t rows = a.ckk / KW;  // (c, i) pairs; tap[r * KW] is their row's first tap
    for (int64_t r = 0; r < rows; ++r, wt += 16 * KW) {
      __m512 w[KW];
#pragma GCC unroll 8
      for (int j = 0; j < KW; ++j) w[j] = _mm512_loadu_ps(wt + 16 * j);
      const float* xr = a.x + a.tap[r * KW];
#pragma GCC unroll 32
      for (int q = 0; q < UW + KW - 1; ++q) {
        const __m512 xq = _mm512_set1_ps(xr[q]);
#pragma GCC unroll 8
        for (int j = 0; j < KW; ++j) {
          const int u = q - j;
          if (u >= 0 && u < UW) acc[u] = _mm512_fmadd_ps(xq, w[j], acc[u]);
        }
      }
    }
    const __m512 b = _mm512_loadu_ps(a.bias);
    alignas(64) float t[UW][16];
#pragma GCC unroll 16
    for (int u = 0; u < UW; ++u) _mm512_store_ps(t[u], _mm512_add_ps(acc[u], b));
    for (int k = 0; k < a.kg; ++k) {
      float* yk = a.y + k * a.ys;
#pragma GCC unroll 16
      for (int u = 0; u < UW; ++u) yk[u] = t[u][k];
    }
  }
};

constexpr int kDirectUW = 14;
using DirectFn = void (*)(const DirectArgs&);
template <int... I>
constexpr std::array<DirectFn, sizeof...(I)> direct_table(std::integer_sequence<int, I...>) {
  return {{&DirectRow<I + 1>::run...}};
}
constexpr auto kDirectRows = direct_table(std::make_integer_sequence<int, kDirectUW>{});
template <int KW, int... I>
constexpr std::array<DirectFn, sizeof...(I)> sliding_table(std::integer_sequence<int, I...>) {
  return {{&DirectRowSliding<I + 1, KW>::run...}};
}
constexpr auto kSliding3 = sliding_table<3>(std::make_integer_sequence<int, kDirectUW>{});
constexpr auto kSliding5 = sliding_table<5>(std::make_integer_sequence<int, kDirectUW>{});

bool direct_forward_applies(const Dims& d) {
  // Measured on Zen 5, 64 images, 1 thread: LeNet c3 (16 channels) 0.45 -> 0.15 ms, LeNet c1
  // (6 channels, 6 of 16 lanes used) 0.30 -> 0.25 ms against im2col + GEMM.
  return std::strcmp(sgemm_kernel_name(), "avx512") == 0 && d.Kg >= 4 && d.Kg <= 16 && d.ckk <= 1024 &&
         d.Wo >= 4;
}

void direct_forward(const float* px, const float* pw, const float* pb, const Dims& d, const Conv2dGeometry& g,
                    float* py) {
  // Transposed weights wt[gi][r][k] and biases, zero past Kg.
  std::vector<float> wt(d.groups * d.ckk * 16, 0.0f), bias(d.groups * 16, 0.0f);
  for (int64_t gi = 0; gi < d.groups; ++gi) {
    for (int64_t k = 0; k < d.Kg; ++k) {
      for (int64_t r = 0; r < d.ckk; ++r) wt[(gi * d.ckk + r) * 16 + k] = pw[(gi * d.Kg + k) * d.ckk + r];
      if (pb) bias[gi * 16 + k] = pb[gi * d.Kg + k];
    }
  }
  // The input region the outputs read: rows [-pad_top, -pad_top + hp), columns likewise.
  const int64_t hp = (d.Ho - 1) * g.stride_h + (d.kh - 1) * g.dilation_h + 1;
  const int64_t wp = (d.Wo - 1) * g.stride_w + (d.kw - 1) * g.dilation_w + 1;
  const bool padded = g.pad_top != 0 || g.pad_left != 0 || hp > d.H || wp > d.W;
  const int64_t xs = padded ? hp * wp : d.hw, ws = padded ? wp : d.W;
  std::vector<int64_t> tap(d.ckk);
  for (int64_t c = 0; c < d.Cg; ++c)
    for (int64_t i = 0; i < d.kh; ++i)
      for (int64_t j = 0; j < d.kw; ++j) tap[(c * d.kh + i) * d.kw + j] = c * xs + i * g.dilation_h * ws + j * g.dilation_w;

  parallel_for(d.N * d.groups, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t n = item / d.groups, gi = item % d.groups;
      const float* xg = px + (n * d.C + gi * d.Cg) * d.hw;
      if (padded) {
        float* buf = scratch(0, d.Cg * xs);
        for (int64_t c = 0; c < d.Cg; ++c) {
          for (int64_t r = 0; r < hp; ++r) {
            float* out = buf + c * xs + r * wp;
            const int64_t ih = r - g.pad_top;
            if (ih < 0 || ih >= d.H) {
              std::fill(out, out + wp, 0.0f);
              continue;
            }
            const float* in = xg + (c * d.H + ih) * d.W;
            for (int64_t q = 0; q < wp; ++q) {
              const int64_t iw = q - g.pad_left;
              out[q] = iw >= 0 && iw < d.W ? in[iw] : 0.0f;
            }
          }
        }
        xg = buf;
      }
      DirectArgs a;
      a.xs = xs, a.ws = ws, a.wt = wt.data() + gi * d.ckk * 16, a.tap = tap.data(), a.ckk = d.ckk;
      a.sw = g.stride_w, a.bias = bias.data() + gi * 16, a.ys = d.hw_out, a.kg = static_cast<int>(d.Kg);
      float* yg = py + (n * d.K + gi * d.Kg) * d.hw_out;
      const bool slide = g.stride_w == 1 && g.dilation_w == 1 && (d.kw == 3 || d.kw == 5);
      const auto& table = !slide ? kDirectRows : d.kw == 3 ? kSliding3 : kSliding5;
      for (int64_t oh = 0; oh < d.Ho; ++oh) {
        for (int64_t ow0 = 0; ow0 < d.Wo; ow0 += kDirectUW) {
          const int64_t uw = std::min<int64_t>(kDirectUW, d.Wo - ow0);
          a.x = xg + oh * g.stride_h * ws + ow0 * g.stride_w;
          a.y = yg + oh * d.Wo + ow0;
          table[uw - 1](a);
        }
      }
    }
  });
}

// GCC 12 warns, wrongly, that the _mm512_undefined_ps() inside its own intrinsics "may be used
// uninitialized" (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// out[q * bw + l] = l < kg ? in[l * ld + q] : 0 for q < positions, l < bw (16 or 32): a channel
// block of dy transposed to [position][bw] by 16 x 16 blocks.
__attribute__((target("avx512f"))) void transpose_block(const float* in, int64_t ld, int64_t kg, int64_t bw,
                                                        int64_t positions, float* out) {
  for (int64_t q0 = 0; q0 < positions; q0 += 16) {
    const int64_t nq = std::min<int64_t>(16, positions - q0);
    const __mmask16 mq = static_cast<__mmask16>(nq >= 16 ? 0xFFFF : (1u << nq) - 1);
    for (int64_t l0 = 0; l0 < bw; l0 += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i) r[i] = l0 + i < kg ? _mm512_maskz_loadu_ps(mq, in + (l0 + i) * ld + q0) : _mm512_setzero_ps();
      transpose16x16(r);
      for (int64_t x = 0; x < nq; ++x) _mm512_storeu_ps(out + (q0 + x) * bw + l0, r[x]);
    }
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// ---- Direct convolution for more output channels (AVX-512, stride 1) ----
// AlexNet's 3x3 layers on 13x13 and the dilated 64->64 layers as im2col + GEMM spent a third
// of their time around the GEMM's micro-kernel (im2col, packing both operands, edge tiles).
// Here the micro-kernel reads the image itself: a tile is 32 output channels (two vectors,
// the weights transposed to [tap][32] once per call) by UW <= 14 positions of one output row
// (stride 1, so the positions' inputs are UW consecutive floats of one input row, broadcast);
// per tap 2 vector loads, UW broadcasts and 2*UW FMAs, the GEMM kernel's 14 x 32 shape. Where
// blocks of 32 would leave one of 16 (AlexNet c2's backward-data: 48 channels a group), blocks
// of 48 instead: three vectors by UW <= 9 positions. Every output is one FMA chain over the
// ckk taps in order (c, i, j), then + bias; threads split (image, group, channel block) items,
// so the bits do not depend on the thread count. Padded images are first copied, a chunk at a
// time, into zero-bordered planes.
struct Direct32Args {
  const float* x;      // the (padded) image's group
  const float* wt;     // [ckk][bw] transposed weights of the channel block (zero past kg)
  int64_t bw;          // the block's width: 32 or 48 channels
  const int64_t* tap;  // [ckk] offset of tap r from an output position's top-left input
  int64_t ckk;
  const float* bias;   // bw floats (zero past kg)
  float* y;            // y[k * ys + u] for k < kg, u < UW
  int64_t ys;
  int kg;
};

// V vectors (16 channels each) of the block's 32: V = 1 for a last block of <= 16 channels.
template <int UW, int V>
struct Direct32Row {
  __attribute__((target("avx512f"))) static void run(const Direct32Args& a) {
    __m512 acc[UW][V];
#pragma GCC unroll 16
    for (int u = 0; u < UW; ++u)
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) acc[u][v] = _mm512_setzero_ps();
    const float* wt = a.wt;
    for (int64_t r = 0; r < a.ckk; ++r, wt += a.bw) {
      __m512 w[V];
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) w[v] = _mm512_loadu_ps(wt + 16 * v);
      const float* xr = a.x + a.tap[r];
#pragma GCC unroll 16
      for (int u = 0; u < UW; ++u) {
        const __m512 xb = _mm512_set1_ps(xr[u]);
#pragma GCC unroll 3
        for (int v = 0; v < V; ++v) acc[u][v] = _mm512_fmadd_ps(xb, w[v], acc[u][v]);
      }
    }
    alignas(64) float t[UW][16 * V];
#pragma GCC unroll 16
    for (int u = 0; u < UW; ++u)
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) _mm512_store_ps(t[u] + 16 * v, _mm512_add_ps(acc[u][v], _mm512_loadu_ps(a.bias + 16 * v)));
    for (int k = 0; k < a.kg; ++k) {
      float* yk = a.y + k * a.ys;
#pragma GCC unroll 16
      for (int u = 0; u < UW; ++u) yk[u] = t[u][k];
    }
  }
};

using Direct32Fn = void (*)(const Direct32Args&);
template <int V, int... I>
constexpr std::array<Direct32Fn, sizeof...(I)> direct32_table(std::integer_sequence<int, I...>) {
  return {{&Direct32Row<I + 1, V>::run...}};
}
// Positions per tile for V vectors: UW * V accumulators + V weights + 1 broadcast within the
// 32 registers.
constexpr int direct32_positions(int v) { return v == 3 ? 9 : kDirectUW; }
constexpr auto kDirect48Rows = direct32_table<3>(std::make_integer_sequence<int, direct32_positions(3)>{});
constexpr auto kDirect32Rows = direct32_table<2>(std::make_integer_sequence<int, direct32_positions(2)>{});
constexpr auto kDirect16Rows = direct32_table<1>(std::make_integer_sequence<int, direct32_positions(1)>{});

bool direct32_applies(const Dims& d, const Conv2dGeometry& g) {
  // Wo >= 12: a tile of fewer positions has too few independent FMA chains (and the GEMM's
  // wide tiles do better on tiny images).
  return std::strcmp(sgemm_kernel_name(), "avx512") == 0 && d.Kg > 16 && g.stride_w == 1 && d.Wo >= 12 &&
         d.kh * d.kw > 1 && d.N > 0;
}

// Copies `planes` image planes (H x W) into hp x wp planes with pad_top rows and pad_left
// columns of zeros before them and zeros after (the direct kernels read no bounds), in parallel.
void copy_padded(const float* src, int64_t planes, const Dims& d, const Conv2dGeometry& g, int64_t hp, int64_t wp,
                 float* dst) {
  const int64_t xs = hp * wp;
  const int64_t lo = std::clamp<int64_t>(g.pad_left, 0, wp), hi = std::clamp<int64_t>(g.pad_left + d.W, lo, wp);
  parallel_for(planes, std::max<int64_t>(1, 16384 / xs), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* in = src + p * d.hw;
      for (int64_t r = 0; r < hp; ++r) {
        float* out = dst + p * xs + r * wp;
        const int64_t ih = r - g.pad_top;
        if (ih < 0 || ih >= d.H) {
          std::fill(out, out + wp, 0.0f);
          continue;
        }
        std::fill(out, out + lo, 0.0f);
        std::memcpy(out + lo, in + ih * d.W + (lo - g.pad_left), sizeof(float) * (hi - lo));
        std::fill(out + hi, out + wp, 0.0f);
      }
    }
  });
}

// The input of the direct kernels that read whole rows (stride_w 1): the region the outputs
// read, rows [-pad_top, -pad_top + hp) and columns [-pad_left, -pad_left + wp) of each plane;
// x itself when that needs no padding, else zero-bordered copies of ~8 MiB of images at a time.
struct PaddedInput {
  int64_t hp, wp;  // the region's rows and columns
  int64_t xs, ws;  // floats per plane and per row of what the kernels read
  bool padded;

  PaddedInput(const Dims& d, const Conv2dGeometry& g)
      : hp((d.Ho - 1) * g.stride_h + (d.kh - 1) * g.dilation_h + 1),
        wp((d.Wo - 1) * g.stride_w + (d.kw - 1) * g.dilation_w + 1),
        padded(g.pad_top != 0 || g.pad_left != 0 || hp > d.H || wp > d.W) {
    xs = padded ? hp * wp : d.hw;
    ws = padded ? wp : d.W;
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

// y = conv(x, w) + b by the tiles above. The weight of output channel k of group gi at tap
// r < ckk is pw[gi * group_stride + k * k_stride + offset[r]]: the forward's w itself, or
// backward-data's flipped transpose of it.
void direct32(const float* px, const float* pw, int64_t group_stride, int64_t k_stride, const std::vector<int64_t>& offset,
              const float* pb, const Dims& d, const Conv2dGeometry& g, float* py) {
  // AlexNet c2's backward-data, 2 threads: 8.3 ms in blocks of 32 + 16, 8.0 ms in blocks of 48.
  const int64_t bw = d.Kg % 32 != 0 && d.Kg % 48 == 0 ? 48 : 32;
  const int64_t blocks = ceil_div(d.Kg, bw), items = d.groups * blocks;
  bool identity = true;  // offset[r] == r: the rows of w are the blocks' rows as they are
  for (int64_t r = 0; r < d.ckk; ++r) identity = identity && offset[r] == r;
  float* wt = scratch(1, items * (d.ckk + 1) * bw);  // per (group, block): [ckk][bw] weights, then bw biases
  parallel_for(items, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t gi = item / blocks, k0 = (item % blocks) * bw, kg = std::min(bw, d.Kg - k0);
      float* dst = wt + item * (d.ckk + 1) * bw;
      const float* base = pw + gi * group_stride + k0 * k_stride;
      // The block's weights as rows [kg][ckk] (the forward's w is that already; backward-data's
      // flipped transpose is gathered first), then transposed 16 x 16 at a time: element by
      // element, this took 5% of AlexNet c3's forward.
      const float* rows = base;
      if (!identity) {
        thread_local std::vector<float> gathered;
        gathered.resize(kg * d.ckk);
        for (int64_t l = 0; l < kg; ++l)
          for (int64_t r = 0; r < d.ckk; ++r) gathered[l * d.ckk + r] = base[l * k_stride + offset[r]];
        rows = gathered.data();
      }
      transpose_block(rows, identity ? k_stride : d.ckk, kg, bw, d.ckk, dst);
      for (int64_t l = 0; l < bw; ++l) dst[d.ckk * bw + l] = pb && l < kg ? pb[gi * d.Kg + k0 + l] : 0.0f;
    }
  });
  const PaddedInput in(d, g);
  const std::vector<int64_t> tap = in.taps(d, g);
  in.for_chunks(px, d, g, [&](int64_t n0, int64_t images, const float* xsrc) {
    // Few (image, group, block) items (a batch of one): bands of output rows too, so that every
    // thread has work. Which thread computes an output changes nothing in it.
    const int64_t bands = std::clamp<int64_t>(ceil_div(4 * num_threads(), images * items), 1, d.Ho);
    const int64_t band_rows = ceil_div(d.Ho, bands);
    parallel_for(images * items * bands, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t ib = i0; ib < i1; ++ib) {
        const int64_t it = ib / bands, oh0 = (ib % bands) * band_rows, oh1 = std::min(d.Ho, oh0 + band_rows);
        const int64_t j = it / items, item = it % items, gi = item / blocks, k0 = (item % blocks) * bw;
        Direct32Args a;
        a.wt = wt + item * (d.ckk + 1) * bw, a.bw = bw, a.bias = a.wt + d.ckk * bw, a.tap = tap.data(), a.ckk = d.ckk;
        a.ys = d.hw_out, a.kg = static_cast<int>(std::min(bw, d.Kg - k0));
        const float* xg = xsrc + (j * d.C + gi * d.Cg) * in.xs;
        float* yg = py + ((n0 + j) * d.K + gi * d.Kg + k0) * d.hw_out;
        const int vectors = (a.kg + 15) / 16;
        const Direct32Fn* table = vectors == 3 ? kDirect48Rows.data() : vectors == 2 ? kDirect32Rows.data() : kDirect16Rows.data();
        // The row in tiles of (nearly) equal width: 27 = 9 + 9 + 9 at V = 3.
        const int64_t tiles = ceil_div(d.Wo, direct32_positions(vectors)), width = ceil_div(d.Wo, tiles);
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          for (int64_t ow0 = 0; ow0 < d.Wo; ow0 += width) {
            const int64_t uw = std::min(width, d.Wo - ow0);
            a.x = xg + oh * g.stride_h * in.ws + ow0;
            a.y = yg + oh * d.Wo + ow0;
            table[uw - 1](a);
          }
        }
      }
    });
  });
}

// ---- Direct convolution for few output channels, lanes along the row (AVX-512, stride_w 1) ----
// LeNet's backward-data (dy's 16 channels back to x's 6, 5x5, 10x10 -> 14x14) has too few
// output channels for either kernel above (6 of 16 lanes) and an inner GEMM dimension of 16.
// Here the vector lanes are 16 consecutive output positions of a row instead: a tile is R
// output rows by KG <= 8 output channels, per tap r one load of 16 inputs per row and KG
// broadcast weights, R * KG FMAs. Every output is one FMA chain over the ckk taps in order,
// then + bias, whatever the thread count (threads split images, groups and row blocks).
struct NarrowArgs {
  const float* x;      // the (padded) image's group, at the tile's first output row and column
  const float* wt;     // [ckk][KG] weights, tap-major
  const int64_t* tap;  // [ckk] offset of tap r from an output position's input
  int64_t ckk;
  int64_t row_step;    // floats between the inputs of consecutive output rows (stride_h * ws)
  const float* bias;   // KG floats
  float* y;            // output channel 0, the tile's first row and column
  int64_t ys, yw;      // floats between y's channel planes, and between its rows
  __mmask16 cols;      // the tile's columns (of 16)
};

template <int R, int KG>
struct NarrowTile {
  __attribute__((target("avx512f"))) static void run(const NarrowArgs& a) {
    __m512 acc[R][KG];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int c = 0; c < KG; ++c) acc[r][c] = _mm512_setzero_ps();
    const float* wt = a.wt;
    for (int64_t t = 0; t < a.ckk; ++t, wt += KG) {
      const float* xr = a.x + a.tap[t];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        // Masked: the columns past the tile's may lie past the end of x.
        const __m512 v = _mm512_maskz_loadu_ps(a.cols, xr + r * a.row_step);
#pragma GCC unroll 8
        for (int c = 0; c < KG; ++c) acc[r][c] = _mm512_fmadd_ps(v, _mm512_set1_ps(wt[c]), acc[r][c]);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int c = 0; c < KG; ++c)
        _mm512_mask_storeu_ps(a.y + c * a.ys + r * a.yw, a.cols, _mm512_add_ps(acc[r][c], _mm512_set1_ps(a.bias[c])));
  }
};

using NarrowFn = void (*)(const NarrowArgs&);
// Rows per tile for KG channels: R * KG accumulators + KG broadcasts + 1 input within the 32
// registers, and at most 8 rows.
constexpr int narrow_rows(int kg) { return std::min(8, (31 - kg) / kg); }
template <int KG, int... I>
constexpr std::array<NarrowFn, sizeof...(I)> narrow_table(std::integer_sequence<int, I...>) {
  return {{&NarrowTile<I + 1, KG>::run...}};
}
template <int KG>
constexpr auto kNarrowTiles = narrow_table<KG>(std::make_integer_sequence<int, narrow_rows(KG)>{});

NarrowFn narrow_kernel(int64_t kg, int64_t rows) {
  switch (kg) {
    case 1: return kNarrowTiles<1>[rows - 1];
    case 2: return kNarrowTiles<2>[rows - 1];
    case 3: return kNarrowTiles<3>[rows - 1];
    case 4: return kNarrowTiles<4>[rows - 1];
    case 5: return kNarrowTiles<5>[rows - 1];
    case 6: return kNarrowTiles<6>[rows - 1];
    case 7: return kNarrowTiles<7>[rows - 1];
    default: return kNarrowTiles<8>[rows - 1];
  }
}

bool narrow_applies(const Dims& d, const Conv2dGeometry& g) {
  // Wo >= 10: at least 10 of a vector's 16 lanes used.
  return std::strcmp(sgemm_kernel_name(), "avx512") == 0 && d.Kg <= 8 && g.stride_w == 1 && d.Wo >= 10 && d.N > 0;
}

// y = conv(x, w) + b by the tiles above; the weights as direct32's (w itself, or backward-data's
// flipped transpose of it).
void direct_narrow(const float* px, const float* pw, int64_t group_stride, int64_t k_stride,
                   const std::vector<int64_t>& offset, const float* pb, const Dims& d, const Conv2dGeometry& g,
                   float* py) {
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
  const int64_t R = narrow_rows(static_cast<int>(kg)), row_blocks = ceil_div(d.Ho, R);
  in.for_chunks(px, d, g, [&](int64_t n0, int64_t images, const float* xsrc) {
    parallel_for(images * d.groups * row_blocks, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t it = i0; it < i1; ++it) {
        const int64_t rb = it % row_blocks, j = it / row_blocks / d.groups, gi = it / row_blocks % d.groups;
        const int64_t oh0 = rb * R, rows = std::min(R, d.Ho - oh0);
        const NarrowFn kernel = narrow_kernel(kg, rows);
        NarrowArgs a;
        a.wt = wt.data() + gi * d.ckk * kg, a.tap = tap.data(), a.ckk = d.ckk, a.row_step = g.stride_h * in.ws;
        a.bias = bias.data() + gi * kg, a.ys = d.hw_out, a.yw = d.Wo;
        const float* xg = xsrc + (j * d.C + gi * d.Cg) * in.xs + oh0 * g.stride_h * in.ws;
        float* yg = py + ((n0 + j) * d.K + gi * kg) * d.hw_out + oh0 * d.Wo;
        for (int64_t ow0 = 0; ow0 < d.Wo; ow0 += 16) {
          const int64_t n = std::min<int64_t>(16, d.Wo - ow0);
          a.cols = static_cast<__mmask16>(n == 16 ? 0xFFFF : (1u << n) - 1);
          a.x = xg + ow0, a.y = yg + ow0;
          kernel(a);
        }
      }
    });
  });
}


// ---- Direct backward-filter (AVX-512) ----
// dw[k, r] = sum over (n, oh, ow) of dy[n, k, oh, ow] * x[n, tap r of (oh, ow)], as im2col +
// GEMM paid for im2col, packing, gathering dy and adding chunk partials. Here a tile is 32
// output channels (two vectors of dy, transposed once per call to [position][32]) by R rows
// (c, i) of KW taps each (R * KW <= 12 broadcasts of x per position), accumulated in
// registers over every position of every image: each dw element is one FMA chain over
// (n, oh, ow) in order. Threads split (group, channel block, tap rows), never the sum, so
// the bits do not depend on the thread count. Padded images are copied into zero-bordered
// planes a chunk of images at a time; a tile's sums carry over chunks through dw itself.

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

// V vectors of dy (16 channels each) by R rows of KW taps.
template <int R, int KW, int V>
struct FilterTile {
  __attribute__((target("avx512f"))) static void flush(const FilterArgs& a, __m512 (&acc)[R * KW][V]) {
#pragma GCC unroll 25
    for (int t = 0; t < R * KW; ++t)
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) {
        float* m = a.acc + (t * V + v) * 16;
        _mm512_storeu_ps(m, _mm512_add_ps(_mm512_loadu_ps(m), acc[t][v]));
        acc[t][v] = _mm512_setzero_ps();
      }
  }

  __attribute__((target("avx512f"))) static void run(const FilterArgs& a) {
    __m512 acc[R * KW][V];
#pragma GCC unroll 25
    for (int t = 0; t < R * KW; ++t)
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) acc[t][v] = _mm512_setzero_ps();
    const float* d = a.dyt;
    const int64_t sw = a.sw, dil = a.dil, bw = a.bw;
    int64_t pending = 0;  // rows summed in registers since the last flush
    for (int64_t n = 0; n < a.images; ++n) {
      for (int64_t oh = 0; oh < a.Ho; ++oh) {
        if (pending == a.flush_rows) {
          flush(a, acc);
          pending = 0;
        }
        ++pending;
        const float* xb = a.x + n * a.image + oh * a.row_step;
        const float* q[R];
#pragma GCC unroll 8
        for (int rr = 0; rr < R; ++rr) q[rr] = xb + a.row[rr];
        for (int64_t ow = 0; ow < a.Wo; ++ow, d += bw) {
          __m512 w[V];
#pragma GCC unroll 2
          for (int v = 0; v < V; ++v) w[v] = _mm512_loadu_ps(d + 16 * v);
#pragma GCC unroll 8
          for (int rr = 0; rr < R; ++rr) {
#pragma GCC unroll 12
            for (int j = 0; j < KW; ++j) {
              const __m512 b = _mm512_set1_ps(q[rr][j * dil]);
#pragma GCC unroll 2
              for (int v = 0; v < V; ++v) acc[rr * KW + j][v] = _mm512_fmadd_ps(b, w[v], acc[rr * KW + j][v]);
            }
            q[rr] += sw;
          }
        }
      }
    }
    flush(a, acc);
  }
};

using FilterFn = void (*)(const FilterArgs&);
// Rows per tile for a kernel width: R * KW <= 12 with two vectors (24 + 3 registers), <= 25
// with one (25 + 2).
constexpr int filter_rows(int kw, int v) { return (v == 2 ? 12 : 25) / kw; }
template <int KW, int V, int... I>
constexpr std::array<FilterFn, sizeof...(I)> filter_table(std::integer_sequence<int, I...>) {
  return {{&FilterTile<I + 1, KW, V>::run...}};
}
template <int KW, int V>
constexpr auto kFilterTiles = filter_table<KW, V>(std::make_integer_sequence<int, filter_rows(KW, V)>{});

FilterFn filter_kernel(int64_t kw, int v, int64_t rows) {
  if (kw == 3) return v == 2 ? kFilterTiles<3, 2>[rows - 1] : kFilterTiles<3, 1>[rows - 1];
  if (kw == 5) return v == 2 ? kFilterTiles<5, 2>[rows - 1] : kFilterTiles<5, 1>[rows - 1];
  return v == 2 ? kFilterTiles<11, 2>[rows - 1] : kFilterTiles<11, 1>[rows - 1];
}

bool direct_filter_applies(const Dims& d) {
  return std::strcmp(sgemm_kernel_name(), "avx512") == 0 && d.Kg >= 4 && (d.kw == 3 || d.kw == 5 || d.kw == 11) &&
         d.Wo >= 8 && d.N > 0;
}

void direct_filter(const float* pdy, const float* px, const Dims& d, const Conv2dGeometry& g, float* pdw) {
  // Channel blocks of 32 (the last one may be 16 or fewer: one vector), or one block of 16
  // when Kg <= 16; tap rows split into tiles of R.
  const int64_t bw = d.Kg > 16 ? 32 : 16, blocks = ceil_div(d.Kg, bw), rows = d.Cg * d.kh;
  const int R = filter_rows(static_cast<int>(d.kw), bw == 32 ? 2 : 1);
  const int64_t tiles = ceil_div(rows, R), items = d.groups * blocks * tiles;
  // Few tiles (LeNet's layers): the sum over images is cut into `parts` fixed by the shape,
  // each its own FMA chain, added in order at the end (so threads have work to share).
  const int64_t per_part = ceil_div(d.N, std::clamp<int64_t>(ceil_div(8, items), 1, d.N));
  const int64_t parts = ceil_div(d.N, per_part);
  const int64_t hp = (d.Ho - 1) * g.stride_h + (d.kh - 1) * g.dilation_h + 1;
  const int64_t wp = (d.Wo - 1) * g.stride_w + (d.kw - 1) * g.dilation_w + 1;
  const int64_t xs = hp * wp, positions = d.hw_out;
  // Register chains of about 1024 positions (whole rows), added one by one into the running
  // sums: one chain over a whole large batch loses accuracy (9 x 230 x 230 positions: 2e-4).
  // Chunk and part boundaries fall on image boundaries and end a chain too: all fixed by the shape.
  const int64_t flush_rows = std::max<int64_t>(1, 1024 / d.Wo);
  // Images per chunk: the padded copy under ~8 MiB, and dy's transposed copy likewise.
  const int64_t kpad = d.groups * blocks * bw;  // channels with each group's rounded up to whole blocks
  const int64_t nb = std::clamp<int64_t>((int64_t{2} << 20) / std::max<int64_t>(std::max(d.C * xs, kpad * positions), 1), 1, d.N);
  float* xbuf = scratch(0, nb * d.C * xs);
  float* dyt = scratch(1, nb * kpad * positions);  // [group][block][image][position][bw]
  // Running sums [part][group][block][tile][R * KW][bw]; added into dw at the end.
  const int64_t tile_floats = int64_t{R} * d.kw * bw;
  float* sums = scratch(2, parts * items * tile_floats);
  std::fill(sums, sums + parts * items * tile_floats, 0.0f);
  std::vector<int64_t> row_off(rows);
  for (int64_t c = 0; c < d.Cg; ++c)
    for (int64_t i = 0; i < d.kh; ++i) row_off[c * d.kh + i] = c * xs + i * g.dilation_h * wp;
  for (int64_t n0 = 0; n0 < d.N; n0 += nb) {
    const int64_t images = std::min(nb, d.N - n0);
    copy_padded(px + n0 * d.C * d.hw, images * d.C, d, g, hp, wp, xbuf);
    // dyt[(gi * blocks + b) * images + j][q][l] = dy[n0 + j, gi * Kg + b * bw + l, q] (0 past Kg)
    parallel_for(d.groups * blocks * images, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t it = i0; it < i1; ++it) {
        const int64_t j = it % images, gb = it / images, gi = gb / blocks, k0 = (gb % blocks) * bw;
        transpose_block(pdy + ((n0 + j) * d.K + gi * d.Kg + k0) * positions, positions, std::min(bw, d.Kg - k0), bw,
                        positions, dyt + it * positions * bw);
      }
    });
    // The parts this chunk's images belong to: part p sums images [p * per_part, (p + 1) * per_part).
    const int64_t p_first = n0 / per_part, p_last = (n0 + images - 1) / per_part;
    parallel_for((p_last - p_first + 1) * items, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t w = i0; w < i1; ++w) {
        const int64_t part = p_first + w / items, it = w % items;
        const int64_t a0 = std::max(n0, part * per_part), a1 = std::min(n0 + images, (part + 1) * per_part);
        const int64_t tile = it % tiles, gb = it / tiles, gi = gb / blocks, k0 = (gb % blocks) * bw;
        const int64_t r0 = tile * R, nr = std::min<int64_t>(R, rows - r0);
        FilterArgs a;
        a.x = xbuf + ((a0 - n0) * d.C + gi * d.Cg) * xs, a.image = d.C * xs, a.images = a1 - a0;
        a.Ho = d.Ho, a.Wo = d.Wo, a.row_step = g.stride_h * wp, a.sw = g.stride_w, a.dil = g.dilation_w;
        a.row = row_off.data() + r0, a.bw = bw, a.flush_rows = flush_rows;
        a.dyt = dyt + (gb * images + (a0 - n0)) * positions * bw;
        a.acc = sums + (part * items + it) * tile_floats;
        filter_kernel(d.kw, d.Kg - k0 > 16 ? 2 : 1, nr)(a);
      }
    });
  }
  // dw[gi * Kg + k0 + l][(c * kh + i) * kw + j] = sum over parts, in order, of
  // sums[part][item][(rr * kw + j) * V * 16 + l], V the tile's vectors.
  parallel_for(items, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t it = i0; it < i1; ++it) {
      const int64_t tile = it % tiles, gb = it / tiles, gi = gb / blocks, k0 = (gb % blocks) * bw;
      const int64_t kg = std::min(bw, d.Kg - k0), r0 = tile * R, nr = std::min<int64_t>(R, rows - r0);
      const int64_t stride = kg > 16 ? 32 : 16;
      for (int64_t l = 0; l < kg; ++l) {
        float* out = pdw + (gi * d.Kg + k0 + l) * d.ckk + r0 * d.kw;
        for (int64_t t = 0; t < nr * d.kw; ++t) {
          float v = sums[it * tile_floats + t * stride + l];
          for (int64_t part = 1; part < parts; ++part) v += sums[(part * items + it) * tile_floats + t * stride + l];
          out[t] = v;
        }
      }
    }
  });
}
#else
#define CONVNET_CONV_DIRECT 0
#endif
// Winograd F(2x2, 3x3) (conv2d_winograd.cc): 3x3 kernels at stride 1 and dilation 1.
// CONVNET_WINOGRAD=0 in the environment turns it off (the direct kernels then run), for
// comparisons and in case its rounding (a few float32 epsilons of the terms' magnitudes, as
// the direct sums) matters to someone.
bool winograd_applies(const Dims& d, const Conv2dGeometry& g) {
  const char* env = std::getenv("CONVNET_WINOGRAD");
  if (env && env[0] == '0') return false;
  return std::strcmp(sgemm_kernel_name(), "avx512") == 0 && d.kh == 3 && d.kw == 3 && g.stride_h == 1 &&
         g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 && d.Cg >= 16 && d.Kg >= 16 && d.N > 0 && d.Ho > 0 &&
         d.Wo > 0;
}

WinogradConv winograd_problem(const Dims& d, const Conv2dGeometry& g) {
  WinogradConv p;
  p.N = d.N, p.C = d.C, p.H = d.H, p.W = d.W, p.K = d.K, p.Ho = d.Ho, p.Wo = d.Wo, p.groups = d.groups;
  p.pad_top = g.pad_top, p.pad_left = g.pad_left;
  return p;
}

}  // namespace

void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& y) {
  if (y.numel() == 0) return;
  const Dims d = dims_of(x.shape, w.shape, y.shape, g.groups);
  if (is_depthwise(d)) return depthwise_conv2d_forward(x, w, b, g, y);
  const float *px = x.f32(), *pw = w.f32(), *pb = b ? b->f32() : nullptr;
  float* py = y.f32();
#if CONVNET_CONV_DIRECT
  // Measured on Zen 5, 64 images, 2 threads: LeNet c1 (6 channels) 0.120 -> 0.057 ms against
  // direct_forward's channel lanes.
  if (winograd_applies(d, g)) {
    WinogradConv p = winograd_problem(d, g);
    p.w = pw, p.w_group = d.Kg * d.ckk, p.w_out = d.ckk, p.w_in = 9, p.w_row = 3, p.w_col = 1, p.bias = pb;
    return winograd_conv2d(px, p, py);
  }
  if (narrow_applies(d, g)) {
    std::vector<int64_t> offset(d.ckk);
    for (int64_t r = 0; r < d.ckk; ++r) offset[r] = r;
    return direct_narrow(px, pw, d.Kg * d.ckk, d.ckk, offset, pb, d, g, py);
  }
  if (direct_forward_applies(d)) return direct_forward(px, pw, pb, d, g, py);
  if (direct32_applies(d, g)) {
    std::vector<int64_t> offset(d.ckk);
    for (int64_t r = 0; r < d.ckk; ++r) offset[r] = r;
    return direct32(px, pw, d.Kg * d.ckk, d.ckk, offset, pb, d, g, py);
  }
#endif

  if (is_pointwise(d, g)) {
    for (int64_t gi = 0; gi < d.groups; ++gi) {
      sgemm_strided_batched(false, false, d.Kg, d.hw, d.Cg, 1.0f, pw + gi * d.Kg * d.Cg, d.Cg, 0,
                            px + gi * d.Cg * d.hw, d.hw, d.C * d.hw, 0.0f, py + gi * d.Kg * d.hw, d.hw,
                            d.K * d.hw, d.N);
    }
    if (pb) {
      parallel_for(d.N * d.K, std::max<int64_t>(1, 16384 / d.hw),
                   [&](int64_t p0, int64_t p1) { add_bias_planes(py, p0, p1, d.hw, d.K, pb); });
    }
    return;
  }

  // Few output channels (Kg <= 64: the GEMM's B operand, the column matrix, is reused by at
  // most 5 micro-tile rows) and stride 1: building col's panels straight from x beats writing
  // and re-reading a multi-megabyte column matrix (dilated 64->64 on 56x56: 13.9 -> 10.1 ms).
  // Elsewhere the chunked im2col below measured as fast or faster (LeNet, AlexNet).
  // Only when an image's column matrix outgrows the L2 (1 MiB): LeNet's 6->16 (60 KiB) ran
  // 0.45 -> 0.72 ms this way.
  if ((d.Kg <= 64 && d.ckk * d.hw_out >= (int64_t{1} << 18) && g.stride_w == 1)) return forward_gemm(px, pw, pb, d, g, py);

  const int64_t nb = images_per_chunk(d), chunks = ceil_div(d.N, nb);
  const double flops = 2.0 * d.Kg * d.ckk * nb * d.hw_out;
  run_items(chunks * d.groups, flops, [&](int64_t item, bool threaded) {
    const int64_t chunk = item / d.groups, gi = item % d.groups;
    const int64_t n0 = chunk * nb, images = std::min(d.N, n0 + nb) - n0, cols = images * d.hw_out;
    float* col = scratch(0, d.ckk * cols);
    maybe_parallel(threaded, images * d.Cg, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t j = t / d.Cg, c = t % d.Cg;
        im2col(px + ((n0 + j) * d.C + gi * d.Cg) * d.hw, d, g, c, c + 1, col + j * d.hw_out, cols);
      }
    });
    const float* wg = pw + gi * d.Kg * d.ckk;
    if (images == 1) {
      float* yg = py + (n0 * d.K + gi * d.Kg) * d.hw_out;
      sgemm(false, false, d.Kg, d.hw_out, d.ckk, 1.0f, wg, d.ckk, col, cols, 0.0f, yg, d.hw_out);
      if (pb) add_bias_planes(yg, 0, d.Kg, d.hw_out, d.Kg, pb + gi * d.Kg);
      return;
    }
    // Several images: the GEMM writes [Kg, images * HoWo], which is copied out plane by plane.
    float* out = scratch(1, d.Kg * cols);
    sgemm(false, false, d.Kg, cols, d.ckk, 1.0f, wg, d.ckk, col, cols, 0.0f, out, cols);
    for (int64_t j = 0; j < images; ++j) {
      for (int64_t k = 0; k < d.Kg; ++k) {
        const float* src = out + k * cols + j * d.hw_out;
        float* dst = py + ((n0 + j) * d.K + gi * d.Kg + k) * d.hw_out;
        const float bias = pb ? pb[gi * d.Kg + k] : 0.0f;
        if (pb) {
          for (int64_t q = 0; q < d.hw_out; ++q) dst[q] = src[q] + bias;
        } else {
          std::memcpy(dst, src, sizeof(float) * d.hw_out);
        }
      }
    }
  });
}

void conv2d_backward_data(const Tensor& dy, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& dx) {
  if (dx.numel() == 0) return;
  const Dims d = dims_of(dx.shape, w.shape, dy.shape, g.groups);
  if (is_depthwise(d)) return depthwise_conv2d_backward_data(dy, w, b, g, dx);
  const float *pdy = dy.f32(), *pw = w.f32(), *pb = b ? b->f32() : nullptr;
  float* pdx = dx.f32();
  if (d.hw_out == 0 || d.K == 0) {  // nothing flows back (an empty dy): dx is the bias alone
    parallel_for(d.N * d.C, 1, [&](int64_t p0, int64_t p1) { fill_planes(pdx, p0, p1, d.hw, d.C, pb); });
    return;
  }

  if (is_pointwise(d, g)) {
    for (int64_t gi = 0; gi < d.groups; ++gi) {
      sgemm_strided_batched(true, false, d.Cg, d.hw, d.Kg, 1.0f, pw + gi * d.Kg * d.Cg, d.Cg, 0,
                            pdy + gi * d.Kg * d.hw, d.hw, d.K * d.hw, 0.0f, pdx + gi * d.Cg * d.hw, d.hw,
                            d.C * d.hw, d.N);
    }
    if (pb) {
      parallel_for(d.N * d.C, std::max<int64_t>(1, 16384 / d.hw),
                   [&](int64_t p0, int64_t p1) { add_bias_planes(pdx, p0, p1, d.hw, d.C, pb); });
    }
    return;
  }

#if CONVNET_CONV_DIRECT
  // Stride 1: dx is the convolution of dy (padded by dilation * (k - 1) - pad) with the
  // weights flipped and transposed, w'[c, k, i, j] = w[k, c, kh-1-i, kw-1-j] in each group.
  if (g.stride_h == 1 && g.stride_w == 1) {
    Dims t = d;
    t.C = d.K, t.H = d.Ho, t.W = d.Wo, t.K = d.C, t.Ho = d.H, t.Wo = d.W;
    t.Cg = d.Kg, t.Kg = d.Cg, t.hw = d.hw_out, t.hw_out = d.hw;
    t.ckk = d.Kg * d.kh * d.kw;
    Conv2dGeometry tg = g;
    tg.pad_top = g.dilation_h * (d.kh - 1) - g.pad_top;
    tg.pad_left = g.dilation_w * (d.kw - 1) - g.pad_left;
    // LeNet c3 (16 -> 6 channels), 2 threads: 0.275 -> 0.198 ms against im2col + GEMM.
    if (tg.pad_top >= 0 && tg.pad_left >= 0 && winograd_applies(t, tg)) {
      // The weight of dx's channel o from dy's channel q at tap (i, j): w[q, o, 2 - i, 2 - j].
      WinogradConv p = winograd_problem(t, tg);
      p.w = pw + 8, p.w_group = d.Kg * d.ckk, p.w_out = 9, p.w_in = d.ckk, p.w_row = -3, p.w_col = -1, p.bias = pb;
      return winograd_conv2d(pdy, p, pdx);
    }
    const bool narrow = narrow_applies(t, tg);
    if (tg.pad_top >= 0 && tg.pad_left >= 0 && (narrow || direct32_applies(t, tg))) {
      const int64_t taps = d.kh * d.kw;
      std::vector<int64_t> offset(t.ckk);
      for (int64_t r = 0; r < t.ckk; ++r) offset[r] = (r / taps) * d.Cg * taps + (taps - 1 - r % taps);
      if (narrow) return direct_narrow(pdy, pw, d.Kg * d.ckk, taps, offset, pb, t, tg, pdx);
      return direct32(pdy, pw, d.Kg * d.ckk, taps, offset, pb, t, tg, pdx);
    }
  }
#endif

  const int64_t nb = images_per_chunk(d), chunks = ceil_div(d.N, nb);
  const double flops = 2.0 * d.Kg * d.ckk * nb * d.hw_out;
  run_items(chunks * d.groups, flops, [&](int64_t item, bool threaded) {
    const int64_t chunk = item / d.groups, gi = item % d.groups;
    const int64_t n0 = chunk * nb, images = std::min(d.N, n0 + nb) - n0, cols = images * d.hw_out;
    // dy_chunk [Kg, images * HoWo]: dy itself for one image, else gathered.
    const float* dyc = pdy + (n0 * d.K + gi * d.Kg) * d.hw_out;
    if (images > 1) {
      float* gathered = scratch(1, d.Kg * cols);
      for (int64_t k = 0; k < d.Kg; ++k) {
        for (int64_t j = 0; j < images; ++j) {
          std::memcpy(gathered + k * cols + j * d.hw_out, pdy + ((n0 + j) * d.K + gi * d.Kg + k) * d.hw_out,
                      sizeof(float) * d.hw_out);
        }
      }
      dyc = gathered;
    }
    float* dcol = scratch(0, d.ckk * cols);
    sgemm(true, false, d.ckk, cols, d.Kg, 1.0f, pw + gi * d.Kg * d.ckk, d.ckk, dyc, cols, 0.0f, dcol, cols);
    maybe_parallel(threaded, images * d.Cg, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t j = t / d.Cg, c = t % d.Cg;
        float* dxg = pdx + ((n0 + j) * d.C + gi * d.Cg) * d.hw;
        fill_planes(dxg, c, c + 1, d.hw, d.Cg, pb ? pb + gi * d.Cg : nullptr);
        col2im_add(dcol + j * d.hw_out, cols, d, g, c, c + 1, dxg);
      }
    });
  });
}

void conv2d_backward_filter(const Tensor& dy, const Tensor& x, const Conv2dGeometry& g, const Tensor& dw) {
  if (dw.numel() == 0) return;
  const Dims d = dims_of(x.shape, dw.shape, dy.shape, g.groups);
  if (is_depthwise(d)) return depthwise_conv2d_backward_filter(dy, x, g, dw);
  float* pdw = dw.f32();
  const int64_t size = dw.numel();
  if (d.N == 0 || d.hw_out == 0) {
    std::fill(pdw, pdw + size, 0.0f);
    return;
  }
  const float *pdy = dy.f32(), *px = x.f32();
#if CONVNET_CONV_DIRECT
  if (winograd_applies(d, g)) return winograd_conv2d_backward_filter(px, pdy, winograd_problem(d, g), pdw);
  if (direct_filter_applies(d)) return direct_filter(pdy, px, d, g, pdw);
#endif
  const bool pointwise = is_pointwise(d, g);
  const int64_t nb = images_per_chunk(d), chunks = ceil_div(d.N, nb);

  // partial = sum over the chunk's images of dy_g col^T, for every group.
  auto chunk_partial = [&](int64_t chunk, float* partial, bool threaded) {
    const int64_t n0 = chunk * nb, images = std::min(d.N, n0 + nb) - n0, cols = images * d.hw_out;
    for (int64_t gi = 0; gi < d.groups; ++gi) {
      const float* dyc = pdy + (n0 * d.K + gi * d.Kg) * d.hw_out;
      if (images > 1) {
        float* gathered = scratch(1, d.Kg * cols);
        for (int64_t k = 0; k < d.Kg; ++k) {
          for (int64_t j = 0; j < images; ++j) {
            std::memcpy(gathered + k * cols + j * d.hw_out, pdy + ((n0 + j) * d.K + gi * d.Kg + k) * d.hw_out,
                        sizeof(float) * d.hw_out);
          }
        }
        dyc = gathered;
      }
      const float* colp = px + (n0 * d.C + gi * d.Cg) * d.hw;  // a 1x1 image's col is x itself
      if (!(pointwise && images == 1)) {
        float* col = scratch(0, d.ckk * cols);
        maybe_parallel(threaded, images * d.Cg, [&](int64_t t0, int64_t t1) {
          for (int64_t t = t0; t < t1; ++t) {
            const int64_t j = t / d.Cg, c = t % d.Cg;
            im2col(px + ((n0 + j) * d.C + gi * d.Cg) * d.hw, d, g, c, c + 1, col + j * d.hw_out, cols);
          }
        });
        colp = col;
      }
      sgemm(false, true, d.Kg, d.ckk, cols, 1.0f, dyc, cols, colp, cols, 0.0f, partial + gi * d.Kg * d.ckk, d.ckk);
    }
  };
  auto add_into_dw = [&](const float* partial, bool first) {
    parallel_for(size, 1 << 14, [&](int64_t i0, int64_t i1) {
      if (first) {
        std::memcpy(pdw + i0, partial + i0, sizeof(float) * (i1 - i0));
      } else {
        for (int64_t i = i0; i < i1; ++i) pdw[i] += partial[i];
      }
    });
  };

  // Waves of chunks computed side by side, one per thread, when the chunks are small or many;
  // else one chunk at a time with every thread on it. Same sums, same order, either way.
  const int64_t threads = num_threads();
  const double flops = 2.0 * d.K * d.ckk * nb * d.hw_out;
  const bool spread = threads > 1 && chunks > 1 && (chunks >= 4 * threads || chunks % threads == 0 || flops < kGemmThreadedFlops);
  const int64_t wave = spread ? std::min<int64_t>(chunks, threads * std::max<int64_t>(1, std::min<int64_t>(4, (int64_t{4} << 20) / (size * threads)))) : 1;
  float* partials = scratch(2, wave * size);
  for (int64_t c0 = 0; c0 < chunks; c0 += wave) {
    const int64_t n = std::min(wave, chunks - c0);
    if (n == 1) {
      chunk_partial(c0, partials, true);
    } else {
      parallel_for(n, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t t = b0; t < b1; ++t) chunk_partial(c0 + t, partials + t * size, false);
      });
    }
    for (int64_t t = 0; t < n; ++t) add_into_dw(partials + t * size, c0 + t == 0);
  }
}

}  // namespace cpu
}  // namespace convnet
