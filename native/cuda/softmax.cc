// Softmax and log-softmax on the GPU (cpu/softmax.cc gives the semantics): cudnnSoftmaxForward /
// Backward with CUDNN_SOFTMAX_ACCURATE (the max is subtracted first, so 1000 or 1e30 do not
// overflow) or CUDNN_SOFTMAX_LOG, in CUDNN_SOFTMAX_MODE_CHANNEL over x viewed as
// [outer, L, inner, 1] (the axis of length L as cuDNN's channels). Backward from y, as the CPU:
// softmax dx = y (dy - sum(dy y)), logSoftmax dx = dy - exp(y) sum(dy).
// cuDNN takes int sizes and strides, so a tensor of more than 2^31 - 1 elements is done in
// pieces of whole outer slices.
#include <algorithm>
#include <limits>

#include "cuda/context.h"
#include "cuda/cuda_ops.h"
#include "cuda/cudnn_util.h"

namespace convnet {
namespace cuda {
namespace {

struct Layout {
  int64_t outer = 1, len = 1, inner = 1;
};

Layout layout(const Shape& shape, int64_t axis) {
  Layout l;
  if (shape.empty()) return l;  // a 0-D tensor is one slice of one element
  l.len = shape[axis];
  for (int64_t d = 0; d < axis; ++d) l.outer *= shape[d];
  for (int64_t d = axis + 1; d < static_cast<int64_t>(shape.size()); ++d) l.inner *= shape[d];
  return l;
}

// Calls f(first outer slice, slices) over pieces of at most 2^31 - 1 elements.
template <typename F>
void in_pieces(const Layout& l, const char* op, F f) {
  const int64_t slice = l.len * l.inner;
  const int64_t per_piece = std::numeric_limits<int>::max() / slice;
  CONVNET_CHECK(per_piece >= 1, "E_SHAPE", op, ": a slice of ", slice, " elements is too large for cuDNN");
  for (int64_t o = 0; o < l.outer; o += per_piece) f(o, std::min(per_piece, l.outer - o));
}

decl::cudnnSoftmaxAlgorithm_t algorithm(bool log) { return log ? decl::CUDNN_SOFTMAX_LOG : decl::CUDNN_SOFTMAX_ACCURATE; }

}  // namespace

void softmax_forward(const Tensor& x, int64_t axis, bool log, const Tensor& y) {
  const char* op = log ? "logSoftmax" : "softmax";
  if (x.numel() == 0) return;
  const Layout l = layout(x.shape, axis);
  set_last_op(op);
  in_pieces(l, op, [&](int64_t o, int64_t count) {
    const TensorDesc desc(op, count, l.len, l.inner, 1);
    const int64_t offset = o * l.len * l.inner;
    CONVNET_CUDNN_CHECK(dnn().cudnnSoftmaxForward(cudnn_handle(), algorithm(log), decl::CUDNN_SOFTMAX_MODE_CHANNEL, &kOne,
                                                  desc, x.f32() + offset, &kZero, desc, y.f32() + offset));
  });
}

void softmax_backward(const Tensor& dy, const Tensor& y, int64_t axis, bool log, const Tensor& dx) {
  const char* op = log ? "logSoftmax backward" : "softmax backward";
  if (y.numel() == 0) return;
  const Layout l = layout(y.shape, axis);
  set_last_op(op);
  in_pieces(l, op, [&](int64_t o, int64_t count) {
    const TensorDesc desc(op, count, l.len, l.inner, 1);
    const int64_t offset = o * l.len * l.inner;
    CONVNET_CUDNN_CHECK(dnn().cudnnSoftmaxBackward(cudnn_handle(), algorithm(log), decl::CUDNN_SOFTMAX_MODE_CHANNEL,
                                                   &kOne, desc, y.f32() + offset, desc, dy.f32() + offset, &kZero, desc,
                                                   dx.f32() + offset));
  });
}

}  // namespace cuda
}  // namespace convnet
