// The connectionist temporal classification loss (Graves et al. 2006), as PyTorch's ctc_loss:
// the negative log of the probability, summed over every alignment, that log_probs [T, N, C]
// (per frame, per sample, per class; log-softmax outputs) spell sample n's target, blanks
// between and repeats merged. Over the extended target l' (blank, l1, blank, l2, ..., blank;
// 2L + 1 symbols) the forward variables, in log space and float64,
//   alpha_0(0) = lp[0, blank],  alpha_0(1) = lp[0, l1],
//   alpha_t(s) = logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), alpha_{t-1}(s-2) when l'_s is not
//                blank and differs from l'_{s-2}) + lp[t, l'_s],
// give nll = -logsumexp(alpha_{T-1}(2L), alpha_{T-1}(2L-1)) for the sample's T frames. The
// backward variables beta run the same recursion from the end, and
//   d nll / d lp[t, c] = -exp(logsumexp over s with l'_s = c of (alpha_t(s) + beta_t(s)) + nll - lp[t, c])
// (alpha and beta both hold frame t's emission, hence the one division by it). That is the
// derivative itself: PyTorch's kernel adds exp(lp[t, c]), which is what the derivative becomes
// through a log_softmax before it (the two agree on the logits, the use the loss has).
//
// Targets are [N, S] padded (row n's first target_lengths[n]) or 1-D, the samples' targets one
// after another. A frame count past T, a negative length, a target longer than its row, or a
// label outside [0, C) or equal to blank is reported when the kernel runs (E_ARG / E_INDEX).
// A sample with no alignment (too few frames) has nll = inf, as PyTorch's; zero_infinity gives
// its gradient 0 (lib/ zeroes its loss).
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/loss_common.h"

namespace convnet {
namespace cpu {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

double log_add(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  const double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::fabs(a - b)));
}

// Sample n's frames, target length and target labels (checked), with the first problem noted.
struct Sample {
  int64_t frames = 0;
  int64_t length = 0;
  const int32_t* labels = nullptr;
};

struct Problems {
  BadLabel label;                       // a label outside [0, C) or equal to blank (its flat position)
  std::atomic<int64_t> sample{-1};      // the lowest sample whose lengths are bad
  void note_sample(int64_t n) {
    int64_t seen = sample.load();
    while ((seen < 0 || n < seen) && !sample.compare_exchange_weak(seen, n)) {
    }
  }
};

// The samples' frames, lengths and where their labels start; lengths are checked here (before
// the parallel loop), labels in `read`.
std::vector<Sample> samples(const Tensor& targets, const Tensor& input_lengths, const Tensor& target_lengths, int64_t T,
                            const char* op) {
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

// The extended target l' (2L + 1 symbols), false when a label is bad (noted at its flat position).
bool extend(const Sample& s, const int32_t* base, int64_t C, int64_t blank, BadLabel& bad, std::vector<int64_t>& ext) {
  ext.assign(2 * s.length + 1, blank);
  for (int64_t i = 0; i < s.length; ++i) {
    const int32_t c = s.labels[i];
    if (c < 0 || c >= C || c == blank) {
      bad.note(s.labels + i - base);
      return false;
    }
    ext[2 * i + 1] = c;
  }
  return true;
}

// log alpha [frames][S'] of one sample; lp points at its [0, n, 0] with frame stride `stride`.
void forward_variables(const float* lp, int64_t stride, int64_t frames, const std::vector<int64_t>& ext, std::vector<double>& la) {
  const int64_t S = static_cast<int64_t>(ext.size());
  la.assign(frames * S, kNegInf);
  if (frames == 0) return;
  la[0] = lp[ext[0]];
  if (S > 1) la[1] = lp[ext[1]];
  for (int64_t t = 1; t < frames; ++t) {
    const double* prev = la.data() + (t - 1) * S;
    double* cur = la.data() + t * S;
    const float* row = lp + t * stride;
    for (int64_t s = 0; s < S; ++s) {
      double v = prev[s];
      if (s > 0) v = log_add(v, prev[s - 1]);
      if (s > 1 && ext[s] != ext[0] && ext[s] != ext[s - 2]) v = log_add(v, prev[s - 2]);
      cur[s] = v + row[ext[s]];   // -inf stays -inf; a NaN emission spreads, as PyTorch's
    }
  }
}

// -log p(target | log_probs) from the last frame's alphas (a sample with no frames: 0 for an
// empty target, else inf).
double nll_of(const std::vector<double>& la, int64_t frames, int64_t S) {
  if (frames == 0) return S == 1 ? 0.0 : std::numeric_limits<double>::infinity();
  const double* last = la.data() + (frames - 1) * S;
  return -(S > 1 ? log_add(last[S - 1], last[S - 2]) : last[S - 1]);
}

}  // namespace

void ctc_loss_forward(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths, const Tensor& target_lengths,
                      int64_t blank, const Tensor& nll) {
  const int64_t T = log_probs.shape[0], N = log_probs.shape[1], C = log_probs.shape[2];
  const std::vector<Sample> all = samples(targets, input_lengths, target_lengths, T, "ctcLoss");
  const float* lp = log_probs.f32();
  float* out = nll.f32();
  BadLabel bad;
  parallel_for(N, 1, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> ext;
    std::vector<double> la;
    for (int64_t n = begin; n < end; ++n) {
      out[n] = 0.0f;
      if (!extend(all[n], targets.i32(), C, blank, bad, ext)) continue;
      forward_variables(lp + n * C, N * C, all[n].frames, ext, la);
      out[n] = static_cast<float>(nll_of(la, all[n].frames, static_cast<int64_t>(ext.size())));
    }
  });
  bad.check(targets.i32(), C, " (or is the blank)");
}

void ctc_loss_backward(const Tensor& dnll, const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                       const Tensor& target_lengths, int64_t blank, bool zero_infinity, const Tensor& dlp) {
  const int64_t T = log_probs.shape[0], N = log_probs.shape[1], C = log_probs.shape[2];
  const std::vector<Sample> all = samples(targets, input_lengths, target_lengths, T, "ctcLoss backward");
  const float* lp = log_probs.f32();
  const float* g = dnll.f32();
  float* d = dlp.f32();
  std::fill(d, d + T * N * C, 0.0f);
  BadLabel bad;
  parallel_for(N, 1, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> ext;
    std::vector<double> la, lb, occupancy(C);
    for (int64_t n = begin; n < end; ++n) {
      if (!extend(all[n], targets.i32(), C, blank, bad, ext)) continue;
      const int64_t frames = all[n].frames, S = static_cast<int64_t>(ext.size());
      const float* lpn = lp + n * C;
      forward_variables(lpn, N * C, frames, ext, la);
      const double nll = nll_of(la, frames, S);
      if (frames == 0 || (zero_infinity && std::isinf(nll))) continue;
      if (std::isinf(nll)) {
        // No alignment: the derivative is undefined, NaN for the sample's frames (as PyTorch's).
        for (int64_t t = 0; t < frames; ++t) std::fill(d + t * N * C + n * C, d + t * N * C + n * C + C, std::numeric_limits<float>::quiet_NaN());
        continue;
      }
      // beta, from the last frame back.
      lb.assign(frames * S, kNegInf);
      const float* last = lpn + (frames - 1) * N * C;
      lb[(frames - 1) * S + S - 1] = last[ext[S - 1]];
      if (S > 1) lb[(frames - 1) * S + S - 2] = last[ext[S - 2]];
      for (int64_t t = frames - 2; t >= 0; --t) {
        const double* next = lb.data() + (t + 1) * S;
        double* cur = lb.data() + t * S;
        const float* row = lpn + t * N * C;
        for (int64_t s = 0; s < S; ++s) {
          double v = next[s];
          if (s + 1 < S) v = log_add(v, next[s + 1]);
          if (s + 2 < S && ext[s + 2] != ext[0] && ext[s + 2] != ext[s]) v = log_add(v, next[s + 2]);
          cur[s] = v + row[ext[s]];   // -inf stays -inf; a NaN emission spreads, as PyTorch's
        }
      }
      const double scale = g[n];
      for (int64_t t = 0; t < frames; ++t) {
        std::fill(occupancy.begin(), occupancy.end(), kNegInf);
        for (int64_t s = 0; s < S; ++s) occupancy[ext[s]] = log_add(occupancy[ext[s]], la[t * S + s] + lb[t * S + s]);
        const float* row = lpn + t * N * C;
        float* drow = d + t * N * C + n * C;
        for (int64_t c = 0; c < C; ++c) {
          if (occupancy[c] == kNegInf) continue;   // a class on no path: 0 (also when nll is inf)
          drow[c] = static_cast<float>(-std::exp(occupancy[c] + nll - row[c]) * scale);
        }
      }
    }
  });
  bad.check(targets.i32(), C, " (or is the blank)");
}

}  // namespace cpu
}  // namespace convnet
