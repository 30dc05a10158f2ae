// max_unpool2d (the inverse of max pooling with its indices: Zeiler and Fergus's unpooling by
// "switches", SegNet's and DeconvNet's decoders), forward and backward:
//   y[plane][indices[plane][i]] = x[plane][i] for every i of the plane in order, 0 elsewhere.
// Two indices naming one place (a pool with overlapping windows can pick one input twice): the
// later one's value stays, as in PyTorch's CPU kernel. The backward is the true gradient:
//   dx[plane][i] = dy[plane][indices[plane][i]] for the i whose value stayed, 0 for the others
// (PyTorch 1.13 gives every i the dy at its index; the same wherever no index repeats). Which i
// stayed is found by the forward when asked (`kept`, 1 or 0 per input, saved for the backward):
// the backward is then one masked gather, as fast as PyTorch's plain one (finding the survivors
// there took it to 0.5x PyTorch's time on AlexNet's 3x3/2 pools).
// A bad index fails the op with E_INDEX, naming the first by position, as max_pool_backward.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "cpu/index_range.h"
#include "cpu/nn_ops.h"
#include "cpu/pool_window.h"

namespace convnet {
namespace cpu {
namespace {

void check_indices(const BadIndex& bad, const int32_t* pi, int64_t out_plane) {
  const int64_t at = bad.position.load();
  CONVNET_CHECK(at < 0, "E_INDEX", "maxUnpool2d: index ", at < 0 ? 0 : pi[at], " at position ", at,
                " is out of range for an output plane of ", out_plane, " elements");
}

// Notes the first bad index of plane p, if it has one.
void note_bad_in_plane(BadIndex& bad, const int32_t* ip, int64_t p, int64_t in_plane, uint32_t n) {
  for (int64_t i = 0; i < in_plane; ++i) {
    if (static_cast<uint32_t>(ip[i]) >= n) return bad.note(p * in_plane + i);
  }
}

// One plane's forward, every index in range (out zeroed first); with `kept`, also which inputs
// stayed (writer: scratch of the output plane's size). writer[at] is the last i to write `at`;
// only the places this plane's indices name are read back, each written just before, so writer
// needs no clearing between planes.
void forward_plane(const float* __restrict v, const int32_t* __restrict ip, float* __restrict out,
                   int32_t* __restrict kept, int32_t* __restrict writer, int64_t in_plane, int64_t out_plane) {
  std::memset(out, 0, out_plane * sizeof(float));
  if (!kept) {
    for (int64_t i = 0; i < in_plane; ++i) out[ip[i]] = v[i];
    return;
  }
  for (int64_t i = 0; i < in_plane; ++i) {
    out[ip[i]] = v[i];
    writer[ip[i]] = static_cast<int32_t>(i);
  }
  for (int64_t i = 0; i < in_plane; ++i) kept[i] = writer[ip[i]] == static_cast<int32_t>(i);
}

// One plane's backward, every index in range: g[i] = kept[i] ? d[ip[i]] : 0, by a bit mask (no
// branch to mispredict where repeats are common). The callers check the range first, in
// max_index's one vectorised pass: inline here the checks made this loop 1.9x slower. An
// AVX-512 masked gather (vgatherdps, 16 inputs a step) took twice as long on Zen 5: [8, 96, 55,
// 55] k3s2, 2 threads, 0.16 -> 0.27 ms (session 54).
void backward_plane(const float* __restrict d, const int32_t* __restrict ip, const int32_t* __restrict kept,
                    float* __restrict g, int64_t in_plane) {
  const uint32_t* __restrict bits = reinterpret_cast<const uint32_t*>(d);
  uint32_t* __restrict out = reinterpret_cast<uint32_t*>(g);
  for (int64_t i = 0; i < in_plane; ++i) out[i] = bits[ip[i]] & (0u - static_cast<uint32_t>(kept[i] != 0));
}

}  // namespace

void max_unpool2d_forward(const Tensor& x, const Tensor& indices, const Tensor& y, const Tensor* kept) {
  const int64_t in_plane = x.shape[x.dim() - 2] * x.shape[x.dim() - 1];
  const int64_t out_plane = y.shape[y.dim() - 2] * y.shape[y.dim() - 1];
  const int64_t planes = in_plane ? x.numel() / in_plane : 0;
  const float* px = x.f32();
  const int32_t* pi = indices.i32();
  float* py = y.f32();
  int32_t* pk = kept ? kept->i32() : nullptr;
  BadIndex bad;
  for_planes(planes, in_plane + out_plane, [&](int64_t begin, int64_t end) {
    const uint32_t n = static_cast<uint32_t>(out_plane);
    if (max_index(pi + begin * in_plane, (end - begin) * in_plane) >= n) {  // the op fails: no values
      for (int64_t p = begin; p < end; ++p) note_bad_in_plane(bad, pi + p * in_plane, p, in_plane, n);
      return;
    }
    std::vector<int32_t> writer(kept ? static_cast<size_t>(out_plane) : 0);
    for (int64_t p = begin; p < end; ++p) {
      forward_plane(px + p * in_plane, pi + p * in_plane, py + p * out_plane, pk ? pk + p * in_plane : nullptr,
                    writer.data(), in_plane, out_plane);
    }
  });
  check_indices(bad, pi, out_plane);
}

void max_unpool2d_backward(const Tensor& dy, const Tensor& indices, const Tensor& kept, const Tensor& dx) {
  const int64_t in_plane = dx.shape[dx.dim() - 2] * dx.shape[dx.dim() - 1];
  const int64_t out_plane = dy.shape[dy.dim() - 2] * dy.shape[dy.dim() - 1];
  const int64_t planes = in_plane ? dx.numel() / in_plane : 0;
  const float* pdy = dy.f32();
  const int32_t* pi = indices.i32();
  const int32_t* pk = kept.i32();
  float* pdx = dx.f32();
  BadIndex bad;
  for_planes(planes, 2 * in_plane, [&](int64_t begin, int64_t end) {
    const uint32_t n = static_cast<uint32_t>(out_plane);
    // A group of planes at a time (1024 indices or one plane), the check just before the gather
    // (the indices then in L1); from the first group with a bad index the op fails, with no
    // values. (Plane by plane, LeNet's 5x5 planes spent a third of the op in the checks' calls.)
    const int64_t group = std::max<int64_t>(1, 1024 / std::max<int64_t>(1, in_plane));
    for (int64_t g0 = begin; g0 < end; g0 += group) {
      const int64_t g1 = std::min(end, g0 + group);
      if (max_index(pi + g0 * in_plane, (g1 - g0) * in_plane) >= n) {
        for (int64_t p = g0; p < end; ++p) note_bad_in_plane(bad, pi + p * in_plane, p, in_plane, n);
        return;
      }
      for (int64_t p = g0; p < g1; ++p)
        backward_plane(pdy + p * out_plane, pi + p * in_plane, pk + p * in_plane, pdx + p * in_plane, in_plane);
    }
  });
  check_indices(bad, pi, out_plane);
}

}  // namespace cpu
}  // namespace convnet
