// Shared by the pooling kernels: where each output position's window lies along one axis, and
// the split of the planes over threads.
//
// Along an axis of input size `in`, output o's window has taps at start + t * dilation
// (t < k), start = o * stride - padding. The tables are computed once per op (every plane has
// the same geometry), so the inner loops hold no bounds checks.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace cpu {

struct AxisWindows {
  std::vector<int64_t> first;   // the first in-bounds tap (PyTorch steps `start` by the dilation)
  std::vector<int64_t> taps;    // how many taps are in bounds (0: an empty window)
  std::vector<int64_t> padded;  // avg_pool2d's extent: min(start + k, in + padding) - start
};

inline AxisWindows axis_windows(int64_t out, int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation) {
  AxisWindows a;
  a.first.resize(out);
  a.taps.resize(out);
  a.padded.resize(out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * stride - pad;
    const int64_t end = std::min(start + (k - 1) * dilation + 1, in);
    int64_t first = start;
    while (first < 0) first += dilation;
    a.first[o] = first;
    a.taps[o] = first < end ? (end - first + dilation - 1) / dilation : 0;
    a.padded[o] = std::min(start + k, in + pad) - start;
  }
  return a;
}

// PyTorch's adaptive windows: [floor(o * in / out), ceil((o + 1) * in / out)).
inline AxisWindows adaptive_windows(int64_t out, int64_t in) {
  AxisWindows a;
  a.first.resize(out);
  a.taps.resize(out);
  a.padded.resize(out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = (o * in) / out, end = ((o + 1) * in + out - 1) / out;
    a.first[o] = start;
    a.taps[o] = a.padded[o] = end - start;
  }
  return a;
}

// Calls fn(first_plane, end_plane) over the planes, in chunks of at least ~32K elements of work
// so that small tensors stay on one thread. Each plane is handled whole by one thread.
inline void for_planes(int64_t planes, int64_t work_per_plane, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, work_per_plane));
  parallel_for(planes, grain, fn);
}

}  // namespace cpu
}  // namespace convnet
