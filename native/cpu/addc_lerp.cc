// addcmul, addcdiv and lerp (torch.addcmul / addcdiv / lerp) in one pass, with NumPy/PyTorch
// broadcasting of their three operands; they were two or three composed passes (0.30x, 0.34x and
// 0.44x PyTorch's speed on [8, 64, 56, 56]). PyTorch's order and roundings, each step rounded to
// float (no FMA contraction, which the AVX2 and AVX-512 clones would otherwise make):
//   addcmul: a + (value * b) * c          addcdiv: a + (value * b) / c
//   lerp:    |w| < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w),  w = c (or the number `value`)
// Rows are the output's last axis, as in where.cc; an operand broadcast along a row is one value
// there, read into a block of copies so that one loop shape (every operand stepping) serves all.
#include <algorithm>
#include <cstdint>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/cpu_ops.h"
#include "cpu/simd_clones.h"

namespace convnet {
namespace cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;
constexpr int64_t kBlock = 512;

CONVNET_SIMD_CLONES __attribute__((optimize("fp-contract=off", "no-trapping-math")))
void addc_lerp_block(TernaryOp op, float value, const float* __restrict a, const float* __restrict b, const float* __restrict c,
                     float* __restrict y, int64_t n) {
  switch (op) {
    case TernaryOp::Addcmul:
      for (int64_t j = 0; j < n; ++j) y[j] = a[j] + (value * b[j]) * c[j];
      return;
    case TernaryOp::Addcdiv:
      for (int64_t j = 0; j < n; ++j) y[j] = a[j] + (value * b[j]) / c[j];
      return;
    case TernaryOp::Lerp:
    case TernaryOp::LerpScalar:
      for (int64_t j = 0; j < n; ++j) {
        const float w = c[j], diff = b[j] - a[j];
        const float near_a = a[j] + w * diff, near_b = b[j] - diff * (1.0f - w);
        y[j] = __builtin_fabsf(w) < 0.5f ? near_a : near_b;
      }
      return;
  }
}

// One row of n outputs: each operand steps (1) or is one value (0), copied into a block then.
void addc_lerp_row(TernaryOp op, float value, const float* a, bool a_steps, const float* b, bool b_steps, const float* c, bool c_steps,
                   float* y, int64_t n) {
  if (a_steps && b_steps && c_steps) return addc_lerp_block(op, value, a, b, c, y, n);
  alignas(64) float fa[kBlock], fb[kBlock], fc[kBlock];
  if (!a_steps) std::fill_n(fa, std::min(n, kBlock), a[0]);
  if (!b_steps) std::fill_n(fb, std::min(n, kBlock), b[0]);
  if (!c_steps) std::fill_n(fc, std::min(n, kBlock), c[0]);
  for (int64_t j = 0; j < n; j += kBlock) {
    const int64_t m = std::min(kBlock, n - j);
    addc_lerp_block(op, value, a_steps ? a + j : fa, b_steps ? b + j : fb, c_steps ? c + j : fc, y + j, m);
  }
}

}  // namespace

void addc_lerp(TernaryOp op, const Tensor& a, const Tensor& b, const Tensor& c, float value, const Tensor& y) {
  // LerpScalar: the weight is `value`, not c (c is not read).
  const bool scalar_weight = op == TernaryOp::LerpScalar;
  const float* pa = a.f32();
  const float* pb = b.f32();
  const float* pc = scalar_weight ? &value : c.f32();
  float* py = y.f32();
  const int64_t n = y.numel();
  if (n == 0) return;
  const Shape one{};  // a 0-D shape: the scalar weight broadcasts
  const Shape& c_shape = scalar_weight ? one : c.shape;
  const int64_t c_numel = scalar_weight ? 1 : c.numel();
  // Each operand whole or one value: one long row.
  const bool a_whole = a.shape == y.shape, b_whole = b.shape == y.shape, c_whole = c_shape == y.shape;
  if ((a_whole || a.numel() == 1) && (b_whole || b.numel() == 1) && (c_whole || c_numel == 1)) {
    parallel_for_elements(n, kGrain, [&](int64_t begin, int64_t end) {
      addc_lerp_row(op, value, a_whole ? pa + begin : pa, a_whole, b_whole ? pb + begin : pb, b_whole, c_whole ? pc + begin : pc,
                    c_whole, py + begin, end - begin);
    });
    return;
  }
  Shape shape = y.shape;
  std::vector<int64_t> s[3] = {broadcast_strides(a.shape, shape), broadcast_strides(b.shape, shape), broadcast_strides(c_shape, shape)};
  merge_broadcast_axes(shape, s);
  const int64_t dims = static_cast<int64_t>(shape.size());
  const int64_t row = shape[dims - 1], rows = n / row;
  const bool a_steps = s[0][dims - 1] != 0, b_steps = s[1][dims - 1] != 0, c_steps = s[2][dims - 1] != 0;
  parallel_for(rows, std::max<int64_t>(1, kGrain / row), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t off[3];
      broadcast_row_offsets(r, shape, s, off);
      addc_lerp_row(op, value, pa + off[0], a_steps, pb + off[1], b_steps, pc + off[2], c_steps, py + r * row, row);
    }
  });
}

}  // namespace cpu
}  // namespace convnet
