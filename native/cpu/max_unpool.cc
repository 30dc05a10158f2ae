// max_unpool2d (the inverse of max pooling with its indices: Zeiler and Fergus's unpooling by
// "switches", SegNet's and DeconvNet's decoders), forward and backward:
//   y[plane][indices[plane][i]] = x[plane][i] for every i of the plane in order, 0 elsewhere.
// Two indices naming one place (a pool with overlapping windows can pick one input twice): the
// later one's value stays, as in PyTorch's CPU kernel. The backward is the true gradient:
//   dx[plane][i] = dy[plane][indices[plane][i]] for the i whose value stayed, 0 for the others
// (PyTorch 1.13 gives every i the dy at its index; the same wherever no index repeats).
// A bad index fails the op with E_INDEX, naming the first by position, as max_pool_backward.
#include <atomic>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"

namespace convnet {
namespace cpu {
namespace {

// Notes position `at` as bad if it is the first so far.
void note_bad(std::atomic<int64_t>& bad, int64_t at) {
  int64_t seen = bad.load();
  while ((seen < 0 || at < seen) && !bad.compare_exchange_weak(seen, at)) {
  }
}

void check_indices(const std::atomic<int64_t>& bad, const int32_t* pi, int64_t out_plane) {
  CONVNET_CHECK(bad < 0, "E_INDEX", "maxUnpool2d: index ", bad < 0 ? 0 : pi[bad.load()], " at position ", bad.load(),
                " is out of range for an output plane of ", out_plane, " elements");
}

}  // namespace

void max_unpool2d_forward(const Tensor& x, const Tensor& indices, const Tensor& y) {
  const int64_t in_plane = x.shape[x.dim() - 2] * x.shape[x.dim() - 1];
  const int64_t out_plane = y.shape[y.dim() - 2] * y.shape[y.dim() - 1];
  const int64_t planes = in_plane ? x.numel() / in_plane : 0;
  const float* px = x.f32();
  const int32_t* pi = indices.i32();
  float* py = y.f32();
  std::atomic<int64_t> bad{-1};
  for_planes(planes, in_plane + out_plane, [&](int64_t begin, int64_t end) {
    const uint32_t n = static_cast<uint32_t>(out_plane);
    for (int64_t p = begin; p < end; ++p) {
      const float* v = px + p * in_plane;
      const int32_t* ip = pi + p * in_plane;
      float* out = py + p * out_plane;
      std::memset(out, 0, out_plane * sizeof(float));
      for (int64_t i = 0; i < in_plane; ++i) {
        const uint32_t at = static_cast<uint32_t>(ip[i]);  // a negative index wraps to a huge one
        if (at < n) out[at] = v[i];
        else note_bad(bad, p * in_plane + i);
      }
    }
  });
  check_indices(bad, pi, out_plane);
}

void max_unpool2d_backward(const Tensor& dy, const Tensor& indices, const Tensor& dx) {
  const int64_t in_plane = dx.shape[dx.dim() - 2] * dx.shape[dx.dim() - 1];
  const int64_t out_plane = dy.shape[dy.dim() - 2] * dy.shape[dy.dim() - 1];
  const int64_t planes = in_plane ? dx.numel() / in_plane : 0;
  const float* pdy = dy.f32();
  const int32_t* pi = indices.i32();
  float* pdx = dx.f32();
  std::atomic<int64_t> bad{-1};
  for_planes(planes, in_plane + out_plane, [&](int64_t begin, int64_t end) {
    const uint32_t n = static_cast<uint32_t>(out_plane);
    std::vector<uint8_t> taken(static_cast<size_t>(out_plane));  // which outputs a later i already wrote
    for (int64_t p = begin; p < end; ++p) {
      const float* d = pdy + p * out_plane;
      const int32_t* ip = pi + p * in_plane;
      float* g = pdx + p * in_plane;
      std::fill(taken.begin(), taken.end(), 0);
      for (int64_t i = in_plane - 1; i >= 0; --i) {  // backwards: the first seen of an index is its last writer
        const uint32_t at = static_cast<uint32_t>(ip[i]);
        if (at >= n) {
          note_bad(bad, p * in_plane + i);
          g[i] = 0.0f;
        } else {
          g[i] = taken[at] ? 0.0f : d[at];
          taken[at] = 1;
        }
      }
    }
  });
  check_indices(bad, pi, out_plane);
}

}  // namespace cpu
}  // namespace convnet
