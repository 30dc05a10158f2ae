// The few kernels of their own that the cuDNN/cuBLAS ops of the convolution family need
// (conv2d.cc, linear.cc). Internal to native/cuda/: not GPU ops of their own.
#pragma once
#include <cstdint>

namespace convnet {
namespace cuda {

// dst[p, h, w] = src[p, h, w] where h < src_h and w < src_w, else 0, for every plane p of
// `planes`: dst is [planes, dst_h, dst_w], src [planes, src_h, src_w]. Zero-pads at the bottom
// and right when dst is larger, crops when it is smaller (each dimension on its own).
// conv_window.cu.
void copy_window(const char* op, const float* src, int64_t src_h, int64_t src_w, float* dst, int64_t planes,
                 int64_t dst_h, int64_t dst_w);

// y[r, c] += b[c] for y [rows, cols] (linear's bias). conv_window.cu.
void add_row_bias(const char* op, float* y, const float* b, int64_t rows, int64_t cols);

// y[o, c, q] += b[c] for y [outer, channels, inner] (the convolutions' bias). conv_window.cu.
void add_channel_bias(const char* op, float* y, const float* b, int64_t outer, int64_t channels, int64_t inner);

// db[c] = sum over (o, q) of dy[o, c, q], dy being [outer, channels, inner], in an order fixed
// by the shape (the same result on every run), accumulated in double. bias_backward.cu.
void bias_backward_sum(const char* op, const float* dy, int64_t outer, int64_t channels, int64_t inner, float* db);

}  // namespace cuda
}  // namespace convnet
