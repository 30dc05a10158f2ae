// Where RoIAlign samples (torchvision.ops.roi_align, roi_align_kernel.cpp of torchvision 0.14),
// written once for both devices: cpu/roi_align.cc and cuda/roi_align.cu call these, so the two
// place the same samples with the same weights.
//
// For box (b, x1, y1, x2, y2), with offset = aligned ? 0.5 : 0:
//   start_w = x1 * scale - offset, roi_w = x2 * scale - offset - start_w (rows likewise);
//   not aligned: roi_w = max(roi_w, 1) (so a degenerate box still covers a pixel); aligned keeps
//   it as it is, even 0 or negative;
//   bin_w = roi_w / ow; grid_w = samplingRatio > 0 ? samplingRatio : ceil(bin_w) samples per bin;
//   sample ix of bin pw lies at start_w + pw * bin_w + (ix + 0.5) * bin_w / grid_w;
//   a sample with y < -1, y > H, x < -1 or x > W adds 0; otherwise it is bilinear in the four
//   pixels around (max(y, 0), max(x, 0)), clamped to the last row and column;
//   the bin is the sum of its samples over count = max(grid_h * grid_w, 1).
//
// Note [float64 geometry]: positions, weights and sums are computed in double whatever the
// tensor type (torchvision's float kernel computes them in float). A float coordinate is exact
// in double, so the samples are those of torchvision's double kernel, which the fixtures come
// from (test/fixtures/make/roi_align.py); the float kernel can place a sample an ulp away, and
// take another grid size where roi / bins sits on an integer.
//
// Where torchvision's behaviour is undefined we choose:
// - a box with a coordinate that is not finite (NaN, +-inf, or one that overflows when scaled):
//   every bin of the box is NaN, and it sends no gradient (there is no pixel to send it to);
//   torchvision casts NaN to int there, reading out of bounds;
// - adaptive grids are capped at 2^31 - 1 samples per axis (torchvision's int), and only the
//   samples that can land inside [-1, size] are visited (tap_range), so a huge box costs what
//   its part near the map costs instead of hanging: the adaptive grid places a sample every
//   half pixel to pixel (step = bin / ceil(bin)), so a box visits at most about (2 H + 4 oh)
//   (2 W + 4 ow) samples per channel however large it is, and needs no bound of its own;
// - a given samplingRatio is bounded by kMaxSamplingRatio (E_ARG above it, checked where the
//   arguments come in): its samples are samplingRatio^2 per bin wherever the box lies, and
//   torchvision accepts any int, so that 1e6 meant 1e12 samples a bin (a hang).
#pragma once
#include <cmath>
#include <cstdint>

#include "core/philox.h"  // CONVNET_HD

namespace convnet {
namespace roi_align {

// Each product, sum and quotient rounds on its own: nvcc would otherwise contract a * b + c
// into an FMA and move a sample by an ulp (the CPU build, x86-64 without -march, never does).
CONVNET_HD inline double mul(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
CONVNET_HD inline double add(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}
CONVNET_HD inline double div(double a, double b) {
#ifdef __CUDA_ARCH__
  return __ddiv_rn(a, b);
#else
  return a / b;
#endif
}

constexpr double kMaxGrid = 2147483647.0;  // torchvision's grid sizes are ints

// The largest samplingRatio accepted: 2^20 samples per bin and channel. Models use 0 (adaptive,
// about one sample per pixel), 2 or 4 (torchvision's and Detectron2's Mask R-CNN heads); at 1024
// a 7x7 output of 256 channels already takes about 27 s a box on this project's 2-core machine
// (measured 1.7 s at 256, times 16), so anything larger is a mistake rather than a sampling choice.
constexpr int64_t kMaxSamplingRatio = 1024;

CONVNET_HD inline bool is_finite(double v) { return v - v == 0.0; }  // false for NaN and +-inf

// The sampling of one box (see the top of the file).
struct Box {
  double start_h, start_w;  // the box's top-left corner on the feature map
  double bin_h, bin_w;      // the size of a bin
  int64_t grid_h, grid_w;   // samples per bin along each axis (0: every bin is 0)
  double count;             // the divisor of every bin: max(grid_h * grid_w, 1)
  bool finite;              // false: a coordinate is not finite; every bin is NaN
};

CONVNET_HD inline int64_t grid_size(double bin, int64_t sampling_ratio) {
  if (sampling_ratio > 0) return sampling_ratio;
  const double g = std::ceil(bin);  // <= 0 for an aligned box of no or negative extent: no samples
  return g > 0 ? static_cast<int64_t>(g < kMaxGrid ? g : kMaxGrid) : 0;
}

CONVNET_HD inline Box box_geometry(const float* box, double scale, int64_t oh, int64_t ow, int64_t sampling_ratio,
                                   bool aligned) {
  Box g{};
  const double offset = aligned ? 0.5 : 0.0;
  g.start_w = add(mul(box[1], scale), -offset);
  g.start_h = add(mul(box[2], scale), -offset);
  const double end_w = add(mul(box[3], scale), -offset), end_h = add(mul(box[4], scale), -offset);
  double roi_w = add(end_w, -g.start_w), roi_h = add(end_h, -g.start_h);
  g.finite = is_finite(g.start_w) && is_finite(g.start_h) && is_finite(roi_w) && is_finite(roi_h);
  if (!g.finite) return g;
  if (!aligned) {
    roi_w = roi_w > 1.0 ? roi_w : 1.0;
    roi_h = roi_h > 1.0 ? roi_h : 1.0;
  }
  g.bin_w = div(roi_w, static_cast<double>(ow));
  g.bin_h = div(roi_h, static_cast<double>(oh));
  g.grid_w = grid_size(g.bin_w, sampling_ratio);
  g.grid_h = grid_size(g.bin_h, sampling_ratio);
  const double count = static_cast<double>(g.grid_h) * static_cast<double>(g.grid_w);
  g.count = count > 1.0 ? count : 1.0;
  return g;
}

// One sample along one axis: it weighs pixel `low` by `w_low` and pixel `high` by `w_high`.
struct Tap {
  int64_t low, high;
  double w_low, w_high;
};

// Sample i of bin p along an axis of `size` pixels (torchvision's bilinear_interpolate and its
// pre_calc, one axis at a time); false when the sample lies outside [-1, size] and adds 0.
CONVNET_HD inline bool axis_tap(double start, double bin, int64_t grid, int64_t p, int64_t i, int64_t size, Tap* t) {
  double v = add(add(start, mul(static_cast<double>(p), bin)),
                 div(mul(static_cast<double>(i) + 0.5, bin), static_cast<double>(grid)));
  if (!(v >= -1.0 && v <= static_cast<double>(size))) return false;
  if (v <= 0) v = 0;
  int64_t low = static_cast<int64_t>(v), high;
  if (low >= size - 1) {
    high = low = size - 1;
    v = static_cast<double>(low);
  } else {
    high = low + 1;
  }
  t->low = low;
  t->high = high;
  t->w_high = add(v, -static_cast<double>(low));
  t->w_low = add(1.0, -t->w_high);
  return true;
}

// The samples [*first, *end) of bin p that may land inside [-1, size] (each still tested by
// axis_tap): all `grid` of them unless the bin's samples move forward, when the range is
// solved for (with a margin of a sample or two for rounding).
CONVNET_HD inline void tap_range(double start, double bin, int64_t grid, int64_t p, int64_t size, int64_t* first,
                                 int64_t* end) {
  *first = 0;
  *end = grid;
  if (grid <= 0 || !(bin > 0)) return;  // a zero or negative bin: at most samplingRatio samples
  const double step = bin / static_cast<double>(grid);
  const double base = start + static_cast<double>(p) * bin;
  const double lo = std::floor((-1.0 - base) / step - 0.5) - 1.0, hi = std::ceil((static_cast<double>(size) - base) / step - 0.5) + 2.0;
  const double g = static_cast<double>(grid);
  *first = static_cast<int64_t>(std::fmin(std::fmax(lo, 0.0), g));
  *end = static_cast<int64_t>(std::fmin(std::fmax(hi, 0.0), g));
}

}  // namespace roi_align
}  // namespace convnet
