// PyTorch's MultiLabelMarginLoss (the multi-class multi-label hinge loss), as ATen computes it:
// sample n's target classes are the entries of its target row up to the first -1, and
//   l_n = (1 / C) sum_{j target} sum_{i not a target} max(0, 1 - x[j] + x[i]),
// a class listed twice counted twice. Backward: each pair with 1 - x[j] + x[i] > 0 adds g / C to
// dx[i] and takes it from dx[j] (the gradient at 0 is 0). Every entry of a target row must lie in
// [-1, C), even those after the first -1 (E_INDEX when the kernel runs, as PyTorch checks them
// all). Composed from tensor ops it took an [N, C, C] tensor, and the labels read back (12x
// PyTorch's time forward + backward on [64, 100]).
#include "cpu/loss_common.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

// Sample n's target classes (in order, repeats kept), and open[i] = 1 for a class i that is not
// a target, 0 for one that is; false (and the position of the first bad entry noted) when an
// entry is out of range.
bool read_targets(const int32_t* row, int64_t n, int64_t C, BadLabel& bad, std::vector<int32_t>& targets,
                  std::vector<double>& open) {
  targets.clear();
  open.assign(C, 1.0);
  bool ended = false;
  for (int64_t j = 0; j < C; ++j) {
    const int32_t c = row[j];
    if (c < -1 || c >= C) {
      bad.note(n * C + j);
      return false;
    }
    if (c == -1) ended = true;
    if (ended) continue;
    targets.push_back(c);
    open[c] = 0.0;
  }
  return true;
}

// The pairs' loops, without branches (which half the pairs took at random: mispredictions were
// most of the backward's time), so that they vectorise. The forward keeps eight running sums
// (a float64 sum vectorises no other way); each term is selected whole (no product), so no
// clone's FMA changes a bit. The backward counts in an integer: the same eight-sums form
// there, d[i] += a g with a count of a in float64, was miscompiled by GCC 12.2 at -O3 for
// x86-64-v3 and AVX-512 (SLP vectorisation dropped lanes 4 and 7 of some blocks; the loop
// vectoriser's form below is right on all three clones, and the test against float64 checks it).
constexpr int kLanes = 8;

// sum over the open classes i of max(0, shift + row[i]): selected, not multiplied by open[i], so
// that a closed class's infinite row[i] adds nothing (inf * 0 was NaN; PyTorch skips it). Two
// selects: as one, `z > 0 && open != 0 ? z : 0`, GCC 12.2 dropped terms for C >= 50 (the
// eight-sums loop's SLP vectorisation again; test/nn-more.test.ts's float64 check caught it).
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
double hinge_sum(const float* __restrict row, const double* __restrict open, double shift, int64_t C) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= C; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const double z = shift + row[i + k];
      const double v = z > 0.0 ? z : 0.0;
      acc[k] += open[i + k] != 0.0 ? v : 0.0;
    }
  }
  for (; i < C; ++i) {
    const double z = shift + row[i];
    const double v = z > 0.0 ? z : 0.0;
    acc[0] += open[i] != 0.0 ? v : 0.0;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// d[i] += g for each open class i with shift + row[i] > 0; returns how many there were.
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
int64_t add_hinge_gradient(const float* __restrict row, const double* __restrict open, double shift, double g,
                           double* __restrict d, int64_t C) {
  int64_t count = 0;
  for (int64_t i = 0; i < C; ++i) {
    const bool on = open[i] != 0.0 && shift + row[i] > 0.0;
    d[i] += on ? g : 0.0;
    count += on;
  }
  return count;
}

}  // namespace

void multilabel_margin_loss_forward(const Tensor& x, const Tensor& target, Reduction reduction, const Tensor& loss) {
  const int64_t N = x.shape[0], C = x.shape[1];
  const float* px = x.f32();
  const int32_t* pt = target.i32();
  std::vector<double> per_sample(N);
  BadLabel bad;
  parallel_for(N, std::max<int64_t>(1, rows_grain(C) / 8), [&](int64_t begin, int64_t end) {
    std::vector<int32_t> targets;
    std::vector<double> open;
    for (int64_t n = begin; n < end; ++n) {
      per_sample[n] = 0.0;
      if (!read_targets(pt + n * C, n, C, bad, targets, open)) continue;
      const float* row = px + n * C;
      double sum = 0.0;
      for (const int32_t j : targets) sum += hinge_sum(row, open.data(), 1.0 - row[j], C);
      per_sample[n] = sum / static_cast<double>(C);
    }
  });
  bad.check(pt, C);
  write_loss(reduction, per_sample, static_cast<double>(N), loss);
}

void multilabel_margin_loss_backward(const Tensor& dloss, const Tensor& x, const Tensor& target, Reduction reduction,
                                     const Tensor& dx) {
  const int64_t N = x.shape[0], C = x.shape[1];
  const float* px = x.f32();
  const int32_t* pt = target.i32();
  float* pdx = dx.f32();
  const GradScale scale(reduction, dloss, static_cast<double>(N));
  BadLabel bad;
  parallel_for(N, std::max<int64_t>(1, rows_grain(C) / 8), [&](int64_t begin, int64_t end) {
    std::vector<int32_t> targets;
    std::vector<double> open;
    std::vector<double> d(C);
    for (int64_t n = begin; n < end; ++n) {
      float* drow = pdx + n * C;
      std::fill(d.begin(), d.end(), 0.0);
      if (read_targets(pt + n * C, n, C, bad, targets, open)) {
        const float* row = px + n * C;
        const double g = scale(n) / static_cast<double>(C);
        for (const int32_t j : targets) {
          const int64_t active = add_hinge_gradient(row, open.data(), 1.0 - row[j], g, d.data(), C);
          d[j] -= g * static_cast<double>(active);
        }
      }
      for (int64_t i = 0; i < C; ++i) drow[i] = static_cast<float>(d[i]);
    }
  });
  bad.check(pt, C);
}

}  // namespace cpu
}  // namespace convnet
