// Negative log-likelihood, PyTorch's F.nll_loss: x holds log-probabilities [N, C, d...] (viewed
// as [N, C, S]), target [N, d...]. At a position with target t != ignore_index the loss is
// -w_t x_t (w = 1 without a weight), 0 at ignored positions; Mean divides the sum by the sum of
// w_t over the positions not ignored (NaN when all are). Backward: dx_t = -w_t g, 0 elsewhere.
#include <algorithm>

#include "cpu/loss_common.h"

namespace convnet {
namespace cpu {

void nll_loss_forward(const Tensor& x, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                      Reduction reduction, const Tensor& loss) {
  const int64_t C = x.shape[1], S = x.numel() / std::max<int64_t>(1, x.shape[0] * C), positions = target.numel();
  const float* px = x.f32();
  const int32_t* pt = target.i32();
  const float* w = has(weight) ? weight.f32() : nullptr;
  std::vector<double> per_position(positions), weights(positions);
  BadLabel bad;
  parallel_for(positions, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int32_t t = pt[i];
      per_position[i] = weights[i] = 0.0;
      if (t == ignore_index) continue;
      if (t < 0 || t >= C) {
        bad.note(i);
        continue;
      }
      weights[i] = w ? w[t] : 1.0;
      per_position[i] = -weights[i] * px[(i / S) * C * S + t * S + i % S];
    }
  });
  bad.check(pt, C);
  write_loss(reduction, per_position, ordered_sum(weights), loss);
}

void nll_loss_backward(const Tensor& dloss, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                       Reduction reduction, const Tensor& dx) {
  const int64_t C = dx.shape[1], S = dx.numel() / std::max<int64_t>(1, dx.shape[0] * C), positions = target.numel();
  const int32_t* pt = target.i32();
  const float* w = has(weight) ? weight.f32() : nullptr;
  float* pdx = dx.f32();
  double denominator = 0.0;
  if (reduction == Reduction::Mean) {
    for (int64_t i = 0; i < positions; ++i)
      if (pt[i] != ignore_index && pt[i] >= 0 && pt[i] < C) denominator += w ? w[pt[i]] : 1.0;
  }
  const GradScale scale(reduction, dloss, denominator);
  BadLabel bad;
  // One sample (C * S values) per iteration, so each thread zeroes what it then writes.
  const int64_t n = dx.shape[0];
  parallel_for(n, rows_grain(C * S), [&](int64_t begin, int64_t end) {
    std::fill(pdx + begin * C * S, pdx + end * C * S, 0.0f);
    for (int64_t i = begin * S; i < end * S; ++i) {
      const int32_t t = pt[i];
      if (t == ignore_index) continue;
      if (t < 0 || t >= C) {
        bad.note(i);
        continue;
      }
      pdx[(i / S) * C * S + t * S + i % S] = static_cast<float>(-(w ? w[t] : 1.0) * scale(i));
    }
  });
  bad.check(pt, C);
}

}  // namespace cpu
}  // namespace convnet
