// where(cond, a, b): y = cond != 0 ? a : b, with NumPy/PyTorch broadcasting of all three.
// Selection, not arithmetic: the unselected value is never read into the result, so a NaN or
// an infinity there cannot leak (a*c + b*(1-c) would turn it into NaN). cond is float32 (a NaN
// counts as true and -0 as false, as bool(x) in PyTorch) or int32; a, b and y share one dtype
// and their 4-byte values are copied bit for bit (float32 or int32).
#include <algorithm>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;

template <typename C>
void where_loop(const C* pc, const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& y) {
  // 4-byte values of either dtype, copied as bits (i32() checks for failed inputs as f32() does).
  const uint32_t* pa = reinterpret_cast<const uint32_t*>(a.i32());
  const uint32_t* pb = reinterpret_cast<const uint32_t*>(b.i32());
  uint32_t* py = reinterpret_cast<uint32_t*>(y.i32());
  const int64_t n = y.numel();
  if (n == 0) return;
  const Shape& shape = y.shape;
  if (cond.shape == shape && a.shape == shape && b.shape == shape) {
    parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) py[i] = pc[i] != 0 ? pa[i] : pb[i];
    });
    return;
  }
  const int64_t dims = static_cast<int64_t>(shape.size());
  const std::vector<int64_t> s[3] = {broadcast_strides(cond.shape, shape), broadcast_strides(a.shape, shape),
                                     broadcast_strides(b.shape, shape)};
  const int64_t row = dims ? shape[dims - 1] : 1, rows = n / row;
  const int64_t step_c = dims ? s[0][dims - 1] : 0, step_a = dims ? s[1][dims - 1] : 0, step_b = dims ? s[2][dims - 1] : 0;
  parallel_for(rows, std::max<int64_t>(1, kGrain / row), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t off[3];
      broadcast_row_offsets(r, shape, s, off);
      const C* rc = pc + off[0];
      const uint32_t* ra = pa + off[1];
      const uint32_t* rb = pb + off[2];
      uint32_t* ry = py + r * row;
      for (int64_t j = 0; j < row; ++j) ry[j] = rc[j * step_c] != 0 ? ra[j * step_a] : rb[j * step_b];
    }
  });
}

}  // namespace

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& y) {
  CONVNET_CHECK(a.dtype == y.dtype && b.dtype == y.dtype, "E_DTYPE", "where: a (", dtype_name(a.dtype), ") and b (",
                dtype_name(b.dtype), ") must have y's dtype ", dtype_name(y.dtype));
  // A float32 NaN compares unequal to 0, so it selects a; -0.0f == 0 selects b.
  if (cond.dtype == DType::Int32) where_loop(cond.i32(), cond, a, b, y);
  else where_loop(cond.f32(), cond, a, b, y);
}

}  // namespace cpu
}  // namespace convnet
