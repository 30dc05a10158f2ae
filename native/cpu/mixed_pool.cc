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
// Backward (from the forward's argmax and lambda): the argmax gets lambda * dy; every in-bounds
// value of the window gets (1 - lambda) * dy / divisor. (Keeping the argmax costs the forward a
// little; finding it again made the backward slower than PyTorch's composed version.)
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/philox.h"
#include "cpu/index_range.h"
#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

struct MixedWindows {
  AxisWindows rows, cols;  // with the dilation 1 of both parts
  MixedWindows(const Pool2dGeometry& g)
      : rows(axis_windows(g.oh, g.h, g.kh, g.sh, g.ph, 1)), cols(axis_windows(g.ow, g.w, g.kw, g.sw, g.pw, 1)) {}
  float divisor(int64_t oh, int64_t ow) const { return static_cast<float>(rows.padded[oh] * cols.padded[ow]); }
};

void draw_lambdas(int64_t mode, float fixed, uint64_t seed, uint64_t first_block, float* lambda, int64_t n) {
  for (int64_t i = 0; i < n; i += 4) {
    const Philox4x32 r = mode == kMixedFixed ? Philox4x32{} : Philox4x32::generate(seed, first_block + i / 4);
    for (int64_t lane = 0; lane < 4 && i + lane < n; ++lane) {
      const float u = uniform_from_bits(r.out[lane]);
      lambda[i + lane] = mode == kMixedFixed ? fixed : mode == kMixedBernoulli ? (u < 0.5f ? 1.0f : 0.0f) : u;
    }
  }
}

// Note [mixed 2x2 stride 2]: LeNet's whole, non-overlapping 2x2 windows. Each element gets
// at most one share, so the shares are written (0.0f + share, the general path's memset and
// add) instead of scattered through the row sweep, in a loop that vectorises: [64,16,10,10]
// ran 140 us at 1 thread the general way (`node dist/bench/run.js pool --threads 1`).
CONVNET_SIMD_CLONES
void mixed_shares_2x2(const float* __restrict d, const Pool2dGeometry& g, float rest, float* __restrict plane) {
  const int64_t W = g.w, OW = g.ow;
  if (g.oh * 2 < g.h || OW * 2 < W) std::memset(plane, 0, g.h * W * sizeof(float));  // rows or columns no window covers
  for (int64_t oh = 0; oh < g.oh; ++oh) {
    float* top = plane + 2 * oh * W;
    float* bottom = top + W;
    for (int64_t ow = 0; ow < OW; ++ow) {
      const float share = 0.0f + rest * d[oh * OW + ow] / 4.0f;
      top[2 * ow] = share;
      top[2 * ow + 1] = share;
      bottom[2 * ow] = share;
      bottom[2 * ow + 1] = share;
    }
  }
}

// Note [mixed 2x2 stride 2], forward: the maxima come from max pooling's plane kernels, then
// y = lambda * y + (1 - lambda) * (sum / 4) over the plane: the general path's arithmetic in its
// order (the sum from 0.0f, the taps in row-major order, a division by the divisor 4, two
// products and a sum), kept out of fused multiply-adds, so the bits are the same. The general
// row sweep took [64,6,28,28] 290 us at 1 thread (max pooling with indices alone: 50-70).
CONVNET_SIMD_CLONES __attribute__((optimize("fp-contract=off"))) void mix_in_means_2x2(const float* __restrict x, const Pool2dGeometry& g,
                                                                                    const float* __restrict lambda, float* __restrict y,
                                                                                    int64_t begin, int64_t end) {
  const int64_t W = g.w, OW = g.ow;
  for (int64_t p = begin; p < end; ++p) {
    const float lam = lambda[p], rest = 1.0f - lambda[p];
    for (int64_t oh = 0; oh < g.oh; ++oh) {
      const float* top = x + p * g.h * W + 2 * oh * W;
      const float* bottom = top + W;
      float* yr = y + (p * g.oh + oh) * OW;
      for (int64_t ow = 0; ow < OW; ++ow) {
        float s = 0.0f;
        s += top[2 * ow];
        s += top[2 * ow + 1];
        s += bottom[2 * ow];
        s += bottom[2 * ow + 1];
        yr[ow] = lam * yr[ow] + rest * (s / 4.0f);
      }
    }
  }
}

}  // namespace

void mixed_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, int64_t lambda_mode, float fixed, uint64_t seed,
                          uint64_t first_block, const Tensor& lambda, const Tensor& y, const Tensor* indices) {
  const MixedWindows win(g);
  const RowSweep sweep = row_sweep(win.rows, win.cols, g, g.kw, g.pw, 1, 1);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  float* pl = lambda.f32();
  draw_lambdas(lambda_mode, fixed, seed, first_block, pl, g.planes);  // N * C numbers: cheap, one thread
  const float* px = x.f32();
  float* py = y.f32();
  int32_t* pi = indices ? indices->i32() : nullptr;
  const bool whole_2x2 = is_whole_2x2_stride_2(g);
  for_planes(g.planes, 2 * out_plane * g.kh * g.kw, [&](int64_t begin, int64_t end) {
    if (whole_2x2) {  // Note [mixed 2x2 stride 2]
      max_pool_planes_2x2(px, g, py, pi, begin, end);
      mix_in_means_2x2(px, g, pl, py, begin, end);
      return;
    }
    std::vector<float> sums(g.ow);
    for (int64_t p = begin; p < end; ++p) {
      const float* xp = px + p * in_plane;
      const float lam = pl[p], rest = 1.0f - pl[p];
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        const int64_t o = p * out_plane + oh * g.ow;
        if (pi) max_row<true>(xp, sweep, oh, py + o, pi + o);
        else max_row<false>(xp, sweep, oh, py + o, nullptr);
        sum_row(xp, sweep, oh, sums.data());
        for (int64_t ow = 0; ow < g.ow; ++ow) py[o + ow] = lam * py[o + ow] + rest * (sums[ow] / win.divisor(oh, ow));
      }
    }
  });
}

void mixed_pool2d_backward(const Tensor& dy, const Tensor& indices, const Tensor& lambda, const Pool2dGeometry& g,
                           const Tensor& dx) {
  const MixedWindows win(g);
  const RowSweep sweep = row_sweep(win.rows, win.cols, g, g.kw, g.pw, 1, 1);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  const float *pdy = dy.f32(), *pl = lambda.f32();
  const int32_t* pi = indices.i32();
  float* pdx = dx.f32();
  BadIndex bad;
  const bool whole_2x2 = is_whole_2x2_stride_2(g);
  for_planes(g.planes, 2 * out_plane * g.kh * g.kw + in_plane, [&](int64_t begin, int64_t end) {
    std::vector<float> share(g.ow);
    for (int64_t p = begin; p < end; ++p) {
      float* gp = pdx + p * in_plane;
      const float lam = pl[p], rest = 1.0f - pl[p];
      if (whole_2x2) {  // Note [mixed 2x2 stride 2]
        mixed_shares_2x2(pdy + p * out_plane, g, rest, gp);
      } else {
        std::memset(gp, 0, in_plane * sizeof(float));  // plane by plane: it stays in cache for the scatter
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          const float* d = pdy + p * out_plane + oh * g.ow;
          for (int64_t ow = 0; ow < g.ow; ++ow) share[ow] = rest * d[ow] / win.divisor(oh, ow);
          scatter_row(gp, sweep, oh, share.data());
        }
      }
      const float* d = pdy + p * out_plane;
      const int32_t* ip = pi + p * out_plane;
      for (int64_t o = 0; o < out_plane; ++o) {
        if (static_cast<uint32_t>(ip[o]) >= static_cast<uint32_t>(in_plane)) {
          bad.note(p * out_plane + o);
          break;
        }
        gp[ip[o]] += lam * d[o];
      }
    }
  });
  const int64_t at = bad.position.load();
  CONVNET_CHECK(at < 0, "E_INDEX", "index ", at < 0 ? 0 : pi[at], " at position ", at,
                " is out of range for an input plane of ", in_plane, " elements");
}

}  // namespace cpu
}  // namespace convnet
