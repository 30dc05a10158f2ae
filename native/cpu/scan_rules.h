// The per-entry rules that the CPU kernels (cumsum.cc, searchsorted.cc) and their CUDA twins
// share, written once and compiled for both sides, so that the two cannot drift apart.
#pragma once
#include <cstdint>

#include "core/philox.h"  // CONVNET_HD

namespace convnet {

// cummax (largest) / cummin, as PyTorch's cummax_cummin_helper: whether x takes over from the
// running extreme `best`. A value at least as large (small) does, and so does a NaN; nothing
// but a NaN takes over from a NaN.
template <typename T>
CONVNET_HD inline bool extreme_takes_over(T x, T best, bool largest) {
  return x != x || (best == best && (largest ? x >= best : x <= best));
}

// searchsorted: the insertion position of `value` in row[0 .. m), sorted ascending, by PyTorch's
// binary search (cus_lower_bound / cus_upper_bound). Left: the first boundary >= value; right:
// the first > value. The negated comparisons send a NaN value to m on both sides, as there.
template <typename T>
CONVNET_HD inline int64_t insertion_position(const T* row, int64_t m, T value, bool right) {
  int64_t lo = 0, hi = m;
  while (lo < hi) {
    const int64_t mid = lo + ((hi - lo) >> 1);
    if (right ? !(row[mid] > value) : !(row[mid] >= value)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

}  // namespace convnet
