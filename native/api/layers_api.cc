// Entry points of the other layers: PReLU, Maxout, softmax / logSoftmax, dropout, local response
// normalisation, batch normalisation, forward and backward; embeddingBag's forward. Each checks its arguments again
// (lib/ checks first, with friendlier messages), allocates its outputs here on the JS thread,
// enqueues the kernel (or, for GPU tensors, launches the cuda:: op on the stream) and returns.
// Several outputs come back as an array of handles.
#include <cmath>
#include <memory>
#include <vector>

#include "api/api.h"
#include "core/queue.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace api {
namespace {

// An optional float tensor: null/undefined gives an empty Tensor (no storage).
Tensor optional_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  const Tensor* t = optional_tensor_arg(info, i, op, name);
  if (t) expect_dtype(*t, DType::Float32, op, name);
  return or_empty(t);
}

void same_shape(const Tensor& a, const Tensor& b, const char* op, const char* names) {
  CONVNET_CHECK(a.shape == b.shape, "E_SHAPE", op, ": ", names, " must have the same shape, got ", shape_str(a.shape),
                " and ", shape_str(b.shape));
}

Napi::Value handles(Napi::Env env, std::initializer_list<Tensor> tensors) {
  Napi::Array out = Napi::Array::New(env, tensors.size());
  uint32_t i = 0;
  for (const Tensor& t : tensors) out.Set(i++, wrap_tensor(env, t));
  return out;
}

void check_prelu(const Tensor& x, const Tensor& w, const char* op) {
  const int64_t channels = x.dim() >= 2 ? x.shape[1] : 1;
  CONVNET_CHECK(w.dim() == 1 && (w.shape[0] == 1 || w.shape[0] == channels), "E_SHAPE", op,
                ": expected `weight` of shape [1] or [", channels, "] (the channels of x ", shape_str(x.shape), "), got ",
                shape_str(w.shape));
}

int64_t check_maxout(const Napi::CallbackInfo& info, size_t i, const Tensor& x, const char* op) {
  const int64_t pieces = int_arg(info, i, op, "pieces");
  CONVNET_CHECK(pieces >= 1, "E_ARG", op, ": expected `pieces` >= 1, got ", pieces);
  CONVNET_CHECK(x.dim() >= 2, "E_SHAPE", op, ": expected x of shape [N, C, ...], got ", shape_str(x.shape));
  CONVNET_CHECK(x.shape[1] % pieces == 0, "E_SHAPE", op, ": the ", x.shape[1], " channels of x are not divisible by pieces = ",
                pieces);
  return pieces;
}

// The axis of softmax: 0-D tensors take 0 or -1 (one slice of one element, as PyTorch).
int64_t softmax_axis(const Napi::CallbackInfo& info, size_t i, const Tensor& x, const char* op) {
  const int64_t dim = int_arg(info, i, op, "dim");
  return normalize_axis(dim, std::max<int64_t>(x.dim(), 1), op);
}

struct LrnArgs {
  int64_t size;
  double alpha, beta, k;
};

LrnArgs lrn_args(const Napi::CallbackInfo& info, size_t i, const Tensor& x, const char* op) {
  CONVNET_CHECK(x.dim() >= 3, "E_SHAPE", op, ": expected x of rank 3 or more ([N, C, ...]), got ", shape_str(x.shape));
  LrnArgs a{int_arg(info, i, op, "size"), finite_arg(info, i + 1, op, "alpha"), finite_arg(info, i + 2, op, "beta"),
            finite_arg(info, i + 3, op, "k")};
  CONVNET_CHECK(a.size >= 1, "E_ARG", op, ": expected `size` >= 1, got ", a.size);
  return a;
}

}  // namespace

Napi::Value PreluForward(const Napi::CallbackInfo& info) {
  const char* op = "prelu";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const Tensor& w = float_tensor_arg(info, 1, op, "weight");
  check_prelu(x, w, op);
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::prelu_forward(x, w, y));
  else Queue::cpu().enqueue(op, [x, w, y] { cpu::prelu_forward(x, w, y); });
  return wrap_tensor(info.Env(), y);
}

Napi::Value PreluBackward(const Napi::CallbackInfo& info) {
  const char* op = "prelu backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  const Tensor& w = float_tensor_arg(info, 2, op, "weight");
  same_shape(dy, x, op, "dy and x");
  check_prelu(x, w, op);
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device()), dw = Tensor::empty(w.shape, DType::Float32, x.device());
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::prelu_backward(dy, x, w, dx, dw));
  else Queue::cpu().enqueue(op, [dy, x, w, dx, dw] { cpu::prelu_backward(dy, x, w, dx, dw); });
  return handles(info.Env(), {dx, dw});
}

Napi::Value MaxoutForward(const Napi::CallbackInfo& info) {
  const char* op = "maxout";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const int64_t pieces = check_maxout(info, 1, x, op);
  Shape shape = x.shape;
  shape[1] /= pieces;
  Tensor y = Tensor::empty(shape, DType::Float32, x.device());
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::maxout_forward(x, pieces, y));
  else Queue::cpu().enqueue(op, [x, pieces, y] { cpu::maxout_forward(x, pieces, y); });
  return wrap_tensor(info.Env(), y);
}

Napi::Value MaxoutBackward(const Napi::CallbackInfo& info) {
  const char* op = "maxout backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  const int64_t pieces = check_maxout(info, 2, x, op);
  Shape shape = x.shape;
  shape[1] /= pieces;
  CONVNET_CHECK(dy.shape == shape, "E_SHAPE", op, ": expected dy of shape ", shape_str(shape), ", got ", shape_str(dy.shape));
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::maxout_backward(dy, x, pieces, dx));
  else Queue::cpu().enqueue(op, [dy, x, pieces, dx] { cpu::maxout_backward(dy, x, pieces, dx); });
  return wrap_tensor(info.Env(), dx);
}

// (x, pieces, lambda, training, dropout) -> [y, picked | null]: probout (cpu/probout_rules.h).
Napi::Value ProboutForward(const Napi::CallbackInfo& info) {
  const char* op = "probout";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const int64_t pieces = check_maxout(info, 1, x, op);
  const double lambda = number_arg(info, 2, op, "lambda");
  CONVNET_CHECK(lambda > 0 && std::isfinite(lambda), "E_ARG", op, ": expected `lambda` > 0, got ", lambda);
  const bool training = bool_arg(info, 3, op, "training");
  const bool dropout = bool_arg(info, 4, op, "dropout");
  Shape shape = x.shape;
  shape[1] /= pieces;
  Tensor y = Tensor::empty(shape, DType::Float32, x.device());
  Tensor picked = training ? Tensor::empty(shape, DType::Int32, x.device()) : Tensor{};
  // Reserved here, on the JS thread (the call order decides the numbers), from the generator both
  // devices draw from: a seed draws the same pieces on either.
  uint64_t seed = 0, first = 0;
  if (training) {
    Generator& g = cpu_generator(info.Env());
    seed = g.seed;
    first = g.reserve((dropout ? 2 : 1) * y.numel());
  }
  // The queued lambda points at its own copy of `picked` (this frame is gone when it runs).
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::probout_forward(x, pieces, lambda, training, dropout, seed, first, y, training ? &picked : nullptr));
  else Queue::cpu().enqueue(op, [=] { cpu::probout_forward(x, pieces, lambda, training, dropout, seed, first, y, training ? &picked : nullptr); });
  return pair_or_null(info.Env(), y, training ? &picked : nullptr);
}

// (dy, saved, pieces, lambda, dropout, training) -> dx; saved: the picked pieces (training) or x.
Napi::Value ProboutBackward(const Napi::CallbackInfo& info) {
  const char* op = "probout backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& saved = tensor_arg(info, 1, op, "saved");
  const int64_t pieces = int_arg(info, 2, op, "pieces");
  const double lambda = number_arg(info, 3, op, "lambda");
  const bool dropout = bool_arg(info, 4, op, "dropout");
  const bool training = bool_arg(info, 5, op, "training");
  CONVNET_CHECK(pieces >= 1 && dy.dim() >= 2, "E_ARG", op, ": expected `pieces` >= 1 and dy of shape [N, C, ...]");
  CONVNET_CHECK(lambda > 0 && std::isfinite(lambda), "E_ARG", op, ": expected `lambda` > 0, got ", lambda);
  CONVNET_CHECK(dy.device() == saved.device(), "E_DEVICE", op, ": dy and the saved tensor are on different devices");
  Shape xs = dy.shape;
  xs[1] *= pieces;
  Tensor dx = Tensor::empty(xs, DType::Float32, dy.device());
  if (training) {
    expect_dtype(saved, DType::Int32, op, "picked");
    CONVNET_CHECK(saved.shape == dy.shape, "E_SHAPE", op, ": expected picked of shape ", shape_str(dy.shape), ", got ", shape_str(saved.shape));
    if (dy.is_cuda()) CONVNET_ON_CUDA(op, cuda::probout_backward_training(dy, saved, pieces, dx));
    else Queue::cpu().enqueue(op, [dy, saved, pieces, dx] { cpu::probout_backward_training(dy, saved, pieces, dx); });
  } else {
    expect_dtype(saved, DType::Float32, op, "x");
    CONVNET_CHECK(saved.shape == xs, "E_SHAPE", op, ": expected x of shape ", shape_str(xs), ", got ", shape_str(saved.shape));
    if (dy.is_cuda()) CONVNET_ON_CUDA(op, cuda::probout_backward_eval(dy, saved, pieces, lambda, dropout, dx));
    else Queue::cpu().enqueue(op, [=] { cpu::probout_backward_eval(dy, saved, pieces, lambda, dropout, dx); });
  }
  return wrap_tensor(info.Env(), dx);
}

// negate (an optional fourth argument, CPU only): softmin, the softmax of -x (not with log).
static bool softmin_arg(const Napi::CallbackInfo& info, size_t i, bool log, const Tensor& x, const char* op) {
  if (info.Length() <= i || info[i].IsUndefined()) return false;
  const bool negate = bool_arg(info, i, op, "negate");
  CONVNET_CHECK(!negate || !log, "E_ARG", op, ": `negate` is for softmax only");
  CONVNET_CHECK(!negate || !x.is_cuda(), "E_DEVICE", "softmin: no GPU kernel (lib/ composes it on the GPU)");
  return negate;
}

Napi::Value SoftmaxForward(const Napi::CallbackInfo& info) {
  const bool log = bool_arg(info, 2, "softmax", "log");
  const char* op = log ? "logSoftmax" : "softmax";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const int64_t axis = softmax_axis(info, 1, x, op);
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  if (softmin_arg(info, 3, log, x, op)) {
    Queue::cpu().enqueue("softmin", [x, axis, y] { cpu::softmin_forward(x, axis, y); });
    return wrap_tensor(info.Env(), y);
  }
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::softmax_forward(x, axis, log, y));
  else Queue::cpu().enqueue(op, [x, axis, log, y] { cpu::softmax_forward(x, axis, log, y); });
  return wrap_tensor(info.Env(), y);
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  const bool log = bool_arg(info, 3, "softmax backward", "log");
  const char* op = log ? "logSoftmax backward" : "softmax backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& y = float_tensor_arg(info, 1, op, "y");
  same_shape(dy, y, op, "dy and y");
  const int64_t axis = softmax_axis(info, 2, y, op);
  Tensor dx = Tensor::empty(y.shape, DType::Float32, y.device());
  if (softmin_arg(info, 4, log, y, op)) {
    Queue::cpu().enqueue("softmin backward", [dy, y, axis, dx] { cpu::softmin_backward(dy, y, axis, dx); });
    return wrap_tensor(info.Env(), dx);
  }
  if (y.is_cuda()) CONVNET_ON_CUDA(op, cuda::softmax_backward(dy, y, axis, log, dx));
  else Queue::cpu().enqueue(op, [dy, y, axis, log, dx] { cpu::softmax_backward(dy, y, axis, log, dx); });
  return wrap_tensor(info.Env(), dx);
}

Napi::Value DropoutForward(const Napi::CallbackInfo& info) {
  const char* op = "dropout";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const double p = number_arg(info, 1, op, "p");
  CONVNET_CHECK(p >= 0 && p <= 1, "E_ARG", op, ": expected `p` in [0, 1], got ", p);
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device()), mask = Tensor::empty(x.shape, DType::Float32, x.device());
  // Reserved here, on the JS thread: the call order decides the numbers (core/philox.h). GPU
  // tensors draw from the same generator, so one seed gives the same mask on both devices.
  Generator& g = cpu_generator(info.Env());
  const uint64_t seed = g.seed, first = g.reserve(x.numel());
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::dropout_forward(x, p, seed, first, y, mask));
  else Queue::cpu().enqueue(op, [=] { cpu::dropout_forward(x, p, seed, first, y, mask); });
  return handles(info.Env(), {y, mask});
}

Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  const char* op = "dropout backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& mask = float_tensor_arg(info, 1, op, "mask");
  same_shape(dy, mask, op, "dy and mask");
  const double p = number_arg(info, 2, op, "p");
  CONVNET_CHECK(p >= 0 && p <= 1, "E_ARG", op, ": expected `p` in [0, 1], got ", p);
  Tensor dx = Tensor::empty(dy.shape, DType::Float32, dy.device());
  if (dy.is_cuda()) CONVNET_ON_CUDA(op, cuda::dropout_backward(dy, mask, p, dx));
  else Queue::cpu().enqueue(op, [=] { cpu::dropout_backward(dy, mask, p, dx); });
  return wrap_tensor(info.Env(), dx);
}

Napi::Value LrnForward(const Napi::CallbackInfo& info) {
  const char* op = "localResponseNorm";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const LrnArgs a = lrn_args(info, 1, x, op);
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::lrn_forward(x, a.size, a.alpha, a.beta, a.k, y));
  else Queue::cpu().enqueue(op, [=] { cpu::lrn_forward(x, a.size, a.alpha, a.beta, a.k, y); });
  return wrap_tensor(info.Env(), y);
}

Napi::Value LrnBackward(const Napi::CallbackInfo& info) {
  const char* op = "localResponseNorm backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  same_shape(dy, x, op, "dy and x");
  const LrnArgs a = lrn_args(info, 2, x, op);
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda()) CONVNET_ON_CUDA(op, cuda::lrn_backward(dy, x, a.size, a.alpha, a.beta, a.k, dx));
  else Queue::cpu().enqueue(op, [=] { cpu::lrn_backward(dy, x, a.size, a.alpha, a.beta, a.k, dx); });
  return wrap_tensor(info.Env(), dx);
}

Napi::Value BatchNormForward(const Napi::CallbackInfo& info) {
  const char* op = "batchNorm";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  CONVNET_CHECK(x.dim() >= 2, "E_SHAPE", op, ": expected x of shape [N, C] or [N, C, ...], got ", shape_str(x.shape));
  const int64_t channels = x.shape[1];
  const Tensor rm = optional_arg(info, 1, op, "runningMean"), rv = optional_arg(info, 2, op, "runningVar");
  const Tensor w = optional_arg(info, 3, op, "weight"), b = optional_arg(info, 4, op, "bias");
  const bool training = bool_arg(info, 5, op, "training");
  const double momentum = finite_arg(info, 6, op, "momentum"), eps = finite_arg(info, 7, op, "eps");
  CONVNET_CHECK(momentum >= 0 && momentum <= 1, "E_ARG", op, ": expected `momentum` in [0, 1], got ", momentum);
  CONVNET_CHECK(eps >= 0, "E_ARG", op, ": expected `eps` >= 0, got ", eps);
  CONVNET_CHECK(static_cast<bool>(rm.storage()) == static_cast<bool>(rv.storage()), "E_ARG", op,
                ": give both runningMean and runningVar, or neither");
  CONVNET_CHECK(training || rm.storage(), "E_ARG", op, ": evaluation (training = false) needs runningMean and runningVar");
  const std::pair<const Tensor*, const char*> per_channel[] = {{&rm, "runningMean"}, {&rv, "runningVar"}, {&w, "weight"}, {&b, "bias"}};
  for (const auto& [t, name] : per_channel) {
    if (!t->storage()) continue;
    CONVNET_CHECK(t->shape == Shape{channels}, "E_SHAPE", op, ": expected `", name, "` of shape [", channels, "], got ",
                  shape_str(t->shape));
  }
  if (rm.storage()) {
    CONVNET_CHECK(rm.storage() != x.storage() && rv.storage() != x.storage() && rm.storage() != rv.storage(), "E_ARG", op,
                  ": runningMean, runningVar and x must not share memory (the running stats are updated in place)");
  }
  const int64_t per_channel_count = channels ? x.numel() / channels : 0;
  CONVNET_CHECK(!training || per_channel_count != 1, "E_SHAPE", op,
                ": expected more than 1 value per channel when training, got x of shape ", shape_str(x.shape));
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  Tensor mean = Tensor::empty({channels}, DType::Float32, x.device());
  Tensor invstd = Tensor::empty({channels}, DType::Float32, x.device());
  if (training && rm.storage()) {
    rm.storage()->bump_version();
    rv.storage()->bump_version();
  }
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::batch_norm_forward(x, rm.storage() ? &rm : nullptr, rv.storage() ? &rv : nullptr,
                                                 w.storage() ? &w : nullptr, b.storage() ? &b : nullptr, training,
                                                 momentum, eps, y, mean, invstd));
    return handles(info.Env(), {y, mean, invstd});
  }
  Queue::cpu().enqueue(op, [=] {
    cpu::batch_norm_forward(x, rm.storage() ? &rm : nullptr, rv.storage() ? &rv : nullptr, w.storage() ? &w : nullptr,
                            b.storage() ? &b : nullptr, training, momentum, eps, y, mean, invstd);
  });
  return handles(info.Env(), {y, mean, invstd});
}

Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  const char* op = "batchNorm backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  CONVNET_CHECK(x.dim() >= 2, "E_SHAPE", op, ": expected x of shape [N, C] or [N, C, ...], got ", shape_str(x.shape));
  same_shape(dy, x, op, "dy and x");
  const int64_t channels = x.shape[1];
  const Tensor w = optional_arg(info, 2, op, "weight");
  const Tensor& mean = float_tensor_arg(info, 3, op, "mean");
  const Tensor& invstd = float_tensor_arg(info, 4, op, "invstd");
  const bool training = bool_arg(info, 5, op, "training");
  const std::pair<const Tensor*, const char*> per_channel[] = {{&w, "weight"}, {&mean, "mean"}, {&invstd, "invstd"}};
  for (const auto& [t, name] : per_channel) {
    if (!t->storage()) continue;
    CONVNET_CHECK(t->shape == Shape{channels}, "E_SHAPE", op, ": expected `", name, "` of shape [", channels, "], got ",
                  shape_str(t->shape));
  }
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  Tensor dw = Tensor::empty({channels}, DType::Float32, x.device());
  Tensor db = Tensor::empty({channels}, DType::Float32, x.device());
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::batch_norm_backward(dy, x, w.storage() ? &w : nullptr, mean, invstd, training, dx, dw, db));
    return handles(info.Env(), {dx, dw, db});
  }
  Queue::cpu().enqueue(op, [=] {
    cpu::batch_norm_backward(dy, x, w.storage() ? &w : nullptr, mean, invstd, training, dx, dw, db);
  });
  return handles(info.Env(), {dx, dw, db});
}


// ---- layer norm and group norm ----------------------------------------------------------------

namespace {

// The shared checks of the per-sample norms: x float, the affine tensors of `affine` elements
// (their shape is the caller's to check: lib/ gives them the normalised shape), eps >= 0.
struct PerSampleNorm {
  Tensor w, b;
  double eps;
};

PerSampleNorm per_sample_norm_args(const Napi::CallbackInfo& info, size_t i, int64_t affine, const char* op) {
  PerSampleNorm a{optional_arg(info, i, op, "weight"), optional_arg(info, i + 1, op, "bias"), finite_arg(info, i + 2, op, "eps")};
  CONVNET_CHECK(a.eps >= 0, "E_ARG", op, ": expected `eps` >= 0, got ", a.eps);
  for (const auto& [t, name] : {std::pair<const Tensor*, const char*>{&a.w, "weight"}, {&a.b, "bias"}}) {
    CONVNET_CHECK(!t->storage() || t->numel() == affine, "E_SHAPE", op, ": expected `", name, "` of ", affine,
                  " elements, got ", shape_str(t->shape));
  }
  return a;
}

void check_saved_stats(const Tensor& mean, const Tensor& rstd, int64_t rows, const char* op) {
  for (const auto& [t, name] : {std::pair<const Tensor*, const char*>{&mean, "mean"}, {&rstd, "rstd"}}) {
    CONVNET_CHECK(t->shape == Shape{rows}, "E_SHAPE", op, ": expected `", name, "` of shape [", rows, "], got ",
                  shape_str(t->shape));
  }
}

// [dx, dw | null, db | null]
Napi::Value gradient_handles(Napi::Env env, const Tensor& dx, const Tensor& dw, const Tensor& db) {
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, wrap_tensor(env, dx));
  out.Set(1u, dw.storage() ? wrap_tensor(env, dw) : env.Null());
  out.Set(2u, db.storage() ? wrap_tensor(env, db) : env.Null());
  return out;
}

int64_t layer_norm_values(const Napi::CallbackInfo& info, size_t i, const Tensor& x, const char* op) {
  const int64_t m = int_arg(info, i, op, "m");
  CONVNET_CHECK(m >= 1 && x.numel() % m == 0, "E_SHAPE", op, ": expected `m` >= 1 dividing the ", x.numel(),
                " elements of x, got ", m);
  return m;
}

int64_t group_norm_groups(const Napi::CallbackInfo& info, size_t i, const Tensor& x, const char* op) {
  CONVNET_CHECK(x.dim() >= 2, "E_SHAPE", op, ": expected x of shape [N, C, ...], got ", shape_str(x.shape));
  const int64_t groups = int_arg(info, i, op, "groups");
  CONVNET_CHECK(groups >= 1 && x.shape[1] % groups == 0, "E_SHAPE", op, ": expected the channels (", x.shape[1],
                ") to be divisible by groups, got ", groups);
  return groups;
}

}  // namespace

Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  const char* op = "layerNorm";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const int64_t m = layer_norm_values(info, 1, x, op), rows = x.numel() / m;
  const PerSampleNorm a = per_sample_norm_args(info, 2, m, op);
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  Tensor mean = Tensor::empty({rows}, DType::Float32, x.device()), rstd = Tensor::empty({rows}, DType::Float32, x.device());
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::layer_norm_forward(x, m, a.w.storage() ? &a.w : nullptr, a.b.storage() ? &a.b : nullptr, a.eps,
                                                 y, mean, rstd));
  } else {
    Queue::cpu().enqueue(op, [=] {
      cpu::layer_norm_forward(x, m, a.w.storage() ? &a.w : nullptr, a.b.storage() ? &a.b : nullptr, a.eps, y, mean, rstd);
    });
  }
  return handles(info.Env(), {y, mean, rstd});
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  const char* op = "layerNorm backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  same_shape(dy, x, op, "dy and x");
  const int64_t m = layer_norm_values(info, 2, x, op), rows = x.numel() / m;
  const Tensor w = optional_arg(info, 3, op, "weight");
  CONVNET_CHECK(!w.storage() || w.numel() == m, "E_SHAPE", op, ": expected `weight` of ", m, " elements, got ", shape_str(w.shape));
  const Tensor& mean = float_tensor_arg(info, 4, op, "mean");
  const Tensor& rstd = float_tensor_arg(info, 5, op, "rstd");
  check_saved_stats(mean, rstd, rows, op);
  const bool need_dw = bool_arg(info, 6, op, "needDw"), need_db = bool_arg(info, 7, op, "needDb");
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  Tensor dw = need_dw ? Tensor::empty({m}, DType::Float32, x.device()) : Tensor();
  Tensor db = need_db ? Tensor::empty({m}, DType::Float32, x.device()) : Tensor();
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::layer_norm_backward(dy, x, m, w.storage() ? &w : nullptr, mean, rstd, dx,
                                                  need_dw ? &dw : nullptr, need_db ? &db : nullptr));
  } else {
    Queue::cpu().enqueue(op, [=] {
      cpu::layer_norm_backward(dy, x, m, w.storage() ? &w : nullptr, mean, rstd, dx, need_dw ? &dw : nullptr,
                               need_db ? &db : nullptr);
    });
  }
  return gradient_handles(info.Env(), dx, dw, db);
}

Napi::Value GroupNormForward(const Napi::CallbackInfo& info) {
  const char* op = "groupNorm";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const int64_t groups = group_norm_groups(info, 1, x, op), rows = x.shape[0] * groups;
  const PerSampleNorm a = per_sample_norm_args(info, 2, x.shape[1], op);
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  Tensor mean = Tensor::empty({rows}, DType::Float32, x.device()), rstd = Tensor::empty({rows}, DType::Float32, x.device());
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::group_norm_forward(x, groups, a.w.storage() ? &a.w : nullptr, a.b.storage() ? &a.b : nullptr,
                                                 a.eps, y, mean, rstd));
  } else {
    Queue::cpu().enqueue(op, [=] {
      cpu::group_norm_forward(x, groups, a.w.storage() ? &a.w : nullptr, a.b.storage() ? &a.b : nullptr, a.eps, y, mean, rstd);
    });
  }
  return handles(info.Env(), {y, mean, rstd});
}

Napi::Value GroupNormBackward(const Napi::CallbackInfo& info) {
  const char* op = "groupNorm backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  same_shape(dy, x, op, "dy and x");
  const int64_t groups = group_norm_groups(info, 2, x, op), rows = x.shape[0] * groups, channels = x.shape[1];
  const Tensor w = optional_arg(info, 3, op, "weight");
  CONVNET_CHECK(!w.storage() || w.numel() == channels, "E_SHAPE", op, ": expected `weight` of ", channels, " elements, got ",
                shape_str(w.shape));
  const Tensor& mean = float_tensor_arg(info, 4, op, "mean");
  const Tensor& rstd = float_tensor_arg(info, 5, op, "rstd");
  check_saved_stats(mean, rstd, rows, op);
  const bool need_dw = bool_arg(info, 6, op, "needDw"), need_db = bool_arg(info, 7, op, "needDb");
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  Tensor dw = need_dw ? Tensor::empty({channels}, DType::Float32, x.device()) : Tensor();
  Tensor db = need_db ? Tensor::empty({channels}, DType::Float32, x.device()) : Tensor();
  if (x.is_cuda()) {
    CONVNET_ON_CUDA(op, cuda::group_norm_backward(dy, x, groups, w.storage() ? &w : nullptr, mean, rstd, dx,
                                                  need_dw ? &dw : nullptr, need_db ? &db : nullptr));
  } else {
    Queue::cpu().enqueue(op, [=] {
      cpu::group_norm_backward(dy, x, groups, w.storage() ? &w : nullptr, mean, rstd, dx, need_dw ? &dw : nullptr,
                               need_db ? &db : nullptr);
    });
  }
  return gradient_handles(info.Env(), dx, dw, db);
}

namespace {

// gridSample's arguments after the tensors: mode (0 bilinear, 1 nearest), padding (0 zeros,
// 1 border, 2 reflection), alignCorners; and the shapes of x and grid.
cpu::GridSampleArgs grid_sample_args(const Napi::CallbackInfo& info, size_t i, const Tensor& x, const Tensor& grid, const char* op) {
  const int64_t mode = int_arg(info, i, op, "mode"), padding = int_arg(info, i + 1, op, "paddingMode");
  CONVNET_CHECK(mode == 0 || mode == 1, "E_ARG", op, ": `mode` must be 0 (bilinear) or 1 (nearest), got ", mode);
  CONVNET_CHECK(padding >= 0 && padding <= 2, "E_ARG", op, ": `paddingMode` must be 0 (zeros), 1 (border) or 2 (reflection), got ", padding);
  CONVNET_CHECK(x.dim() == 4, "E_SHAPE", op, ": expected x of shape [N, C, H, W], got ", shape_str(x.shape));
  CONVNET_CHECK(grid.dim() == 4 && grid.shape[0] == x.shape[0] && grid.shape[3] == 2, "E_SHAPE", op, ": expected grid of shape [",
                x.shape[0], ", Ho, Wo, 2], got ", shape_str(grid.shape));
  CONVNET_CHECK(x.shape[2] * x.shape[3] > 0 || x.shape[0] * x.shape[1] * grid.shape[1] * grid.shape[2] == 0, "E_SHAPE", op,
                ": cannot sample the empty images of shape ", shape_str(x.shape));
  CONVNET_CHECK(x.shape[2] * x.shape[3] <= INT32_MAX, "E_SHAPE", op, ": images of ", x.shape[2], " x ", x.shape[3],
                " pixels are past int32 indices");
  CONVNET_CHECK(x.device() == grid.device(), "E_DEVICE", op, ": x and grid must be on one device");
  return {static_cast<cpu::GridSampleMode>(mode), static_cast<cpu::GridSamplePadding>(padding), bool_arg(info, i + 2, op, "alignCorners")};
}

}  // namespace

namespace {

// F.unfold / F.fold's geometry from four [h, w] pairs at arguments i .. i + 3 (kernel, dilation,
// padding, stride) for planes of H x W.
cpu::UnfoldGeometry unfold_geometry(const Napi::CallbackInfo& info, size_t i, int64_t planes, int64_t H, int64_t W,
                                    const char* op) {
  const char* names[] = {"kernelSize", "dilation", "padding", "stride"};
  int64_t v[4][2];
  for (int k = 0; k < 4; ++k) {
    const std::vector<int64_t> pair = ints_arg(info, i + k, op, names[k]);
    CONVNET_CHECK(pair.size() == 2, "E_ARG", op, ": `", names[k], "` must be a pair [h, w], got ", pair.size(), " numbers");
    for (int a = 0; a < 2; ++a) {
      CONVNET_CHECK(pair[a] >= (k == 2 ? 0 : 1) && pair[a] <= INT32_MAX, "E_ARG", op, ": `", names[k], "` must be ",
                    k == 2 ? "at least 0" : "at least 1", " and fit int32, got ", pair[a]);
      v[k][a] = pair[a];
    }
  }
  cpu::UnfoldGeometry u{planes, H, W, v[0][0], v[0][1], 0, 0, {}};
  u.g.dilation_h = v[1][0], u.g.dilation_w = v[1][1];
  u.g.pad_top = v[2][0], u.g.pad_left = v[2][1];
  u.g.stride_h = v[3][0], u.g.stride_w = v[3][1];
  // The room a block's first tap has along each axis: blocks exist where it is not negative.
  const int64_t room_h = H + 2 * u.g.pad_top - u.g.dilation_h * (u.kh - 1) - 1;
  const int64_t room_w = W + 2 * u.g.pad_left - u.g.dilation_w * (u.kw - 1) - 1;
  CONVNET_CHECK(room_h >= 0 && room_w >= 0, "E_SHAPE", op, ": a ", H, "x", W, " image padded by ", u.g.pad_top, "x", u.g.pad_left, " holds no ", u.kh, "x", u.kw,
                " block at dilation ", u.g.dilation_h, "x", u.g.dilation_w);
  u.bh = room_h / u.g.stride_h + 1, u.bw = room_w / u.g.stride_w + 1;
  int64_t taps = 0, blocks = 0, per_plane = 0;
  CONVNET_CHECK(!__builtin_mul_overflow(u.kh, u.kw, &taps) && !__builtin_mul_overflow(u.bh, u.bw, &blocks) &&
                    !__builtin_mul_overflow(taps, blocks, &per_plane),
                "E_OOM", op, ": ", u.kh, "x", u.kw, " taps of ", u.bh, "x", u.bw, " blocks are too many columns");
  return u;
}

}  // namespace

// (x [P, H, W], kernelSize, dilation, padding, stride) -> cols [P, kh * kw, L] (CPU only).
Napi::Value Unfold(const Napi::CallbackInfo& info) {
  const char* op = "unfold";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  CONVNET_CHECK(x.dim() == 3, "E_SHAPE", op, ": expected x of shape [planes, H, W], got ", shape_str(x.shape));
  const cpu::UnfoldGeometry u = unfold_geometry(info, 1, x.shape[0], x.shape[1], x.shape[2], op);
  Tensor cols = Tensor::empty(Shape{u.planes, u.kh * u.kw, u.bh * u.bw}, DType::Float32, x.device());
  Queue::cpu().enqueue(op, [=] { cpu::unfold(x, u, cols); });
  return wrap_tensor(info.Env(), std::move(cols));
}

// (cols [P, kh * kw, L], outputSize [H, W], kernelSize, dilation, padding, stride) -> y [P, H, W] (CPU only).
Napi::Value Fold(const Napi::CallbackInfo& info) {
  const char* op = "fold";
  const Tensor& cols = float_tensor_arg(info, 0, op, "cols");
  const std::vector<int64_t> size = ints_arg(info, 1, op, "outputSize");
  CONVNET_CHECK(size.size() == 2 && size[0] >= 1 && size[1] >= 1 && size[0] <= INT32_MAX && size[1] <= INT32_MAX, "E_ARG", op,
                ": `outputSize` must be a pair [H, W] of sizes from 1 to 2^31 - 1");
  CONVNET_CHECK(cols.dim() == 3, "E_SHAPE", op, ": expected cols of shape [planes, kh * kw, L], got ", shape_str(cols.shape));
  const cpu::UnfoldGeometry u = unfold_geometry(info, 2, cols.shape[0], size[0], size[1], op);
  CONVNET_CHECK(cols.shape[1] == u.kh * u.kw && cols.shape[2] == u.bh * u.bw, "E_SHAPE", op, ": cols ", shape_str(cols.shape),
                " do not match a ", u.kh, "x", u.kw, " kernel's ", u.bh, "x", u.bw, " blocks of a ", u.H, "x", u.W, " output");
  Tensor y = Tensor::empty(Shape{u.planes, u.H, u.W}, DType::Float32, cols.device());
  Queue::cpu().enqueue(op, [=] { cpu::fold(cols, u, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

namespace {
// [H, W] or [Ho, Wo] at info[i], [scaleH, scaleW] at info[i + 1], alignCorners at info[i + 2].
cpu::UpsampleGeometry upsample_geometry(const Napi::CallbackInfo& info, size_t i, int64_t planes, int64_t rows, int64_t cols,
                                        bool sizes_are_input, const char* op) {
  const std::vector<int64_t> size = ints_arg(info, i, op, sizes_are_input ? "inputSize" : "outputSize");
  CONVNET_CHECK(size.size() == 2 && size[0] >= 1 && size[1] >= 1 && size[0] <= INT32_MAX && size[1] <= INT32_MAX, "E_ARG", op,
                ": expected a size [H, W] of sizes from 1 to 2^31 - 1");
  CONVNET_CHECK(info.Length() > i + 1 && info[i + 1].IsArray() && info[i + 1].As<Napi::Array>().Length() == 2, "E_ARG", op,
                ": expected `scales` [scaleH, scaleW]");
  double scales[2];
  for (uint32_t k = 0; k < 2; ++k) {
    Napi::Value v = info[i + 1].As<Napi::Array>().Get(k);
    CONVNET_CHECK(v.IsNumber() && std::isfinite(v.As<Napi::Number>().DoubleValue()) && v.As<Napi::Number>().DoubleValue() >= 0, "E_ARG",
                  op, ": `scales` must be finite numbers >= 0");
    scales[k] = v.As<Napi::Number>().DoubleValue();
  }
  const bool align = bool_arg(info, i + 2, op, "alignCorners");
  return sizes_are_input ? cpu::UpsampleGeometry{planes, size[0], size[1], rows, cols, scales[0], scales[1], align}
                         : cpu::UpsampleGeometry{planes, rows, cols, size[0], size[1], scales[0], scales[1], align};
}
}  // namespace

// (x [P, H, W], outputSize [Ho, Wo], scales [sh, sw], alignCorners) -> y [P, Ho, Wo] (CPU only);
// Forward is upsample_bilinear_forward or upsample_nearest_forward.
template <void (*Forward)(const Tensor&, const cpu::UpsampleGeometry&, const Tensor&)>
Napi::Value UpsampleForward(const Napi::CallbackInfo& info) {
  const char* op = "interpolate";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  CONVNET_CHECK(!x.is_cuda(), "E_DEVICE", op, ": expected x on the CPU");
  CONVNET_CHECK(x.dim() == 3 && x.shape[1] >= 1 && x.shape[2] >= 1, "E_SHAPE", op, ": expected x of shape [planes, H, W], got ",
                shape_str(x.shape));
  const cpu::UpsampleGeometry g = upsample_geometry(info, 1, x.shape[0], x.shape[1], x.shape[2], false, op);
  Tensor y = Tensor::empty(Shape{g.planes, g.Ho, g.Wo}, DType::Float32, x.device());
  Queue::cpu().submit(op, y.numel(), [=] { Forward(x, g, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

// (dy [P, Ho, Wo], inputSize [H, W], scales [sh, sw], alignCorners) -> dx [P, H, W] (CPU only).
template <void (*Backward)(const Tensor&, const cpu::UpsampleGeometry&, const Tensor&)>
Napi::Value UpsampleBackward(const Napi::CallbackInfo& info) {
  const char* op = "interpolate backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  CONVNET_CHECK(!dy.is_cuda(), "E_DEVICE", op, ": expected dy on the CPU");
  CONVNET_CHECK(dy.dim() == 3 && dy.shape[1] >= 1 && dy.shape[2] >= 1, "E_SHAPE", op, ": expected dy of shape [planes, Ho, Wo], got ",
                shape_str(dy.shape));
  const cpu::UpsampleGeometry g = upsample_geometry(info, 1, dy.shape[0], dy.shape[1], dy.shape[2], true, op);
  Tensor dx = Tensor::empty(Shape{g.planes, g.H, g.W}, DType::Float32, dy.device());
  Queue::cpu().submit(op, dy.numel(), [=] { Backward(dy, g, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

Napi::Value UpsampleBilinear(const Napi::CallbackInfo& info) { return UpsampleForward<cpu::upsample_bilinear_forward>(info); }
Napi::Value UpsampleBilinearBackward(const Napi::CallbackInfo& info) { return UpsampleBackward<cpu::upsample_bilinear_backward>(info); }
Napi::Value UpsampleNearest(const Napi::CallbackInfo& info) { return UpsampleForward<cpu::upsample_nearest_forward>(info); }
Napi::Value UpsampleNearestBackward(const Napi::CallbackInfo& info) { return UpsampleBackward<cpu::upsample_nearest_backward>(info); }

namespace {
// The taps at info[1] (Int32Array index) and info[2] (Float32Array weight), `m` outputs of an
// axis of `n` inputs: copied (the caller may reuse its arrays), checked in range.
struct Taps {
  std::shared_ptr<std::vector<int32_t>> index;
  std::shared_ptr<std::vector<float>> weight;
  int64_t taps;
};
Taps taps_arg(const Napi::CallbackInfo& info, int64_t n, int64_t m, const char* op) {
  CONVNET_CHECK(info.Length() > 2 && info[1].IsTypedArray() && info[1].As<Napi::TypedArray>().TypedArrayType() == napi_int32_array &&
                    info[2].IsTypedArray() && info[2].As<Napi::TypedArray>().TypedArrayType() == napi_float32_array,
                "E_ARG", op, ": expected the taps as an Int32Array `index` and a Float32Array `weight`");
  Napi::Int32Array index = info[1].As<Napi::Int32Array>();
  Napi::Float32Array weight = info[2].As<Napi::Float32Array>();
  const int64_t len = static_cast<int64_t>(index.ElementLength());
  CONVNET_CHECK(static_cast<int64_t>(weight.ElementLength()) == len && (m == 0 ? len == 0 : len >= m && len % m == 0), "E_ARG", op,
                ": expected `index` and `weight` of the same length, a multiple of the ", m, " outputs, got ", len, " and ",
                weight.ElementLength());
  Taps t{std::make_shared<std::vector<int32_t>>(index.Data(), index.Data() + len),
         std::make_shared<std::vector<float>>(weight.Data(), weight.Data() + len), m == 0 ? 1 : len / m};
  for (int32_t i : *t.index) CONVNET_CHECK(i >= 0 && i < n, "E_INDEX", op, ": tap index ", i, " out of range for an axis of ", n);
  return t;
}
}  // namespace

// (x [outer, n, inner], index Int32Array [m * taps], weight Float32Array [m * taps], m) -> y [outer, m, inner] (CPU only).
Napi::Value ResampleAxis(const Napi::CallbackInfo& info) {
  const char* op = "interpolate";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  CONVNET_CHECK(!x.is_cuda(), "E_DEVICE", op, ": expected x on the CPU");
  CONVNET_CHECK(x.dim() == 3 && x.shape[1] >= 1, "E_SHAPE", op, ": expected x of shape [outer, n, inner], got ", shape_str(x.shape));
  const int64_t m = int_arg(info, 3, op, "m");
  CONVNET_CHECK(m >= 0 && m <= INT32_MAX, "E_ARG", op, ": expected `m` in [0, 2^31 - 1], got ", m);
  const Taps t = taps_arg(info, x.shape[1], m, op);
  const cpu::ResampleAxisGeometry g{x.shape[0], x.shape[1], m, x.shape[2], t.taps};
  Tensor y = Tensor::empty(Shape{g.outer, m, g.inner}, DType::Float32, x.device());
  Queue::cpu().submit(op, y.numel() * g.taps, [=] { cpu::resample_axis_forward(x, g, t.index->data(), t.weight->data(), y); });
  return wrap_tensor(info.Env(), std::move(y));
}

// (dy [outer, m, inner], index, weight, n) -> dx [outer, n, inner] (CPU only): the transpose.
Napi::Value ResampleAxisBackward(const Napi::CallbackInfo& info) {
  const char* op = "interpolate backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  CONVNET_CHECK(!dy.is_cuda(), "E_DEVICE", op, ": expected dy on the CPU");
  CONVNET_CHECK(dy.dim() == 3, "E_SHAPE", op, ": expected dy of shape [outer, m, inner], got ", shape_str(dy.shape));
  const int64_t n = int_arg(info, 3, op, "n");
  CONVNET_CHECK(n >= 1 && n <= INT32_MAX, "E_ARG", op, ": expected `n` in [1, 2^31 - 1], got ", n);
  const Taps t = taps_arg(info, n, dy.shape[1], op);
  const cpu::ResampleAxisGeometry g{dy.shape[0], n, dy.shape[1], dy.shape[2], t.taps};
  Tensor dx = Tensor::empty(Shape{g.outer, n, g.inner}, DType::Float32, dy.device());
  Queue::cpu().submit(op, dx.numel() + dy.numel() * g.taps, [=] { cpu::resample_axis_backward(dy, g, t.index->data(), t.weight->data(), dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

Napi::Value GridSampleForward(const Napi::CallbackInfo& info) {
  const char* op = "gridSample";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  const Tensor& grid = float_tensor_arg(info, 1, op, "grid");
  const cpu::GridSampleArgs a = grid_sample_args(info, 2, x, grid, op);
  Tensor y = Tensor::empty(Shape{x.shape[0], x.shape[1], grid.shape[1], grid.shape[2]}, DType::Float32, x.device());
  Queue::cpu().enqueue(op, [=] { cpu::grid_sample_forward(x, grid, a, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value GridSampleBackward(const Napi::CallbackInfo& info) {
  const char* op = "gridSample backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& x = float_tensor_arg(info, 1, op, "x");
  const Tensor& grid = float_tensor_arg(info, 2, op, "grid");
  const cpu::GridSampleArgs a = grid_sample_args(info, 3, x, grid, op);
  const bool need_dx = bool_arg(info, 6, op, "needX"), need_dgrid = bool_arg(info, 7, op, "needGrid");
  CONVNET_CHECK(dy.shape == (Shape{x.shape[0], x.shape[1], grid.shape[1], grid.shape[2]}) && dy.device() == x.device(), "E_SHAPE",
                op, ": `dy` ", shape_str(dy.shape), " does not match x ", shape_str(x.shape), " and grid ", shape_str(grid.shape));
  Tensor dx = need_dx ? Tensor::empty(x.shape, DType::Float32, x.device()) : Tensor{};
  Tensor dgrid = need_dgrid ? Tensor::empty(grid.shape, DType::Float32, x.device()) : Tensor{};
  Tensor dx_or_none = need_dx ? dx : Tensor::empty(Shape{0}, DType::Float32, x.device());
  Tensor dgrid_or_none = need_dgrid ? dgrid : Tensor::empty(Shape{0}, DType::Float32, x.device());
  Queue::cpu().enqueue(op, [=] { cpu::grid_sample_backward(dy, x, grid, a, dx_or_none, dgrid_or_none); });
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, need_dx ? wrap_tensor(info.Env(), std::move(dx)) : info.Env().Null());
  out.Set(1u, need_dgrid ? wrap_tensor(info.Env(), std::move(dgrid)) : info.Env().Null());
  return out;
}

// One LSTM / GRU step's gates (cpu/rnn_cell.cc), CPU only: lib/ composes them on the GPU.
namespace {
void check_rows_of(const Tensor& t, int64_t N, int64_t width, const char* op, const char* name) {
  expect_dtype(t, DType::Float32, op, name);
  CONVNET_CHECK(!t.is_cuda(), "E_DEVICE", op, ": no GPU kernel (lib/ composes it on the GPU)");
  CONVNET_CHECK(t.shape == (Shape{N, width}), "E_SHAPE", op, ": expected `", name, "` of shape [", N, ", ", width, "], got ",
                shape_str(t.shape));
}
// A state [N, H] on the CPU, checked; returns its shape (the other arguments are checked against it).
Shape state_shape(const Tensor& t, const char* op, const char* name) {
  expect_dtype(t, DType::Float32, op, name);
  CONVNET_CHECK(!t.is_cuda(), "E_DEVICE", op, ": no GPU kernel (lib/ composes it on the GPU)");
  CONVNET_CHECK(t.dim() == 2, "E_SHAPE", op, ": expected `", name, "` of shape [N, H], got ", shape_str(t.shape));
  return t.shape;
}

// A step's (xw [N, G·H], hw [N, G·H], state [N, H]) arguments, checked; returns [N, H].
Shape step_args(const Napi::CallbackInfo& info, const char* op, int64_t G, const char* state) {
  const Tensor& s = tensor_arg(info, 2, op, state);
  const Shape shape = state_shape(s, op, state);
  check_rows_of(tensor_arg(info, 0, op, "xw"), shape[0], G * shape[1], op, "xw");
  check_rows_of(tensor_arg(info, 1, op, "hw"), shape[0], G * shape[1], op, "hw");
  return shape;
}
}  // namespace

Napi::Value LstmCellForward(const Napi::CallbackInfo& info) {
  const char* op = "lstm";
  const Shape s = step_args(info, op, 4, "c");
  const Tensor &xw = tensor_arg(info, 0, op, "xw"), &hw = tensor_arg(info, 1, op, "hw"), &c = tensor_arg(info, 2, op, "c");
  Tensor h2 = Tensor::empty(s, DType::Float32, c.device()), c2 = Tensor::empty(s, DType::Float32, c.device());
  Tensor saved = Tensor::empty(Shape{s[0], 5 * s[1]}, DType::Float32, c.device());
  Queue::cpu().submit(op, saved.numel(), [=] { cpu::lstm_cell_forward(xw, hw, c, h2, c2, saved); });
  return handles(info.Env(), {h2, c2, saved});
}

Napi::Value LstmCellBackward(const Napi::CallbackInfo& info) {
  const char* op = "lstm backward";
  const Tensor& saved = tensor_arg(info, 0, op, "saved");
  const Tensor& c = tensor_arg(info, 1, op, "c");
  const Shape s = state_shape(c, op, "c");
  check_rows_of(saved, s[0], 5 * s[1], op, "saved");
  const Tensor* dh = optional_tensor_arg(info, 2, op, "dh");
  const Tensor* dc = optional_tensor_arg(info, 3, op, "dc");
  if (dh) check_rows_of(*dh, s[0], s[1], op, "dh");
  if (dc) check_rows_of(*dc, s[0], s[1], op, "dc");
  const bool has_dh = dh != nullptr, has_dc = dc != nullptr;
  const Tensor gh = or_empty(dh), gc = or_empty(dc);
  const Shape g{s[0], 4 * s[1]};
  Tensor dxw = Tensor::empty(g, DType::Float32, c.device()), dhw = Tensor::empty(g, DType::Float32, c.device());
  Tensor dcp = Tensor::empty(s, DType::Float32, c.device());
  Queue::cpu().submit(op, saved.numel(), [=] {
    cpu::lstm_cell_backward(saved, c, has_dh ? &gh : nullptr, has_dc ? &gc : nullptr, dxw, dhw, dcp);
  });
  return handles(info.Env(), {dxw, dhw, dcp});
}

Napi::Value GruCellForward(const Napi::CallbackInfo& info) {
  const char* op = "gru";
  const Shape s = step_args(info, op, 3, "h");
  const Tensor &xw = tensor_arg(info, 0, op, "xw"), &hw = tensor_arg(info, 1, op, "hw"), &h = tensor_arg(info, 2, op, "h");
  Tensor h2 = Tensor::empty(s, DType::Float32, h.device());
  Tensor saved = Tensor::empty(Shape{s[0], 4 * s[1]}, DType::Float32, h.device());
  Queue::cpu().submit(op, saved.numel(), [=] { cpu::gru_cell_forward(xw, hw, h, h2, saved); });
  return handles(info.Env(), {h2, saved});
}

Napi::Value GruCellBackward(const Napi::CallbackInfo& info) {
  const char* op = "gru backward";
  const Tensor& saved = tensor_arg(info, 0, op, "saved");
  const Tensor& h = tensor_arg(info, 1, op, "h");
  const Tensor& dy = tensor_arg(info, 2, op, "dy");
  const Shape s = state_shape(h, op, "h");
  check_rows_of(dy, s[0], s[1], op, "dy");
  check_rows_of(saved, s[0], 4 * s[1], op, "saved");
  Tensor dxw = Tensor::empty(Shape{s[0], 3 * s[1]}, DType::Float32, h.device()), dhw = Tensor::empty(Shape{s[0], 3 * s[1]}, DType::Float32, h.device());
  Tensor dh = Tensor::empty(s, DType::Float32, h.device());
  Queue::cpu().submit(op, saved.numel(), [=] { cpu::gru_cell_backward(saved, h, dy, dxw, dhw, dh); });
  return handles(info.Env(), {dxw, dhw, dh});
}

namespace {
struct RnnLayer {
  cpu::RnnCell mode;
  int64_t T, N, G, H;
};
// The cell and the sizes from xw [T, N, G·H] and h0 [N, H], every tensor checked against them.
RnnLayer rnn_layer_args(const Napi::CallbackInfo& info, const char* op, const Tensor& xw, const Tensor& h0, const Tensor* c0,
                        const Tensor& w_hh, const Tensor* b_hh) {
  const int64_t m = int_arg(info, 0, op, "mode");
  CONVNET_CHECK(m >= 0 && m <= 3, "E_ARG", op, ": unknown cell ", m);
  RnnLayer r{static_cast<cpu::RnnCell>(m), 0, 0, 0, 0};
  r.G = r.mode == cpu::RnnCell::Lstm ? 4 : r.mode == cpu::RnnCell::Gru ? 3 : 1;
  expect_dtype(xw, DType::Float32, op, "xw");
  CONVNET_CHECK(!xw.is_cuda(), "E_DEVICE", op, ": no GPU kernel (lib/ composes it on the GPU)");
  const Shape s = state_shape(h0, op, "h0");
  r.N = s[0];
  r.H = s[1];
  CONVNET_CHECK(xw.dim() == 3 && xw.shape[1] == r.N && xw.shape[2] == r.G * r.H, "E_SHAPE", op, ": expected `xw` of shape [T, ", r.N,
                ", ", r.G * r.H, "], got ", shape_str(xw.shape));
  r.T = xw.shape[0];
  CONVNET_CHECK((c0 != nullptr) == (r.mode == cpu::RnnCell::Lstm), "E_ARG", op, ": `c0` is for the LSTM alone");
  if (c0) check_rows_of(*c0, r.N, r.H, op, "c0");
  check_rows_of(w_hh, r.G * r.H, r.H, op, "w_hh");
  if (b_hh) {
    expect_dtype(*b_hh, DType::Float32, op, "b_hh");
    CONVNET_CHECK(b_hh->shape == Shape{r.G * r.H} && !b_hh->is_cuda(), "E_SHAPE", op, ": expected `b_hh` of shape [", r.G * r.H, "], got ",
                  shape_str(b_hh->shape));
  }
  return r;
}
// Optional per-sample lengths (an Int32Array of N values in [0, T], or null), copied for the kernel.
std::shared_ptr<std::vector<int32_t>> lengths_arg(const Napi::CallbackInfo& info, size_t i, const RnnLayer& r, const char* op) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  CONVNET_CHECK(info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == napi_int32_array, "E_ARG", op,
                ": expected `lengths` as an Int32Array or null");
  Napi::Int32Array a = info[i].As<Napi::Int32Array>();
  CONVNET_CHECK(static_cast<int64_t>(a.ElementLength()) == r.N, "E_ARG", op, ": expected ", r.N, " lengths, got ", a.ElementLength());
  auto v = std::make_shared<std::vector<int32_t>>(a.Data(), a.Data() + r.N);
  for (int32_t l : *v) CONVNET_CHECK(l >= 0 && l <= r.T, "E_ARG", op, ": a length ", l, " is outside [0, ", r.T, "]");
  return v;
}
int64_t kept_per_row(const RnnLayer& r) { return r.mode == cpu::RnnCell::Lstm ? 5 * r.H : r.mode == cpu::RnnCell::Gru ? 4 * r.H : 0; }
int64_t out_width(const RnnLayer& r) { return r.mode == cpu::RnnCell::Lstm ? 2 * r.H : r.H; }
}  // namespace

Napi::Value RnnLayerForward(const Napi::CallbackInfo& info) {
  const char* op = "rnn layer";
  const Tensor& xw = tensor_arg(info, 1, op, "xw");
  const Tensor& h0 = tensor_arg(info, 2, op, "h0");
  const Tensor* c0 = optional_tensor_arg(info, 3, op, "c0");
  const Tensor& w_hh = tensor_arg(info, 4, op, "w_hh");
  const Tensor* b_hh = optional_tensor_arg(info, 5, op, "b_hh");
  const bool reverse = bool_arg(info, 6, op, "reverse"), keep = bool_arg(info, 7, op, "keep");
  const RnnLayer r = rnn_layer_args(info, op, xw, h0, c0, w_hh, b_hh);
  Tensor out = Tensor::empty(Shape{r.T, r.N, out_width(r)}, DType::Float32, xw.device());
  const bool has_saved = keep && kept_per_row(r) > 0;
  Tensor saved = has_saved ? Tensor::empty(Shape{r.T, r.N, kept_per_row(r)}, DType::Float32, xw.device()) : Tensor{};
  const Tensor c = or_empty(c0), b = or_empty(b_hh);
  const bool has_c = c0 != nullptr, has_b = b_hh != nullptr;
  const auto lengths = lengths_arg(info, 8, r, op);
  Queue::cpu().enqueue(op, [=] {
    cpu::rnn_layer_forward(r.mode, reverse, xw, h0, has_c ? &c : nullptr, w_hh, has_b ? &b : nullptr, lengths ? lengths->data() : nullptr,
                           out, has_saved ? &saved : nullptr);
  });
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, wrap_tensor(info.Env(), std::move(out)));
  result.Set(1u, has_saved ? wrap_tensor(info.Env(), std::move(saved)) : info.Env().Null());
  return result;
}

Napi::Value RnnLayerBackward(const Napi::CallbackInfo& info) {
  const char* op = "rnn layer backward";
  const Tensor& dout = tensor_arg(info, 1, op, "dout");
  const Tensor& out = tensor_arg(info, 2, op, "out");
  const Tensor* saved = optional_tensor_arg(info, 3, op, "saved");
  const Tensor& xw = tensor_arg(info, 4, op, "xw");
  const Tensor& h0 = tensor_arg(info, 5, op, "h0");
  const Tensor* c0 = optional_tensor_arg(info, 6, op, "c0");
  const Tensor& w_hh = tensor_arg(info, 7, op, "w_hh");
  const bool reverse = bool_arg(info, 8, op, "reverse"), has_b = bool_arg(info, 9, op, "hasBias");
  const RnnLayer r = rnn_layer_args(info, op, xw, h0, c0, w_hh, nullptr);
  const Shape os{r.T, r.N, out_width(r)};
  for (const auto& [t, name] : {std::pair<const Tensor*, const char*>{&dout, "dout"}, {&out, "out"}}) {
    expect_dtype(*t, DType::Float32, op, name);
    CONVNET_CHECK(t->shape == os && !t->is_cuda(), "E_SHAPE", op, ": expected `", name, "` of shape ", shape_str(os), ", got ", shape_str(t->shape));
  }
  const int64_t kept = kept_per_row(r);
  CONVNET_CHECK((saved != nullptr) == (kept > 0), "E_ARG", op, ": `saved` is the forward's (null for the RNN)");
  if (saved) {
    expect_dtype(*saved, DType::Float32, op, "saved");
    CONVNET_CHECK(saved->shape == (Shape{r.T, r.N, kept}) && !saved->is_cuda(), "E_SHAPE", op, ": `saved` ", shape_str(saved->shape), " is not the forward's");
  }
  Tensor dxw = Tensor::empty(xw.shape, DType::Float32, xw.device()), dh0 = Tensor::empty(h0.shape, DType::Float32, xw.device());
  Tensor dc0 = c0 ? Tensor::empty(h0.shape, DType::Float32, xw.device()) : Tensor{};
  Tensor dw = Tensor::empty(w_hh.shape, DType::Float32, xw.device());
  Tensor db = has_b ? Tensor::empty(Shape{r.G * r.H}, DType::Float32, xw.device()) : Tensor{};
  const Tensor sv = or_empty(saved), c = or_empty(c0);
  const bool has_c = c0 != nullptr, has_saved = saved != nullptr;
  const auto lengths = lengths_arg(info, 10, r, op);
  Queue::cpu().enqueue(op, [=] {
    cpu::rnn_layer_backward(r.mode, reverse, dout, out, has_saved ? &sv : nullptr, h0, has_c ? &c : nullptr, w_hh,
                            lengths ? lengths->data() : nullptr, dxw, dh0, has_c ? &dc0 : nullptr, dw, has_b ? &db : nullptr);
  });
  Napi::Array result = Napi::Array::New(info.Env(), 5);
  result.Set(0u, wrap_tensor(info.Env(), std::move(dxw)));
  result.Set(1u, wrap_tensor(info.Env(), std::move(dh0)));
  result.Set(2u, has_c ? wrap_tensor(info.Env(), std::move(dc0)) : info.Env().Null());
  result.Set(3u, wrap_tensor(info.Env(), std::move(dw)));
  result.Set(4u, has_b ? wrap_tensor(info.Env(), std::move(db)) : info.Env().Null());
  return result;
}

}  // namespace api
}  // namespace convnet

namespace convnet {
namespace api {

Napi::Value EmbeddingBagForward(const Napi::CallbackInfo& info) {
  const char* op = "embeddingBag";
  const Tensor& weight = float_tensor_arg(info, 0, op, "weight");
  const Tensor& indices = tensor_arg(info, 1, op, "indices");
  const Tensor& bounds = tensor_arg(info, 2, op, "bounds");
  const Tensor* per_sample = optional_tensor_arg(info, 3, op, "perSample");
  const int64_t mode = int_arg(info, 4, op, "mode"), padding = int_arg(info, 5, op, "padding");
  expect_dtype(indices, DType::Int32, op, "indices");
  expect_dtype(bounds, DType::Int32, op, "bounds");
  CONVNET_CHECK(weight.dim() == 2 && indices.dim() == 1 && bounds.dim() == 1 && bounds.numel() >= 1, "E_SHAPE", op,
                ": expected weight [V, D], indices [M] and bounds [B + 1], got ", shape_str(weight.shape), ", ",
                shape_str(indices.shape), " and ", shape_str(bounds.shape));
  CONVNET_CHECK(mode >= 0 && mode <= 2, "E_ARG", op, ": mode ", mode, " is not 0 (sum), 1 (mean) or 2 (max)");
  if (per_sample) {
    expect_dtype(*per_sample, DType::Float32, op, "perSample");
    CONVNET_CHECK(per_sample->shape == indices.shape && mode == 0, "E_ARG", op, ": per-sample weights go with 'sum' and one per index");
  }
  const int64_t B = bounds.numel() - 1, D = weight.shape[1];
  const bool max = mode == 2;
  Tensor y = Tensor::empty({B, D}, DType::Float32);
  Tensor at = max ? Tensor::empty({B, D}, DType::Int32) : Tensor();
  Queue::cpu().enqueue(op, [weight, indices, bounds, ps = or_empty(per_sample), has_ps = per_sample != nullptr, mode, padding, y, at, max] {
    cpu::embedding_bag_forward(weight, indices, bounds, has_ps ? &ps : nullptr, static_cast<cpu::EmbeddingBagMode>(mode), padding, y,
                               max ? &at : nullptr);
  });
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, wrap_tensor(info.Env(), std::move(y)));
  out.Set(1u, max ? wrap_tensor(info.Env(), std::move(at)) : info.Env().Null());
  return out;
}

Napi::Value EmbeddingBagBackward(const Napi::CallbackInfo& info) {
  const char* op = "embeddingBag backward";
  const Tensor& dy = float_tensor_arg(info, 0, op, "dy");
  const Tensor& indices = tensor_arg(info, 1, op, "indices");
  const Tensor& bounds = tensor_arg(info, 2, op, "bounds");
  const Tensor* per_sample = optional_tensor_arg(info, 3, op, "perSample");
  const Tensor* maxima_at = optional_tensor_arg(info, 4, op, "maximaAt");
  const int64_t mode = int_arg(info, 5, op, "mode"), padding = int_arg(info, 6, op, "padding");
  const bool scale_by_freq = bool_arg(info, 7, op, "scaleByFreq");
  const int64_t V = int_arg(info, 8, op, "V");
  expect_dtype(indices, DType::Int32, op, "indices");
  expect_dtype(bounds, DType::Int32, op, "bounds");
  CONVNET_CHECK(dy.dim() == 2 && indices.dim() == 1 && bounds.numel() == dy.shape[0] + 1 && V >= 1 && mode >= 0 && mode <= 2, "E_SHAPE",
                op, ": expected dy [B, D], indices [M], bounds [B + 1] and V >= 1, got ", shape_str(dy.shape), ", ", shape_str(indices.shape),
                ", ", shape_str(bounds.shape), " and ", V);
  CONVNET_CHECK((mode == 2) == (maxima_at != nullptr) && (!maxima_at || maxima_at->shape == dy.shape), "E_ARG", op,
                ": 'max' and only it takes the maxima's positions, of dy's shape");
  CONVNET_CHECK(!per_sample || (per_sample->shape == indices.shape && per_sample->dtype == DType::Float32), "E_ARG", op,
                ": expected one float per-sample weight per index");
  Tensor dw = Tensor::empty({V, dy.shape[1]}, DType::Float32);
  Queue::cpu().enqueue(op, [dy, indices, bounds, ps = or_empty(per_sample), has_ps = per_sample != nullptr, at = or_empty(maxima_at),
                            has_at = maxima_at != nullptr, mode, padding, scale_by_freq, dw] {
    cpu::embedding_bag_backward(dy, indices, bounds, has_ps ? &ps : nullptr, has_at ? &at : nullptr, static_cast<cpu::EmbeddingBagMode>(mode),
                                padding, scale_by_freq, dw);
  });
  return wrap_tensor(info.Env(), std::move(dw));
}

}  // namespace api
}  // namespace convnet
