// F.unfold and F.fold on the CPU (PyTorch's im2col and col2im as functions): the convolution's own
// im2col and col2im_plane (conv2d.cc), one channel plane at a time, the planes split over threads.
// Row c * kh * kw + tap of an image's columns is tap `tap` of channel c, so plane p = n * C + c of
// x owns the kh * kw rows p * kh * kw .. of the columns seen as [N * C * kh * kw, L]: the planes
// need not know their image. fold adds a pixel's taps in the order (i, j), from 0: the bits of
// the indexAdd that the GPU composes it from (lib/nn/functional/unfold.ts), and of the
// convolution's backward-data. Before this (the same composition on the CPU), unfold 3x3 pad 1
// of [16, 64, 32, 32] took 37 ms and fold 17.8 (PyTorch 36 and 10.7), now 3.0 and 3.0 (`node
// dist/bench/tensor-ops.js --threads 2 --only fold`).
#include <algorithm>

#include "core/thread_pool.h"
#include "cpu/conv2d_internal.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace cpu {
namespace {

// The convolution's dimensions for one plane: H x W in, bh x bw blocks out, kh x kw taps.
conv2d_impl::Dims plane_dims(const UnfoldGeometry& u) {
  conv2d_impl::Dims d{};
  d.N = 1, d.C = 1, d.H = u.H, d.W = u.W;
  d.K = 1, d.kh = u.kh, d.kw = u.kw;
  d.Ho = u.bh, d.Wo = u.bw;
  d.groups = 1, d.Cg = 1, d.Kg = 1;
  d.ckk = u.kh * u.kw;
  d.hw = u.H * u.W, d.hw_out = u.bh * u.bw;
  return d;
}

// Planes a thread takes at a time: ~16K floats of columns each.
int64_t grain(const conv2d_impl::Dims& d) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(d.ckk * d.hw_out, 1)); }

}  // namespace

void unfold(const Tensor& x, const UnfoldGeometry& u, const Tensor& cols) {
  const conv2d_impl::Dims d = plane_dims(u);
  const float* px = x.f32();
  float* pc = cols.f32();
  parallel_for(u.planes, grain(d), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) conv2d_impl::im2col(px + p * d.hw, d, u.g, 0, 1, pc + p * d.ckk * d.hw_out, d.hw_out);
  });
}

void fold(const Tensor& cols, const UnfoldGeometry& u, const Tensor& y) {
  const conv2d_impl::Dims d = plane_dims(u);
  const float* pc = cols.f32();
  float* py = y.f32();
  const conv2d_impl::Col2imPlan plan = conv2d_impl::col2im_plan(d, u.g);
  parallel_for(u.planes, grain(d), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) conv2d_impl::col2im_plane(pc + p * d.ckk * d.hw_out, d.hw_out, d, u.g, plan, 0.0f, py + p * d.hw);
  });
}

}  // namespace cpu
}  // namespace convnet
