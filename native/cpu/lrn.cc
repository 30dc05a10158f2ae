// Local response normalisation across channels (Krizhevsky et al. 2012), exactly PyTorch's
// F.local_response_norm: for x [N, C, ...] (rank >= 3),
//   d[n,c,s] = k + alpha / size * sum_{c' = c - size/2}^{c + (size-1)/2} x[n,c',s]^2   (c' in [0, C))
//   y = x / d^beta
// (PyTorch pads size/2 channels before and (size-1)/2 after, and averages over `size` channels
// counting the padding, hence alpha / size whatever the channel.)
// Backward: with t[c] = dy[c] * x[c] / d[c]^(beta+1) (= dy y / d),
//   dx[c] = dy[c] / d[c]^beta - 2 alpha beta / size * x[c] * sum_{c'' = c - (size-1)/2}^{c + size/2} t[c'']
// (the channels c'' whose window holds c). d is recomputed from x in backward.
//
// The work is split into tasks of (n, a strip of up to kStrip positions), all channels: float64
// sums per strip, so no order depends on the thread count. d^beta is std::pow in float64 except
// for beta = 0.75 (the default, AlexNet's), 0.5 and 1, done with exact square roots, which the
// compiler vectorises (pow is a library call per element, too slow for [8, 96, 55, 55]).
// A strip's work is compiled for AVX-512 and AVX2 beside the baseline (simd_clones.h), with
// fp-contract off so that no clone fuses a product and a sum: the same bits on every CPU.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kStrip = 64;

struct Lrn {
  int64_t n, channels, positions, size;
  double alpha_over_size, beta, k;
  int64_t strips() const { return (positions + kStrip - 1) / kStrip; }
};

Lrn lrn_of(const Tensor& x, int64_t size, double alpha, double beta, double k) {
  int64_t positions = 1;
  for (int64_t d = 2; d < x.dim(); ++d) positions *= x.shape[d];
  return {x.shape[0], x.shape[1], positions, size, alpha / static_cast<double>(size), beta, k};
}

#define CONVNET_LRN_KERNEL __attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
#define CONVNET_LRN_INLINE inline __attribute__((always_inline))

// d^beta over a strip, in place.
CONVNET_LRN_INLINE void pow_beta(double* d, int64_t w, double beta) {
  if (beta == 0.75) {
    for (int64_t i = 0; i < w; ++i) {
      const double r = std::sqrt(d[i]);
      d[i] = r * std::sqrt(r);
    }
  } else if (beta == 0.5) {
    for (int64_t i = 0; i < w; ++i) d[i] = std::sqrt(d[i]);
  } else if (beta != 1.0) {
    for (int64_t i = 0; i < w; ++i) d[i] = std::pow(d[i], beta);
  }
}

// d[c][i] for all channels of the strip: d[c * kStrip + i].
CONVNET_LRN_INLINE void denominators(const Lrn& l, const float* x0, int64_t w, double* d) {
  const int64_t before = l.size / 2, after = (l.size - 1) / 2;
  for (int64_t c = 0; c < l.channels; ++c) {
    double* dc = d + c * kStrip;
    for (int64_t i = 0; i < w; ++i) dc[i] = 0.0;
    const int64_t lo = c - before > 0 ? c - before : 0, hi = c + after < l.channels - 1 ? c + after : l.channels - 1;
    for (int64_t cc = lo; cc <= hi; ++cc) {
      const float* xc = x0 + cc * l.positions;
      for (int64_t i = 0; i < w; ++i) dc[i] += static_cast<double>(xc[i]) * xc[i];
    }
    for (int64_t i = 0; i < w; ++i) dc[i] = l.k + l.alpha_over_size * dc[i];
  }
}

// y for one strip of w positions (x0, y0 at its first position, channel 0), d: scratch.
CONVNET_LRN_KERNEL void forward_strip(const Lrn& l, const float* x0, float* y0, int64_t w, double* d) {
  denominators(l, x0, w, d);
  for (int64_t c = 0; c < l.channels; ++c) {
    double* dc = d + c * kStrip;
    pow_beta(dc, w, l.beta);
    const float* xc = x0 + c * l.positions;
    float* yc = y0 + c * l.positions;
    for (int64_t i = 0; i < w; ++i) yc[i] = static_cast<float>(xc[i] / dc[i]);
  }
}

// dx for one strip; d, d_beta: scratch of channels * kStrip, t_sum of kStrip.
CONVNET_LRN_KERNEL void backward_strip(const Lrn& l, const float* dy0, const float* x0, float* dx0, int64_t w, double* d,
                                       double* d_beta, double* t_sum) {
  const int64_t before = (l.size - 1) / 2, after = l.size / 2;  // the channels whose window holds c
  const double coef = 2.0 * l.alpha_over_size * l.beta;
  denominators(l, x0, w, d);
  std::copy(d, d + l.channels * kStrip, d_beta);
  // d becomes t = dy * x / d^(beta + 1) (= dy * y / d, without y's rounding); d_beta keeps d^beta.
  for (int64_t c = 0; c < l.channels; ++c) {
    double *dc = d + c * kStrip, *bc = d_beta + c * kStrip;
    pow_beta(bc, w, l.beta);
    const float *dyc = dy0 + c * l.positions, *xc = x0 + c * l.positions;
    for (int64_t i = 0; i < w; ++i) dc[i] = static_cast<double>(dyc[i]) * xc[i] / (bc[i] * dc[i]);
  }
  for (int64_t c = 0; c < l.channels; ++c) {
    for (int64_t i = 0; i < w; ++i) t_sum[i] = 0.0;
    const int64_t lo = c - before > 0 ? c - before : 0, hi = c + after < l.channels - 1 ? c + after : l.channels - 1;
    for (int64_t cc = lo; cc <= hi; ++cc)
      for (int64_t i = 0; i < w; ++i) t_sum[i] += d[cc * kStrip + i];
    const double* bc = d_beta + c * kStrip;
    const float *dyc = dy0 + c * l.positions, *xc = x0 + c * l.positions;
    float* dxc = dx0 + c * l.positions;
    for (int64_t i = 0; i < w; ++i) dxc[i] = static_cast<float>(dyc[i] / bc[i] - coef * xc[i] * t_sum[i]);
  }
}

}  // namespace

void lrn_forward(const Tensor& x, int64_t size, double alpha, double beta, double k, const Tensor& y) {
  const Lrn l = lrn_of(x, size, alpha, beta, k);
  const float* px = x.f32();
  float* py = y.f32();
  const int64_t strips = l.strips();
  parallel_for(l.n * strips, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> d(static_cast<size_t>(l.channels * kStrip));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / strips, s0 = (t % strips) * kStrip, w = std::min(kStrip, l.positions - s0);
      const int64_t base = n * l.channels * l.positions + s0;
      forward_strip(l, px + base, py + base, w, d.data());
    }
  });
}

void lrn_backward(const Tensor& dy, const Tensor& x, int64_t size, double alpha, double beta, double k,
                  const Tensor& dx) {
  const Lrn l = lrn_of(x, size, alpha, beta, k);
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdx = dx.f32();
  const int64_t strips = l.strips();
  parallel_for(l.n * strips, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> d(static_cast<size_t>(l.channels * kStrip)), d_beta(d.size()), t_sum(kStrip);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t n = task / strips, s0 = (task % strips) * kStrip, w = std::min(kStrip, l.positions - s0);
      const int64_t base = n * l.channels * l.positions + s0;
      backward_strip(l, pdy + base, px + base, pdx + base, w, d.data(), d_beta.data(), t_sum.data());
    }
  });
}

}  // namespace cpu
}  // namespace convnet
