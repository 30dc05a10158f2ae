// Entry points of the pointwise activations (relu, leakyRelu, elu, sigmoid, tanh; and on the CPU
// only gelu, its tanh form, hardsigmoid and hardswish, which lib/ composes on the GPU), forward and
// backward. Backward takes what PyTorch's backward keeps: the input x and/or the output y.
// GPU tensors go to the cuda:: ops (native/cuda/relu.cu, ...), launched at once on the stream.
#include "api/api.h"
#include "core/queue.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace api {
namespace {

enum Kind : int64_t { kRelu = 0, kLeakyRelu, kElu, kSigmoid, kTanh, kGelu, kGeluTanh, kHardsigmoid, kHardswish, kKinds };
const char* const kNames[] = {"relu", "leakyRelu", "elu", "sigmoid", "tanh", "gelu", "gelu", "hardsigmoid", "hardswish"};
constexpr int64_t kFirstCpuOnly = kGelu;

const char* kind_arg(const Napi::CallbackInfo& info, int64_t* kind) {
  *kind = int_arg(info, 0, "activation", "kind");
  CONVNET_CHECK(*kind >= 0 && *kind < kKinds, "E_ARG", "activation: unknown kind ", *kind);
  return kNames[*kind];
}

}  // namespace

Napi::Value ActivationForward(const Napi::CallbackInfo& info) {
  int64_t kind;
  const char* op = kind_arg(info, &kind);
  const Tensor& x = tensor_arg(info, 1, op, "x");
  expect_dtype(x, DType::Float32, op, "x");
  const float param = static_cast<float>(number_arg(info, 2, op, "param"));
  Tensor y = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda()) {
    CONVNET_CHECK(kind < kFirstCpuOnly, "E_DEVICE", op, ": no GPU kernel (lib/ composes it on the GPU)");
    CONVNET_ON_CUDA(op, switch (kind) {
      case kRelu: cuda::relu_forward(x, y); break;
      case kLeakyRelu: cuda::leaky_relu_forward(x, param, y); break;
      case kElu: cuda::elu_forward(x, param, y); break;
      case kSigmoid: cuda::sigmoid_forward(x, y); break;
      default: cuda::tanh_forward(x, y); break;
    });
    return wrap_tensor(info.Env(), std::move(y));
  }
  // Small ones run at once when the queue is idle (Note [small ops run inline], core/queue.cc).
  Queue::cpu().submit(op, x.numel(), [kind, x, param, y] {
    switch (kind) {
      case kRelu: return cpu::relu_forward(x, y);
      case kLeakyRelu: return cpu::leaky_relu_forward(x, param, y);
      case kElu: return cpu::elu_forward(x, param, y);
      case kSigmoid: return cpu::sigmoid_forward(x, y);
      case kTanh: return cpu::tanh_forward(x, y);
      case kGelu: return cpu::gelu_forward(x, false, y);
      case kGeluTanh: return cpu::gelu_forward(x, true, y);
      case kHardsigmoid: return cpu::hardsigmoid_forward(x, y);
      default: return cpu::hardswish_forward(x, y);
    }
  });
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value ActivationBackward(const Napi::CallbackInfo& info) {
  int64_t kind;
  const char* op = kind_arg(info, &kind);
  const Tensor& dy = tensor_arg(info, 1, op, "dy");
  const Tensor& x = tensor_arg(info, 2, op, "x");
  const Tensor& y = tensor_arg(info, 3, op, "y");
  const float param = static_cast<float>(number_arg(info, 4, op, "param"));
  for (const Tensor* t : {&dy, &x, &y}) {
    expect_dtype(*t, DType::Float32, op, "dy/x/y");
    CONVNET_CHECK(t->shape == dy.shape, "E_SHAPE", op, " backward: dy, x and y must have the same shape, got ",
                  shape_str(dy.shape), ", ", shape_str(x.shape), ", ", shape_str(y.shape));
  }
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  if (x.is_cuda()) {
    CONVNET_CHECK(kind < kFirstCpuOnly, "E_DEVICE", op, ": no GPU kernel (lib/ composes it on the GPU)");
    CONVNET_ON_CUDA(op, switch (kind) {
      case kRelu: cuda::relu_backward(dy, y, dx); break;
      case kLeakyRelu: cuda::leaky_relu_backward(dy, x, param, dx); break;
      case kElu: cuda::elu_backward(dy, x, y, param, dx); break;
      case kSigmoid: cuda::sigmoid_backward(dy, y, dx); break;
      default: cuda::tanh_backward(dy, y, dx); break;
    });
    return wrap_tensor(info.Env(), std::move(dx));
  }
  Queue::cpu().submit(op, x.numel(), [kind, dy, x, y, param, dx] {
    switch (kind) {
      case kRelu: return cpu::relu_backward(dy, y, dx);
      case kLeakyRelu: return cpu::leaky_relu_backward(dy, x, param, dx);
      case kElu: return cpu::elu_backward(dy, x, y, param, dx);
      case kSigmoid: return cpu::sigmoid_backward(dy, y, dx);
      case kTanh: return cpu::tanh_backward(dy, y, dx);
      case kGelu: return cpu::gelu_backward(dy, x, false, dx);
      case kGeluTanh: return cpu::gelu_backward(dy, x, true, dx);
      case kHardsigmoid: return cpu::hardsigmoid_backward(dy, x, dx);
      default: return cpu::hardswish_backward(dy, x, dx);
    }
  });
  return wrap_tensor(info.Env(), std::move(dx));
}

}  // namespace api
}  // namespace convnet
