// The connectionist temporal classification loss (Graves et al. 2006), as PyTorch's ctc_loss:
// the negative log of the probability, summed over every alignment, that log_probs [T, N, C]
// (per frame, per sample, per class; log-softmax outputs) spell sample n's target, blanks
// between and repeats merged. Over the extended target l' (blank, l1, blank, l2, ..., blank;
// 2L + 1 symbols) the forward variables, in log space (float32, as PyTorch's),
//   alpha_0(0) = lp[0, blank],  alpha_0(1) = lp[0, l1],
//   alpha_t(s) = logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), alpha_{t-1}(s-2) when l'_s is not
//                blank and differs from l'_{s-2}) + lp[t, l'_s],
// give nll = -logsumexp(alpha_{T-1}(2L), alpha_{T-1}(2L-1)) for the sample's T frames. The
// backward variables beta run the same recursion from the end, and
//   d nll / d lp[t, c] = -sum over s with l'_s = c of exp(alpha_t(s) + beta_t(s) + nll - lp[t, c])
// (alpha and beta both hold frame t's emission, hence the one division by it; each term is the
// posterior of state s at frame t, at most 1). That is the derivative itself: PyTorch's kernel
// adds exp(lp[t, c]), which is what the derivative becomes through a log_softmax before it (the
// two agree on the logits, the use the loss has).
//
// When a gradient is wanted the forward computes it too, per unit of each sample's loss (the
// alphas are at hand; the backward only scales it): the recursions run once.
//
// Each frame's step over the states is one vector loop (three-term logsumexp with inline_math's
// exp and log1p: no library call, no branch); a NaN anywhere in a frame a sample reads spreads
// to its loss and gradient, as in PyTorch's loops. A frame count past T, a negative length, a
// target longer than its row, or a label outside [0, C) or equal to blank is reported when the
// kernel runs (E_ARG / E_INDEX). A sample with no alignment has nll = inf, as PyTorch's, and a
// NaN gradient; zero_infinity gives that gradient 0 (lib/ zeroes its loss).
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/inline_math.h"
#include "cpu/loss_common.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Sample n's frames, target length and labels.
struct Sample {
  int64_t frames = 0;
  int64_t length = 0;
  const int32_t* labels = nullptr;
};

// The samples' frames, lengths and where their labels start; lengths are checked here (before
// the parallel loop), labels in `extend`.
std::vector<Sample> samples(const Tensor& targets, const Tensor& input_lengths, const Tensor& target_lengths, int64_t T) {
  const char* op = "ctcLoss";
  const int64_t N = input_lengths.shape[0];
  const int32_t* il = input_lengths.i32();
  const int32_t* tl = target_lengths.i32();
  const bool padded = targets.dim() == 2;
  const int64_t row = padded ? targets.shape[1] : 0, total = padded ? 0 : targets.shape[0];
  std::vector<Sample> out(N);
  int64_t offset = 0;
  for (int64_t n = 0; n < N; ++n) {
    CONVNET_CHECK(il[n] >= 0 && il[n] <= T, "E_ARG", op, ": inputLengths[", n, "] = ", il[n], " is outside [0, ", T,
                  "] (the frames of log_probs)");
    CONVNET_CHECK(tl[n] >= 0, "E_ARG", op, ": targetLengths[", n, "] = ", tl[n], " is negative");
    if (padded) {
      CONVNET_CHECK(tl[n] <= row, "E_ARG", op, ": targetLengths[", n, "] = ", tl[n], " is longer than the targets' rows (", row, ")");
      out[n].labels = targets.i32() + n * row;
    } else {
      CONVNET_CHECK(offset + tl[n] <= total, "E_ARG", op, ": the target lengths add up to more than the ", total,
                    " targets given");
      out[n].labels = targets.i32() + offset;
      offset += tl[n];
    }
    out[n].frames = il[n];
    out[n].length = tl[n];
  }
  return out;
}

// The extended target l' (2L + 1 symbols) and, per state, 1 where the step from two states back
// is allowed (l'_s not blank, and not l'_{s-2}); false when a label is bad (noted at its flat
// position).
bool extend(const Sample& s, const int32_t* base, int64_t C, int64_t blank, BadLabel& bad, std::vector<int32_t>& ext,
            std::vector<float>& skip) {
  const int64_t S = 2 * s.length + 1;
  ext.assign(S, static_cast<int32_t>(blank));
  for (int64_t i = 0; i < s.length; ++i) {
    const int32_t c = s.labels[i];
    if (c < 0 || c >= C || c == blank) {
      bad.note(s.labels + i - base);
      return false;
    }
    ext[2 * i + 1] = c;
  }
  skip.assign(S + 2, 0.0f);   // two more: the backward reads skip[s + 2]
  for (int64_t k = 3; k < S; k += 2) skip[k] = ext[k] != ext[k - 2] ? 1.0f : 0.0f;
  return true;
}

// exp(x) for x <= 0, taken at -87 below (e^-87 is about float's smallest normal number): what
// it adds to a sum with a 1 in it cannot show, and a subnormal result costs a hundred cycles
// (the recursion's neighbours often differ by more than 87: the kernel ran 50 ns a state).
CONVNET_MATH_INLINE float exp_term(float x) { return exp_nonpositive(x > -87.0f ? x : -87.0f); }

// max and min as compares (GCC does not vectorise fmaxf, whose NaN rule the compare lacks: the
// callers deal with NaN themselves).
CONVNET_MATH_INLINE float larger(float a, float b) { return a > b ? a : b; }
CONVNET_MATH_INLINE float smaller(float a, float b) { return a < b ? a : b; }

// log(e^a + e^b + e^c) without a branch: m the largest, the others' exps in [0, 1], so the sum is
// 1 + u with u in [0, 2], and log(1 + u) = log1p(p) + log1p((u - p) / (1 + p)) with p = min(u, 1)
// (both arguments in [0, 1], log1p_unit's range). All -inf gives -inf (m is, and the rest finite).
CONVNET_MATH_INLINE float log_add3(float a, float b, float c) {
  const float m = larger(a, larger(b, c));
  const float u = exp_term(a - m) + exp_term(b - m) + exp_term(c - m) - 1.0f;
  const float p = smaller(larger(u, 0.0f), 1.0f);
  const float q = larger(u - p, 0.0f) / (1.0f + p);
  return m + (log1p_unit(p) + log1p_unit(q));
}

// One frame of a recursion: out[s] = log_add3(in0[s], in1[s], ok[s] != 0 ? in2[s] : -inf) + emit[s],
// NaN where an input is NaN (inline_math's exp takes NaN as 0: selected back here).
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void step(const float* __restrict in0, const float* __restrict in1, const float* __restrict in2, const float* __restrict ok,
          const float* __restrict emit, float* __restrict out, int64_t S) {
  for (int64_t s = 0; s < S; ++s) {
    // Both loads made, and NaN found through one sum (+inf with -inf is NaN in PyTorch's form
    // too): a load only some lanes make, or three compares or-ed together, keep GCC from
    // vectorising the loop (it ran at 46 ns a state).
    const float a = in0[s], b = in1[s], c2 = in2[s];
    const float c = ok[s] != 0.0f ? c2 : kNegInf;
    const float any = a + b + c;
    const bool nan = any != any;
    out[s] = (nan ? kNaN : log_add3(a, b, c)) + emit[s];
  }
}

// The posterior of each state at one frame: exp(alpha + beta + nll - emission), in [0, 1].
__attribute__((optimize("no-trapping-math"))) CONVNET_SIMD_CLONES
void posteriors(const float* __restrict alpha, const float* __restrict beta, const float* __restrict emit, float nll,
                float* __restrict out, int64_t S) {
  for (int64_t s = 0; s < S; ++s) {
    const float x = alpha[s] + beta[s] + nll - emit[s];
    out[s] = x < -87.0f ? 0.0f : exp_term(x);   // 0 below float's normal range (and for -inf and NaN)
  }
}

// Per-sample work buffers: emissions [frames][S], alphas and betas [frames][S + 4] (two -inf
// on each side, so that a step reads s - 2 .. s + 2 without a branch).
struct Buffers {
  int64_t classes = 0;
  std::vector<int32_t> ext;
  std::vector<float> skip, emit, alpha, beta, post;
};

// alpha, then -log p(target) (a sample with no frames: 0 for an empty target, else inf).
double forward(const float* lp, int64_t stride, int64_t frames, Buffers& b) {
  const int64_t S = static_cast<int64_t>(b.ext.size()), W = S + 4;
  if (frames == 0) return S == 1 ? 0.0 : std::numeric_limits<double>::infinity();
  b.emit.resize(frames * S);
  for (int64_t t = 0; t < frames; ++t) {
    for (int64_t s = 0; s < S; ++s) b.emit[t * S + s] = lp[t * stride + b.ext[s]];
  }
  b.alpha.assign(frames * W, kNegInf);
  float* a0 = b.alpha.data() + 2;
  a0[0] = b.emit[0];
  if (S > 1) a0[1] = b.emit[1];
  for (int64_t t = 1; t < frames; ++t) {
    const float* prev = b.alpha.data() + (t - 1) * W + 2;
    step(prev, prev - 1, prev - 2, b.skip.data(), b.emit.data() + t * S, b.alpha.data() + t * W + 2, S);
  }
  const float* last = b.alpha.data() + (frames - 1) * W + 2;
  const double x = last[S - 1], y = S > 1 ? static_cast<double>(last[S - 2]) : -std::numeric_limits<double>::infinity();
  if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<double>::quiet_NaN();
  const double m = std::max(x, y);
  return m == -std::numeric_limits<double>::infinity() ? std::numeric_limits<double>::infinity()
                                                        : -(m + std::log(std::exp(x - m) + std::exp(y - m)));
}

// d nll / d lp of one sample into its rows of d ([frames][stride], zeros there already).
void gradient(float* d, int64_t stride, int64_t frames, double nll, bool zero_infinity, Buffers& b) {
  const int64_t S = static_cast<int64_t>(b.ext.size()), W = S + 4;
  if (frames == 0 || (zero_infinity && std::isinf(nll))) return;
  if (std::isnan(nll) || std::isinf(nll)) {
    // No alignment (or a NaN read): the derivative is undefined, NaN (as PyTorch's).
    for (int64_t t = 0; t < frames; ++t) std::fill(d + t * stride, d + t * stride + b.classes, kNaN);
    return;
  }
  b.beta.assign(frames * W, kNegInf);
  float* bl = b.beta.data() + (frames - 1) * W + 2;
  const float* el = b.emit.data() + (frames - 1) * S;
  bl[S - 1] = el[S - 1];
  if (S > 1) bl[S - 2] = el[S - 2];
  for (int64_t t = frames - 2; t >= 0; --t) {
    const float* next = b.beta.data() + (t + 1) * W + 2;
    step(next, next + 1, next + 2, b.skip.data() + 2, b.emit.data() + t * S, b.beta.data() + t * W + 2, S);
  }
  b.post.resize(S);
  for (int64_t t = 0; t < frames; ++t) {
    posteriors(b.alpha.data() + t * W + 2, b.beta.data() + t * W + 2, b.emit.data() + t * S, static_cast<float>(nll), b.post.data(), S);
    float* row = d + t * stride;
    for (int64_t s = 0; s < S; ++s) row[b.ext[s]] -= b.post[s];
  }
}

}  // namespace

void ctc_loss_forward(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths, const Tensor& target_lengths,
                      int64_t blank, bool zero_infinity, const Tensor& nll, const Tensor* dlp) {
  const int64_t T = log_probs.shape[0], N = log_probs.shape[1], C = log_probs.shape[2];
  const std::vector<Sample> all = samples(targets, input_lengths, target_lengths, T);
  const float* lp = log_probs.f32();
  float* out = nll.f32();
  float* d = dlp ? dlp->f32() : nullptr;
  if (d) std::fill(d, d + T * N * C, 0.0f);
  BadLabel bad;
  parallel_for(N, 1, [&](int64_t begin, int64_t end) {
    Buffers b;
    b.classes = C;
    for (int64_t n = begin; n < end; ++n) {
      out[n] = 0.0f;
      if (!extend(all[n], targets.i32(), C, blank, bad, b.ext, b.skip)) continue;
      const double value = forward(lp + n * C, N * C, all[n].frames, b);
      out[n] = static_cast<float>(value);
      if (d) gradient(d + n * C, N * C, all[n].frames, value, zero_infinity, b);
    }
  });
  bad.check(targets.i32(), C, " (or is the blank)");
}

}  // namespace cpu
}  // namespace convnet
