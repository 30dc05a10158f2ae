// Zero-padding / cropping of NCHW planes, and the bias adds of linear and the convolutions (conv_kernels.h). cuDNN only
// knows symmetric padding; conv2d.cc runs it on a copy padded at the bottom/right, or into a
// larger output that is then cropped, with these.
#include "cuda/conv_kernels.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void copy_window(const char* op, const float* src, int64_t src_h, int64_t src_w, float* dst, int64_t planes,
                 int64_t dst_h, int64_t dst_w) {
  const int64_t n = planes * dst_h * dst_w;
  for_each(op, n, [=] __device__(int64_t i) {
    const int64_t w = i % dst_w;
    const int64_t h = (i / dst_w) % dst_h;
    const int64_t p = i / (dst_w * dst_h);
    dst[i] = (h < src_h && w < src_w) ? src[(p * src_h + h) * src_w + w] : 0.0f;
  });
}

void add_row_bias(const char* op, float* y, const float* b, int64_t rows, int64_t cols) {
  for_each(op, rows * cols, [=] __device__(int64_t i) { y[i] += b[i % cols]; });
}

namespace {
// 32-bit index arithmetic: a 64-bit division costs several times a 32-bit one on the GPU.
__global__ void add_channel_bias_kernel(float* y, const float* b, uint32_t n, uint32_t inner, uint32_t channels) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    y[i] += b[(i / inner) % channels];
}
}  // namespace

void add_channel_bias(const char* op, float* y, const float* b, int64_t outer, int64_t channels, int64_t inner) {
  const int64_t n = outer * channels * inner;
  if (n <= 0) return;
  // The 32-bit loop's i + stride must not wrap: below 2^31 it stays under 2^31 + 2^27.
  if (n >= (int64_t{1} << 31)) {
    for_each(op, n, [=] __device__(int64_t i) { y[i] += b[(i / inner) % channels]; });
    return;
  }
  set_last_op(op);
  add_channel_bias_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(y, b, static_cast<uint32_t>(n), static_cast<uint32_t>(inner),
                                                                    static_cast<uint32_t>(channels));
  check_launch(op);
}

}  // namespace cuda
}  // namespace convnet
