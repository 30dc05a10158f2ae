// The grain of the elementwise kernels (ReLU, Leaky ReLU, ELU, sigmoid, tanh, dropout): each
// calls parallel_for(n, kPointwiseGrain, ...) over a loop of its own, cloned for AVX2 / AVX-512
// (simd_clones.h), on fixed-size ranges with each element computed independently, so any thread
// count gives the same bits. (A lambda-per-element helper lived here; its loops vectorised for
// SSE only, and ELU, sigmoid and tanh ran at 0.07-0.13x PyTorch's speed through it.)
#pragma once
#include <cstdint>

namespace convnet {
namespace cpu {

constexpr int64_t kPointwiseGrain = 1 << 15;

}  // namespace cpu
}  // namespace convnet
