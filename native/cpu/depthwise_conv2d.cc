// Depthwise conv2d (groups == C): output channel k reads input channel c = k / m alone, where
// m = K / C is the channel multiplier; w is [K, 1, kh, kw]. conv2d.cc sends these here: im2col
// + GEMM would run GEMMs with one row of K, which waste most of the micro-kernel.
//
// Direct loops, one (image, channel) plane per task, so no two threads ever write the same
// element; within a plane the sums run in a fixed order ((i, j) for forward, (k, oh, i, j, ow)
// for backward-data). Backward-filter sums over the batch per output channel, tasks split over
// channels and kernel taps: a float sum per output column over (n, oh), the columns then added
// up in double, in order.
#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/simd_clones.h"

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

int64_t grain_for(int64_t plane_work) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(plane_work, 1)); }

}  // namespace

void depthwise_conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& y) {
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
}

void depthwise_conv2d_backward_data(const Tensor& dy, const Tensor& w, const Tensor* b, const Conv2dGeometry& g, const Tensor& dx) {
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
