// Entry points of the convolution family: conv2d (and through it conv1d and conv_transpose2d),
// its three backward pieces, the bias gradient, and linear. TypeScript validated the arguments
// already; they are checked again here so that no call can reach a kernel with shapes that
// would make it read or write out of bounds.
//
// Outputs are made on the inputs' device (tensor_arg checked they share one); a GPU call runs
// the cuDNN/cuBLAS op of native/cuda/ (conv2d.cc, linear.cc) at once on the CUDA stream.
//
// A convolution's geometry travels as 9 integers, conv2d's view (x -> y):
//   [stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, dilation_h, dilation_w, groups]
// pad_bottom/pad_right only size the output: Ho = floor((H + pad_top + pad_bottom -
// dilation_h*(kh - 1) - 1) / stride_h) + 1. They may be negative: conv_transpose2d's
// outputPadding op is conv2d's backward-data with pad_bottom = padding - op.
#include <limits>

#include "api/api.h"
#include "core/queue.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace api {
namespace {

struct Geometry {
  Conv2dGeometry g;
  int64_t pad_bottom = 0, pad_right = 0;
};

Geometry geometry_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  const std::vector<int64_t> v = ints_arg(info, i, op, "geometry");
  CONVNET_CHECK(v.size() == 9, "E_ARG", op, ": expected 9 geometry values, got ", v.size());
  Geometry geo;
  geo.g.stride_h = v[0], geo.g.stride_w = v[1], geo.g.pad_top = v[2], geo.g.pad_left = v[3];
  geo.pad_bottom = v[4], geo.pad_right = v[5], geo.g.dilation_h = v[6], geo.g.dilation_w = v[7], geo.g.groups = v[8];
  CONVNET_CHECK(geo.g.stride_h >= 1 && geo.g.stride_w >= 1, "E_ARG", op, ": stride must be >= 1, got [", v[0], ", ", v[1], "]");
  CONVNET_CHECK(geo.g.dilation_h >= 1 && geo.g.dilation_w >= 1, "E_ARG", op, ": dilation must be >= 1, got [", v[6], ", ", v[7], "]");
  CONVNET_CHECK(geo.g.pad_top >= 0 && geo.g.pad_left >= 0, "E_ARG", op, ": padding must be >= 0, got [", v[2], ", ", v[3], "]");
  CONVNET_CHECK(geo.g.groups >= 1, "E_ARG", op, ": groups must be >= 1, got ", v[8]);
  return geo;
}

void expect_rank(const Shape& s, int64_t rank, const char* op, const char* name, const char* layout) {
  CONVNET_CHECK(static_cast<int64_t>(s.size()) == rank, "E_SHAPE", op, ": expected `", name, "` of shape ", layout,
                ", got ", shape_str(s));
}

int64_t output_size(int64_t in, int64_t pad_sum, int64_t dilation, int64_t k, int64_t stride) {
  const int64_t span = in + pad_sum - dilation * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

// Checks x [N, C, H, W] against w [K, C/groups, kh, kw] (and b [K]); returns y's shape.
Shape conv_output_shape(const Shape& x, const Shape& w, const Geometry& geo, const char* op) {
  expect_rank(x, 4, op, "x", "[N, C, H, W]");
  expect_rank(w, 4, op, "w", "[K, C / groups, kh, kw]");
  const int64_t groups = geo.g.groups;
  CONVNET_CHECK(w[0] >= 1 && w[1] >= 1 && w[2] >= 1 && w[3] >= 1, "E_SHAPE", op, ": `w` ", shape_str(w), " has an empty dimension");
  CONVNET_CHECK(x[1] % groups == 0 && w[0] % groups == 0, "E_SHAPE", op, ": groups = ", groups,
                " must divide the input channels ", x[1], " and the output channels ", w[0]);
  CONVNET_CHECK(x[1] == w[1] * groups, "E_SHAPE", op, ": `x` has ", x[1], " channels but `w` ", shape_str(w), " expects ",
                w[1] * groups, " (w.shape[1] * groups)");
  const int64_t Ho = output_size(x[2], geo.g.pad_top + geo.pad_bottom, geo.g.dilation_h, w[2], geo.g.stride_h);
  const int64_t Wo = output_size(x[3], geo.g.pad_left + geo.pad_right, geo.g.dilation_w, w[3], geo.g.stride_w);
  CONVNET_CHECK(Ho >= 1 && Wo >= 1, "E_SHAPE", op, ": the kernel (", w[2], "x", w[3], ", dilated) is larger than the padded input ",
                shape_str(x), ": the output would be empty");
  return {x[0], w[0], Ho, Wo};
}

void expect_bias(const Tensor* b, int64_t channels, const char* op) {
  if (b) {
    expect_dtype(*b, DType::Float32, op, "b");
    CONVNET_CHECK(b->shape == Shape{channels}, "E_SHAPE", op, ": expected `b` of shape [", channels, "], got ",
                  shape_str(b->shape));
  }
}

}  // namespace

Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  const char* op = "conv2d";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const Tensor& w = float_tensor_arg(info, 1, op, "w");
  const Tensor* b = optional_tensor_arg(info, 2, op, "b");
  const Geometry geo = geometry_arg(info, 3, op);
  // (lo, hi), optional: a fused activation, y = min(max(conv + b, lo), hi) (ReLU: 0, Infinity).
  const bool clamped = info.Length() > 4 && !info[4].IsUndefined();
  const double lo = clamped ? number_arg(info, 4, op, "lo") : -std::numeric_limits<double>::infinity();
  const double hi = clamped ? number_arg(info, 5, op, "hi") : std::numeric_limits<double>::infinity();
  CONVNET_CHECK(!(lo > hi), "E_ARG", op, ": expected `lo` <= `hi`, got ", lo, " > ", hi);
  const Shape y_shape = conv_output_shape(x.shape, w.shape, geo, op);
  expect_bias(b, w.shape[0], op);
  Tensor y = Tensor::empty(y_shape, DType::Float32, x.device());
  const Tensor bias = b ? *b : Tensor();
  const bool has_bias = b != nullptr;
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::conv2d_forward(x, w, b, geo.g, y); if (clamped) cuda::clamp(y, lo, hi, y));
  } else {
    // The versions of w and b this op reads: in-place writes enqueued later bump them (Note
    // [prepared weights], native/cpu/prepared_weights.h).
    cpu::prepared::Source weights{w.storage(), has_bias ? bias.storage() : nullptr, w.storage()->version(),
                                  has_bias ? bias.storage()->version() : 0};
    const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
    Queue::cpu().enqueue(op, [x, w, bias, has_bias, g = geo.g, y, weights, flo, fhi] {
      cpu::conv2d_forward_queued(x, w, has_bias ? &bias : nullptr, g, y, weights, flo, fhi);
    });
  }
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value Conv2dBackwardData(const Napi::CallbackInfo& info) {
  const char* op = "conv2d backward-data";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& w = float_tensor_arg(info, 1, op, "w");
  const Tensor* b = optional_tensor_arg(info, 2, op, "b");
  const Geometry geo = geometry_arg(info, 3, op);
  const Shape x_shape = shape_arg(info, 4, op, "xShape");
  const Shape y_shape = conv_output_shape(x_shape, w.shape, geo, op);
  CONVNET_CHECK(dy.shape == y_shape, "E_SHAPE", op, ": expected `dy` of shape ", shape_str(y_shape), ", got ", shape_str(dy.shape));
  expect_bias(b, x_shape[1], op);
  Tensor dx = Tensor::empty(x_shape, DType::Float32, dy.device());
  const Tensor bias = b ? *b : Tensor();
  const bool has_bias = b != nullptr;
  if (dy.is_cuda())
    CONVNET_ON_CUDA(op, cuda::conv2d_backward_data(dy, w, b, geo.g, dx));
  else
    Queue::cpu().enqueue(op, [dy, w, bias, has_bias, g = geo.g, dx] { cpu::conv2d_backward_data(dy, w, has_bias ? &bias : nullptr, g, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

Napi::Value Conv2dBackwardFilter(const Napi::CallbackInfo& info) {
  const char* op = "conv2d backward-filter";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  const Geometry geo = geometry_arg(info, 2, op);
  const Shape w_shape = shape_arg(info, 3, op, "wShape");
  const Shape y_shape = conv_output_shape(x.shape, w_shape, geo, op);
  CONVNET_CHECK(dy.shape == y_shape, "E_SHAPE", op, ": expected `dy` of shape ", shape_str(y_shape), ", got ", shape_str(dy.shape));
  Tensor dw = Tensor::empty(w_shape, DType::Float32, dy.device());
  if (dy.is_cuda())
    CONVNET_ON_CUDA(op, cuda::conv2d_backward_filter(dy, x, geo.g, dw));
  else
    Queue::cpu().enqueue(op, [dy, x, g = geo.g, dw] { cpu::conv2d_backward_filter(dy, x, g, dw); });
  return wrap_tensor(info.Env(), std::move(dw));
}

Napi::Value BiasBackward(const Napi::CallbackInfo& info) {
  const char* op = "bias backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  CONVNET_CHECK(dy.dim() >= 1, "E_SHAPE", op, ": expected `dy` of at least 1 dimension, got ", shape_str(dy.shape));
  const int64_t axis = normalize_axis(int_arg(info, 1, op, "axis"), dy.dim(), op);
  Tensor db = Tensor::empty({dy.shape[axis]}, DType::Float32, dy.device());
  if (dy.is_cuda())
    CONVNET_ON_CUDA(op, cuda::bias_backward(dy, axis, db));
  else
    Queue::cpu().enqueue(op, [dy, axis, db] { cpu::bias_backward(dy, axis, db); });
  return wrap_tensor(info.Env(), std::move(db));
}

Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  const char* op = "linear";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const Tensor& w = float_tensor_arg(info, 1, op, "w");
  const Tensor* b = optional_tensor_arg(info, 2, op, "b");
  CONVNET_CHECK(x.dim() >= 1, "E_SHAPE", op, ": expected `x` of shape [..., in], got ", shape_str(x.shape));
  expect_rank(w.shape, 2, op, "w", "[out, in]");
  CONVNET_CHECK(x.shape.back() == w.shape[1], "E_SHAPE", op, ": `x` ", shape_str(x.shape), " has ", x.shape.back(),
                " features but `w` ", shape_str(w.shape), " expects ", w.shape[1]);
  expect_bias(b, w.shape[0], op);
  Shape y_shape = x.shape;
  y_shape.back() = w.shape[0];
  Tensor y = Tensor::empty(y_shape, DType::Float32, x.device());
  const Tensor bias = b ? *b : Tensor();
  const bool has_bias = b != nullptr;
  if (x.is_cuda())
    CONVNET_ON_CUDA(op, cuda::linear_forward(x, w, b, y));
  else
    Queue::cpu().enqueue(op, [x, w, bias, has_bias, y] { cpu::linear_forward(x, w, has_bias ? &bias : nullptr, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value LinearBackwardData(const Napi::CallbackInfo& info) {
  const char* op = "linear backward-data";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& w = float_tensor_arg(info, 1, op, "w");
  expect_rank(w.shape, 2, op, "w", "[out, in]");
  CONVNET_CHECK(dy.dim() >= 1 && dy.shape.back() == w.shape[0], "E_SHAPE", op, ": expected `dy` of shape [..., ",
                w.shape[0], "], got ", shape_str(dy.shape));
  Shape x_shape = dy.shape;
  x_shape.back() = w.shape[1];
  Tensor dx = Tensor::empty(x_shape, DType::Float32, dy.device());
  if (dy.is_cuda())
    CONVNET_ON_CUDA(op, cuda::linear_backward_data(dy, w, dx));
  else
    Queue::cpu().enqueue(op, [dy, w, dx] { cpu::linear_backward_data(dy, w, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

Napi::Value LinearBackwardWeight(const Napi::CallbackInfo& info) {
  const char* op = "linear backward-weight";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  CONVNET_CHECK(dy.dim() >= 1 && x.dim() == dy.dim() && std::equal(x.shape.begin(), x.shape.end() - 1, dy.shape.begin()),
                "E_SHAPE", op, ": `dy` ", shape_str(dy.shape), " and `x` ", shape_str(x.shape),
                " must agree on every dimension but the last");
  Tensor dw = Tensor::empty({dy.shape.back(), x.shape.back()}, DType::Float32, dy.device());
  if (dy.is_cuda())
    CONVNET_ON_CUDA(op, cuda::linear_backward_weight(dy, x, dw));
  else
    Queue::cpu().enqueue(op, [dy, x, dw] { cpu::linear_backward_weight(dy, x, dw); });
  return wrap_tensor(info.Env(), std::move(dw));
}

}  // namespace api
}  // namespace convnet
