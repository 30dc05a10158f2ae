// Checks cuda/fastest.h (benchmark mode's choice between execution plans) with scripted timers.
// Not part of the addon; test/native-search.test.ts compiles and runs it:
//   g++ -std=c++17 -Inative native/cuda/fastest_selftest.cc -o /tmp/fastest_selftest && /tmp/fastest_selftest
// Prints one line per failed check and "fastest_selftest: N checks, M failed"; exits 1 on a failure.
#include <cstdio>
#include <functional>
#include <vector>

#include "cuda/fastest.h"

using convnet::cuda::fastest;
using convnet::cuda::FastestOptions;

namespace {
int checks = 0, failed = 0;

void expect(bool ok, const char* what) {
  ++checks;
  if (!ok) {
    ++failed;
    std::printf("FAILED: %s\n", what);
  }
}

// A timer that plays back per-candidate sample lists (the last sample repeats) and counts calls.
struct Script {
  std::vector<std::vector<float>> samples;
  std::vector<int> calls;
  explicit Script(std::vector<std::vector<float>> s) : samples(std::move(s)), calls(samples.size(), 0) {}
  float operator()(int i) {
    const std::vector<float>& s = samples[i];
    const int k = calls[i]++;
    return s[k < static_cast<int>(s.size()) ? k : s.size() - 1];
  }
};
}  // namespace

int main() {
  {
    // The session-7 case: candidate 1 is fastest (0.040) but its first sample, taken while the
    // clocks ramped up, read 0.058; candidate 2 read 0.050 once and is really 0.052.
    Script s({{0.090f}, {0.058f, 0.040f, 0.041f, 0.040f}, {0.050f, 0.052f, 0.053f, 0.052f}, {0.200f}});
    std::vector<float> times;
    const int w = fastest(4, std::ref(s), FastestOptions{}, &times);
    expect(w == 1, "a fast candidate with a slow first sample wins once re-timed");
    expect(s.calls[0] == 1 && s.calls[3] == 1, "candidates far behind the leader are timed once");
    expect(s.calls[1] == 4 && s.calls[2] == 4, "finalists are timed 1 + rounds times");
    expect(times.size() == 4 && times[1] == 0.040f && times[2] == 0.050f && times[3] == 0.200f, "times keeps each one's least");
  }
  {
    // Outside the margin after round 1: never re-timed, whatever it would have read later.
    Script s({{0.050f}, {0.080f, 0.010f}});
    const int w = fastest(2, std::ref(s));
    expect(w == 0 && s.calls[1] == 1, "a candidate 60% behind is not a finalist");
  }
  {
    // Candidates that cannot run (negative) are skipped; none at all gives -1.
    Script s({{-1.0f}, {0.3f}, {-1.0f}});
    expect(fastest(3, std::ref(s)) == 1, "candidates that cannot run are skipped");
    Script none({{-1.0f}, {-1.0f}});
    std::vector<float> times;
    expect(fastest(2, std::ref(none), FastestOptions{}, &times) == -1 && times.size() == 2, "none can run: -1");
    expect(fastest(0, std::ref(none)) == -1, "no candidates: -1");
  }
  {
    // A finalist that fails in a later round is dropped, even if it had the least time.
    Script s({{0.10f, -1.0f}, {0.11f}});
    expect(fastest(2, std::ref(s)) == 1, "a finalist failing later is dropped");
  }
  {
    // A single finalist is not re-timed; the finalist count is capped, the fastest kept.
    Script one({{0.10f}, {0.50f}});
    expect(fastest(2, std::ref(one)) == 0 && one.calls[0] == 1, "a lone finalist is timed once");
    Script many({{1.00f}, {1.01f}, {1.02f}, {1.03f}, {1.04f, 0.5f}});
    FastestOptions o;
    o.finalists = 2;
    expect(fastest(5, std::ref(many), o) == 0 && many.calls[4] == 1 && many.calls[1] == 4, "finalists capped, fastest first");
  }
  {
    // Ties keep the earlier candidate (the heuristics' order).
    Script s({{0.2f}, {0.2f}});
    expect(fastest(2, std::ref(s)) == 0, "a tie keeps the first");
  }
  std::printf("fastest_selftest: %d checks, %d failed\n", checks, failed);
  return failed ? 1 : 0;
}
