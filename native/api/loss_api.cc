// Entry points of the losses, forward and backward. Each checks its arguments again (the
// TypeScript layer checked them first), allocates its outputs here on the JavaScript thread,
// then enqueues the kernel on the CPU queue or, for inputs on the GPU, launches it on the stream
// (native/cuda/<same stem>.cu), and returns. Labels are data: they are checked by the kernel
// (E_INDEX at the next wait). Reduction codes: 0 none, 1 mean, 2 sum, 3 batchmean (kl_div
// only). Optional tensors (weight) are passed as null.
#include <cmath>

#include "api/api.h"
#include "core/queue.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace api {
namespace {

Reduction reduction_arg(const Napi::CallbackInfo& info, size_t i, const char* op, bool batchmean_allowed = false) {
  const int64_t code = int_arg(info, i, op, "reduction");
  CONVNET_CHECK(code >= 0 && code <= (batchmean_allowed ? 3 : 2), "E_ARG", op, ": unknown reduction code ", code);
  return static_cast<Reduction>(code);
}

int p_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  const int64_t p = int_arg(info, i, op, "p");
  CONVNET_CHECK(p == 1 || p == 2, "E_ARG", op, ": expected `p` to be 1 or 2, got ", p);
  return static_cast<int>(p);
}

// The loss tensor, on `device` (the inputs'): a scalar, or `per_sample` for None.
Tensor make_loss(Reduction reduction, const Shape& per_sample, Device device) {
  return Tensor::empty(reduction == Reduction::None ? per_sample : Shape{}, DType::Float32, device);
}

// dloss must have the loss's shape (a scalar may also come as [1]).
void check_dloss(const Tensor& dloss, Reduction reduction, const Shape& per_sample, const char* op) {
  expect_dtype(dloss, DType::Float32, op, "dloss");
  if (reduction == Reduction::None) {
    CONVNET_CHECK(dloss.shape == per_sample, "E_SHAPE", op, ": expected `dloss` of shape ", shape_str(per_sample),
                  " (reduction 'none'), got ", shape_str(dloss.shape));
  } else {
    CONVNET_CHECK(dloss.numel() == 1 && dloss.dim() <= 1, "E_SHAPE", op,
                  ": expected a scalar `dloss` (shape []), got ", shape_str(dloss.shape));
  }
}

void check_weight(const Tensor& weight, int64_t classes, const char* op) {
  if (!weight.storage()) return;
  expect_dtype(weight, DType::Float32, op, "weight");
  CONVNET_CHECK(weight.dim() == 1 && weight.shape[0] == classes, "E_SHAPE", op, ": expected `weight` of shape [",
                classes, "], got ", shape_str(weight.shape));
}

// x [N, C, d...] (float32) and target [N, d...] (int32) for cross_entropy and nll_loss; returns
// the per-sample shape (target's).
Shape check_class_scores(const Tensor& x, const Tensor& target, const Tensor& weight, const char* op) {
  expect_dtype(x, DType::Float32, op, "input");
  expect_dtype(target, DType::Int32, op, "target");
  CONVNET_CHECK(x.dim() >= 2, "E_SHAPE", op, ": expected `input` of shape [N, C] or [N, C, d1, ...], got ",
                shape_str(x.shape));
  CONVNET_CHECK(x.shape[1] >= 1, "E_SHAPE", op, ": expected at least one class, got `input` of shape ", shape_str(x.shape));
  Shape expected{x.shape[0]};
  expected.insert(expected.end(), x.shape.begin() + 2, x.shape.end());
  CONVNET_CHECK(target.shape == expected, "E_SHAPE", op, ": expected `target` of shape ", shape_str(expected),
                " for `input` of shape ", shape_str(x.shape), ", got ", shape_str(target.shape));
  check_weight(weight, x.shape[1], op);
  return expected;
}

// x [N, C] (float32) and target [N] (int32) for the hinge losses.
void check_scores_2d(const Tensor& x, const Tensor& target, const char* op) {
  expect_dtype(x, DType::Float32, op, "input");
  expect_dtype(target, DType::Int32, op, "target");
  CONVNET_CHECK(x.dim() == 2 && x.shape[1] >= 1, "E_SHAPE", op, ": expected `input` of shape [N, C], got ",
                shape_str(x.shape));
  CONVNET_CHECK(target.shape == Shape{x.shape[0]}, "E_SHAPE", op, ": expected `target` of shape [", x.shape[0],
                "], got ", shape_str(target.shape));
}

// Float32 [N, D] tensors of one shape (the embedding losses).
void check_rows(std::initializer_list<std::pair<const Tensor*, const char*>> tensors, const char* op) {
  const Tensor& first = *tensors.begin()->first;
  for (const auto& [t, name] : tensors) {
    expect_dtype(*t, DType::Float32, op, name);
    CONVNET_CHECK(t->dim() == 2, "E_SHAPE", op, ": expected `", name, "` of shape [N, D], got ", shape_str(t->shape));
    CONVNET_CHECK(t->shape == first.shape, "E_SHAPE", op, ": expected `", name, "` of shape ", shape_str(first.shape),
                  " (as `", tensors.begin()->second, "`), got ", shape_str(t->shape));
  }
}

Napi::Value pair(Napi::Env env, Tensor first, Tensor second) {
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, wrap_tensor(env, std::move(first)));
  out.Set(1u, second.storage() ? wrap_tensor(env, std::move(second)) : env.Null());
  return out;
}

}  // namespace

Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  const char* op = "crossEntropy";
  const Tensor& x = tensor_arg(info, 0, op, "input");
  const Tensor& target = tensor_arg(info, 1, op, "target");
  const Tensor weight = or_empty(optional_tensor_arg(info, 2, op, "weight"));
  const int64_t ignore_index = int_arg(info, 3, op, "ignoreIndex");
  const double smoothing = finite_arg(info, 4, op, "labelSmoothing", 0.0);
  CONVNET_CHECK(smoothing <= 1.0, "E_ARG", op, ": expected `labelSmoothing` in [0, 1], got ", smoothing);
  const Reduction reduction = reduction_arg(info, 5, op);
  const Shape per_sample = check_class_scores(x, target, weight, op);
  Tensor loss = make_loss(reduction, per_sample, x.device());
  if (x.is_cuda())
    CONVNET_ON_CUDA(op, cuda::cross_entropy_forward(x, target, weight, ignore_index, smoothing, reduction, loss));
  else
    Queue::cpu().enqueue(op, [=] { cpu::cross_entropy_forward(x, target, weight, ignore_index, smoothing, reduction, loss); });
  return wrap_tensor(info.Env(), std::move(loss));
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  const char* op = "crossEntropy backward";
  const Tensor& dloss = tensor_arg(info, 0, op, "dloss");
  const Tensor& x = tensor_arg(info, 1, op, "input");
  const Tensor& target = tensor_arg(info, 2, op, "target");
  const Tensor weight = or_empty(optional_tensor_arg(info, 3, op, "weight"));
  const int64_t ignore_index = int_arg(info, 4, op, "ignoreIndex");
  const double smoothing = finite_arg(info, 5, op, "labelSmoothing", 0.0);
  CONVNET_CHECK(smoothing <= 1.0, "E_ARG", op, ": expected `labelSmoothing` in [0, 1], got ", smoothing);
  const Reduction reduction = reduction_arg(info, 6, op);
  check_dloss(dloss, reduction, check_class_scores(x, target, weight, op), op);
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda())
    CONVNET_ON_CUDA(op, cuda::cross_entropy_backward(dloss, x, target, weight, ignore_index, smoothing, reduction, dx));
  else
    Queue::cpu().enqueue(op, [=] { cpu::cross_entropy_backward(dloss, x, target, weight, ignore_index, smoothing, reduction, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

Napi::Value NllLossForward(const Napi::CallbackInfo& info) {
  const char* op = "nllLoss";
  const Tensor& x = tensor_arg(info, 0, op, "input");
  const Tensor& target = tensor_arg(info, 1, op, "target");
  const Tensor weight = or_empty(optional_tensor_arg(info, 2, op, "weight"));
  const int64_t ignore_index = int_arg(info, 3, op, "ignoreIndex");
  const Reduction reduction = reduction_arg(info, 4, op);
  const Shape per_sample = check_class_scores(x, target, weight, op);
  Tensor loss = make_loss(reduction, per_sample, x.device());
  if (x.is_cuda())
    CONVNET_ON_CUDA(op, cuda::nll_loss_forward(x, target, weight, ignore_index, reduction, loss));
  else
    Queue::cpu().enqueue(op, [=] { cpu::nll_loss_forward(x, target, weight, ignore_index, reduction, loss); });
  return wrap_tensor(info.Env(), std::move(loss));
}

Napi::Value NllLossBackward(const Napi::CallbackInfo& info) {
  const char* op = "nllLoss backward";
  const Tensor& dloss = tensor_arg(info, 0, op, "dloss");
  const Tensor& x = tensor_arg(info, 1, op, "input");
  const Tensor& target = tensor_arg(info, 2, op, "target");
  const Tensor weight = or_empty(optional_tensor_arg(info, 3, op, "weight"));
  const int64_t ignore_index = int_arg(info, 4, op, "ignoreIndex");
  const Reduction reduction = reduction_arg(info, 5, op);
  check_dloss(dloss, reduction, check_class_scores(x, target, weight, op), op);
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda())
    CONVNET_ON_CUDA(op, cuda::nll_loss_backward(dloss, target, weight, ignore_index, reduction, dx));
  else
    Queue::cpu().enqueue(op, [=] { cpu::nll_loss_backward(dloss, target, weight, ignore_index, reduction, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

Napi::Value HingeLossForward(const Napi::CallbackInfo& info) {
  const char* op = "hingeLoss";
  const Tensor& x = tensor_arg(info, 0, op, "input");
  const Tensor& target = tensor_arg(info, 1, op, "target");
  const int p = p_arg(info, 2, op);
  const double margin = finite_arg(info, 3, op, "margin", 0.0);
  const Reduction reduction = reduction_arg(info, 4, op);
  check_scores_2d(x, target, op);
  Tensor loss = make_loss(reduction, target.shape, x.device());
  if (x.is_cuda())
    CONVNET_ON_CUDA(op, cuda::hinge_loss_forward(x, target, p, margin, reduction, loss));
  else
    Queue::cpu().enqueue(op, [=] { cpu::hinge_loss_forward(x, target, p, margin, reduction, loss); });
  return wrap_tensor(info.Env(), std::move(loss));
}

Napi::Value HingeLossBackward(const Napi::CallbackInfo& info) {
  const char* op = "hingeLoss backward";
  const Tensor& dloss = tensor_arg(info, 0, op, "dloss");
  const Tensor& x = tensor_arg(info, 1, op, "input");
  const Tensor& target = tensor_arg(info, 2, op, "target");
  const int p = p_arg(info, 3, op);
  const double margin = finite_arg(info, 4, op, "margin", 0.0);
  const Reduction reduction = reduction_arg(info, 5, op);
  check_scores_2d(x, target, op);
  check_dloss(dloss, reduction, target.shape, op);
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda())
    CONVNET_ON_CUDA(op, cuda::hinge_loss_backward(dloss, x, target, p, margin, reduction, dx));
  else
    Queue::cpu().enqueue(op, [=] { cpu::hinge_loss_backward(dloss, x, target, p, margin, reduction, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

// multiMarginLoss takes PyTorch's [C] input with a [] or [1] target too: the kernel sees [1, C].
Napi::Value MultiMarginLossForward(const Napi::CallbackInfo& info) {
  const char* op = "multiMarginLoss";
  Tensor x = tensor_arg(info, 0, op, "input");
  Tensor target = tensor_arg(info, 1, op, "target");
  const int p = p_arg(info, 2, op);
  const double margin = finite_arg(info, 3, op, "margin", 0.0);
  const Tensor weight = or_empty(optional_tensor_arg(info, 4, op, "weight"));
  const Reduction reduction = reduction_arg(info, 5, op);
  const Shape per_sample = target.shape;
  if (x.dim() == 1 && target.numel() == 1 && target.dim() <= 1) x.shape = {1, x.shape[0]}, target.shape = {1};
  check_scores_2d(x, target, op);
  check_weight(weight, x.shape[1], op);
  Tensor loss = make_loss(reduction, per_sample, x.device());
  if (x.is_cuda())
    CONVNET_ON_CUDA(op, cuda::multi_margin_loss_forward(x, target, p, margin, weight, reduction, loss));
  else
    Queue::cpu().enqueue(op, [=] { cpu::multi_margin_loss_forward(x, target, p, margin, weight, reduction, loss); });
  return wrap_tensor(info.Env(), std::move(loss));
}

Napi::Value MultiMarginLossBackward(const Napi::CallbackInfo& info) {
  const char* op = "multiMarginLoss backward";
  const Tensor& dloss = tensor_arg(info, 0, op, "dloss");
  Tensor x = tensor_arg(info, 1, op, "input");
  Tensor target = tensor_arg(info, 2, op, "target");
  const int p = p_arg(info, 3, op);
  const double margin = finite_arg(info, 4, op, "margin", 0.0);
  const Tensor weight = or_empty(optional_tensor_arg(info, 5, op, "weight"));
  const Reduction reduction = reduction_arg(info, 6, op);
  const Shape per_sample = target.shape, x_shape = x.shape;
  if (x.dim() == 1 && target.numel() == 1 && target.dim() <= 1) x.shape = {1, x.shape[0]}, target.shape = {1};
  check_scores_2d(x, target, op);
  check_weight(weight, x.shape[1], op);
  check_dloss(dloss, reduction, per_sample, op);
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda())
    CONVNET_ON_CUDA(op, cuda::multi_margin_loss_backward(dloss, x, target, p, margin, weight, reduction, dx));
  else
    Queue::cpu().enqueue(op, [=] { cpu::multi_margin_loss_backward(dloss, x, target, p, margin, weight, reduction, dx); });
  dx.shape = x_shape;
  return wrap_tensor(info.Env(), std::move(dx));
}

// cosineEmbeddingLoss, CPU only (lib/ composes it on the GPU, and for inputs that broadcast):
// a, b [N, D] (lib/ reshapes PyTorch's [D] form), y [N] float32 or int32.
namespace {
void check_cosine_embedding(const Tensor& a, const Tensor& b, const Tensor& y, const char* op) {
  check_rows({{&a, "input1"}, {&b, "input2"}}, op);
  CONVNET_CHECK(y.dtype == DType::Float32 || y.dtype == DType::Int32, "E_DTYPE", op, ": expected `target` of dtype float32 or int32");
  CONVNET_CHECK(y.shape == Shape{a.shape[0]}, "E_SHAPE", op, ": expected `target` of shape [", a.shape[0], "], got ", shape_str(y.shape));
  CONVNET_CHECK(!a.is_cuda() && !b.is_cuda() && !y.is_cuda(), "E_DEVICE", op, ": no GPU kernel (lib/ composes it on the GPU)");
}
}  // namespace

Napi::Value CosineEmbeddingLossForward(const Napi::CallbackInfo& info) {
  const char* op = "cosineEmbeddingLoss";
  const Tensor& a = tensor_arg(info, 0, op, "input1");
  const Tensor& b = tensor_arg(info, 1, op, "input2");
  const Tensor& y = tensor_arg(info, 2, op, "target");
  const double margin = finite_arg(info, 3, op, "margin");
  const Reduction reduction = reduction_arg(info, 4, op);
  check_cosine_embedding(a, b, y, op);
  Tensor loss = make_loss(reduction, y.shape, a.device());
  Queue::cpu().enqueue(op, [=] { cpu::cosine_embedding_loss_forward(a, b, y, margin, reduction, loss); });
  return wrap_tensor(info.Env(), std::move(loss));
}

Napi::Value CosineEmbeddingLossBackward(const Napi::CallbackInfo& info) {
  const char* op = "cosineEmbeddingLoss backward";
  const Tensor& dloss = tensor_arg(info, 0, op, "dloss");
  const Tensor& a = tensor_arg(info, 1, op, "input1");
  const Tensor& b = tensor_arg(info, 2, op, "input2");
  const Tensor& y = tensor_arg(info, 3, op, "target");
  const double margin = finite_arg(info, 4, op, "margin");
  const Reduction reduction = reduction_arg(info, 5, op);
  const bool want_a = bool_arg(info, 6, op, "input1Grad"), want_b = bool_arg(info, 7, op, "input2Grad");
  check_cosine_embedding(a, b, y, op);
  check_dloss(dloss, reduction, y.shape, op);
  CONVNET_CHECK(!dloss.is_cuda(), "E_DEVICE", op, ": expected `dloss` on the CPU");
  Tensor da = want_a ? Tensor::empty(a.shape, DType::Float32, a.device()) : Tensor{};
  Tensor db = want_b ? Tensor::empty(a.shape, DType::Float32, a.device()) : Tensor{};
  Queue::cpu().enqueue(op, [=] { cpu::cosine_embedding_loss_backward(dloss, a, b, y, margin, reduction, da, db); });
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, da.storage() ? wrap_tensor(info.Env(), std::move(da)) : info.Env().Null());
  out.Set(1u, db.storage() ? wrap_tensor(info.Env(), std::move(db)) : info.Env().Null());
  return out;
}

// multilabelMarginLoss, CPU only (lib/ composes it on the GPU); x [N, C] float32, target [N, C]
// int32 (lib/ reshapes PyTorch's [C] and scalar forms).
namespace {
void check_multilabel(const Tensor& x, const Tensor& target, const char* op) {
  expect_dtype(x, DType::Float32, op, "input");
  expect_dtype(target, DType::Int32, op, "target");
  CONVNET_CHECK(x.dim() == 2 && x.shape[1] >= 1, "E_SHAPE", op, ": expected `input` of shape [N, C], got ", shape_str(x.shape));
  CONVNET_CHECK(target.shape == x.shape, "E_SHAPE", op, ": expected `target` of shape ", shape_str(x.shape), ", got ",
                shape_str(target.shape));
  CONVNET_CHECK(!x.is_cuda() && !target.is_cuda(), "E_DEVICE", op, ": no GPU kernel (lib/ composes it on the GPU)");
}
}  // namespace

Napi::Value MultilabelMarginLossForward(const Napi::CallbackInfo& info) {
  const char* op = "multilabelMarginLoss";
  const Tensor& x = tensor_arg(info, 0, op, "input");
  const Tensor& target = tensor_arg(info, 1, op, "target");
  const Reduction reduction = reduction_arg(info, 2, op);
  check_multilabel(x, target, op);
  Tensor loss = make_loss(reduction, Shape{x.shape[0]}, x.device());
  Queue::cpu().enqueue(op, [=] { cpu::multilabel_margin_loss_forward(x, target, reduction, loss); });
  return wrap_tensor(info.Env(), std::move(loss));
}

Napi::Value MultilabelMarginLossBackward(const Napi::CallbackInfo& info) {
  const char* op = "multilabelMarginLoss backward";
  const Tensor& dloss = tensor_arg(info, 0, op, "dloss");
  const Tensor& x = tensor_arg(info, 1, op, "input");
  const Tensor& target = tensor_arg(info, 2, op, "target");
  const Reduction reduction = reduction_arg(info, 3, op);
  check_multilabel(x, target, op);
  check_dloss(dloss, reduction, Shape{x.shape[0]}, op);
  CONVNET_CHECK(!dloss.is_cuda(), "E_DEVICE", op, ": expected `dloss` on the CPU");
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  Queue::cpu().enqueue(op, [=] { cpu::multilabel_margin_loss_backward(dloss, x, target, reduction, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

// ctcLoss, CPU only (lib/ moves a GPU tensor through the CPU); the lengths' and labels' values
// are checked when the kernel runs (they are tensors, maybe not computed yet).
namespace {
void check_ctc(const Tensor& lp, const Tensor& targets, const Tensor& il, const Tensor& tl, int64_t blank, const char* op) {
  expect_dtype(lp, DType::Float32, op, "logProbs");
  for (const auto& [t, name] : {std::pair<const Tensor*, const char*>{&targets, "targets"}, {&il, "inputLengths"}, {&tl, "targetLengths"}}) {
    expect_dtype(*t, DType::Int32, op, name);
    CONVNET_CHECK(!t->is_cuda(), "E_DEVICE", op, ": no GPU kernel (lib/ moves the inputs to the CPU)");
  }
  CONVNET_CHECK(!lp.is_cuda(), "E_DEVICE", op, ": no GPU kernel (lib/ moves the inputs to the CPU)");
  CONVNET_CHECK(lp.dim() == 3 && lp.shape[2] >= 1, "E_SHAPE", op, ": expected `logProbs` of shape [T, N, C], got ", shape_str(lp.shape));
  const int64_t N = lp.shape[1];
  CONVNET_CHECK(il.dim() == 1 && il.shape[0] == N && tl.dim() == 1 && tl.shape[0] == N, "E_SHAPE", op,
                ": expected `inputLengths` and `targetLengths` of shape [", N, "], got ", shape_str(il.shape), " and ", shape_str(tl.shape));
  CONVNET_CHECK((targets.dim() == 2 && targets.shape[0] == N) || targets.dim() == 1, "E_SHAPE", op, ": expected `targets` of shape [",
                N, ", S] or [sum of the target lengths], got ", shape_str(targets.shape));
  CONVNET_CHECK(blank >= 0 && blank < lp.shape[2], "E_ARG", op, ": blank ", blank, " is outside [0, ", lp.shape[2], ")");
}
}  // namespace

Napi::Value CtcLossForward(const Napi::CallbackInfo& info) {
  const char* op = "ctcLoss";
  const Tensor& lp = tensor_arg(info, 0, op, "logProbs");
  const Tensor& targets = tensor_arg(info, 1, op, "targets");
  const Tensor& il = tensor_arg(info, 2, op, "inputLengths");
  const Tensor& tl = tensor_arg(info, 3, op, "targetLengths");
  const int64_t blank = int_arg(info, 4, op, "blank");
  const bool zero_infinity = bool_arg(info, 5, op, "zeroInfinity");
  const bool want_grad = bool_arg(info, 6, op, "wantGrad");
  check_ctc(lp, targets, il, tl, blank, op);
  Tensor nll = Tensor::empty(Shape{lp.shape[1]}, DType::Float32, lp.device());
  Tensor dlp = want_grad ? Tensor::empty(lp.shape, DType::Float32, lp.device()) : Tensor{};
  Queue::cpu().enqueue(op, [=] { cpu::ctc_loss_forward(lp, targets, il, tl, blank, zero_infinity, nll, want_grad ? &dlp : nullptr); });
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, wrap_tensor(info.Env(), std::move(nll)));
  out.Set(1u, want_grad ? wrap_tensor(info.Env(), std::move(dlp)) : info.Env().Null());
  return out;
}

Napi::Value ContrastiveLossForward(const Napi::CallbackInfo& info) {
  const char* op = "contrastiveLoss";
  const Tensor& a = tensor_arg(info, 0, op, "a");
  const Tensor& b = tensor_arg(info, 1, op, "b");
  const Tensor& y = tensor_arg(info, 2, op, "y");
  const double margin = finite_arg(info, 3, op, "margin", 0.0);
  const Reduction reduction = reduction_arg(info, 4, op);
  check_rows({{&a, "a"}, {&b, "b"}}, op);
  CONVNET_CHECK(y.shape == Shape{a.shape[0]}, "E_SHAPE", op, ": expected `y` of shape [", a.shape[0], "], got ",
                shape_str(y.shape));
  Tensor loss = make_loss(reduction, y.shape, a.device());
  if (a.is_cuda())
    CONVNET_ON_CUDA(op, cuda::contrastive_loss_forward(a, b, y, margin, reduction, loss));
  else
    Queue::cpu().enqueue(op, [=] { cpu::contrastive_loss_forward(a, b, y, margin, reduction, loss); });
  return wrap_tensor(info.Env(), std::move(loss));
}

Napi::Value ContrastiveLossBackward(const Napi::CallbackInfo& info) {
  const char* op = "contrastiveLoss backward";
  const Tensor& dloss = tensor_arg(info, 0, op, "dloss");
  const Tensor& a = tensor_arg(info, 1, op, "a");
  const Tensor& b = tensor_arg(info, 2, op, "b");
  const Tensor& y = tensor_arg(info, 3, op, "y");
  const double margin = finite_arg(info, 4, op, "margin", 0.0);
  const Reduction reduction = reduction_arg(info, 5, op);
  check_rows({{&a, "a"}, {&b, "b"}}, op);
  CONVNET_CHECK(y.shape == Shape{a.shape[0]}, "E_SHAPE", op, ": expected `y` of shape [", a.shape[0], "], got ",
                shape_str(y.shape));
  check_dloss(dloss, reduction, y.shape, op);
  Tensor da = Tensor::empty(a.shape, DType::Float32, a.device()), db = Tensor::empty(a.shape, DType::Float32, a.device());
  if (a.is_cuda())
    CONVNET_ON_CUDA(op, cuda::contrastive_loss_backward(dloss, a, b, y, margin, reduction, da, db));
  else
    Queue::cpu().enqueue(op, [=] { cpu::contrastive_loss_backward(dloss, a, b, y, margin, reduction, da, db); });
  return pair(info.Env(), std::move(da), std::move(db));
}

namespace {
TripletOptions triplet_options(const Napi::CallbackInfo& info, size_t i, const char* op) {
  TripletOptions o;
  o.margin = finite_arg(info, i, op, "margin", 0.0);
  o.p = p_arg(info, i + 1, op);
  o.eps = finite_arg(info, i + 2, op, "eps", 0.0);
  o.swap = bool_arg(info, i + 3, op, "swap");
  o.squared = bool_arg(info, i + 4, op, "squared");
  CONVNET_CHECK(!o.squared || o.p == 2, "E_ARG", op, ": `squared` distances need p = 2, got p = ", o.p);
  return o;
}
}  // namespace

Napi::Value TripletMarginLossForward(const Napi::CallbackInfo& info) {
  const char* op = "tripletMarginLoss";
  const Tensor& a = tensor_arg(info, 0, op, "anchor");
  const Tensor& pos = tensor_arg(info, 1, op, "positive");
  const Tensor& neg = tensor_arg(info, 2, op, "negative");
  const TripletOptions o = triplet_options(info, 3, op);
  const Reduction reduction = reduction_arg(info, 8, op);
  check_rows({{&a, "anchor"}, {&pos, "positive"}, {&neg, "negative"}}, op);
  Tensor loss = make_loss(reduction, {a.shape[0]}, a.device());
  if (a.is_cuda())
    CONVNET_ON_CUDA(op, cuda::triplet_margin_loss_forward(a, pos, neg, o, reduction, loss));
  else
    Queue::cpu().enqueue(op, [=] { cpu::triplet_margin_loss_forward(a, pos, neg, o, reduction, loss); });
  return wrap_tensor(info.Env(), std::move(loss));
}

Napi::Value TripletMarginLossBackward(const Napi::CallbackInfo& info) {
  const char* op = "tripletMarginLoss backward";
  const Tensor& dloss = tensor_arg(info, 0, op, "dloss");
  const Tensor& a = tensor_arg(info, 1, op, "anchor");
  const Tensor& pos = tensor_arg(info, 2, op, "positive");
  const Tensor& neg = tensor_arg(info, 3, op, "negative");
  const TripletOptions o = triplet_options(info, 4, op);
  const Reduction reduction = reduction_arg(info, 9, op);
  check_rows({{&a, "anchor"}, {&pos, "positive"}, {&neg, "negative"}}, op);
  check_dloss(dloss, reduction, {a.shape[0]}, op);
  Tensor da = Tensor::empty(a.shape, DType::Float32, a.device()), dpos = Tensor::empty(a.shape, DType::Float32, a.device()),
         dneg = Tensor::empty(a.shape, DType::Float32, a.device());
  if (a.is_cuda())
    CONVNET_ON_CUDA(op, cuda::triplet_margin_loss_backward(dloss, a, pos, neg, o, reduction, da, dpos, dneg));
  else
    Queue::cpu().enqueue(op, [=] { cpu::triplet_margin_loss_backward(dloss, a, pos, neg, o, reduction, da, dpos, dneg); });
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, wrap_tensor(env, std::move(da)));
  out.Set(1u, wrap_tensor(env, std::move(dpos)));
  out.Set(2u, wrap_tensor(env, std::move(dneg)));
  return out;
}

namespace {
void check_kl(const Tensor& x, const Tensor& target, const char* op) {
  expect_dtype(x, DType::Float32, op, "input");
  expect_dtype(target, DType::Float32, op, "target");
  CONVNET_CHECK(x.shape == target.shape, "E_SHAPE", op, ": expected `target` of shape ", shape_str(x.shape),
                " (as `input`), got ", shape_str(target.shape));
}
}  // namespace

Napi::Value KlDivForward(const Napi::CallbackInfo& info) {
  const char* op = "klDiv";
  const Tensor& x = tensor_arg(info, 0, op, "input");
  const Tensor& target = tensor_arg(info, 1, op, "target");
  const Reduction reduction = reduction_arg(info, 2, op, /*batchmean_allowed=*/true);
  const bool log_target = bool_arg(info, 3, op, "logTarget");
  check_kl(x, target, op);
  Tensor loss = make_loss(reduction, x.shape, x.device());
  if (x.is_cuda())
    CONVNET_ON_CUDA(op, cuda::kl_div_forward(x, target, log_target, reduction, loss));
  else
    Queue::cpu().enqueue(op, [=] { cpu::kl_div_forward(x, target, log_target, reduction, loss); });
  return wrap_tensor(info.Env(), std::move(loss));
}

Napi::Value KlDivBackward(const Napi::CallbackInfo& info) {
  const char* op = "klDiv backward";
  const Tensor& dloss = tensor_arg(info, 0, op, "dloss");
  const Tensor& x = tensor_arg(info, 1, op, "input");
  const Tensor& target = tensor_arg(info, 2, op, "target");
  const Reduction reduction = reduction_arg(info, 3, op, /*batchmean_allowed=*/true);
  const bool log_target = bool_arg(info, 4, op, "logTarget");
  const bool want_target_grad = bool_arg(info, 5, op, "targetGrad");
  check_kl(x, target, op);
  check_dloss(dloss, reduction, x.shape, op);
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  Tensor dtarget = want_target_grad ? Tensor::empty(x.shape, DType::Float32, x.device()) : Tensor{};
  if (x.is_cuda())
    CONVNET_ON_CUDA(op, cuda::kl_div_backward(dloss, x, target, log_target, reduction, dx, dtarget));
  else
    Queue::cpu().enqueue(op, [=] { cpu::kl_div_backward(dloss, x, target, log_target, reduction, dx, dtarget); });
  return pair(info.Env(), std::move(dx), std::move(dtarget));
}

// Binary cross-entropy of probabilities, per element (lib/nn/functional/loss.ts weights and
// reduces it). The kernels check x's range themselves (no copy): see cpu/binary_cross_entropy.cc.
namespace {
void check_bce(const Tensor& x, const Tensor& target, const char* op) {
  expect_dtype(x, DType::Float32, op, "input");
  expect_dtype(target, DType::Float32, op, "target");
  CONVNET_CHECK(target.shape == x.shape, "E_SHAPE", op, ": expected `target` of shape ", shape_str(x.shape), ", got ", shape_str(target.shape));
  CONVNET_CHECK(target.device() == x.device(), "E_DEVICE", op, ": `input` and `target` are on different devices");
}
}  // namespace

Napi::Value BinaryCrossEntropyForward(const Napi::CallbackInfo& info) {
  const char* op = "binaryCrossEntropy";
  const Tensor& x = tensor_arg(info, 0, op, "input");
  const Tensor& target = tensor_arg(info, 1, op, "target");
  check_bce(x, target, op);
  Tensor loss = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda())
    CONVNET_ON_CUDA(op, cuda::binary_cross_entropy_forward(x, target, loss));
  else
    Queue::cpu().enqueue(op, [=] { cpu::binary_cross_entropy_forward(x, target, loss); });
  return wrap_tensor(info.Env(), std::move(loss));
}

Napi::Value BinaryCrossEntropyBackward(const Napi::CallbackInfo& info) {
  const char* op = "binaryCrossEntropy backward";
  const Tensor& dloss = tensor_arg(info, 0, op, "dloss");
  const Tensor& x = tensor_arg(info, 1, op, "input");
  const Tensor& target = tensor_arg(info, 2, op, "target");
  const bool want_input_grad = bool_arg(info, 3, op, "inputGrad"), want_target_grad = bool_arg(info, 4, op, "targetGrad");
  check_bce(x, target, op);
  expect_dtype(dloss, DType::Float32, op, "dloss");
  CONVNET_CHECK(dloss.shape == x.shape && dloss.device() == x.device(), "E_SHAPE", op, ": expected `dloss` of shape ", shape_str(x.shape), " on `input`'s device, got ", shape_str(dloss.shape));
  Tensor dx = want_input_grad ? Tensor::empty(x.shape, DType::Float32, x.device()) : Tensor{};
  Tensor dtarget = want_target_grad ? Tensor::empty(x.shape, DType::Float32, x.device()) : Tensor{};
  if (x.is_cuda())
    CONVNET_ON_CUDA(op, cuda::binary_cross_entropy_backward(dloss, x, target, dx, dtarget));
  else
    Queue::cpu().enqueue(op, [=] { cpu::binary_cross_entropy_backward(dloss, x, target, dx, dtarget); });
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, dx.storage() ? wrap_tensor(info.Env(), std::move(dx)) : info.Env().Null());
  out.Set(1u, dtarget.storage() ? wrap_tensor(info.Env(), std::move(dtarget)) : info.Env().Null());
  return out;
}

// The losses of one value per element pair, CPU only (lib/nn/functional/loss.ts reduces the loss,
// and composes them on the GPU): see cpu/pointwise_loss.cc. kind: lib/native.ts's PointwiseLoss.
namespace {
const char* const kPointwiseLossNames[] = {"mseLoss", "l1Loss", "smoothL1Loss", "huberLoss", "binaryCrossEntropyWithLogits", "softMarginLoss"};

cpu::PointwiseLoss pointwise_loss_arg(const Napi::CallbackInfo& info, size_t i) {
  const int64_t kind = int_arg(info, i, "pointwise loss", "kind");
  CONVNET_CHECK(kind >= 0 && kind <= 5, "E_ARG", "pointwise loss: unknown kind ", kind);
  return static_cast<cpu::PointwiseLoss>(kind);
}

// pos_weight: BCE of logits' optional weight per class (one per entry of the last axis); null for none.
void check_pointwise_loss(const Tensor& x, const Tensor& target, cpu::PointwiseLoss kind, float beta, const Tensor* pos_weight,
                          const char* op) {
  expect_dtype(x, DType::Float32, op, "input");
  expect_dtype(target, DType::Float32, op, "target");
  CONVNET_CHECK(target.shape == x.shape, "E_SHAPE", op, ": expected `target` of shape ", shape_str(x.shape), ", got ", shape_str(target.shape));
  CONVNET_CHECK(!x.is_cuda() && !target.is_cuda(), "E_DEVICE", op, ": no GPU kernel (lib/ composes it on the GPU)");
  const bool has_beta = kind == cpu::PointwiseLoss::SmoothL1 || kind == cpu::PointwiseLoss::Huber;
  CONVNET_CHECK(!has_beta || beta > 0, "E_ARG", op, ": expected `beta` > 0, got ", beta);
  CONVNET_CHECK(!pos_weight || kind == cpu::PointwiseLoss::BceWithLogits, "E_ARG", op, ": `posWeight` is for the BCE of logits only");
  if (pos_weight) {
    expect_dtype(*pos_weight, DType::Float32, op, "posWeight");
    CONVNET_CHECK(!pos_weight->is_cuda(), "E_DEVICE", op, ": no GPU kernel (lib/ composes it on the GPU)");
    CONVNET_CHECK(x.dim() >= 1 && pos_weight->numel() == x.shape.back() && pos_weight->numel() > 0, "E_SHAPE", op,
                  ": expected `posWeight` of one value per class (", x.dim() >= 1 ? x.shape.back() : 0, "), got ",
                  shape_str(pos_weight->shape));
  }
}
}  // namespace

Napi::Value PointwiseLossForward(const Napi::CallbackInfo& info) {
  const cpu::PointwiseLoss kind = pointwise_loss_arg(info, 0);
  const char* op = kPointwiseLossNames[static_cast<int>(kind)];
  const Tensor& x = tensor_arg(info, 1, op, "input");
  const Tensor& target = tensor_arg(info, 2, op, "target");
  const float beta = static_cast<float>(number_arg(info, 3, op, "beta"));
  const Tensor* pos_weight = optional_tensor_arg(info, 4, op, "posWeight");
  check_pointwise_loss(x, target, kind, beta, pos_weight, op);
  Tensor loss = Tensor::empty(x.shape, DType::Float32, x.device());
  Queue::cpu().submit(op, x.numel(), [=, p = or_empty(pos_weight)] { cpu::pointwise_loss_forward(kind, x, target, beta, p, loss); });
  return wrap_tensor(info.Env(), std::move(loss));
}

Napi::Value PointwiseLossBackward(const Napi::CallbackInfo& info) {
  const cpu::PointwiseLoss kind = pointwise_loss_arg(info, 0);
  const char* op = kPointwiseLossNames[static_cast<int>(kind)];
  const Tensor& dloss = tensor_arg(info, 1, op, "dloss");
  const Tensor& x = tensor_arg(info, 2, op, "input");
  const Tensor& target = tensor_arg(info, 3, op, "target");
  const float beta = static_cast<float>(number_arg(info, 4, op, "beta"));
  const float scale = static_cast<float>(number_arg(info, 5, op, "scale"));
  const bool want_input_grad = bool_arg(info, 6, op, "inputGrad"), want_target_grad = bool_arg(info, 7, op, "targetGrad");
  const Tensor* pos_weight = optional_tensor_arg(info, 8, op, "posWeight");
  check_pointwise_loss(x, target, kind, beta, pos_weight, op);
  expect_dtype(dloss, DType::Float32, op, "dloss");
  CONVNET_CHECK(!dloss.is_cuda() && (dloss.numel() == 1 || dloss.shape == x.shape), "E_SHAPE", op,
                " backward: expected `dloss` of one element or of shape ", shape_str(x.shape), " on the CPU, got ", shape_str(dloss.shape));
  Tensor dx = want_input_grad ? Tensor::empty(x.shape, DType::Float32, x.device()) : Tensor{};
  Tensor dtarget = want_target_grad ? Tensor::empty(x.shape, DType::Float32, x.device()) : Tensor{};
  Queue::cpu().submit(op, x.numel(), [=, p = or_empty(pos_weight)] {
    cpu::pointwise_loss_backward(kind, dloss, x, target, beta, p, scale, dx, dtarget);
  });
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, dx.storage() ? wrap_tensor(info.Env(), std::move(dx)) : info.Env().Null());
  out.Set(1u, dtarget.storage() ? wrap_tensor(info.Env(), std::move(dtarget)) : info.Env().Null());
  return out;
}

}  // namespace api
}  // namespace convnet
