// The survey's multi-class hinge loss (Gu et al., section 3.4, "L-SVM"), in its one-vs-all form:
//   l_i = sum_j max(0, margin - delta(y_i, j) * x_ij)^p,   delta = +1 for j = y_i, -1 otherwise,
// p = 1 (L1-hinge) or 2 (L2-hinge); Mean divides the sum by N. Every class is a binary SVM
// against the others, so the true class is pushed above +margin and the others below -margin.
// This is not PyTorch's MultiMarginLoss (multi_margin_loss.cc), which compares each wrong class
// with the true one (Weston-Watkins) and divides by C.
//
// Backward: d l_i / d x_ij = -delta * p * max(0, margin - delta x_ij)^(p - 1); at the kink
// (margin - delta x = 0) the L1 gradient is taken as 0.
#include "cpu/loss_common.h"

namespace convnet {
namespace cpu {

void hinge_loss_forward(const Tensor& x, const Tensor& target, int p, double margin, Reduction reduction,
                        const Tensor& loss) {
  const int64_t N = x.shape[0], C = x.shape[1];
  const float* px = x.f32();
  const int32_t* pt = target.i32();
  std::vector<double> per_sample(N);
  BadLabel bad;
  parallel_for(N, rows_grain(C), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int32_t t = pt[i];
      per_sample[i] = 0.0;
      if (t < 0 || t >= C) {
        bad.note(i);
        continue;
      }
      double sum = 0.0;
      for (int64_t j = 0; j < C; ++j) {
        const double z = margin - (j == t ? 1.0 : -1.0) * px[i * C + j];
        if (!(z <= 0.0)) sum += p == 1 ? z : z * z;  // a NaN score counts (NaN), as PyTorch's clamp keeps it
      }
      per_sample[i] = sum;
    }
  });
  bad.check(pt, C);
  write_loss(reduction, per_sample, static_cast<double>(N), loss);
}

void hinge_loss_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, int p, double margin,
                         Reduction reduction, const Tensor& dx) {
  const int64_t N = x.shape[0], C = x.shape[1];
  const float* px = x.f32();
  const int32_t* pt = target.i32();
  float* pdx = dx.f32();
  const GradScale scale(reduction, dloss, static_cast<double>(N));
  BadLabel bad;
  parallel_for(N, rows_grain(C), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int32_t t = pt[i];
      if (t < 0 || t >= C) bad.note(i);
      const double g = scale(i);
      for (int64_t j = 0; j < C; ++j) {
        const double delta = j == t ? 1.0 : -1.0;
        const double z = margin - delta * px[i * C + j];
        const double dz = z > 0.0 ? (p == 1 ? 1.0 : 2.0 * z) : 0.0;
        pdx[i * C + j] = static_cast<float>(-delta * dz * g);
      }
    }
  });
  bad.check(pt, C);
}

}  // namespace cpu
}  // namespace convnet
