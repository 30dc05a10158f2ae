// Entry points of the pointwise activations (relu, leakyRelu, elu, sigmoid, tanh; and on the CPU
// only gelu, its tanh form, hardsigmoid, hardswish and the rest of torch.nn's, which lib/ composes
// on the GPU), forward and backward. Backward takes what PyTorch's backward keeps: the input x
// and/or the output y (the CPU-only kinds: x, but log-sigmoid's y). `param` and `param2`: the kind's parameters (alpha,
// a slope, beta and threshold, lambd, bounds), 0 where it has none.
// GPU tensors go to the cuda:: ops (native/cuda/relu.cu, ...), launched at once on the stream.
#include "api/api.h"
#include "core/queue.h"
#include "cpu/cpu_ops.h"
#include "cpu/nn_ops.h"

namespace convnet {
namespace api {
namespace {

// lib/native.ts's Activation, in the same order.
enum Kind : int64_t {
  kRelu = 0, kLeakyRelu, kElu, kSigmoid, kTanh,
  kGelu, kGeluTanh, kHardsigmoid, kHardswish, kSilu, kSoftplus, kMish, kLogSigmoid, kSoftsign, kTanhshrink,
  kSoftshrink, kHardshrink, kThreshold, kHardtanh, kSelu, kCelu, kKinds
};
const char* const kNames[] = {"relu",     "leakyRelu", "elu",        "sigmoid",    "tanh",     "gelu",       "gelu",
                              "hardsigmoid", "hardswish", "silu",    "softplus",   "mish",     "logSigmoid", "softsign",
                              "tanhshrink", "softshrink", "hardshrink", "threshold", "hardtanh", "selu",       "celu"};
static_assert(sizeof kNames / sizeof kNames[0] == kKinds, "a name for each kind");
constexpr int64_t kFirstCpuOnly = kGelu;

const char* kind_arg(const Napi::CallbackInfo& info, int64_t* kind) {
  *kind = int_arg(info, 0, "activation", "kind");
  CONVNET_CHECK(*kind >= 0 && *kind < kKinds, "E_ARG", "activation: unknown kind ", *kind);
  return kNames[*kind];
}

// SELU's constants (Klambauer et al. 2017), as PyTorch's; CELU's from its alpha (> 0: lib/
// composes the other sign).
constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
constexpr float kSeluScale = 1.0507009873554804934193349852946f;
cpu::ScaledElu scaled_elu(int64_t kind, float alpha) {
  return kind == kSelu ? cpu::ScaledElu{kSeluAlpha, kSeluScale, 1.0f} : cpu::ScaledElu{alpha, 1.0f, 1.0f / alpha};
}

void cpu_forward(int64_t kind, const Tensor& x, float param, float param2, const Tensor& y) {
  switch (kind) {
    case kRelu: return cpu::relu_forward(x, y);
    case kLeakyRelu: return cpu::leaky_relu_forward(x, param, y);
    case kElu: return cpu::elu_forward(x, param, y);
    case kSigmoid: return cpu::sigmoid_forward(x, y);
    case kTanh: return cpu::tanh_forward(x, y);
    case kGelu: return cpu::gelu_forward(x, false, y);
    case kGeluTanh: return cpu::gelu_forward(x, true, y);
    case kHardsigmoid: return cpu::hardsigmoid_forward(x, y);
    case kHardswish: return cpu::hardswish_forward(x, y);
    case kSilu: return cpu::silu_forward(x, y);
    case kSoftplus: return cpu::softplus_forward(x, param, param2, y);
    case kMish: return cpu::mish_forward(x, y);
    case kLogSigmoid: return cpu::log_sigmoid_forward(x, y);
    case kSoftsign: return cpu::softsign_forward(x, y);
    case kTanhshrink: return cpu::tanhshrink_forward(x, y);
    case kSoftshrink: return cpu::softshrink_forward(x, param, y);
    case kHardshrink: return cpu::hardshrink_forward(x, param, y);
    case kThreshold: return cpu::threshold_forward(x, param, param2, y);
    case kHardtanh: return cpu::clamp(x, param, param2, y);
    default: return cpu::scaled_elu_forward(x, scaled_elu(kind, param), y);  // kSelu, kCelu
  }
}

void cpu_backward(int64_t kind, const Tensor& dy, const Tensor& x, const Tensor& y, float param, float param2,
                  const Tensor& dx) {
  switch (kind) {
    case kRelu: return cpu::relu_backward(dy, y, dx);
    case kLeakyRelu: return cpu::leaky_relu_backward(dy, x, param, dx);
    case kElu: return cpu::elu_backward(dy, x, y, param, dx);
    case kSigmoid: return cpu::sigmoid_backward(dy, y, dx);
    case kTanh: return cpu::tanh_backward(dy, y, dx);
    case kGelu: return cpu::gelu_backward(dy, x, false, dx);
    case kGeluTanh: return cpu::gelu_backward(dy, x, true, dx);
    case kHardsigmoid: return cpu::hardsigmoid_backward(dy, x, dx);
    case kHardswish: return cpu::hardswish_backward(dy, x, dx);
    case kSilu: return cpu::silu_backward(dy, x, dx);
    case kSoftplus: return cpu::softplus_backward(dy, x, param, param2, dx);
    case kMish: return cpu::mish_backward(dy, x, dx);
    case kLogSigmoid: return cpu::log_sigmoid_backward(dy, y, dx);
    case kSoftsign: return cpu::softsign_backward(dy, x, dx);
    case kTanhshrink: return cpu::tanhshrink_backward(dy, x, dx);
    case kSoftshrink:
    case kHardshrink: return cpu::shrink_backward(dy, x, param, dx);
    case kThreshold: return cpu::threshold_backward(dy, x, param, dx);
    case kHardtanh: return cpu::hardtanh_backward(dy, x, param, param2, dx);
    default: return cpu::scaled_elu_backward(dy, x, scaled_elu(kind, param), dx);  // kSelu, kCelu
  }
}

}  // namespace

Napi::Value ActivationForward(const Napi::CallbackInfo& info) {
  int64_t kind;
  const char* op = kind_arg(info, &kind);
  const Tensor& x = tensor_arg(info, 1, op, "x");
  expect_dtype(x, DType::Float32, op, "x");
  const float param = static_cast<float>(number_arg(info, 2, op, "param"));
  const float param2 = static_cast<float>(number_arg(info, 3, op, "param2"));
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
  Queue::cpu().submit(op, x.numel(), [kind, x, param, param2, y] { cpu_forward(kind, x, param, param2, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value ActivationBackward(const Napi::CallbackInfo& info) {
  int64_t kind;
  const char* op = kind_arg(info, &kind);
  const Tensor& dy = tensor_arg(info, 1, op, "dy");
  const Tensor& x = tensor_arg(info, 2, op, "x");
  const Tensor& y = tensor_arg(info, 3, op, "y");
  const float param = static_cast<float>(number_arg(info, 4, op, "param"));
  const float param2 = static_cast<float>(number_arg(info, 5, op, "param2"));
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
  Queue::cpu().submit(op, x.numel(), [kind, dy, x, y, param, param2, dx] { cpu_backward(kind, dy, x, y, param, param2, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

}  // namespace api
}  // namespace convnet

namespace convnet {
namespace api {

// F.glu on the CPU (lib/ composes it on the GPU): x halved along `dim`, as cpu/glu.cc computes.
namespace {
struct GluShape {
  Shape y;
  int64_t outer = 1, half_inner = 1;
};
GluShape glu_shape(const Tensor& x, int64_t dim, const char* op) {
  expect_dtype(x, DType::Float32, op, "x");
  CONVNET_CHECK(!x.is_cuda(), "E_DEVICE", op, ": no GPU kernel (lib/ composes it on the GPU)");
  CONVNET_CHECK(x.dim() >= 1, "E_SHAPE", op, ": expected a tensor of rank 1 or more, got a scalar");
  const int64_t d = normalize_axis(dim, x.dim(), op);
  CONVNET_CHECK(x.shape[d] % 2 == 0, "E_SHAPE", op, ": the halved dimension ", d, " must have an even size, got ", x.shape[d]);
  GluShape g;
  g.y = x.shape;
  g.y[d] /= 2;
  for (int64_t k = 0; k < d; ++k) g.outer *= x.shape[k];
  g.half_inner = g.y[d];
  for (int64_t k = d + 1; k < x.dim(); ++k) g.half_inner *= x.shape[k];
  return g;
}
}  // namespace

Napi::Value GluForward(const Napi::CallbackInfo& info) {
  const char* op = "glu";
  const Tensor& x = tensor_arg(info, 0, op, "x");
  const GluShape g = glu_shape(x, int_arg(info, 1, op, "dim"), op);
  Tensor y = Tensor::empty(g.y, DType::Float32, x.device());
  Queue::cpu().submit(op, y.numel(), [x, g, y] { cpu::glu_forward(x, g.outer, g.half_inner, y); });
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value GluBackward(const Napi::CallbackInfo& info) {
  const char* op = "glu backward";
  const Tensor& dy = tensor_arg(info, 0, op, "dy");
  const Tensor& x = tensor_arg(info, 1, op, "x");
  const GluShape g = glu_shape(x, int_arg(info, 2, op, "dim"), op);
  expect_dtype(dy, DType::Float32, op, "dy");
  CONVNET_CHECK(dy.shape == g.y && !dy.is_cuda(), "E_SHAPE", op, ": expected `dy` of shape ", shape_str(g.y), " on the CPU, got ",
                shape_str(dy.shape));
  Tensor dx = Tensor::empty(x.shape, DType::Float32, x.device());
  Queue::cpu().submit(op, x.numel(), [dy, x, g, dx] { cpu::glu_backward(dy, x, g.outer, g.half_inner, dx); });
  return wrap_tensor(info.Env(), std::move(dx));
}

}  // namespace api
}  // namespace convnet
