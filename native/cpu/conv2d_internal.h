// Shared by the convolution's files: conv2d.cc (the entry points, the choice of method, the
// im2col + GEMM paths), conv2d_direct.cc (the direct AVX-512 kernels), conv2d_winograd.cc.
#pragma once
#include <cstdint>
#include <vector>

#include "core/storage.h"
#include "cpu/prepared_weights.h"
#include "ops/types.h"

namespace convnet {
namespace cpu {
namespace conv2d_impl {

struct Dims {
  int64_t N, C, H, W;     // x
  int64_t K, kh, kw;      // w [K, Cg, kh, kw]
  int64_t Ho, Wo;         // y
  int64_t groups, Cg, Kg;
  int64_t ckk;            // rows of col: Cg * kh * kw
  int64_t hw, hw_out;     // H * W, Ho * Wo
};

inline Dims dims_of(const Shape& x, const Shape& w, const Shape& y, int64_t groups) {
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

inline int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Scratch memory (col, gathered dy, GEMM outputs, partial dw, padded copies, Winograd's
// transforms), kept per thread and per use between calls, 64-byte aligned (conv2d.cc). A
// method may use any slot below kScratchSlots; none holds one across a call to another method,
// except slots 6 and 7: space to depth's regrouped x and w (or dw), held across the call to the
// stride-1 method it hands the problem to, and 8, 9 and 10: backward-data's phases (their
// weights, their outputs, dy padded), held across their forwards (conv2d.cc).
constexpr int kScratchSlots = 11;
float* scratch(int slot, int64_t n);

// ---- im2col and its adjoint (conv2d.cc; F.unfold and F.fold use them too, unfold.cc) ----

// col[(c*kh + i)*kw + j][oh*Wo + ow] = x[c, oh*sh - pt + i*dh, ow*sw - pl + j*dw] (0 outside),
// for channels c in [c0, c1) of one image's group (x points at the group's first channel).
// Rows are `ld` floats apart.
void im2col(const float* x, const Dims& d, const Conv2dGeometry& g, int64_t c0, int64_t c1, float* col, int64_t ld);
// One channel's plane of dx: bias + the sum of its kh kw rows of col (`ld` floats apart) over
// every tap that read each pixel, added in the fixed tap order (i, j). The taps' geometry (the
// output rows and columns each reaches, and where) is the same for every plane: worked out once
// a call (Col2imPlan), it had been worked out per plane, a few integer divisions a tap, an eighth
// of the tiled piece's backward-data (5x5/2 on 22x22, 1024 planes).
struct Col2imTap {
  int64_t tap;          // i * kw + j: the row of col
  int64_t from;         // the first float of that row it adds (oh_lo * Wo + lo)
  int64_t to;           // where it adds it: phase q's plane, row oh_lo * sh - top, column shift + lo
  int64_t rows, n;      // output rows and columns
};
using Col2imPlan = std::vector<Col2imTap>;
Col2imPlan col2im_plan(const Dims& d, const Conv2dGeometry& g);
void col2im_plane(const float* col, int64_t ld, const Dims& d, const Conv2dGeometry& g, const Col2imPlan& plan, float bias,
                  float* plane);

// ---- The direct kernels (conv2d_direct.cc) ----

// The weight of output channel k of group gi at tap r < ckk is pw[gi * group_stride + k *
// k_stride + offset[r]]: the forward's w itself, or backward-data's flipped transpose of it.

// 4..16 output channels a group, lanes across channels (LeNet's c3).
bool direct_forward_applies(const Dims& d);
// Whether direct_forward computes its rows by a 1-D Winograd transform (AVX-512 with halved FMAs).
bool winograd_rows_applies(const Dims& d, const Conv2dGeometry& g);
void direct_forward(const float* px, const float* pw, const float* pb, const Dims& d, const Conv2dGeometry& g,
                    float* py);
// More than 16 output channels a group, stride 1, 2 or 4 along rows: blocks of 32 or 48
// channels. `weights`: the memory pw and pb are (the forward's own w and b), so that their
// blocks may be kept (Note [prepared weights]); null for weights made for the call
// (backward-data's flipped ones).
// `gathered`: the weights are backward-data's flipped transpose (non-identity offsets).
bool direct32_applies(const Dims& d, const Conv2dGeometry& g, bool gathered = false);
// A zero-bordered copy of a convolution's input made before the call: planes of hp x wp floats,
// the input's (0, 0) at row top, column left. direct32 reads it instead of padding x itself where
// it covers the region the outputs read (backward_data_by_phases pads dy once for its phases).
struct PaddedSource {
  const float* data;
  int64_t top, left, hp, wp;
};
// `planes` planes of H x W into hp x wp planes with pad_top rows and pad_left columns of zeros
// before them and zeros after (a negative pad crops), in parallel (conv2d_direct.cc).
void copy_padded(const float* src, int64_t planes, const Dims& d, const Conv2dGeometry& g, int64_t hp, int64_t wp, float* dst);
void direct32(const float* px, const float* pw, int64_t group_stride, int64_t k_stride, const std::vector<int64_t>& offset,
              const float* pb, const Dims& d, const Conv2dGeometry& g, float* py,
              const prepared::Source* weights = nullptr, const PaddedSource* source = nullptr);
// At most 8 output channels a group, stride 1 along rows: lanes along the row.
bool narrow_applies(const Dims& d, const Conv2dGeometry& g);
void direct_narrow(const float* px, const float* pw, int64_t group_stride, int64_t k_stride,
                   const std::vector<int64_t>& offset, const float* pb, const Dims& d, const Conv2dGeometry& g,
                   float* py);
// Backward-filter for kernel widths 3, 5 and 11 (at most 8 output channels a group and stride
// 1 along rows: 3, 5 and 7).
bool direct_filter_applies(const Dims& d, const Conv2dGeometry& g);
void direct_filter(const float* pdy, const float* px, const Dims& d, const Conv2dGeometry& g, float* pdw);

}  // namespace conv2d_impl
}  // namespace cpu
}  // namespace convnet
