// Checks Shape (shape.h) against std::vector<int64_t>: random sequences of every operation the
// class offers, on shapes that cross its inline capacity both ways, compared after each step.
// Built and run by test/shape.test.ts (with AddressSanitizer where the compiler has it):
//   g++ -std=c++17 -Inative native/core/shape_selftest.cc -o /tmp/shape_selftest && /tmp/shape_selftest
#include <cstdio>
#include <random>
#include <utility>
#include <vector>

#include "core/shape.h"

using convnet::Shape;

namespace {
int checks = 0, failed = 0;

void expect_same(const Shape& s, const std::vector<int64_t>& v, const char* what, int step) {
  ++checks;
  const std::vector<int64_t> back = s;  // the conversion, too
  if (back != v || s.size() != v.size() || s.empty() != v.empty() || s.capacity() < s.size() ||
      (!v.empty() && (s.front() != v.front() || s.back() != v.back()))) {
    ++failed;
    std::printf("step %d after %s: %zu dims, expected %zu\n", step, what, s.size(), v.size());
  }
}
}  // namespace

int main() {
  std::mt19937 rng(7);
  auto below = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  for (int round = 0; round < 2000; ++round) {
    Shape s;
    std::vector<int64_t> v;
    for (int step = 0; step < 40; ++step) {
      const int64_t d = static_cast<int64_t>(rng() % 100);
      const char* what = "";
      switch (rng() % 13) {
        case 0: s.push_back(d), v.push_back(d), what = "push_back"; break;
        case 1: if (!v.empty()) s.pop_back(), v.pop_back(); what = "pop_back"; break;
        case 2: { const size_t n = below(10); s.resize(n, d), v.resize(n, d), what = "resize"; break; }
        case 3: { const size_t at = below(v.size() + 1); s.insert(s.begin() + at, d), v.insert(v.begin() + at, d), what = "insert"; break; }
        case 4: {  // a range of itself, as `shape.insert(shape.begin(), shape.begin(), shape.end())` would
          const size_t at = below(v.size() + 1);
          const std::vector<int64_t> copy = v;
          s.insert(s.begin() + at, s.begin(), s.end()), v.insert(v.begin() + at, copy.begin(), copy.end());
          what = "insert itself";
          break;
        }
        case 5: if (!v.empty()) { const size_t at = below(v.size()); s.erase(s.begin() + at), v.erase(v.begin() + at); } what = "erase"; break;
        case 6: { const size_t a = below(v.size() + 1), b = a + below(v.size() - a + 1); s.erase(s.begin() + a, s.begin() + b), v.erase(v.begin() + a, v.begin() + b); what = "erase range"; break; }
        case 7: { Shape copy(s); s = copy; what = "copy"; break; }
        case 8: { Shape moved(std::move(s)); s = std::move(moved); what = "move"; break; }
        case 9: { Shape other{d, d + 1}; std::swap(s, other); std::swap(s, other); what = "swap"; break; }
        case 10: s = Shape(v.begin(), v.end()), what = "from a range"; break;
        case 11: s.clear(), v.clear(), what = "clear"; break;
        default: if (!v.empty()) { const size_t at = below(v.size()); s[at] = d, v[at] = d; } what = "assign a dim"; break;
      }
      expect_same(s, v, what, step);
      const Shape from_vector = v;
      ++checks;
      if (!(from_vector == s) || from_vector != s || from_vector < s || s < from_vector) ++failed, std::printf("comparison after %s\n", what);
    }
  }
  Shape filled(6, 3);  // (count, value) as std::vector's
  expect_same(filled, std::vector<int64_t>(6, 3), "Shape(6, 3)", 0);
  Shape listed{2, 3};  // a list of dims, as std::vector's
  expect_same(listed, std::vector<int64_t>{2, 3}, "Shape{2, 3}", 0);
  std::printf("shape_selftest: %d checks, %d failed\n", checks, failed);
  return failed == 0 ? 0 : 1;
}
