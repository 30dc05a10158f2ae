// Entry points of the fused optimizer steps. They update tensors in place: safe because the
// queue (the CPU's work queue, or the CUDA stream for GPU tensors) runs ops in the order they
// were issued, so reads issued before a step see the old values and reads after it the new ones.
#include <cmath>
#include <optional>

#include "api/api.h"
#include "core/queue.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace api {
namespace {

void expect_like(const Tensor& t, const Tensor& param, const char* op, const char* name) {
  expect_dtype(t, DType::Float32, op, name);
  CONVNET_CHECK(t.shape == param.shape, "E_SHAPE", op, ": `", name, "` has shape ", shape_str(t.shape),
                ", expected the parameter's ", shape_str(param.shape));
}

// The step reads and writes these tensors element by element in one pass: two that share
// memory would give wrong values without a word (batch norm checks its running stats so too).
void expect_distinct(const char* op, std::initializer_list<std::pair<const Tensor*, const char*>> tensors) {
  for (auto a = tensors.begin(); a != tensors.end(); ++a) {
    for (auto b = a + 1; b != tensors.end(); ++b) {
      if (!a->first || !b->first) continue;
      CONVNET_CHECK(a->first->storage() != b->first->storage(), "E_ARG", op, ": `", a->second, "` and `", b->second,
                    "` share memory; each must be a tensor of its own");
    }
  }
}

}  // namespace

Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  const char* op = "sgdStep";
  const Tensor& param = tensor_arg(info, 0, op, "param");
  expect_dtype(param, DType::Float32, op, "param");
  const Tensor& grad = tensor_arg(info, 1, op, "grad");
  expect_like(grad, param, op, "grad");
  const Tensor* buffer = optional_tensor_arg(info, 2, op, "momentumBuffer");
  if (buffer) expect_like(*buffer, param, op, "momentumBuffer");
  SgdOptions o{finite_arg(info, 3, op, "lr", 0), finite_arg(info, 4, op, "momentum", 0),
                    finite_arg(info, 5, op, "dampening", 0), finite_arg(info, 7, op, "weightDecay", 0),
                    bool_arg(info, 6, op, "nesterov"), bool_arg(info, 8, op, "firstStep")};
  CONVNET_CHECK(!(o.momentum != 0) || buffer, "E_ARG", op, ": momentum needs a momentum buffer");
  Tensor p = param, g = grad;
  std::optional<Tensor> b;
  if (buffer && o.momentum != 0) b = *buffer;
  expect_distinct(op, {{&p, "param"}, {&g, "grad"}, {b ? &*b : nullptr, "momentumBuffer"}});
  p.storage()->bump_version();
  if (b) b->storage()->bump_version();
  if (p.is_cuda()) CONVNET_ON_CUDA(op, cuda::sgd_step(p, g, b ? &*b : nullptr, o));
  else Queue::cpu().enqueue(op, [p, g, b, o] { cpu::sgd_step(p, g, b ? &*b : nullptr, o); });
  return info.Env().Undefined();
}

Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  const char* op = "adamStep";
  const Tensor& param = tensor_arg(info, 0, op, "param");
  expect_dtype(param, DType::Float32, op, "param");
  const Tensor& grad = tensor_arg(info, 1, op, "grad");
  const Tensor& exp_avg = tensor_arg(info, 2, op, "expAvg");
  const Tensor& exp_avg_sq = tensor_arg(info, 3, op, "expAvgSq");
  expect_like(grad, param, op, "grad");
  expect_like(exp_avg, param, op, "expAvg");
  expect_like(exp_avg_sq, param, op, "expAvgSq");
  const Tensor* max_sq = optional_tensor_arg(info, 4, op, "maxExpAvgSq");
  if (max_sq) expect_like(*max_sq, param, op, "maxExpAvgSq");
  AdamOptions o{finite_arg(info, 5, op, "lr", 0), finite_arg(info, 6, op, "beta1", 0),
                     finite_arg(info, 7, op, "beta2", 0), finite_arg(info, 8, op, "eps", 0),
                     finite_arg(info, 9, op, "weightDecay", 0), int_arg(info, 10, op, "step"),
                     bool_arg(info, 11, op, "decoupled")};
  CONVNET_CHECK(o.beta1 < 1 && o.beta2 < 1, "E_ARG", op, ": betas must be in [0, 1)");
  CONVNET_CHECK(o.step >= 1, "E_ARG", op, ": step must be >= 1, got ", o.step);
  Tensor p = param, g = grad, m = exp_avg, v = exp_avg_sq;
  std::optional<Tensor> v_max;
  if (max_sq) v_max = *max_sq;
  expect_distinct(op, {{&p, "param"}, {&g, "grad"}, {&m, "expAvg"}, {&v, "expAvgSq"}, {v_max ? &*v_max : nullptr, "maxExpAvgSq"}});
  for (const Tensor* t : {&p, &m, &v}) t->storage()->bump_version();
  if (v_max) v_max->storage()->bump_version();
  if (p.is_cuda()) CONVNET_ON_CUDA(op, cuda::adam_step(p, g, m, v, v_max ? &*v_max : nullptr, o));
  else Queue::cpu().enqueue(op, [p, g, m, v, v_max, o] { cpu::adam_step(p, g, m, v, v_max ? &*v_max : nullptr, o); });
  return info.Env().Undefined();
}

Napi::Value RmspropStep(const Napi::CallbackInfo& info) {
  const char* op = "rmspropStep";
  const Tensor& param = tensor_arg(info, 0, op, "param");
  expect_dtype(param, DType::Float32, op, "param");
  const Tensor& grad = tensor_arg(info, 1, op, "grad");
  const Tensor& square_avg = tensor_arg(info, 2, op, "squareAvg");
  expect_like(grad, param, op, "grad");
  expect_like(square_avg, param, op, "squareAvg");
  const Tensor* buffer = optional_tensor_arg(info, 3, op, "momentumBuffer");
  if (buffer) expect_like(*buffer, param, op, "momentumBuffer");
  const Tensor* grad_avg = optional_tensor_arg(info, 4, op, "gradAvg");
  if (grad_avg) expect_like(*grad_avg, param, op, "gradAvg");
  RmspropOptions o{finite_arg(info, 5, op, "lr", 0), finite_arg(info, 6, op, "alpha", 0), finite_arg(info, 7, op, "eps", 0),
                   finite_arg(info, 8, op, "weightDecay", 0), finite_arg(info, 9, op, "momentum", 0), bool_arg(info, 10, op, "centered")};
  CONVNET_CHECK(o.momentum == 0 || buffer, "E_ARG", op, ": momentum needs a momentum buffer");
  CONVNET_CHECK(!o.centered || grad_avg, "E_ARG", op, ": centered needs a gradient average (gradAvg)");
  Tensor p = param, g = grad, sq = square_avg;
  std::optional<Tensor> b, ga;
  if (buffer && o.momentum != 0) b = *buffer;
  if (grad_avg && o.centered) ga = *grad_avg;
  expect_distinct(op, {{&p, "param"}, {&g, "grad"}, {&sq, "squareAvg"}, {b ? &*b : nullptr, "momentumBuffer"}, {ga ? &*ga : nullptr, "gradAvg"}});
  for (const Tensor* t : {&p, &sq}) t->storage()->bump_version();
  if (b) b->storage()->bump_version();
  if (ga) ga->storage()->bump_version();
  if (p.is_cuda()) CONVNET_ON_CUDA(op, cuda::rmsprop_step(p, g, sq, b ? &*b : nullptr, ga ? &*ga : nullptr, o));
  else Queue::cpu().enqueue(op, [p, g, sq, b, ga, o] { cpu::rmsprop_step(p, g, sq, b ? &*b : nullptr, ga ? &*ga : nullptr, o); });
  return info.Env().Undefined();
}

Napi::Value AdagradStep(const Napi::CallbackInfo& info) {
  const char* op = "adagradStep";
  const Tensor& param = tensor_arg(info, 0, op, "param");
  expect_dtype(param, DType::Float32, op, "param");
  const Tensor& grad = tensor_arg(info, 1, op, "grad");
  const Tensor& state_sum = tensor_arg(info, 2, op, "stateSum");
  expect_like(grad, param, op, "grad");
  expect_like(state_sum, param, op, "stateSum");
  AdagradOptions o{finite_arg(info, 3, op, "lr", 0), finite_arg(info, 4, op, "lrDecay", 0), finite_arg(info, 5, op, "weightDecay", 0),
                   finite_arg(info, 6, op, "eps", 0), int_arg(info, 7, op, "step")};
  CONVNET_CHECK(o.step >= 1, "E_ARG", op, ": step must be >= 1, got ", o.step);
  Tensor p = param, g = grad, sum = state_sum;
  expect_distinct(op, {{&p, "param"}, {&g, "grad"}, {&sum, "stateSum"}});
  for (const Tensor* t : {&p, &sum}) t->storage()->bump_version();
  if (p.is_cuda()) CONVNET_ON_CUDA(op, cuda::adagrad_step(p, g, sum, o));
  else Queue::cpu().enqueue(op, [p, g, sum, o] { cpu::adagrad_step(p, g, sum, o); });
  return info.Env().Undefined();
}

}  // namespace api
}  // namespace convnet
