// fill, arange and dtype casts on the GPU (cpu/fill.cc has the same semantics).
#include <cstring>

#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {

void fill(const Tensor& y, double value) {
  // The value is converted on the host, as the CPU kernel converts it, and stored as 4 bytes.
  uint32_t bits;
  if (y.dtype == DType::Int32) {
    const int32_t v = static_cast<int32_t>(value);
    std::memcpy(&bits, &v, 4);
  } else {
    const float v = static_cast<float>(value);
    std::memcpy(&bits, &v, 4);
  }
  uint32_t* out = reinterpret_cast<uint32_t*>(y.i32());
  for_each("fill", y.numel(), [=] __device__(int64_t i) { out[i] = bits; });
}

void arange(const Tensor& y, double start, double step) {
  // start + i * step in double with two roundings, as on the CPU (no FMA: see strided.cuh).
  const int64_t n = y.numel();
  if (y.dtype == DType::Int32) {
    int32_t* out = y.i32();
    for_each("arange", n, [=] __device__(int64_t i) {
      out[i] = static_cast<int32_t>(dadd(start, dmul(static_cast<double>(i), step)));
    });
  } else {
    float* out = y.f32();
    for_each("arange", n, [=] __device__(int64_t i) {
      out[i] = static_cast<float>(dadd(start, dmul(static_cast<double>(i), step)));
    });
  }
}

void cast(const Tensor& x, const Tensor& y) {
  const int64_t n = x.numel();
  if (x.dtype == y.dtype) {
    copy_device(x, y);
  } else if (y.dtype == DType::Int32) {
    // Truncation toward zero; NaN and out-of-range values become 0 (as the CPU kernel).
    const float* in = x.f32();
    int32_t* out = y.i32();
    for_each("cast", n, [=] __device__(int64_t i) {
      const float v = in[i];
      out[i] = (isfinite(v) && fabsf(v) < 2147483648.0f) ? static_cast<int32_t>(v) : 0;
    });
  } else {
    const int32_t* in = x.i32();
    float* out = y.f32();
    for_each("cast", n, [=] __device__(int64_t i) { out[i] = static_cast<float>(in[i]); });
  }
}

}  // namespace cuda
}  // namespace convnet
