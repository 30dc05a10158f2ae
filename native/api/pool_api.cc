// Entry points of the pooling family (max, average, Lp, mixed, adaptive, RoI), forward and
// backward. The 2-D pools take their window as params = [kh, kw, sh, sw, ph, pw, dh, dw] and a
// ceil_mode flag; the checks and the output size are PyTorch's (pool2d_shape_check):
//   o = floor((i + 2p - d (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1, and with ceil_mode the
//   last window must start inside the input or the left padding (else o - 1);
//   k, s, d > 0; 0 <= p <= k / 2; o >= 1. Inputs are [N, C, H, W] or [C, H, W], float32.
// Backward functions take the input's shape (or the input itself where the formula needs it).
// Outputs live on the inputs' device; GPU inputs run the native/cuda/ twin of each CPU kernel.
#include <algorithm>
#include <cmath>

#include "api/api.h"
#include "core/queue.h"
#include "cpu/nn_ops.h"
#include "cpu/roi_align_geometry.h"

namespace convnet {
namespace api {
namespace {

// floor(a / b) for b > 0, also for negative a (PyTorch's div_rtn).
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int64_t pooled_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dilation, bool ceil_mode) {
  int64_t out = floor_div(in + 2 * pad - dilation * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// [N, C, H, W] or [C, H, W] with C, H, W > 0 (N may be 0): the number of planes.
int64_t check_planes(const Shape& x, const char* op) {
  CONVNET_CHECK(x.size() == 3 || x.size() == 4, "E_SHAPE", op, ": expected input of shape [N, C, H, W] or [C, H, W], got ",
                shape_str(x));
  const size_t r = x.size();
  CONVNET_CHECK(x[r - 3] > 0 && x[r - 2] > 0 && x[r - 1] > 0, "E_SHAPE", op,
                ": expected non-zero channel and spatial sizes, got ", shape_str(x));
  return r == 4 ? x[0] * x[1] : x[0];
}

// Same leading axes as x, then (oh, ow).
Shape pooled_shape(const Shape& x, int64_t oh, int64_t ow) {
  Shape y(x.begin(), x.end() - 2);
  y.push_back(oh);
  y.push_back(ow);
  return y;
}

Pool2dGeometry geometry(const Shape& x, const std::vector<int64_t>& params, bool ceil_mode, const char* op) {
  CONVNET_CHECK(params.size() == 8, "E_ARG", op, ": expected 8 window parameters, got ", params.size());
  Pool2dGeometry g{};
  g.planes = check_planes(x, op);
  g.h = x[x.size() - 2];
  g.w = x[x.size() - 1];
  g.kh = params[0], g.kw = params[1], g.sh = params[2], g.sw = params[3];
  g.ph = params[4], g.pw = params[5], g.dh = params[6], g.dw = params[7];
  CONVNET_CHECK(g.kh > 0 && g.kw > 0, "E_ARG", op, ": kernel size must be positive, got ", g.kh, "x", g.kw);
  CONVNET_CHECK(g.sh > 0 && g.sw > 0, "E_ARG", op, ": stride must be positive, got ", g.sh, "x", g.sw);
  CONVNET_CHECK(g.dh > 0 && g.dw > 0, "E_ARG", op, ": dilation must be positive, got ", g.dh, "x", g.dw);
  CONVNET_CHECK(g.ph >= 0 && g.pw >= 0 && g.ph <= g.kh / 2 && g.pw <= g.kw / 2, "E_ARG", op,
                ": padding must be at most half the kernel size, got padding ", g.ph, "x", g.pw, " for kernel ", g.kh, "x",
                g.kw);
  g.oh = pooled_size(g.h, g.kh, g.ph, g.sh, g.dh, ceil_mode);
  g.ow = pooled_size(g.w, g.kw, g.pw, g.sw, g.dw, ceil_mode);
  CONVNET_CHECK(g.oh >= 1 && g.ow >= 1, "E_SHAPE", op, ": input ", shape_str(x), " is too small for the window (output ",
                g.oh, "x", g.ow, ")");
  return g;
}

Pool2dGeometry window_arg(const Napi::CallbackInfo& info, size_t i, const Shape& x, const char* op) {
  return geometry(x, ints_arg(info, i, op, "window"), bool_arg(info, i + 1, op, "ceilMode"), op);
}

void expect_shape(const Tensor& t, const Shape& shape, const char* op, const char* name) {
  CONVNET_CHECK(t.shape == shape, "E_SHAPE", op, ": expected `", name, "` of shape ", shape_str(shape), ", got ",
                shape_str(t.shape));
}

// An adaptive output size [oh, ow], both >= 1.
void adaptive_size(const Napi::CallbackInfo& info, size_t i, const char* op, Pool2dGeometry* g) {
  const std::vector<int64_t> size = ints_arg(info, i, op, "outputSize");
  CONVNET_CHECK(size.size() == 2 && size[0] > 0 && size[1] > 0, "E_ARG", op,
                ": expected `outputSize` of two positive sizes");
  g->oh = size[0];
  g->ow = size[1];
}

}  // namespace

Napi::Value MaxPool2dForward(const Napi::CallbackInfo& info) {
  const char* op = "maxPool2d";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const Pool2dGeometry g = window_arg(info, 1, x.shape, op);
  const bool with_indices = bool_arg(info, 3, op, "returnIndices");
  const Shape shape = pooled_shape(x.shape, g.oh, g.ow);
  Tensor y = Tensor::empty(shape, DType::Float32, x.device());
  Tensor indices = with_indices ? Tensor::empty(shape, DType::Int32, x.device()) : Tensor{};
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::max_pool2d_forward(x, g, y, with_indices ? &indices : nullptr));
  } else {
    Queue::cpu().enqueue(op, [x, g, y, indices, with_indices] {
      cpu::max_pool2d_forward(x, g, y, with_indices ? &indices : nullptr);
    });
  }
  return pair_or_null(info.Env(), std::move(y), with_indices ? &indices : nullptr);
}

Napi::Value MaxPoolBackward(const Napi::CallbackInfo& info) {
  const char* op = "maxPool2d backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& indices = tensor_arg(info, 1, op, "indices");
  expect_dtype(indices, DType::Int32, op, "indices");
  const Shape x_shape = shape_arg(info, 2, op, "inputShape");
  check_planes(x_shape, op);
  check_planes(dy.shape, op);
  expect_shape(indices, dy.shape, op, "indices");
  CONVNET_CHECK(dy.dim() == static_cast<int64_t>(x_shape.size()) && std::equal(x_shape.begin(), x_shape.end() - 2, dy.shape.begin()),
                "E_SHAPE", op, ": `dy` ", shape_str(dy.shape), " does not match the input ", shape_str(x_shape));
  Tensor dx = Tensor::empty(x_shape, DType::Float32, dy.device());
  if (dy.is_cuda()) CONVNET_ON_CUDA(op, cuda::max_pool_backward(dy, indices, dx));
  else Queue::cpu().enqueue(op, [dy, indices, dx] { cpu::max_pool_backward(dy, indices, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

// x and indices [..., H, W]; outputShape: x's leading axes, then (Ho, Wo) (sized by the caller);
// withKept: also the int32 mask of the inputs that stayed (the backward's).
Napi::Value MaxUnpool2dForward(const Napi::CallbackInfo& info) {
  const char* op = "maxUnpool2d";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const Tensor& indices = tensor_arg(info, 1, op, "indices");
  expect_dtype(indices, DType::Int32, op, "indices");
  check_planes(x.shape, op);
  expect_shape(indices, x.shape, op, "indices");
  const Shape y_shape = shape_arg(info, 2, op, "outputShape");
  CONVNET_CHECK(y_shape.size() == x.shape.size() && std::equal(x.shape.begin(), x.shape.end() - 2, y_shape.begin()) &&
                    y_shape[y_shape.size() - 2] > 0 && y_shape.back() > 0,
                "E_SHAPE", op, ": output shape ", shape_str(y_shape), " does not match the input ", shape_str(x.shape));
  const bool with_kept = bool_arg(info, 3, op, "withKept");
  Tensor y = Tensor::empty(y_shape, DType::Float32, x.device());
  Tensor kept = with_kept ? Tensor::empty(x.shape, DType::Int32, x.device()) : Tensor{};
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::max_unpool2d_forward(x, indices, y, with_kept ? &kept : nullptr));
  } else {
    Queue::cpu().enqueue(op, [x, indices, y, kept, with_kept] {
      cpu::max_unpool2d_forward(x, indices, y, with_kept ? &kept : nullptr);
    });
  }
  return pair_or_null(info.Env(), std::move(y), with_kept ? &kept : nullptr);
}

// dy [..., Ho, Wo], indices and kept [..., H, W] (the forward's), inputShape: the forward's x.
Napi::Value MaxUnpool2dBackward(const Napi::CallbackInfo& info) {
  const char* op = "maxUnpool2d backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& indices = tensor_arg(info, 1, op, "indices");
  const Tensor& kept = tensor_arg(info, 2, op, "kept");
  expect_dtype(indices, DType::Int32, op, "indices");
  expect_dtype(kept, DType::Int32, op, "kept");
  const Shape x_shape = shape_arg(info, 3, op, "inputShape");
  check_planes(x_shape, op);
  check_planes(dy.shape, op);
  expect_shape(indices, x_shape, op, "indices");
  expect_shape(kept, x_shape, op, "kept");
  CONVNET_CHECK(dy.dim() == static_cast<int64_t>(x_shape.size()) && std::equal(x_shape.begin(), x_shape.end() - 2, dy.shape.begin()),
                "E_SHAPE", op, ": `dy` ", shape_str(dy.shape), " does not match the input ", shape_str(x_shape));
  Tensor dx = Tensor::empty(x_shape, DType::Float32, dy.device());
  if (dy.is_cuda()) CONVNET_ON_CUDA(op, cuda::max_unpool2d_backward(dy, indices, kept, dx));
  else Queue::cpu().enqueue(op, [dy, indices, kept, dx] { cpu::max_unpool2d_backward(dy, indices, kept, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

Napi::Value AvgPool2dForward(const Napi::CallbackInfo& info) {
  const char* op = "avgPool2d";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const Pool2dGeometry g = window_arg(info, 1, x.shape, op);
  const bool count_include_pad = bool_arg(info, 3, op, "countIncludePad");
  const int64_t divisor = int_arg(info, 4, op, "divisorOverride");
  CONVNET_CHECK(divisor >= 0, "E_ARG", op, ": `divisorOverride` must be positive, got ", divisor);
  CONVNET_CHECK(g.dh == 1 && g.dw == 1, "E_ARG", op, ": no dilation");
  Tensor y = Tensor::empty(pooled_shape(x.shape, g.oh, g.ow), DType::Float32, x.device());
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::avg_pool2d_forward(x, g, count_include_pad, divisor, y));
  else Queue::cpu().enqueue(op, [=] { cpu::avg_pool2d_forward(x, g, count_include_pad, divisor, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  const char* op = "avgPool2d backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Shape x_shape = shape_arg(info, 1, op, "inputShape");
  const Pool2dGeometry g = window_arg(info, 2, x_shape, op);
  const bool count_include_pad = bool_arg(info, 4, op, "countIncludePad");
  const int64_t divisor = int_arg(info, 5, op, "divisorOverride");
  CONVNET_CHECK(divisor >= 0, "E_ARG", op, ": `divisorOverride` must be positive, got ", divisor);
  CONVNET_CHECK(g.dh == 1 && g.dw == 1, "E_ARG", op, ": no dilation");
  expect_shape(dy, pooled_shape(x_shape, g.oh, g.ow), op, "dy");
  Tensor dx = Tensor::empty(x_shape, DType::Float32, dy.device());
  if (dy.is_cuda()) CONVNET_ON_CUDA(op, cuda::avg_pool2d_backward(dy, g, count_include_pad, divisor, dx));
  else Queue::cpu().enqueue(op, [=] { cpu::avg_pool2d_backward(dy, g, count_include_pad, divisor, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

Napi::Value LpPool2dForward(const Napi::CallbackInfo& info) {
  const char* op = "lpPool2d";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const double p = number_arg(info, 1, op, "normType");
  CONVNET_CHECK(p > 0 && std::isfinite(p), "E_ARG", op, ": `normType` must be a positive finite number, got ", p);
  const Pool2dGeometry g = window_arg(info, 2, x.shape, op);
  const bool mean = bool_arg(info, 4, op, "mean");
  CONVNET_CHECK(g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1, "E_ARG", op, ": no padding or dilation");
  Tensor y = Tensor::empty(pooled_shape(x.shape, g.oh, g.ow), DType::Float32, x.device());
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::lp_pool2d_forward(x, p, g, mean, y));
  else Queue::cpu().enqueue(op, [=] { cpu::lp_pool2d_forward(x, p, g, mean, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value LpPool2dBackward(const Napi::CallbackInfo& info) {
  const char* op = "lpPool2d backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  const Tensor& y = float_tensor_arg(info, 2, op, "y");
  const double p = number_arg(info, 3, op, "normType");
  CONVNET_CHECK(p > 0 && std::isfinite(p), "E_ARG", op, ": `normType` must be a positive finite number, got ", p);
  const Pool2dGeometry g = window_arg(info, 4, x.shape, op);
  const bool mean = bool_arg(info, 6, op, "mean");
  CONVNET_CHECK(g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1, "E_ARG", op, ": no padding or dilation");
  const Shape y_shape = pooled_shape(x.shape, g.oh, g.ow);
  expect_shape(dy, y_shape, op, "dy");
  expect_shape(y, y_shape, op, "y");
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::lp_pool2d_backward(dy, x, y, p, g, mean, dx));
  else Queue::cpu().enqueue(op, [=] { cpu::lp_pool2d_backward(dy, x, y, p, g, mean, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

Napi::Value MixedPool2dForward(const Napi::CallbackInfo& info) {
  const char* op = "mixedPool2d";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const Pool2dGeometry g = window_arg(info, 1, x.shape, op);
  const int64_t mode = int_arg(info, 3, op, "mode");
  CONVNET_CHECK(mode >= kMixedFixed && mode <= kMixedUniform, "E_ARG", op, ": unknown lambda mode ", mode);
  const double fixed = number_arg(info, 4, op, "lambda");
  CONVNET_CHECK(fixed >= 0 && fixed <= 1, "E_ARG", op, ": `lambda` must be in [0, 1], got ", fixed);
  const bool with_indices = bool_arg(info, 5, op, "returnIndices");
  CONVNET_CHECK(g.dh == 1 && g.dw == 1, "E_ARG", op, ": no dilation");
  const Shape shape = pooled_shape(x.shape, g.oh, g.ow);
  Tensor y = Tensor::empty(shape, DType::Float32, x.device());
  Tensor lambda = Tensor::empty(Shape(x.shape.begin(), x.shape.end() - 2), DType::Float32, x.device());  // [N, C] (or [C])
  Tensor indices = with_indices ? Tensor::empty(shape, DType::Int32, x.device()) : Tensor{};
  // The numbers are reserved here, on the JavaScript thread, so the call order decides them;
  // both devices draw from the same generator, so a seed gives the same lambdas on either.
  uint64_t seed = 0, first = 0;
  if (mode != kMixedFixed) {
    Generator& gen = cpu_generator(info.Env());
    seed = gen.seed;
    first = gen.reserve(g.planes);
  }
  const float lam = static_cast<float>(fixed);
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::mixed_pool2d_forward(x, g, mode, lam, seed, first, lambda, y, with_indices ? &indices : nullptr));
  } else {
    Queue::cpu().enqueue(op, [=] {
      cpu::mixed_pool2d_forward(x, g, mode, lam, seed, first, lambda, y, with_indices ? &indices : nullptr);
    });
  }
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(uint32_t{0}, wrap_tensor(env, std::move(y)));
  out.Set(uint32_t{1}, wrap_tensor(env, std::move(lambda)));
  out.Set(uint32_t{2}, with_indices ? wrap_tensor(env, std::move(indices)) : env.Null());
  return out;
}

Napi::Value MixedPool2dBackward(const Napi::CallbackInfo& info) {
  const char* op = "mixedPool2d backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& indices = tensor_arg(info, 1, op, "indices");
  expect_dtype(indices, DType::Int32, op, "indices");
  const Tensor& lambda = float_tensor_arg(info, 2, op, "lambda");
  const Shape x_shape = shape_arg(info, 3, op, "inputShape");
  const Pool2dGeometry g = window_arg(info, 4, x_shape, op);
  CONVNET_CHECK(g.dh == 1 && g.dw == 1, "E_ARG", op, ": no dilation");
  expect_shape(dy, pooled_shape(x_shape, g.oh, g.ow), op, "dy");
  expect_shape(indices, dy.shape, op, "indices");
  expect_shape(lambda, Shape(x_shape.begin(), x_shape.end() - 2), op, "lambda");
  Tensor dx = Tensor::empty(x_shape, DType::Float32, dy.device());
  if (dy.is_cuda()) CONVNET_ON_CUDA(op, cuda::mixed_pool2d_backward(dy, indices, lambda, g, dx));
  else Queue::cpu().enqueue(op, [=] { cpu::mixed_pool2d_backward(dy, indices, lambda, g, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

Napi::Value StochasticPool2dForward(const Napi::CallbackInfo& info) {
  const char* op = "stochasticPool2d";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const Pool2dGeometry g = window_arg(info, 1, x.shape, op);
  CONVNET_CHECK(g.dh == 1 && g.dw == 1, "E_ARG", op, ": no dilation");
  const bool training = bool_arg(info, 3, op, "training");
  const bool with_indices = training && bool_arg(info, 4, op, "returnIndices");
  const Shape shape = pooled_shape(x.shape, g.oh, g.ow);
  Tensor y = Tensor::empty(shape, DType::Float32, x.device());
  Tensor indices = with_indices ? Tensor::empty(shape, DType::Int32, x.device()) : Tensor{};
  // One number per output, reserved here (the call order decides them) from the generator both
  // devices draw from: a seed picks the same taps on either.
  uint64_t seed = 0, first = 0;
  if (training) {
    Generator& gen = cpu_generator(info.Env());
    seed = gen.seed;
    first = gen.reserve(g.planes * g.oh * g.ow);
  }
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::stochastic_pool2d_forward(x, g, training, seed, first, y, with_indices ? &indices : nullptr));
  } else {
    Queue::cpu().enqueue(op, [=] {
      cpu::stochastic_pool2d_forward(x, g, training, seed, first, y, with_indices ? &indices : nullptr);
    });
  }
  return pair_or_null(info.Env(), std::move(y), with_indices ? &indices : nullptr);
}

Napi::Value StochasticPool2dBackward(const Napi::CallbackInfo& info) {
  const char* op = "stochasticPool2d backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  const bool training = info.Length() > 2 && !info[2].IsNull() && !info[2].IsUndefined();
  const Pool2dGeometry g = window_arg(info, 3, x.shape, op);
  CONVNET_CHECK(g.dh == 1 && g.dw == 1, "E_ARG", op, ": no dilation");
  expect_shape(dy, pooled_shape(x.shape, g.oh, g.ow), op, "dy");
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  if (training) {
    const Tensor& indices = tensor_arg(info, 2, op, "indices");
    expect_dtype(indices, DType::Int32, op, "indices");
    expect_shape(indices, dy.shape, op, "indices");
    if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::stochastic_pool2d_backward_training(dy, indices, g, dx));
    else Queue::cpu().enqueue(op, [=] { cpu::stochastic_pool2d_backward_training(dy, indices, g, dx); });
  } else {
    if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::stochastic_pool2d_backward_eval(dy, x, g, dx));
    else Queue::cpu().enqueue(op, [=] { cpu::stochastic_pool2d_backward_eval(dy, x, g, dx); });
  }
  return wrap_tensor(info.Env(), std::move(dx));
}

Napi::Value AdaptivePool2dForward(const Napi::CallbackInfo& info) {
  const bool is_max = int_arg(info, 0, "adaptivePool2d", "kind") == 1;
  const char* op = is_max ? "adaptiveMaxPool2d" : "adaptiveAvgPool2d";
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  Pool2dGeometry g{};
  g.planes = check_planes(x.shape, op);
  g.h = x.shape[x.dim() - 2];
  g.w = x.shape[x.dim() - 1];
  adaptive_size(info, 2, op, &g);
  const bool with_indices = is_max && bool_arg(info, 3, op, "returnIndices");
  const Shape shape = pooled_shape(x.shape, g.oh, g.ow);
  Tensor y = Tensor::empty(shape, DType::Float32, x.device());
  Tensor indices = with_indices ? Tensor::empty(shape, DType::Int32, x.device()) : Tensor{};
  if (x.is_cuda()) {
    if (is_max) CONVNET_ON_CUDA(op, cuda::adaptive_max_pool2d_forward(x, g, y, with_indices ? &indices : nullptr));
    else CONVNET_ON_CUDA(op, cuda::adaptive_avg_pool2d_forward(x, g, y));
  } else {
    Queue::cpu().enqueue(op, [=] {
      if (is_max) cpu::adaptive_max_pool2d_forward(x, g, y, with_indices ? &indices : nullptr);
      else cpu::adaptive_avg_pool2d_forward(x, g, y);
    });
  }
  return pair_or_null(info.Env(), std::move(y), with_indices ? &indices : nullptr);
}

Napi::Value AdaptiveAvgPool2dBackward(const Napi::CallbackInfo& info) {
  const char* op = "adaptiveAvgPool2d backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Shape x_shape = shape_arg(info, 1, op, "inputShape");
  Pool2dGeometry g{};
  g.planes = check_planes(x_shape, op);
  g.h = x_shape[x_shape.size() - 2];
  g.w = x_shape[x_shape.size() - 1];
  check_planes(dy.shape, op);
  g.oh = dy.shape[dy.dim() - 2];
  g.ow = dy.shape[dy.dim() - 1];
  expect_shape(dy, pooled_shape(x_shape, g.oh, g.ow), op, "dy");
  Tensor dx = Tensor::empty(x_shape, DType::Float32, dy.device());
  if (dy.is_cuda()) CONVNET_ON_CUDA(op, cuda::adaptive_avg_pool2d_backward(dy, g, dx));
  else Queue::cpu().enqueue(op, [=] { cpu::adaptive_avg_pool2d_backward(dy, g, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

Napi::Value RoiPoolForward(const Napi::CallbackInfo& info) {
  const char* op = "roiPool";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const Tensor& boxes = float_tensor_arg(info, 1, op, "boxes");
  CONVNET_CHECK(x.dim() == 4, "E_SHAPE", op, ": expected input of shape [N, C, H, W], got ", shape_str(x.shape));
  CONVNET_CHECK(boxes.dim() == 2 && boxes.shape[1] == 5, "E_SHAPE", op, ": expected `boxes` of shape [K, 5], got ",
                shape_str(boxes.shape));
  Pool2dGeometry g{};
  adaptive_size(info, 2, op, &g);
  const double scale = number_arg(info, 3, op, "spatialScale");
  CONVNET_CHECK(std::isfinite(scale) && scale > 0, "E_ARG", op, ": `spatialScale` must be positive, got ", scale);
  const Shape shape{boxes.shape[0], x.shape[1], g.oh, g.ow};
  Tensor y = Tensor::empty(shape, DType::Float32, x.device());
  Tensor argmax = Tensor::empty(shape, DType::Int32, x.device());
  const float s = static_cast<float>(scale);
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::roi_pool_forward(x, boxes, s, y, argmax));
  else Queue::cpu().enqueue(op, [=] { cpu::roi_pool_forward(x, boxes, s, y, argmax); });
  return pair_or_null(info.Env(), std::move(y), &argmax);
}

Napi::Value RoiPoolBackward(const Napi::CallbackInfo& info) {
  const char* op = "roiPool backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& argmax = tensor_arg(info, 1, op, "argmax");
  expect_dtype(argmax, DType::Int32, op, "argmax");
  const Tensor& boxes = float_tensor_arg(info, 2, op, "boxes");
  const Shape x_shape = shape_arg(info, 3, op, "inputShape");
  CONVNET_CHECK(x_shape.size() == 4, "E_SHAPE", op, ": expected an input shape [N, C, H, W], got ", shape_str(x_shape));
  CONVNET_CHECK(boxes.dim() == 2 && boxes.shape[1] == 5, "E_SHAPE", op, ": expected `boxes` of shape [K, 5], got ",
                shape_str(boxes.shape));
  CONVNET_CHECK(dy.dim() == 4 && dy.shape[0] == boxes.shape[0] && dy.shape[1] == x_shape[1], "E_SHAPE", op,
                ": `dy` ", shape_str(dy.shape), " does not match ", boxes.shape[0], " boxes of ", x_shape[1], " channels");
  expect_shape(argmax, dy.shape, op, "argmax");
  Tensor dx = Tensor::empty(x_shape, DType::Float32, dy.device());
  if (dy.is_cuda()) CONVNET_ON_CUDA(op, cuda::roi_pool_backward(dy, argmax, boxes, dx));
  else Queue::cpu().enqueue(op, [=] { cpu::roi_pool_backward(dy, argmax, boxes, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

namespace {

// RoIAlign's arguments after the tensors: spatialScale (finite, > 0), samplingRatio (an int;
// <= 0 is adaptive, as torchvision; at most kMaxSamplingRatio, roi_align_geometry.h), aligned.
struct RoiAlignArgs {
  double scale;
  int64_t sampling_ratio;
  bool aligned;
};

RoiAlignArgs roi_align_args(const Napi::CallbackInfo& info, size_t i, const char* op) {
  RoiAlignArgs a{};
  a.scale = number_arg(info, i, op, "spatialScale");
  CONVNET_CHECK(std::isfinite(a.scale) && a.scale > 0, "E_ARG", op, ": `spatialScale` must be positive, got ", a.scale);
  a.sampling_ratio = int_arg(info, i + 1, op, "samplingRatio");
  CONVNET_CHECK(a.sampling_ratio >= INT32_MIN && a.sampling_ratio <= INT32_MAX, "E_ARG", op,
                ": `samplingRatio` must be a 32-bit integer, got ", a.sampling_ratio);
  CONVNET_CHECK(a.sampling_ratio <= roi_align::kMaxSamplingRatio, "E_ARG", op, ": `samplingRatio` must be at most ",
                roi_align::kMaxSamplingRatio, " (that many squared samples per bin; <= 0 is adaptive), got ",
                a.sampling_ratio);
  a.aligned = bool_arg(info, i + 2, op, "aligned");
  return a;
}

void expect_roi_boxes(const Tensor& boxes, const char* op) {
  CONVNET_CHECK(boxes.dim() == 2 && boxes.shape[1] == 5, "E_SHAPE", op,
                ": expected `boxes` of shape [K, 5] (batch index, x1, y1, x2, y2), got ", shape_str(boxes.shape));
}

}  // namespace

Napi::Value RoiAlignForward(const Napi::CallbackInfo& info) {
  const char* op = "roiAlign";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const Tensor& boxes = float_tensor_arg(info, 1, op, "boxes");
  CONVNET_CHECK(x.dim() == 4, "E_SHAPE", op, ": expected input of shape [N, C, H, W], got ", shape_str(x.shape));
  check_planes(x.shape, op);
  expect_roi_boxes(boxes, op);
  Pool2dGeometry g{};
  adaptive_size(info, 2, op, &g);
  const RoiAlignArgs a = roi_align_args(info, 3, op);
  Tensor y = Tensor::empty(Shape{boxes.shape[0], x.shape[1], g.oh, g.ow}, DType::Float32, x.device());
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::roi_align_forward(x, boxes, a.scale, a.sampling_ratio, a.aligned, y));
  else Queue::cpu().enqueue(op, [=] { cpu::roi_align_forward(x, boxes, a.scale, a.sampling_ratio, a.aligned, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value RoiAlignBackward(const Napi::CallbackInfo& info) {
  const char* op = "roiAlign backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& boxes = float_tensor_arg(info, 1, op, "boxes");
  const Shape x_shape = shape_arg(info, 2, op, "inputShape");
  CONVNET_CHECK(x_shape.size() == 4, "E_SHAPE", op, ": expected an input shape [N, C, H, W], got ", shape_str(x_shape));
  check_planes(x_shape, op);
  expect_roi_boxes(boxes, op);
  CONVNET_CHECK(dy.dim() == 4 && dy.shape[0] == boxes.shape[0] && dy.shape[1] == x_shape[1] && dy.shape[2] > 0 &&
                    dy.shape[3] > 0,
                "E_SHAPE", op, ": `dy` ", shape_str(dy.shape), " does not match ", boxes.shape[0], " boxes of ",
                x_shape[1], " channels");
  const RoiAlignArgs a = roi_align_args(info, 3, op);
  Tensor dx = Tensor::empty(x_shape, DType::Float32, dy.device());
  if (dy.is_cuda()) CONVNET_ON_CUDA(op, cuda::roi_align_backward(dy, boxes, a.scale, a.sampling_ratio, a.aligned, dx));
  else Queue::cpu().enqueue(op, [=] { cpu::roi_align_backward(dy, boxes, a.scale, a.sampling_ratio, a.aligned, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

}  // namespace api
}  // namespace convnet
