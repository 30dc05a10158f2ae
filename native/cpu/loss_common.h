// What the loss kernels share: how a loss is reduced, how a gradient is scaled back to each
// sample, and how a bad label is reported.
//
// Note [deterministic loss sums]: a loss is a sum over samples. Each kernel computes the
// per-sample values (in float64) in parallel, one sample per iteration, then sums them here in
// index order on one thread, so the bits never depend on the thread count. Losses over every
// element (kl_div) sum fixed 4096-element blocks in parallel and then the block sums in order.
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace cpu {

inline double ordered_sum(const std::vector<double>& values) {
  double s = 0.0;
  for (double v : values) s += v;
  return s;
}

// Writes the loss: the per-sample values as float32 (None, `loss` holds one per sample), or
// their ordered sum, divided by `denominator` for Mean/BatchMean (0 / 0 is NaN, as PyTorch's
// mean of nothing).
inline void write_loss(Reduction reduction, const std::vector<double>& per_sample, double denominator, const Tensor& loss) {
  float* out = loss.f32();
  if (reduction == Reduction::None) {
    for (size_t i = 0; i < per_sample.size(); ++i) out[i] = static_cast<float>(per_sample[i]);
    return;
  }
  const double total = ordered_sum(per_sample);
  out[0] = static_cast<float>(reduction == Reduction::Sum ? total : total / denominator);
}

// d(loss)/d(per-sample value i): dloss[i] for None, dloss / denominator for Mean/BatchMean,
// dloss for Sum. `dloss` is read when the kernel runs (it is the output of earlier work).
struct GradScale {
  const float* dloss;
  bool per_sample;
  double factor;
  GradScale(Reduction reduction, const Tensor& dloss_tensor, double denominator)
      : dloss(dloss_tensor.f32()), per_sample(reduction == Reduction::None), factor(0.0) {
    if (!per_sample) factor = reduction == Reduction::Sum ? dloss[0] : dloss[0] / denominator;
  }
  double operator()(int64_t i) const { return per_sample ? static_cast<double>(dloss[i]) : factor; }
};

// The lowest position holding a bad label, whichever thread saw it (so the message is the same
// for any thread count); the kernel reports it after its parallel loop.
struct BadLabel {
  std::atomic<int64_t> position{-1};
  void note(int64_t at) {
    int64_t seen = position.load();
    while ((seen < 0 || at < seen) && !position.compare_exchange_weak(seen, at)) {
    }
  }
  // E_INDEX "target 7 at position 3 is out of range for 5 classes" (the queue prefixes the op).
  void check(const int32_t* labels, int64_t classes, const char* extra = "") const {
    const int64_t at = position.load();
    CONVNET_CHECK(at < 0, "E_INDEX", "target ", at < 0 ? 0 : labels[at], " at position ", at,
                  " is out of range for ", classes, " classes", extra);
  }
};

inline bool has(const Tensor& optional) { return optional.storage() != nullptr; }

// Entry i of a label tensor of float32 or int32 (the pair losses' y).
inline double label_at(const Tensor& y, int64_t i) {
  return y.dtype == DType::Int32 ? static_cast<double>(y.i32()[i]) : static_cast<double>(y.f32()[i]);
}

// Rows per parallel chunk so that a chunk holds about 16K elements of work.
inline int64_t rows_grain(int64_t row_length) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, row_length)); }

}  // namespace cpu
}  // namespace convnet
