// nan_to_num on the GPU: cpu/nan_to_num.cc's selections (the same bits).
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void nan_to_num(const Tensor& x, float nan, float posinf, float neginf, const Tensor& y) {
  const float* px = x.f32();
  float* py = y.f32();
  for_each("nanToNum", y.numel(), [=] __device__(int64_t i) {
    const float v = px[i];
    py[i] = v != v ? nan : (v == __int_as_float(0x7f800000) ? posinf : (v == __int_as_float(0xff800000) ? neginf : v));
  });
}

}  // namespace cuda
}  // namespace convnet
