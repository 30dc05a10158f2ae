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
// The max, exp and sums of a row come from cpu/vec_math.h. A K-dimensional input (S > 1:
// segmentation's [N, C, H, W]) goes through a block of positions at a time instead (Note
// [cross-entropy over positions]).
#include <cmath>

#include "cpu/loss_common.h"
#include "cpu/simd_clones.h"
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

// Note [cross-entropy over positions]
// In [N, C, S] the C scores of a position are S apart: a row per position meant C scattered
// loads, short vec:: calls (C = 21 for VOC) and C scattered stores back, 2.9x PyTorch's time for
// forward + backward on [8, 21, 64, 64]. For S > 1 the kernels take B positions of one sample at
// a time (B a multiple of 16, C * B floats of scratch), where each class's B scores are
// contiguous: the max over classes, x - max and its exp (vec::exp over the whole block), and the
// sums over classes run along the positions, vectorised. Each position's values are computed
// on their own, in the same order whatever the block, so the thread count changes no bits. The
// sum over classes is in class order (float64), where the row path's vec::exp_sum adds 16 lanes:
// the same scores as [N, C] and as [N, C, H, W] may differ in the last bit.

// Positions per block for C classes: a multiple of 16, C * B floats within 64 KiB, at most 256.
int64_t block_positions(int64_t C) { return std::max<int64_t>(16, std::min<int64_t>(256, (16384 / std::max<int64_t>(1, C)) & ~int64_t{15})); }

// For positions b < B of one block (x: class 0 of the first position; classes `stride` apart):
// e[c * B + b] = exp(x_c[b] - max_b), sum[b] = sum over c of e (float64, class order), max[b].
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void block_max_shift(const float* __restrict x, int64_t C, int64_t stride, int64_t B, float* __restrict max, float* __restrict e) {
  for (int64_t b = 0; b < B; ++b) max[b] = x[b];
  for (int64_t c = 1; c < C; ++c) {
    const float* xc = x + c * stride;
    for (int64_t b = 0; b < B; ++b) max[b] = xc[b] > max[b] ? xc[b] : max[b];
  }
  for (int64_t c = 0; c < C; ++c) {
    const float* xc = x + c * stride;
    float* ec = e + c * B;
    for (int64_t b = 0; b < B; ++b) ec[b] = xc[b] - max[b];
  }
}

CONVNET_SIMD_CLONES
void block_sum(const float* __restrict e, int64_t C, int64_t B, double* __restrict sum) {
  for (int64_t b = 0; b < B; ++b) sum[b] = 0.0;
  for (int64_t c = 0; c < C; ++c) {
    const float* ec = e + c * B;
    for (int64_t b = 0; b < B; ++b) sum[b] += ec[b];
  }
}

struct Block {
  std::vector<float> max, e;
  std::vector<double> sum;
  explicit Block(int64_t C, int64_t B) : max(B), e(C * B), sum(B) {}
  // exp(x - max) of B positions (at most the B it was made for; class c's at e[c * B]) and their
  // sums over the C classes.
  void run(const float* x, int64_t C, int64_t stride, int64_t B) {
    block_max_shift(x, C, stride, B, max.data(), e.data());
    vec::exp(e.data(), e.data(), C * B);
    block_sum(e.data(), C, B, sum.data());
  }
};

// The loss at a position whose label t is valid, from its log-sum-exp; x(c) reads its score of
// class c (a row, or a column of a block).
template <typename Score>
double position_loss(const Score& x, int32_t t, double lse, const float* w, double weight_total, double ls, int64_t C) {
  const double w_t = w ? w[t] : 1.0;
  double value = (1.0 - ls) * -w_t * (x(t) - lse);
  if (ls > 0.0) {
    double weighted_x = 0.0;
    for (int64_t c = 0; c < C; ++c) weighted_x += (w ? w[c] : 1.0) * x(c);
    value += ls / C * (lse * weight_total - weighted_x);
  }
  return value;
}

// fn(n, s0, B) over the blocks of every sample, split between threads.
template <typename Fn>
void each_block(int64_t N, int64_t S, int64_t B, const Fn& fn) {
  const int64_t per_sample = (S + B - 1) / B;
  parallel_for(N * per_sample, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const int64_t n = k / per_sample, s0 = (k % per_sample) * B;
      fn(n, s0, std::min(B, S - s0));
    }
  });
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
  if (S > 1) {
    const int64_t B = block_positions(C);
    each_block(l.n, S, B, [&](int64_t n, int64_t s0, int64_t count) {
      Block block(C, B);
      const float* x0 = px + n * C * S + s0;
      block.run(x0, C, S, count);
      for (int64_t b = 0; b < count; ++b) {
        const int64_t i = n * S + s0 + b;
        const int32_t t = pt[i];
        per_position[i] = 0.0;
        if (t == ignore_index) continue;
        if (t < 0 || t >= C) {
          bad.note(i);
          continue;
        }
        const double lse = block.max[b] + std::log(block.sum[b]);
        per_position[i] = position_loss([&](int64_t c) { return x0[c * S + b]; }, t, lse, w, weight_total, ls, C);
      }
    });
    bad.check(pt, C);
    const double denominator = reduction == Reduction::Mean ? weight_of_targets(target, weight, C, ignore_index) : 1.0;
    write_loss(reduction, per_position, denominator, loss);
    return;
  }
  parallel_for(l.positions(), rows_grain(C), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int32_t t = pt[i];
      per_position[i] = 0.0;
      if (t == ignore_index) continue;
      if (t < 0 || t >= C) {
        bad.note(i);
        continue;
      }
      const float* row = px + l.row(i);
      const float max = vec::max(row, C);
      const double lse = max + std::log(vec::exp_sum(row, max, nullptr, C));
      per_position[i] = position_loss([&](int64_t c) { return row[c]; }, t, lse, w, weight_total, ls, C);
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
  if (S > 1) {
    const int64_t B = block_positions(C);
    each_block(l.n, S, B, [&](int64_t n, int64_t s0, int64_t count) {
      Block block(C, B);
      std::vector<float> factor(B), own(B), smooth(C);
      const float* x0 = px + n * C * S + s0;
      float* d0 = pdx + n * C * S + s0;
      block.run(x0, C, S, count);
      // Per position: the softmax's factor g A / sum (0 for an ignored or bad label) and the
      // target's own term; then dx_c = e_c * factor along the positions, class by class.
      for (int64_t b = 0; b < count; ++b) {
        const int64_t i = n * S + s0 + b;
        const int32_t t = pt[i];
        const bool valid = t != ignore_index && t >= 0 && t < C;
        if (!valid && t != ignore_index) bad.note(i);
        const double g = valid ? scale(i) : 0.0;
        const double w_t = valid ? (w ? w[t] : 1.0) : 0.0;
        factor[b] = static_cast<float>(g * ((1.0 - ls) * w_t + ls * weight_total / C) / block.sum[b]);
        own[b] = static_cast<float>(g * (1.0 - ls) * w_t);
      }
      for (int64_t c = 0; c < C; ++c) {
        const float* ec = block.e.data() + c * count;  // run() packs the classes `count` apart
        float* dc = d0 + c * S;
        for (int64_t b = 0; b < count; ++b) dc[b] = ec[b] * factor[b];
      }
      for (int64_t b = 0; b < count; ++b) {
        const int64_t i = n * S + s0 + b;
        const int32_t t = pt[i];
        if (t == ignore_index || t < 0 || t >= C) {
          for (int64_t c = 0; c < C; ++c) d0[c * S + b] = 0.0f;  // also where exp gave NaN (NaN * 0)
          continue;
        }
        d0[t * S + b] -= own[b];
        if (ls > 0.0) {
          const double g = scale(i);
          for (int64_t c = 0; c < C; ++c) d0[c * S + b] -= static_cast<float>(g * ls / C * (w ? w[c] : 1.0));
        }
      }
    });
    bad.check(pt, C);
    return;
  }
  parallel_for(l.positions(), rows_grain(C), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float* drow = pdx + i * C;
      const float* row = px + i * C;
      const int32_t t = pt[i];
      const bool valid = t != ignore_index && t >= 0 && t < C;
      if (!valid) {
        if (t != ignore_index) bad.note(i);
        for (int64_t c = 0; c < C; ++c) drow[c] = 0.0f;
        continue;
      }
      const double g = scale(i);
      // One exp per element: exp(x - max), in drow itself, and its sum, then scaled into
      // g * A * softmax.
      const float max = vec::max(row, C);
      const double sum = vec::exp_sum(row, max, drow, C);
      const double w_t = w ? w[t] : 1.0;
      const float factor = static_cast<float>(g * ((1.0 - ls) * w_t + ls * weight_total / C) / sum);
      for (int64_t c = 0; c < C; ++c) drow[c] *= factor;
      drow[t] -= static_cast<float>(g * (1.0 - ls) * w_t);
      if (ls > 0.0) {
        for (int64_t c = 0; c < C; ++c) drow[c] -= static_cast<float>(g * ls / C * (w ? w[c] : 1.0));
      }
    }
  });
  bad.check(pt, C);
}

}  // namespace cpu
}  // namespace convnet
