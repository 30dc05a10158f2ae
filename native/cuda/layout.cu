// Copies that rearrange memory on the GPU (cpu/layout.cc has the same semantics): permute,
// concat and split, strided slice. Elements are moved as 4-byte words, whatever the dtype. Each walks
// the output in order (coalesced writes) and finds the source through a StridedIndex.
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {

void permute(const Tensor& x, const std::vector<int64_t>& perm, uint32_t reversed, const Tensor& y) {
  const int64_t dims = y.dim(), n = y.numel();
  if (n == 0) return;
  const std::vector<int64_t> x_strides = contiguous_strides(x.shape);
  std::vector<int64_t> strides[1] = {std::vector<int64_t>(dims)};  // stride in x of each y axis, negative where reversed
  const int32_t* px = x.i32();
  for (int64_t d = 0; d < dims; ++d) {
    const bool back = (reversed >> d) & 1u;
    strides[0][d] = back ? -x_strides[perm[d]] : x_strides[perm[d]];
    if (back) px += (y.shape[d] - 1) * x_strides[perm[d]];
  }
  const StridedIndex<1> index = make_strided_index(y.shape, strides, "permute");
  int32_t* py = y.i32();
  for_each("permute", n, [=] __device__(int64_t i) { py[i] = px[index.offset(i)]; });
}

void concat(const std::vector<const Tensor*>& xs, int64_t axis, const Tensor& y) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= y.shape[d];
  for (int64_t d = axis + 1; d < y.dim(); ++d) inner *= y.shape[d];
  const int64_t y_row = y.shape[axis] * inner;
  int64_t offset = 0;
  for (const Tensor* x : xs) {
    const int64_t x_row = x->shape[axis] * inner;
    const int32_t* px = x->i32();
    int32_t* py = y.i32() + offset;
    if (x_row > 0) {
      for_each("concat", outer * x_row, [=] __device__(int64_t t) {
        const int64_t o = t / x_row, j = t - o * x_row;
        py[o * y_row + j] = px[t];
      });
    }
    offset += x_row;
  }
}

void split(const Tensor& x, int64_t axis, const std::vector<int64_t>& sizes, const std::vector<Tensor>& ys) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  const int64_t x_row = x.shape[axis] * inner;
  int64_t offset = 0;
  for (size_t i = 0; i < ys.size(); ++i) {
    const int64_t y_row = sizes[i] * inner;
    const int32_t* px = x.i32() + offset;
    if (outer * y_row > 0) {
      int32_t* py = ys[i].i32();
      for_each("split", outer * y_row, [=] __device__(int64_t t) {
        const int64_t o = t / y_row, j = t - o * y_row;
        py[t] = px[o * x_row + j];
      });
    }
    offset += y_row;
  }
}

void slice(const Tensor& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& step, const Tensor& y) {
  const int64_t dims = y.dim(), n = y.numel();
  if (n == 0) return;
  const std::vector<int64_t> x_strides = contiguous_strides(x.shape);
  int64_t base = 0;
  std::vector<int64_t> strides[1] = {std::vector<int64_t>(dims)};
  for (int64_t d = 0; d < dims; ++d) {
    base += begin[d] * x_strides[d];
    strides[0][d] = step[d] * x_strides[d];
  }
  const StridedIndex<1> index = make_strided_index(y.shape, strides, "slice");
  const int32_t* px = x.i32() + base;
  int32_t* py = y.i32();
  for_each("slice", n, [=] __device__(int64_t i) { py[i] = px[index.offset(i)]; });
}

}  // namespace cuda
}  // namespace convnet
