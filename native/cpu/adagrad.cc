// One Adagrad step, fused and in place, in the order of PyTorch 1.13's single-tensor Adagrad
// (Duchi, Hazan and Singer 2011):
//   g = grad + weight_decay * param
//   clr = lr / (1 + (step - 1) * lr_decay)          (in double, once per step, as Python)
//   state_sum += g * g
//   param -= clr * g / (sqrt(state_sum) + eps)
// Every element is independent, so any thread count gives the same bits.
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/optim_update.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {

namespace {

// optim::adagrad_update over a range, with the weight decay's branch lifted out of the loop and
// the pointers declared apart (the entry point refuses tensors that share memory), so that the
// compiler vectorises it (as sgd.cc): the same operations on each element, in the same order.
// lr_decay needs no specialisation: it is in clr, one scalar per step. The square root
// vectorises only because this file is compiled with -fno-math-errno (CMakeLists.txt):
// otherwise GCC keeps a call to sqrtf, for errno, behind a branch in the loop.
// Compiled again for AVX2 and AVX-512 (simd_clones.h), with contraction off so that no clone
// fuses a * b + c into an FMA: every clone rounds as the formula (on 11M parameters at 2 threads,
// with other work on the cores: 6.6-10.3 ms with SSE alone, 3.8-4.3 with the AVX-512 clone).
template <bool kDecay>
__attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
void adagrad_range(const optim::AdagradScalars& s, float* __restrict p, const float* __restrict g,
                   float* __restrict sum, int64_t n) {
  using optim::rn_add;
  using optim::rn_div;
  using optim::rn_mul;
  using optim::rn_sqrt;
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i];
    if constexpr (kDecay) d = rn_add(d, rn_mul(s.weight_decay, p[i]));
    const float si = rn_add(sum[i], rn_mul(d, d));
    sum[i] = si;
    p[i] = rn_add(p[i], rn_div(rn_mul(-s.clr, d), rn_add(rn_sqrt(si), s.eps)));
  }
}

}  // namespace

void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& state_sum, const AdagradOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* sum = state_sum.f32();
  const optim::AdagradScalars s = optim::adagrad_scalars(o);
  const auto range = s.weight_decay != 0.0f ? adagrad_range<true> : adagrad_range<false>;
  parallel_for(param.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    range(s, p + begin, g + begin, sum + begin, end - begin);
  });
}

}  // namespace cpu
}  // namespace convnet
