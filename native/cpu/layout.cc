// Copies that rearrange memory: permute (transpose), concat, strided slice.
// All walk the output in order and compute where each output row comes from.
#include <cstring>

#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"

namespace convnet {
namespace cpu {
namespace {
constexpr int64_t kCopyGrain = 1 << 14;
}

void permute(const Tensor& x, const std::vector<int64_t>& perm, const Tensor& y) {
  const int64_t dims = y.dim(), n = y.numel();
  if (n == 0) return;
  const std::vector<int64_t> x_strides = contiguous_strides(x.shape);
  std::vector<int64_t> src_strides(dims);  // stride in x of each y axis
  for (int64_t d = 0; d < dims; ++d) src_strides[d] = x_strides[perm[d]];
  const int32_t* px = x.i32();  // 4-byte elements of either dtype
  int32_t* py = y.i32();
  const int64_t row = dims ? y.shape[dims - 1] : 1;
  const int64_t step = dims ? src_strides[dims - 1] : 1;
  parallel_for(n / row, std::max<int64_t>(1, kCopyGrain / row), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t src = 0, rest = r;
      for (int64_t d = dims - 2; d >= 0; --d) {
        src += (rest % y.shape[d]) * src_strides[d];
        rest /= y.shape[d];
      }
      int32_t* out = py + r * row;
      for (int64_t j = 0; j < row; ++j) out[j] = px[src + j * step];
    }
  });
}

void concat(const std::vector<Tensor>& xs, int64_t axis, const Tensor& y) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= y.shape[d];
  for (int64_t d = axis + 1; d < y.dim(); ++d) inner *= y.shape[d];
  const int64_t y_row = y.shape[axis] * inner;
  int64_t offset = 0;
  for (const Tensor& x : xs) {
    const int64_t x_row = x.shape[axis] * inner;
    const int32_t* px = x.i32();
    int32_t* py = y.i32() + offset;
    parallel_for(outer, std::max<int64_t>(1, kCopyGrain / std::max<int64_t>(1, x_row)), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) std::memcpy(py + o * y_row, px + o * x_row, x_row * 4);
    });
    offset += x_row;
  }
}

void slice(const Tensor& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& step, const Tensor& y) {
  const int64_t dims = y.dim(), n = y.numel();
  if (n == 0) return;
  const std::vector<int64_t> x_strides = contiguous_strides(x.shape);
  int64_t base = 0;
  for (int64_t d = 0; d < dims; ++d) base += begin[d] * x_strides[d];
  const int64_t row = dims ? y.shape[dims - 1] : 1;
  const int64_t row_step = dims ? step[dims - 1] : 1;
  const int32_t* px = x.i32();
  int32_t* py = y.i32();
  parallel_for(n / row, std::max<int64_t>(1, kCopyGrain / row), [&](int64_t first, int64_t last) {
    for (int64_t r = first; r < last; ++r) {
      int64_t src = base, rest = r;
      for (int64_t d = dims - 2; d >= 0; --d) {
        src += (rest % y.shape[d]) * step[d] * x_strides[d];
        rest /= y.shape[d];
      }
      int32_t* out = py + r * row;
      if (row_step == 1) std::memcpy(out, px + src, row * 4);
      else for (int64_t j = 0; j < row; ++j) out[j] = px[src + j * row_step];
    }
  });
}

}  // namespace cpu
}  // namespace convnet
