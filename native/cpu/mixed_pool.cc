// Mixed pooling (Yu et al., "Mixed pooling for convolutional neural networks", 2014):
//   y = lambda * max_R x + (1 - lambda) * mean_R x,   one lambda per (sample, channel) plane.
// The max is max_pool2d's (padding never a candidate, first maximum on ties, NaN propagates);
// the mean is avg_pool2d's with count_include_pad = true: the in-bounds sum divided by the
// window's extent clipped to the padded input (kh * kw unless ceil_mode clips the window), so
// padding counts as zeros. That makes y = lambda * max_pool2d + (1 - lambda) * avg_pool2d.
//
// lambda, written to the float32 [N, C] tensor `lambda` (plane i = n * C + c):
//   evaluation (kMixedFixed): lambda[i] = fixed;
//   training: u_i = uniform_from_bits(lane i % 4 of Philox4x32(seed, counter first_block + i / 4))
//   (core/philox.h: the top 24 bits / 2^24, in [0, 1)); first_block is reserved at the call
//   site for N * C numbers. kMixedBernoulli: lambda[i] = u_i < 0.5 ? 1 : 0;
//   kMixedUniform: lambda[i] = u_i. The GPU backend draws the same lambdas for the same seed.
//
// Backward (from x, recomputing the argmax, and the lambda of the forward): the argmax gets
// lambda * dy; every in-bounds value of the window gets (1 - lambda) * dy / divisor.
#include <cmath>
#include <cstring>
#include <limits>

#include "core/philox.h"
#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"

namespace convnet {
namespace cpu {
namespace {

struct MixedWindows {
  AxisWindows rows, cols;  // with the dilation 1 of both parts
  MixedWindows(const Pool2dGeometry& g)
      : rows(axis_windows(g.oh, g.h, g.kh, g.sh, g.ph, 1)), cols(axis_windows(g.ow, g.w, g.kw, g.sw, g.pw, 1)) {}
  float divisor(int64_t oh, int64_t ow) const { return static_cast<float>(rows.padded[oh] * cols.padded[ow]); }
};

// The window's maximum, its index, and its in-bounds sum, in one row-major pass.
struct WindowStats {
  float max, sum;
  int64_t argmax;
};

inline WindowStats window_stats(const float* xp, int64_t W, int64_t r0, int64_t nr, int64_t c0, int64_t nc) {
  WindowStats s{-std::numeric_limits<float>::infinity(), 0.0f, r0 * W + c0};
  for (int64_t i = 0; i < nr; ++i) {
    const int64_t row = (r0 + i) * W;
    for (int64_t j = 0; j < nc; ++j) {
      const float v = xp[row + c0 + j];
      s.sum += v;
      if (v > s.max || std::isnan(v)) s.max = v, s.argmax = row + c0 + j;
    }
  }
  return s;
}

void draw_lambdas(int64_t mode, float fixed, uint64_t seed, uint64_t first_block, float* lambda, int64_t n) {
  for (int64_t i = 0; i < n; i += 4) {
    const Philox4x32 r = mode == kMixedFixed ? Philox4x32{} : Philox4x32::generate(seed, first_block + i / 4);
    for (int64_t lane = 0; lane < 4 && i + lane < n; ++lane) {
      const float u = uniform_from_bits(r.out[lane]);
      lambda[i + lane] = mode == kMixedFixed ? fixed : mode == kMixedBernoulli ? (u < 0.5f ? 1.0f : 0.0f) : u;
    }
  }
}

}  // namespace

void mixed_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, int64_t lambda_mode, float fixed, uint64_t seed,
                          uint64_t first_block, const Tensor& lambda, const Tensor& y) {
  const MixedWindows win(g);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  float* pl = lambda.f32();
  draw_lambdas(lambda_mode, fixed, seed, first_block, pl, g.planes);  // N * C numbers: cheap, one thread
  const float* px = x.f32();
  float* py = y.f32();
  for_planes(g.planes, out_plane * g.kh * g.kw, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* xp = px + p * in_plane;
      float* yp = py + p * out_plane;
      const float lam = pl[p], rest = 1.0f - pl[p];
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const WindowStats s = window_stats(xp, g.w, win.rows.first[oh], win.rows.taps[oh], win.cols.first[ow],
                                             win.cols.taps[ow]);
          yp[oh * g.ow + ow] = lam * s.max + rest * (s.sum / win.divisor(oh, ow));
        }
      }
    }
  });
}

void mixed_pool2d_backward(const Tensor& dy, const Tensor& x, const Tensor& lambda, const Pool2dGeometry& g,
                           const Tensor& dx) {
  const MixedWindows win(g);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float *px = x.f32(), *pdy = dy.f32(), *pl = lambda.f32();
  float* pdx = dx.f32();
  for_planes(g.planes, 2 * out_plane * g.kh * g.kw + in_plane, [&](int64_t begin, int64_t end) {
    std::memset(pdx + begin * in_plane, 0, (end - begin) * in_plane * sizeof(float));
    for (int64_t p = begin; p < end; ++p) {
      const float* xp = px + p * in_plane;
      const float* d = pdy + p * out_plane;
      float* gp = pdx + p * in_plane;
      const float lam = pl[p], rest = 1.0f - pl[p];
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        const int64_t r0 = win.rows.first[oh], nr = win.rows.taps[oh];
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const int64_t c0 = win.cols.first[ow], nc = win.cols.taps[ow];
          const float dyo = d[oh * g.ow + ow];
          const float share = rest * dyo / win.divisor(oh, ow);
          for (int64_t i = 0; i < nr; ++i) {
            float* row = gp + (r0 + i) * g.w + c0;
            for (int64_t j = 0; j < nc; ++j) row[j] += share;
          }
          if (nr > 0 && nc > 0) gp[window_stats(xp, g.w, r0, nr, c0, nc).argmax] += lam * dyo;
        }
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
