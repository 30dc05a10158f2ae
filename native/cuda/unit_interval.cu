// check_unit_interval on the GPU: the copy, and an element outside [0, 1] (or NaN) reported
// through the device error word (E_ARG at the next wait), as cpu/unit_interval.cc fails.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {

void check_unit_interval(const Tensor& x, const Tensor& y) {
  const float* in = x.f32();
  float* out = y.f32();
  int* error = device_error_word();
  const int site = error_site("binaryCrossEntropy",
                              "an element of `input` is outside [0, 1]: expected probabilities (apply sigmoid first, "
                              "or use binaryCrossEntropyWithLogits)",
                              "E_ARG");
  for_each("binaryCrossEntropy", x.numel(), [=] __device__(int64_t i) {
    const float v = in[i];
    if (!(v >= 0.0f && v <= 1.0f)) report_error(error, site);
    out[i] = v;
  });
}

}  // namespace cuda
}  // namespace convnet
