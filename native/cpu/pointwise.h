// The grain of the elementwise kernels (ReLU, Leaky ReLU, ELU, sigmoid, tanh, dropout, ...): each
// calls parallel_for_elements(n, kPointwiseGrain, ...) over a loop of its own, cloned for AVX2 /
// AVX-512 (simd_clones.h), each element computed independently, on pieces that start at
// multiples of 16 elements (Note [pieces of whole vectors], core/thread_pool.cc), so any thread
// count gives the same bits. (A lambda-per-element helper lived here; its loops vectorised for
// SSE only, and ELU, sigmoid and tanh ran at 0.07-0.13x PyTorch's speed through it.)
#pragma once
#include <cstdint>

#include "core/storage.h"
#include "core/thread_pool.h"

namespace convnet {
namespace cpu {

constexpr int64_t kPointwiseGrain = 1 << 15;

// range(x + begin, y + begin, end - begin) over y's elements in kPointwiseGrain pieces: `range`
// calls one of those cloned loops (a lambda that passes the op's parameters along).
template <typename Range>
void each_pointwise_range(const Tensor& x, const Tensor& y, const Range& range) {
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for_elements(y.numel(), kPointwiseGrain, [&](int64_t begin, int64_t end) { range(px + begin, py + begin, end - begin); });
}

// The same for a backward: range(dy + begin, x + begin, dx + begin, end - begin).
template <typename Range>
void each_pointwise_range(const Tensor& dy, const Tensor& x, const Tensor& dx, const Range& range) {
  const float *pdy = dy.f32(), *px = x.f32();
  float* pdx = dx.f32();
  parallel_for_elements(dx.numel(), kPointwiseGrain,
               [&](int64_t begin, int64_t end) { range(pdy + begin, px + begin, pdx + begin, end - begin); });
}

}  // namespace cpu
}  // namespace convnet
