// Indexing by int32 indices on the GPU (cpu/indexing.cc has the same semantics): index_select,
// gather, one_hot, and the backward kernels index_add and scatter_add.
//
// Indices are data the host never sees, so a bad one (negative or too large) is reported by the
// kernel through the device error word (context.h: error_site / device_error_word; launch.cuh:
// report_error) and thrown as E_INDEX by the next wait (a read, sync). The kernel skips that
// element: a gathered/selected element becomes 0, a one-hot row stays all zeros, an addition is
// left out. (The CPU checks index_select/index_add's indices before it starts and throws at
// once; either way the output of a call with a bad index is never seen without the error.)
//
// Note [deterministic scatter-add] (as on the CPU): in index_add and scatter_add each output
// element is owned by one thread, which walks the indexed axis in index order; no atomics.
#include <string>

#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"

namespace convnet {
namespace cuda {
namespace {

int index_site(const char* op, int64_t axis, int64_t size) {
  const std::string message =
      "an index is out of range for axis " + std::to_string(axis) + " of size " + std::to_string(size);
  return error_site(op, message.c_str());
}

void outer_inner(const Tensor& x, int64_t axis, int64_t* outer, int64_t* inner) {
  *outer = 1;
  *inner = 1;
  for (int64_t d = 0; d < axis; ++d) *outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) *inner *= x.shape[d];
}

}  // namespace

void index_select(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& y) {
  const char* op = "indexSelect";
  int64_t outer, inner;
  outer_inner(x, axis, &outer, &inner);
  const int64_t len = x.shape[axis], picks = index.numel();
  const int32_t* idx = index.i32();
  const int32_t* px = x.i32();
  int32_t* py = y.i32();
  int* error = device_error_word();
  const int site = index_site(op, axis, len);
  // y [outer, picks, inner]: element t = (o * picks + k) * inner + i.
  for_each(op, y.numel(), [=] __device__(int64_t t) {
    const int64_t i = t % inner, ok = t / inner, k = ok % picks, o = ok / picks;
    const int32_t j = idx[k];
    if (j < 0 || j >= len) {
      report_error(error, site);
      py[t] = 0;
      return;
    }
    py[t] = px[(o * len + j) * inner + i];
  });
}

void gather(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& y) {
  // y[i0..ia..in] = x[i0..index[i0..ia..in]..in]; index may be smaller than x in every axis.
  const char* op = "gather";
  const int64_t n = index.numel();
  if (n == 0) return;
  const std::vector<int64_t> x_strides = contiguous_strides(x.shape);
  std::vector<int64_t> strides[1] = {x_strides};
  strides[0][axis] = 0;  // the indexed axis comes from the index's value
  const StridedIndex<1> walk = make_strided_index(index.shape, strides, op);
  const int64_t len = x.shape[axis], axis_stride = x_strides[axis];
  const int32_t* idx = index.i32();
  const int32_t* px = x.i32();
  int32_t* py = y.i32();
  int* error = device_error_word();
  const int site = index_site(op, axis, len);
  for_each(op, n, [=] __device__(int64_t t) {
    const int32_t k = idx[t];
    if (k < 0 || k >= len) {
      report_error(error, site);
      py[t] = 0;
      return;
    }
    py[t] = px[walk.offset(t) + k * axis_stride];
  });
}

void one_hot(const Tensor& labels, int64_t num_classes, const Tensor& y) {
  const char* op = "oneHot";
  const int32_t* pl = labels.i32();
  float* py = y.f32();
  int* error = device_error_word();
  const int site = error_site(op, ("a label is out of range for " + std::to_string(num_classes) + " classes").c_str());
  for_each(op, y.numel(), [=] __device__(int64_t t) {
    const int64_t i = t / num_classes, c = t - i * num_classes;
    const int32_t label = pl[i];
    if (c == 0 && (label < 0 || label >= num_classes)) report_error(error, site);
    py[t] = label == c ? 1.0f : 0.0f;
  });
}

void index_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src, const Tensor& y) {
  // y = x; y[o, index[k], i] += src[o, k, i]. One thread per (o, i), walking k in order.
  const char* op = "indexAdd";
  int64_t outer, inner;
  outer_inner(x, axis, &outer, &inner);
  const int64_t len = x.shape[axis], picks = index.numel();
  if (y.storage()->data() != x.storage()->data()) copy_device(x, y);
  if (picks == 0) return;
  const int32_t* idx = index.i32();
  const float* ps = src.f32();
  float* py = y.f32();
  int* error = device_error_word();
  const int site = index_site(op, axis, len);
  for_each(op, outer * inner, [=] __device__(int64_t t) {
    const int64_t o = t / inner, i = t - o * inner;
    float* out = py + o * len * inner + i;
    const float* in = ps + o * picks * inner + i;
    for (int64_t k = 0; k < picks; ++k) {
      const int32_t j = idx[k];
      if (j < 0 || j >= len) {
        report_error(error, site);
        continue;
      }
      out[j * inner] += in[k * inner];
    }
  });
}

void scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src, const Tensor& y) {
  // y = x; y[i0..index[i0..j..in]..in] += src[i0..j..in]. A "line" is one position of index's
  // other axes; lines write disjoint parts of y, and each walks j = 0, 1, ... in order.
  const char* op = "scatterAdd";
  const int64_t n = index.numel();
  if (y.storage()->data() != x.storage()->data()) copy_device(x, y);
  if (n == 0) return;
  const int64_t along = index.shape[axis], lines = n / along;
  const std::vector<int64_t> x_strides = contiguous_strides(x.shape), s_strides = contiguous_strides(src.shape);
  const std::vector<int64_t> i_strides = contiguous_strides(index.shape);
  Shape line_shape = index.shape;
  line_shape[axis] = 1;
  const std::vector<int64_t> strides[3] = {x_strides, s_strides, i_strides};
  const StridedIndex<3> walk = make_strided_index(line_shape, strides, op);
  const int64_t len = x.shape[axis], xs = x_strides[axis], ss = s_strides[axis], is = i_strides[axis];
  const int32_t* idx = index.i32();
  const float* ps = src.f32();
  float* py = y.f32();
  int* error = device_error_word();
  const int site = index_site(op, axis, len);
  for_each(op, lines, [=] __device__(int64_t l) {
    int64_t o[3];
    walk.offsets(l, o);
    for (int64_t j = 0; j < along; ++j) {
      const int32_t k = idx[o[2] + j * is];
      if (k < 0 || k >= len) {
        report_error(error, site);
        continue;
      }
      py[o[0] + k * xs] += ps[o[1] + j * ss];
    }
  });
}

}  // namespace cuda
}  // namespace convnet
