// Triplet margin loss on the GPU, as cpu/triplet_margin_loss.cc (which states the formulas):
//   l_i = max(0, margin + d(a, p) - d(a, n)),  d(a, n) -> min(d(a, n), d(p, n)) with swap,
//   d(x, y) = ||x - y + eps||_q (q = 1, 2), or ||x - y||_2^2 with `squared` (no eps).
//
// Fused, one warp per triplet: the warp sums the components of d(a, p), d(a, n) (and d(p, n)
// for swap) in one pass over D (float64 lane sums, then the warp's tree), applies the hinge,
// and, in backward, writes all three gradients in a second pass over the same D components of
// that triplet (still in one kernel):
//   grad_x d = u / ||u|| (q = 2; 0 at ||u|| = 0), sign(u) (q = 1), 2u (squared), grad_y d = -grad_x d,
// with the clamp passing the gradient where margin + d(a,p) - d_neg >= 0 and min() splitting it
// in halves on a tie, as PyTorch. Forward writes the per-triplet losses; the mean/sum is then
// taken by finish_loss (one block, a fixed order: the same bits on every run).
#include <cmath>

#include "cuda/loss_common.cuh"

namespace convnet {
namespace cuda {
namespace {

struct Args {
  const float *a, *p, *n;
  int64_t N, D;
  double margin, eps;  // eps is 0 for squared (Distance::offset on the CPU)
  int q;               // 1 or 2
  bool swap, squared;
  __device__ bool l1() const { return q == 1 && !squared; }
  // A lane's share of a distance's sum: |u| or u^2.
  __device__ double term(float x, float y) const {
    const double u = static_cast<double>(x) - y + eps;
    return l1() ? fabs(u) : u * u;
  }
  // The distance from its summed terms.
  __device__ double finish(double s) const { return q == 2 && !squared ? sqrt(s) : s; }
};

Args args_of(const Tensor& a, const Tensor& p, const Tensor& n, const TripletOptions& o) {
  return Args{a.f32(), p.f32(), n.f32(), a.shape[0], a.shape[1], o.margin, o.squared ? 0.0 : o.eps,
              o.p, o.swap, o.squared};
}

// d(a, p), d(a, n) and (swap) d(p, n) of triplet i, in one pass over D; every lane gets them.
__device__ void distances(const Args& t, int64_t i, int lane, double& d_ap, double& d_an, double& d_pn) {
  const float *ra = t.a + i * t.D, *rp = t.p + i * t.D, *rn = t.n + i * t.D;
  double s_ap = 0.0, s_an = 0.0, s_pn = 0.0;
  for (int64_t k = lane; k < t.D; k += 32) {
    const float a = ra[k], p = rp[k], n = rn[k];
    s_ap += t.term(a, p);
    s_an += t.term(a, n);
    if (t.swap) s_pn += t.term(p, n);
  }
  d_ap = t.finish(group_sum<32>(s_ap));
  d_an = t.finish(group_sum<32>(s_an));
  d_pn = t.swap ? t.finish(group_sum<32>(s_pn)) : 0.0;
}

// min(d_an, d_pn) as torch.min, the CPU's nan_min: a NaN distance gives NaN.
__device__ double nan_min(double d_an, double d_pn) { return d_pn < d_an || d_pn != d_pn ? d_pn : d_an; }

__global__ void forward_kernel(Args t, double* values) {
  const int lane = group_lane<32>();
  for (int64_t i = group_first<32>(); i < t.N; i += group_stride<32>()) {
    double d_ap, d_an, d_pn;
    distances(t, i, lane, d_ap, d_an, d_pn);
    const double d_neg = t.swap ? nan_min(d_an, d_pn) : d_an;
    const double z = t.margin + d_ap - d_neg;
    if (lane == 0) values[i] = z < 0.0 ? 0.0 : z;  // max(0, z), NaN kept (PyTorch's clamp_min)
  }
}

__global__ void backward_kernel(Args t, GradScale scale, float* da, float* dp, float* dn) {
  const int lane = group_lane<32>();
  for (int64_t i = group_first<32>(); i < t.N; i += group_stride<32>()) {
    double d_ap, d_an, d_pn;
    distances(t, i, lane, d_ap, d_an, d_pn);
    const double d_neg = t.swap ? nan_min(d_an, d_pn) : d_an;
    // clamp_min(x, 0)'s backward passes the gradient where x >= 0 (NaN: nothing), as the CPU.
    const double g = t.margin + d_ap - d_neg >= 0.0 ? scale(i) : 0.0;
    double g_an = -g, g_pn = 0.0;
    if (t.swap) {
      if (d_pn < d_an) g_an = 0.0, g_pn = -g;
      else if (d_pn == d_an) g_an = g_pn = -0.5 * g;
    }
    const float *ra = t.a + i * t.D, *rp = t.p + i * t.D, *rn = t.n + i * t.D;
    float *ga = da + i * t.D, *gp = dp + i * t.D, *gn = dn + i * t.D;
    if (t.q == 2 || t.squared) {
      // Linear in u: one float coefficient per distance, as the CPU's loop.
      auto coefficient = [&](double d, double g_d) { return t.squared ? 2.0 * g_d : d > 0.0 ? g_d / d : 0.0; };
      const float c_ap = static_cast<float>(coefficient(d_ap, g)), c_an = static_cast<float>(coefficient(d_an, g_an));
      const float c_pn = static_cast<float>(coefficient(d_pn, g_pn)), ef = static_cast<float>(t.eps);
      for (int64_t k = lane; k < t.D; k += 32) {
        const float ap = c_ap * (ra[k] - rp[k] + ef), an = c_an * (ra[k] - rn[k] + ef), pn = c_pn * (rp[k] - rn[k] + ef);
        ga[k] = ap + an;
        gp[k] = pn - ap;
        gn[k] = -an - pn;
      }
      continue;
    }
    // q = 1: grad_x d = sign(u).
    auto sign = [](double u) { return u > 0.0 ? 1.0 : u < 0.0 ? -1.0 : 0.0; };
    for (int64_t k = lane; k < t.D; k += 32) {
      const double ap = sign(static_cast<double>(ra[k]) - rp[k] + t.eps) * g;
      const double an = sign(static_cast<double>(ra[k]) - rn[k] + t.eps) * g_an;
      const double pn = g_pn != 0.0 ? sign(static_cast<double>(rp[k]) - rn[k] + t.eps) * g_pn : 0.0;
      ga[k] = static_cast<float>(ap + an);
      gp[k] = static_cast<float>(-ap + pn);
      gn[k] = static_cast<float>(-an - pn);
    }
  }
}

}  // namespace

void triplet_margin_loss_forward(const Tensor& a, const Tensor& pos, const Tensor& neg, const TripletOptions& options,
                                 Reduction reduction, const Tensor& loss) {
  const char* op = "tripletMarginLoss";
  const Args t = args_of(a, pos, neg, options);
  DeviceBuffer scratch(sizeof(double) * static_cast<size_t>(t.N));
  double* values = scratch.as<double>();
  if (t.N > 0) {
    set_last_op(op);
    forward_kernel<<<blocks_for_rows<32>(t.N), kThreads, 0, stream()>>>(t, values);
    check_launch(op);
  }
  finish_loss(op, reduction, values, nullptr, t.N, static_cast<double>(t.N), loss);
}

void triplet_margin_loss_backward(const Tensor& dloss, const Tensor& a, const Tensor& pos, const Tensor& neg,
                                  const TripletOptions& options, Reduction reduction, const Tensor& da,
                                  const Tensor& dpos, const Tensor& dneg) {
  const char* op = "tripletMarginLoss backward";
  const Args t = args_of(a, pos, neg, options);
  if (t.N == 0 || t.D == 0) return;
  const GradScale scale = grad_scale(reduction, dloss, static_cast<double>(t.N));
  set_last_op(op);
  backward_kernel<<<blocks_for_rows<32>(t.N), kThreads, 0, stream()>>>(t, scale, da.f32(), dpos.f32(), dneg.f32());
  check_launch(op);
}

}  // namespace cuda
}  // namespace convnet
