// Zero-padding / cropping of NCHW planes and linear's bias add (conv_kernels.h). cuDNN only
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

}  // namespace cuda
}  // namespace convnet
