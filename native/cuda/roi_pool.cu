// Region-of-interest max pooling on the GPU, the twin of cpu/roi_pool.cc (whose comment states
// torchvision.ops.roi_pool's rules): box k = (b, x1, y1, x2, y2), b truncated to a sample,
// coordinates scaled and rounded half away from zero (roundf, as std::round), bins of
// roi_extent / bins (float) rows and columns [floor(i * bin), ceil((i + 1) * bin)) shifted by
// the box's start and clipped to the image; each bin's first value strictly greater than
// -FLT_MAX wins (an empty bin gives 0 and index -1); a box with a NaN coordinate gives NaN and
// index -1, and scaled coordinates are clamped to +-2^30 before rounding (as the CPU's). The
// float arithmetic is the CPU's, so the bins, values and indices are the CPU's exactly.
//
// Forward: one thread per output (k, c, i, j). A batch index out of range is reported as
// E_INDEX at the next wait (its outputs are 0 and -1). Backward (to x only): one warp per plane
// (n, c) walks the boxes of sample n in order and adds dy at each argmax in bin order (Note
// [ordered scatter]): the CPU's sums, in the CPU's order, without atomics. An argmax out of
// [-1, H * W) is E_INDEX.
#include <cfloat>
#include <cmath>

#include "cuda/cuda_ops.h"
#include "cuda/pool_window.cuh"

namespace convnet {
namespace cuda {
namespace {

// The clipped [start, end) of bin i of a box along one axis (cpu/roi_pool.cc: box_bins).
__device__ __forceinline__ void box_bin(float lo, float hi, float scale, int64_t i, int64_t bins, int64_t size,
                                        int64_t* start, int64_t* end) {
  constexpr float kLimit = 1073741824.0f;  // cpu/roi_pool.cc: rounded
  const int64_t roi_start = static_cast<int64_t>(roundf(fminf(fmaxf(__fmul_rn(lo, scale), -kLimit), kLimit)));
  const int64_t roi_end = static_cast<int64_t>(roundf(fminf(fmaxf(__fmul_rn(hi, scale), -kLimit), kLimit)));
  const int64_t extent = pool::imax(roi_end - roi_start + 1, 1);
  const float bin = __fdiv_rn(static_cast<float>(extent), static_cast<float>(bins));
  const int64_t s = static_cast<int64_t>(floorf(__fmul_rn(static_cast<float>(i), bin)));
  const int64_t e = static_cast<int64_t>(ceilf(__fmul_rn(static_cast<float>(i + 1), bin)));
  *start = pool::imin(pool::imax(s + roi_start, 0), size);
  *end = pool::imin(pool::imax(e + roi_start, 0), size);
}

__device__ __forceinline__ bool batch_ok(float b, int64_t batch) { return b >= 0.0f && b < static_cast<float>(batch); }

__global__ void roi_pool_backward_kernel(const float* dy, const int32_t* argmax, const float* boxes, float* dx,
                                         int64_t N, int64_t C, int64_t plane, int64_t K, int64_t bins, int* error_word,
                                         int box_site, int index_site) {
  __shared__ float lane_values[pool::kWarpsPerBlock][32];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  for (int64_t q = blockIdx.x * static_cast<int64_t>(pool::kWarpsPerBlock) + warp; q < N * C;
       q += static_cast<int64_t>(gridDim.x) * pool::kWarpsPerBlock) {
    const int64_t n = q / C, c = q % C;
    float* g = dx + q * plane;
    for (int64_t k = 0; k < K; ++k) {
      const float b = boxes[5 * k];
      if (!batch_ok(b, N)) {
        if (lane == 0) report_error(error_word, box_site);
        continue;
      }
      if (static_cast<int64_t>(b) != n) continue;
      const float* d = dy + (k * C + c) * bins;
      const int32_t* a = argmax + (k * C + c) * bins;
      for (int64_t base = 0; base < bins; base += 32) {
        const int64_t o = base + lane;
        int key = -1;
        float v = 0.0f;
        if (o < bins) {
          key = a[o];
          v = d[o];
          if (key < -1 || key >= plane) {
            report_error(error_word, index_site);
            key = -1;
          }
        }
        pool::warp_ordered_add(g, key, v, lane_values[warp]);
      }
    }
  }
}

}  // namespace

void roi_pool_forward(const Tensor& x, const Tensor& boxes, float spatial_scale, const Tensor& y, const Tensor& argmax) {
  const char* op = "roiPool";
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t oh = y.shape[2], ow = y.shape[3];
  const float* px = x.f32();
  const float* pb = boxes.f32();
  float* py = y.f32();
  int32_t* pa = argmax.i32();
  int* error_word = device_error_word();
  const int site = error_site(op, "a box's batch index is out of range for the batch");
  for_each(op, y.numel(), [=] __device__(int64_t i) {
    const int64_t j = i % ow, bi = (i / ow) % oh, c = (i / (ow * oh)) % C, k = i / (ow * oh * C);
    const float* b = pb + 5 * k;
    if (!batch_ok(b[0], N)) {
      report_error(error_word, site);
      py[i] = 0.0f;
      pa[i] = -1;
      return;
    }
    if (isnan(b[1]) || isnan(b[2]) || isnan(b[3]) || isnan(b[4])) {
      py[i] = NAN;
      pa[i] = -1;
      return;
    }
    int64_t hs, he, ws, we;
    box_bin(b[2], b[4], spatial_scale, bi, oh, H, &hs, &he);
    box_bin(b[1], b[3], spatial_scale, j, ow, W, &ws, &we);
    const float* xp = px + (static_cast<int64_t>(b[0]) * C + c) * H * W;
    const bool empty = he <= hs || we <= ws;
    float best = empty ? 0.0f : -FLT_MAX;
    int64_t at = -1;
    for (int64_t h = hs; h < he; ++h) {
      for (int64_t w = ws; w < we; ++w) {
        const float v = xp[h * W + w];
        if (v > best) best = v, at = h * W + w;
      }
    }
    py[i] = best;
    pa[i] = static_cast<int32_t>(at);
  });
}

void roi_pool_backward(const Tensor& dy, const Tensor& argmax, const Tensor& boxes, const Tensor& dx) {
  const char* op = "roiPool backward";
  const int64_t N = dx.shape[0], C = dx.shape[1], plane = dx.shape[2] * dx.shape[3];
  const int64_t K = boxes.shape[0], bins = dy.shape[2] * dy.shape[3];
  if (dx.numel() == 0) return;
  cudaStream_t s = stream();
  CONVNET_CUDA_CHECK(cudaMemsetAsync(dx.f32(), 0, dx.numel() * sizeof(float), s));
  if (K == 0 || bins == 0) return;
  const int box_site = error_site(op, "a box's batch index is out of range for the batch");
  const int index_site = error_site(op, "an argmax is out of range for the input plane");
  set_last_op(op);
  roi_pool_backward_kernel<<<pool::warp_blocks(N * C), pool::kWarpsPerBlock * 32, 0, s>>>(
      dy.f32(), argmax.i32(), boxes.f32(), dx.f32(), N, C, plane, K, bins, device_error_word(), box_site, index_site);
  check_launch(op);
}

}  // namespace cuda
}  // namespace convnet
