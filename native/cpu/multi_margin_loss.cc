// PyTorch's MultiMarginLoss (the Weston-Watkins multi-class SVM), exactly as ATen computes it:
//   l_i = (1 / C) sum_{j != y} w_y * max(0, margin - x_iy + x_ij)^p,   p = 1 or 2,
// where the weight is the true class's (w_y) and multiplies every term; the division is by C
// (all classes, although the true one adds nothing). Mean is the plain mean over N (not a
// weighted mean, unlike nll_loss). Compare hinge_loss.cc, the survey's one-vs-all form.
//
// Backward: with z_j = margin - x_y + x_j > 0, d l / d x_j = w_y * p * z_j^(p - 1) / C, and
// d l / d x_y = -sum of those (the L1 gradient at z = 0 is 0, as PyTorch).
#include "cpu/loss_common.h"

namespace convnet {
namespace cpu {

void multi_margin_loss_forward(const Tensor& x, const Tensor& target, int p, double margin, const Tensor& weight,
                               Reduction reduction, const Tensor& loss) {
  const int64_t N = x.shape[0], C = x.shape[1];
  const float* px = x.f32();
  const int32_t* pt = target.i32();
  const float* w = has(weight) ? weight.f32() : nullptr;
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
      const float* row = px + i * C;
      const double shift = margin - row[t];
      double sum = 0.0;
      for (int64_t j = 0; j < C; ++j) {
        const double z = shift + row[j];
        if (j != t && z > 0.0) sum += p == 1 ? z : z * z;
      }
      per_sample[i] = sum * (w ? w[t] : 1.0) / C;
    }
  });
  bad.check(pt, C);
  write_loss(reduction, per_sample, static_cast<double>(N), loss);
}

void multi_margin_loss_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, int p, double margin,
                                const Tensor& weight, Reduction reduction, const Tensor& dx) {
  const int64_t N = x.shape[0], C = x.shape[1];
  const float* px = x.f32();
  const int32_t* pt = target.i32();
  const float* w = has(weight) ? weight.f32() : nullptr;
  float* pdx = dx.f32();
  const GradScale scale(reduction, dloss, static_cast<double>(N));
  BadLabel bad;
  parallel_for(N, rows_grain(C), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int32_t t = pt[i];
      const float* row = px + i * C;
      float* drow = pdx + i * C;
      if (t < 0 || t >= C) {
        bad.note(i);
        for (int64_t j = 0; j < C; ++j) drow[j] = 0.0f;
        continue;
      }
      const double g = scale(i) * (w ? w[t] : 1.0) / C, shift = margin - row[t];
      double target_grad = 0.0;
      for (int64_t j = 0; j < C; ++j) {
        const double z = shift + row[j];
        const double d = j != t && z > 0.0 ? g * (p == 1 ? 1.0 : 2.0 * z) : 0.0;
        drow[j] = static_cast<float>(d);
        target_grad -= d;
      }
      drow[t] = static_cast<float>(target_grad);
    }
  });
  bad.check(pt, C);
}

}  // namespace cpu
}  // namespace convnet
