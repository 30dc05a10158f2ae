// conv2d: forward, backward-data and backward-filter (the formula is in nn_ops.h).
//
// Method, chosen from the shapes:
//   - groups == C > 1 (depthwise, one input channel per group): direct loops, depthwise_conv2d.cc.
//   - on CPUs with AVX-512 or AVX2 + FMA, 3x3 and 5x5 kernels at stride 1 with 16 (5x5: 48) or
//     more channels in and out per group: Winograd F(2x2, 3x3) / F(2x2, 5x5)
//     (conv2d_winograd.cc), in all three directions, at dilation 1, 2, 4 and 8.
//   - forward at a stride s > 1 whose space-to-depth form is such a Winograd problem (AlexNet's
//     c1, 11x11/4 over 3 channels: 3x3 over 48), or, at strides the direct kernel of 32-channel
//     blocks below does not take (3, 5, ...), a problem for it with few zero taps (6x6/3 over 3
//     channels: 2x2 over 27): x's s x s phases become channels and the kernel shrinks to
//     ceil(k / s) (space_to_depth_forward). Where 512-bit FMAs are halved (Zen 4, gemm.h), the
//     backward-filter of the Winograd ones too (space_to_depth_backward_filter).
//   - on CPUs with AVX-512 (the first, second and fourth also with AVX2 + FMA, in smaller tiles:
//     conv2d_direct_kernels.inc), direct kernels that read the image itself (no im2col, no packing):
//       at most 8 (AVX2: 6) output channels a group, stride 1 along rows (LeNet's c1; c3's
//         backward-data): lanes along the row (direct_narrow);
//       4..16 output channels (LeNet's c3): lanes across channels (direct_forward); where
//         512-bit FMAs are halved (Zen 4, gemm.h), kernel widths 3 and 5 at stride 1 take
//         Winograd F(2, 3) / F(2, 5) along the rows there instead;
//       more, stride 1, 2 or 4 along rows (AlexNet c2-c5, the dilated layers, their
//         backward-data; 7x7/2 stems, 3x3/2 downsampling): blocks of 32 or 48 channels (direct32;
//         AVX2: blocks of 16, at strides 2 and 4 only for at most 800 taps, and with under 16
//         taps a channel only on images of at most 320 KiB);
//       backward-filter for kernel widths 3, 4, 5, 7, 8, 11 (AVX2: 3, 4, 5, and at most 16 output
//         channels a group) (direct_filter), with lanes along the rows for at most 8 output
//         channels a group (LeNet's c1) and widths 3, 5, 7 (AVX2: 3, 5), and on AVX-512 for
//         more where a dy element meets at most 80 taps on rows of 32 or more (ResNet's and
//         VGG's 3 -> 64 first layer; rows_filter_applies).
//     Backward-data at stride 1 is the forward convolution of dy with the flipped, transposed
//     weights, so the forward kernels serve it too; at stride 2 (4 or more channels in a group,
//     kernels of 4 and up; AVX2: 6 and up), so is each of dx's 2 x 2 phases (backward_data_by_phases), the
//     transposed convolution's forward included.
//   - backward-data at a stride s, where dx's s x s phases stacked as C s^2 output channels make
//     one stride-1 Winograd problem over dy (AlexNet's c1, 11x11/4: 3x3 into 48 channels; 5x5/2
//     with 16 or more channels): that convolution, then a depth-to-space shuffle into dx
//     (backward_data_joint, Note [backward-data as one convolution]), tried before the phases.
//   - 1x1 kernel, stride 1, no padding: x[n] already is the [C, H*W] matrix that im2col would
//     build, so forward and backward-data are one strided-batched GEMM over the images.
//   - forward, where an image's column matrix would outgrow the L2 (stride 1 with at most 64
//     output channels a group; or large kernels at a stride over few channels with large
//     outputs, as AlexNet's c1 and ResNet's stem): the GEMM's panels are built straight from x
//     (forward_gemm), with no column matrix written and read back.
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
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/conv2d_internal.h"
#include "cpu/cpu_ops.h"
#include "cpu/conv2d_winograd.h"
#include "cpu/gemm.h"
#include "cpu/nn_ops.h"
#include "cpu/simd_clones.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(CONVNET_PORTABLE_ONLY)
#define CONVNET_COL2IM_AVX512 1
#include <immintrin.h>
#else
#define CONVNET_COL2IM_AVX512 0
#endif


namespace convnet {
namespace cpu {
namespace conv2d_impl {

// Scratch memory (col, gathered dy, GEMM outputs, partial dw), kept per thread and per use
// between calls: a fresh multi-megabyte allocation per call costs a page fault per 4 KiB, a
// large share of a small convolution's time. Grows to the largest request; an op never holds
// more than its chunk size allows (~8 MiB of col). Not zeroed when it grows (no caller reads
// what it did not write; a std::vector's resize was a memset of every new float, in a fresh
// process's first ResNet-50 forward 45 ms of it, before the kernels wrote them again).
float* scratch(int slot, int64_t n) {
  struct Buffer {
    std::unique_ptr<float[]> floats;
    int64_t size = 0;
  };
  thread_local Buffer buffers[kScratchSlots];
  Buffer& b = buffers[slot];
  if (b.size < n + 16) {
    b.floats.reset();  // free first, so that old and new do not coexist
    b.size = 0;
    b.floats.reset(new float[static_cast<size_t>(n + 16)]);  // default-initialised: not written
    b.size = n + 16;
  }
  const uintptr_t at = reinterpret_cast<uintptr_t>(b.floats.get());  // 64-byte aligned: whole cache lines
  return b.floats.get() + (64 - at % 64) % 64 / sizeof(float);
}

}  // namespace conv2d_impl

namespace {
using namespace conv2d_impl;

// Below this many flops the GEMM runs on the calling thread anyway (gemm.cc's threshold).
constexpr double kGemmThreadedFlops = 4e6;

// Whether the kernels run their AVX2 path (the GEMM's, which the direct and Winograd kernels
// follow), for the rules measured on it. Asked at each call: tests may force another path.
bool avx2_path() { return std::strcmp(sgemm_kernel_name(), "avx2") == 0; }

// w packed for the GEMM, every group's [Kg, ckk] one after the other (sgemm_packed_a_floats(Kg,
// ckk) floats each), kept between calls where `weights` names the op's own memory (Note
// [prepared weights]). The recipe holds the GEMM's kernel path: the layout depends on it (its K
// blocks), and tests may force another path.
prepared::Layout packed_weights(const float* pw, const Dims& d, const prepared::Source* weights) {
  const char* kernel = sgemm_kernel_name();
  const int64_t path = std::strcmp(kernel, "avx512") == 0 ? 1 : std::strcmp(kernel, "avx2") == 0 ? 2 : 3;
  const int64_t packed_floats = sgemm_packed_a_floats(d.Kg, d.ckk);
  const prepared::Source w_only{weights ? weights->w : nullptr, nullptr, weights ? weights->w_version : 0, 0};
  return prepared::get(&w_only, {4, path, d.groups, d.Kg, d.ckk}, d.groups * packed_floats, scratch(2, d.groups * packed_floats),
                       [&](float* packed) {
                         for (int64_t gi = 0; gi < d.groups; ++gi)
                           sgemm_pack_a(false, d.Kg, d.ckk, pw + gi * d.Kg * d.ckk, d.ckk, packed + gi * packed_floats);
                       });
}

// C_i = packed_a * op(B_i) + beta * C_i for i < batch (sgemm_packed). The threads share the
// products' column panels, or, where those are too few to share evenly (a 7x7 map at batch 1: 2
// panels), A's rows in panels, each thread then building the (few) column panels for itself.
void packed_product(int64_t M, int64_t N, int64_t K, const float* packed_a, const SgemmPanelSource& b, float beta,
                    float* C, int64_t ldc, int64_t stride_c, int64_t batch, const SgemmEpilogue* epilogue = nullptr) {
  if (batch * ceil_div(N, sgemm_panel_width()) >= 4 * num_threads()) {
    return sgemm_packed(M, N, K, 1.0f, packed_a, b, beta, C, ldc, stride_c, batch, epilogue);
  }
  const int64_t mr = sgemm_pack_a_panel_rows(M);
  parallel_for(ceil_div(M, mr), 1, [&](int64_t p0, int64_t p1) {
    const int64_t m0 = p0 * mr, m1 = std::min(M, p1 * mr);
    sgemm_packed_rows(M, m0, m1, N, K, 1.0f, packed_a, b, beta, C + m0 * ldc, ldc, stride_c, batch, epilogue);
  });
}

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

}  // namespace

// im2col and its adjoint, shared with unfold.cc (F.unfold and F.fold), and their helpers.
namespace conv2d_impl {

// The output columns [ow_lo, ow_hi) whose input column ow*stride_w - pad_left + j*dilation_w
// falls inside [0, W); the others read the zero padding.
void valid_columns(const Dims& d, const Conv2dGeometry& g, int64_t j, int64_t* ow_lo, int64_t* ow_hi) {
  const int64_t shift = g.pad_left - j * g.dilation_w;
  *ow_lo = std::clamp<int64_t>(ceil_div(shift, g.stride_w), 0, d.Wo);
  *ow_hi = std::clamp<int64_t>(ceil_div(d.W + shift, g.stride_w), *ow_lo, d.Wo);
}

// o[k] = in[k * S] for k < n: vectorised with permutes in the AVX-512 and AVX2 clones when S is
// a constant (the scalar loop was a third of AlexNet c1's forward by panels from x).
template <int S>
CONVNET_SIMD_CLONES void gather_strided(const float* __restrict in, int64_t n, float* __restrict o) {
  for (int64_t k = 0; k < n; ++k) o[k] = in[k * S];
}

// o[k] = in[k * stride] for k < n (the row copies of im2col and its relatives).
void copy_strided(const float* in, int64_t stride, int64_t n, float* o) {
  if (stride == 1) std::memcpy(o, in, sizeof(float) * n);
  else if (stride == 2) gather_strided<2>(in, n, o);
  else if (stride == 4) gather_strided<4>(in, n, o);
  else for (int64_t k = 0; k < n; ++k) o[k] = in[k * stride];
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
          copy_strided(in + lo * g.stride_w, g.stride_w, hi - lo, out + lo);
          std::fill(out + hi, out + d.Wo, 0.0f);
        }
      }
    }
  }
}

// dst[2 v] = a[v], dst[2 v + 1] = b[v] for v < n: two phases' rows into one row of dx. As one loop
// GCC interleaves whole vectors; a pass per phase stored every other float one at a time (the
// interleave of 3x3/2 64 -> 128's dx took 0.35 ms of its 2.6; the whole backward-data 2.87 -> 2.47 ms
// with this, 2 threads).
CONVNET_SIMD_CLONES
void zip2(const float* __restrict a, const float* __restrict b, int64_t n, float* __restrict dst) {
  for (int64_t v = 0; v < n; ++v) {
    dst[2 * v] = a[v];
    dst[2 * v + 1] = b[v];
  }
}

// dst[4 v + q] = the q-th of a, b, c, e at v, for v < n.
CONVNET_SIMD_CLONES
void zip4(const float* __restrict a, const float* __restrict b, const float* __restrict c, const float* __restrict e,
          int64_t n, float* __restrict dst) {
  for (int64_t v = 0; v < n; ++v) {
    dst[4 * v] = a[v];
    dst[4 * v + 1] = b[v];
    dst[4 * v + 2] = c[v];
    dst[4 * v + 3] = e[v];
  }
}

// One row of dx from its s column phases: dst[s v + q] = first[q * phase_stride + v] for every
// s v + q < W (phase q's row at first + q * phase_stride). zip2 or zip4 where they apply; else
// phase by phase (a division and a remainder for each float had taken a fifth of 11x11/4's
// backward-data).
void interleave_phases(const float* first, int64_t phase_stride, int64_t s, int64_t W, float* dst) {
  const int64_t full = W / s;
  if (s == 2) {
    zip2(first, first + phase_stride, full, dst);
  } else if (s == 4) {
    zip4(first, first + phase_stride, first + 2 * phase_stride, first + 3 * phase_stride, full, dst);
  } else {
    for (int64_t q = 0; q < s; ++q)
      for (int64_t v = 0; v < full; ++v) dst[s * v + q] = first[q * phase_stride + v];
  }
  for (int64_t q = 0; q < W % s; ++q) dst[full * s + q] = first[q * phase_stride + full];
}

// p[r * p_step + k] += a[r * a_step + k] for r < rows, k < n. The AVX-512 loop takes a row's last
// floats in one masked vector, where the compiled loop took 8 + 1 + 1 ... (rows are short).
#if CONVNET_COL2IM_AVX512
__attribute__((target("avx512f"))) void add_block_avx512(const float* a, int64_t a_step, float* p, int64_t p_step,
                                                       int64_t rows, int64_t n) {
  const __mmask16 tail = static_cast<__mmask16>((1u << (n % 16)) - 1);
  for (int64_t r = 0; r < rows; ++r, a += a_step, p += p_step) {
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) _mm512_storeu_ps(p + k, _mm512_add_ps(_mm512_loadu_ps(p + k), _mm512_loadu_ps(a + k)));
    if (tail) {
      _mm512_mask_storeu_ps(p + k, tail, _mm512_add_ps(_mm512_maskz_loadu_ps(tail, p + k), _mm512_maskz_loadu_ps(tail, a + k)));
    }
  }
}
#endif

CONVNET_SIMD_CLONES
void add_block_portable(const float* __restrict a, int64_t a_step, float* __restrict p, int64_t p_step, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < n; ++k) p[r * p_step + k] += a[r * a_step + k];
}

void add_block(const float* a, int64_t a_step, float* p, int64_t p_step, int64_t rows, int64_t n) {
#if CONVNET_COL2IM_AVX512
  static const bool avx512 = std::strcmp(sgemm_kernel_name(), "avx512") == 0;
  if (avx512) return add_block_avx512(a, a_step, p, p_step, rows, n);
#endif
  add_block_portable(a, a_step, p, p_step, rows, n);
}

// The adjoint of im2col for one channel of an image: its dx plane = bias + the sum of the
// elements of its kh kw rows of col (`col`, `ld` floats apart) over every (i, j, oh, ow) that read
// (ih, iw), added in the fixed order (i, j) (the order of the loop this replaced: the same bits).
// At a stride s along rows, a tap's outputs land every s-th column of dx, so the plane is summed
// as s phase planes (iw = s u + q, each H x U) with unit-stride vector adds (add_block), then
// interleaved into dx; adding into dx s floats apart, one float at a time in rows of Wo, took as
// long as the GEMM (the tiled convolution's 5x5/2 16 -> 64 on 22x22: 41% of its backward-data in
// that loop, `perf record`). Loops run (i, j, oh): consecutive adds go to other rows, where a
// loop by dx row had tap j + s add into the floats tap j had just stored, one float over, and
// wait for the store (a third of the loop). At stride 1 the plain loop as before: a first version
// of this function (add_block there too, compiled as SIMD clones, two divisions a tap) took
// GoogLeNet's 5x5 48 -> 128 backward-data on 7x7 at batch 1 from 0.068 to 0.087 ms.
// col2im_plan works out each tap's rows and columns once a call (conv2d_internal.h).
Col2imPlan col2im_plan(const Dims& d, const Conv2dGeometry& g) {
  const int64_t s = g.stride_w, U = ceil_div(d.W, s), sh = g.stride_h;
  Col2imPlan plan;
  for (int64_t i = 0; i < d.kh; ++i) {
    for (int64_t j = 0; j < d.kw; ++j) {
      // Tap j's output columns [lo, hi) reach phase q, column ow at u = ow + shift.
      int64_t lo, hi;
      valid_columns(d, g, j, &lo, &hi);
      if (hi <= lo) continue;
      const int64_t off = j * g.dilation_w - g.pad_left, q = ((off % s) + s) % s, shift = (off - q) / s;
      // Output rows [oh_lo, oh_hi) read dx rows ih = oh sh - pad_top + i dh inside [0, H).
      const int64_t top = g.pad_top - i * g.dilation_h;
      const int64_t oh_lo = std::clamp<int64_t>(sh == 1 ? top : ceil_div(top, sh), 0, d.Ho);
      const int64_t oh_hi = std::clamp<int64_t>(sh == 1 ? d.H + top : ceil_div(d.H + top, sh), oh_lo, d.Ho);
      if (oh_hi == oh_lo) continue;
      plan.push_back({i * d.kw + j, oh_lo * d.Wo + lo, q * d.H * U + (oh_lo * sh - top) * U + shift + lo, oh_hi - oh_lo, hi - lo});
    }
  }
  return plan;
}

void col2im_plane(const float* __restrict col, int64_t ld, const Dims& d, const Conv2dGeometry& g, const Col2imPlan& plan,
                  float bias, float* __restrict plane) {
  const int64_t s = g.stride_w, U = ceil_div(d.W, s), p_step = g.stride_h * U;
  // The phase planes (kept per thread); dx's plane itself at stride 1.
  float* sums = plane;
  if (s > 1) {
    thread_local std::vector<float> phases;
    phases.resize(s * d.H * U);
    sums = phases.data();
  }
  std::fill(sums, sums + (s > 1 ? s * d.H * U : d.hw), bias);
  for (const Col2imTap& t : plan) {
    const float* a = col + t.tap * ld + t.from;
    float* p = sums + t.to;
    if (s == 1) {
      for (int64_t r = 0; r < t.rows; ++r)
        for (int64_t k = 0; k < t.n; ++k) p[r * p_step + k] += a[r * d.Wo + k];
    } else {
      add_block(a, d.Wo, p, p_step, t.rows, t.n);
    }
  }
  if (s == 1) return;
  for (int64_t ih = 0; ih < d.H; ++ih) interleave_phases(sums + ih * U, d.H * U, s, d.W, plane + ih * d.W);
}

}  // namespace conv2d_impl

namespace {

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
        copy_strided(in + a * g.stride_w, g.stride_w, b - a, o + a);
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
// weights: the memory pw and pb are, when they are the op's own: the packed w is then kept
// between calls (Note [prepared weights]).
void forward_gemm(const float* px, const float* pw, const float* pb, const Dims& d, const Conv2dGeometry& g,
                  float* py, const prepared::Source* weights) {
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
  const prepared::Layout layout = packed_weights(pw, d, weights);
  const int64_t packed_floats = sgemm_packed_a_floats(d.Kg, d.ckk), cols = d.N * d.hw_out;
  float* out = per_image ? nullptr : scratch(1, d.Kg * cols);
  for (int64_t gi = 0; gi < d.groups; ++gi) {
    const float* packed = layout.data + gi * packed_floats;
    const ImageColumns src(px + gi * d.Cg * d.hw, d, g, !per_image);
    if (per_image) {
      packed_product(d.Kg, d.hw_out, d.ckk, packed, src, pb ? 1.0f : 0.0f, py + gi * d.Kg * d.hw_out, d.hw_out,
                     d.K * d.hw_out, d.N);
      continue;
    }
    packed_product(d.Kg, cols, d.ckk, packed, src, 0.0f, out, cols, 0, 1);
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

// Winograd F(2x2, 3x3) and F(2x2, 5x5) (conv2d_winograd.cc): 3x3 and 5x5 kernels at stride 1
// and dilation 1, 2, 4 or 8, in all three directions, where the GEMM runs its AVX-512 or its
// AVX2 kernel (the Winograd kernels are compiled for both, intrinsic_lanes.h).
// CONVNET_WINOGRAD=0 in the environment turns it off (the direct kernels, or im2col + GEMM
// without AVX-512, then run), for
// comparisons and in case its rounding (a few float32 epsilons of the terms' magnitudes, as
// the direct sums) matters to someone; CONVNET_WINOGRAD=1 takes it wherever it can run, even
// where it does not pay (the tests' small maps).
bool winograd_applies(const Dims& d, const Conv2dGeometry& g) {
  const char* env = std::getenv("CONVNET_WINOGRAD");
  if (env && env[0] == '0') return false;
  const bool everywhere = env && env[0] == '1';
  // 5x5 transforms cost more a tile, so they pay off only with more channels. Measured against
  // the direct kernels before this rule (2 threads): 16 -> 16 on 12x12 forward 2.7x the time,
  // 32 -> 64 on 14x14 1.4-1.5x. From 48 both ways (`node dist/bench/conv_ab.js CONVNET_WINOGRAD
  // 0 1 --threads 2 sweep5`): 0.60-0.91x the time, but 48 -> 48 on 14x14 1.3x. Backward-filter
  // in the same sweep: 0.51-0.69x from 48 channels; below, 1.1-2.5x (16 -> 16 on 28x28 2.5x).
  // With AVX2 the same bounds, not measured again: the alternative there is im2col + GEMM, no
  // faster than the direct kernels (AlexNet c2-c5: Winograd 0.49-0.74x its time, conv2d_winograd.cc).
  const int64_t least = d.kh == 5 ? 48 : 16;
  // Dilation 2, 4 or 8 (the tiles' outputs d apart, conv2d_winograd.cc's Tiling): forward and
  // backward-data of the 64 -> 64 layers on 56x56 at dilation 2 and 4 took 0.77-0.91x the
  // direct kernels' time (`node dist/bench/conv_ab.js CONVNET_WINOGRAD 0 1 --threads 2
  // dilated`; backward-filter 0.86-0.88x). Tiles cover whole blocks of 2d outputs a side, so
  // small images waste some: at most a quarter more outputs than there are.
  const int64_t dil = g.dilation_h;
  const auto covered = [&](int64_t n) { return ceil_div(n, 2 * dil) * 2 * dil; };
  const bool dilation_ok = dil == 1 || ((dil == 2 || dil == 4 || dil == 8) && 4 * covered(d.Ho) * covered(d.Wo) <= 5 * d.Ho * d.Wo);
  const bool simd = std::strcmp(sgemm_kernel_name(), "avx512") == 0 || std::strcmp(sgemm_kernel_name(), "avx2") == 0;
  if (!(simd && (d.kh == 3 || d.kh == 5) && d.kw == d.kh && g.stride_h == 1 && g.stride_w == 1 && g.dilation_w == dil &&
        dilation_ok && d.Cg >= least && d.Kg >= least && d.N > 0 && d.Ho > 0 && d.Wo > 0)) {
    return false;
  }
  // The tiles of the whole batch are the GEMMs' columns, in panels of NR (32 with AVX-512): on
  // a small map at batch 1 most of a panel is padding. ResNet-50's 512 -> 512 layer on 7x7 at
  // batch 1 is 16 tiles, 16 x 32 products per pair of channels against the direct sum's 49 x 9,
  // and took 3.0 ms at 2 threads against the direct kernel's 1.5 (PyTorch 1.2). So only where
  // the padded GEMMs do at most 3/4 of the direct sum's multiplies: 14x14 at batch 1 (0.58) and
  // 7x7 at batch 2 (0.58) still take Winograd, 7x7 (1.16) and 4x4 (3.6) at batch 1 do not.
  const int64_t xi = (d.kh + 1) * (d.kh + 1), NR = sgemm_panel_width();
  const int64_t tiles = d.N * (covered(d.Ho) / 2) * (covered(d.Wo) / 2);
  return everywhere || 4 * xi * ceil_div(tiles, NR) * NR <= 3 * d.N * d.Ho * d.Wo * d.kh * d.kw;
}

WinogradConv winograd_problem(const Dims& d, const Conv2dGeometry& g) {
  WinogradConv p;
  p.R = d.kh;
  p.N = d.N, p.C = d.C, p.H = d.H, p.W = d.W, p.K = d.K, p.Ho = d.Ho, p.Wo = d.Wo, p.groups = d.groups;
  p.pad_top = g.pad_top, p.pad_left = g.pad_left;
  p.dil = g.dilation_h;
  return p;
}

}  // namespace

namespace {

constexpr float kInfinity = std::numeric_limits<float>::infinity();

// weights: the memory pw and pb are, when they are the op's own (Note [prepared weights]).
void pointwise_packed(const float* px, const float* pw, const float* pb, const Dims& d, float* py,
                      const prepared::Source& weights, float lo, float hi);
// exact_sums: only methods whose every output is a sum of products of x's and w's own values
// (conv2d_forward_exact_sums): not Winograd, whose transforms round, nor space to depth (which may
// hand its problem to Winograd), nor direct_forward where it computes its rows by Winograd.
void forward_on(const float* px, const float* pw, const float* pb, const Dims& d, const Conv2dGeometry& g, float* py,
                const prepared::Source* weights = nullptr, const PaddedSource* source = nullptr, bool exact_sums = false);
enum class ForwardMethod { SpaceToDepth, Winograd, Narrow, Direct, Direct32, Gemm };
ForwardMethod forward_method(const Dims& d, const Conv2dGeometry& g);

// Space to depth. A convolution at stride s along both axes (no dilation) is a stride-1
// convolution of x's s x s phases:
//   x'[n, (c, p, q), u, v] = x[n, c, s u + p - pad_top, s v + q - pad_left]   (0 outside x)
//   w'[k, (c, p, q), a, b] = w[k, c, s a + p, s b + q]                        (0 past kh, kw)
// with Cg s^2 channels a group, a ceil(kh / s) x ceil(kw / s) kernel and no padding; every y
// element is the same products, plus zeros. Taken where the direct kernel cannot run the stride
// itself and that problem runs on Winograd (it took AlexNet's c1, 11x11/4 over 3 channels -> 3x3
// over 48, from 6.0 to 3.3 ms through forward_gemm before the direct kernel took strides) or on
// the direct kernel with few zero taps (space_to_depth_applies). As with
// Winograd itself, a NaN or inf in x may also reach outputs next to those whose window holds it
// (through a zero tap or a tile's transform). Backward-filter on the regrouped problem measured
// slower there (4.4 -> 6.6 ms), so it goes this way only where 512-bit FMAs are halved
// (space_to_depth_filter_applies).
struct SpaceToDepth {
  int64_t s;
  Dims d;              // the stride-1 problem
  Conv2dGeometry g;
};

SpaceToDepth space_to_depth_of(const Dims& d, const Conv2dGeometry& g) {
  SpaceToDepth t;
  t.s = g.stride_h;
  const int64_t kh = ceil_div(d.kh, t.s), kw = ceil_div(d.kw, t.s);
  Shape xs{d.N, d.C * t.s * t.s, d.Ho + kh - 1, d.Wo + kw - 1}, ws{d.K, d.Cg * t.s * t.s, kh, kw}, ys{d.N, d.K, d.Ho, d.Wo};
  t.d = dims_of(xs, ws, ys, d.groups);
  t.g.groups = g.groups;
  return t;
}

// Whether the problem has a space-to-depth form at all: equal strides over 1, no dilation, outputs.
bool regroupable(const Dims& d, const Conv2dGeometry& g) {
  return g.stride_h >= 2 && g.stride_w == g.stride_h && g.dilation_h == 1 && g.dilation_w == 1 && d.N > 0 &&
         d.Ho > 0 && d.Wo > 0;
}

bool space_to_depth_applies(const Dims& d, const Conv2dGeometry& g) {
  if (!regroupable(d, g)) return false;
  const SpaceToDepth t = space_to_depth_of(d, g);
  // Never where the direct kernel of 32-channel blocks takes the strided problem itself (strides
  // 2 and 4): it beat space to depth + Winograd everywhere it was timed (2 threads, Zen 5,
  // `node dist/bench/conv_ab.js` with a throwaway switch, "AlexNet c1" "11x11" "5x5/2" "3x3/2
  // 256"): AlexNet's c1 4.83 -> 4.38 ms, 11x11/4 16 -> 64 on 111x111 4.13 -> 3.19, 5x5/2 32 ->
  // 64 on 64x64 3.28 -> 2.38, the tiled convolution's 5x5/2 16 -> 64 on 22x22 2.03 -> 0.74.
  // On AVX2 (tiles of 16 channels) space to depth keeps the problems it makes Winograd ones
  // on maps of 16x16 outputs or more (Zen 3, 2 threads, against the direct kernel): AlexNet's
  // c1 (55x55) took 1.14-1.23x the time by the direct kernel, 11x11/4 16 -> 64 (26x26) and 5x5/2
  // 32 -> 64 (32x32) 0.98-1.18x; the tiled convolution's 5x5/2 16 -> 64 (9x9) 0.62x.
  const bool winograd = winograd_applies(t.d, t.g);
  if (direct32_applies(d, g) && !(winograd && d.Ho * d.Wo >= 256 && avx2_path())) return false;
  // Elsewhere Winograd, or the direct kernel of the stride-1 problem where the zero taps are few
  // (at most a third more taps than kh x kw): against forward_gemm / im2col, 8x8/4 3 -> 64 on
  // 128x128 took 0.71 -> 0.58 ms this way, before the direct kernel took it at the stride (0.48).
  const bool few_zero_taps = 3 * (t.d.kh * t.s) * (t.d.kw * t.s) <= 4 * d.kh * d.kw;
  return winograd || (few_zero_taps && direct32_applies(t.d, t.g));
}

// x' of the space-to-depth problem t (in scratch slot 6): a row (n, c, p, q, u) at a time, each
// a copy of every s-th element of one row of x.
float* space_to_depth_input(const float* px, const Dims& d, const Conv2dGeometry& g, const SpaceToDepth& t) {
  const int64_t s = t.s, U = t.d.H, V = t.d.W;
  float* xr = scratch(6, t.d.N * t.d.C * U * V);
  parallel_for(d.N * d.C * s * s * U, std::max<int64_t>(1, 16384 / V), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t u = r % U, q = (r / U) % s, p = (r / (U * s)) % s, nc = r / (U * s * s);
      float* out = xr + r * V;
      const int64_t ih = s * u + p - g.pad_top, shift = q - g.pad_left;  // x column of v: s v + shift
      const int64_t lo = std::clamp<int64_t>(ceil_div(-shift, s), 0, V), hi = std::clamp<int64_t>(ceil_div(d.W - shift, s), lo, V);
      if (ih < 0 || ih >= d.H || lo == hi) {
        std::fill(out, out + V, 0.0f);
        continue;
      }
      const float* in = px + (nc * d.H + ih) * d.W + shift;
      std::fill(out, out + lo, 0.0f);
      copy_strided(in + lo * s, s, hi - lo, out + lo);
      std::fill(out + hi, out + V, 0.0f);
    }
  });
  return xr;
}

void space_to_depth_forward(const float* px, const float* pw, const float* pb, const Dims& d, const Conv2dGeometry& g,
                            float* py) {
  const SpaceToDepth t = space_to_depth_of(d, g);
  const int64_t s = t.s, kh = t.d.kh, kw = t.d.kw;
  const float* xr = space_to_depth_input(px, d, g, t);
  float* wr = scratch(7, t.d.K * t.d.Cg * kh * kw);
  // w': zero where s a + p or s b + q runs past the kernel.
  for (int64_t k = 0; k < d.K; ++k)
    for (int64_t c = 0; c < d.Cg; ++c)
      for (int64_t p = 0; p < s; ++p)
        for (int64_t q = 0; q < s; ++q)
          for (int64_t a = 0; a < kh; ++a)
            for (int64_t b = 0; b < kw; ++b) {
              const int64_t i = s * a + p, j = s * b + q;
              wr[((((k * d.Cg + c) * s + p) * s + q) * kh + a) * kw + b] = i < d.kh && j < d.kw ? pw[((k * d.Cg + c) * d.kh + i) * d.kw + j] : 0.0f;
            }
  forward_on(xr, wr, pb, t.d, t.g, py);
}

// Backward-filter through the same regrouping, where the stride-1 problem runs on Winograd:
// dw'[k, (c, p, q), a, b] of x' and dy, then dw[k, c, s a + p, s b + q] = dw'[...] (the zero
// taps' sums are dropped; as in the forward, a NaN or inf in x may reach more of dw than the
// direct sums would carry it to). Only where 512-bit FMAs are halved (Zen 4): there the direct
// kernel is bound by them, and AlexNet's c1 (2 threads) took 9.2 -> 7.9 ms (`node
// dist/bench/conv_ab.js CONVNET_FMA512 full halved --threads 2 "alex c1"`); on Zen 5 it had
// measured 4.4 -> 6.6 ms, slower (see space_to_depth_forward).
bool space_to_depth_filter_applies(const Dims& d, const Conv2dGeometry& g) {
  if (!avx512_fma_halved() || !regroupable(d, g)) return false;
  const SpaceToDepth t = space_to_depth_of(d, g);
  return winograd_applies(t.d, t.g);
}

void space_to_depth_backward_filter(const float* pdy, const float* px, const Dims& d, const Conv2dGeometry& g,
                                    float* pdw) {
  const SpaceToDepth t = space_to_depth_of(d, g);
  const int64_t s = t.s, kh = t.d.kh, kw = t.d.kw;
  const float* xr = space_to_depth_input(px, d, g, t);
  float* wr = scratch(7, t.d.K * t.d.Cg * kh * kw);
  winograd_conv2d_backward_filter(xr, pdy, winograd_problem(t.d, t.g), wr);
  for (int64_t k = 0; k < d.K; ++k)
    for (int64_t c = 0; c < d.Cg; ++c)
      for (int64_t i = 0; i < d.kh; ++i)
        for (int64_t j = 0; j < d.kw; ++j) {
          const int64_t a = i / s, p = i % s, b = j / s, q = j % s;
          pdw[((k * d.Cg + c) * d.kh + i) * d.kw + j] = wr[((((k * d.Cg + c) * s + p) * s + q) * kh + a) * kw + b];
        }
}

}  // namespace

void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& y) {
  conv2d_forward_queued(x, w, b, g, y, prepared::Source{});  // no memory named: nothing kept
}

void conv2d_forward_queued(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& y,
                           const prepared::Source& weights, float clamp_lo, float clamp_hi) {
  if (y.numel() == 0) return;
  const Dims d = dims_of(x.shape, w.shape, y.shape, g.groups);
  if (is_depthwise(d)) return depthwise_conv2d_forward_clamped(x, w, b, g, y, clamp_lo, clamp_hi);
  const float* pb = b ? b->f32() : nullptr;
  const bool clamped = clamp_lo > -kInfinity || clamp_hi < kInfinity;
  // A fused activation: in the GEMM's epilogue for 1x1s (with the bias), else a pass over y.
  if (clamped && is_pointwise(d, g) && forward_method(d, g) == ForwardMethod::Gemm) {
    return pointwise_packed(x.f32(), w.f32(), pb, d, y.f32(), weights, clamp_lo, clamp_hi);
  }
  forward_on(x.f32(), w.f32(), pb, d, g, y.f32(), &weights);
  if (clamped) clamp(y, clamp_lo, clamp_hi, y);  // in place: one read and one write per element
}

void conv2d_forward_exact_sums(const Tensor& x, const Tensor& w, const Conv2dGeometry& g, const Tensor& y) {
  if (y.numel() == 0) return;
  const Dims d = dims_of(x.shape, w.shape, y.shape, g.groups);
  forward_on(x.f32(), w.f32(), nullptr, d, g, y.f32(), nullptr, nullptr, true);
}

namespace {

// A 1x1 convolution at stride 1 (no padding), y_g[n] = w_g [Kg, Cg] x_g[n] [Cg, HW], with w
// packed for the GEMM once and kept between calls (Note [prepared weights]): at batch 1 the
// packing of ResNet-50's 1x1 weights, on every call, was 5% of its forward (`perf record`).
// The bias, and a fused activation's clamp to [lo, hi], are the GEMM's epilogue, applied to each
// block of y as it is finished, while in cache (they had been passes over the whole of y).
void pointwise_packed(const float* px, const float* pw, const float* pb, const Dims& d, float* py,
                      const prepared::Source& weights, float lo, float hi) {
  const prepared::Layout layout = packed_weights(pw, d, &weights);  // ckk is Cg here
  const int64_t packed_floats = sgemm_packed_a_floats(d.Kg, d.Cg);
  const bool epilogue = pb || lo > -kInfinity || hi < kInfinity;
  for (int64_t gi = 0; gi < d.groups; ++gi) {
    const SgemmMatrixPanels x_g(px + gi * d.Cg * d.hw, d.hw, d.C * d.hw);
    const SgemmEpilogue e{pb ? pb + gi * d.Kg : nullptr, lo, hi};
    packed_product(d.Kg, d.hw, d.Cg, layout.data + gi * packed_floats, x_g, 0.0f, py + gi * d.Kg * d.hw, d.hw,
                   d.K * d.hw, d.N, epilogue ? &e : nullptr);
  }
}

// The method forward_on takes for a problem, the first whose rule applies; the GEMM paths after
// these choose among themselves. backward_data_by_phases asks it too (which phases direct32 runs).
ForwardMethod forward_method(const Dims& d, const Conv2dGeometry& g) {
  if (space_to_depth_applies(d, g)) return ForwardMethod::SpaceToDepth;
  if (winograd_applies(d, g)) return ForwardMethod::Winograd;
  // Measured on Zen 5, 64 images, 2 threads: LeNet c1 (6 channels) 0.120 -> 0.057 ms against
  // direct_forward's channel lanes.
  if (narrow_applies(d, g)) return ForwardMethod::Narrow;
  // Not 1x1 at stride 1: that is a GEMM whose B is x itself (pointwise_packed), and the
  // GEMM's 14-row tiles beat the direct kernel's 16 channel lanes there (MobileNet v2's 32 -> 16
  // on 112x112, batch 1, 1 thread: 0.169 -> 0.108 ms; PyTorch 0.135).
  if (direct_forward_applies(d) && !is_pointwise(d, g)) return ForwardMethod::Direct;
  if (direct32_applies(d, g)) return ForwardMethod::Direct32;
  return ForwardMethod::Gemm;
}

// The forward of a non-depthwise problem, by the method its shapes call for.
void forward_on(const float* px, const float* pw, const float* pb, const Dims& d, const Conv2dGeometry& g, float* py,
                const prepared::Source* weights, const PaddedSource* source, bool exact_sums) {
  std::vector<int64_t> offset;  // the direct kernels' taps in w's own order
  ForwardMethod method = forward_method(d, g);
  if (exact_sums && (method == ForwardMethod::Winograd || method == ForwardMethod::SpaceToDepth ||
                     (method == ForwardMethod::Direct && winograd_rows_applies(d, g)))) {
    method = ForwardMethod::Gemm;
  }
  switch (method) {
    case ForwardMethod::SpaceToDepth:
      return space_to_depth_forward(px, pw, pb, d, g, py);
    case ForwardMethod::Winograd: {
      WinogradConv p = winograd_problem(d, g);
      p.w = pw, p.w_group = d.Kg * d.ckk, p.w_out = d.ckk, p.w_in = d.kh * d.kw, p.w_row = d.kw, p.w_col = 1, p.bias = pb;
      prepared::Source w_only;  // U holds no bias
      if (weights) w_only.w = weights->w, w_only.w_version = weights->w_version, p.weights = &w_only;
      return winograd_conv2d(px, p, py);
    }
    case ForwardMethod::Narrow:
      offset.resize(d.ckk);
      for (int64_t r = 0; r < d.ckk; ++r) offset[r] = r;
      return direct_narrow(px, pw, d.Kg * d.ckk, d.ckk, offset, pb, d, g, py);
    case ForwardMethod::Direct:
      return direct_forward(px, pw, pb, d, g, py);
    case ForwardMethod::Direct32:
      offset.resize(d.ckk);
      for (int64_t r = 0; r < d.ckk; ++r) offset[r] = r;
      return direct32(px, pw, d.Kg * d.ckk, d.ckk, offset, pb, d, g, py, weights, source);
    case ForwardMethod::Gemm:
      break;
  }

  if (is_pointwise(d, g)) {
    if (weights) return pointwise_packed(px, pw, pb, d, py, *weights, -kInfinity, kInfinity);
    {
      for (int64_t gi = 0; gi < d.groups; ++gi) {
        sgemm_strided_batched(false, false, d.Kg, d.hw, d.Cg, 1.0f, pw + gi * d.Kg * d.Cg, d.Cg, 0,
                              px + gi * d.Cg * d.hw, d.hw, d.C * d.hw, 0.0f, py + gi * d.Kg * d.hw, d.hw,
                              d.K * d.hw, d.N);
      }
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
  if ((d.Kg <= 64 && d.ckk * d.hw_out >= (int64_t{1} << 18) && g.stride_w == 1)) return forward_gemm(px, pw, pb, d, g, py, weights);
  // Large kernels at a stride over few channels (AlexNet's 11x11/4 and ResNet's 7x7/2 stem on 3
  // channels, before space_to_depth took them; still unequal strides and the problems its rule
  // leaves): the column matrix is kh*kw / (sh*sw) >= 4 times the image, over the L2. Building
  // the panels from x wins there when the outputs are large (2 threads, Zen 5: AlexNet c1 batch 8
  // 8.2 -> 6.7 ms, ResNet's stem batch 8 11.2 -> 8.3 ms, 7x7/2 16->32 on 112x112 6.0 -> 4.0 ms,
  // 5x5/2 3->64 on 128x128 1.46 -> 1.41 ms); with Ho*Wo under 2048 it lost (11x11/4 16->64 to 27x27
  // 3.24 -> 3.37 ms, 4x4/2 32->64 to 32x32 2.12 -> 2.47 ms).
  if (d.ckk * d.hw_out >= (int64_t{1} << 18) && d.kh * d.kw >= 4 * g.stride_h * g.stride_w && d.hw_out >= 2048) {
    return forward_gemm(px, pw, pb, d, g, py, weights);
  }

  const int64_t nb = images_per_chunk(d), chunks = ceil_div(d.N, nb);
  // Few images (the im2col below would take them in one chunk), as a model serves them, and
  // weights of the op's own: the GEMM's packed w is kept between calls (Note [prepared
  // weights]). At batch 1 the packing was most of the layers that come here: ResNet-50's
  // 512 -> 512 3x3 on 7x7 packed its 9.4 MB of weights for 49 outputs a channel, 1.72 ms at 2
  // threads on Zen 5 against PyTorch's 1.30 (`node dist/bench/resnet-layers.js --resnet50`).
  if (chunks == 1 && weights && weights->w) return forward_gemm(px, pw, pb, d, g, py, weights);
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

// Note [backward-data by phases]: at a stride s (both axes, no dilation), dx's s x s phases
// dx[c, s u + p, s v + q] are each a stride-1 convolution of dy with the taps of w that reach
// them: rows i = r + s a (r = (p + pad_top) mod s), flipped and transposed, so
//   dx_pq[c, u, v] = sum over k, a', b' of w'[c, k, a', b'] dy[k, u + a' - pad', v + b' - pad'']
// with w'[c, k, a', b'] = w[k, c, r + s (A-1-a'), r' + s (B-1-b')], A = ceil((kh - r) / s) taps
// and padding A - 1 - (p + pad_top - r) / s. Each phase then runs on the forward's own methods
// (forward_on: the direct kernels, Winograd, im2col + GEMM), and the phases are interleaved into
// dx in one pass. im2col + GEMM + col2im instead wrote and re-read a column matrix of Cg kh kw
// rows, a GEMM of depth Kg alone (7x7/2 16 -> 32 on 112x112: 0.38x PyTorch's speed, 0.72x by
// phases). The transposed convolution's forward is this too.
struct Phase {
  int64_t first, taps, pad;  // the first tap (r), the taps it takes (A), the stride-1 padding
};

Phase phase_of(int64_t k, int64_t s, int64_t pad, int64_t p) {
  const int64_t r = (p + pad) % s, taps = ceil_div(k - r, s);
  return {r, taps, taps - 1 - (p + pad - r) / s};
}

bool phases_apply(const Dims& d, const Conv2dGeometry& g) {
  const int64_t s = g.stride_h;
  // Stride 2 with 4 or more input channels a group (the phases' outputs). 2 threads, against
  // im2col + GEMM + col2im (interleaved, a throwaway switch): 7x7/2 16 -> 32 on 112x112 7.3 ->
  // 4.2 ms, 5x5/2 32 -> 64 on 64x64 3.2 -> 2.2, 4x4/2 32 -> 64 2.1 -> 1.6, FCN's 4x4/2 transposed
  // convolutions' forward 0.90 -> 0.66 and 1.63 -> 1.32, 3x3/2 64 -> 128 and 128 -> 256 even. Not
  // taken: 3 channels (5x5/2 3 -> 96 1.85 -> 2.40 ms: phases of 3 output channels; a network's
  // first layer needs no dx anyway) and stride 4 (16 small phases: 8x8/4 0.82 -> 1.18 ms, 11x11/4
  // 16 -> 64 5.3 -> 6.0).
  if (s != 2 || g.stride_w != s || g.dilation_h != 1 || g.dilation_w != 1 || d.kh < s || d.kw < s || d.N == 0 || d.Cg < 4) {
    return false;
  }
  // Nor on small maps: phases under 14 x 14 make four thin problems where im2col + col2im makes
  // one GEMM. ResNet-18's 3x3/2 layers at batch 32 (Zen 4, 2 threads, a throwaway switch, `node
  // dist/bench/conv_ab.js ... resnet`): 256 -> 512 on 8x8 12.5 -> 7.0 ms, 128 -> 256 on 16x16
  // 10.3 -> 7.9; phases of 8x8, 10x10, 12x12 also lost (0.69-0.98x the time without), those of
  // 14x14 (128 -> 256 on 28x28: 10.3 against 11.4 ms) and 16x16 (64 -> 128 on 32x32) won.
  if (ceil_div(d.H, s) * ceil_div(d.W, s) < 14 * 14) return false;
  // On AVX2, only where every phase has 9 or more taps (kernels of 6 and up): the direct kernel's
  // tiles of 16 channels reread x from L2 for every few FMAs, and phases of 1 to 6 taps lost to
  // im2col + GEMM + col2im (Zen 3, 2 threads, `node dist/bench/conv_ab.js` with a throwaway
  // switch, `--direction backward-data down3 resnet 3x3/2 4x4/2 5x5/2 7x7/2`, session 33): 3x3/2
  // 64 -> 128 on 56x56 0.55-0.58x the time without phases, 32 -> 64 on 112x112 0.38x, on 28x28
  // 0.84x, ResNet-18's 64 -> 128 on 32x32 0.71x; 4x4/2 32 -> 64 0.85x, FCN's 4x4/2 transposed
  // forwards 0.85-0.89x; 5x5/2 32 -> 64 0.86x; but 7x7/2 16 -> 32 on 112x112 1.32x (kept).
  if (avx2_path() && (d.kh / s) * (d.kw / s) < 9) return false;
  // Nor anywhere with kernels under 2s (2x2/2, 3x3/2): their phases have one tap along an axis,
  // thin problems whose copies (dy padded per phase, the outputs transposed, then interleaved)
  // cost more than col2im's. Intel model 207 (AVX-512), 2 threads, the time with the GEMM over
  // by phases (`node dist/bench/conv_ab.js` with a throwaway switch, `--direction backward-data
  // 3x3/2 down3 resnet`, and `--direction forward up`, session 41): 3x3/2 64 -> 128 on 56x56
  // 0.80-0.83x at batch 8 and 0.54x at batch 1, 32 -> 64 on 112x112 0.84x, 80 -> 160 0.82x,
  // ResNet-18's 64 -> 128 on 32x32 0.91x, on 28x28 1.02x; U-Net's 2x2/2 transposed forwards
  // 0.87x and 0.96x, a 3x3/2 one 0.89x. The 4x4/2 ones unchanged (0.97x, 1.00x: the noise).
  if (std::min(d.kh, d.kw) < 2 * s) return false;
  for (int64_t p = 0; p < s; ++p) {
    if (phase_of(d.kh, s, g.pad_top, p).pad < 0 || phase_of(d.kw, s, g.pad_left, p).pad < 0) return false;
  }
  return true;
}

// Stride 2 (phases_apply), so dx's rows interleave two phases (zip2). Scratch slots 8 and 9
// (the phases' weights, then their outputs) are held across forward_on.
void backward_data_by_phases(const float* pdy, const float* pw, const float* pb, const Dims& d, const Conv2dGeometry& g,
                             float* pdx) {
  const int64_t s = g.stride_h, planes = d.N * d.C;
  const int64_t Hp0 = ceil_div(d.H, s), Wp0 = ceil_div(d.W, s);
  float* out = scratch(9, s * s * planes * Hp0 * Wp0);
  std::vector<const float*> phase_out(s * s);
  std::vector<int64_t> phase_w(s * s);
  // Each phase's problem: a stride-1 convolution of dy with A x B taps into Hp x Wp outputs.
  std::vector<Dims> dims(s * s);
  std::vector<Conv2dGeometry> geometry(s * s);
  for (int64_t p = 0; p < s; ++p) {
    for (int64_t q = 0; q < s; ++q) {
      const Phase rows = phase_of(d.kh, s, g.pad_top, p), cols = phase_of(d.kw, s, g.pad_left, q);
      dims[p * s + q] = dims_of(Shape{d.N, d.K, d.Ho, d.Wo}, Shape{d.C, d.Kg, rows.taps, cols.taps},
                                Shape{d.N, d.C, ceil_div(d.H - p, s), ceil_div(d.W - q, s)}, d.groups);
      geometry[p * s + q].pad_top = rows.pad, geometry[p * s + q].pad_left = cols.pad, geometry[p * s + q].groups = g.groups;
    }
  }
  // dy padded once for the phases that the direct kernel takes (where two or more do), each of
  // which had padded it again (a seventh of 4x4/2 32 -> 64's backward-data, `perf record`): a
  // phase reads rows [-pad, Hp - 1 + A - pad) of dy and the same for columns, so the copy takes
  // the widest border on each side. Intel model 207, 2 threads, the time with over without
  // (`node dist/bench/conv_ab.js` with a throwaway switch, twice, session 41): 4x4/2 32 -> 64
  // backward-data 0.86-0.87x, 5x5/2 32 -> 64 0.92-0.98x, the 4x4/2 transposed convolutions'
  // forwards 0.88-0.91x and 0.95-0.96x.
  PaddedSource padded{nullptr, 0, 0, 0, 0};
  int64_t direct = 0, rows_end = d.Ho, cols_end = d.Wo;
  for (int64_t i = 0; i < s * s; ++i) {
    const Dims& t = dims[i];
    if (t.Ho <= 0 || t.Wo <= 0 || forward_method(t, geometry[i]) != ForwardMethod::Direct32) continue;
    ++direct;
    padded.top = std::max(padded.top, geometry[i].pad_top), padded.left = std::max(padded.left, geometry[i].pad_left);
    rows_end = std::max(rows_end, t.Ho - 1 + t.kh - geometry[i].pad_top);
    cols_end = std::max(cols_end, t.Wo - 1 + t.kw - geometry[i].pad_left);
  }
  padded.hp = padded.top + rows_end, padded.wp = padded.left + cols_end;
  // Not past 64 MiB of copy (kept per thread, as the scratch is): the kernel's own copies take
  // ~8 MiB of images at a time.
  const bool once = direct >= 2 && d.N * d.K * padded.hp * padded.wp <= (int64_t{16} << 20);
  if (once) {
    float* buf = scratch(10, d.N * d.K * padded.hp * padded.wp);
    Dims pd = d;  // dy's planes as the input of copy_padded
    pd.H = d.Ho, pd.W = d.Wo, pd.hw = d.hw_out;
    Conv2dGeometry pg;
    pg.pad_top = padded.top, pg.pad_left = padded.left;
    copy_padded(pdy, d.N * d.K, pd, pg, padded.hp, padded.wp, buf);
    padded.data = buf;
  }
  for (int64_t p = 0; p < s; ++p) {
    for (int64_t q = 0; q < s; ++q) {
      const Dims& t = dims[p * s + q];
      const int64_t A = t.kh, B = t.kw, Hp = t.Ho, Wp = t.Wo;
      const int64_t first_row = phase_of(d.kh, s, g.pad_top, p).first, first_col = phase_of(d.kw, s, g.pad_left, q).first;
      float* o = out + (p * s + q) * planes * Hp0 * Wp0;
      phase_out[p * s + q] = o, phase_w[p * s + q] = Wp;
      if (Hp <= 0 || Wp <= 0) continue;
      // w'[(gi, c), k, a', b'] = w[(gi, k), c, r + s (A-1-a'), r' + s (B-1-b')]
      float* wp = scratch(8, d.C * d.Kg * A * B);
      for (int64_t gi = 0; gi < d.groups; ++gi)
        for (int64_t c = 0; c < d.Cg; ++c)
          for (int64_t k = 0; k < d.Kg; ++k)
            for (int64_t a = 0; a < A; ++a)
              for (int64_t b = 0; b < B; ++b) {
                const int64_t i = first_row + s * (A - 1 - a), j = first_col + s * (B - 1 - b);
                wp[(((gi * d.Cg + c) * d.Kg + k) * A + a) * B + b] = pw[(((gi * d.Kg + k) * d.Cg + c) * d.kh + i) * d.kw + j];
              }
      forward_on(pdy, wp, pb, t, geometry[p * s + q], o, nullptr, once ? &padded : nullptr);
    }
  }
  // dx row h = 2 u + p: its columns 2 v + q from phase (p, q)'s row u, each phase plane Hp x Wp.
  parallel_for(planes * d.H, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, d.W)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t plane = r / d.H, h = r % d.H, p = h % s, u = h / s;
      const int64_t Hp = ceil_div(d.H - p, s), W0 = phase_w[p * 2], W1 = phase_w[p * 2 + 1];
      const float *a = phase_out[p * 2] + (plane * Hp + u) * W0, *b = phase_out[p * 2 + 1] + (plane * Hp + u) * W1;
      float* dst = pdx + r * d.W;
      zip2(a, b, W1, dst);
      if (W0 > W1) dst[2 * W1] = a[W1];  // an odd width: phase 0 has one column more
    }
  });
}

}  // namespace

// Note [backward-data as one convolution]: the s x s phases of Note [backward-data by phases]
// read the same window of dy, each with its own taps; stacked as output channels, (c, p, q) for
// channel c's phase (p, q), they are one stride-1 convolution of dy into C s^2 channels of
// ceil(H / s) x ceil(W / s), whose kernel holds every phase's taps at its own offset (zeros
// where a phase has fewer), followed by a depth-to-space shuffle into dx. One problem of s^2 as
// many output channels, for the forward's methods (Winograd where the joint kernel is 3x3 or
// 5x5), instead of s^2 thin ones or a GEMM of depth Kg and col2im. Phase p's taps sit at rows
// [off_p, off_p + A_p) of the joint kernel, off_p = P - pad_p with P the largest phase padding, so
// that every phase reads dy rows u + a - P. As with Winograd and space to depth, a NaN or inf in
// dy may also reach dx elements beside those it feeds (through a zero tap or a tile's transform).
struct JointPhases {
  int64_t s;
  Dims d;                                // the stride-1 problem over dy
  Conv2dGeometry g;                      // its padding (the largest phase's) and groups
  std::vector<int64_t> row_first, row_taps, row_off, col_first, col_taps, col_off;  // per phase p (q)
};

// One axis of the joint kernel: each phase's first tap of w, its taps and its offset in the
// joint kernel; returns the joint padding P and the joint kernel's length.
std::pair<int64_t, int64_t> joint_axis(int64_t k, int64_t s, int64_t pad, std::vector<int64_t>& first, std::vector<int64_t>& taps,
                                       std::vector<int64_t>& off) {
  first.resize(s), taps.resize(s), off.resize(s);
  int64_t P = 0;  // over the phases that take taps (a kernel narrower than s leaves some none)
  for (int64_t p = 0; p < s; ++p) {
    const Phase ph = phase_of(k, s, pad, p);
    first[p] = ph.first, taps[p] = std::max<int64_t>(ph.taps, 0), off[p] = ph.pad;  // the offset once P is known
    if (taps[p] > 0) P = std::max(P, ph.pad);
  }
  int64_t A = 0;
  for (int64_t p = 0; p < s; ++p) {
    off[p] = P - off[p];
    if (taps[p] > 0) A = std::max(A, off[p] + taps[p]);
  }
  return {P, A};
}

JointPhases joint_phases_of(const Dims& d, const Conv2dGeometry& g) {
  JointPhases j;
  j.s = g.stride_h;
  const auto [pt, A] = joint_axis(d.kh, j.s, g.pad_top, j.row_first, j.row_taps, j.row_off);
  const auto [pl, B] = joint_axis(d.kw, j.s, g.pad_left, j.col_first, j.col_taps, j.col_off);
  j.g.pad_top = pt, j.g.pad_left = pl, j.g.groups = g.groups;
  j.d = dims_of(Shape{d.N, d.K, d.Ho, d.Wo}, Shape{d.C * j.s * j.s, d.Kg, std::max<int64_t>(A, 1), std::max<int64_t>(B, 1)},
                Shape{d.N, d.C * j.s * j.s, ceil_div(d.H, j.s), ceil_div(d.W, j.s)}, d.groups);
  return j;
}

// Where the joint problem is a Winograd one (a 3x3 or 5x5 joint kernel, 16 or more channels each
// way), with at most half again as many taps as w has, on joint maps of 256 outputs or more.
// Intel model 207, 2 threads, the time against the methods before it (`node
// dist/bench/conv_ab.js` with a throwaway switch, `--direction backward-data`, twice): AlexNet's
// c1 0.73-0.78x (11x11/4 as 3x3 over 48 channels), 11x11/4 16 -> 64 on 111x111 0.70-0.81x,
// 5x5/2 32 -> 64 on 64x64 0.85-0.95x (by phases before); the AVX2 build 0.82x, 0.84x and 0.79x.
// Everywhere else it was slower: joint kernels that are not Winograd's (3x3/2 and 4x4/2 make 2x2
// and 3x3 ones with 1.8-2.3x the taps: 1.3-2.9x the time; 7x7/2 16 -> 32 4x4, 1.04x; 3-channel
// layers, 12 joint channels, 1.4-2.2x), and the tiled piece's 5x5/2 on 22x22 (11x11 joint maps,
// 1.26x). Returns the joint problem there, else none.
std::optional<JointPhases> joint_phases_for(const Dims& d, const Conv2dGeometry& g) {
  const int64_t s = g.stride_h;
  if (!(s >= 2 && g.stride_w == s && g.dilation_h == 1 && g.dilation_w == 1 && d.N > 0 && d.Ho > 0 && d.Wo > 0)) return std::nullopt;
  JointPhases j = joint_phases_of(d, g);
  if (!(2 * j.d.kh * j.d.kw * s * s <= 3 * d.kh * d.kw && j.d.hw_out >= 256 && winograd_applies(j.d, j.g))) return std::nullopt;
  return j;
}

void backward_data_joint(const float* pdy, const float* pw, const float* pb, const Dims& d, const JointPhases& j, float* pdx) {
  const int64_t s = j.s, ss = s * s, A = j.d.kh, B = j.d.kw;
  // w''[(gi Cg + c) s^2 + p s + q, k, a, b] = w[gi Kg + k, c, first_p + s (A_p - 1 - (a - off_p)), (the same
  // for columns)] where (a, b) falls in phase (p, q)'s taps, else 0.
  float* wj = scratch(8, j.d.K * d.Kg * A * B);
  parallel_for(d.C * ss, 1, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      const int64_t gc = o / ss, p = o % ss / s, q = o % s, gi = gc / d.Cg, c = gc % d.Cg;
      for (int64_t k = 0; k < d.Kg; ++k)
        for (int64_t a = 0; a < A; ++a)
          for (int64_t b = 0; b < B; ++b) {
            const int64_t ra = a - j.row_off[p], cb = b - j.col_off[q];
            float v = 0.0f;
            if (ra >= 0 && ra < j.row_taps[p] && cb >= 0 && cb < j.col_taps[q]) {
              const int64_t i = j.row_first[p] + s * (j.row_taps[p] - 1 - ra), jj = j.col_first[q] + s * (j.col_taps[q] - 1 - cb);
              v = pw[(((gi * d.Kg + k) * d.Cg + c) * d.kh + i) * d.kw + jj];
            }
            wj[((o * d.Kg + k) * A + a) * B + b] = v;
          }
    }
  });
  std::vector<float> bias;
  if (pb) {
    bias.resize(j.d.K);
    for (int64_t o = 0; o < j.d.K; ++o) bias[o] = pb[o / ss];
  }
  const int64_t Hm = j.d.Ho, Wm = j.d.Wo;
  float* out = scratch(9, d.N * j.d.K * Hm * Wm);
  forward_on(pdy, wj, pb ? bias.data() : nullptr, j.d, j.g, out);
  // dx[n, c, s u + p, s v + q] = out[n, c s^2 + p s + q, u, v]
  parallel_for(d.N * d.C * d.H, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, d.W)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t plane = r / d.H, h = r % d.H, p = h % s, u = h / s;
      // Phase (p, 0)'s row u; phase (p, q)'s is q planes on.
      interleave_phases(out + ((plane * ss + p * s) * Hm + u) * Wm, Hm * Wm, s, d.W, pdx + r * d.W);
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
    if (tg.pad_top >= 0 && tg.pad_left >= 0 && winograd_applies(t, tg)) {
      // The weight of dx's channel o from dy's channel q at tap (i, j): w[q, o, R-1 - i, R-1 - j].
      WinogradConv p = winograd_problem(t, tg);
      const int64_t taps = d.kh * d.kw;
      p.w = pw + taps - 1, p.w_group = d.Kg * d.ckk, p.w_out = taps, p.w_in = d.ckk, p.w_row = -d.kw, p.w_col = -1;
      p.bias = pb;
      return winograd_conv2d(pdy, p, pdx);
    }
    // LeNet c3 (16 -> 6 channels), 2 threads: 0.275 -> 0.198 ms against im2col + GEMM.
    const bool narrow = narrow_applies(t, tg);
    if (tg.pad_top >= 0 && tg.pad_left >= 0 && (narrow || direct32_applies(t, tg, /*gathered=*/true))) {
      const int64_t taps = d.kh * d.kw;
      std::vector<int64_t> offset(t.ckk);
      for (int64_t r = 0; r < t.ckk; ++r) offset[r] = (r / taps) * d.Cg * taps + (taps - 1 - r % taps);
      if (narrow) return direct_narrow(pdy, pw, d.Kg * d.ckk, taps, offset, pb, t, tg, pdx);
      return direct32(pdy, pw, d.Kg * d.ckk, taps, offset, pb, t, tg, pdx);
    }
  }
  if (const std::optional<JointPhases> j = joint_phases_for(d, g)) return backward_data_joint(pdy, pw, pb, d, *j, pdx);
  if (phases_apply(d, g)) return backward_data_by_phases(pdy, pw, pb, d, g, pdx);

  const int64_t nb = images_per_chunk(d), chunks = ceil_div(d.N, nb);
  const double flops = 2.0 * d.Kg * d.ckk * nb * d.hw_out;
  const Col2imPlan plan = col2im_plan(d, g);
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
    // (Blocks of channels whose rows of dcol stay in the L2 between the GEMM and col2im measured
    // no faster: 11x11/4 16 -> 64 on 111x111 6.6 -> 6.8-7.1 ms in blocks of one channel.)
    const int64_t taps = d.kh * d.kw;
    maybe_parallel(threaded, images * d.Cg, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t j = t / d.Cg, c = t % d.Cg;
        float* plane = pdx + ((n0 + j) * d.C + gi * d.Cg + c) * d.hw;
        col2im_plane(dcol + c * taps * cols + j * d.hw_out, cols, d, g, plan, pb ? pb[gi * d.Cg + c] : 0.0f, plane);
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
  if (space_to_depth_filter_applies(d, g)) return space_to_depth_backward_filter(pdy, px, d, g, pdw);
  // On AVX2 the transposed algorithm pays off for 3x3 kernels from 96 channels each way: the
  // 64 -> 64 layers took 0.94-1.11x the time of im2col + GEMM on 56x56 (1.06-1.25x at dilation
  // 2 and 4), 1.21x on 10x10; AlexNet c3-c5 0.74-0.78x, and c2 (5x5, 48 -> 128 a group) 0.84x
  // (Zen 3, 2 threads, `node dist/bench/conv_ab.js CONVNET_WINOGRAD 0 2 --threads 2 dilated
  // "small 64" alex`, twice).
  if (winograd_applies(d, g) && !(d.kh == 3 && std::min(d.Cg, d.Kg) < 96 && avx2_path())) {
    return winograd_conv2d_backward_filter(px, pdy, winograd_problem(d, g), pdw);
  }
  if (direct_filter_applies(d, g)) return direct_filter(pdy, px, d, g, pdw);
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
