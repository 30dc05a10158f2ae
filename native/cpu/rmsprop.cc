// One RMSprop step, fused and in place, in the order of PyTorch 1.13's single-tensor RMSprop
// (Hinton's lecture 6e; centered: Graves 2013):
//   g = grad + weight_decay * param
//   square_avg = alpha * square_avg + (1 - alpha) * g * g
//   centered:  grad_avg = alpha * grad_avg + (1 - alpha) * g;  avg = sqrt(square_avg - grad_avg^2) + eps
//   else:      avg = sqrt(square_avg) + eps
//   momentum:  buf = momentum * buf + g / avg;  param -= lr * buf
//   else:      param -= lr * g / avg
// Every element is independent, so any thread count gives the same bits.
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/optim_update.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {

namespace {

// optim::rmsprop_update over a range, with the options' branches lifted out of the loop and the
// pointers declared apart (the entry point refuses tensors that share memory), so that the
// compiler vectorises it (as sgd.cc): the same operations on each element, in the same order.
// The square root vectorises only because this file is compiled with -fno-math-errno
// (CMakeLists.txt): otherwise GCC keeps a call to sqrtf, for errno, behind a branch in the loop.
// Compiled again for AVX2 and AVX-512 (simd_clones.h), with contraction off so that no clone
// fuses a * b + c into an FMA: every clone rounds as the formula (on 11M parameters at 2 threads,
// with other work on the cores: 6.6-11.2 ms with SSE alone, 4.1-4.5 with the AVX-512 clone).
template <bool kDecay, bool kCentered, bool kMomentum>
__attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
void rmsprop_range(const optim::RmspropScalars& s, float* __restrict p, const float* __restrict g,
                   float* __restrict sq, float* __restrict buf, float* __restrict g_avg, int64_t n) {
  using optim::rn_add;
  using optim::rn_div;
  using optim::rn_mul;
  using optim::rn_sqrt;
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i];
    if constexpr (kDecay) d = rn_add(d, rn_mul(s.weight_decay, p[i]));
    const float sqi = rn_add(rn_mul(sq[i], s.alpha), rn_mul(rn_mul(s.one_minus_alpha, d), d));
    sq[i] = sqi;
    float avg;
    if constexpr (kCentered) {
      const float ga = rn_add(rn_mul(g_avg[i], s.alpha), rn_mul(s.one_minus_alpha, d));
      g_avg[i] = ga;
      avg = rn_sqrt(rn_add(sqi, rn_mul(-ga, ga)));  // NaN when rounding makes it negative, as PyTorch's
    } else {
      avg = rn_sqrt(sqi);
    }
    avg = rn_add(avg, s.eps);
    if constexpr (kMomentum) {
      const float b = rn_add(rn_mul(buf[i], s.momentum), rn_div(d, avg));
      buf[i] = b;
      p[i] = rn_add(p[i], rn_mul(-s.lr, b));
    } else {
      p[i] = rn_add(p[i], rn_div(rn_mul(-s.lr, d), avg));
    }
  }
}

using RmspropRange = void (*)(const optim::RmspropScalars&, float*, const float*, float*, float*, float*, int64_t);

// [weight decay][centered][momentum]: centered and momentum as rmsprop_update decides them, by
// whether grad_avg and the momentum buffer are given.
constexpr RmspropRange kRmspropRanges[2][2][2] = {
    {{rmsprop_range<false, false, false>, rmsprop_range<false, false, true>},
     {rmsprop_range<false, true, false>, rmsprop_range<false, true, true>}},
    {{rmsprop_range<true, false, false>, rmsprop_range<true, false, true>},
     {rmsprop_range<true, true, false>, rmsprop_range<true, true, true>}},
};

}  // namespace

void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor* momentum_buffer,
                  const Tensor* grad_avg, const RmspropOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* sq = square_avg.f32();
  float* buf = momentum_buffer ? momentum_buffer->f32() : nullptr;
  float* ga = grad_avg ? grad_avg->f32() : nullptr;
  const optim::RmspropScalars s = optim::rmsprop_scalars(o);
  const RmspropRange range = kRmspropRanges[s.weight_decay != 0.0f][ga != nullptr][buf != nullptr];
  parallel_for(param.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    range(s, p + begin, g + begin, sq + begin, buf ? buf + begin : nullptr, ga ? ga + begin : nullptr, end - begin);
  });
}

}  // namespace cpu
}  // namespace convnet
