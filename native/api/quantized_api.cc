// Entry points of 8-bit inference (Note [dynamic quantization], native/cpu/quantize.h), CPU only.
// lib/nn/quantized.ts validated the arguments already; the shapes are checked again here so that
// no call can make the kernels read or write out of bounds.
#include <limits>

#include "api/api.h"
#include "core/queue.h"
#include "cpu/nn_ops.h"
#include "cpu/qgemm.h"

namespace convnet {
namespace api {
namespace {

// The sums are exact int32 for K products of 7-bit by 8-bit values (quantize.h): the sum, at most
// K * 127 * 128 in size, less zero * sum_o, as large, stays below 2^31 for K <= 2^16.
constexpr int64_t kMaxK = int64_t{1} << 16;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct PackedWeights {
  const Tensor& packed;
  const Tensor& scale;
  const Tensor& sum;
};

// Checks the packed weights of `out` outputs in `groups` groups of K inputs each.
PackedWeights packed_args(const Napi::CallbackInfo& info, size_t i, int64_t K, int64_t groups, const char* op) {
  const Tensor& packed = tensor_arg(info, i, op, "packed");
  const Tensor& scale = float_tensor_arg(info, i + 1, op, "scale");
  const Tensor& sum = tensor_arg(info, i + 2, op, "sum");
  expect_dtype(packed, DType::Int32, op, "packed");
  expect_dtype(sum, DType::Int32, op, "sum");
  CONVNET_CHECK(scale.dim() == 1 && sum.shape == scale.shape, "E_SHAPE", op, ": expected `scale` and `sum` of one shape [O], got ",
                shape_str(scale.shape), " and ", shape_str(sum.shape));
  const int64_t O = scale.shape[0];
  CONVNET_CHECK(O % groups == 0, "E_SHAPE", op, ": groups = ", groups, " must divide the ", O, " outputs");
  const Shape expected{groups, ceil_div(O / groups, cpu::kQPanelWidth), ceil_div(K, 4), cpu::kQPanelWidth};
  CONVNET_CHECK(packed.shape == expected, "E_SHAPE", op, ": expected `packed` of shape ", shape_str(expected), " for ", O,
                " outputs of ", K, " inputs, got ", shape_str(packed.shape));
  return {packed, scale, sum};
}

const Tensor* bias_arg(const Napi::CallbackInfo& info, size_t i, int64_t O, const char* op) {
  const Tensor* b = optional_tensor_arg(info, i, op, "b");
  if (b) {
    expect_dtype(*b, DType::Float32, op, "b");
    CONVNET_CHECK(b->shape == Shape{O}, "E_SHAPE", op, ": expected `b` of shape [", O, "], got ", shape_str(b->shape));
  }
  return b;
}

void clamp_args(const Napi::CallbackInfo& info, size_t i, const char* op, float* lo, float* hi) {
  const double l = number_arg(info, i, op, "lo"), h = number_arg(info, i + 1, op, "hi");
  CONVNET_CHECK(!(l > h) && l == l && h == h, "E_ARG", op, ": expected `lo` <= `hi`, got ", l, " and ", h);
  *lo = static_cast<float>(l), *hi = static_cast<float>(h);
}

}  // namespace

Napi::Value QuantizeWeights(const Napi::CallbackInfo& info) {
  const char* op = "quantizeWeights";
  const Tensor& w = float_tensor_arg(info, 0, op, "w");
  const int64_t groups = int_arg(info, 1, op, "groups");
  CONVNET_CHECK(w.dim() == 2 && w.shape[0] >= 1 && w.shape[1] >= 1, "E_SHAPE", op, ": expected `w` of shape [O, K], got ",
                shape_str(w.shape));
  const int64_t O = w.shape[0], K = w.shape[1];
  CONVNET_CHECK(groups >= 1 && O % groups == 0, "E_ARG", op, ": groups = ", groups, " must divide the ", O, " outputs");
  CONVNET_CHECK(K <= kMaxK, "E_SHAPE", op, ": ", K, " inputs per output; 8-bit sums stay exact for at most ", kMaxK);
  Tensor packed = Tensor::empty({groups, ceil_div(O / groups, cpu::kQPanelWidth), ceil_div(K, 4), cpu::kQPanelWidth}, DType::Int32);
  Tensor scale = Tensor::empty({O}, DType::Float32);
  Tensor sum = Tensor::empty({O}, DType::Int32);
  Queue::cpu().enqueue(op, [w, groups, packed, scale, sum] { cpu::quantize_weights(w, groups, packed, scale, sum); });
  Napi::Array out = Napi::Array::New(info.Env(), 3);
  out.Set(0u, wrap_tensor(info.Env(), std::move(packed)));
  out.Set(1u, wrap_tensor(info.Env(), std::move(scale)));
  out.Set(2u, wrap_tensor(info.Env(), std::move(sum)));
  return out;
}

Napi::Value QuantizedLinear(const Napi::CallbackInfo& info) {
  const char* op = "quantized linear";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  CONVNET_CHECK(x.dim() >= 1, "E_SHAPE", op, ": expected `x` of shape [..., in], got ", shape_str(x.shape));
  const int64_t K = x.shape.back();
  CONVNET_CHECK(K >= 1 && K <= kMaxK, "E_SHAPE", op, ": expected 1 to ", kMaxK, " inputs, got `x` ", shape_str(x.shape));
  const PackedWeights w = packed_args(info, 1, K, 1, op);
  const int64_t O = w.scale.shape[0];
  const Tensor* b = bias_arg(info, 4, O, op);
  float lo, hi;
  clamp_args(info, 5, op, &lo, &hi);
  Shape y_shape = x.shape;
  y_shape.back() = O;
  Tensor y = Tensor::empty(y_shape, DType::Float32);
  Queue::cpu().enqueue(op, [x, packed = w.packed, scale = w.scale, sum = w.sum, bias = or_empty(b), has_bias = b != nullptr,
                            lo, hi, y] {
    cpu::quantized_linear_forward(x, packed, scale, sum, has_bias ? &bias : nullptr, lo, hi, y);
  });
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value QuantizedConv2d(const Napi::CallbackInfo& info) {
  const char* op = "quantized conv2d";
  const Tensor& x = float_tensor_arg(info, 0, op, "x");
  // [stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups, kh, kw]
  const std::vector<int64_t> v = ints_arg(info, 5, op, "geometry");
  CONVNET_CHECK(v.size() == 9, "E_ARG", op, ": expected 9 geometry values, got ", v.size());
  Conv2dGeometry g;
  g.stride_h = v[0], g.stride_w = v[1], g.pad_top = v[2], g.pad_left = v[3], g.dilation_h = v[4], g.dilation_w = v[5];
  g.groups = v[6];
  const int64_t kh = v[7], kw = v[8];
  CONVNET_CHECK(g.stride_h >= 1 && g.stride_w >= 1 && g.dilation_h >= 1 && g.dilation_w >= 1 && g.pad_top >= 0 &&
                    g.pad_left >= 0 && g.groups >= 1 && kh >= 1 && kw >= 1,
                "E_ARG", op, ": bad geometry [", v[0], ", ", v[1], ", ", v[2], ", ", v[3], ", ", v[4], ", ", v[5], ", ", v[6],
                ", ", v[7], ", ", v[8], "]");
  CONVNET_CHECK(x.dim() == 4 && x.shape[1] % g.groups == 0, "E_SHAPE", op, ": expected `x` of shape [N, C, H, W] with C a multiple of groups = ",
                g.groups, ", got ", shape_str(x.shape));
  const int64_t K = x.shape[1] / g.groups * kh * kw;
  CONVNET_CHECK(K <= kMaxK, "E_SHAPE", op, ": ", K, " inputs per output; 8-bit sums stay exact for at most ", kMaxK);
  const PackedWeights w = packed_args(info, 1, K, g.groups, op);
  const int64_t O = w.scale.shape[0];
  const Tensor* b = bias_arg(info, 4, O, op);
  float lo, hi;
  clamp_args(info, 6, op, &lo, &hi);
  auto size = [](int64_t in, int64_t pad, int64_t d, int64_t k, int64_t s) {
    const int64_t span = in + 2 * pad - d * (k - 1) - 1;
    return span < 0 ? int64_t{0} : span / s + 1;
  };
  const int64_t Ho = size(x.shape[2], g.pad_top, g.dilation_h, kh, g.stride_h);
  const int64_t Wo = size(x.shape[3], g.pad_left, g.dilation_w, kw, g.stride_w);
  CONVNET_CHECK(Ho >= 1 && Wo >= 1, "E_SHAPE", op, ": the kernel (", kh, "x", kw, ", dilated) is larger than the padded input ",
                shape_str(x.shape), ": the output would be empty");
  Tensor y = Tensor::empty({x.shape[0], O, Ho, Wo}, DType::Float32);
  Queue::cpu().enqueue(op, [x, packed = w.packed, scale = w.scale, sum = w.sum, bias = or_empty(b), has_bias = b != nullptr,
                            g, kh, kw, lo, hi, y] {
    cpu::quantized_conv2d_forward(x, packed, scale, sum, has_bias ? &bias : nullptr, g, kh, kw, lo, hi, y);
  });
  return wrap_tensor(info.Env(), std::move(y));
}

Napi::Value SetQuantizedPath(const Napi::CallbackInfo& info) {
  const char* op = "setQuantizedPath";
  const bool detected = info.Length() == 0 || info[0].IsNull() || info[0].IsUndefined();
  std::string name;
  if (!detected) {
    CONVNET_CHECK(info[0].IsString(), "E_ARG", op, ": expected a path name or null");
    name = info[0].As<Napi::String>().Utf8Value();
  }
  // After everything queued before it (drain: an earlier op's error stays for its own wait).
  Queue::cpu().drain();
  CONVNET_CHECK(cpu::qgemm_force_kernel(detected ? nullptr : name.c_str()), "E_ARG", op, ": '", name,
                "' is not a path this CPU can run (avx512-vnni, avx2, portable)");
  return info.Env().Undefined();
}

}  // namespace api
}  // namespace convnet
