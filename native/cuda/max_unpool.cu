// max_unpool2d on the GPU: cpu/max_unpool.cc's results exactly (the later of two indices to one
// place wins; `kept` marks the inputs that stayed, and the backward sends dy to those alone).
// One warp per plane walks the plane's inputs 32 at a time in order; of the lanes that share an
// index (__match_any_sync) the highest, the latest, writes, and a later chunk overwrites an
// earlier one: no atomics, the CPU's order. With `kept` the warp writes which input wrote each
// output into a scratch plane instead, and y and kept are read off it.
#include "cuda/cuda_ops.h"
#include "cuda/pool_window.cuh"

namespace convnet {
namespace cuda {
namespace {

// out[p][indices[p][i]] = kValues ? x[p][i] : i for every plane p, i in order (the last wins).
// An index outside [0, out_plane) reports `site` and is skipped.
template <bool kValues>
__global__ void last_writer_kernel(const float* x, const int32_t* indices, float* y, int32_t* writer, int64_t planes,
                                   int64_t in_plane, int64_t out_plane, int* error_word, int site) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  for (int64_t p = blockIdx.x * static_cast<int64_t>(pool::kWarpsPerBlock) + warp; p < planes;
       p += static_cast<int64_t>(gridDim.x) * pool::kWarpsPerBlock) {
    const int32_t* ip = indices + p * in_plane;
    for (int64_t base = 0; base < in_plane; base += 32) {
      const int64_t i = base + lane;
      int key = -1;
      if (i < in_plane) {
        key = ip[i];
        if (key < 0 || key >= out_plane) {
          report_error(error_word, site);
          key = -1;
        }
      }
      const unsigned same = __match_any_sync(0xffffffffu, key);
      if (key >= 0 && (same >> lane) == 1u) {  // no higher lane holds this key
        if (kValues) y[p * out_plane + key] = x[p * in_plane + i];
        else writer[p * out_plane + key] = static_cast<int32_t>(i);
      }
      __syncwarp();  // the next chunk may write the same place: after this one
    }
  }
}

int64_t plane_of(const Tensor& t) { return t.shape[t.dim() - 2] * t.shape[t.dim() - 1]; }

}  // namespace

void max_unpool2d_forward(const Tensor& x, const Tensor& indices, const Tensor& y, const Tensor* kept) {
  const char* op = "maxUnpool2d";
  const int64_t in_plane = plane_of(x), out_plane = plane_of(y);
  const int64_t planes = in_plane ? x.numel() / in_plane : 0;
  if (planes == 0) return;
  const int site = error_site(op, "an index is out of range for the output plane");
  if (!kept) {
    CONVNET_CUDA_CHECK(cudaMemsetAsync(y.f32(), 0, y.numel() * sizeof(float), stream()));
    set_last_op(op);
    last_writer_kernel<true><<<pool::warp_blocks(planes), pool::kWarpsPerBlock * 32, 0, stream()>>>(
        x.f32(), indices.i32(), y.f32(), nullptr, planes, in_plane, out_plane, device_error_word(), site);
    check_launch(op);
    return;
  }
  // Which input wrote each output (-1: none); freed in stream order after the last kernel.
  DeviceBuffer writer(static_cast<size_t>(planes * out_plane) * sizeof(int32_t));
  CONVNET_CUDA_CHECK(cudaMemsetAsync(writer.data(), 0xff, planes * out_plane * sizeof(int32_t), stream()));
  set_last_op(op);
  last_writer_kernel<false><<<pool::warp_blocks(planes), pool::kWarpsPerBlock * 32, 0, stream()>>>(
      nullptr, indices.i32(), nullptr, writer.as<int32_t>(), planes, in_plane, out_plane, device_error_word(), site);
  check_launch(op);
  const float* px = x.f32();
  const int32_t* pi = indices.i32();
  const int32_t* pw = writer.as<int32_t>();
  float* py = y.f32();
  int32_t* pk = kept->i32();
  for_each(op, planes * out_plane, [=] __device__(int64_t o) {
    const int32_t w = pw[o];
    py[o] = w >= 0 ? px[o / out_plane * in_plane + w] : 0.0f;
  });
  for_each(op, planes * in_plane, [=] __device__(int64_t j) {
    const int64_t p = j / in_plane, i = j % in_plane;
    const int key = pi[j];
    pk[j] = key >= 0 && key < out_plane && pw[p * out_plane + key] == i;
  });
}

void max_unpool2d_backward(const Tensor& dy, const Tensor& indices, const Tensor& kept, const Tensor& dx) {
  const char* op = "maxUnpool2d backward";
  const int64_t in_plane = plane_of(dx), out_plane = plane_of(dy);
  const int64_t planes = in_plane ? dx.numel() / in_plane : 0;
  const int site = error_site(op, "an index is out of range for the output plane");
  int* error_word = device_error_word();
  const float* pdy = dy.f32();
  const int32_t* pi = indices.i32();
  const int32_t* pk = kept.i32();
  float* pdx = dx.f32();
  for_each(op, planes * in_plane, [=] __device__(int64_t j) {
    const int key = pi[j];
    const bool ok = key >= 0 && key < out_plane;
    if (!ok) report_error(error_word, site);
    pdx[j] = ok && pk[j] != 0 ? pdy[j / in_plane * out_plane + key] : 0.0f;
  });
}

}  // namespace cuda
}  // namespace convnet
