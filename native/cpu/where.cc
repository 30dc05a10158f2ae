// where(cond, a, b): y = cond != 0 ? a : b, with NumPy/PyTorch broadcasting of all three.
// Selection, not arithmetic: the unselected value is never read into the result, so a NaN or
// an infinity there cannot leak (a*c + b*(1-c) would turn it into NaN). cond is float32 (a NaN
// counts as true and -0 as false, as bool(x) in PyTorch) or int32; a, b and y share one dtype
// and their 4-byte values are copied bit for bit (float32 or int32).
#include <algorithm>
#include <cstdint>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;

// y[j] = c[j] != 0 ? a[j] : b[j] along one row, each operand at its own step (1, or 0 where it is
// broadcast). Both values are loaded and one kept by a mask: written as a choice between two
// loads, GCC compiled the loop into a branch per element, which mispredicts on real conditions
// (a mask of random signs: [32,16,12,12] took 440 us at 1 thread, PyTorch 280).
template <typename C>
__attribute__((always_inline)) inline void select_row(const C* __restrict c, int64_t step_c, const uint32_t* __restrict a,
                                                      int64_t step_a, const uint32_t* __restrict b, int64_t step_b,
                                                      uint32_t* __restrict y, int64_t n) {
  const auto pick = [](C cj, uint32_t aj, uint32_t bj) {
    const uint32_t m = 0u - static_cast<uint32_t>(cj != 0);
    return (aj & m) | (bj & ~m);
  };
  if (step_c == 0) {
    // One condition for the row: a copy of a's row or b's (expand() is where() with a 0-D true
    // condition; this took the strided loop below).
    const bool take_a = c[0] != 0;
    const uint32_t* src = take_a ? a : b;
    if (take_a ? step_a : step_b) {
      for (int64_t j = 0; j < n; ++j) y[j] = src[j];
    } else {
      const uint32_t v = src[0];
      for (int64_t j = 0; j < n; ++j) y[j] = v;
    }
  } else if (step_c == 1 && step_a == 1 && step_b == 1) {
    for (int64_t j = 0; j < n; ++j) y[j] = pick(c[j], a[j], b[j]);
  } else if (step_c == 1 && step_a == 1 && step_b == 0) {
    const uint32_t bj = b[0];
    for (int64_t j = 0; j < n; ++j) y[j] = pick(c[j], a[j], bj);
  } else if (step_c == 1 && step_a == 0 && step_b == 1) {
    const uint32_t aj = a[0];
    for (int64_t j = 0; j < n; ++j) y[j] = pick(c[j], aj, b[j]);
  } else {
    for (int64_t j = 0; j < n; ++j) y[j] = pick(c[j * step_c], a[j * step_a], b[j * step_b]);
  }
}

// Compiled again for AVX-512 and AVX2 (simd_clones.h), one per condition dtype.
CONVNET_SIMD_CLONES void select_row_f32(const float* c, int64_t step_c, const uint32_t* a, int64_t step_a, const uint32_t* b,
                                        int64_t step_b, uint32_t* y, int64_t n) {
  select_row(c, step_c, a, step_a, b, step_b, y, n);
}
CONVNET_SIMD_CLONES void select_row_i32(const int32_t* c, int64_t step_c, const uint32_t* a, int64_t step_a, const uint32_t* b,
                                        int64_t step_b, uint32_t* y, int64_t n) {
  select_row(c, step_c, a, step_a, b, step_b, y, n);
}
inline void select_row_of(const float* c, int64_t sc, const uint32_t* a, int64_t sa, const uint32_t* b, int64_t sb, uint32_t* y, int64_t n) {
  select_row_f32(c, sc, a, sa, b, sb, y, n);
}
inline void select_row_of(const int32_t* c, int64_t sc, const uint32_t* a, int64_t sa, const uint32_t* b, int64_t sb, uint32_t* y, int64_t n) {
  select_row_i32(c, sc, a, sa, b, sb, y, n);
}

template <typename C>
void where_loop(const C* pc, const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& y) {
  // 4-byte values of either dtype, copied as bits (i32() checks for failed inputs as f32() does).
  const uint32_t* pa = reinterpret_cast<const uint32_t*>(a.i32());
  const uint32_t* pb = reinterpret_cast<const uint32_t*>(b.i32());
  uint32_t* py = reinterpret_cast<uint32_t*>(y.i32());
  const int64_t n = y.numel();
  if (n == 0) return;
  // Each operand whole or one value (where(mask, x, 0), say): one long row.
  const bool c_whole = cond.shape == y.shape, a_whole = a.shape == y.shape, b_whole = b.shape == y.shape;
  if ((c_whole || cond.numel() == 1) && (a_whole || a.numel() == 1) && (b_whole || b.numel() == 1)) {
    parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
      select_row_of(c_whole ? pc + begin : pc, c_whole, a_whole ? pa + begin : pa, a_whole, b_whole ? pb + begin : pb, b_whole,
                    py + begin, end - begin);
    });
    return;
  }
  Shape shape = y.shape;
  std::vector<int64_t> s[3] = {broadcast_strides(cond.shape, shape), broadcast_strides(a.shape, shape), broadcast_strides(b.shape, shape)};
  merge_broadcast_axes(shape, s);
  const int64_t dims = static_cast<int64_t>(shape.size());
  const int64_t row = shape[dims - 1], rows = n / row;
  const int64_t step_c = s[0][dims - 1], step_a = s[1][dims - 1], step_b = s[2][dims - 1];
  parallel_for(rows, std::max<int64_t>(1, kGrain / row), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t off[3];
      broadcast_row_offsets(r, shape, s, off);
      select_row_of(pc + off[0], step_c, pa + off[1], step_a, pb + off[2], step_b, py + r * row, row);
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
