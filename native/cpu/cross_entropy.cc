// Cross-entropy (the survey's softmax loss), PyTorch's F.cross_entropy with class-index targets,
// log-softmax and the negative log-likelihood fused in one pass per sample.
//
// x [N, C, d...] is viewed as [N, C, S] (S = the product of the d's; the class axis has stride
// S), target [N, d...] as N*S positions. At a position with target t != ignore_index:
//   lse    = log sum_c exp(x_c)                    (shifted by the max)
//   nll    = -w_t (x_t - lse)
//   smooth = -sum_c w_c (x_c - lse)  = lse * W - sum_c w_c x_c,   W = sum_c w_c
//   loss   = (1 - ls) * nll + (ls / C) * smooth    (w = 1 without a weight)
// and 0 at ignored positions. Mean divides the sum by the sum of w_t over the positions that
// are not ignored (so NaN when all are), for the smoothing term too: PyTorch 1.13+ does the
// same (cross_entropy_loss_label_smoothing), with or without a weight.
//
// Backward: d loss / d x_c = g * [ p_c ((1 - ls) w_t + ls W / C) - (1 - ls) w_t [c == t] - (ls / C) w_c ]
// with p = softmax(x) and g the scale of this position's loss: softmax minus the target
// distribution, weighted.
//
// The max, exp and sums of a row come from cpu/vec_math.h; a strided row (K-dimensional input)
// is copied out first, so that it gets the same bits as the same scores in a [N, C] input.
#include "cpu/loss_common.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {
namespace {

struct Layout {
  int64_t n, classes, inner;  // [N, C, S]
  int64_t positions() const { return n * inner; }
  // Offset of class 0 of position i; classes follow at stride `inner`.
  int64_t row(int64_t i) const { return (i / inner) * classes * inner + i % inner; }
};

// The C scores of one position as a contiguous row: the row itself when S == 1, else a copy.
const float* contiguous(const float* row, int64_t C, int64_t S, std::vector<float>& copy) {
  if (S == 1) return row;
  copy.resize(C);
  for (int64_t c = 0; c < C; ++c) copy[c] = row[c * S];
  return copy.data();
}

Layout layout_of(const Tensor& x) {
  Layout l{x.shape[0], x.shape[1], 1};
  for (int64_t d = 2; d < x.dim(); ++d) l.inner *= x.shape[d];
  return l;
}

// The denominator of Mean: sum of w_t over targets that are not ignored (bad labels add 0).
double weight_of_targets(const Tensor& target, const Tensor& weight, int64_t classes, int64_t ignore_index) {
  const int32_t* t = target.i32();
  const float* w = has(weight) ? weight.f32() : nullptr;
  double sum = 0.0;
  for (int64_t i = 0, n = target.numel(); i < n; ++i) {
    if (t[i] == ignore_index || t[i] < 0 || t[i] >= classes) continue;
    sum += w ? w[t[i]] : 1.0;
  }
  return sum;
}

}  // namespace

void cross_entropy_forward(const Tensor& x, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                           double label_smoothing, Reduction reduction, const Tensor& loss) {
  const Layout l = layout_of(x);
  const int64_t C = l.classes, S = l.inner;
  const float* px = x.f32();
  const int32_t* pt = target.i32();
  const float* w = has(weight) ? weight.f32() : nullptr;
  double weight_total = 0.0;
  for (int64_t c = 0; c < C; ++c) weight_total += w ? w[c] : 1.0;
  const double ls = label_smoothing;

  std::vector<double> per_position(l.positions());
  BadLabel bad;
  parallel_for(l.positions(), rows_grain(C), [&](int64_t begin, int64_t end) {
    std::vector<float> copy;
    for (int64_t i = begin; i < end; ++i) {
      const int32_t t = pt[i];
      per_position[i] = 0.0;
      if (t == ignore_index) continue;
      if (t < 0 || t >= C) {
        bad.note(i);
        continue;
      }
      const float* row = px + l.row(i);
      const float* scores = contiguous(row, C, S, copy);
      const float max = vec::max(scores, C);
      const double lse = max + std::log(vec::exp_sum(scores, max, nullptr, C));
      const double w_t = w ? w[t] : 1.0;
      double value = (1.0 - ls) * -w_t * (row[t * S] - lse);
      if (ls > 0.0) {
        double weighted_x = 0.0;
        for (int64_t c = 0; c < C; ++c) weighted_x += (w ? w[c] : 1.0) * row[c * S];
        value += ls / C * (lse * weight_total - weighted_x);
      }
      per_position[i] = value;
    }
  });
  bad.check(pt, C);
  const double denominator = reduction == Reduction::Mean ? weight_of_targets(target, weight, C, ignore_index) : 1.0;
  write_loss(reduction, per_position, denominator, loss);
}

void cross_entropy_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, const Tensor& weight,
                            int64_t ignore_index, double label_smoothing, Reduction reduction, const Tensor& dx) {
  const Layout l = layout_of(x);
  const int64_t C = l.classes, S = l.inner;
  const float* px = x.f32();
  float* pdx = dx.f32();
  const int32_t* pt = target.i32();
  const float* w = has(weight) ? weight.f32() : nullptr;
  double weight_total = 0.0;
  for (int64_t c = 0; c < C; ++c) weight_total += w ? w[c] : 1.0;
  const double ls = label_smoothing;
  const GradScale scale(reduction, dloss,
                        reduction == Reduction::Mean ? weight_of_targets(target, weight, C, ignore_index) : 1.0);

  BadLabel bad;
  parallel_for(l.positions(), rows_grain(C), [&](int64_t begin, int64_t end) {
    std::vector<float> copy, e(S == 1 ? 0 : C);
    for (int64_t i = begin; i < end; ++i) {
      const float* row = px + l.row(i);
      float* drow = pdx + l.row(i);
      const int32_t t = pt[i];
      const bool valid = t != ignore_index && t >= 0 && t < C;
      if (!valid) {
        if (t != ignore_index) bad.note(i);
        for (int64_t c = 0; c < C; ++c) drow[c * S] = 0.0f;
        continue;
      }
      const double g = scale(i);
      // One exp per element: exp(x - max) (in drow itself when S == 1) and its sum, then
      // scaled into g * A * softmax.
      const float* scores = contiguous(row, C, S, copy);
      float* exps = S == 1 ? drow : e.data();
      const float max = vec::max(scores, C);
      const double sum = vec::exp_sum(scores, max, exps, C);
      const double w_t = w ? w[t] : 1.0;
      const float factor = static_cast<float>(g * ((1.0 - ls) * w_t + ls * weight_total / C) / sum);
      for (int64_t c = 0; c < C; ++c) drow[c * S] = exps[c] * factor;
      drow[t * S] -= static_cast<float>(g * (1.0 - ls) * w_t);
      if (ls > 0.0) {
        for (int64_t c = 0; c < C; ++c) drow[c * S] -= static_cast<float>(g * ls / C * (w ? w[c] : 1.0));
      }
    }
  });
  bad.check(pt, C);
}

}  // namespace cpu
}  // namespace convnet
