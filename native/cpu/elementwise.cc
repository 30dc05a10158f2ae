// Elementwise ops: binary ops with NumPy/PyTorch broadcasting, unary maths, affine, pow.
//
// Broadcasting walks the output row by row (a row = the last dimension). Each input gets a
// stride of 0 along a broadcast dimension, so a row of the input is either contiguous
// (stride 1) or one repeated value (stride 0); the three inner loops are specialised for
// these cases so the compiler vectorises them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_features.h"
#include "cpu/cpu_ops.h"
#include "cpu/inline_math.h"
#include "cpu/simd_clones.h"
#include "cpu/special_math.h"
#include "cpu/vec_math.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kElementwiseGrain = 1 << 15;

// y = a (op) b with broadcasting, a row at a time: row(ra, a_steps, rb, b_steps, ry, n) where an
// operand that does not step is one value repeated.
template <typename Row>
void binary_rows(const Tensor& a, const Tensor& b, const Tensor& y, Row row) {
  const float* pa = a.f32();
  const float* pb = b.f32();
  float* py = y.f32();
  const int64_t n = y.numel();
  if (n == 0) return;
  // Each operand whole or one value (a [1] tensor, say): one long row.
  const bool a_whole = a.shape == y.shape, b_whole = b.shape == y.shape;
  if ((a_whole || a.numel() == 1) && (b_whole || b.numel() == 1)) {
    parallel_for_elements(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
      row(a_whole ? pa + begin : pa, a_whole, b_whole ? pb + begin : pb, b_whole, py + begin, end - begin);
    });
    return;
  }
  Shape shape = y.shape;
  std::vector<int64_t> s[2] = {broadcast_strides(a.shape, shape), broadcast_strides(b.shape, shape)};
  merge_broadcast_axes(shape, s);
  const int64_t dims = static_cast<int64_t>(shape.size());
  const int64_t width = shape[dims - 1];
  const int64_t rows = n / width;
  const bool a_steps = s[0][dims - 1] != 0, b_steps = s[1][dims - 1] != 0;
  parallel_for(rows, std::max<int64_t>(1, kElementwiseGrain / width), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t off[2];
      broadcast_row_offsets(r, shape, s, off);
      row(pa + off[0], a_steps, pb + off[1], b_steps, py + r * width, width);
    }
  });
}

// One row of y = f(a, b), each operand stepping or one value: the loops of binary_row and
// binary_row_no_trapping, which differ only in their optimize options (below).
#define CONVNET_BINARY_ROW_LOOPS                                 \
  if (a_steps && b_steps) {                                      \
    for (int64_t j = 0; j < n; ++j) y[j] = f(a[j], b[j]);        \
  } else if (a_steps) {                                          \
    const float vb = b[0];                                       \
    for (int64_t j = 0; j < n; ++j) y[j] = f(a[j], vb);          \
  } else if (b_steps) {                                          \
    const float va = a[0];                                       \
    for (int64_t j = 0; j < n; ++j) y[j] = f(va, b[j]);          \
  } else {                                                       \
    const float v = f(a[0], b[0]);                               \
    for (int64_t j = 0; j < n; ++j) y[j] = v;                    \
  }

template <typename F>
__attribute__((always_inline)) inline void binary_row(F f, const float* __restrict a, bool a_steps, const float* __restrict b,
                                                      bool b_steps, float* __restrict y, int64_t n) {
  CONVNET_BINARY_ROW_LOOPS
}

// The same loops without trapping maths, so that GCC turns the selects of f into vector blends
// (it keeps a branch per element otherwise). The option counts where the loops are, not where f
// is written, and f must be always_inline (a functor, below): GCC inlines no plain function, a
// lambda included, into one with other optimize options, and would call f per element.
template <typename F>
__attribute__((always_inline, optimize("no-trapping-math"))) inline void binary_row_no_trapping(
    F f, const float* __restrict a, bool a_steps, const float* __restrict b, bool b_steps, float* __restrict y, int64_t n) {
  CONVNET_BINARY_ROW_LOOPS
}
#undef CONVNET_BINARY_ROW_LOOPS

// The vectorised binary ops beyond one instruction, from inline_math.h's helpers:
// hypot in float64, where the squares cannot overflow or underflow and are exact, and their sum
// and sqrt round once each before the rounding to float (within 0.5 ulp and a hair; glibc's
// scalar hypotf ran at 0.20x PyTorch's speed on [8, 64, 56, 56]); +inf where either operand is
// infinite, even beside a NaN, as C's hypot.
CONVNET_MATH_INLINE float hypot_value(float u, float v) {
  const double du = u, dv = v;
  const float h = static_cast<float>(__builtin_sqrt(du * du + dv * dv));
  return (__builtin_fabsf(u) == __builtin_inff()) | (__builtin_fabsf(v) == __builtin_inff()) ? __builtin_inff() : h;
}

// log(b^u + b^v) = max(u, v) + log1p(b^-|u - v|) / ln b (b = e or 2), as torch.logaddexp(2):
// never overflows; equal operands take u - v = 0, so two equal infinities give themselves (inf -
// inf would be NaN); NaN in either gives NaN. log1p_unit and exp_nonpositive keep it one vector
// loop (it was five composed ops, 0.52x PyTorch's speed). exp2_nonpositive, not exp of -d ln2.
CONVNET_MATH_INLINE float logaddexp_value(float u, float v, bool base2) {
  const bool nan = (u != u) | (v != v);
  const float m = u > v ? u : v, d = u == v ? 0.0f : __builtin_fabsf(u - v);
  const float tail = base2 ? log1p_unit(exp2_nonpositive(-d)) * 1.44269504088896341f
                           : log1p_unit(exp_nonpositive(-d));
  return nan ? u + v : m + tail;
}

// atan2(u, v), the angle of the point (v, u), as C's atan2 (the signed zeros and infinities
// included): t0 = min / max of |u| and |v| in [0, 1] (0 for two zeros, 1 for two infinities),
// reduced past tan(pi/8) by atan(t0) = pi/4 + atan((t0 - 1) / (t0 + 1)), Cephes' atanf polynomial
// (atan_block's), then pi/2 - a where |u| > |v|, pi - a where v's sign bit is set, and u's sign.
// Within 1.6 ulp of float64 (test/ops-extra.test.ts's sweep); glibc's scalar atan2f ran at 0.09x
// PyTorch's speed on [8, 64, 56, 56].
CONVNET_MATH_INLINE float atan2_value(float u, float v) {
  const float pio2_hi = 1.57079637050628662109f, pio2_lo = -4.37113900018624283e-8f;
  const float pio4_hi = 0.785398185253143310547f, pio4_lo = -2.18556950009312142e-8f;
  const float pi_hi = 3.14159274101257324219f, pi_lo = -8.74227800037248566e-8f;
  const float au = __builtin_fabsf(u), av = __builtin_fabsf(v);
  const bool steep = au > av;
  const float num = steep ? av : au, den = steep ? au : av;
  const float t0 = num == den ? (num == 0.0f ? 0.0f : 1.0f) : num / den;  // NaN stays NaN
  const bool mid = t0 > 0.4142135623730950f;
  const float t = mid ? (t0 - 1.0f) / (t0 + 1.0f) : t0;
  const float z = t * t;
  const float p = (((8.05374449538e-2f * z - 1.38776856032e-1f) * z + 1.99777106478e-1f) * z - 3.33329491539e-1f) * z * t + t;
  const float a = mid ? pio4_hi + (p + pio4_lo) : p;                  // atan(t0), in [0, pi/4]
  const float b = steep ? pio2_hi - (a - pio2_lo) : a;                // in [0, pi/2]
  const float c = __builtin_signbitf(v) ? pi_hi - (b - pi_lo) : b;    // in [0, pi]
  return __builtin_copysignf(c, u);
}

// The binary ops that are one instruction or a select, compiled again for AVX-512 and AVX2
// (simd_clones.h; the other ops' scalar loops stay in the baseline, below). Exact or correctly
// rounded, so every path gives the same bits. maximum and minimum are selects with NaN passed on
// (as torch.maximum): written with `||` and nested choices, GCC had compiled them into branches,
// which mispredict on real data ([32,16,12,12] 67 us at 1 thread, PyTorch 11). No optimize
// attribute: GCC does not inline a function (these lambdas included) into one with its own
// optimize options, which left a call per element.
CONVNET_SIMD_CLONES void simple_binary_row(BinaryOp op, const float* __restrict a, bool a_steps, const float* __restrict b,
                                           bool b_steps, float* __restrict y, int64_t n) {
  switch (op) {
    case BinaryOp::Add: return binary_row([](float u, float v) { return u + v; }, a, a_steps, b, b_steps, y, n);
    case BinaryOp::Sub: return binary_row([](float u, float v) { return u - v; }, a, a_steps, b, b_steps, y, n);
    case BinaryOp::Mul: return binary_row([](float u, float v) { return u * v; }, a, a_steps, b, b_steps, y, n);
    case BinaryOp::Div: return binary_row([](float u, float v) { return u / v; }, a, a_steps, b, b_steps, y, n);
    case BinaryOp::Maximum:
      return binary_row([](float u, float v) { return ((u != u) | (v != v)) ? u + v : (u > v ? u : v); }, a, a_steps, b, b_steps, y, n);
    case BinaryOp::Minimum:
      return binary_row([](float u, float v) { return ((u != u) | (v != v)) ? u + v : (u < v ? u : v); }, a, a_steps, b, b_steps, y, n);
    // The sign bit of v, a NaN's and -0's included, as torch.copysign.
    case BinaryOp::Copysign: return binary_row([](float u, float v) { return __builtin_copysignf(u, v); }, a, a_steps, b, b_steps, y, n);
    // 1 or 0, nonzero and NaN true (torch.logical_and and friends, as float32 masks).
    case BinaryOp::LogicalAnd:
      return binary_row([](float u, float v) { return (u != 0.0f) & (v != 0.0f) ? 1.0f : 0.0f; }, a, a_steps, b, b_steps, y, n);
    case BinaryOp::LogicalOr:
      return binary_row([](float u, float v) { return (u != 0.0f) | (v != 0.0f) ? 1.0f : 0.0f; }, a, a_steps, b, b_steps, y, n);
    case BinaryOp::LogicalXor:
      return binary_row([](float u, float v) { return (u != 0.0f) != (v != 0.0f) ? 1.0f : 0.0f; }, a, a_steps, b, b_steps, y, n);
    default: fail("E_INTERNAL", "simple_binary_row: op ", static_cast<int>(op), " is not one of its ops");
  }
}

// fmod(u, v) exactly, the sign of u, for |u / v| < 2^29 and finite v; NaN elsewhere (including
// where the true answer is NaN), for fmod_row to redo with std::fmod. In float64: the quotient's
// one rounding cannot cross an integer while it is below 2^29 (a float's distance from a multiple
// of v is at least 2^-24 |v|, more than that rounding moves it), so q = trunc(u / v) is exact,
// q v is exact (24 + 29 bits) and so is u - q v, a float (fmod's result always is), FMA or not;
// its sign is u's, -0 included. remainder (torch.remainder: the sign of v) then
// adds v where the signs differ, in float as PyTorch does.
CONVNET_MATH_INLINE float fmod_fast(float u, float v, bool remainder) {
  const double du = u, dv = v;
  const double q = __builtin_trunc(du / dv);
  const float m = __builtin_copysignf(static_cast<float>(du - q * dv), u);
  const float r = remainder && m != 0.0f && ((v < 0.0f) != (m < 0.0f)) ? m + v : m;
  const bool fast = (__builtin_fabsf(u) < 0x1p29f * __builtin_fabsf(v)) & (__builtin_fabsf(v) < __builtin_inff());
  return fast ? r : __builtin_nanf("");
}

// hypot, atan2 and logaddexp, in binary_row_no_trapping's loops.
struct HypotOp {
  CONVNET_MATH_INLINE float operator()(float u, float v) const { return hypot_value(u, v); }
};
struct Atan2Op {
  CONVNET_MATH_INLINE float operator()(float u, float v) const { return atan2_value(u, v); }
};
// x log(y), 0 where x is 0 and y is not NaN (torch.xlogy), with log(y) and the product in float64:
// one rounding (PyTorch's float log and product round twice).
struct XlogyOp {
  CONVNET_MATH_INLINE float operator()(float u, float v) const {
    return (u == 0.0f) & (v == v) ? 0.0f : static_cast<float>(u * log_double(v));
  }
};
template <bool kBase2>
struct LogAddExpOp {
  CONVNET_MATH_INLINE float operator()(float u, float v) const { return logaddexp_value(u, v, kBase2); }
};
// torch.remainder (the sign of the divisor, Python's %) and torch.fmod (the dividend's, C's), from
// the exact fmod as PyTorch does.
inline float fmod_exact(float u, float v, bool remainder) {
  float m = std::fmod(u, v);
  if (remainder && m != 0 && ((v < 0) != (m < 0))) m += v;
  return m;
}

// Whether y[0..n) holds a NaN (out of line: see fmod_row).
CONVNET_SIMD_CLONES __attribute__((noinline)) bool any_nan(const float* y, int64_t n) {
  int32_t found = 0;  // an int, not a bool: GCC vectorises the OR of ints only
  for (int64_t j = 0; j < n; ++j) found |= y[j] != y[j];
  return found != 0;
}

// fmod_fast over the row, then std::fmod where it gave NaN (quotients of 2^29 and more, infinite or
// zero divisors, NaN operands): glibc's fmodf per element ran at 0.07x PyTorch's speed. The loops
// are written out here, in a function without trapping maths: through binary_row_no_trapping
// GCC 12 kept a branch per element, and any_nan's loop, inlined after them, stopped them too.
CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math")))
void fmod_row(bool remainder, const float* __restrict a, bool a_steps, const float* __restrict b, bool b_steps, float* __restrict y,
              int64_t n) {
  if (a_steps && b_steps) {
    for (int64_t j = 0; j < n; ++j) y[j] = fmod_fast(a[j], b[j], remainder);
  } else if (a_steps) {
    const float vb = b[0];
    for (int64_t j = 0; j < n; ++j) y[j] = fmod_fast(a[j], vb, remainder);
  } else if (b_steps) {
    const float va = a[0];
    for (int64_t j = 0; j < n; ++j) y[j] = fmod_fast(va, b[j], remainder);
  } else {
    const float v = fmod_fast(a[0], b[0], remainder);
    for (int64_t j = 0; j < n; ++j) y[j] = v;
  }
  if (!any_nan(y, n)) return;
  for (int64_t j = 0; j < n; ++j) {
    if (y[j] != y[j]) y[j] = fmod_exact(a[a_steps ? j : 0], b[b_steps ? j : 0], remainder);
  }
}

CONVNET_SIMD_CLONES void math_binary_row(BinaryOp op, const float* __restrict a, bool a_steps, const float* __restrict b, bool b_steps,
                     float* __restrict y, int64_t n) {
  switch (op) {
    case BinaryOp::Hypot: return binary_row_no_trapping(HypotOp{}, a, a_steps, b, b_steps, y, n);
    case BinaryOp::Atan2: return binary_row_no_trapping(Atan2Op{}, a, a_steps, b, b_steps, y, n);
    case BinaryOp::LogAddExp: return binary_row_no_trapping(LogAddExpOp<false>{}, a, a_steps, b, b_steps, y, n);
    case BinaryOp::LogAddExp2: return binary_row_no_trapping(LogAddExpOp<true>{}, a, a_steps, b, b_steps, y, n);
    case BinaryOp::Xlogy: return binary_row_no_trapping(XlogyOp{}, a, a_steps, b, b_steps, y, n);
    case BinaryOp::Remainder: return fmod_row(true, a, a_steps, b, b_steps, y, n);
    case BinaryOp::Fmod: return fmod_row(false, a, a_steps, b, b_steps, y, n);
    default: fail("E_INTERNAL", "math_binary_row: op ", static_cast<int>(op), " is not one of its ops");
  }
}

using BinaryRowFn = void (*)(BinaryOp, const float*, bool, const float*, bool, float*, int64_t);

// The vectorised row function of `op`; null for pow, which loops over std::pow.
BinaryRowFn vector_binary_row(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add:
    case BinaryOp::Sub:
    case BinaryOp::Mul:
    case BinaryOp::Div:
    case BinaryOp::Maximum:
    case BinaryOp::Minimum:
    case BinaryOp::Copysign:
    case BinaryOp::LogicalAnd:
    case BinaryOp::LogicalOr:
    case BinaryOp::LogicalXor: return simple_binary_row;
    case BinaryOp::Hypot:
    case BinaryOp::Atan2:
    case BinaryOp::LogAddExp:
    case BinaryOp::LogAddExp2:
    case BinaryOp::Xlogy:
    case BinaryOp::Remainder:
    case BinaryOp::Fmod: return math_binary_row;
    case BinaryOp::Pow: return nullptr;
  }
  fail("E_ARG", "binary: unknown op ", static_cast<int>(op));
}

template <typename F>
void unary_loop(const Tensor& x, const Tensor& y, F f) {
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for_elements(x.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) py[i] = f(px[i]);
  });
}

// pow, the one binary op without a vector row: std::pow per element.
inline float pow_value(float u, float v) { return std::pow(u, v); }

}  // namespace

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y) {
  if (const BinaryRowFn vector_row = vector_binary_row(op)) {
    return binary_rows(a, b, y, [op, vector_row](const float* ra, bool sa, const float* rb, bool sb, float* ry, int64_t n) {
      vector_row(op, ra, sa, rb, sb, ry, n);
    });
  }
  binary_rows(a, b, y, [](const float* ra, bool sa, const float* rb, bool sb, float* ry, int64_t n) {
    binary_row(pow_value, ra, sa, rb, sb, ry, n);
  });
}

void binary_scalar(BinaryOp op, const Tensor& x, float scalar, bool scalar_first, const Tensor& y) {
  if (const BinaryRowFn vector_row = vector_binary_row(op)) {
    const float* px = x.f32();
    float* py = y.f32();
    parallel_for_elements(x.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      if (scalar_first) vector_row(op, &scalar, false, px + begin, true, py + begin, end - begin);
      else vector_row(op, px + begin, true, &scalar, false, py + begin, end - begin);
    });
    return;
  }
  if (scalar_first) unary_loop(x, y, [scalar](float v) { return pow_value(scalar, v); });
  else unary_loop(x, y, [scalar](float v) { return pow_value(v, scalar); });
}



namespace {
// The unary ops that vectorise, compiled again for AVX-512 and AVX2 (simd_clones.h): there floor,
// ceil, trunc and nearbyint are one rounding instruction (SSE4.1; the baseline calls libm per
// element) and sqrt is one instruction (this file is built with -fno-math-errno: CMakeLists.txt).
// The builtins, not std::floor and friends: GCC does not inline those into a function with its
// own optimize options (no-trapping-math, without which it keeps floor, ceil and trunc scalar).
// Every result is exact or correctly rounded either way: the same bits on every path. Was 7-10x
// slower as a scalar loop ([64, 256, 28, 28] round 9.9 ms, sqrt(abs) 15.7 ms, two threads).
CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math"))) void simple_unary(UnaryOp op, const float* __restrict x, float* __restrict y, int64_t n) {
  switch (op) {
    case UnaryOp::Neg: for (int64_t i = 0; i < n; ++i) y[i] = -x[i]; return;
    case UnaryOp::Abs: for (int64_t i = 0; i < n; ++i) y[i] = __builtin_fabsf(x[i]); return;
    case UnaryOp::Sqrt: for (int64_t i = 0; i < n; ++i) y[i] = __builtin_sqrtf(x[i]); return;
    case UnaryOp::Square: for (int64_t i = 0; i < n; ++i) y[i] = x[i] * x[i]; return;
    case UnaryOp::Reciprocal: for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / x[i]; return;
    case UnaryOp::Rsqrt: for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / __builtin_sqrtf(x[i]); return;   // as PyTorch's CPU kernel
    case UnaryOp::Floor: for (int64_t i = 0; i < n; ++i) y[i] = __builtin_floorf(x[i]); return;
    case UnaryOp::Ceil: for (int64_t i = 0; i < n; ++i) y[i] = __builtin_ceilf(x[i]); return;
    case UnaryOp::Trunc: for (int64_t i = 0; i < n; ++i) y[i] = __builtin_truncf(x[i]); return;
    // Halves to even (the default rounding mode), as torch.round: 0.5 -> 0, 1.5 -> 2, -2.5 -> -2.
    case UnaryOp::Round: for (int64_t i = 0; i < n; ++i) y[i] = __builtin_nearbyintf(x[i]); return;
    case UnaryOp::Frac: for (int64_t i = 0; i < n; ++i) y[i] = x[i] - __builtin_truncf(x[i]); return;  // exact; +-inf give NaN
    // -1, 0 or 1; NaN stays NaN. (A scalar loop with a branch ran at 0.08x PyTorch's speed.)
    case UnaryOp::Sign:
      for (int64_t i = 0; i < n; ++i) {
        const float v = x[i], s = static_cast<float>((v > 0.0f) - (v < 0.0f));
        y[i] = v != v ? v : s;
      }
      return;
    default: fail("E_INTERNAL", "simple_unary: op ", static_cast<int>(op), " is not one of its ops");
  }
}

// sinh, cosh and exp2 from vec_math's SIMD exp and expm1, a block at a time (glibc's scalar
// sinhf ran at 0.08x PyTorch's speed on [512, 4096], exp2f at 0.35x):
//   sinh(x) = sign(x) (E + E / (E + 1)) / 2 with E = expm1(|x|): no cancellation near 0;
//   cosh(x) = (e + 1 / e) / 2 with e = exp(|x|);
//   exp2(x) = 2^n exp((x - n) ln 2) with n = round(x): the reduced argument is exact and at most
//   ln 2 / 2, so its rounding costs at most 0.2 ulp, and 2^n is exact.
// Within 2.1 ulp of float64 (vec-math.test.ts's sweep). The lanes where the formula would overflow
// or leave the normal range (|x| > 88 for sinh and cosh, which stay finite to 89.4; x outside
// [-126, 127] for exp2) and NaN take glibc's functions.
constexpr int64_t kBlock = 256;

// fn(xs, ys, n) over x's and y's floats a block of at most kBlock at a time (scratch arrays of
// kBlock floats on the stack fit it), the blocks split between threads.
template <typename Fn>
void in_blocks(const Tensor& x, const Tensor& y, Fn fn) {
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for_elements(y.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; b += kBlock) fn(px + b, py + b, std::min(kBlock, end - b));
  });
}

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math"))) void abs_block(const float* __restrict x, float* __restrict a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] = __builtin_fabsf(x[i]);
}

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math"))) void sinh_block(const float* __restrict x, const float* __restrict e, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = __builtin_copysignf(0.5f * (e[i] + e[i] / (e[i] + 1.0f)), x[i]);
}

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math"))) void cosh_block(const float* __restrict e, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * e[i] + 0.5f / e[i];
}

// t = (x - n) ln 2 and the float 2^n, n = round(x) with x clamped to [-126, 127] (the lanes
// outside are redone by exp2_fix; a NaN lane clamps to -126).
CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math"))) void exp2_reduce(const float* __restrict x, float* __restrict t, float* __restrict scale, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] > 127.0f ? 127.0f : (x[i] >= -126.0f ? x[i] : -126.0f);
    const float k = __builtin_nearbyintf(v);
    t[i] = (v - k) * 0.693147180559945309f;
    scale[i] = __builtin_bit_cast(float, static_cast<int32_t>(k + 127.0f) << 23);
  }
}

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math"))) void multiply_block(const float* __restrict a, const float* __restrict b, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

enum class ExpKind { Sinh, Cosh, Exp2 };

void exp_based_loop(ExpKind kind, const Tensor& x, const Tensor& y) {
  in_blocks(x, y, [&](const float* xs, float* ys, int64_t n) {
    alignas(64) float a[kBlock], e[kBlock];
    if (kind == ExpKind::Exp2) {
      exp2_reduce(xs, a, e, n);
      vec::exp(a, a, n);
      multiply_block(a, e, ys, n);
      for (int64_t i = 0; i < n; ++i) {
        if (!(xs[i] >= -126.0f && xs[i] <= 127.0f)) ys[i] = std::exp2(xs[i]);
      }
      return;
    }
    abs_block(xs, a, n);
    if (kind == ExpKind::Sinh) {
      vec::expm1(a, e, n);
      sinh_block(xs, e, ys, n);
    } else {
      vec::exp(a, e, n);
      cosh_block(e, ys, n);
    }
    for (int64_t i = 0; i < n; ++i) {
      if (!(a[i] <= 88.0f)) ys[i] = kind == ExpKind::Sinh ? std::sinh(xs[i]) : std::cosh(xs[i]);
    }
  });
}

// erf and erfc from vec_math's SIMD exp (glibc's scalar erfcf ran at 0.40x PyTorch's speed on
// [512, 4096], erff alike). With a = |x|:
//   a < 1/2:  erf(x) = x P(x^2), erfc(x) = 1 - erf(x);
//   a >= 1/2: erfc(a) = exp(-a^2) Q(a), Q(a) = erfc(a) exp(a^2) by one of four polynomials in
//             a - m (exact) on [1/2, 3/2), [3/2, 3), [3, 5.5), [5.5, 10.1]; erfc(-a) = 2 - erfc(a),
//             erf(x) = sign(x) (1 - erfc(a)). a^2 = h + l exactly (l by an FMA), and exp(-a^2) =
//             exp(-h) (1 - l) to float precision, so the rounding of a^2 (up to 8 ulp of the
//             result near a = 10) does not reach it. Past 10.1 erfc is 0 in float: a is clamped.
// The coefficients are weighted least-squares fits to float64 erf and erfc at 4000 Chebyshev
// nodes an interval, rounded to float (scripts/erf_fit.py, which also models the rounding).
// Within 3.49 ulp of float64 for erfc (normal results; 1.5 subnormal ulp below) and 2.38 for
// erf over vec-math.test.ts's sweep; glibc's were within 1, Sleef's (PyTorch's) are within 1.5.
// Every step is an explicit FMA or a single operation (no contraction), so the clones give the
// same bits (vec exp's path aside).
constexpr float kErfTailEnd = 10.1f;

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"))) void erfc_tail_start(const float* __restrict x, float* __restrict h, float* __restrict q, int64_t n) {
  // Q's coefficients, constant term first, in powers of a - kMid: kQ[j][interval].
  static constexpr float kMid[4] = {1.0f, 2.25f, 4.25f, 7.8f};
  static constexpr float kQ[10][4] = {
      {4.275835752e-01f, 2.310872525e-01f, 1.293452680e-01f, 7.175163925e-02f},
      {-2.732120156e-01f, -8.848650008e-02f, -2.894433029e-02f, -9.053590707e-03f},
      {1.543715149e-01f, 3.199260309e-02f, 6.331855431e-03f, 1.133619691e-03f},
      {-7.922701538e-02f, -1.100206841e-02f, -1.355934655e-03f, -1.408804528e-04f},
      {3.757399321e-02f, 3.619324183e-03f, 2.846310381e-04f, 1.738650462e-05f},
      {-1.666156389e-02f, -1.143723843e-03f, -5.859784869e-05f, -2.128864026e-06f},
      {6.951038260e-03f, 3.468990035e-04f, 1.174840781e-05f, 2.551028615e-07f},
      {-2.767332830e-03f, -1.025077581e-04f, -2.342937933e-06f, -3.095808765e-08f},
      {1.137095736e-03f, 3.263498729e-05f, 5.315991984e-07f, 4.537421550e-09f},
      {-4.028193362e-04f, -8.841296221e-06f, -9.987773097e-08f, -5.279461868e-10f},};
  for (int64_t i = 0; i < n; ++i) {
    const float a0 = __builtin_fabsf(x[i]), a = a0 < kErfTailEnd ? a0 : kErfTailEnd;   // NaN: the end (finish() restores it)
    // The interval's coefficients by selects (an index into the table kept GCC from vectorising).
    const bool b1 = a >= 1.5f, b2 = a >= 3.0f, b3 = a >= 5.5f;
    const auto pick = [&](const float (&c)[4]) { return b3 ? c[3] : b2 ? c[2] : b1 ? c[1] : c[0]; };
    const float s = a - pick(kMid);
    float p = pick(kQ[9]);
#pragma GCC unroll 9
    for (int j = 8; j >= 0; --j) p = __builtin_fmaf(p, s, pick(kQ[j]));
    const float sq = a * a, l = __builtin_fmaf(a, a, -sq);
    h[i] = -sq;
    q[i] = __builtin_fmaf(p, -l, p);   // Q (1 - l)
  }
}

// y = erf(x) or erfc(x) from e = exp(h) and q (above).
CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"))) void erf_finish(bool complement, const float* __restrict x, const float* __restrict e, const float* __restrict q, float* __restrict y, int64_t n) {
  const auto erf_small = [&](float v) { return v * erf_small_poly(v * v); };   // erf(v) for |v| < 1/2
  // One loop each (the choice inside the loop kept GCC from vectorising it). tail = erfc(|x|).
  if (complement) {
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i], tail = e[i] * q[i];
      const float r = __builtin_fabsf(v) < 0.5f ? 1.0f - erf_small(v) : (v > 0 ? tail : 2.0f - tail);
      y[i] = v != v ? v : r;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i], tail = e[i] * q[i];
      const float r = __builtin_fabsf(v) < 0.5f ? erf_small(v) : __builtin_copysignf(1.0f - tail, v);
      y[i] = v != v ? v : r;
    }
  }
}

void erf_loop(bool complement, const Tensor& x, const Tensor& y) {
  in_blocks(x, y, [&](const float* xs, float* ys, int64_t n) {
    alignas(64) float h[kBlock], q[kBlock];
    erfc_tail_start(xs, h, q, n);
    vec::exp(h, h, n);
    erf_finish(complement, xs, h, q, ys, n);
  });
}

// lgamma for x > 0 from vec_math's SIMD log (glibc's scalar lgammaf_r ran at 0.43x PyTorch's
// speed on [512, 4096]): polynomials in s = x - mid on six intervals below 8, the zeros at 1 and
// 2 factored out ((x - 1) P1(s), (x - 2) P3(s)) so that their relative accuracy holds there, x
// P0(s) - log x below 1/2, and Stirling's series from 8, (x - 1/2)(log x - 1) + (log(2 pi) -
// 1) / 2 + 1/(12 x) - 1/(360 x^3) + 1/(1260 x^5). The coefficients are weighted least-squares
// fits to float64 (scripts/lgamma_fit.py, which lists the intervals and models the rounding).
// Within 2.57 ulp of float64 (vec-math.test.ts's sweep; glibc's are within 1). Negative inputs:
// lgamma_negative below. 0, the negative integers (poles), the infinities and NaN take glibc's
// lgammaf_r.
constexpr float kLgammaStirling = 8.0f;

// u = x where lgamma_finish takes log x (x < 1/2, x >= 8), else 1.
CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"))) void lgamma_log_argument(const float* __restrict x, float* __restrict u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) u[i] = (x[i] < 0.5f && x[i] > 0.0f) || x[i] >= kLgammaStirling ? x[i] : 1.0f;
}

// y = lgamma(x) for 0 < x < inf from l = log(u); other lanes are left for the caller's glibc.
CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"))) void lgamma_finish(const float* __restrict x, const float* __restrict l, float* __restrict y, int64_t n) {
  static constexpr float kMid[6] = {0.25f, 1.0f, 1.5f, 2.0f, 3.25f, 6.0f};
  static constexpr float kP[11][6] = {
      {-3.930873573e-01f, -5.772156715e-01f, -1.207822412e-01f, 4.227843285e-01f, 9.358019233e-01f, 4.787491798e+00f},
      {6.625352502e-01f, 8.224667907e-01f, 3.648997471e-02f, 3.224670291e-01f, 1.016990900e+00f, 1.706117630e+00f},
      {-2.554826736e-01f, -4.006840885e-01f, 4.674010873e-01f, -6.735230237e-02f, 1.798991412e-01f, 9.066148847e-02f},
      {1.367707849e-01f, 2.706229985e-01f, -1.381327659e-01f, 2.058080956e-02f, -2.135948651e-02f, -5.464935675e-03f},
      {-8.339264989e-02f, -2.074885517e-01f, 5.871212482e-02f, -7.385550067e-03f, 3.768040799e-03f, 4.928025301e-04f},
      {5.439176783e-02f, 1.676162928e-01f, -2.895242907e-02f, 2.890458331e-03f, -7.906481042e-04f, -5.322153083e-05f},
      {-3.692287579e-02f, -1.430724114e-01f, 1.543569658e-02f, -1.192702795e-03f, 1.828722452e-04f, 6.382031643e-06f},
      {2.568381093e-02f, 1.608249694e-01f, -8.610270917e-03f, 5.105601158e-04f, -4.472560977e-05f, -7.972880667e-07f},
      {-1.839641295e-02f, -8.025439829e-02f, 4.958176985e-03f, -2.252330014e-04f, 1.130856890e-05f, 1.023358962e-07f},
      {1.427310798e-02f, -1.202137396e-01f, -3.112553153e-03f, 9.562931518e-05f, -3.406568339e-06f, -1.905164204e-08f},
      {-9.268941358e-03f, -5.173405409e-01f, 1.862135599e-03f, -2.708031752e-05f, 1.028502538e-06f, 3.154793982e-09f},};
  const float half_log_2pi_less_half = 0.418938533204672742f;   // (log(2 pi) - 1) / 2
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    // Every interval's polynomial, then the one for v selected: selecting the coefficients
    // instead (66 selects) or indexing the table kept GCC from vectorising the loop.
    const float lx = l[i];
    float p[6], s[6];
#pragma GCC unroll 6
    for (int k = 0; k < 6; ++k) {
      s[k] = v - kMid[k];
      p[k] = kP[10][k];
#pragma GCC unroll 10
      for (int j = 9; j >= 0; --j) p[k] = __builtin_fmaf(p[k], s[k], kP[j][k]);
    }
    const float r0 = __builtin_fmaf(v, p[0], -lx), r1 = s[1] * p[1], r2 = p[2], r3 = s[3] * p[3], r4 = p[4], r5 = p[5];
    float poly = r0;   // a chain of selects (one nested expression of five was not vectorised)
    poly = v >= 0.5f ? r1 : poly;
    poly = v >= 1.25f ? r2 : poly;
    poly = v >= 1.75f ? r3 : poly;
    poly = v >= 2.5f ? r4 : poly;
    poly = v >= 4.0f ? r5 : poly;
    const float inv = 1.0f / v, z = inv * inv;
    const float series = __builtin_fmaf(__builtin_fmaf(z, 1.0f / 1260.0f, -1.0f / 360.0f), z, 1.0f / 12.0f);   // times 1/v
    const float stirling = __builtin_fmaf(inv, series, __builtin_fmaf(v - 0.5f, lx - 1.0f, half_log_2pi_less_half));
    y[i] = (v >= kLgammaStirling ? stirling : poly) + 0.0f;   // + 0: +0, not -0, at 1 and 2 (as glibc's)
  }
}

// lgamma for negative non-integers x (-2^23 < x < 0), in double, by the reflection formula
//   lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x),
// lgamma(1 - x) from Stirling's series at z = 1 - x + k >= 6, shifted down by the product
// P = (1 - x)(2 - x) ... (z - 1) of the k <= 5 steps:
//   lgamma(x) = log(pi P / |sin(pi x)|) - ((z - 1/2) log z - z + log(2 pi) / 2 + S(1 / z)),
//   S(w) = sum_{k=1..9} B_2k / (2k (2k - 1)) w^(2k-1) = w/12 - w^3/360 + ... + 43867 w^17/244188
// (the next term is 2.3e-15 at z = 6; shifting to 12, eleven steps, took 1.2x as long).
// sin(pi x) = sin(pi a) with a = |x - round(x)|, exact, from kSinPi's Taylor series; the logs are fdlibm's (below). The two sides cancel near lgamma's negative
// zeros (two in each (-n - 1, -n) from n = 2), to an absolute error of ~3e-15 there (a numpy
// model against mpmath), more than the float result's ulp at the floats nearest the zeros; so
// results under kLgammaNearZero in magnitude are recomputed by glibc's lgammaf_r, which expands
// about the zeros. Elsewhere the double result is within 1e-12 relative, so the float is
// correctly rounded but for near-ties (special.test.ts: within 0.5001 ulp of mpmath over
// test/fixtures/lgamma_negative.json). Before, glibc's lgammaf_r took every negative: 0.37x
// PyTorch's speed on randn values, half of them negative (Sleef's vector lgammaf, within
// max(1 ulp, 1e-8) there), 1.2-1.5x now.
constexpr float kLgammaNearZero = 0x1p-10f;
constexpr float kLgammaNoFraction = 8388608.0f;   // 2^23: every float at or past it is an integer
constexpr double kLgammaShiftTo = 6.0;            // Stirling's series from here (next term 2.3e-15 at 6)

// log(v) for a positive, normal, finite double: fdlibm's e_log.c (within 1 ulp), written with
// selects and integer masks so that it vectorises (AVX2 has no int64 -> double conversion: the
// exponent is read by placing its bits in the mantissa of 2^52).
__attribute__((always_inline, optimize("no-trapping-math", "fp-contract=off"))) inline double log_positive(double v) {
  constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kLg1 = 6.666666666666735130e-01, kLg2 = 3.999999999940941908e-01, kLg3 = 2.857142874366239149e-01,
                   kLg4 = 2.222219843214978396e-01, kLg5 = 1.818357216161805012e-01, kLg6 = 1.531383769920937332e-01,
                   kLg7 = 1.479819860511658591e-01;
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const uint64_t exponent_bits = (bits >> 52) | 0x4330000000000000ULL, mantissa_bits = (bits & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL;
  double e, m;
  std::memcpy(&e, &exponent_bits, sizeof e);
  std::memcpy(&m, &mantissa_bits, sizeof m);
  e -= 4503599627370496.0 + 1023.0;   // 2^52 + the bias: exact
  const bool above = m > 1.4142135623730951;   // m in [sqrt(2)/2, sqrt(2)): f small both ways
  m = above ? m * 0.5 : m;
  e = above ? e + 1.0 : e;
  const double f = m - 1.0, s = f / (2.0 + f), z = s * s, w = z * z;
  const auto fma = [](double a, double b, double c) { return __builtin_fma(a, b, c); };
  const double r = fma(z, fma(w, fma(w, fma(w, kLg7, kLg5), kLg3), kLg1), w * fma(w, fma(w, kLg6, kLg4), kLg2));
  const double hfsq = 0.5 * f * f;
  return e * kLn2Hi - ((hfsq - (s * (hfsq + r) + e * kLn2Lo)) - f);
}

// sin(pi a) / a = sum_k (-1)^k pi^(2k+1) / (2k+1)! a^(2k), k = 0 .. 10, and cos(pi a) = sum_k
// (-1)^k pi^(2k) / (2k)! a^(2k), k = 0 .. 11: Taylor, for |a| <= 1/2 (within 3e-16 there).
constexpr double kSinPi[11] = {
    3.141592653589793, -5.16771278004997, 2.5501640398773455, -0.5992645293207921, 0.08214588661112823,
    -0.0073704309457143504, 0.00046630280576761255, -2.1915353447830217e-05, 7.952054001475513e-07,
    -2.2948428997269873e-08, 5.392664662608129e-10};
constexpr double kCosPi[12] = {
    1.0, -4.934802200544679, 4.0587121264167685, -1.3352627688545895, 0.2353306303588932, -0.02580689139001406,
    0.0019295743094039231, -0.0001046381049248457, 4.303069587032947e-06, -1.3878952462213771e-07,
    3.604730797462501e-09, -7.700707130601354e-11};
constexpr double kRoundToInteger = 6755399441055744.0;   // 1.5 * 2^52: (v + it) - it is v rounded, for |v| < 2^51

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"))) void lgamma_negative(const float* __restrict x, float* __restrict y, int64_t n) {
  // Stirling's S(w) / w in powers of w^2: B_2k / (2k (2k - 1)), k = 1 .. 9
  static constexpr double kSeries[9] = {1.0 / 12, -1.0 / 360, 1.0 / 1260, -1.0 / 1680, 1.0 / 1188, -691.0 / 360360,
                                        1.0 / 156, -3617.0 / 122400, 43867.0 / 244188};
  constexpr double kRound = kRoundToInteger;
  constexpr double kHalfLog2Pi = 0.9189385332046727;
  constexpr double kPi = 3.141592653589793;
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    const double a = __builtin_fabs(v - ((v + kRound) - kRound)), a2 = a * a;
    double q = kSinPi[10];
#pragma GCC unroll 10
    for (int k = 9; k >= 0; --k) q = __builtin_fma(q, a2, kSinPi[k]);
    // z = u + k >= kLgammaShiftTo with k = max(0, ceil(kLgammaShiftTo - u)) <= 5 steps, u = 1 - v
    // (exact: v is a float); p = u (u + 1) ... (u + k - 1), multiplied as a tree.
    const double u = 1.0 - v, t = kLgammaShiftTo - u, nearest = (t + kRound) - kRound;
    const double up = nearest < t ? nearest + 1.0 : nearest, steps = up > 0.0 ? up : 0.0, z = u + steps;
    double term[5];
#pragma GCC unroll 5
    for (int j = 0; j < 5; ++j) term[j] = j < steps ? u + j : 1.0;
    const double p = ((term[0] * term[1]) * (term[2] * term[3])) * term[4];
    const double w = 1.0 / z, w2 = w * w;
    double series = kSeries[8];
#pragma GCC unroll 8
    for (int k = 7; k >= 0; --k) series = __builtin_fma(series, w2, kSeries[k]);
    const double stirling = __builtin_fma(z - 0.5, log_positive(z), -z) + __builtin_fma(w, series, kHalfLog2Pi);
    y[i] = static_cast<float>(log_positive(kPi * p / (a * q)) - stirling);
  }
}

// Which path takes each lane: lgamma_finish's (kLgammaPositive), lgamma_negative or glibc's.
constexpr int32_t kLgammaPositive = 0, kLgammaNegative = 1, kLgammaOther = 2;
CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math"))) void lgamma_classify(const float* __restrict x, int32_t* __restrict kind, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float t = (v < 0.0f) & (v > -kLgammaNoFraction) ? v : 0.0f;   // NaN: 0
    const bool negative = t != __builtin_truncf(t);
    const bool done = (v > 0.0f) & (v < std::numeric_limits<float>::infinity());
    kind[i] = done ? kLgammaPositive : negative ? kLgammaNegative : kLgammaOther;
  }
}

// lgamma of n <= kBlock positive finite floats (lgamma_finish's lanes).
void lgamma_positive(const float* x, float* y, int64_t n) {
  alignas(64) float l[kBlock];
  lgamma_log_argument(x, l, n);
  vec::log(l, l, n);
  lgamma_finish(x, l, y, n);
}

void lgamma_loop(const Tensor& x, const Tensor& y) {
  // lgammaf_r, not lgammaf: lgammaf writes the sign to the global signgam, a data race between threads.
  const auto glibc = [](float v) {
    int sign;
    return lgammaf_r(v, &sign);
  };
  // lgamma_negative's FMAs are instructions only on AVX2 / AVX-512 CPUs (glibc's fma, a
  // correctly rounded emulation, elsewhere: the same bits, ~1 us an element): glibc's lgammaf_r
  // takes the negatives on the others.
  static const bool fast_negatives = cpu_has_avx2_fma();
  in_blocks(x, y, [&](const float* xs, float* ys, int64_t n) {
    if (!fast_negatives) {
      lgamma_positive(xs, ys, n);
      for (int64_t i = 0; i < n; ++i) {
        if (!(xs[i] > 0.0f && xs[i] < std::numeric_limits<float>::infinity())) ys[i] = glibc(xs[i]);
      }
      return;
    }
    // Each lane to its path: the positives to lgamma_positive, the negative non-integers to
    // lgamma_negative, the rest of x <= 0, the infinities and NaN to glibc. Classified in a
    // vector loop, then gathered without branches (the signs of random data mispredicted half
    // the time: 0.6x the time of a branchy loop), each path run on its lanes alone.
    alignas(64) int32_t kind[kBlock];
    lgamma_classify(xs, kind, n);
    alignas(64) float pos[kBlock], neg[kBlock], out[kBlock];
    int16_t pos_at[kBlock], neg_at[kBlock], other_at[kBlock];
    int64_t poss = 0, negs = 0, others = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float v = xs[i];
      const int32_t k = kind[i];
      pos[poss] = v;
      pos_at[poss] = static_cast<int16_t>(i);
      poss += k == kLgammaPositive;
      neg[negs] = v;
      neg_at[negs] = static_cast<int16_t>(i);
      negs += k == kLgammaNegative;
      other_at[others] = static_cast<int16_t>(i);
      others += k == kLgammaOther;
    }
    if (poss == n) return lgamma_positive(xs, ys, n);
    lgamma_positive(pos, out, poss);
    for (int64_t k = 0; k < poss; ++k) ys[pos_at[k]] = out[k];
    lgamma_negative(neg, out, negs);
    for (int64_t k = 0; k < negs; ++k) {
      ys[neg_at[k]] = __builtin_fabsf(out[k]) >= kLgammaNearZero ? out[k] : glibc(neg[k]);
    }
    for (int64_t k = 0; k < others; ++k) ys[other_at[k]] = glibc(xs[other_at[k]]);
  });
}

// digamma in double, vectorised: special_math.h's algorithm (PyTorch's calc_digamma, its
// recurrence summed as one fraction) with selects for its branches, a fixed ten steps of the
// recurrence, tan(pi x) as cos / sin from the Taylor series above, and fdlibm's log. Lanes it
// does not take (0, the negative integers, the infinities, NaN) are flagged for the scalar
// special::digamma. Scalar, with glibc's tan and log, it ran at 0.66-0.85x PyTorch's float
// kernel on randn values; the float32 results are special::digamma's but where the two logs'
// and tans' last double bits reach the rounding (special.test.ts counts them).
constexpr double kPsi10 = 2.25175258906672110764;   // psi(10), as special::digamma

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math", "fp-contract=off"))) void digamma_vector(const float* __restrict x, float* __restrict y, int32_t* __restrict scalar, int64_t n) {
  static constexpr double kSeries[7] = {8.33333333333333333333E-2, -2.10927960927960927961E-2, 7.57575757575757575758E-3,
                                        -4.16666666666666666667E-3, 3.96825396825396825397E-3, -8.33333333333333333333E-3,
                                        8.33333333333333333333E-2};
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    const bool negative = v < 0.0;
    // psi(x) = psi(1 - x) - pi / tan(pi x) below 0: tan(pi x) = tan(pi r), r = x - round(x) (exact)
    const double r = v - ((v + kRoundToInteger) - kRoundToInteger), r2 = r * r;
    double sin_over_r = kSinPi[10], cos = kCosPi[11];
#pragma GCC unroll 10
    for (int k = 9; k >= 0; --k) sin_over_r = sin_over_r * r2 + kSinPi[k];
#pragma GCC unroll 11
    for (int k = 10; k >= 0; --k) cos = cos * r2 + kCosPi[k];
    const double reflection = negative ? -special::kPi * cos / (r * sin_over_r) : 0.0;
    // psi(u) = psi(u + 1) - 1 / u up to u >= 10 (ten steps at most: u > 0), summed as num / den
    double u = negative ? 1.0 - v : v, num = 0.0, den = 1.0;
#pragma GCC unroll 10
    for (int k = 0; k < 10; ++k) {
      const bool below = u < 10.0;
      num = below ? num * u + den : num;
      den = below ? den * u : den;
      u = below ? u + 1.0 : u;
    }
    const double head = reflection - num / den;
    const double z = 1.0 / (u * u);   // 0 past 1.8e19 (special::digamma: no series past 1e17; the same floats)
    double series = kSeries[0];
#pragma GCC unroll 6
    for (int k = 1; k < 7; ++k) series = series * z + kSeries[k];
    const double tail = log_positive(u) - 0.5 / u - z * series;
    y[i] = static_cast<float>(u == 10.0 ? head + kPsi10 : head + tail);
    const bool pole = negative & ((v <= -8388608.0) | (r == 0.0));   // every float from -2^23 down is an integer
    scalar[i] = !(__builtin_fabs(v) < __builtin_inf()) | (v == 0.0) | pole;
  }
}

void digamma_loop(const Tensor& x, const Tensor& y) {
  in_blocks(x, y, [&](const float* xs, float* ys, int64_t n) {
    alignas(64) int32_t scalar[kBlock];
    digamma_vector(xs, ys, scalar, n);
    for (int64_t i = 0; i < n; ++i) {
      if (scalar[i]) ys[i] = static_cast<float>(special::digamma(xs[i]));
    }
  });
}

// asinh, acosh, atanh and log1p from vec_math's SIMD log through log1p(d) = log(u) d / (u - 1) with
// u = 1 + d, rounded (d itself where u = 1): the rounding of u cancels out (D. Goldberg, "What
// every computer scientist should know about floating-point arithmetic", theorem 4), so the log
// near 1 keeps its relative accuracy. glibc's scalar asinhf ran at 0.6x PyTorch's speed, atanhf
// at 1x, on 2^20 floats.
//   asinh(x) = sign(x) log1p(a + a^2 / (1 + sqrt(1 + a^2))), a = |x|; log(a) + ln 2 past 2^12;
//   acosh(x) = log1p(t + sqrt(t (x + 1))), t = x - 1 (exact near 1); log(x) + ln 2 past 2^12;
//   atanh(x) = sign(x) log1p(2a / (1 - a)) / 2, glibc's atanhf for |x| >= 1 and NaN.
// Within 3.1 ulp of float64 (vec-math.test.ts's sweep; 2.7, 2.6 and 3.0 over every 257th float).
// u holds log's argument: a or x itself where the log is taken directly.
//   log1p(x) itself (d = x): glibc's scalar log1pf ran at 0.11x PyTorch's speed on [8, 64, 56, 56];
//   u = +inf (x = +inf) gives log(u).
enum class LogKind { Asinh, Acosh, Atanh, Log1p };
constexpr float kLogDirect = 4096.0f;

CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math"))) void log1p_argument(LogKind kind, const float* __restrict x, float* __restrict d, float* __restrict u, int64_t n) {
  switch (kind) {
    case LogKind::Asinh:
      for (int64_t i = 0; i < n; ++i) {
        const float a = __builtin_fabsf(x[i]), s = a * a;
        d[i] = a + s / (1.0f + __builtin_sqrtf(1.0f + s));
        u[i] = a > kLogDirect ? a : 1.0f + d[i];
      }
      return;
    case LogKind::Acosh:
      for (int64_t i = 0; i < n; ++i) {
        const float t = x[i] - 1.0f;
        d[i] = x[i] >= 1.0f ? t + __builtin_sqrtf(t * (x[i] + 1.0f)) : __builtin_nanf("");   // t (x + 1) > 0 below -1 too
        u[i] = x[i] > kLogDirect ? x[i] : 1.0f + d[i];
      }
      return;
    case LogKind::Atanh:
      for (int64_t i = 0; i < n; ++i) {
        const float a = __builtin_fabsf(x[i]);
        d[i] = 2.0f * a / (1.0f - a);
        u[i] = 1.0f + d[i];
      }
      return;
    case LogKind::Log1p:
      for (int64_t i = 0; i < n; ++i) {
        d[i] = x[i];
        u[i] = 1.0f + x[i];
      }
      return;
  }
}

// y from l = log(u): log1p(d) = l d / (u - 1), or l + ln 2 where u was the argument itself. One
// loop per kind (a switch inside the loop kept GCC from vectorising it: simd-clones.test.ts).
CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math"))) void log1p_finish(LogKind kind, const float* __restrict x, const float* __restrict d, const float* __restrict u, const float* __restrict l, float* __restrict y, int64_t n) {
  const float ln2 = 0.693147180559945309f;
  const auto log1p_d = [&](int64_t i) { return u[i] == 1.0f ? d[i] : l[i] * (d[i] / (u[i] - 1.0f)); };
  switch (kind) {
    case LogKind::Asinh:
      for (int64_t i = 0; i < n; ++i) y[i] = __builtin_copysignf(__builtin_fabsf(x[i]) > kLogDirect ? l[i] + ln2 : log1p_d(i), x[i]);
      return;
    case LogKind::Acosh:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > kLogDirect ? l[i] + ln2 : log1p_d(i);
      return;
    case LogKind::Atanh:
      for (int64_t i = 0; i < n; ++i) y[i] = __builtin_copysignf(0.5f * log1p_d(i), x[i]);
      return;
    case LogKind::Log1p:
      for (int64_t i = 0; i < n; ++i) y[i] = u[i] == __builtin_inff() ? l[i] : log1p_d(i);
      return;
  }
}

void log_based_loop(LogKind kind, const Tensor& x, const Tensor& y) {
  in_blocks(x, y, [&](const float* xs, float* ys, int64_t n) {
    alignas(64) float d[kBlock], u[kBlock], l[kBlock];
    log1p_argument(kind, xs, d, u, n);
    vec::log(u, l, n);
    log1p_finish(kind, xs, d, u, l, ys, n);
    if (kind != LogKind::Atanh) return;
    for (int64_t i = 0; i < n; ++i) {
      if (!(__builtin_fabsf(xs[i]) < 1.0f)) ys[i] = std::atanh(xs[i]);
    }
  });
}

// asin and acos in one vectorised pass (glibc's scalar asinf ran at 0.26x PyTorch's speed on
// [512, 4096]): Cephes' asinf polynomial on |s| <= 1/2, asin(s) = s + s z P(z) with z = s^2,
// and the half-angle identity above 1/2: asin(a) = pi/2 - 2 asin(sqrt((1 - a) / 2)) (1 - a is
// exact there), acos(a) = 2 asin(sqrt((1 - a) / 2)), acos(-a) = pi - acos(a). pi/2 and pi come
// in two parts, so that their float rounding does not reach the result. Within 1.9 ulp of float64
// (vec-math.test.ts's sweep: asin 1.86 near 0.53, where 2 asin(s) doubles the error of sqrt;
// acos 1.24); NaN outside [-1, 1] (the square root of a negative z) and for NaN.
CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math"))) void asin_acos_block(bool is_acos, const float* __restrict x, float* __restrict y, int64_t n) {
  const float pio2_hi = 1.57079637050628662109f, pio2_lo = -4.37113900018624283e-8f;
  const float pi_hi = 3.14159274101257324219f, pi_lo = -8.74227800037248566e-8f;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i], a = __builtin_fabsf(v);
    const bool half_angle = a > 0.5f;
    const float z = half_angle ? 0.5f * (1.0f - a) : v * v;
    const float s = half_angle ? __builtin_sqrtf(z) : (is_acos ? v : a);
    const float poly = (((4.2163199048e-2f * z + 2.4181311049e-2f) * z + 4.5470025998e-2f) * z + 7.4953002686e-2f) * z + 1.6666752422e-1f;
    const float p = s + s * z * poly;   // asin(s)
    if (is_acos) {
      y[i] = half_angle ? (v > 0 ? 2.0f * p : (pi_hi - 2.0f * p) + pi_lo) : (pio2_hi - p) + pio2_lo;
    } else {
      y[i] = __builtin_copysignf(half_angle ? (pio2_hi - 2.0f * p) + pio2_lo : p, v);
    }
  }
}

void asin_acos_loop(bool is_acos, const Tensor& x, const Tensor& y) {
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for_elements(y.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) { asin_acos_block(is_acos, px + begin, py + begin, end - begin); });
}

// atan in one vectorised pass (glibc's scalar atanf ran at 0.12x PyTorch's speed on
// [8, 64, 56, 56]): Cephes' atanf, a = |x| reduced to |t| <= tan(pi/8) by atan(a) = pi/2 +
// atan(-1/a) above tan(3 pi/8) and pi/4 + atan((a - 1) / (a + 1)) above tan(pi/8), then
// t + t z P(z), z = t^2; pi/2 and pi/4 in two parts. Within 2.2 ulp of float64 (vec-math.test.ts's
// sweep); +-inf give +-pi/2 (-1/inf is -0), NaN NaN, -0 -0.
CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math"))) void atan_block(const float* __restrict x, float* __restrict y, int64_t n) {
  const float pio2_hi = 1.57079637050628662109f, pio2_lo = -4.37113900018624283e-8f;
  const float pio4_hi = 0.785398185253143310547f, pio4_lo = -2.18556950009312142e-8f;
  for (int64_t i = 0; i < n; ++i) {
    const float a = __builtin_fabsf(x[i]);
    const bool far = a > 2.414213562373095f, mid = a > 0.4142135623730950f;
    const float t = far ? -1.0f / a : (mid ? (a - 1.0f) / (a + 1.0f) : a);
    const float hi = far ? pio2_hi : (mid ? pio4_hi : 0.0f), lo = far ? pio2_lo : (mid ? pio4_lo : 0.0f);
    const float z = t * t;
    const float p = (((8.05374449538e-2f * z - 1.38776856032e-1f) * z + 1.99777106478e-1f) * z - 3.33329491539e-1f) * z * t + t;
    y[i] = __builtin_copysignf(hi + (p + lo), x[i]);
  }
}

void atan_loop(const Tensor& x, const Tensor& y) {
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for_elements(y.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) { atan_block(px + begin, py + begin, end - begin); });
}

// log2 and log10 as log_double(x) / ln 2 or ln 10, rounded once to float: correctly rounded but
// within 2^-40 of a tie, so exact at powers of 2 and 10 (glibc's scalar log10f ran at 0.28x
// PyTorch's speed on [8, 64, 56, 56]).
CONVNET_SIMD_CLONES __attribute__((optimize("no-trapping-math"))) void log_scaled_block(double scale, const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(log_double(x[i]) * scale);
}

void log_scaled_loop(double scale, const Tensor& x, const Tensor& y) {
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for_elements(y.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) { log_scaled_block(scale, px + begin, py + begin, end - begin); });
}

void simple_loop(UnaryOp op, const Tensor& x, const Tensor& y) {
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for_elements(y.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) { simple_unary(op, px + begin, py + begin, end - begin); });
}

// y = f over x in chunks, for the vec_math array functions (x and y contiguous, the same size).
void vec_loop(const Tensor& x, const Tensor& y, void (*f)(const float*, float*, int64_t)) {
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for_elements(y.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) { f(px + begin, py + begin, end - begin); });
}
}  // namespace

void unary(UnaryOp op, const Tensor& x, const Tensor& y) {
  switch (op) {
    case UnaryOp::Neg:
    case UnaryOp::Abs:
    case UnaryOp::Sqrt:
    case UnaryOp::Square:
    case UnaryOp::Reciprocal:
    case UnaryOp::Rsqrt:
    case UnaryOp::Floor:
    case UnaryOp::Ceil:
    case UnaryOp::Trunc:
    case UnaryOp::Round:
    case UnaryOp::Frac:
    case UnaryOp::Sign: return simple_loop(op, x, y);
    // exp and log in vec_math's SIMD (within 1.26 and 0.83 ulp, as softmax uses): glibc's scalar
    // expf held exp of [256, 10000] to 3.9 ms at 2 threads, logsumexp to 0.14-0.3x PyTorch's speed.
    case UnaryOp::Exp: return vec_loop(x, y, vec::exp);
    case UnaryOp::Log: return vec_loop(x, y, vec::log);
    case UnaryOp::Erf: return erf_loop(false, x, y);
    // sin, cos and expm1 in vec_math's SIMD too (huge arguments still reduced exactly: Note [sin
    // and cos]); glibc's scalar sinf and expm1f ran at 0.57x and 0.38x PyTorch's speed on 51 MB.
    case UnaryOp::Sin: return vec_loop(x, y, vec::sin);
    case UnaryOp::Cos: return vec_loop(x, y, vec::cos);
    case UnaryOp::Expm1: return vec_loop(x, y, vec::expm1);
    // tan from the same reduction, sin / cos in float64 (vec_math.h; glibc's scalar tanf ran at
    // 0.13x PyTorch's speed, sin and cos rounded apart and divided at 0.78x).
    case UnaryOp::Tan: return vec_loop(x, y, vec::tan);
    case UnaryOp::Atan: return atan_loop(x, y);
    case UnaryOp::Log1p: return log_based_loop(LogKind::Log1p, x, y);
    case UnaryOp::Log2: return log_scaled_loop(1.44269504088896340736, x, y);
    case UnaryOp::Log10: return log_scaled_loop(0.434294481903251827651, x, y);
    case UnaryOp::Asin: return asin_acos_loop(false, x, y);
    case UnaryOp::Acos: return asin_acos_loop(true, x, y);
    case UnaryOp::Sinh: return exp_based_loop(ExpKind::Sinh, x, y);
    case UnaryOp::Cosh: return exp_based_loop(ExpKind::Cosh, x, y);
    case UnaryOp::Asinh: return log_based_loop(LogKind::Asinh, x, y);
    case UnaryOp::Acosh: return log_based_loop(LogKind::Acosh, x, y);
    case UnaryOp::Atanh: return log_based_loop(LogKind::Atanh, x, y);
    case UnaryOp::Erfc: return erf_loop(true, x, y);
    case UnaryOp::Exp2: return exp_based_loop(ExpKind::Exp2, x, y);
    case UnaryOp::Lgamma: return lgamma_loop(x, y);
    // special_math.h in double, shared with the GPU (glibc has no erfinv).
    case UnaryOp::Erfinv: return unary_loop(x, y, [](float v) { return static_cast<float>(special::erfinv(v)); });
  }
  fail("E_ARG", "unary: unknown op ", static_cast<int>(op));
}

void affine(const Tensor& x, float alpha, float beta, const Tensor& y) {
  unary_loop(x, y, [alpha, beta](float v) { return alpha * v + beta; });
}

void polygamma(int64_t n, const Tensor& x, const Tensor& y) {
  if (n == 0) return digamma_loop(x, y);
  unary_loop(x, y, [n](float v) { return static_cast<float>(special::polygamma(n, v)); });
}

void pow_scalar(const Tensor& x, float exponent, const Tensor& y) {
  if (exponent == 2.0f) return unary_loop(x, y, [](float v) { return v * v; });
  if (exponent == 0.5f) return unary_loop(x, y, [](float v) { return std::sqrt(v); });
  if (!std::isfinite(exponent)) return unary_loop(x, y, [exponent](float v) { return std::pow(v, exponent); });
  // Positive normal bases by vec::pow_positive (float64 exp and log, vectorised; the survey's
  // abs then pow 2.5 of [8, 64, 56, 56] at 2 threads 4.0-5.9 -> 3.2-3.4 ms, PyTorch 3.6-5.3);
  // zeros, negatives, subnormals, inf and NaN by std::pow after it, for its special cases.
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for_elements(x.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    vec::pow_positive(px + begin, exponent, py + begin, end - begin);
    for (int64_t i = begin; i < end; ++i) {
      const float v = px[i];
      if (!(v >= std::numeric_limits<float>::min() && v <= std::numeric_limits<float>::max())) py[i] = std::pow(v, exponent);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
