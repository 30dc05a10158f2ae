// searchsorted (torch.searchsorted / torch.bucketize): for each value, the position in its sorted
// row of boundaries where it would go, found by binary search. Left: the first position whose
// boundary is >= the value (the count of boundaries below it); right: the first whose boundary
// is > the value (cpu/scan_rules.h: PyTorch's loops, so a NaN value goes past the end).
#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/scan_rules.h"

namespace convnet {
namespace cpu {
namespace {

template <typename T>
void search(const T* bd, const T* v, int32_t* out, int64_t rows, int64_t m, int64_t count, bool one_row, bool right) {
  const int64_t per_row = count / std::max<int64_t>(1, rows);
  parallel_for(count, 4096, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T* row = bd + (one_row ? 0 : (i / per_row) * m);
      const T val = v[i];
      out[i] = static_cast<int32_t>(insertion_position(row, m, val, right));
    }
  });
}

}  // namespace

void searchsorted(const Tensor& boundaries, const Tensor& values, bool right, const Tensor& out) {
  const int64_t m = boundaries.shape.back();
  const bool one_row = boundaries.dim() == 1;
  const int64_t rows = one_row ? 1 : boundaries.numel() / std::max<int64_t>(1, m);
  if (values.numel() == 0) return;
  if (values.dtype == DType::Int32) search(boundaries.i32(), values.i32(), out.i32(), rows, m, values.numel(), one_row, right);
  else search(boundaries.f32(), values.f32(), out.i32(), rows, m, values.numel(), one_row, right);
}

}  // namespace cpu
}  // namespace convnet
