// The lines of a scatter along `axis` (scatter.cc's scatter, indexing.cc's scatter_add): a line
// is one position of index's axes other than axis; its entries j = 0, 1, ... go to the same
// position of y, axis's coordinate index[.., j, ..], from the same position of src, axis's
// coordinate j. Lines write disjoint parts of y, so they can run on any threads.
#pragma once
#include <cstdint>
#include <vector>

#include "core/storage.h"

namespace convnet {
namespace cpu {

struct ScatterLines {
  Shape index_shape;
  int64_t axis;
  std::vector<int64_t> x_strides, s_strides, i_strides;  // s_strides all 0 without a src

  ScatterLines(const Shape& x_shape, int64_t axis, const Shape& index_shape, const Shape* src_shape)
      : index_shape(index_shape), axis(axis), x_strides(contiguous_strides(x_shape)),
        s_strides(src_shape ? contiguous_strides(*src_shape) : std::vector<int64_t>(index_shape.size(), 0)),
        i_strides(contiguous_strides(index_shape)) {}

  int64_t along() const { return index_shape[axis]; }
  // The offsets of line l's start into y (axis's coordinate left out), src and index.
  void offsets(int64_t l, int64_t* xo, int64_t* so, int64_t* io) const {
    *xo = *so = *io = 0;
    for (int64_t d = static_cast<int64_t>(index_shape.size()) - 1, rest = l; d >= 0; --d) {
      if (d == axis) continue;
      const int64_t i = rest % index_shape[d];
      rest /= index_shape[d];
      *xo += i * x_strides[d];
      *so += i * s_strides[d];
      *io += i * i_strides[d];
    }
  }
};

}  // namespace cpu
}  // namespace convnet
