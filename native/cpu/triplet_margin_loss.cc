// Triplet margin loss over (anchor a, positive p, negative n) rows:
//   l_i = max(0, margin + d(a, p) - d(a, n)),
// by default exactly PyTorch's TripletMarginLoss: d(x, y) = ||x - y + eps||_q (pairwise_distance
// adds eps to every component of the difference), q = 1 or 2, and with `swap` d(a, n) is replaced
// by min(d(a, n), d(p, n)) (Balntas et al. 2016). With `squared` it is the survey's (FaceNet's)
// form: d(x, y) = ||x - y||_2^2, no eps (the square has no singularity to guard against), q = 2.
//
// Backward, one pass per triplet that writes all three gradients (the CUDA kernel will be the
// same loop): with u = x - y (+ eps), grad_x d = u / ||u|| for q = 2 (0 when ||u|| = 0, as
// PyTorch's norm backward), sign(u) for q = 1, 2u when squared; grad_y d = -grad_x d.
// As PyTorch: the clamp passes the gradient where margin + d(a,p) - d(a,n) >= 0, and min() splits
// it in halves between d(a, n) and d(p, n) on a tie. A NaN distance makes the loss NaN (PyTorch's
// clamp_min and min keep NaN).
#include <cmath>

#include "cpu/loss_common.h"

namespace convnet {
namespace cpu {
namespace {

struct Distance {
  const TripletOptions& o;
  double offset() const { return o.squared ? 0.0 : o.eps; }
  // d(x, y) over D components.
  // Eight partial sums (a fixed split of the row, so still independent of the thread count)
  // keep the float64 additions from waiting on one another.
  double operator()(const float* x, const float* y, int64_t D) const {
    const double e = offset();
    const bool l1 = o.p == 1 && !o.squared;
    double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t k = 0;
    for (; k + 8 <= D; k += 8) {
      for (int j = 0; j < 8; ++j) {
        const double u = static_cast<double>(x[k + j]) - y[k + j] + e;
        part[j] += l1 ? std::fabs(u) : u * u;
      }
    }
    for (; k < D; ++k) {
      const double u = static_cast<double>(x[k]) - y[k] + e;
      part[0] += l1 ? std::fabs(u) : u * u;
    }
    const double s = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    return o.p == 2 && !o.squared ? std::sqrt(s) : s;
  }
  // The factor f with grad_x d = f(u) given d: u / d, sign(u) or 2u.
  double grad(double u, double d) const {
    if (o.squared) return 2.0 * u;
    if (o.p == 1) return u > 0.0 ? 1.0 : u < 0.0 ? -1.0 : 0.0;
    return d > 0.0 ? u / d : 0.0;
  }
};

// min(d_an, d_pn) as torch.min: a NaN distance (a NaN or an inf - inf in a row) gives NaN.
double nan_min(double d_an, double d_pn) { return d_pn < d_an || d_pn != d_pn ? d_pn : d_an; }

}  // namespace

void triplet_margin_loss_forward(const Tensor& a, const Tensor& pos, const Tensor& neg, const TripletOptions& options,
                                 Reduction reduction, const Tensor& loss) {
  const int64_t N = a.shape[0], D = a.shape[1];
  const float *pa = a.f32(), *pp = pos.f32(), *pn = neg.f32();
  const Distance dist{options};
  std::vector<double> per_triplet(N);
  parallel_for(N, rows_grain(3 * D), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float *ra = pa + i * D, *rp = pp + i * D, *rn = pn + i * D;
      const double d_an = dist(ra, rn, D);
      const double d_neg = options.swap ? nan_min(d_an, dist(rp, rn, D)) : d_an;
      const double z = options.margin + dist(ra, rp, D) - d_neg;
      per_triplet[i] = z < 0.0 ? 0.0 : z;  // max(0, z), NaN kept (PyTorch's clamp_min)
    }
  });
  write_loss(reduction, per_triplet, static_cast<double>(N), loss);
}

void triplet_margin_loss_backward(const Tensor& dloss, const Tensor& a, const Tensor& pos, const Tensor& neg,
                                  const TripletOptions& options, Reduction reduction, const Tensor& da,
                                  const Tensor& dpos, const Tensor& dneg) {
  const int64_t N = a.shape[0], D = a.shape[1];
  const float *pa = a.f32(), *pp = pos.f32(), *pn = neg.f32();
  float *pda = da.f32(), *pdp = dpos.f32(), *pdn = dneg.f32();
  const Distance dist{options};
  const double e = dist.offset();
  const GradScale scale(reduction, dloss, static_cast<double>(N));
  parallel_for(N, rows_grain(3 * D), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float *ra = pa + i * D, *rp = pp + i * D, *rn = pn + i * D;
      const double d_ap = dist(ra, rp, D), d_an = dist(ra, rn, D);
      const double d_pn = options.swap ? dist(rp, rn, D) : 0.0;
      const double d_neg = options.swap ? nan_min(d_an, d_pn) : d_an;
      // PyTorch's clamp_min(x, 0) backward passes the gradient where x >= 0 (NaN: nothing).
      const double g = options.margin + d_ap - d_neg >= 0.0 ? scale(i) : 0.0;
      // d l / d d(a,n) and d l / d d(p,n): -g, shared as min() shares it.
      double g_an = -g, g_pn = 0.0;
      if (options.swap) {
        if (d_pn < d_an) g_an = 0.0, g_pn = -g;
        else if (d_pn == d_an) g_an = g_pn = -0.5 * g;
      }
      float *ga = pda + i * D, *gp = pdp + i * D, *gn = pdn + i * D;
      if (options.p == 2 || options.squared) {
        // grad_x d is linear in u (u / d, or 2u): one coefficient per distance, no division inside.
        const auto coefficient = [&](double d, double g_d) { return options.squared ? 2.0 * g_d : d > 0.0 ? g_d / d : 0.0; };
        // In float, like the gradients it writes (so the loop vectorises).
        const float c_ap = static_cast<float>(coefficient(d_ap, g)), c_an = static_cast<float>(coefficient(d_an, g_an));
        const float c_pn = static_cast<float>(coefficient(d_pn, g_pn)), ef = static_cast<float>(e);
        for (int64_t k = 0; k < D; ++k) {
          const float ap = c_ap * (ra[k] - rp[k] + ef), an = c_an * (ra[k] - rn[k] + ef), pn = c_pn * (rp[k] - rn[k] + ef);
          ga[k] = ap + an;
          gp[k] = pn - ap;
          gn[k] = -an - pn;
        }
        continue;
      }
      for (int64_t k = 0; k < D; ++k) {
        const double ap = dist.grad(static_cast<double>(ra[k]) - rp[k] + e, d_ap) * g;
        const double an = dist.grad(static_cast<double>(ra[k]) - rn[k] + e, d_an) * g_an;
        const double pn = g_pn != 0.0 ? dist.grad(static_cast<double>(rp[k]) - rn[k] + e, d_pn) * g_pn : 0.0;
        ga[k] = static_cast<float>(ap + an);
        gp[k] = static_cast<float>(-ap + pn);
        gn[k] = static_cast<float>(-an - pn);
      }
    }
  });
}

}  // namespace cpu
}  // namespace convnet
