// check_unit_interval: y = x, or the op fails (E_ARG) at an element outside [0, 1] or NaN, as
// PyTorch's binary cross-entropy checks its input. The failure makes y a failed output (Note
// [failed outputs], core/storage.h), so the loss computed from y throws when read.
#include <cstring>

#include "core/error.h"
#include "cpu/cpu_ops.h"

namespace convnet {
namespace cpu {

void check_unit_interval(const Tensor& x, const Tensor& y) {
  const float* px = x.f32();
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i) {
    if (!(px[i] >= 0.0f && px[i] <= 1.0f)) {
      fail("E_ARG", "an element of `input` is ", px[i], " (at position ", i,
           "): expected probabilities in [0, 1] (apply sigmoid first, or use binaryCrossEntropyWithLogits)");
    }
  }
  if (n) std::memcpy(y.f32(), px, sizeof(float) * static_cast<size_t>(n));
}

}  // namespace cpu
}  // namespace convnet
