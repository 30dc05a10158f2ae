// One Adam / AdamW step, fused and in place, in the order of PyTorch 1.13's single-tensor
// Adam (Kingma & Ba 2015; AdamW: Loshchilov & Hutter 2019, decoupled weight decay):
//   AdamW:  param *= 1 - lr * weight_decay          Adam: g = grad + weight_decay * param
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   v_max = max(v_max, v)                            (amsgrad; then v_max replaces v below)
//   param -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// The bias corrections are computed once per step in double, as Python does.
// Every element is independent, so any thread count gives the same bits.
#include "core/thread_pool.h"
#include "cpu/nn_ops.h"
#include "cpu/optim_update.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {

namespace {

enum class WeightDecay { kNone, kL2, kDecoupled };

// optim::adam_update over a range, with the options' branches lifted out of the loop and the
// pointers declared apart (the entry point refuses tensors that share memory), so that the
// compiler vectorises it (as sgd.cc): the same operations on each element, in the same order.
// The square root vectorises only because this file is compiled with -fno-math-errno
// (CMakeLists.txt): otherwise GCC keeps a call to sqrtf, for errno, behind a branch in the loop.
// Compiled again for AVX2 and AVX-512 (simd_clones.h), with contraction off so that no clone
// fuses a * b + c into an FMA: every clone rounds as the formula. Two divisions and a square
// root an element: on 11M parameters at 2 threads, with other work on the cores, SSE alone took
// 10.1-15.9 ms and the AVX-512 clone 5.8-8.1 (CONVNET_BENCH_OPS=Step node dist/bench/run.js ops,
// four runs each); on a quiet machine both came near memory's bound, ~5.5 ms.
template <WeightDecay kDecay, bool kAmsgrad>
__attribute__((optimize("fp-contract=off"))) CONVNET_SIMD_CLONES
void adam_range(const optim::AdamScalars& s, float* __restrict p, const float* __restrict g, float* __restrict m,
                float* __restrict v, float* __restrict v_max, int64_t n) {
  using optim::rn_add;
  using optim::rn_div;
  using optim::rn_mul;
  using optim::rn_sqrt;
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i];
    float w = p[i];
    if constexpr (kDecay == WeightDecay::kDecoupled) w = rn_mul(w, s.decay);
    if constexpr (kDecay == WeightDecay::kL2) d = rn_add(d, rn_mul(s.weight_decay, w));
    const float mi = rn_add(rn_mul(m[i], s.beta1), rn_mul(s.one_minus_beta1, d));
    const float vi = rn_add(rn_mul(v[i], s.beta2), rn_mul(rn_mul(s.one_minus_beta2, d), d));
    m[i] = mi;
    v[i] = vi;
    float second = vi;
    if constexpr (kAmsgrad) {
      second = v_max[i] > vi ? v_max[i] : vi;  // adam_update's comparison: a NaN v gives NaN
      v_max[i] = second;
    }
    const float denom = rn_add(rn_div(rn_sqrt(second), s.bias_correction2_sqrt), s.eps);
    p[i] = rn_add(w, -rn_mul(s.step_size, rn_div(mi, denom)));
  }
}

using AdamRange = void (*)(const optim::AdamScalars&, float*, const float*, float*, float*, float*, int64_t);

// [weight decay][amsgrad]. A zero weight decay does nothing in either form (adam_update's tests).
constexpr AdamRange kAdamRanges[3][2] = {
    {adam_range<WeightDecay::kNone, false>, adam_range<WeightDecay::kNone, true>},
    {adam_range<WeightDecay::kL2, false>, adam_range<WeightDecay::kL2, true>},
    {adam_range<WeightDecay::kDecoupled, false>, adam_range<WeightDecay::kDecoupled, true>},
};

}  // namespace

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor* max_exp_avg_sq, const AdamOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* m = exp_avg.f32();
  float* v = exp_avg_sq.f32();
  float* v_max = max_exp_avg_sq ? max_exp_avg_sq->f32() : nullptr;
  const optim::AdamScalars s = optim::adam_scalars(o);
  const WeightDecay decay = s.weight_decay == 0.0f ? WeightDecay::kNone
                            : s.decoupled          ? WeightDecay::kDecoupled
                                                   : WeightDecay::kL2;
  const AdamRange range = kAdamRanges[static_cast<int>(decay)][v_max != nullptr];
  parallel_for(param.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    range(s, p + begin, g + begin, m + begin, v + begin, v_max ? v_max + begin : nullptr, end - begin);
  });
}

}  // namespace cpu
}  // namespace convnet
