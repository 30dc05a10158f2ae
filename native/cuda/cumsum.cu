// cumsum on the GPU: cpu/cumsum.cc's bits. One thread per line walks it in order, summing in
// float64 (int32: int64, a running sum outside int32 reported as E_RANGE at the next wait);
// neighbouring threads take neighbouring lines, so reads coalesce whenever the axis is not the
// last. Along the last axis each thread reads its own row (not coalesced): correct and
// deterministic; a parallel scan would change the order of the additions, and so the bits.
#include <cstdint>

#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace convnet {
namespace cuda {
namespace {

template <typename T, typename Acc>
void launch_cumsum(const char* op, const T* x, T* y, int64_t outer, int64_t len, int64_t inner, bool reverse,
                   int* error, int site) {
  for_each(op, outer * inner, [=] __device__(int64_t line) {
    const int64_t o = line / inner, j = line - o * inner;
    Acc acc = 0;
    bool reported = false;
    for (int64_t step = 0; step < len; ++step) {
      const int64_t at = (o * len + (reverse ? len - 1 - step : step)) * inner + j;
      acc += static_cast<Acc>(x[at]);
      y[at] = static_cast<T>(acc);
      if (error && !reported && (acc < -2147483648LL || acc > 2147483647LL)) {
        report_error(error, site);
        reported = true;
      }
    }
  });
}

}  // namespace

void cumsum(const Tensor& x, int64_t axis, bool reverse, const Tensor& y) {
  const char* op = "cumsum";
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  const int64_t len = x.shape[axis];
  if (len == 0 || outer * inner == 0) return;
  if (x.dtype == DType::Float32) {
    launch_cumsum<float, double>(op, x.f32(), y.f32(), outer, len, inner, reverse, nullptr, 0);
    return;
  }
  const int site = error_site(op, "a running int32 sum is outside the int32 range [-2147483648, 2147483647] (cast to float32 first)", "E_RANGE");
  launch_cumsum<int32_t, int64_t>(op, x.i32(), y.i32(), outer, len, inner, reverse, device_error_word(), site);
}

}  // namespace cuda
}  // namespace convnet
