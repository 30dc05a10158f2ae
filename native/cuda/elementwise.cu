// Elementwise ops on the GPU (cpu/elementwise.cc has the same semantics): binary ops with
// NumPy/PyTorch broadcasting, unary maths, affine, pow.
//
// A broadcast binary op walks the output and finds each input element through a
// StridedIndex (strided.cuh) with stride 0 along broadcast axes; equal shapes and a
// one-element operand take a plain loop. Add/sub/mul/div/sqrt are IEEE operations, so those
// results are the CPU's bits; exp, log and pow are CUDA's (within 2 ulp of the CPU's).
#include <cmath>

#include "core/error.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"
#include "cpu/special_math.h"

namespace convnet {
namespace cuda {
namespace {

// The scalar functions; NaN propagates through maximum/minimum, as torch.maximum/minimum.
struct AddF { __device__ float operator()(float u, float v) const { return u + v; } };
struct SubF { __device__ float operator()(float u, float v) const { return u - v; } };
struct MulF { __device__ float operator()(float u, float v) const { return u * v; } };
struct DivF { __device__ float operator()(float u, float v) const { return u / v; } };
struct PowF { __device__ float operator()(float u, float v) const { return powf(u, v); } };
// fmodf is exact, so remainder and fmod give the CPU's bits.
struct RemainderF {
  __device__ float operator()(float u, float v) const {
    float m = fmodf(u, v);
    if (m != 0 && ((v < 0) != (m < 0))) m += v;
    return m;
  }
};
struct FmodF { __device__ float operator()(float u, float v) const { return fmodf(u, v); } };
struct Atan2F { __device__ float operator()(float u, float v) const { return atan2f(u, v); } };
struct CopysignF { __device__ float operator()(float u, float v) const { return copysignf(u, v); } };
// hypotf: no overflow or underflow in the squares, +inf where either is infinite (even beside NaN).
struct HypotF { __device__ float operator()(float u, float v) const { return hypotf(u, v); } };
// max(u, v) + log1p(b^-|u - v|) / ln b; equal operands (two equal infinities) take u - v = 0.
struct LogAddExpF {
  bool base2;
  __device__ float operator()(float u, float v) const {
    if (u != u || v != v) return u + v;
    const float m = u > v ? u : v, d = u == v ? 0.0f : fabsf(u - v);
    return base2 ? m + log1pf(exp2f(-d)) * 1.44269504088896341f : m + log1pf(expf(-d));
  }
};
// 1 or 0; nonzero and NaN are true.
struct LogicalAndF { __device__ float operator()(float u, float v) const { return (u != 0.0f) & (v != 0.0f) ? 1.0f : 0.0f; } };
struct LogicalOrF { __device__ float operator()(float u, float v) const { return (u != 0.0f) | (v != 0.0f) ? 1.0f : 0.0f; } };
struct LogicalXorF { __device__ float operator()(float u, float v) const { return (u != 0.0f) != (v != 0.0f) ? 1.0f : 0.0f; } };
// x log(y), 0 where x is 0 and y is not NaN (torch.xlogy).
struct XlogyF {
  __device__ float operator()(float u, float v) const { return u == 0.0f && v == v ? 0.0f : u * logf(v); }
};
struct MaxF {
  __device__ float operator()(float u, float v) const { return (u != u || v != v) ? u + v : (u > v ? u : v); }
};
struct MinF {
  __device__ float operator()(float u, float v) const { return (u != u || v != v) ? u + v : (u < v ? u : v); }
};

template <typename Run>
void with_binary_op(BinaryOp op, Run run) {
  switch (op) {
    case BinaryOp::Add: return run(AddF{});
    case BinaryOp::Sub: return run(SubF{});
    case BinaryOp::Mul: return run(MulF{});
    case BinaryOp::Div: return run(DivF{});
    case BinaryOp::Pow: return run(PowF{});
    case BinaryOp::Maximum: return run(MaxF{});
    case BinaryOp::Minimum: return run(MinF{});
    case BinaryOp::Remainder: return run(RemainderF{});
    case BinaryOp::Fmod: return run(FmodF{});
    case BinaryOp::Atan2: return run(Atan2F{});
    case BinaryOp::Copysign: return run(CopysignF{});
    case BinaryOp::Hypot: return run(HypotF{});
    case BinaryOp::LogAddExp: return run(LogAddExpF{false});
    case BinaryOp::LogAddExp2: return run(LogAddExpF{true});
    case BinaryOp::LogicalAnd: return run(LogicalAndF{});
    case BinaryOp::LogicalOr: return run(LogicalOrF{});
    case BinaryOp::LogicalXor: return run(LogicalXorF{});
    case BinaryOp::Xlogy: return run(XlogyF{});
  }
  fail("E_ARG", "binary: unknown op ", static_cast<int>(op));
}

template <typename F>
void binary_loop(const char* op, const Tensor& a, const Tensor& b, const Tensor& y, F f) {
  const float* pa = a.f32();
  const float* pb = b.f32();
  float* py = y.f32();
  const int64_t n = y.numel();
  if (n == 0) return;
  if (a.shape == b.shape) {
    for_each(op, n, [=] __device__(int64_t i) { py[i] = f(pa[i], pb[i]); });
  } else if (a.numel() == n && b.numel() == 1) {
    for_each(op, n, [=] __device__(int64_t i) { py[i] = f(pa[i], pb[0]); });
  } else if (b.numel() == n && a.numel() == 1) {
    for_each(op, n, [=] __device__(int64_t i) { py[i] = f(pa[0], pb[i]); });
  } else {
    const std::vector<int64_t> strides[2] = {broadcast_strides(a.shape, y.shape), broadcast_strides(b.shape, y.shape)};
    const StridedIndex<2> index = make_strided_index(y.shape, strides, op);
    for_each(op, n, [=] __device__(int64_t i) {
      int64_t o[2];
      index.offsets(i, o);
      py[i] = f(pa[o[0]], pb[o[1]]);
    });
  }
}

const char* binary_name(BinaryOp op) {
  static const char* names[] = {"add",   "sub",  "mul",  "div",      "pow",   "maximum",   "minimum",
                                "remainder", "fmod", "atan2", "copysign", "hypot", "logaddexp", "logaddexp2",
                                "logicalAnd", "logicalOr", "logicalXor", "xlogy"};
  const int code = static_cast<int>(op);
  return code >= 0 && code < static_cast<int>(sizeof(names) / sizeof(names[0])) ? names[code] : "binary";
}

template <typename F>
void unary_loop(const char* op, const Tensor& x, const Tensor& y, F f) {
  const float* px = x.f32();
  float* py = y.f32();
  for_each(op, x.numel(), [=] __device__(int64_t i) { py[i] = f(px[i]); });
}

struct NegF { __device__ float operator()(float v) const { return -v; } };
struct AbsF { __device__ float operator()(float v) const { return fabsf(v); } };
struct ExpF { __device__ float operator()(float v) const { return expf(v); } };
struct LogF { __device__ float operator()(float v) const { return logf(v); } };
struct SqrtF { __device__ float operator()(float v) const { return sqrtf(v); } };
struct SquareF { __device__ float operator()(float v) const { return v * v; } };
struct ReciprocalF { __device__ float operator()(float v) const { return 1.0f / v; } };
struct SignF {
  __device__ float operator()(float v) const { return v != v ? v : static_cast<float>((v > 0) - (v < 0)); }
};
struct FloorF { __device__ float operator()(float v) const { return floorf(v); } };
struct CeilF { __device__ float operator()(float v) const { return ceilf(v); } };
struct ErfF { __device__ float operator()(float v) const { return erff(v); } };
struct SinF { __device__ float operator()(float v) const { return sinf(v); } };
struct CosF { __device__ float operator()(float v) const { return cosf(v); } };
struct TanF { __device__ float operator()(float v) const { return tanf(v); } };
struct AtanF { __device__ float operator()(float v) const { return atanf(v); } };
struct Log1pF { __device__ float operator()(float v) const { return log1pf(v); } };
struct Expm1F { __device__ float operator()(float v) const { return expm1f(v); } };
struct Log2F { __device__ float operator()(float v) const { return log2f(v); } };
struct Log10F { __device__ float operator()(float v) const { return log10f(v); } };
// 1 / sqrtf (both correctly rounded without fast math), not rsqrtf's 2-ulp estimate: the CPU's bits.
struct RsqrtF { __device__ float operator()(float v) const { return 1.0f / sqrtf(v); } };
struct RoundF { __device__ float operator()(float v) const { return rintf(v); } };  // halves to even
struct TruncF { __device__ float operator()(float v) const { return truncf(v); } };
struct AsinF { __device__ float operator()(float v) const { return asinf(v); } };
struct AcosF { __device__ float operator()(float v) const { return acosf(v); } };
struct SinhF { __device__ float operator()(float v) const { return sinhf(v); } };
struct CoshF { __device__ float operator()(float v) const { return coshf(v); } };
struct AsinhF { __device__ float operator()(float v) const { return asinhf(v); } };
struct AcoshF { __device__ float operator()(float v) const { return acoshf(v); } };
struct AtanhF { __device__ float operator()(float v) const { return atanhf(v); } };
struct ErfcF { __device__ float operator()(float v) const { return erfcf(v); } };
struct Exp2F { __device__ float operator()(float v) const { return exp2f(v); } };
struct LgammaF { __device__ float operator()(float v) const { return lgammaf(v); } };
struct FracF { __device__ float operator()(float v) const { return v - truncf(v); } };
// cpu/special_math.h's double code, the CPU's (not CUDA's erfinvf): the same results but where
// the last bits of the double libms or nvcc's FMA contractions reach the rounding to float.
struct ErfinvF { __device__ float operator()(float v) const { return static_cast<float>(special::erfinv(v)); } };
struct PolygammaF {
  int64_t n;
  __device__ float operator()(float v) const { return static_cast<float>(special::polygamma(n, v)); }
};

// x op scalar (or scalar op x): the same function with one side fixed.
template <typename F>
struct ScalarRight {
  F f;
  float s;
  __device__ float operator()(float v) const { return f(v, s); }
};
template <typename F>
struct ScalarLeft {
  F f;
  float s;
  __device__ float operator()(float v) const { return f(s, v); }
};

}  // namespace

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y) {
  with_binary_op(op, [&](auto f) { binary_loop(binary_name(op), a, b, y, f); });
}

void binary_scalar(BinaryOp op, const Tensor& x, float scalar, bool scalar_first, const Tensor& y) {
  const char* name = binary_name(op);
  with_binary_op(op, [&](auto f) {
    using F = decltype(f);
    if (scalar_first) unary_loop(name, x, y, ScalarLeft<F>{f, scalar});
    else unary_loop(name, x, y, ScalarRight<F>{f, scalar});
  });
}

void unary(UnaryOp op, const Tensor& x, const Tensor& y) {
  switch (op) {
    case UnaryOp::Neg: return unary_loop("neg", x, y, NegF{});
    case UnaryOp::Abs: return unary_loop("abs", x, y, AbsF{});
    case UnaryOp::Exp: return unary_loop("exp", x, y, ExpF{});
    case UnaryOp::Log: return unary_loop("log", x, y, LogF{});
    case UnaryOp::Sqrt: return unary_loop("sqrt", x, y, SqrtF{});
    case UnaryOp::Square: return unary_loop("square", x, y, SquareF{});
    case UnaryOp::Reciprocal: return unary_loop("reciprocal", x, y, ReciprocalF{});
    case UnaryOp::Sign: return unary_loop("sign", x, y, SignF{});
    case UnaryOp::Floor: return unary_loop("floor", x, y, FloorF{});
    case UnaryOp::Ceil: return unary_loop("ceil", x, y, CeilF{});
    case UnaryOp::Erf: return unary_loop("erf", x, y, ErfF{});
    case UnaryOp::Sin: return unary_loop("sin", x, y, SinF{});
    case UnaryOp::Cos: return unary_loop("cos", x, y, CosF{});
    case UnaryOp::Tan: return unary_loop("tan", x, y, TanF{});
    case UnaryOp::Atan: return unary_loop("atan", x, y, AtanF{});
    case UnaryOp::Log1p: return unary_loop("log1p", x, y, Log1pF{});
    case UnaryOp::Expm1: return unary_loop("expm1", x, y, Expm1F{});
    case UnaryOp::Log2: return unary_loop("log2", x, y, Log2F{});
    case UnaryOp::Log10: return unary_loop("log10", x, y, Log10F{});
    case UnaryOp::Rsqrt: return unary_loop("rsqrt", x, y, RsqrtF{});
    case UnaryOp::Round: return unary_loop("round", x, y, RoundF{});
    case UnaryOp::Trunc: return unary_loop("trunc", x, y, TruncF{});
    case UnaryOp::Asin: return unary_loop("asin", x, y, AsinF{});
    case UnaryOp::Acos: return unary_loop("acos", x, y, AcosF{});
    case UnaryOp::Sinh: return unary_loop("sinh", x, y, SinhF{});
    case UnaryOp::Cosh: return unary_loop("cosh", x, y, CoshF{});
    case UnaryOp::Asinh: return unary_loop("asinh", x, y, AsinhF{});
    case UnaryOp::Acosh: return unary_loop("acosh", x, y, AcoshF{});
    case UnaryOp::Atanh: return unary_loop("atanh", x, y, AtanhF{});
    case UnaryOp::Erfc: return unary_loop("erfc", x, y, ErfcF{});
    case UnaryOp::Erfinv: return unary_loop("erfinv", x, y, ErfinvF{});
    case UnaryOp::Exp2: return unary_loop("exp2", x, y, Exp2F{});
    case UnaryOp::Lgamma: return unary_loop("lgamma", x, y, LgammaF{});
    case UnaryOp::Frac: return unary_loop("frac", x, y, FracF{});
  }
  fail("E_ARG", "unary: unknown op ", static_cast<int>(op));
}

void affine(const Tensor& x, float alpha, float beta, const Tensor& y) {
  // Two roundings, as on the CPU: alpha * v, then + beta (never one FMA).
  const float* px = x.f32();
  float* py = y.f32();
  for_each("affine", x.numel(), [=] __device__(int64_t i) { py[i] = fadd(fmul(alpha, px[i]), beta); });
}

void polygamma(int64_t n, const Tensor& x, const Tensor& y) { unary_loop("polygamma", x, y, PolygammaF{n}); }

void pow_scalar(const Tensor& x, float exponent, const Tensor& y) {
  if (exponent == 2.0f) return unary_loop("pow", x, y, SquareF{});
  if (exponent == 0.5f) return unary_loop("pow", x, y, SqrtF{});
  unary_loop("pow", x, y, ScalarRight<PowF>{PowF{}, exponent});
}

}  // namespace cuda
}  // namespace convnet
