// fill, arange and dtype casts.
#include <cmath>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"

namespace convnet {
namespace cpu {

constexpr int64_t kElementwiseGrain = 1 << 15;

void fill(const Tensor& y, double value) {
  const int64_t n = y.numel();
  if (y.dtype == DType::Int32) {
    int32_t* out = y.i32();
    const int32_t v = static_cast<int32_t>(value);
    parallel_for(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = v;
    });
  } else {
    float* out = y.f32();
    const float v = static_cast<float>(value);
    parallel_for(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = v;
    });
  }
}

void arange(const Tensor& y, double start, double step) {
  const int64_t n = y.numel();
  // Computed in double, as start + i * step (not by repeated addition), so values do not drift.
  parallel_for(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double v = start + static_cast<double>(i) * step;
      if (y.dtype == DType::Int32) y.i32()[i] = static_cast<int32_t>(v);
      else y.f32()[i] = static_cast<float>(v);
    }
  });
}

void cast(const Tensor& x, const Tensor& y) {
  const int64_t n = x.numel();
  parallel_for(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    if (x.dtype == y.dtype) {
      for (int64_t i = begin; i < end; ++i) y.i32()[i] = x.i32()[i];  // same 4-byte bits
    } else if (y.dtype == DType::Int32) {
      // Truncation toward zero, as PyTorch's .int(); NaN and out-of-range values become 0
      // here instead of undefined behaviour.
      for (int64_t i = begin; i < end; ++i) {
        const float v = x.f32()[i];
        y.i32()[i] = (std::isfinite(v) && std::fabs(v) < 2147483648.0f) ? static_cast<int32_t>(v) : 0;
      }
    } else {
      for (int64_t i = begin; i < end; ++i) y.f32()[i] = static_cast<float>(x.i32()[i]);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
