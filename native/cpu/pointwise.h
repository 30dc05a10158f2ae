// A helper for elementwise kernels over one to three float32 inputs of the same size:
// parallel over fixed-size ranges, each element computed independently (so any thread count
// gives the same bits). The lambda gets the index and returns the output value.
#pragma once
#include "core/storage.h"
#include "core/thread_pool.h"

namespace convnet {
namespace cpu {

constexpr int64_t kPointwiseGrain = 1 << 15;

template <typename F>
void pointwise(const Tensor& y, F f) {
  float* out = y.f32();
  parallel_for(y.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = f(i);
  });
}

}  // namespace cpu
}  // namespace convnet
