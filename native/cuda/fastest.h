// Picks the fastest of several candidates from a noisy timer: the choice benchmark mode makes
// between cuDNN's execution plans (conv_graph.cc). Plain C++ with no CUDA in it, so that
// native/cuda/fastest_selftest.cc can check it on any machine (test/native-search.test.ts).
//
// Why not time each candidate once and keep the least: on the GPU run of session 7 (H200, an idle
// GPU at 345 MHz) one search timed the same engine twice, 0.040 and 0.058 ms, and a plan picked at
// 0.059 ms then ran at 0.073: a single sample per candidate, taken while the clocks ramp up or
// another candidate's kernels drain, can rank a fast plan behind a slow one. So every candidate is
// timed once (round 1), then those within `margin` of the leader (the finalists, `finalists` at
// most) are timed `rounds` more times, interleaved (one sample of each in turn, so that a drift in
// the GPU's clock touches them all alike), each keeping its least time; the finalist with the
// least time wins.
#pragma once

#include <algorithm>
#include <vector>

namespace convnet {
namespace cuda {

struct FastestOptions {
  float margin = 0.3f;  // finalists: round-1 time at most (1 + margin) x the leader's
  int finalists = 8;    // the most finalists re-timed
  int rounds = 3;       // further samples of each finalist
};

// The index of the fastest candidate, or -1 when none can run. `time(i)`: one sample of candidate
// i's time (any unit), negative when it cannot run (a finalist that fails later is dropped).
// `times`, when given, receives each candidate's least time (negative: could not run).
template <typename Time>
int fastest(int count, Time time, const FastestOptions& o = {}, std::vector<float>* times = nullptr) {
  std::vector<float> best(static_cast<size_t>(std::max(count, 0)), -1.0f);
  float leader = -1;
  for (int i = 0; i < count; ++i) {
    best[i] = time(i);
    if (best[i] >= 0 && (leader < 0 || best[i] < leader)) leader = best[i];
  }
  if (leader < 0) {
    if (times) *times = best;
    return -1;
  }
  std::vector<int> finals;
  for (int i = 0; i < count; ++i)
    if (best[i] >= 0 && best[i] <= leader * (1 + o.margin)) finals.push_back(i);
  std::stable_sort(finals.begin(), finals.end(), [&](int a, int b) { return best[a] < best[b]; });
  if (static_cast<int>(finals.size()) > o.finalists) finals.resize(static_cast<size_t>(std::max(o.finalists, 1)));
  if (finals.size() > 1) {
    for (int r = 0; r < o.rounds; ++r) {
      for (const int i : finals) {
        if (best[i] < 0) continue;  // failed in an earlier round
        const float t = time(i);
        if (t < 0) best[i] = -1;
        else if (t < best[i]) best[i] = t;
      }
    }
  }
  int winner = -1;
  for (const int i : finals)
    if (best[i] >= 0 && (winner < 0 || best[i] < best[winner])) winner = i;
  if (times) *times = best;
  return winner;
}

}  // namespace cuda
}  // namespace convnet
