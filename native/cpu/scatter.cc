// scatter (torch.scatter, without gradients: lib/indexing.ts composes the differentiable form):
// y = x; y[i0..index[i0..j..in]..in] = src[i0..j..in] (or a value) for every position of index,
// along `axis`. The values move as 32-bit words (float32 or int32 alike). Line by line
// (scatter_lines.h), each walking j = 0, 1, ... in order, so of repeated indices the last wins
// (lib's rule), on any thread count.
// The indices are checked before (scatter_check, at the call). index_fill: the slices index
// (1-D, in range, checked by lib) names along axis set to the value (torch.index_fill).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/scatter_lines.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {

namespace {
// Whether any of idx[0..n) is outside [0, size): one unsigned compare a lane, ORed (an int, so
// that GCC vectorises it), no exit from the loop. The check with its error inside the loop ran
// element by element: a third of a [512, 4096] scatter's time.
CONVNET_SIMD_CLONES bool any_outside(const int32_t* idx, int64_t n, uint32_t size) {
  int32_t outside = 0;
  for (int64_t k = 0; k < n; ++k) outside |= static_cast<uint32_t>(idx[k]) >= size;
  return outside != 0;
}
}  // namespace

void scatter_check(const Tensor& x, int64_t axis, const Tensor& index) {
  const int32_t* idx = index.i32();
  const int64_t n = index.numel(), size = x.shape[axis];
  if (!any_outside(idx, n, static_cast<uint32_t>(size))) return;
  for (int64_t k = 0; k < n; ++k) {
    CONVNET_CHECK(idx[k] >= 0 && idx[k] < size, "E_INDEX", "scatter: `index` holds ", idx[k], " at position ", k,
                  ", out of range for axis ", axis, " of x of size ", size, " (expected [0, ", size - 1, "])");
  }
}

void scatter(const Tensor& x, int64_t axis, const Tensor& index, const Tensor* src, uint32_t value_bits, const Tensor& y) {
  const int64_t n = index.numel();
  const uint32_t* px = static_cast<const uint32_t*>(x.storage()->data());
  uint32_t* py = static_cast<uint32_t*>(y.storage()->data());
  parallel_copy(py, px, x.numel() * 4);
  if (n == 0) return;
  const uint32_t* ps = src ? static_cast<const uint32_t*>(src->storage()->data()) : nullptr;
  const ScatterLines lines_of(x.shape, axis, index.shape, src ? &src->shape : nullptr);
  const int64_t along = lines_of.along(), lines = n / along;
  const int32_t* idx = index.i32();
  const int64_t x_step = lines_of.x_strides[axis], s_step = lines_of.s_strides[axis], i_step = lines_of.i_strides[axis];
  parallel_for(lines, std::max<int64_t>(1, 4096 / along), [&](int64_t begin, int64_t end) {
    for (int64_t l = begin; l < end; ++l) {
      int64_t xo, so, io;
      lines_of.offsets(l, &xo, &so, &io);
      uint32_t* __restrict yl = py + xo;
      const int32_t* __restrict il = idx + io;
      if (ps) {
        const uint32_t* __restrict sl = ps + so;
        for (int64_t j = 0; j < along; ++j) yl[il[j * i_step] * x_step] = sl[j * s_step];
      } else {
        for (int64_t j = 0; j < along; ++j) yl[il[j * i_step] * x_step] = value_bits;
      }
    }
  });
}

void index_fill(const Tensor& x, int64_t axis, const Tensor& index, uint32_t value_bits, const Tensor& y) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  const int64_t len = x.shape[axis], picks = index.numel();
  const uint32_t* px = static_cast<const uint32_t*>(x.storage()->data());
  uint32_t* py = static_cast<uint32_t*>(y.storage()->data());
  parallel_copy(py, px, x.numel() * 4);
  const int32_t* idx = index.i32();
  parallel_for(outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, picks * inner)), [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      for (int64_t k = 0; k < picks; ++k) std::fill_n(py + (o * len + idx[k]) * inner, inner, value_bits);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
