// Entry points of the distances: F.normalize and F.cosineSimilarity, forward and backward
// (normalize.cc, cosine_similarity.cc), and cdist's Euclidean forward (cdist.cc). Each checks its arguments again (lib/ checks
// first, with friendlier messages, and broadcasts cosineSimilarity's inputs), allocates its
// outputs here on the JS thread, enqueues the kernel (or launches the cuda:: op on the stream)
// and returns.
#include <algorithm>
#include <cmath>

#include "api/api.h"
#include "core/queue.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace api {
namespace {

void same_shape(const Tensor& a, const Tensor& b, const char* op, const char* names) {
  CONVNET_CHECK(a.shape == b.shape, "E_SHAPE", op, ": ", names, " must have the same shape, got ", shape_str(a.shape),
                " and ", shape_str(b.shape));
}

void same_device(const Tensor& a, const Tensor& b, const char* op, const char* names) {
  CONVNET_CHECK(a.device() == b.device(), "E_DEVICE", op, ": ", names, " must be on one device");
}

// The axis of a tensor of at least one axis.
int64_t axis_arg(const Napi::CallbackInfo& info, size_t i, const Tensor& x, const char* op) {
  CONVNET_CHECK(x.dim() >= 1, "E_SHAPE", op, ": expected a tensor of at least one axis, got a scalar");
  return normalize_axis(int_arg(info, i, op, "axis"), x.dim(), op);
}

// F.normalize's p: > 0, or inf.
double normalize_order_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  const double p = number_arg(info, i, op, "p");
  CONVNET_CHECK(p > 0, "E_ARG", op, ": expected `p` > 0 (or Infinity), got ", p);
  return p;
}

Napi::Value handles(Napi::Env env, std::initializer_list<Tensor> tensors) {
  Napi::Array out = Napi::Array::New(env, tensors.size());
  uint32_t i = 0;
  for (const Tensor& t : tensors) out.Set(i++, wrap_tensor(env, t));
  return out;
}

}  // namespace

Napi::Value NormalizeForward(const Napi::CallbackInfo& info) {
  const char* op = "normalize";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const int64_t axis = axis_arg(info, 1, x, op);
  const double p = normalize_order_arg(info, 2, op);
  const double eps = finite_arg(info, 3, op, "eps");
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::normalize_forward(x, axis, p, eps, y));
  else Queue::cpu().enqueue(op, [x, axis, p, eps, y] { cpu::normalize_forward(x, axis, p, eps, y); });
  return wrap_tensor(info.Env(), y);
}

Napi::Value NormalizeBackward(const Napi::CallbackInfo& info) {
  const char* op = "normalize backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  same_shape(dy, x, op, "dy and x");
  same_device(dy, x, op, "dy and x");
  const int64_t axis = axis_arg(info, 2, x, op);
  const double p = normalize_order_arg(info, 3, op);
  const double eps = finite_arg(info, 4, op, "eps");
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::normalize_backward(dy, x, axis, p, eps, dx));
  else Queue::cpu().enqueue(op, [dy, x, axis, p, eps, dx] { cpu::normalize_backward(dy, x, axis, p, eps, dx); });
  return wrap_tensor(info.Env(), dx);
}

Napi::Value CosineSimilarityForward(const Napi::CallbackInfo& info) {
  const char* op = "cosineSimilarity";
  const Tensor& a = float_tensor_arg(info, 0, op, "x1");
  const Tensor& b = float_tensor_arg(info, 1, op, "x2");
  same_shape(a, b, op, "x1 and x2 (broadcast first)");
  same_device(a, b, op, "x1 and x2");
  const int64_t axis = axis_arg(info, 2, a, op);
  const double eps = finite_arg(info, 3, op, "eps");
  Shape shape = a.shape;
  shape.erase(shape.begin() + axis);
  Tensor y = Tensor::empty(shape, DType::Float32, a.device());
  if (a.is_cuda()) CONVNET_ON_CUDA(op, cuda::cosine_similarity_forward(a, b, axis, eps, y));
  else Queue::cpu().enqueue(op, [a, b, axis, eps, y] { cpu::cosine_similarity_forward(a, b, axis, eps, y); });
  return wrap_tensor(info.Env(), y);
}

Napi::Value CosineSimilarityBackward(const Napi::CallbackInfo& info) {
  const char* op = "cosineSimilarity backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& a = float_tensor_arg(info, 1, op, "x1");
  const Tensor& b = float_tensor_arg(info, 2, op, "x2");
  same_shape(a, b, op, "x1 and x2");
  same_device(a, b, op, "x1 and x2");
  same_device(dy, a, op, "dy and x1");
  const int64_t axis = axis_arg(info, 3, a, op);
  const double eps = finite_arg(info, 4, op, "eps");
  int64_t vectors = 1;
  for (int64_t d = 0; d < a.dim(); ++d)
    if (d != axis) vectors *= a.shape[d];
  CONVNET_CHECK(dy.numel() == vectors, "E_SHAPE", op, ": expected `dy` with one value per vector of ", shape_str(a.shape),
                " along axis ", axis, " (", vectors, "), got ", shape_str(dy.shape));
  Tensor da = Tensor::empty(a.shape, DType::Float32, a.device()), db = Tensor::empty(a.shape, DType::Float32, a.device());
  if (a.is_cuda()) CONVNET_ON_CUDA(op, cuda::cosine_similarity_backward(dy, a, b, axis, eps, da, db));
  else Queue::cpu().enqueue(op, [dy, a, b, axis, eps, da, db] { cpu::cosine_similarity_backward(dy, a, b, axis, eps, da, db); });
  return handles(info.Env(), {da, db});
}

Napi::Value CdistEuclidean(const Napi::CallbackInfo& info) {
  const char* op = "cdist";
  const Tensor& a = float_tensor_arg(info, 0, op, "x1");
  const Tensor& b = float_tensor_arg(info, 1, op, "x2");
  same_device(a, b, op, "x1 and x2");
  CONVNET_CHECK(a.dim() >= 2 && a.dim() == b.dim() && std::equal(a.shape.begin(), a.shape.end() - 2, b.shape.begin()) &&
                    a.shape.back() == b.shape.back(),
                "E_SHAPE", op, ": expected x1 [..., N, D] and x2 [..., M, D] with one batch shape (broadcast first), got ",
                shape_str(a.shape), " and ", shape_str(b.shape));
  Shape shape = a.shape;
  shape.back() = b.shape[b.dim() - 2];
  Tensor y = Tensor::empty(shape, DType::Float32, a.device());
  if (a.is_cuda()) CONVNET_ON_CUDA(op, cuda::cdist_euclidean(a, b, y));
  else Queue::cpu().enqueue(op, [a, b, y] { cpu::cdist_euclidean(a, b, y); });
  return wrap_tensor(info.Env(), y);
}

}  // namespace api
}  // namespace convnet
