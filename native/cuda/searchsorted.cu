// searchsorted on the GPU: cpu/searchsorted.cc's binary search, one thread per value.
#include <cstdint>

#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cpu/scan_rules.h"

namespace convnet {
namespace cuda {
namespace {

template <typename T>
void launch_search(const T* bd, const T* v, int32_t* out, int64_t rows, int64_t m, int64_t count, bool one_row, bool right) {
  const int64_t per_row = count / (rows > 0 ? rows : 1);
  for_each("searchsorted", count, [=] __device__(int64_t i) {
    const T* row = bd + (one_row ? 0 : (i / per_row) * m);
    const T val = v[i];
    out[i] = static_cast<int32_t>(insertion_position(row, m, val, right));
  });
}

}  // namespace

void searchsorted(const Tensor& boundaries, const Tensor& values, bool right, const Tensor& out) {
  const int64_t m = boundaries.shape.back();
  const bool one_row = boundaries.dim() == 1;
  const int64_t rows = one_row ? 1 : boundaries.numel() / (m > 0 ? m : 1);
  if (values.numel() == 0) return;
  if (values.dtype == DType::Int32) launch_search(boundaries.i32(), values.i32(), out.i32(), rows, m, values.numel(), one_row, right);
  else launch_search(boundaries.f32(), values.f32(), out.i32(), rows, m, values.numel(), one_row, right);
}

}  // namespace cuda
}  // namespace convnet
